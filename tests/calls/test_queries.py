"""calls.queries: the engine's written-out statements read and write what the ORM would, and
Django's connection sees them (execute wrappers, captured queries)."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.queries import balances_add_sql
from batches.models import Job
from batches.queries import claim_sql
from callcenter.db import cursor, json_document, orm_only, row_lock
from calls import queries
from calls.dispatch import _nudge_batch, dispatch_budget
from calls.models import CallAttempt
from calls.services import attempt_placed, job_process
from calls.settlement import call_update, find_attempt
from tests.factories import AccountFactory, BatchFactory, JobFactory

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                     reason="compares the PostgreSQL statement with the ORM")


def in_progress():
    return {"status": Job.Status.IN_PROGRESS, "lease_token": uuid.uuid4(),
            "reserved_until": timezone.now() + timedelta(hours=1)}


def attempt_of(job, number=1, **fields):
    return CallAttempt.objects.create(
        job=job, batch_id=job.batch_id, account_id=job.account_id, rut=job.rut,
        attempt_number=number, phone="+56912345671",
        idempotency_key=f"job-{job.pk}-attempt-{number}", **fields)


def test_dispatch_budget_counts_what_the_orm_counts():
    account = AccountFactory(max_concurrent_calls=7, credits=Decimal("12.5"))
    now = timezone.now()
    batch = BatchFactory(account=account)
    JobFactory.create_batch(2, batch=batch, **in_progress())
    JobFactory(batch=batch, enqueued_until=now + timedelta(minutes=1))
    JobFactory(batch=batch, enqueued_until=now - timedelta(minutes=1))
    JobFactory(batch=batch)
    with CaptureQueriesContext(connection) as captured:  # named parameters, logged
        budget = dispatch_budget(account_id=account.pk, now=now)
    assert len(captured) == 1 and str(account.pk) in captured[0]["sql"]
    jobs = Job.objects.filter(account=account)
    busy = jobs.filter(status=Job.Status.IN_PROGRESS).count()
    nudged = jobs.filter(status=Job.Status.PENDING, enqueued_until__gt=now).count()
    assert (busy, nudged) == (2, 1)
    assert budget.jobs == 7 + settings.CALLS_DISPATCH_LOOKAHEAD - busy - nudged
    assert budget.account.credits == Decimal("12.5")
    assert budget.account.get_deferred_fields() == {
        f.attname for f in account._meta.concrete_fields} - set(queries.BUDGET_ACCOUNT.attnames)
    account.status = account.Status.SUSPENDED
    account.save()
    assert dispatch_budget(account_id=account.pk, now=now).account is None


@postgresql_only
def test_the_budget_reads_the_due_campaigns_as_their_own_query_does():
    from batches.models import Batch

    account = AccountFactory()
    now = timezone.now()
    low = BatchFactory(account=account, call_settings={"max_attempts": 2, "ring_timeout": 30})
    high = BatchFactory(account=account)
    Batch.objects.filter(pk=high.pk).update(priority_rank=Batch.objects.get(
        pk=low.pk).priority_rank + 1)
    BatchFactory(account=account, scheduled_at=now + timedelta(hours=1))
    BatchFactory(account=account, is_active=False, status=Batch.Status.PAUSED)
    BatchFactory()  # another account's
    budget = dispatch_budget(account_id=account.pk, now=now)
    with cursor() as db:
        db.execute(queries.BATCHES_SQL, {"account": account.pk, "now": now})
        expected = [(pk, json_document(call_settings)) for pk, call_settings in db.fetchall()]
    assert budget.batches == expected and [pk for pk, _ in expected] == [high.pk, low.pk]
    with orm_only():
        assert dispatch_budget(account_id=account.pk, now=now).batches is None


def nudge_both_ways(limit):
    """The same jobs in two batches, nudged by the statement and by the ORM path."""
    now = timezone.now()
    results = []
    for written in (True, False):
        batch = BatchFactory()
        for due, enqueued in [(None, None), (now - timedelta(minutes=2), None),
                              (now - timedelta(minutes=5), now - timedelta(seconds=1)),
                              (now - timedelta(minutes=9), now + timedelta(minutes=1)),
                              (now + timedelta(minutes=3), None),
                              (now + timedelta(hours=1), None)]:
            JobFactory(batch=batch, next_try_at=due, enqueued_until=enqueued)
        with cursor() as db:
            if written:
                rows = _nudge_batch(db, batch_pk=batch.pk, limit=limit, now=now,
                                    due_by=now + timedelta(minutes=4))
            else:
                with orm_only():
                    rows = _nudge_batch(db, batch_pk=batch.pk, limit=limit, now=now,
                                        due_by=now + timedelta(minutes=4))
        ids = sorted(Job.objects.filter(batch=batch).values_list("pk", flat=True))
        stored = [(ids.index(pk), until) for pk, until in
                  Job.objects.filter(batch=batch).order_by("pk").values_list(
                      "pk", "enqueued_until")]
        results.append(([(ids.index(pk), due) for pk, due in sorted(rows)], stored))
    return results


@postgresql_only
@pytest.mark.parametrize("limit", [2, 10])
def test_nudge_marks_what_the_orm_path_marks(limit):
    (written_rows, written_stored), (orm_rows, orm_stored) = nudge_both_ways(limit)
    assert [i for i, _ in written_rows] == [i for i, _ in orm_rows]
    assert len(written_rows) == min(limit, 4)  # due by the look-ahead and not nudged
    assert [until for _, until in written_stored] == [until for _, until in orm_stored]
    assert [due for _, due in written_rows] == [due for _, due in orm_rows]


def place_both_ways():
    """An attempt placed by the one statement and by the ORM path: (attempt, job) each."""
    placed = []
    for written in (True, False):
        job = JobFactory(**in_progress(), attempts=1, last_error="x",
                         enqueued_until=timezone.now())
        attempt = attempt_of(job, status=CallAttempt.Status.DIALLING, ring_timeout=30,
                             max_call_duration=300)
        call = {"call_id": f"call-{job.pk}"}
        if written:
            first, again = (attempt_placed(attempt_id=attempt.pk, call=call),
                            attempt_placed(attempt_id=attempt.pk, call=call))
        else:
            with orm_only():
                first, again = (attempt_placed(attempt_id=attempt.pk, call=call),
                                attempt_placed(attempt_id=attempt.pk, call=call))
        assert (first, again) == (True, False)  # only the first binds it
        placed.append((CallAttempt.objects.get(pk=attempt.pk), Job.objects.get(pk=job.pk)))
    return placed


@postgresql_only
def test_placing_a_call_writes_what_the_orm_path_writes():
    (attempt, job), (orm_attempt, orm_job) = place_both_ways()
    assert (attempt.status, attempt.call_id) == (CallAttempt.Status.REGISTERED,
                                                 f"call-{attempt.job_id}")
    assert orm_attempt.status == attempt.status and orm_attempt.started_at is not None
    for got in (job, orm_job):
        assert (got.status, got.attempts, got.last_error, got.enqueued_until) == (
            Job.Status.IN_PROGRESS, 2, "", None)
    lease = job.reserved_until - attempt.started_at
    orm_lease = orm_job.reserved_until - orm_attempt.started_at
    assert abs(lease - orm_lease) < timedelta(seconds=1)
    assert timedelta(seconds=330) < lease < timedelta(seconds=330 + 3600)


def test_live_elsewhere_counts_what_the_orm_counts():
    job = JobFactory(**in_progress())
    other = JobFactory(batch=job.batch)
    attempt_of(job, status=CallAttempt.Status.REGISTERED)
    attempt_of(other, status=CallAttempt.Status.ONGOING)
    attempt_of(other, 2, status=CallAttempt.Status.ENDED)
    with cursor() as db:
        db.execute(queries.live_elsewhere_sql(""), [job.batch_id, job.account_id, job.pk,
                                                    job.pk, None])
        running, live, ours = db.fetchone()
    assert running == job.batch_id and ours == 0
    assert live == CallAttempt.objects.filter(
        account_id=job.account_id, status__in=CallAttempt.LIVE_STATUSES).exclude(
        job=job).count() == 1


def test_recent_ends_read_what_the_orm_reads():
    job = JobFactory()
    now = timezone.now()
    for number, days in enumerate((9, 3, 1), start=1):
        attempt_of(job, number, ended_at=now - timedelta(days=days),
                   outcome=CallAttempt.Outcome.CONTACT)
    since = now - timedelta(days=7)
    got = [(c.ended_at, c.outcome) for c in queries.RECENT_ENDS.fetch(
        queries.RECENT_ENDS_WHERE, [job.account_id, job.rut, since], order="c.ended_at")]
    assert got == list(CallAttempt.objects.filter(
        account_id=job.account_id, rut=job.rut, ended_at__gte=since).order_by(
        "ended_at").values_list("ended_at", "outcome"))
    assert len(got) == 2


@postgresql_only
@pytest.mark.parametrize("listed", ["nothing", "rut", "one phone", "both phones", "other rut"])
def test_the_claim_reads_the_do_not_call_list_and_attempts_as_their_own_queries_do(listed):
    """What a dial reads with its claim (``dial_claim_extra``) equals what
    ``suppressed_for`` and ``ATTEMPTS_SO_FAR`` read on their own (the ORM path's reads)."""
    from accounts.models import DoNotCall
    from accounts.selectors import suppressed_for
    from batches.jobs import job_claim, usable_phones

    account = AccountFactory()
    job = JobFactory(batch=BatchFactory(account=account), contact={
        "name": "Juan", "phones": ["+56912345671", "+56922222222", "+56933333333"],
        "invalid_phones": ["+56933333333"], "next_phone_index": 0})
    other = JobFactory(batch=job.batch)
    entries = {"rut": [{"rut": job.rut}], "one phone": [{"phone": "+56922222222"}],
               "both phones": [{"phone": "+56912345671"}, {"phone": "+56922222222"},
                               {"phone": "+56933333333"}],
               "other rut": [{"rut": other.rut, "phone": "+56999999999"}]}.get(listed, [])
    for entry in entries:
        DoNotCall.objects.create(account=account, **entry)
    DoNotCall.objects.create(account=AccountFactory(), phone="+56912345671", rut=job.rut)
    attempt_of(job, 1, status=CallAttempt.Status.ENDED, call_id="call-1")
    attempt_of(job, 2, status=CallAttempt.Status.PROVIDER_ERROR)
    attempt_of(other, 1)

    claim = job_claim(job_id=job.pk, extra=queries.dial_claim_extra())
    rut_blocked, suppressed, attempts = claim.extra
    expected_rut, expected_phones = suppressed_for(account_id=account.pk, rut=job.rut,
                                                   phones=usable_phones(claim.job))
    usable = set(usable_phones(claim.job))
    assert (rut_blocked, set(suppressed) & usable) == (expected_rut, expected_phones & usable)
    built = [queries.ATTEMPTS_SO_FAR.build(values) for values in json_document(attempts)]
    fetched = queries.ATTEMPTS_SO_FAR.fetch("c.job_id = %s", [job.pk], order="c.attempt_number")
    fields = ("pk", "attempt_number", "status", "call_id", "phone")
    assert [[getattr(a, f) for f in fields] for a in built] == \
        [[getattr(a, f) for f in fields] for a in fetched]
    assert [a.attempt_number for a in built] == [1, 2]


def test_find_attempt_reads_what_the_orm_reads():
    job = JobFactory()
    attempt = attempt_of(job, call_id="call-1")
    by_id = find_attempt({"call_id": "call-1"})
    meta = {"job_id": job.pk, "attempt": 1, "account_id": job.account.account_id,
            "batch_id": job.batch.batch_id}
    by_meta = find_attempt({"to_number": "+56912345671", "metadata": meta})
    expected = CallAttempt.objects.filter(
        Q(job=job, attempt_number=1, phone="+56912345671",
          account__account_id=meta["account_id"], batch__batch_id=meta["batch_id"])).get()
    for found in (by_id, by_meta):
        assert found.pk == attempt.pk == expected.pk
        assert (found.status, found.call_id, found.job_id) == (
            expected.status, expected.call_id, expected.job_id)
    assert find_attempt({"to_number": "+56900000000", "metadata": meta}) is None


def test_the_hot_path_runs_through_djangos_connection(sim):
    """A dial and a settle: execute wrappers and captured queries see every statement,
    the written-out ones included (the prepared cursor used to bypass them)."""
    account = AccountFactory(credits=Decimal("10000"), cost_per_minute=Decimal("60"))
    job = JobFactory(batch=BatchFactory(account=account))
    seen = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record), CaptureQueriesContext(connection) as captured:
        assert job_process(job_id=job.pk) == "dialled"
    claim = claim_sql(queries.dial_claim_extra()) if connection.vendor == "postgresql" else None
    assert claim is None or claim in seen
    assert queries.live_elsewhere_sql(row_lock("FOR NO KEY UPDATE")) in seen
    assert any(balances_add_sql(("credits",)) == sql for sql in seen)  # the hold
    assert len(captured) == len(seen) and all(query["sql"] for query in captured)

    attempt = CallAttempt.objects.get(job=job)
    sim.end_call(attempt.call_id, "user_hangup")
    seen.clear()
    with connection.execute_wrapper(record):
        assert call_update(call=sim.get_call(attempt.call_id), event="call_ended") == "finished"
    assert any(queries.FINISH_READ.sql in sql for sql in seen)
    assert any(balances_add_sql(("credits", "total_spent"), returning=True) == sql
               for sql in seen)
