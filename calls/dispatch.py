"""Publishing process_job nudges: only as many as an account can start now.

The database is the source of truth. A job whose message is in flight carries
``enqueued_until``; when that passes without the job being claimed (the message was lost), the
next dispatch publishes it again. Duplicates are harmless: process_job claims atomically.

The sweep looks one period ahead: a job that comes due before the next sweep (a calling window
opening at 08:00, a retry's delay ending) is published now with a countdown to its due time, so
it is dialled on the second instead of up to a sweep period late.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Account
from accounts.services import can_cover, hold_for_call
from batches.call_settings import CallSettings
from batches.models import BatchEvent, Job
from batches.windows import (
    WindowError,
    campaign_window,
    is_allowed,
    next_allowed,
)
from callcenter.db import cursor, db_datetime, json_document, written_sql
from calls import queries

logger = logging.getLogger(__name__)


def enqueue_ttl() -> timedelta:
    """How long a published message is trusted before its job is published again."""
    return timedelta(seconds=settings.CALLS_ENQUEUE_TTL_SECONDS)


def _window_opens(call_settings: dict, profile: str, now, due_by):
    """When the campaign's window (``campaign_window``: open when some number of it may be
    dialled) is open between ``now`` and ``due_by``: ``now`` if it is open now, the instant
    it opens if that comes first, else None. Each job's own number is checked exactly by
    process_job."""
    try:
        window = campaign_window(call_settings=call_settings, profile=profile)
        opens = next_allowed(window, now)
    except WindowError:
        return now  # let process_job record the configuration error on the job
    if opens == now:
        return now
    if due_by <= now or not is_allowed(window, due_by):
        return None  # (a window shorter than a sweep period waits for a sweep inside it)
    return opens


@dataclass
class Budget:
    jobs: int  # free call slots plus lookahead, minus jobs being worked on or already nudged
    account: Account | None  # its slots, profile, plan, prices and balances (others deferred)
    # Its running campaigns that are due, [(id, call_settings)] by priority, when read with
    # the budget (PostgreSQL); else None (read by _nudge_due_jobs).
    batches: list | None = None


def dispatch_budget(*, account_id: int, now) -> Budget:
    """What this account may start now. Zero jobs when the account is not active."""
    with_batches = written_sql()
    with cursor() as db:
        db.execute(queries.budget_sql(with_batches=with_batches),
                   {"account": account_id, "now": db_datetime(now)})
        row = db.fetchone()
    if row is None:
        return Budget(0, None)
    busy, nudged = row[:2]
    batches = [tuple(batch) for batch in json_document(row[2])] if with_batches else None
    account = queries.BUDGET_ACCOUNT.build(row[3 if with_batches else 2:])
    return Budget(account.max_concurrent_calls + settings.CALLS_DISPATCH_LOOKAHEAD - busy
                  - nudged, account, batches)


def _can_pay_a_call(account: Account, call_settings: dict) -> bool:
    """Whether the balance covers the hold of one call of this campaign. Jobs that could not
    start are not published (they would only be claimed and handed back at every sweep);
    process_job decides exactly, under the account's lock."""
    try:
        max_duration = CallSettings.from_json(call_settings).max_call_duration
    except (TypeError, ValueError):
        return True  # let process_job record the configuration error on the job
    return can_cover(account=account,
                     hold=hold_for_call(account=account, max_call_duration=max_duration))


def _note_waiting_for_balance(batch_pk: int) -> None:
    """Say once, on the campaign, why its due jobs are not dialled (until its next event)."""
    latest = (BatchEvent.objects.filter(batch_id=batch_pk).order_by("-created_at", "-id")
              .values_list("kind", flat=True).first())
    if latest != BatchEvent.Kind.WAITING_BALANCE:
        BatchEvent.objects.create(batch_id=batch_pk, kind=BatchEvent.Kind.WAITING_BALANCE)


def _due_jobs(db, *, batch_pk: int, limit: int, now, due_by) -> list[tuple]:
    """Up to ``limit`` (id, next_try_at) of the batch's jobs due by ``due_by`` and not
    already nudged (read only)."""
    db.execute(queries.DUE_SQL, {
        "batch": batch_pk, "now": db_datetime(now), "due_by": db_datetime(due_by),
        "limit": limit})
    return db.fetchall()


