"""Reads across the layers: an account's balance and statistics, a campaign's progress and its
jobs with their calls. They read calls, so they live with the engine; the API views and the
admin of ``accounts`` and ``batches`` call them."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Min, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Account, LedgerEntry
from accounts.selectors import month_bounds, settled_in
from batches.models import Batch, Job
from batches.selectors import account_job_counts, job_counts, job_search_q
from callcenter.db import written_sql
from calls.models import CallAttempt
from calls.queries import ATTEMPT_TOTALS_SQL, ENDED_COST_SQL

ZERO = Decimal("0")
TWO_PLACES = Decimal("0.01")
SPEND_WINDOW_DAYS = 30
MAX_DEPLETION_DAYS = 36_500  # beyond a century the estimate means nothing; cap it
DONE_STATUSES = (Job.Status.DONE, Job.Status.FAILED, Job.Status.CANCELLED)
ATTEMPT_FIELDS = (
    "id",
    "job_id",
    "attempt_number",
    "phone",
    "call_id",
    "status",
    "outcome",
    "disconnection_reason",
    "duration_seconds",
    "cost",
    "started_at",
    "ended_at",
    "created_at",
)


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
    the average daily charge of the last 30 days, as the start of that day in the account's
    time zone; it is None for unlimited plans and when nothing was charged.
    """
    now = now or timezone.now()
    month_start, next_month = month_bounds(tz_name=account.timezone, now=now)
    window_start = now - timedelta(days=SPEND_WINDOW_DAYS)
    if written_sql():
        # The hourly sums the database keeps (a few hundred rows), not every settlement of
        # 30 days (hundreds of thousands for a big account). "recent" ends at now inclusive.
        sums = settled_in(account_id=account.pk, first=(month_start, next_month),
                          second=(window_start, now + timedelta(microseconds=1)))
        usage = {}
        for unit in (LedgerEntry.Unit.CREDITS, LedgerEntry.Unit.MINUTES):
            month_sum, recent_sum = sums.get(unit, (None, None))
            usage[f"{unit}_month"], usage[f"{unit}_recent"] = month_sum, recent_sum
    else:
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
    total_cost = month_cost(account=account, start=month_start, end=next_month)

    depletion = None
    unit = _plan_unit(account)
    if unit is not None:
        spent = -_sum(usage[f"{unit}_recent"])
        if spent > 0:
            # balance / (spent / window), multiplied first so that it stays exact
            days = min(int(getattr(account, unit) * SPEND_WINDOW_DAYS / spent), MAX_DEPLETION_DAYS)
            zone = ZoneInfo(account.timezone)
            day = now.astimezone(zone).date() + timedelta(days=days)
            depletion = datetime.combine(day, time(0), tzinfo=zone)

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


def month_cost(*, account: Account, start: datetime, end: datetime) -> Decimal:
    """The cost of the account's calls that ended in [start, end): on PostgreSQL, when both
    are whole hours of UTC (every zone of the profiles), from the hourly sums the database
    keeps (calls 0006: a few hundred rows); else from the calls (attempt_account_ended_idx)."""
    if written_sql() and all(t.utcoffset().total_seconds() % 3600 == 0 for t in (start, end)):
        with connection.cursor() as cursor:
            cursor.execute(ENDED_COST_SQL, {"account": account.pk, "start": start,
                                            "end": end})
            return cursor.fetchone()[0]
    return _sum(
        CallAttempt.objects.filter(account=account, ended_at__gte=start, ended_at__lt=end)
        .aggregate(total=Sum("cost"))["total"]
    )


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
    # From the counters the database keeps per batch, not a count over the account's jobs.
    counts = account_job_counts(account_id=account.pk)
    jobs = {"total": sum(counts.values()), "done": counts[Job.Status.DONE],
            "failed": counts[Job.Status.FAILED]}
    cost = month_cost(account=account, start=month_start, end=next_month)
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


