"""The retention policy (calls.retention): records older than their account's period are
removed in short chunks, only those of finished campaigns, and the ledger entries as old are
replaced by one summary entry per account and unit, the balance equal to the ledger's sum
before, during and after. Transactional tests: every chunk commits, so the deferred foreign-key
checks and the counters' commit triggers run as in production."""

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django_celery_beat.models import PeriodicTask

from accounts import services as account_services
from accounts.models import Account, LedgerEntry
from batches import selectors as batch_selectors
from batches.models import Batch, BatchEvent, Job, JobEvent
from calls import selectors as call_selectors
from calls.models import CallAttempt
from calls.periodic import RETENTION_TASK_NAME, periodic_tasks_install
from calls.retention import purge_expired_records
from tests.factories import AccountFactory, BatchFactory, JobFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED, the counters"),
]

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
_keys = count()


def months_ago(months: int, days: int = 0) -> datetime:
    return NOW - timedelta(days=months * 30.5 + days)


def campaign(account, *, status=Batch.Status.COMPLETED, created, finished=None, **fields):
    batch = BatchFactory(account=account, status=status, **fields)
    Batch.objects.filter(pk=batch.pk).update(created_at=created, completed_at=finished,
                                             updated_at=finished or created)
    BatchEvent.objects.create(batch=batch, kind=BatchEvent.Kind.CREATED)
    return batch


def job_with_calls(batch, ended: list, *, status=Job.Status.DONE,
                   attempt_status=CallAttempt.Status.ENDED):
    """A job of ``batch`` with one attempt per end time in ``ended`` (None: in progress)."""
    job = JobFactory(batch=batch, status=status, attempts=len(ended),
                     reserved_until=NOW if status == Job.Status.IN_PROGRESS else None)
    JobEvent.objects.create(job=job, kind="call_ended")
    for number, end in enumerate(ended, start=1):
        live = end is None
        attempt = CallAttempt.objects.create(
            job=job, batch=batch, account=batch.account, rut=job.rut,
            attempt_number=number, phone="+56912345671", idempotency_key=f"k{next(_keys)}",
            status=CallAttempt.Status.ONGOING if live else attempt_status,
            outcome="" if live else CallAttempt.Outcome.CONTACT,
            ended_at=end, duration_seconds=None if live else 60,
            cost=None if live else Decimal("12.5"),
            hold_amount=Decimal("100"), hold_unit="credits",
            transcript="Agente: Hola...", recording_url="https://rec.example/x.wav",
        )
        CallAttempt.objects.filter(pk=attempt.pk).update(updated_at=end or NOW)
    last = max((e for e in ended if e is not None), default=NOW)
    Job.objects.filter(pk=job.pk).update(updated_at=last if not status == "pending" else NOW)
    return job


def ledger_at(account, moment, amount, unit="credits"):
    with time_machine.travel(moment, tick=False):
        account_services.account_adjust(account=Account.objects.get(pk=account.pk), unit=unit,
                                        amount=Decimal(amount), reason="test")


def assert_balanced(account):
    account.refresh_from_db()
    for unit, balance in (("credits", account.credits), ("minutes", account.minutes)):
        total = (LedgerEntry.objects.filter(account=account, unit=unit)
                 .aggregate(s=Sum("amount"))["s"] or Decimal("0"))
        assert total == balance, unit


def assert_counters_exact(batch_ids):
    """The campaigns' counters equal what their rows add up to."""
    totals = call_selectors.attempt_totals(batch_ids=batch_ids)
    counts = batch_selectors.job_counts(batch_ids=batch_ids)
    for pk in batch_ids:
        live = CallAttempt.objects.filter(batch_id=pk).aggregate(
            n=Count("id"), live=Count("id", filter=Q(status__in=CallAttempt.LIVE_STATUSES)))
        assert (totals[pk]["attempts"], totals[pk]["in_flight"]) == (live["n"], live["live"])
        for status in Job.Status.values:
            assert counts[pk][status] == Job.objects.filter(batch_id=pk, status=status).count()


