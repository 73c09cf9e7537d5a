from decimal import Decimal

from accounts import services
from accounts.models import LedgerEntry


def test_topup_is_recorded_in_ledger(account_a):
    services.account_topup(account=account_a, credits=Decimal("100"), reference="ref-1")
    account_a.refresh_from_db()
    assert account_a.credits == Decimal("100")
    entry = LedgerEntry.objects.get(account=account_a)
    assert entry.balance_after == Decimal("100")
    assert entry.reference == "ref-1"
