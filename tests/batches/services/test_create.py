"""batches.services.create: creation rules (JSON and Excel), and what creating logs."""

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from batches import ingest, services
from batches.models import Batch, BatchEvent, Job
from tests.batches.services.support import SAMPLES, debtor, make
from tests.factories import BatchFactory, JobFactory, rut_with_dv


def test_create_commits_batch_jobs_and_event_together(account_a, client_a):
    result = make(account_a, client_a, contacts=[debtor(n) for n in range(10)])

    batch = result.batch
    assert re.fullmatch(r"batch-\d{4}-\d{2}-\d{2}-\d{6}-\d{6}", batch.batch_id)
    assert (result.total_jobs, batch.total_jobs, batch.jobs.count()) == (10, 10, 10)
    assert (batch.status, batch.is_active, batch.schedule_type) == ("running", True, "immediate")
    event = BatchEvent.objects.get(batch=batch)
    assert (event.kind, event.user, event.data["total_jobs"]) == ("created", client_a, 10)


def test_a_failed_insert_leaves_nothing(account_a, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("COPY failed")

    monkeypatch.setattr("batches.ingest.jobs_insert_chunks", broken)
    with pytest.raises(RuntimeError):
        make(account_a)
    assert not Batch.objects.exists() and not BatchEvent.objects.exists()


def test_batch_ids_stay_unique_within_one_microsecond(account_a):
    now = timezone.now()
    first = make(account_a, now=now, allow_duplicates=True).batch
    second = make(account_a, now=now, allow_duplicates=True).batch
    assert first.batch_id != second.batch_id


def test_estimated_cost_formula(account_a, settings):
    account_a.cost_per_call_setup = Decimal("10")
    account_a.cost_per_minute = Decimal("30")
    # 3 jobs × (10 + 30 × min(120 s, 600 s) / 60) = 3 × 70
    assert make(account_a, contacts=[debtor(n) for n in range(3)]).batch.estimated_cost == 210
    # a max_call_duration below the expected length caps it: 2 × (10 + 30 × 1)
    short = make(account_a, call_settings={"max_call_duration": 60}, allow_duplicates=True)
    assert short.batch.estimated_cost == 80


def test_merge_unions_phones_and_fills_blanks(account_a):
    twin = debtor(
        1,
        row=9,
        phones=["+56987650001", "+56961777631"],
        email="a@b.cl",
        installments=4,
        custom_fields={"tramo": "B"},
    )
    first = debtor(1, custom_fields={"tramo": "A", "sucursal": "Centro"})
    result = make(account_a, contacts=[first, debtor(2), twin])

    assert (result.total_jobs, result.duplicates_merged, result.total_rows) == (2, 1, 3)
    assert result.warnings[0]["row"] == 9 and "row 3" in result.warnings[0]["message"]
    job = Job.objects.get(rut=first["rut"])
    assert job.contact["phones"] == ["+56987650001", "+56961777631"]
    assert (job.contact["email"], job.payload["installments"]) == ("a@b.cl", 4)
    assert job.payload["additional_info"] == {"tramo": "A", "sucursal": "Centro"}


def test_open_ruts_is_two_queries_whatever_the_number_of_ruts(account_a, django_assert_num_queries):
    batch = BatchFactory(account=account_a)
    open_job = JobFactory(batch=batch)
    JobFactory(batch=batch, status="in_progress", reserved_until=timezone.now())
    JobFactory(batch=batch, status="failed")
    ruts = [open_job.rut, *[rut_with_dv(40_000_000 + n) for n in range(2_000)]]

    with django_assert_num_queries(2):  # the open batches, then their jobs
        found = ingest.open_ruts(account=account_a, ruts=ruts)

    assert found == {open_job.rut: batch.batch_id}
    with django_assert_num_queries(1):  # no other open batch: no job query
        assert ingest.open_ruts(account=account_a, ruts=ruts, exclude_batch=batch) == {}


def test_all_skipped_raises_and_stores_nothing(account_a):
    make(account_a, contacts=[debtor(1)])
    with pytest.raises(services.BatchError) as caught:
        make(account_a, contacts=[debtor(1)])
    assert list(caught.value.errors) == ["contacts"]
    assert caught.value.rows[0]["message"].startswith("Skipped")
    assert Batch.objects.count() == 1


def test_options_errors_are_collected(account_a):
    with pytest.raises(services.BatchError) as caught:
        make(
            account_a,
            name=" ",
            call_settings={"max_attempts": 0},
            voice_settings={"volume": 9},
            schedule_type="scheduled",
            dias_fecha_maxima=-2,
        )
    assert set(caught.value.errors) == {
        "name",
        "call_settings.max_attempts",
        "voice_settings.volume",
        "scheduled_at",
        "dias_fecha_maxima",
    }


def test_suspended_account_cannot_create(account_a):
    account_a.status = "suspended"
    with pytest.raises(services.BatchError) as caught:
        make(account_a)
    assert list(caught.value.errors) == ["account_id"]


def test_reports_are_capped_counts_are_not(account_a):
    twins = [debtor(1, row=n) for n in range(1_500)]
    result = make(account_a, contacts=twins)
    assert (result.total_jobs, result.duplicates_merged) == (1, 1_499)
    assert len(result.warnings) == len(result.batch.import_errors) == 1_000


def test_priority_follows_call_settings_unless_given(account_a):
    assert make(account_a, call_settings={"priority": "low"}).batch.priority == "low"
    given = make(
        account_a, call_settings={"priority": "low"}, priority="high", allow_duplicates=True
    ).batch
    assert (given.priority, given.priority_rank, given.call_settings["priority"]) == (
        "high",
        2,
        "high",
    )


@time_machine.travel(datetime(2025, 6, 30, 23, 30, tzinfo=UTC), tick=False)
def test_fecha_offsets_use_the_batch_time_zone(account_a):
    # 23:30 UTC on 30 June is 19:30 in Santiago (same day) and 09:30 on 1 July in Sydney.
    santiago = make(account_a, dias_fecha_limite=1, dias_fecha_maxima=31).batch
    sydney = make(
        account_a,
        dias_fecha_limite=1,
        allow_duplicates=True,
        call_settings={"timezone": "Australia/Sydney"},
    ).batch
    job = santiago.jobs.first()
    assert (job.payload["fecha_limite"], job.payload["fecha_maxima"]) == (
        "2025-07-01",
        "2025-07-31",
    )
    assert sydney.jobs.first().payload["fecha_limite"] == "2025-07-02"


def test_contact_time_zone_is_kept(account_a):
    make(account_a, contacts=[debtor(1, timezone="America/Punta_Arenas")])
    assert Job.objects.get().contact["timezone"] == "America/Punta_Arenas"


def test_excel_sample_through_the_service(account_a, client_a):
    result = services.batch_create_from_excel(
        account=account_a,
        user=client_a,
        name="Sucio",
        source=str(SAMPLES / "deudores_sucio.xlsx"),
        dias_fecha_limite=3,
    )
    assert (result.total_jobs, result.invalid_rows, result.duplicates_merged) == (43, 2, 1)
    assert {e["row"] for e in result.errors} == {44, 47}  # 43: wrong check digit, kept
    assert result.batch.jobs.filter(payload__fecha_limite__isnull=False).count() == 43


def test_excel_error_names_the_file(account_a):
    with pytest.raises(services.BatchError) as caught:
        services.batch_create_from_excel(
            account=account_a, user=None, name="x", source=b"not a spreadsheet"
        )
    assert list(caught.value.errors) == ["file"]


def test_excel_options_are_checked_before_the_file_is_read(account_a, monkeypatch):
    monkeypatch.setattr("batches.services.create.open_contacts", pytest.fail)
    with pytest.raises(services.BatchError):
        services.batch_create_from_excel(
            account=account_a, user=None, name="x", source=b"", call_settings={"ring_timeout": 1}
        )


# --- Excel rows stored as they are read ------------------------------------------------------


def xlsx(*rows: list) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Nombre", "RUT", "Teléfono", "Correo", "Cuotas", "Sucursal"])
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def excel_rows(count: int) -> list[list]:
    return [[f"Deudor {n}", rut_with_dv(31_000_000 + n), f"+5698765{n:04d}"] for n in range(count)]


def test_excel_duplicate_of_an_already_stored_row_is_merged_into_its_job(account_a, monkeypatch):
    rows = excel_rows(6)
    rows.append(["Otro nombre", rows[0][1], "+56961777631", "a@b.cl", 4, "Centro"])
    data = xlsx(*rows)
    whole = services.batch_create_from_excel(
        account=account_a, user=None, name="whole", source=data, allow_duplicates=True
    )
    monkeypatch.setattr(ingest, "CHUNK_CONTACTS", 2)
    streamed = services.batch_create_from_excel(
        account=account_a, user=None, name="streamed", source=data, allow_duplicates=True
    )

    job = streamed.batch.jobs.get(rut=rows[0][1])
    assert job.contact["name"] == "Deudor 0"  # the first row wins
    assert job.contact["phones"] == ["+56987650000", "+56961777631"]
    assert (job.contact["email"], job.payload["installments"]) == ("a@b.cl", 4)
    assert job.payload["additional_info"] == {"Sucursal": "Centro"}

    def stored(batch):
        return {j.rut: (j.contact, j.payload) for j in batch.jobs.all()}

    assert stored(streamed.batch) == stored(whole.batch)
    assert (streamed.total_jobs, streamed.duplicates_merged, streamed.total_rows) == (6, 1, 7)
    assert streamed.batch.jobs.count() == 6


def test_excel_error_after_some_chunks_were_stored_leaves_nothing(account_a, monkeypatch):
    monkeypatch.setattr(ingest, "CHUNK_CONTACTS", 2)
    stored_chunks = []
    copy = ingest.jobs_insert_chunks

    def spy(*, chunks, **kwargs):
        def counted():
            for chunk in chunks:
                stored_chunks.append(len(chunk))
                yield chunk

        return copy(chunks=counted(), **kwargs)

    monkeypatch.setattr(ingest, "jobs_insert_chunks", spy)
    with pytest.raises(services.BatchError) as caught:
        services.batch_create_from_excel(
            account=account_a, user=None, name="x", source=xlsx(*excel_rows(9)), max_rows=7
        )

    assert list(caught.value.errors) == ["file"] and "7" in caught.value.errors["file"][0]
    assert stored_chunks == [2, 2, 2]  # three chunks were copied before the limit was seen
    assert not Batch.objects.exists() and not Job.objects.exists()
    assert not BatchEvent.objects.exists()


def test_excel_with_no_valid_row_stores_nothing(account_a):
    with pytest.raises(services.BatchError) as caught:
        services.batch_create_from_excel(
            account=account_a, user=None, name="x", source=xlsx(["Malo", "abc", "+56961777631"])
        )
    assert caught.value.errors["file"] == [
        "No valid rows: the row has errors; nothing was imported."]
    assert caught.value.rows[0]["row"] == 2
    assert not Batch.objects.exists()


def test_excel_skips_open_debtors_chunk_by_chunk(account_a, monkeypatch):
    rows = excel_rows(7)
    rows.insert(1, ["Teléfono malo", rut_with_dv(31_000_100), "+56987650100; 123"])
    rows.append(["Duplicado", rows[0][1], "+56961777631"])
    running = BatchFactory(account=account_a, status="running")
    open_elsewhere = (rows[2][1], rows[6][1])  # Excel rows 4 and 8: chunks 2 and 4
    for rut in open_elsewhere:
        JobFactory(batch=running, rut=rut)
    monkeypatch.setattr(ingest, "CHUNK_CONTACTS", 2)

    result = services.batch_create_from_excel(
        account=account_a, user=None, name="x", source=xlsx(*rows)
    )

    assert (result.total_jobs, result.skipped_existing, result.duplicates_merged) == (6, 2, 1)
    # The file's own warnings first, then the skipped debtors, as when checked all at once.
    assert [w["row"] for w in result.warnings] == [3, 10, 4, 8]
    assert [w["message"][:8] for w in result.warnings] == [
        "Invalid ",
        "Duplicat",
        "Skipped:",
        "Skipped:",
    ]
    batch = Batch.objects.get(pk=result.batch.pk)
    assert (batch.total_jobs, batch.skipped_existing, batch.total_rows) == (6, 2, 9)
    assert [issue["row"] for issue in batch.import_errors] == [3, 10, 4, 8]
    assert batch.estimated_cost == services.estimate_cost(
        account=account_a, jobs=6, max_call_duration=batch.call_settings["max_call_duration"]
    )
    assert not batch.jobs.filter(rut__in=open_elsewhere).exists()
    event = batch.events.get()
    assert (event.data["total_jobs"], event.data["skipped_existing"]) == (6, 2)


def test_excel_every_debtor_open_elsewhere_stores_nothing(account_a, monkeypatch):
    rows = excel_rows(3)
    running = BatchFactory(account=account_a, status="running")
    for row in rows:
        JobFactory(batch=running, rut=row[1])
    monkeypatch.setattr(ingest, "CHUNK_CONTACTS", 2)
    with pytest.raises(services.BatchError) as caught:
        services.batch_create_from_excel(account=account_a, user=None, name="x", source=xlsx(*rows))
    assert list(caught.value.errors) == ["file"]
    assert [r["message"][:8] for r in caught.value.rows] == ["Skipped:"] * 3
    assert Batch.objects.get() == running