@pytest.fixture
def world():
    """Account A (24 months) and B (36 months) with a history of campaigns and ledger."""
    a = AccountFactory(account_id="acct-a")
    b = AccountFactory(account_id="acct-b", record_retention_months=36)
    w = {"a": a, "b": b}
    # A: a campaign finished 30 months ago: everything goes.
    w["old"] = campaign(a, created=months_ago(31), finished=months_ago(30))
    w["old_jobs"] = [job_with_calls(w["old"], [months_ago(30, 5), months_ago(30, 3)]),
                     job_with_calls(w["old"], [months_ago(30, 2)], status=Job.Status.FAILED,
                                    attempt_status=CallAttempt.Status.FAILED)]
    # A: as old but paused (not finished): everything stays.
    w["paused"] = campaign(a, status=Batch.Status.PAUSED, created=months_ago(31))
    job_with_calls(w["paused"], [months_ago(30)], status=Job.Status.PENDING)
    # A: cancelled 20 months ago after 8 months: its old calls go, recent ones and a call
    # still in progress (its hold open) stay, and so does the campaign.
    w["long"] = campaign(a, status=Batch.Status.CANCELLED, created=months_ago(28),
                         finished=months_ago(20))
    w["long_gone"] = job_with_calls(w["long"], [months_ago(27)])
    w["long_mixed"] = job_with_calls(w["long"], [months_ago(27), months_ago(21)])
    w["long_live"] = job_with_calls(w["long"], [None], status=Job.Status.IN_PROGRESS)
    CallAttempt.objects.filter(job=w["long_live"]).update(created_at=months_ago(27),
                                                          updated_at=months_ago(27))
    Job.objects.filter(pk=w["long_live"].pk).update(updated_at=months_ago(27),
                                                    reserved_until=months_ago(27))
    # A: a recent campaign: stays.
    w["recent"] = campaign(a, created=months_ago(3), finished=months_ago(2))
    job_with_calls(w["recent"], [months_ago(2, 10)])
    # B: 30 months old too, but B keeps 36 months.
    w["b_old"] = campaign(b, created=months_ago(31), finished=months_ago(30))
    job_with_calls(w["b_old"], [months_ago(30)])
    # Ledgers: credits on A (and a few minutes), credits on B; 4 of A's are before its cutoff.
    for moment, amount in ((months_ago(32), "1000"), (months_ago(30), "-100"),
                           (months_ago(27), "-250.5"), (months_ago(12), "-50"), (NOW, "10")):
        ledger_at(a, moment, amount)
    ledger_at(a, months_ago(29), "60", unit="minutes")
    ledger_at(a, months_ago(1), "-6", unit="minutes")
    ledger_at(b, months_ago(30), "500")
    ledger_at(b, months_ago(1), "-20")
    return w


def snapshot():
    return {
        "attempts": sorted(CallAttempt.objects.values_list("id", flat=True)),
        "jobs": sorted(Job.objects.values_list("id", flat=True)),
        "job_events": JobEvent.objects.count(),
        "batches": sorted(Batch.objects.values_list("id", flat=True)),
        "batch_events": BatchEvent.objects.count(),
        "ledger": sorted(LedgerEntry.objects.values_list("id", "amount", "created_at")),
        "balances": sorted(Account.objects.values_list("id", "credits", "minutes")),
    }


def purge(**kwargs):
    with time_machine.travel(NOW, tick=False):
        return {r.account_key: r for r in purge_expired_records(**kwargs)}


def test_dry_run_counts_and_changes_nothing(world):
    before = snapshot()
    found = purge(dry_run=True)
    assert snapshot() == before
    assert set(found) == {"acct-a"}
    a = found["acct-a"]
    # old: 3 attempts, 2 jobs, the campaign; long: 2 attempts (27 months), 1 job.
    assert (a.attempts, a.jobs, a.campaigns) == (5, 3, 1)
    credits, minutes = sorted(a.ledger, key=lambda x: x.unit)
    assert (credits.unit, credits.entries, credits.amount) == ("credits", 3, Decimal("649.5"))
    assert (minutes.unit, minutes.entries, minutes.amount) == ("minutes", 1, Decimal("60"))


