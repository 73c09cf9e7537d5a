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
