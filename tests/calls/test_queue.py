"""End-to-end: real Celery workers on real Redis and PostgreSQL, the Retell simulator sending
signed webhooks to the live server."""

import os
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts import services as account_services
from accounts.models import LedgerEntry
from batches.models import Batch, Job
from calls.dispatch import dispatch_account
from calls.models import CallAttempt
from tests.factories import AccountFactory, BatchFactory, JobFactory
from tests.queue_support import CeleryProcesses, flush_broker, wait_for

pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_sim(sim, live_server):
    sim.configure(drop_webhooks=False, never_end=False, ring_ms=50, talk_ms=300,
                  webhook_url=f"{live_server.url}/api/v1/calls/retell/webhook")
    flush_broker()
    return sim


def make_jobs(account, count, **batch_kwargs):
    batch = BatchFactory(account=account, **batch_kwargs)
    for n in range(count):
        phone = f"+569876{n + 1000:05d}"
        JobFactory(batch=batch, contact={"name": f"Deudor {n}", "phones": [phone],
                                         "next_phone_index": 0})
    return batch


def open_jobs(batch):
    return Job.objects.filter(batch=batch, status__in=Job.OPEN_STATUSES).count()


def test_campaign_completes_within_the_concurrency_limit(live_sim, settings):
    account = AccountFactory(max_concurrent_calls=3)
    account_services.account_topup(account=account, credits=Decimal("100000"), reference="t")
    # Numbers ending 0-5 and 9 answer; 6, 7, 8 don't (retried after 0 hours).
    batch = make_jobs(account, 12, call_settings={
        "max_call_duration": 600, "ring_timeout": 60, "max_attempts": 2,
        "retry_delay_hours": "0", "allowed_hours": None, "days_of_week": None,
        "timezone": "America/Santiago", "priority": "normal"})
    with CeleryProcesses(workers=2, beat=False):
        dispatch_account(account_id=account.pk)
        wait_for(lambda: open_jobs(batch) == 0, timeout=60, message="all jobs to finish")
    stats = live_sim.stats()
    assert stats["max_live_by_account"][account.account_id] <= 3
    # Every attempt placed exactly one call.
    assert stats["calls_created"] == CallAttempt.objects.filter(batch=batch).count()
    assert all(count == 1 for count in stats["by_idempotency_key"].values())
    # Each call asked Retell for its end and its analysis only (no call_started).
    live_sim.wait_idle(5)
    assert set(live_sim.stats()["webhooks_by_event"]) == {"call_ended", "call_analyzed"}
    done = Job.objects.filter(batch=batch, status=Job.Status.DONE).count()
    failed = Job.objects.filter(batch=batch, status=Job.Status.FAILED)
    assert done == 9 and failed.count() == 3
    assert all(job.attempts == 2 for job in failed)
    account.refresh_from_db()
    ledger = LedgerEntry.objects.filter(account=account, unit="credits").aggregate(
        s=Sum("amount"))["s"]
    assert account.credits == ledger and account.credits >= 0
    spent = CallAttempt.objects.filter(batch=batch).aggregate(s=Sum("cost"))["s"]
    assert account.credits == Decimal("100000") - spent


def test_a_job_published_ahead_is_dialled_at_its_due_time(live_sim):
    """The sweep's look-ahead: the worker holds the message until the job's due time (a
    message run early could not claim it, and the job would wait for the next sweep)."""
    account = AccountFactory(max_concurrent_calls=2)
    account_services.account_topup(account=account, credits=Decimal("100000"), reference="t")
    batch = make_jobs(account, 1)
    with CeleryProcesses(workers=1, beat=False):
        due = timezone.now() + timedelta(seconds=2)
        Job.objects.filter(batch=batch).update(next_try_at=due)
        assert len(dispatch_account(account_id=account.pk,
                                    due_by=due + timedelta(seconds=1))) == 1
        wait_for(lambda: CallAttempt.objects.filter(batch=batch).exists(), timeout=20,
                 message="the job to be dialled at its due time")
    dialled = CallAttempt.objects.get(batch=batch).created_at
    assert due <= dialled < due + timedelta(seconds=5)


def test_pause_stops_new_calls_at_once(live_sim):
    account = AccountFactory(max_concurrent_calls=2)
    account_services.account_topup(account=account, credits=Decimal("100000"), reference="t")
    live_sim.configure(talk_ms=800)
    batch = make_jobs(account, 20)
    with CeleryProcesses(workers=2):
        dispatch_account(account_id=account.pk)
        wait_for(lambda: CallAttempt.objects.filter(batch=batch).exists(), timeout=30)
        Batch.objects.filter(pk=batch.pk).update(is_active=False, status=Batch.Status.PAUSED)
        # Attempts saved before the pause committed are in flight; no attempt starts after.
        in_flight = CallAttempt.objects.filter(batch=batch).count()
        # In-flight calls finish; nothing new starts.
        wait_for(lambda: live_sim.stats()["live_total"] == 0, timeout=30)
        wait_for(lambda: not Job.objects.filter(batch=batch, status="in_progress").exists(),
                 timeout=30)
    assert CallAttempt.objects.filter(batch=batch).count() == in_flight
    assert live_sim.stats()["calls_created"] == in_flight
    assert Job.objects.filter(batch=batch, status=Job.Status.PENDING).count() >= 16


def test_a_worker_imports_the_retell_sdk_before_its_first_message():
    """Issue 14.3: the SDK's import (over a second of CPU) was paid by each worker's first
    dial, often the refill of a freed call slot."""
    with CeleryProcesses(workers=1, beat=False) as workers:
        log = workers.logs / f"worker-0-{os.getpid()}.log"
        assert re.search(r"retell SDK imported in \d+\.\d\d s", log.read_text())
