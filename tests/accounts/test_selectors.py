"""Account reads: visibility, month boundaries in the account's zone, aggregate queries."""

from datetime import UTC, datetime

import pytest

from accounts import selectors
from tests.factories import UserFactory


def test_visibility(operator, client_a, client_b, account_a, account_b):
    assert set(selectors.accounts_visible_to(operator)) == {account_a, account_b}
    assert list(selectors.accounts_visible_to(client_a)) == [account_a]
    assert list(selectors.accounts_visible_to(client_b)) == [account_b]
    assert not selectors.accounts_visible_to(UserFactory(account=None)).exists()


@pytest.mark.parametrize(
    ("tz_name", "now", "start", "end"),
    [
        # Santiago in summer (UTC-3), the last hour of February locally.
        (
            "America/Santiago",
            datetime(2025, 3, 1, 2, 30, tzinfo=UTC),
            datetime(2025, 2, 1, 3, tzinfo=UTC),
            datetime(2025, 3, 1, 3, tzinfo=UTC),
        ),
        # Santiago's clocks go back on April 6 2025: April starts at UTC-3, May at UTC-4.
        (
            "America/Santiago",
            datetime(2025, 4, 15, tzinfo=UTC),
            datetime(2025, 4, 1, 3, tzinfo=UTC),
            datetime(2025, 5, 1, 4, tzinfo=UTC),
        ),
        # December rolls over into the next year.
        (
            "UTC",
            datetime(2025, 12, 31, 23, 59, tzinfo=UTC),
            datetime(2025, 12, 1, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
        ),
    ],
)
def test_month_bounds_in_the_accounts_zone(tz_name, now, start, end):
    assert selectors.month_bounds(tz_name=tz_name, now=now) == (start, end)
