"""Reads for accounts: who sees which account, balances and statistics."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.utils import timezone

from batches.models import Batch, Job
from calls.db import cursor, placeholders
from calls.models import CallAttempt

from .models import Account, ApiToken, DoNotCall, LedgerEntry
from .permissions import can_view


def accounts_visible_to(user):
    """Operators allowed to view accounts see every one; a client user only their own."""
    queryset = Account.objects.all()
    if can_view(user, Account):
        return queryset
    if user.is_staff or user.account_id is None:
        return queryset.none()
    return queryset.filter(pk=user.account_id)


# --- Balance and statistics -----------------------------------------------------------------

ZERO = Decimal("0")
TWO_PLACES = Decimal("0.01")
SPEND_WINDOW_DAYS = 30
MAX_DEPLETION_DAYS = 36_500  # beyond a century the estimate means nothing; cap it


def month_bounds(*, tz_name: str, now: datetime) -> tuple[datetime, datetime]:
    """The first instant of the current month and of the next, in the zone ``tz_name``."""
    tz = ZoneInfo(tz_name)
    local = now.astimezone(tz)
    start = datetime(local.year, local.month, 1, tzinfo=tz)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return start, datetime(year, month, 1, tzinfo=tz)


def _sum(value) -> Decimal:
    return value if value is not None else ZERO


def _plan_unit(account: Account) -> str | None:
    return {
        Account.Plan.CREDIT: LedgerEntry.Unit.CREDITS,
        Account.Plan.MINUTES: LedgerEntry.Unit.MINUTES,
    }.get(account.plan_type)


def account_balance_summary(*, account: Account, now: datetime | None = None) -> dict:
    """The balance, this month's usage and when the balance will run out at the recent rate.

    Months are calendar months in the account's time zone. Usage is what settlements charged
    (holds and their releases cancel out); ``total_cost`` is the credits value of the calls that
    ended this month, whatever the plan. The depletion date divides the plan unit's balance by
    the average daily charge of the last 30 days; it is None for unlimited plans and when
    nothing was charged.
    """
    now = now or timezone.now()
    month_start, next_month = month_bounds(tz_name=account.timezone, now=now)
    window_start = now - timedelta(days=SPEND_WINDOW_DAYS)
    settlements = LedgerEntry.objects.filter(
        account=account,
        kind=LedgerEntry.Kind.SETTLEMENT,
        created_at__gte=min(month_start, window_start),
    )
    this_month = Q(created_at__gte=month_start, created_at__lt=next_month)
    recent = Q(created_at__gte=window_start, created_at__lte=now)
    usage = settlements.aggregate(
        credits_month=Sum("amount", filter=this_month & Q(unit=LedgerEntry.Unit.CREDITS)),
        minutes_month=Sum("amount", filter=this_month & Q(unit=LedgerEntry.Unit.MINUTES)),
        credits_recent=Sum("amount", filter=recent & Q(unit=LedgerEntry.Unit.CREDITS)),
        minutes_recent=Sum("amount", filter=recent & Q(unit=LedgerEntry.Unit.MINUTES)),
    )
    total_cost = _sum(
        CallAttempt.objects.filter(
            account=account, ended_at__gte=month_start, ended_at__lt=next_month
        ).aggregate(total=Sum("cost"))["total"]
    )

    depletion = None
    unit = _plan_unit(account)
    if unit is not None:
        spent = -_sum(usage[f"{unit}_recent"])
        if spent > 0:
            # balance / (spent / window), multiplied first so that it stays exact
            days = min(int(getattr(account, unit) * SPEND_WINDOW_DAYS / spent), MAX_DEPLETION_DAYS)
            depletion = now.astimezone(ZoneInfo(account.timezone)).date() + timedelta(days=days)

    return {
        "current_balance": {
            "credits": account.credits,
            "minutes": account.minutes,
            "total_spent": account.total_spent,
        },
        "usage_this_month": {
            "credits_used": -_sum(usage["credits_month"]),
            "minutes_used": -_sum(usage["minutes_month"]),
            "total_cost": total_cost,
        },
        "estimated_depletion_date": depletion,
    }


def account_stats(*, account: Account, now: datetime | None = None) -> dict:
    """Campaign counters of an account, with one aggregate query per table.

    ``active_batches``: pending or running and not paused; ``completed_jobs``: jobs that will
    not be called again (done or failed); ``success_rate``: the percentage of completed jobs
    that reached the debtor (done), 0 when none is completed.
    """
    now = now or timezone.now()
    month_start, next_month = month_bounds(tz_name=account.timezone, now=now)
    batches = Batch.objects.filter(account=account).aggregate(
        total=Count("id"),
        active=Count(
            "id",
            filter=Q(is_active=True, status__in=[Batch.Status.PENDING, Batch.Status.RUNNING]),
        ),
    )
    jobs = Job.objects.filter(account=account).aggregate(
        total=Count("id"),
        done=Count("id", filter=Q(status=Job.Status.DONE)),
        failed=Count("id", filter=Q(status=Job.Status.FAILED)),
    )
    cost = CallAttempt.objects.filter(
        account=account, ended_at__gte=month_start, ended_at__lt=next_month
    ).aggregate(total=Sum("cost"))["total"]
    completed = jobs["done"] + jobs["failed"]
    rate = Decimal(jobs["done"] * 100) / completed if completed else ZERO
    return {
        "total_batches": batches["total"],
        "active_batches": batches["active"],
        "total_jobs": jobs["total"],
        "completed_jobs": completed,
        "success_rate": rate.quantize(TWO_PLACES),
        "total_cost_this_month": _sum(cost),
    }


def suppressed_for(*, account_id: int, rut: str, phones: list[str]) -> tuple[bool, set[str]]:
    """One query: (is the RUT on the do-not-call list, which of ``phones`` are). Every dial
    runs it, so it is written out (see calls.db)."""
    match, params = [], [account_id]
    if rut:
        match.append("rut = %s")
        params.append(rut)
    if phones:
        match.append(f"phone IN ({placeholders(phones)})")
        params.extend(phones)
    if not match:
        return False, set()
    with cursor() as db:
        db.execute(f"SELECT phone, rut FROM {DoNotCall._meta.db_table} "
                   f"WHERE account_id = %s AND ({' OR '.join(match)})", params)
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
