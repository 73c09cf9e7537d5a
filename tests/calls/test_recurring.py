"""A recurring campaign run by the engine: real workers place the calls of run 1, the day
boundary comes, the sweep starts run 2 over the debtors not finished for good; and the CL
weekly limit counts the calls of every run."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Account, DoNotCall
from batches import services
from batches.models import Batch, BatchEvent, Job
from batches.reasons import JobReason
from calls.models import CallAttempt
from calls.services import job_process
from calls.settlement import call_update
from calls.sweep import sweep
from tests.factories import AccountFactory
from tests.queue_support import CeleryProcesses, flush_broker, wait_for

SETTINGS = {"max_attempts": 1, "retry_delay_hours": 0, "allowed_hours": None,
            "days_of_week": None, "timezone": "America/Santiago"}
# The simulator answers by the number's end: 1 talks, 0001 asks not to be called again,
# 0000 does not exist, 6 never answers.
TALKS, DNC, INVALID, NO_ANSWER = "11111111-1", "22222222-2", "33333333-3", "44444444-4"
DEBTORS = [{"rut": TALKS, "phones": ["+56912345671"]}, {"rut": DNC, "phones": ["+56912340001"]},
           {"rut": INVALID, "phones": ["+56912340000"]},
           {"rut": NO_ANSWER, "phones": ["+56912345676"]}]


def funded_account(**fields):
    account = AccountFactory(max_concurrent_calls=4, **fields)
    account_services.account_topup(account=account, credits=Decimal("100000"), reference="t")
    return account


def daily_campaign(account, now):
    return services.batch_create(
        account=account, user=None, name="Cobranza diaria", contacts=DEBTORS,
        call_settings=SETTINGS, schedule_type="recurring", scheduled_at=now,
        recurring_config={"frequency": "daily", "interval": 1}, now=now).batch


def open_jobs(batch):
    return Job.objects.filter(batch=batch, status__in=Job.OPEN_STATUSES).count()


@pytest.mark.queue
@pytest.mark.django_db(transaction=True)
def test_a_daily_campaign_runs_again_the_next_day_over_the_debtors_left(sim, live_server):
    sim.configure(drop_webhooks=False, never_end=False, ring_ms=50, talk_ms=200,
                  webhook_url=f"{live_server.url}/api/v1/calls/retell/webhook")
    flush_broker()
    account = funded_account()
    parent = daily_campaign(account, timezone.now())
    with CeleryProcesses(workers=2):
        assert sweep()["activated"] == 1  # run 1 starts; the workers dial its four debtors
        wait_for(lambda: open_jobs(parent) == 0, timeout=60, message="run 1 to finish")
        assert sweep()["runs"] == 0
        parent.refresh_from_db()
        # Waiting for its next run, not completed.
        assert parent.status == Batch.Status.RUNNING
        assert parent.next_run_at == parent.scheduled_at + timedelta(days=1)
        assert DoNotCall.objects.filter(account=account, rut=DNC).exists()
        invalid = Job.objects.get(batch=parent, rut=INVALID)
        assert invalid.status == Job.Status.FAILED  # its only number does not exist
        assert invalid.contact["invalid_phones"] == ["+56912340000"]

        # The day boundary: tomorrow's occurrence is now (the workers keep the real clock).
        Batch.objects.filter(pk=parent.pk).update(next_run_at=timezone.now())
        assert sweep()["runs"] == 1
        run = Batch.objects.get(parent=parent)
        wait_for(lambda: open_jobs(run) == 0, timeout=60, message="run 2 to finish")
        assert sweep()["runs"] == 0

    assert run.run_number == 2
    assert set(Job.objects.filter(batch=run).values_list("rut", flat=True)) == {
        TALKS, NO_ANSWER}
    dialled = CallAttempt.objects.filter(batch=run)
    assert sorted(dialled.values_list("phone", flat=True)) == ["+56912345671", "+56912345676"]
    assert sim.stats()["calls_created"] == 6
    parent.refresh_from_db()
    assert parent.runs_count == 2 and parent.next_run_at > timezone.now()
    assert BatchEvent.objects.filter(batch=parent, kind=BatchEvent.Kind.RUN_CREATED,
                                     data__excluded=2).exists()


@pytest.mark.django_db
def test_the_cl_weekly_limit_counts_the_calls_of_earlier_runs(sim):
    account = funded_account()
    Account.objects.filter(pk=account.pk).update(compliance_profile="CL")
    account.refresh_from_db()
    # Tuesday 2025-06-10 11:00 in Santiago; run 2 the next day at the same time.
    start = datetime(2025, 6, 10, 15, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        parent = daily_campaign(account, start)
        sweep()
        talks = Job.objects.get(batch=parent, rut=TALKS)
        assert job_process(job_id=talks.pk) == "dialled"
        call = CallAttempt.objects.get(job=talks)
        sim.end_call(call.call_id, "user_hangup")
        call_update(call=sim.get_call(call.call_id), event="call_ended")
    with time_machine.travel(start + timedelta(days=1, minutes=1), tick=False):
        assert sweep()["runs"] == 1
        again = Job.objects.get(batch__parent=parent, rut=TALKS)
        assert job_process(job_id=again.pk) == "weekly_limit"
    again.refresh_from_db()
    assert again.last_error == JobReason.WAIT_WEEKLY_CONTACT
    assert again.next_try_at >= CallAttempt.objects.get(job=talks).ended_at + timedelta(days=7)
    assert CallAttempt.objects.filter(job=again).count() == 0
