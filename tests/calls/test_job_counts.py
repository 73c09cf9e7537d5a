"""Per-status job counters (batches_jobcount): kept by database triggers whoever changes a
job, exact at every commit, read by GET /status in a bounded number of queries."""

import random
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from batches import selectors, services
from batches.jobs import job_claim, job_finish, job_release
from batches.models import Batch, Job, JobCount
from batches.services.operations import job_retry_failed
from calls import campaigns
from calls.models import CallAttempt
from calls.services import job_process
from calls.settlement import call_update
from calls.sweep import jobs_recover_expired
from tests.factories import AccountFactory, UserFactory, rut_with_dv

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the counters are PostgreSQL triggers"
)


def contacts(n, start=0):
    return [{"name": f"Deudor {i}", "rut": rut_with_dv(30_000_000 + i),
             "phones": [f"+569{60_000_000 + i}"], "debt_amount": "1000.00"}
            for i in range(start, start + n)]


def create(account, n, start=0, **options):
    return services.batch_create(account=account, user=None, name="counts",
                                 contacts=contacts(n, start), **options).batch


def live_counts(batch):
    counts = dict.fromkeys(Job.Status.values, 0)
    for row in Job.objects.filter(batch=batch).values("status").annotate(n=Count("*")):
        counts[row["status"]] = row["n"]
    return counts


def committed_counts(batch):
    """What batches_jobcount alone holds (nothing staged is left after a commit)."""
    counts = dict.fromkeys(Job.Status.values, 0)
    for status, jobs in JobCount.objects.filter(batch=batch).values_list("status", "jobs"):
        counts[status] += jobs
    return counts


def staged_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM batches_jobcount_delta")
        return cursor.fetchone()[0]


def assert_exact(batch):
    assert staged_rows() == 0
    assert committed_counts(batch) == live_counts(batch)
    assert selectors.job_counts(batch_ids=[batch.pk])[batch.pk] == live_counts(batch)


@pytest.fixture
def account(transactional_db):
    return AccountFactory(max_concurrent_calls=50, plan_type="unlimited")


def test_counters_follow_every_transition_and_commit(sim, account):
    batch = create(account, 40)  # one COPY: one staged row, one counter row per status
    assert JobCount.objects.filter(batch=batch).count() == 1
    assert_exact(batch)
    assert live_counts(batch)["pending"] == 40

    ids = list(Job.objects.filter(batch=batch).values_list("pk", flat=True))
    # Claims, then ends and give-backs of the claims.
    claims = [job_claim(job_id=pk) for pk in ids[:12]]
    assert_exact(batch)
    job_finish(claims[0], status=Job.Status.DONE, reason="ok")
    job_finish(claims[1], status=Job.Status.FAILED, reason="no")
    job_finish(claims[2], status=Job.Status.FAILED, reason="no")
    job_release(claims[3], reason="later")
    assert_exact(batch)
    # A real dial and its settlement (the webhook's path).
    assert job_process(job_id=ids[20]) == "dialled"
    attempt = CallAttempt.objects.get(job_id=ids[20])
    sim.end_call(attempt.call_id, "user_hangup")
    assert call_update(call=sim.get_call(attempt.call_id), event="call_ended") == "finished"
    assert live_counts(batch)["done"] == 2
    assert_exact(batch)
    # Expired leases recovered by the sweep.
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert jobs_recover_expired() == 8
    assert_exact(batch)
    # Retry the failed jobs, then cancel the campaign.
    assert job_retry_failed(batch=batch, user=None) == 2
    assert_exact(batch)
    campaigns.batch_cancel(batch=batch, user=UserFactory(is_staff=True))
    assert live_counts(batch)["cancelled"] > 30
    assert_exact(batch)
    # A rolled-back change leaves the counters as they were.
    with pytest.raises(RuntimeError), transaction.atomic():
        Job.objects.filter(batch=batch).update(status=Job.Status.DONE)
        raise RuntimeError
    assert_exact(batch)
    # Deleting jobs, then a whole campaign (one without calls: calls protect theirs).
    Job.objects.filter(pk__in=ids[:5]).delete()
    assert_exact(batch)
    other = create(account, 3, start=100)
    Batch.objects.filter(pk=other.pk).delete()
    assert not JobCount.objects.filter(batch_id=other.pk).exists()
    assert_exact(batch)