def test_purge_removes_only_expired_records_of_finished_campaigns(world):
    w = world
    found = purge()
    a = found["acct-a"]
    assert (a.attempts, a.jobs, a.campaigns, a.ledger_entries) == (5, 3, 1, 4)
    assert set(found) == {"acct-a"}
    # The old campaign is gone with its jobs, calls and events.
    assert not Batch.objects.filter(pk=w["old"].pk).exists()
    assert not Job.objects.filter(batch_id=w["old"].pk).exists()
    assert not JobEvent.objects.filter(job_id__in=[j.pk for j in w["old_jobs"]]).exists()
    assert not BatchEvent.objects.filter(batch_id=w["old"].pk).exists()
    # The paused one, the recent one and B's (B keeps 36 months) are whole.
    for key in ("paused", "recent", "b_old"):
        assert CallAttempt.objects.filter(batch=w[key]).count() == 1, key
    # The long one: its old calls and the job left without calls go; the call in progress,
    # the recent call and their jobs stay, so does the campaign.
    assert Batch.objects.filter(pk=w["long"].pk).exists()
    assert not Job.objects.filter(pk=w["long_gone"].pk).exists()
    assert list(CallAttempt.objects.filter(job=w["long_mixed"])
                .values_list("attempt_number", flat=True)) == [2]
    assert CallAttempt.objects.filter(job=w["long_live"]).count() == 1
    assert_counters_exact([w[k].pk for k in ("paused", "long", "recent", "b_old")])


def test_ledger_replaced_by_one_summary_per_unit_balance_unchanged(world):
    a, b = world["a"], world["b"]
    assert_balanced(a)
    assert_balanced(b)
    purge()
    assert_balanced(a)
    assert_balanced(b)
    summary = LedgerEntry.objects.get(account=a, unit="credits",
                                      kind=LedgerEntry.Kind.RETENTION_SUMMARY)
    assert summary.amount == Decimal("649.5")
    assert summary.balance_after == Decimal("649.5")
    assert summary.created_at.date() == months_ago(27).date()
    assert summary.reference == (f"retention:3:{months_ago(32).date().isoformat()}:"
                                 f"{months_ago(27).date().isoformat()}")
    assert "3 entries" in summary.reason
    # The summary is the oldest entry; the later ones are untouched.
    assert list(LedgerEntry.objects.filter(account=a, unit="credits")
                .order_by("created_at", "id").values_list("kind", "amount")) == [
        ("retention_summary", Decimal("649.5")), ("adjustment", Decimal("-50")),
        ("adjustment", Decimal("10"))]
    minutes = LedgerEntry.objects.get(account=a, unit="minutes", kind="retention_summary")
    assert minutes.amount == Decimal("60")
    assert not LedgerEntry.objects.filter(account=b, kind="retention_summary").exists()


def test_second_run_removes_nothing_and_a_later_one_extends_the_summary(world):
    a = world["a"]
    purge()
    before = snapshot()
    assert purge() == {}
    assert purge(dry_run=True) == {}
    assert snapshot() == before
    # 400 days later the -50 of 12 months ago has expired: the same summary takes it.
    later = NOW + timedelta(days=400)
    with time_machine.travel(later, tick=False):
        found = purge_expired_records(account_id=a.pk)
    assert found[0].ledger_entries == 1
    summaries = LedgerEntry.objects.filter(account=a, unit="credits", kind="retention_summary")
    assert [(s.amount, s.reference.split(":")[1]) for s in summaries] == [
        (Decimal("599.5"), "4")]
    assert_balanced(a)


