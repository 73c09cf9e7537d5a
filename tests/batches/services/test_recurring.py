"""Recurring campaigns: the occurrences (DST, months), recurring_config's validation, the run
created once per occurrence over the debtors not finished for good, pause/cancel, the API."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from accounts.models import DoNotCall
from batches import services
from batches.models import Batch, BatchEvent, Job
from batches.reasons import JobReason
from batches.recurrence import next_run_after, occurrence, recurring_config_clean
from batches.services import BatchError, batch_run_create, recurring_runs_create

SANTIAGO = "America/Santiago"
# Friday 2025-04-04 10:00 in Santiago (UTC-3); Chile goes back to UTC-4 on Sunday 04-06.
START = datetime(2025, 4, 4, 13, 0, tzinfo=UTC)
DAILY = {"frequency": "daily", "interval": 1}


def test_daily_keeps_the_local_time_across_the_dst_change():
    times = [occurrence(config=DAILY, anchor=START, timezone=SANTIAGO, index=n)
             for n in range(4)]
    assert times == [START, START + timedelta(days=1),
                     START + timedelta(days=2, hours=1), START + timedelta(days=3, hours=1)]


def test_monthly_from_the_31st_runs_on_the_last_day_of_shorter_months():
    anchor = datetime(2025, 1, 31, 13, 0, tzinfo=UTC)
    config = {"frequency": "monthly", "interval": 1}
    dates = [occurrence(config=config, anchor=anchor, timezone=SANTIAGO, index=n).date()
             for n in range(1, 4)]
    assert [str(d) for d in dates] == ["2025-02-28", "2025-03-31", "2025-04-30"]


def test_next_run_skips_missed_occurrences_and_ends_at_max_runs_or_end_date():
    weekly = {"frequency": "weekly", "interval": 2}
    after = START + timedelta(days=30)  # two occurrences missed (a long pause)
    assert next_run_after(config=weekly, anchor=START, timezone=SANTIAGO, after=after,
                          runs=2) == START + timedelta(days=42, hours=1)
    assert next_run_after(config={**DAILY, "max_runs": 3}, anchor=START, timezone=SANTIAGO,
                          after=START, runs=3) is None
    assert next_run_after(config={**DAILY, "end_date": "2025-04-05"}, anchor=START,
                          timezone=SANTIAGO, after=START + timedelta(days=1), runs=2) is None


@pytest.mark.parametrize("config, errors", [
    ({"frequency": "daily", "interval": 1}, set()),  # the seed's shape (002, line 193)
    ({"frequency": "Weekly", "interval": 2.0, "max_runs": 4, "end_date": "2026-01-31"}, set()),
    ({"frequency": "hourly", "interval": 0, "every": 1},
     {"recurring_config.frequency", "recurring_config.interval", "recurring_config.every"}),
    ({"frequency": "monthly", "end_date": "31/01/2026", "max_runs": True},
     {"recurring_config.end_date", "recurring_config.max_runs"}),
])
def test_recurring_config_is_checked(config, errors):
    cleaned, found = recurring_config_clean(config)
    assert set(found) == errors
    if not errors:
        assert cleaned["frequency"] == config["frequency"].lower()
        assert isinstance(cleaned["interval"], int)


def contact(rut, phone):
    return {"rut": rut, "name": f"Deudor {rut}", "phones": [phone]}


DEBTORS = [contact("11111111-1", "+56912345671"), contact("22222222-2", "+56912345672"),
           contact("33333333-3", "+56912345673"), contact("44444444-4", "+56912345674")]


def recurring(account, config=DAILY, **options):
    return services.batch_create(
        account=account, user=None, name="Cartera mensual", contacts=DEBTORS,
        schedule_type="recurring", scheduled_at=START, recurring_config=config, now=START,
        dias_fecha_limite=5, **options).batch


def finish_run_one(parent):
    """Run 1 ends: one debtor talked, one asked not to be called (on the list), one has no
    valid number left, one was never reached."""
    jobs = {job.rut: job for job in Job.objects.filter(batch=parent)}
    Job.objects.filter(pk=jobs["11111111-1"].pk).update(status=Job.Status.DONE)
    Job.objects.filter(pk=jobs["22222222-2"].pk).update(status=Job.Status.DONE)
    DoNotCall.objects.create(account=parent.account, rut="22222222-2")
    Job.objects.filter(pk=jobs["33333333-3"].pk).update(
        status=Job.Status.FAILED, last_error=JobReason.FAIL_NO_PHONE)
    Job.objects.filter(pk=jobs["44444444-4"].pk).update(
        status=Job.Status.FAILED, last_error=JobReason.FAIL_MAX_ATTEMPTS)
    Batch.objects.filter(pk=parent.pk).update(status=Batch.Status.RUNNING)


@pytest.mark.django_db
def test_a_due_campaign_gets_one_run_over_the_debtors_not_finished_for_good(funded_a):
    parent = recurring(funded_a, script_content="Hola {{nombre}}", priority="high")
    assert parent.next_run_at == START + timedelta(days=1)
    finish_run_one(parent)
    assert recurring_runs_create(now=START + timedelta(hours=23)) == 0  # not due yet
    tomorrow = START + timedelta(days=1, minutes=1)
    assert recurring_runs_create(now=tomorrow) == 1
    assert recurring_runs_create(now=tomorrow) == 0  # once per occurrence

    run = Batch.objects.get(parent=parent)
    assert (run.run_number, run.status, run.script_content, run.priority) == (
        2, Batch.Status.RUNNING, "Hola {{nombre}}", "high")
    assert run.call_settings == parent.call_settings
    jobs = Job.objects.filter(batch=run)
    assert {job.rut for job in jobs} == {"11111111-1", "44444444-4"}
    assert all(job.status == Job.Status.PENDING and job.next_try_at == tomorrow for job in jobs)
    # fecha_limite counts from the run's own day (5 days, as the campaign was created).
    assert {job.payload["fecha_limite"] for job in jobs} == {"2025-04-10"}
    parent.refresh_from_db()
    assert (parent.runs_count, parent.next_run_at) == (2, START + timedelta(days=2, hours=1))
    assert parent.status == Batch.Status.RUNNING
    created = BatchEvent.objects.get(batch=parent, kind=BatchEvent.Kind.RUN_CREATED)
    assert created.data == {"run_number": 2, "batch_id": run.batch_id,
                            "parent_batch_id": parent.batch_id, "total_jobs": 2,
                            "excluded": 2, "skipped_existing": 0}
    assert "Run 2" in created.message and "2 finished for good" in created.message
    assert BatchEvent.objects.filter(batch=run, kind=BatchEvent.Kind.RUN_CREATED).exists()


@pytest.mark.django_db
def test_paused_or_cancelled_campaigns_get_no_run_and_max_runs_ends_it(funded_a):
    parent = recurring(funded_a, config={**DAILY, "max_runs": 2})
    finish_run_one(parent)
    later = START + timedelta(days=1, minutes=1)
    for status in (Batch.Status.PAUSED, Batch.Status.CANCELLED):
        Batch.objects.filter(pk=parent.pk).update(status=status, is_active=False)
        assert recurring_runs_create(now=later) == 0
    Batch.objects.filter(pk=parent.pk).update(status=Batch.Status.RUNNING, is_active=True)
    assert recurring_runs_create(now=later) == 1
    parent.refresh_from_db()
    assert (parent.runs_count, parent.next_run_at) == (2, None)
    assert BatchEvent.objects.filter(batch=parent,
                                     kind=BatchEvent.Kind.RECURRENCE_ENDED).exists()


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_create_one_run(funded_a):
    """The second beat finds the campaign's row locked (skip_locked) or already moved on."""
    parent = recurring(funded_a)
    finish_run_one(parent)
    due = START + timedelta(days=1, minutes=1)
    results, barrier = [], threading.Barrier(2)

    def beat():
        try:
            barrier.wait()
            results.append(batch_run_create(parent_pk=parent.pk, now=due))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result is not None for result in results) == 1
    assert Batch.objects.filter(parent=parent).count() == 1


