"""batches.ingest: the COPY insert, its bulk_create twin, merging and the open-RUT lookup."""

import json
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from batches import ingest
from batches.models import Job
from tests.factories import BatchFactory, JobFactory, rut_with_dv

TRICKY_NAME = 'Tab\there, new\nline, back\\slash "quoted" Ñuñoa ☎ \x7f =SUM(A1) \u2028'


def contacts(n: int, start: int = 0) -> list[dict]:
    """Normalised debtors (read_contacts shape) with every character COPY and JSON care about."""
    return [
        {
            "row": i + 2,
            "name": f"{TRICKY_NAME} {i}",
            "rut": rut_with_dv(50_000_000 + i),
            "phones": ["+56987654321", "+56961777631"],
            "email": "josé@correo.cl" if i % 2 else None,
            "debt_amount": "1500.50",
            "due_date": "2025-01-31",
            "installments": i if i % 3 else None,
            "company_name": "Retail \\ SpA",
            "custom_fields": {"nota\t1": "línea\r\nnueva", "formula": "@cmd"} if i % 2 else {},
        }
        for i in range(start, start + n)
    ]


@pytest.fixture
def batch(account_a):
    return BatchFactory(account=account_a, batch_id="batch-ingest")


def inserted(batch):
    return list(Job.objects.filter(batch=batch).order_by("rut"))


@pytest.mark.parametrize("path", ["copy", "bulk_create"])
def test_insert_fills_every_column(batch, monkeypatch, path):
    if path == "copy" and connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL only")
    if path == "bulk_create":
        monkeypatch.setattr(ingest, "written_sql", lambda: False)  # the ORM path
    now = timezone.now()
    due = now + timedelta(minutes=5)
    debtors = contacts(4)

    count = ingest.jobs_insert(
        batch=batch, contacts=debtors, now=now, next_try_at=due, fecha_limite="2025-02-01"
    )

    assert count == 4
    expected = sorted(ingest.job_rows(debtors, fecha_limite="2025-02-01", fecha_maxima=None))
    for job, (rut, contact, payload) in zip(inserted(batch), expected, strict=True):
        assert (job.batch_id, job.account_id, job.rut) == (batch.pk, batch.account_id, rut)
        assert job.deduplication_key == f"acct-a::{rut}::batch-ingest"
        assert (job.status, job.attempts, job.next_try_at) == ("pending", 0, due)
        assert (job.last_error, job.last_outcome) == ("", "")
        assert job.reserved_until is job.lease_token is job.enqueued_until is None
        assert job.contact == contact and job.payload == payload
        if path == "copy":
            assert job.created_at == job.updated_at == now


def test_fast_json_matches_the_generic_encoder():
    fechas = '"fecha_limite":"2025-02-01","fecha_maxima":null'
    odd = {**contacts(1)[0], "installments": True, "custom_fields": {"n": 5}, "timezone": "UTC"}
    for debtor in [*contacts(6), odd]:
        [(_rut, contact, payload)] = ingest.job_rows(
            [debtor], fecha_limite="2025-02-01", fecha_maxima=None
        )
        fast_contact, fast_payload = ingest._job_json(debtor, fechas)
        assert json.loads(fast_contact) == contact
        assert json.loads(fast_payload) == payload


def test_copy_streams_large_inserts_in_chunks(batch):
    count = ingest.jobs_insert(
        batch=batch, contacts=contacts(5_000), now=timezone.now(), next_try_at=None
    )
    assert count == 5_000 == Job.objects.filter(batch=batch, next_try_at__isnull=True).count()


def test_nothing_to_insert(batch):
    assert (
        ingest.jobs_insert(batch=batch, contacts=iter(()), now=timezone.now(), next_try_at=None)
        == 0
    )


def test_copy_joins_the_callers_transaction(batch):
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest.jobs_insert(batch=batch, contacts=contacts(10), now=timezone.now(), next_try_at=None)
        raise RuntimeError("rollback")
    assert not Job.objects.filter(batch=batch).exists()