def test_small_batches_give_the_same_result(world):
    found = purge(batch_size=1)
    a = found["acct-a"]
    assert (a.attempts, a.jobs, a.campaigns, a.ledger_entries) == (5, 3, 1, 4)
    assert LedgerEntry.objects.filter(kind="retention_summary").count() == 2
    summary = LedgerEntry.objects.get(account=world["a"], unit="credits",
                                      kind="retention_summary")
    assert (summary.amount, summary.reference.split(":")[1]) == (Decimal("649.5"), "3")
    assert_balanced(world["a"])


def test_a_summary_of_entries_adding_up_to_zero_is_written():
    account = AccountFactory()
    ledger_at(account, months_ago(30), "100")
    ledger_at(account, months_ago(29), "-100")
    purge()
    summary = LedgerEntry.objects.get(account=account, kind="retention_summary")
    assert (summary.amount, summary.balance_after) == (Decimal("0"), Decimal("0"))
    # Only a summary may be zero.
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(account=account, kind="adjustment", unit="credits",
                                   amount=0, balance_after=0, reason="x")


def test_a_recurring_campaign_that_goes_on_keeps_its_runs():
    account = AccountFactory()
    parent = campaign(account, created=months_ago(31), finished=months_ago(30),
                      schedule_type=Batch.ScheduleType.RECURRING)
    Batch.objects.filter(pk=parent.pk).update(next_run_at=NOW + timedelta(days=30))
    run = campaign(account, created=months_ago(30), finished=months_ago(29), parent=parent,
                   run_number=2)
    job_with_calls(parent, [months_ago(30)])
    job_with_calls(run, [months_ago(29)])
    assert purge() == {}
    # Its recurrence ended: the runs go, then the campaign itself.
    Batch.objects.filter(pk=parent.pk).update(next_run_at=None)
    found = purge()
    assert (found[account.account_id].attempts, found[account.account_id].campaigns) == (2, 2)
    assert not Batch.objects.filter(account=account).exists()


def test_retention_period_is_24_to_120_months():
    account = AccountFactory()
    assert account.record_retention_months == 24
    account.record_retention_months = 12
    with pytest.raises(ValidationError) as raised:
        account.full_clean()
    assert "record_retention_months" in raised.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(record_retention_months=0)


def test_command_dry_run_and_real_run_print_what_they_do(world):
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("purge_expired_records", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "acct-a" in text and "would remove 5 call attempts, 3 jobs, 1 campaigns" in text
    assert "ledger credits: 3 entries (+649.5000)" in text
    assert "acct-b" not in text
    assert CallAttempt.objects.count() == 10
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("purge_expired_records", "--account", "acct-a", "--batch-size", "2",
                     stdout=out)
    assert "Removed 5 call attempts, 3 jobs, 1 campaigns and 4 ledger entries" in out.getvalue()
    assert CallAttempt.objects.count() == 5


def test_beat_task_is_installed_daily():
    periodic_tasks_install()
    periodic_tasks_install()
    task = PeriodicTask.objects.get(name=RETENTION_TASK_NAME)
    assert task.task == "calls.tasks.purge_expired_records"
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone)) == (
        "3", "30", "UTC")


def test_one_purge_at_a_time_and_the_task_reports_it(world):
    import psycopg

    from calls.queries import RETENTION_LOCK_KEY
    from calls.retention import PurgeRunning
    from calls.tasks import purge_expired_records as task

    settings = connection.settings_dict
    other = psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432,
                            user=settings["USER"], password=settings["PASSWORD"] or None,
                            dbname=settings["NAME"], autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [RETENTION_LOCK_KEY])
        with pytest.raises(PurgeRunning):
            purge()
        assert task() == {"skipped": True}
        assert purge(dry_run=True)  # a dry run changes nothing: it does not wait
        other.execute("SELECT pg_advisory_unlock(%s)", [RETENTION_LOCK_KEY])
    finally:
        other.close()
    with time_machine.travel(NOW, tick=False):
        assert task() == {"uploads": 0, "accounts": 1, "attempts": 5, "jobs": 3, "campaigns": 1,
                          "ledger_entries": 4}
