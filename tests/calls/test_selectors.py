"""Reads across the layers (``calls.selectors``): an account's statistics and balance."""

from calls import selectors
from tests.factories import BatchFactory, JobFactory


def test_stats_and_balance_use_a_fixed_number_of_queries(account_a, django_assert_num_queries):
    for _ in range(3):
        batch = BatchFactory(account=account_a)
        for status in ("done", "failed", "pending"):
            JobFactory(batch=batch, status=status)
    with django_assert_num_queries(3):
        stats = selectors.account_stats(account=account_a)
    assert (stats["total_jobs"], stats["completed_jobs"]) == (9, 6)
    with django_assert_num_queries(2):
        selectors.account_balance_summary(account=account_a)


def test_balance_usage_from_the_hourly_sums_is_what_the_ledger_adds_up_to(account_a):
    """The balance's usage this month and over 30 days, from the hourly sums the database
    keeps plus the ranges' partial hours, equals the ORM's sum over every settlement, at
    the ranges' edges too."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from accounts.models import LedgerEntry
    from callcenter.db import orm_only

    now = datetime(2026, 12, 4, 19, 47, 13, tzinfo=UTC)
    account_a.timezone = "America/Santiago"  # the month starts 2026-12-01 03:00 UTC
    moments = [now - timedelta(days=30, seconds=1), now - timedelta(days=30),
               now - timedelta(days=30) + timedelta(minutes=20),
               datetime(2026, 12, 1, 2, 59, 59, tzinfo=UTC), datetime(2026, 12, 1, 3, tzinfo=UTC),
               datetime(2026, 12, 2, 10, 30, tzinfo=UTC), now - timedelta(minutes=5), now,
               now + timedelta(seconds=1)]
    for n, at in enumerate(moments):
        for unit in (LedgerEntry.Unit.CREDITS, LedgerEntry.Unit.MINUTES):
            entry = LedgerEntry.objects.create(
                account=account_a, kind=LedgerEntry.Kind.SETTLEMENT, unit=unit,
                amount=-Decimal(n + 1) / 4, balance_after=Decimal(100), reason="call")
            LedgerEntry.objects.filter(pk=entry.pk).update(created_at=at)
    LedgerEntry.objects.create(account=account_a, kind=LedgerEntry.Kind.TOPUP,
                               unit=LedgerEntry.Unit.CREDITS, amount=Decimal(50),
                               balance_after=Decimal(150), reason="top-up")
    written = selectors.account_balance_summary(account=account_a, now=now)
    with orm_only():
        orm = selectors.account_balance_summary(account=account_a, now=now)
    assert written == orm
    assert written["usage_this_month"]["credits_used"] == Decimal("8.75")  # the last five


def test_dashboard_from_the_hourly_sums_is_what_the_scan_counts(account_a, account_b):
    """The dashboard's figures and calls per day from the hourly sums the database keeps
    (migration calls 0006) equal the scan of the attempts, for an account and for all, after
    inserts, updates (a call placed, ended and settled) and a delete."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from callcenter.db import orm_only
    from calls import dashboard
    from calls.models import CallAttempt
    from tests.factories import BatchFactory, JobFactory

    now = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)
    rows = []
    for n, account in enumerate([account_a, account_a, account_b, account_a, account_b]):
        job = JobFactory(batch=BatchFactory(account=account))
        rows.append(CallAttempt.objects.create(
            job=job, batch=job.batch, account=account, rut=job.rut, attempt_number=1,
            phone="+56912345671", idempotency_key=f"k{n}"))
    moments = [now - timedelta(hours=2), now - timedelta(days=3, minutes=7),
               now - timedelta(days=20), now - timedelta(minutes=1), now - timedelta(days=40)]
    for n, (attempt, at) in enumerate(zip(rows, moments, strict=True)):
        CallAttempt.objects.filter(pk=attempt.pk).update(
            created_at=at, status=CallAttempt.Status.REGISTERED, started_at=at)
        if n != 3:  # the fourth call is still live
            outcome = CallAttempt.Outcome.CONTACT if n % 2 else CallAttempt.Outcome.NO_CONTACT
            CallAttempt.objects.filter(pk=attempt.pk).update(
                status=CallAttempt.Status.ENDED, outcome=outcome,
                ended_at=at + timedelta(minutes=3), settled_at=at + timedelta(minutes=3),
                cost=Decimal("12.5") * (n + 1))
    extra = CallAttempt.objects.create(
        job=rows[0].job, batch=rows[0].batch, account=account_a, rut=rows[0].rut,
        attempt_number=2, phone="+56912345671", idempotency_key="gone", started_at=now,
        status=CallAttempt.Status.ENDED, outcome="contact", ended_at=now, settled_at=now,
        cost=Decimal(3))
    extra.delete()
    for tz in (ZoneInfo("America/Santiago"), ZoneInfo("UTC")):
        for account_id in (None, account_a.pk, account_b.pk):
            hourly = dashboard.dashboard_data(now=now, account_id=account_id, tz=tz)
            with orm_only():
                scanned = dashboard.dashboard_data(now=now, account_id=account_id, tz=tz)
            assert hourly == scanned
    figures = dashboard.dashboard_data(now=now, tz=ZoneInfo("America/Santiago"))
    assert (figures["calls_today"], figures["in_flight"], figures["dialled_today"]) == (2, 1, 1)


def test_month_cost_from_the_hourly_sums_is_what_the_calls_add_up_to(account_a):
    """The cost of the calls ended this month (balance, stats), from the hourly sums, equals
    the sum over the calls, at the month's edges too (Santiago: 2026-12-01 03:00 UTC)."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from callcenter.db import orm_only
    from calls.models import CallAttempt
    from tests.factories import BatchFactory, JobFactory

    account_a.timezone = "America/Santiago"
    now = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)
    start = datetime(2026, 12, 1, 3, tzinfo=UTC)
    job = JobFactory(batch=BatchFactory(account=account_a))
    for n, ended in enumerate([start - timedelta(seconds=1), start, start + timedelta(hours=50),
                               now, None]):
        attempt = CallAttempt.objects.create(
            job=job, batch=job.batch, account=account_a, rut=job.rut, attempt_number=n + 1,
            phone="+56912345671", idempotency_key=f"m{n}")
        CallAttempt.objects.filter(pk=attempt.pk).update(
            ended_at=ended, cost=Decimal("1.25") * (n + 1), status="ended", outcome="no_contact")
    written = (selectors.account_balance_summary(account=account_a, now=now),
               selectors.account_stats(account=account_a, now=now))
    with orm_only():
        orm = (selectors.account_balance_summary(account=account_a, now=now),
               selectors.account_stats(account=account_a, now=now))
    assert written == orm
    assert written[1]["total_cost_this_month"] == Decimal("11.25")  # the 2nd to 4th calls