def test_duplicate_key_is_refused_by_the_database(batch):
    ingest.jobs_insert(batch=batch, contacts=contacts(1), now=timezone.now(), next_try_at=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ingest.jobs_insert(batch=batch, contacts=contacts(1), now=timezone.now(), next_try_at=None)


def test_job_rows_shape():
    contact = {
        "row": 2,
        "name": "Ana",
        "rut": "1-9",
        "phones": ["+56911111111"],
        "email": None,
        "debt_amount": "10.00",
        "due_date": "2025-01-01",
        "installments": 2,
        "company_name": "X",
        "custom_fields": {"a": "b"},
    }
    [(rut, job_contact, payload)] = ingest.job_rows(
        [contact], fecha_limite="2025-02-01", fecha_maxima=None
    )
    assert rut == "1-9"
    assert job_contact == {
        "name": "Ana",
        "rut": "1-9",
        "phones": ["+56911111111"],
        "email": None,
        "next_phone_index": 0,
        "invalid_phones": [],
    }
    assert payload == {
        "debt_amount": "10.00",
        "due_date": "2025-01-01",
        "company_name": "X",
        "installments": 2,
        "fecha_limite": "2025-02-01",
        "fecha_maxima": None,
        "additional_info": {"a": "b"},
    }


def test_open_ruts_ignores_other_accounts_closed_jobs_and_closed_batches(account_a, account_b):
    running = BatchFactory(account=account_a)
    wanted = JobFactory(batch=running)
    JobFactory(batch=BatchFactory(account=account_b), rut=rut_with_dv(60_000_001))
    JobFactory(batch=running, rut=rut_with_dv(60_000_002), status="done")
    JobFactory(
        batch=BatchFactory(account=account_a, status="completed"), rut=rut_with_dv(60_000_003)
    )
    ruts = [wanted.rut, *(rut_with_dv(60_000_000 + n) for n in (1, 2, 3))]
    assert ingest.open_ruts(account=account_a, ruts=ruts) == {wanted.rut: running.batch_id}
    assert ingest.open_ruts(account=account_a, ruts=[]) == {}


def test_insert_chunks_filters_each_chunk_and_stops_on_a_producer_error(batch):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL only")
    seen = []

    def keep(chunk):
        seen.append(len(chunk))
        return chunk[1:]

    def chunks():
        yield contacts(3)
        yield contacts(3, start=3)
        raise RuntimeError("the file broke")

    with pytest.raises(RuntimeError, match="the file broke"), transaction.atomic():
        ingest.jobs_insert_chunks(
            batch=batch, chunks=chunks(), now=timezone.now(), next_try_at=None, keep=keep
        )
    assert seen == [3, 3]
    assert not Job.objects.filter(batch=batch).exists()

    count = ingest.jobs_insert_chunks(
        batch=batch,
        chunks=iter([contacts(3), contacts(2, start=3)]),
        now=timezone.now(),
        next_try_at=None,
        keep=keep,
    )
    assert count == 3 and len(inserted(batch)) == 3


def test_insert_chunks_leaves_the_foreign_keys_deferred(batch):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL only")
    ingest.jobs_insert(batch=batch, contacts=contacts(2), now=timezone.now(), next_try_at=None)
    with transaction.atomic(), connection.cursor() as cursor:
        # A job of a batch that does not exist: refused at commit, not at once.
        cursor.execute(
            f"INSERT INTO {Job._meta.db_table} (created_at, updated_at, batch_id, account_id, "
            "deduplication_key, rut, status, attempts, last_error, last_outcome, contact, "
            "payload) VALUES (now(), now(), -1, %s, 'k', '1-9', 'pending', 0, '', '', '{}', '{}')",
            [batch.account_id],
        )
        transaction.set_rollback(True)


def test_refresh_rewrites_the_documents_of_merged_debtors(batch):
    now = timezone.now()
    debtors = contacts(3)
    ingest.jobs_insert(batch=batch, contacts=debtors, now=now, next_try_at=None)
    debtors[1]["phones"].append("+56933334444")
    debtors[1]["custom_fields"] = {"tramo": "B"}
    missing = contacts(1, start=10)[0]  # no job (skipped): ignored

    assert ingest.jobs_refresh(batch=batch, contacts=[debtors[1], missing]) == 1

    job = Job.objects.get(batch=batch, rut=debtors[1]["rut"])
    assert job.contact["phones"][-1] == "+56933334444"
    assert job.payload["additional_info"] == {"tramo": "B"}
    assert job.updated_at == now
    assert Job.objects.get(batch=batch, rut=debtors[0]["rut"]).payload["additional_info"] == {}
