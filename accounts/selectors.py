"""Reads for accounts: who sees which account, month boundaries, the do-not-call list, API
tokens, what the retention policy would replace of the ledger. Balances and statistics, which
read campaigns and calls, are ``calls.selectors``."""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum

from callcenter.db import cursor, db_datetime

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


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` minus whole calendar months (the 31st of a shorter month: its last day)."""
    month = moment.month - 1 - months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def retention_cutoff(*, account: Account, now: datetime) -> datetime:
    """The instant before which the account's records have expired (its retention period)."""
    return months_before(now, account.record_retention_months)


@dataclass(frozen=True)
class LedgerExpiry:
    """The ledger entries of one unit that retention would replace, and the summary after."""

    unit: str
    entries: int  # entries to remove (the existing summary, if any, not counted)
    amount: Decimal  # their sum
    since: date  # the first day the summary will stand for
    until: date  # the last
    summarised: int  # entries the summary will stand for (the existing summary's included)
    summary_amount: Decimal


def retention_summary_of(*, account_id: int, unit: str, cutoff: datetime) -> LedgerEntry | None:
    """The account's retention summary entry of this unit, if any: always its oldest entry
    (it stands for a prefix of the ledger), so the index on (account, unit, created_at) finds
    it in a step once it exists."""
    return (LedgerEntry.objects
            .filter(account_id=account_id, unit=unit, created_at__lt=cutoff,
                    kind=LedgerEntry.Kind.RETENTION_SUMMARY)
            .order_by("created_at", "id").first())


def summary_reference(*, count: int, since: date, until: date) -> str:
    """A summary's reference: ``retention:<entries>:<first day>:<last day>``."""
    return f"retention:{count}:{since.isoformat()}:{until.isoformat()}"


def summary_reference_parse(reference: str) -> tuple[int, date]:
    """(entries summarised, first day) of a summary's reference."""
    _prefix, count, since, _until = reference.split(":")
    return int(count), date.fromisoformat(since)


def ledger_expired(*, account_id: int, cutoff: datetime) -> list[LedgerExpiry]:
    """Per unit, what retention would do to the ledger (changes nothing)."""
    found = []
    rows = (LedgerEntry.objects
            .filter(account_id=account_id, created_at__lt=cutoff)
            .exclude(kind=LedgerEntry.Kind.RETENTION_SUMMARY)
            .values("unit").order_by("unit")
            .annotate(n=Count("id"), total=Sum("amount"), first=Min("created_at"),
                      last=Max("created_at")))
    for row in rows:
        summary = retention_summary_of(account_id=account_id, unit=row["unit"], cutoff=cutoff)
        before, since = (0, row["first"].date()) if summary is None else (
            summary_reference_parse(summary.reference))
        found.append(LedgerExpiry(
            unit=row["unit"], entries=row["n"], amount=row["total"], since=since,
            until=row["last"].date(), summarised=before + row["n"],
            summary_amount=row["total"] + (summary.amount if summary else Decimal("0"))))
    return found