def _nudge_batch(db, *, batch_pk: int, limit: int, now, due_by) -> list[tuple]:
    """Mark up to ``limit`` jobs of the batch due by ``due_by`` as nudged (enqueued_until);
    their (id, next_try_at)."""
    until = due_by + enqueue_ttl()
    if written_sql():
        db.execute(queries.NUDGE_SQL, {
            "batch": batch_pk, "now": db_datetime(now), "due_by": db_datetime(due_by),
            "limit": limit, "until": db_datetime(until)})
        return sorted(db.fetchall())
    # SQLite writes one transaction at a time: the due jobs are read, then marked.
    rows = list(
        Job.objects.filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=due_by),
                           Q(enqueued_until__isnull=True) | Q(enqueued_until__lte=now),
                           batch_id=batch_pk, status=Job.Status.PENDING)
        .order_by(F("next_try_at").asc(nulls_last=True), "id")
        .values_list("id", "next_try_at")[:limit])
    Job.objects.filter(pk__in=[pk for pk, _ in rows]).update(enqueued_until=until)
    return rows


def _nudge_due_jobs(*, budget: Budget, now, due_by) -> dict[int, object]:
    """Mark up to ``budget.jobs`` jobs due by ``due_by`` as nudged, highest batch priority
    first, oldest first. Returns {job id: when it may start} (``now`` for jobs due now)."""
    starts: dict[int, object] = {}
    with cursor() as db:
        batches = budget.batches
        if batches is None:
            db.execute(queries.BATCHES_SQL, {"account": budget.account.pk,
                                             "now": db_datetime(now)})
            batches = db.fetchall()
        for batch_pk, call_settings in batches:
            if len(starts) >= budget.jobs:
                break
            call_settings = json_document(call_settings) or {}
            opens = _window_opens(call_settings, budget.account.compliance_profile, now,
                                  due_by)
            if opens is None:
                continue  # nothing of this batch may be dialled yet; process_job re-checks
            if not _can_pay_a_call(budget.account, call_settings):
                if _due_jobs(db, batch_pk=batch_pk, limit=1, now=now, due_by=now):
                    _note_waiting_for_balance(batch_pk)
                continue
            for pk, due in _nudge_batch(db, batch_pk=batch_pk,
                                        limit=budget.jobs - len(starts), now=now,
                                        due_by=due_by):
                starts[pk] = max(opens, due) if due is not None else opens
    return starts


def dispatch_account(*, account_id: int, due_by=None) -> list[int]:
    """Publish process_job for the jobs of this account that can start now. Returns their ids.

    ``due_by`` (the sweep's look-ahead): jobs that come due before it, within the calling
    window, are published too, each with a countdown to the instant it may start; they count
    against the account's free slots like jobs due now.

    Each job is marked (enqueued_until) before its message is published, after that commits.
    """
    now = timezone.now()
    due_by = max(due_by or now, now)
    with transaction.atomic():
        budget = dispatch_budget(account_id=account_id, now=now)
        if budget.jobs <= 0:
            return []
        starts = _nudge_due_jobs(budget=budget, now=now, due_by=due_by)
    # Those due now first, then those held until their due time, in one publish.
    later = {pk: at for pk, at in starts.items() if at > now}
    publish_jobs([pk for pk in starts if pk not in later] + list(later), eta=later)
    return list(starts)


def publish_jobs(job_ids: list[int], *, eta: dict | None = None) -> None:
    """Publish one process_job message per id over a single broker connection. ``eta``:
    {id: instant} for those that may start only later (the worker holds them until then)."""
    if not job_ids:
        return
    from calls.tasks import process_job

    eta = eta or {}
    with process_job.app.producer_or_acquire() as producer:
        for job_id in job_ids:
            process_job.apply_async((job_id,), producer=producer, eta=eta.get(job_id))
    logger.debug("published %d process_job messages", len(job_ids))


def dispatch_account_on_commit(account_id: int) -> None:
    """Dispatch this account as soon as the current transaction commits (a slot was freed).

    Runs in the committing process (the webhook request or the worker) instead of hopping
    through another task. If the broker is unreachable the nudge is lost, never the job: the
    beat sweep dispatches the account again from the database.
    """

    def dispatch():
        try:
            dispatch_account(account_id=account_id)
        except Exception:  # broker down: the sweep re-dispatches from the database
            logger.exception("dispatch of account %s after commit failed", account_id)

    transaction.on_commit(dispatch)


def dispatch_when_ready(sender, *, account_id: int, **kwargs) -> None:
    """Receiver of ``batches.signals.jobs_ready`` and ``accounts.signals.balance_added``
    (connected in ``calls.apps``): the lower apps say work may start, the engine dispatches."""
    dispatch_account_on_commit(account_id)
