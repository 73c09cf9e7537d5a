"""Reads for accounts: who sees which account, month boundaries, the do-not-call list and
API tokens. Balances and statistics, which read campaigns and calls, are ``calls.selectors``."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Q

from callcenter.db import cursor

from . import queries
from .models import Account, ApiToken, LedgerEntry
from .permissions import can_view


def accounts_visible_to(user):
    """Operators allowed to view accounts see every one; a client user only their own."""
    queryset = Account.objects.all()
    if can_view(user, Account):
        return queryset
    if user.is_staff or user.account_id is None:
        return queryset.none()
    return queryset.filter(pk=user.account_id)


def accounts_search(queryset, *, text: str):
    """The accounts of ``queryset`` whose name or id contains ``text`` (any case), by name."""
    text = text.strip()
    if text:
        queryset = queryset.filter(Q(account_name__icontains=text) | Q(account_id__icontains=text))
    return queryset.order_by("account_name", "pk")


def ledger_of(*, account: Account):
    """The account's ledger entries, the newest first."""
    return LedgerEntry.objects.filter(account=account).order_by("-created_at", "-id")


def month_bounds(*, tz_name: str, now: datetime) -> tuple[datetime, datetime]:
    """The first instant of the current month and of the next, in the zone ``tz_name``."""
    tz = ZoneInfo(tz_name)
    local = now.astimezone(tz)
    start = datetime(local.year, local.month, 1, tzinfo=tz)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return start, datetime(year, month, 1, tzinfo=tz)


def suppressed_for(*, account_id: int, rut: str, phones: list[str]) -> tuple[bool, set[str]]:
    """One query: (is the RUT on the do-not-call list, which of ``phones`` are)."""
    if not rut and not phones:
        return False, set()
    with cursor() as db:
        db.execute(queries.do_not_call_sql(rut=bool(rut), phones=len(phones)),
                   [account_id, *([rut] if rut else []), *phones])
        rows = db.fetchall()
    rut_blocked, blocked = False, set()
    for phone, listed_rut in rows:
        rut_blocked = rut_blocked or (bool(rut) and listed_rut == rut)
        if phone:
            blocked.add(phone)
    return rut_blocked, blocked


def api_token_for_key(*, key: str) -> ApiToken | None:
    """The token whose key this is (found by its digest), with its user."""
    return ApiToken.objects.select_related("user").filter(digest=ApiToken.digest_of(key)).first()
