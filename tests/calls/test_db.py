"""The engine's written-out reads and writes give exactly what the ORM gives."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Account
from accounts.services import BALANCE_FIELDS, account_lock
from batches.jobs import engine_job, job_claim
from batches.models import Batch, Job, JobEvent
from callcenter.db import cursor, insert_row, update_row
from calls.models import CallAttempt
from tests.factories import AccountFactory, BatchFactory, JobFactory

pytestmark = pytest.mark.django_db

DEFERRED_BATCH = {"import_errors", "script_content", "description", "recurring_config"}


def values(obj, skip=()):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields
            if f.attname not in skip}


@pytest.fixture
def job():
    account = AccountFactory(credits=Decimal("1234.50"), cost_per_minute=Decimal("12.25"))
    batch = BatchFactory(account=account, description="Cobranza de diciembre",
                         call_settings={"max_attempts": 2, "allowed_hours": {
                             "start": "09:00", "end": "18:00"}},
                         scheduled_at=datetime(2026, 12, 1, 12, 30, tzinfo=UTC))
    return JobFactory(batch=batch, contact={"name": "Ana Pérez", "phones": ["+56912345678"],
                                            "timezone": "America/Santiago"},
                      payload={"debt_amount": "150000.50", "custom": {"ñ": [1, None]}},
                      next_try_at=datetime(2026, 12, 1, 13, 0, tzinfo=UTC))


def test_engine_job_reads_what_the_orm_reads(job):
    expected = Job.objects.select_related("batch", "account").get(pk=job.pk)
    got = engine_job(job.pk)
    assert values(got) == values(expected)
    assert values(got.account) == values(expected.account)
    assert got.batch.get_deferred_fields() == DEFERRED_BATCH
    assert values(got.batch, skip=DEFERRED_BATCH) == values(expected.batch, skip=DEFERRED_BATCH)
    assert got.batch.description == "Cobranza de diciembre"  # deferred: loaded on access
    assert got.account.credits == Decimal("1234.50") and got.payload["custom"] == {"ñ": [1, None]}
    assert engine_job(job.pk + 1000) is None


def test_claim_reads_the_claimed_row(job):
    Job.objects.filter(pk=job.pk).update(next_try_at=None)
    claim = job_claim(job_id=job.pk)
    assert claim.job.status == Job.Status.IN_PROGRESS
    assert claim.job.lease_token == claim.token == Job.objects.get(pk=job.pk).lease_token
    assert claim.job.batch.call_settings["max_attempts"] == 2
    assert job_claim(job_id=job.pk) is None  # taken


def test_account_lock_loads_only_the_fields_asked_for(job):
    account = account_lock(job.account_id, fields=BALANCE_FIELDS)
    assert account.get_deferred_fields() == {
        f.attname for f in Account._meta.concrete_fields} - set(BALANCE_FIELDS)
    assert account.credits == Decimal("1234.50")
    assert values(account_lock(job.account_id)) == values(Account.objects.get(pk=job.account_id))
    with pytest.raises(Account.DoesNotExist):
        account_lock(job.account_id + 1000)


def test_insert_and_update_rows_as_the_orm_saves_them(job):
    event = insert_row(JobEvent(job=job, kind="waiting", message="fuera de horario — ñ"))
    stored = JobEvent.objects.get(pk=event.pk)
    assert (stored.kind, stored.message, stored.job_id) == ("waiting", "fuera de horario — ñ",
                                                            job.pk)
    assert stored.created_at == event.created_at and event._state.adding is False

    attempt = insert_row(CallAttempt(job=job, batch_id=job.batch_id, account_id=job.account_id,
                                     rut=job.rut, attempt_number=1, phone="+56912345678",
                                     idempotency_key=f"job-{job.pk}-attempt-1"))
    assert values(CallAttempt.objects.get(pk=attempt.pk)) == values(attempt)
    ended = timezone.now()
    assert update_row(CallAttempt, attempt.pk, {
        "cost": Decimal("7.25"), "ended_at": ended, "raw": {"call_id": "c-1", "n": [1, 2]},
        "status": CallAttempt.Status.ENDED}) == 1
    stored = CallAttempt.objects.get(pk=attempt.pk)
    assert (stored.cost, stored.ended_at, stored.raw, stored.status) == (
        Decimal("7.25"), ended, {"call_id": "c-1", "n": [1, 2]}, CallAttempt.Status.ENDED)
    assert update_row(Batch, job.batch_id + 1000, {"name": "x"}) == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared on PostgreSQL only")
def test_engine_statements_are_prepared_once_per_connection(job):
    """Parsed and planned once, then executed by name (not re-planned at every call)."""
    sql = f"SELECT status FROM {Job._meta.db_table} WHERE id = %s AND rut <> %s"
    for _ in range(3):
        with cursor() as db:
            db.execute(sql, [job.pk, "prepared-marker"])
            assert db.fetchone() == (Job.Status.PENDING,)
    with connection.cursor() as plain:
        plain.execute("SELECT count(*) FROM pg_prepared_statements "
                      "WHERE statement LIKE %s AND statement NOT LIKE %s",
                      ["%rut <> $2%", "%pg_prepared_statements%"])
        assert plain.fetchone() == (1,)


def test_engine_cursor_raises_djangos_errors(job):
    """A failing statement raises django.db's errors (which the tasks retry on and the
    engine hands the job back for), as Django's own cursor would, and the transaction rolls
    back as usual."""
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(JobEvent(job_id=job.pk, kind="x", message="y"))
        insert_row(Job(batch_id=job.batch_id, account_id=job.account_id, rut=job.rut,
                       deduplication_key=job.deduplication_key))
    assert not JobEvent.objects.filter(job=job, kind="x").exists()
    with pytest.raises(DatabaseError), cursor() as db:
        db.execute("SELECT no_such_column FROM " + Job._meta.db_table)