@pytest.mark.django_db
def test_a_recurring_campaign_needs_a_valid_config(funded_a):
    with pytest.raises(BatchError) as refused:
        recurring(funded_a, config=None)
    assert set(refused.value.errors) == {"recurring_config"}
    with pytest.raises(BatchError) as refused:
        recurring(funded_a, config={"frequency": "yearly", "interval": 1})
    assert set(refused.value.errors) == {"recurring_config.frequency"}


@pytest.mark.django_db
def test_runs_are_listed_under_their_campaign(funded_a, api_operator):
    parent = recurring(funded_a)
    finish_run_one(parent)
    with time_machine.travel(START + timedelta(days=1, minutes=1), tick=False):
        recurring_runs_create()
    run = Batch.objects.get(parent=parent)
    body = api_operator.get("/api/v1/batches", {"parent": parent.batch_id}).json()
    [listed] = body["results"]
    assert (listed["batch_id"], listed["parent_batch_id"], listed["run_number"]) == (
        run.batch_id, parent.batch_id, 2)
    detail = api_operator.get(f"/api/v1/batches/{parent.batch_id}").json()
    assert (detail["parent_batch_id"], detail["run_number"], detail["runs_count"]) == (
        None, 1, 2)
    assert detail["next_run_at"].startswith("2025-04-06T")
