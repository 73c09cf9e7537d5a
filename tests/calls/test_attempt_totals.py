"""A batch's call figures (calls_attempttotal): kept by database triggers on the attempts
table, equal to the attempts' aggregate at every commit, and read by the campaign list and
/status in a number of queries that does not grow with the attempts."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from batches import services
from batches.models import Job
from calls import selectors
from calls.models import AttemptTotal, CallAttempt
from calls.services import job_process
from calls.settlement import call_update
from tests.factories import AccountFactory, UserFactory, rut_with_dv

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the counters are PostgreSQL triggers"
)


def create(account, n, start=0):
    contacts = [{"name": f"Deudor {i}", "rut": rut_with_dv(31_000_000 + i),
                 "phones": [f"+569{61_000_000 + i}"], "debt_amount": "1000.00"}
                for i in range(start, start + n)]
    return services.batch_create(account=account, user=None, name="totals",
                                 contacts=contacts).batch


def aggregate(batch):
    figures = CallAttempt.objects.filter(batch=batch).aggregate(
        attempts=Count("id"),
        in_flight=Count("id", filter=Q(status__in=CallAttempt.LIVE_STATUSES)),
        contacted=Count("id", filter=Q(outcome=CallAttempt.Outcome.CONTACT)),
        seconds=Sum("duration_seconds"),
        cost=Sum("cost"),
    )
    return {**figures, "seconds": figures["seconds"] or 0, "cost": figures["cost"] or Decimal(0)}


def assert_read_exact(batch):
    expected = aggregate(batch)
    totals = selectors.attempt_totals(batch_ids=[batch.pk])[batch.pk]
    assert {key: totals[key] for key in expected} == expected
    return expected


def assert_exact(batch):
    """After a commit: the counters alone hold the aggregate (nothing left staged)."""
    expected = assert_read_exact(batch)
    committed = AttemptTotal.objects.filter(batch=batch).aggregate(
        attempts=Sum("attempts"), cost=Sum("cost"), seconds=Sum("seconds"))
    assert (committed["attempts"] or 0, committed["seconds"] or 0) == (
        expected["attempts"], expected["seconds"])
    assert (committed["cost"] or 0) == expected["cost"]


@pytest.fixture
def account(transactional_db):
    return AccountFactory(max_concurrent_calls=50, plan_type="unlimited")


def dial_and_settle(sim, job_id, reason="user_hangup"):
    assert job_process(job_id=job_id) == "dialled"
    attempt = CallAttempt.objects.get(job_id=job_id)
    sim.end_call(attempt.call_id, reason)
    assert call_update(call=sim.get_call(attempt.call_id), event="call_ended") == "finished"


def test_counters_equal_the_aggregate_after_dials_and_settlements(sim, account):
    batch = create(account, 6)
    assert_exact(batch)
    ids = list(Job.objects.filter(batch=batch).order_by("pk").values_list("pk", flat=True))
    assert job_process(job_id=ids[0]) == "dialled"
    assert_exact(batch)
    assert selectors.attempt_totals(batch_ids=[batch.pk])[batch.pk]["in_flight"] == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=1)):
        for pk in ids[1:4]:
            dial_and_settle(sim, pk)
    attempt = CallAttempt.objects.get(job_id=ids[0])
    sim.end_call(attempt.call_id, "user_hangup")
    call_update(call=sim.get_call(attempt.call_id), event="call_ended")
    assert_exact(batch)
    assert aggregate(batch)["attempts"] == 4 and aggregate(batch)["in_flight"] == 0
    # Inside a transaction the reader sees its own staged change; a rollback leaves nothing.
    with transaction.atomic():
        CallAttempt.objects.filter(batch=batch).update(cost=Decimal("1.2345"), duration_seconds=90)
        assert_read_exact(batch)
    with pytest.raises(RuntimeError), transaction.atomic():
        CallAttempt.objects.filter(batch=batch).update(cost=Decimal("99"))
        raise RuntimeError
    assert_exact(batch)
    totals = selectors.attempt_totals(batch_ids=[batch.pk])[batch.pk]
    assert totals["cost"] == Decimal("4.9380") and totals["minutes"] == Decimal("6.00")


def test_list_and_status_queries_do_not_grow_with_the_attempts(account):
    batch = create(account, 40)
    api = APIClient()
    api.force_authenticate(UserFactory(is_staff=True, is_superuser=True))

    def queries():
        counted = []
        for url in (f"/api/v1/batches/{batch.batch_id}/status", "/api/v1/batches"):
            with CaptureQueriesContext(connection) as captured:
                assert api.get(url).status_code == 200
            counted.append(len(captured))
        return counted

    def add_attempts(jobs):
        CallAttempt.objects.bulk_create(
            CallAttempt(job=job, batch=batch, account=account, rut=job.rut, attempt_number=1,
                        phone="+56961000000", status=CallAttempt.Status.ENDED,
                        outcome=CallAttempt.Outcome.CONTACT, duration_seconds=30,
                        cost=Decimal("0.5"), idempotency_key=f"totals-{job.pk}")
            for job in jobs)

    jobs = list(Job.objects.filter(batch=batch).order_by("pk"))
    add_attempts(jobs[:2])
    before = queries()
    add_attempts(jobs[2:])
    assert queries() == before
    body = api.get("/api/v1/batches").json()["results"][0]
    assert body["total_cost"] == 20 and body["total_minutes"] == 20
    status = api.get(f"/api/v1/batches/{batch.batch_id}/status").json()
    assert status["attempts_made"] == 40 and status["contacted"] == 40
    assert_exact(batch)
