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
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from accounts.services import can_cover, hold_for_call
from batches.call_settings import CallSettings
from batches.models import Batch, BatchEvent, Job
from batches.windows import (
    WindowError,
    campaign_window,
    is_allowed,
    next_allowed,
)
from callcenter.db import Columns, cursor, db_datetime, json_document, placeholders, read_datetime

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


# Written out (see callcenter.db): this runs after every call that ends, to refill the slot it
# freed, and on every sweep; through the ORM it was a third of the web process's time per call.
# What dispatch reads of the account: slots, profile, plan, prices and balances.
_ACCOUNT = Columns(Account, "a", only=("id", "max_concurrent_calls", "compliance_profile",
                                       "plan_type", "credits", "minutes",
                                       "cost_per_call_setup", "cost_per_minute"))
_BUDGET_SQL = f"""
SELECT (SELECT count(*) FROM {Job._meta.db_table} j
         WHERE j.account_id = a.id AND j.status = '{Job.Status.IN_PROGRESS}'),
       (SELECT count(*) FROM {Job._meta.db_table} j
         WHERE j.account_id = a.id AND j.status = '{Job.Status.PENDING}'
           AND j.enqueued_until > %(now)s),
       {{account}}
  FROM {Account._meta.db_table} a
 WHERE a.id = %(account)s AND a.status = '{Account.Status.ACTIVE}'
"""
_BATCHES_SQL = f"""
SELECT id, call_settings FROM {Batch._meta.db_table}
 WHERE account_id = %(account)s AND status = '{Batch.Status.RUNNING}' AND is_active
   AND (scheduled_at IS NULL OR scheduled_at <= %(now)s)
 ORDER BY priority_rank DESC, created_at
"""
# Due by ``due_by`` (now, or the end of the sweep's look-ahead) and not already nudged.
_DUE = f"""
SELECT {{columns}} FROM {Job._meta.db_table}
 WHERE batch_id = %(batch)s AND status = '{Job.Status.PENDING}'
   AND (next_try_at IS NULL OR next_try_at <= %(due_by)s)
   AND (enqueued_until IS NULL OR enqueued_until <= %(now)s)
 ORDER BY next_try_at, id
 LIMIT %(limit)s
"""
# PostgreSQL: mark up to n due jobs of a batch in one statement; rows another dispatcher holds
# are skipped, never waited for (the batched claim: ~20,000 rows/s against ~4,000 one by one).
_NUDGE_SQL = f"""
UPDATE {Job._meta.db_table} SET enqueued_until = %(until)s
 WHERE id = ANY(ARRAY({_DUE.format(columns="id")} FOR UPDATE SKIP LOCKED))
RETURNING id, next_try_at
"""
# SQLite (the demo) has no row locks: it writes one transaction at a time, so the due jobs
# are read, then marked, inside the dispatch's transaction.
_MARK_SQL = f"UPDATE {Job._meta.db_table} SET enqueued_until = %s WHERE id IN ({{ids}})"


@dataclass
class Budget:
    jobs: int  # free call slots plus lookahead, minus jobs being worked on or already nudged
    account: Account | None  # its slots, profile, plan, prices and balances (others deferred)


def dispatch_budget(*, account_id: int, now) -> Budget:
    """What this account may start now. Zero jobs when the account is not active."""
    with cursor() as db:
        db.execute(_BUDGET_SQL.format(account=_ACCOUNT.sql),
                   {"account": account_id, "now": db_datetime(now)})
        row = db.fetchone()
    if row is None:
        return Budget(0, None)
    busy, nudged = row[:2]
    account = _ACCOUNT.build(row[2:])
    return Budget(account.max_concurrent_calls + settings.CALLS_DISPATCH_LOOKAHEAD - busy
                  - nudged, account)


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
    db.execute(_DUE.format(columns="id, next_try_at"), {
        "batch": batch_pk, "now": db_datetime(now), "due_by": db_datetime(due_by),
        "limit": limit})
    return db.fetchall()


def _nudge_batch(db, *, batch_pk: int, limit: int, now, due_by) -> list[tuple]:
    """Mark up to ``limit`` jobs of the batch due by ``due_by`` as nudged (enqueued_until);
    their (id, next_try_at)."""
    params = {"batch": batch_pk, "now": db_datetime(now), "due_by": db_datetime(due_by),
              "limit": limit,
              "until": db_datetime(due_by + enqueue_ttl())}
    if connection.vendor == "postgresql":
        db.execute(_NUDGE_SQL, params)
        return sorted(db.fetchall())
    rows = _due_jobs(db, batch_pk=batch_pk, limit=limit, now=now, due_by=due_by)
    if rows:
        ids = [pk for pk, _ in rows]
        db.execute(_MARK_SQL.format(ids=placeholders(ids)), [params["until"], *ids])
    return [(pk, read_datetime(due)) for pk, due in rows]


def _nudge_due_jobs(*, budget: Budget, now, due_by) -> dict[int, object]:
    """Mark up to ``budget.jobs`` jobs due by ``due_by`` as nudged, highest batch priority
    first, oldest first. Returns {job id: when it may start} (``now`` for jobs due now)."""
    starts: dict[int, object] = {}
    with cursor() as db:
        db.execute(_BATCHES_SQL, {"account": budget.account.pk, "now": db_datetime(now)})
        for batch_pk, call_settings in db.fetchall():
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