def test_counters_inside_a_transaction_include_its_own_changes(account):
    batch = create(account, 10)
    with transaction.atomic():
        Job.objects.filter(pk__in=Job.objects.filter(batch=batch).values("pk")[:4]).update(
            status=Job.Status.CANCELLED)
        assert staged_rows() == 2  # pending -4, cancelled +4: folded at commit
        assert selectors.job_counts(batch_ids=[batch.pk])[batch.pk] == live_counts(batch)
        assert committed_counts(batch)["pending"] == 10
    assert_exact(batch)


def test_statements_that_change_no_status_stage_nothing(account):
    batch = create(account, 10)
    with transaction.atomic():
        Job.objects.filter(batch=batch).update(enqueued_until=timezone.now())
        assert staged_rows() == 0
    assert_exact(batch)


def test_truncating_the_jobs_table_empties_the_counters(account):
    batch = create(account, 5)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE batches_job CASCADE")
    assert_exact(batch)
    assert not JobCount.objects.exists()


def _in_thread(target, errors):
    def run():
        try:
            target()
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def test_concurrent_transitions_neither_drift_nor_deadlock(account):
    batch = create(account, 200)
    ids = list(Job.objects.filter(batch=batch).values_list("pk", flat=True))
    errors: list[Exception] = []

    def churn(seed):
        rng = random.Random(seed)
        mine = ids[seed::4]
        for _ in range(60):
            claim = job_claim(job_id=rng.choice(mine))
            if claim is None:
                continue
            with transaction.atomic():
                # Another job of the campaign first, the way batch operations do.
                Job.objects.filter(pk=rng.choice(mine), status=Job.Status.FAILED).update(
                    status=Job.Status.PENDING)
                status = rng.choice([Job.Status.DONE, Job.Status.FAILED, None])
                if status is None:
                    job_release(claim, reason="later", event=False)
                else:
                    job_finish(claim, status=status, reason="x")

    threads = [_in_thread(lambda s=s: churn(s), errors) for s in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert_exact(batch)


def test_job_then_account_and_account_then_job_do_not_deadlock(account):
    """The engine's settle changes a job then locks the account; a dial locks the account
    then gives a job back. Counters locked with the job would deadlock these two."""
    batch = create(account, 2)
    first, second = Job.objects.filter(batch=batch).values_list("pk", flat=True)
    job_changed, account_locked = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def settle():
        with transaction.atomic():
            Job.objects.filter(pk=first).update(status=Job.Status.DONE)
            job_changed.set()
            account_locked.wait(10)
            list(type(account).objects.select_for_update().filter(pk=account.pk))

    def dial():
        job_changed.wait(10)
        with transaction.atomic():
            list(type(account).objects.select_for_update().filter(pk=account.pk))
            account_locked.set()
            Job.objects.filter(pk=second).update(status=Job.Status.CANCELLED)

    threads = [_in_thread(settle, errors), _in_thread(dial, errors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert live_counts(batch) == {**dict.fromkeys(Job.Status.values, 0), "done": 1,
                                  "cancelled": 1}
    assert_exact(batch)


def test_status_reads_counters_in_the_same_queries_whatever_the_size(
    account, django_assert_max_num_queries
):
    operator = UserFactory(is_staff=True, is_superuser=True)
    api = APIClient()
    api.force_authenticate(operator)
    captured = []
    for size, start in ((3, 0), (400, 1000)):
        batch = create(account, size, start=start)
        with django_assert_max_num_queries(6), CaptureQueriesContext(connection) as queries:
            body = api.get(f"/api/v1/batches/{batch.batch_id}/status").json()
        assert body["total_jobs"] == size and body["counts"]["pending"] == size
        assert body["next_attempt_at"] is not None
        captured.append([q["sql"].lower() for q in queries.captured_queries])
    assert len(captured[0]) == len(captured[1])
    for sql in captured[1]:
        assert not ("count(" in sql and "batches_job\"" in sql), sql


def test_a_large_import_refreshes_the_planner_statistics(account, settings):
    settings.BATCHES_ANALYZE_MIN_JOBS = 30

    def analyses():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT analyze_count FROM pg_stat_user_tables "
                           "WHERE relname = 'batches_job'")
            return cursor.fetchone()[0]

    before = analyses()
    create(account, 29)
    assert analyses() == before  # small campaigns are left to autovacuum
    create(account, 30, start=100)
    assert analyses() == before + 1
