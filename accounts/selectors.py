"""Reads for accounts: who sees which account, month boundaries, the do-not-call list and
API tokens. Balances and statistics, which read campaigns and calls, are ``calls.selectors``."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection

from callcenter.db import cursor, db_datetime

from . import queries
from .models import Account, ApiToken
from .permissions import can_view


def accounts_visible_to(user):
    """Operators allowed to view accounts see every one; a client user only their own."""
    queryset = Account.objects.all()
    if can_view(user, Account):
        return queryset
    if user.is_staff or user.account_id is None:
        return queryset.none()
    return queryset.filter(pk=user.account_id)


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


HOUR = timedelta(hours=1)


def _hour_floor(value: datetime) -> datetime:
    return value - timedelta(minutes=value.minute, seconds=value.second,
                             microseconds=value.microsecond)


def settled_in(*, account_id: int, first: tuple[datetime, datetime],
               second: tuple[datetime, datetime]) -> dict[str, tuple[Decimal, Decimal]]:
    """PostgreSQL: {unit: (charged in ``first``, charged in ``second``)} by the account's
    settlements (negative amounts), each range [start, end). One query over the hourly sums
    the database keeps and the ledger entries of the ranges' partial hours."""
    params = {"account": account_id}
    for name, (start, end) in (("first", first), ("second", second)):
        floor_start = _hour_floor(start)
        ceil_start = floor_start if floor_start == start else floor_start + HOUR
        params.update({f"{name}_a": db_datetime(start), f"{name}_b": db_datetime(end),
                       f"{name}_ca": db_datetime(ceil_start),
                       f"{name}_fb": db_datetime(_hour_floor(end))})
    params["lo"] = min(params["first_ca"], params["second_ca"])
    params["hi"] = max(params["first_fb"], params["second_fb"])
    # Django's own cursor, not the preparing one: planned for these ranges at every call (the
    # generic plan of a prepared statement, chosen after five runs, reads every settlement).
    with connection.cursor() as db:
        db.execute(queries.SETTLED_SQL, params)
        return {unit: (first_sum, second_sum) for unit, first_sum, second_sum in db.fetchall()}


def api_token_for_key(*, key: str) -> ApiToken | None:
    """The token whose key this is (found by its digest), with its user."""
    return ApiToken.objects.select_related("user").filter(digest=ApiToken.digest_of(key)).first()
