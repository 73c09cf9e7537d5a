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