def batch_status(*, batch: Batch) -> dict:
    """Progress of a batch in three indexed queries, whatever its size.

    Job counts and call figures come from the counters the database keeps (``job_counts``,
    ``attempt_totals``); the next attempt is the first
    ``next_try_at`` of the partial index on pending jobs (one index probe).
    """
    counts = job_counts(batch_ids=[batch.pk])[batch.pk]
    total = sum(counts.values())
    finished = sum(counts[s] for s in DONE_STATUSES)
    attempts = attempt_totals(batch_ids=[batch.pk])[batch.pk]
    next_attempt = None
    if batch.is_active and counts[Job.Status.PENDING]:
        next_attempt = Job.objects.filter(batch=batch, status=Job.Status.PENDING).aggregate(
            first=Min("next_try_at")
        )["first"]
        if batch.scheduled_at and (next_attempt is None or next_attempt < batch.scheduled_at):
            next_attempt = batch.scheduled_at
        # Due jobs waiting for a free call slot: the next attempt is now, not in the past.
        now = timezone.now()
        if next_attempt is None or next_attempt < now:
            next_attempt = now
    return {
        "batch_id": batch.batch_id,
        "status": batch.status,
        "is_active": batch.is_active,
        "total_jobs": total,
        "counts": counts,
        "progress_percent": round(100 * finished / total, 2) if total else 0.0,
        "calls_in_flight": attempts["in_flight"],
        "attempts_made": attempts["attempts"],
        "contacted": attempts["contacted"],
        "cost_so_far": attempts["cost"],
        "next_attempt_at": next_attempt,
    }


def attempt_totals(*, batch_ids: list[int]) -> dict[int, dict]:
    """{batch pk: {attempts, in_flight, contacted, seconds, cost, minutes}} for these batches.
    On PostgreSQL from the counters the database keeps (a few rows per batch, whatever the
    number of attempts); elsewhere (the small SQLite demo) added up live. ``minutes`` is the
    talk time, seconds / 60 to two places."""
    if not batch_ids:
        return {}
    if written_sql():
        with connection.cursor() as cursor:
            cursor.execute(ATTEMPT_TOTALS_SQL, [batch_ids, batch_ids])
            rows = cursor.fetchall()
    else:
        rows = (
            CallAttempt.objects.filter(batch_id__in=batch_ids)
            .order_by()
            .values("batch_id")
            .annotate(
                made=Count("id"),
                live=Count("id", filter=Q(status__in=CallAttempt.LIVE_STATUSES)),
                contact=Count("id", filter=Q(outcome=CallAttempt.Outcome.CONTACT)),
                talk=Sum("duration_seconds"),
                spent=Sum("cost"),
            )
            .values_list("batch_id", "made", "live", "contact", "talk", "spent")
        )
    totals = {pk: _attempt_figures(0, 0, 0, 0, ZERO) for pk in batch_ids}
    for batch_pk, made, live, contact, talk, spent in rows:
        totals[batch_pk] = _attempt_figures(made, live, contact, talk or 0, _sum(spent))
    return totals


def _attempt_figures(made, live, contact, seconds, cost) -> dict:
    return {
        "attempts": int(made),
        "in_flight": int(live),
        "contacted": int(contact),
        "seconds": int(seconds),
        "minutes": (Decimal(int(seconds)) / 60).quantize(TWO_PLACES),
        "cost": Decimal(cost).quantize(Decimal("0.0001")),
    }


def job_list(
    *, batch: Batch, status: str | None = None, search: str | None = None
) -> QuerySet[Job]:
    """The batch's jobs in id order, each with its call attempts prefetched (one query per
    page, not per job); ``search``: see ``batches.selectors.job_search_q``."""
    queryset = Job.objects.filter(batch=batch)
    if status:
        queryset = queryset.filter(status=status)
    condition = job_search_q(search or "")
    if condition is not None:
        queryset = queryset.filter(condition)
    attempts = CallAttempt.objects.only(*ATTEMPT_FIELDS).order_by("attempt_number", "id")
    return queryset.order_by("id").prefetch_related(Prefetch("call_attempts", queryset=attempts))
