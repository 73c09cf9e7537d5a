"""batches.queries: each written-out statement reads and writes what its ORM path (taken on
SQLite) does, compared on PostgreSQL over the same rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from batches import ingest
from batches.jobs import _defer, job_claim
from batches.models import Job
from batches.selectors import account_job_counts, job_counts
from callcenter.db import orm_only
from tests.factories import AccountFactory, BatchFactory, JobFactory, rut_with_dv

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="compares the PostgreSQL statement with the ORM"),
]


def both_ways(operation):
    """``operation()`` run by the statements, then by the ORM paths."""
    written = operation()
    with orm_only():
        return written, operation()


def fields(job, skip=()):
    return {f.attname: getattr(job, f.attname) for f in Job._meta.concrete_fields
            if f.attname not in skip}


def test_a_claim_reads_and_writes_what_the_orm_path_does():
    account = AccountFactory()
    jobs = JobFactory.create_batch(2, batch=BatchFactory(account=account))
    now = timezone.now()
    written = job_claim(job_id=jobs[0].pk, now=now)
    with orm_only():
        orm = job_claim(job_id=jobs[1].pk, now=now)
        assert job_claim(job_id=jobs[1].pk, now=now) is None  # taken
    for claim in (written, orm):
        assert claim.job.lease_token == claim.token
        assert fields(claim.job) == fields(Job.objects.get(pk=claim.job.pk))
        assert claim.job.batch.pk == claim.job.batch_id and claim.job.account.pk == account.pk
    skip = {"id", "rut", "deduplication_key", "lease_token", "contact", "created_at",
            "next_try_at"}  # the factory's, different per job
    assert fields(written.job, skip) == fields(orm.job, skip)
    assert written.job.batch.get_deferred_fields() == orm.job.batch.get_deferred_fields()


def test_deferring_by_phone_class_moves_what_the_orm_path_moves():
    now = timezone.now()
    opens = now + timedelta(hours=3)
    phones = [["+56912345671"], ["+56912345671", "+56998765432"], ["+56221234567"],
              ["+56912345671", "+56221234567"], []]
    batches = []
    for _ in range(2):
        batch = BatchFactory()
        for numbers in phones:
            JobFactory(batch=batch, next_try_at=now, contact={"phones": numbers})
        JobFactory(batch=batch, next_try_at=now,
                   contact={"phones": ["+56912345671"], "timezone": "America/Santiago"})
        batches.append(batch)
    moved = [_defer(batches[0].pk, opens, now, "+569")]
    with orm_only():
        moved.append(_defer(batches[1].pk, opens, now, "+569"))
    deferred = [[job.next_try_at == opens for job in Job.objects.filter(batch=b).order_by("pk")]
                for b in batches]
    assert moved == [3, 3]  # every phone a mobile (none at all counts), no zone of its own
    assert deferred[0] == deferred[1] == [True, True, False, False, True, False]


def test_job_counts_are_what_the_orm_counts():
    batch, other = BatchFactory(), BatchFactory()
    JobFactory.create_batch(3, batch=batch)
    JobFactory(batch=batch, status=Job.Status.DONE)
    JobFactory(batch=other, status=Job.Status.FAILED)
    Job.objects.filter(batch=batch).first().delete()
    written, orm = both_ways(lambda: job_counts(batch_ids=[batch.pk, other.pk]))
    assert written == orm
    assert (written[batch.pk]["pending"], written[batch.pk]["done"],
            written[other.pk]["failed"]) == (2, 1, 1)


def test_account_job_counts_are_what_the_orm_counts():
    account = AccountFactory()
    batch, other = BatchFactory(account=account), BatchFactory(account=account)
    JobFactory.create_batch(2, batch=batch)
    JobFactory(batch=other, status=Job.Status.DONE)
    JobFactory(batch=BatchFactory(), status=Job.Status.DONE)  # another account's
    written, orm = both_ways(lambda: account_job_counts(account_id=account.pk))
    assert written == orm
    assert (written["pending"], written["done"], written["failed"]) == (2, 1, 0)


def test_open_ruts_are_what_the_orm_finds():
    account = AccountFactory()
    batch, closed, importing = (BatchFactory(account=account), BatchFactory(account=account),
                                BatchFactory(account=account))
    ruts = [rut_with_dv(70_000_000 + i) for i in range(5)]
    JobFactory(batch=batch, rut=ruts[0])
    JobFactory(batch=batch, rut=ruts[1], status=Job.Status.DONE)
    JobFactory(batch=closed, rut=ruts[2])
    JobFactory(batch=importing, rut=ruts[3])
    closed.status = closed.Status.COMPLETED
    closed.save()
    written, orm = both_ways(lambda: ingest.open_ruts(account=account, ruts=ruts,
                                                      exclude_batch=importing))
    assert written == orm == {ruts[0]: batch.batch_id}


def test_refreshed_jobs_are_what_the_orm_path_writes():
    account = AccountFactory(account_id="acct-refresh")
    batches = [BatchFactory(account=account, batch_id=f"batch-refresh-{i}") for i in range(2)]
    debtors = [{"rut": rut_with_dv(80_000_000 + i), "name": f"Ana {i}", "phones": ["+5691"],
                "custom_fields": {"nota": "ñ\\t"}, "installments": i} for i in range(3)]
    now = timezone.now()
    for batch in batches:
        ingest.jobs_insert(batch=batch, contacts=debtors, now=now, next_try_at=None)
    changed = [{**d, "name": "Otra", "phones": ["+5692", "+5693"]} for d in debtors[:2]]
    written = ingest.jobs_refresh(batch=batches[0], contacts=changed, fecha_limite="2025-02-01")
    with orm_only():
        orm = ingest.jobs_refresh(batch=batches[1], contacts=changed, fecha_limite="2025-02-01")
    assert written == orm == 2
    stored = [list(Job.objects.filter(batch=b).order_by("rut").values_list(
        "rut", "contact", "payload")) for b in batches]
    assert stored[0] == stored[1]
    assert stored[0][0][1]["phones"] == ["+5692", "+5693"]
