"""Publishing process_job nudges: only as many as an account can start now.

The database is the source of truth. A job whose message is in flight carries
``enqueued_until``; when that passes without the job being claimed (the message was lost), the
next dispatch publishes it again. Duplicates are harmless: process_job claims atomically.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Account
from accounts.services import can_cover, hold_for_call
from batches.models import Batch, BatchEvent, Job
from calls.db import Columns, db_datetime, json_document, placeholders
from calls.windows import WindowError, build_window, is_allowed

logger = logging.getLogger(__name__)


def enqueue_ttl() -> timedelta:
    """How long a published message is trusted before its job is published again."""
    return timedelta(seconds=settings.CALLS_ENQUEUE_TTL_SECONDS)


def _window_open(call_settings: dict, profile: str, now) -> bool:
    """Whether the batch's own window (its time zone) is open. Jobs with a contact time zone of
    their own are checked exactly by process_job; here they wait for the batch's window."""
    try:
        return is_allowed(build_window(call_settings=call_settings, profile=profile), now)
    except WindowError:
        return True  # let process_job record the configuration error on the job


# Written out (see calls.db): this runs after every call that ends, to refill the slot it
# freed, and on every sweep; through the ORM it was a third of the web process's time per call.
_PRICING = Columns(Account, "a", only=("id", "plan_type", "credits", "minutes",
                                       "cost_per_call_setup", "cost_per_minute"))
_BUDGET_SQL = f"""
SELECT a.max_concurrent_calls, a.compliance_profile,
       (SELECT count(*) FROM {Job._meta.db_table} j
         WHERE j.account_id = a.id AND j.status = %(in_progress)s),
       (SELECT count(*) FROM {Job._meta.db_table} j
         WHERE j.account_id = a.id AND j.status = %(pending)s AND j.enqueued_until > %(now)s),
       {{pricing}}
  FROM {Account._meta.db_table} a
 WHERE a.id = %(account)s AND a.status = %(active)s
"""
_BATCHES_SQL = f"""
SELECT id, call_settings FROM {Batch._meta.db_table}
 WHERE account_id = %(account)s AND status = %(running)s AND is_active
   AND (scheduled_at IS NULL OR scheduled_at <= %(now)s)
 ORDER BY priority_rank DESC, created_at
"""
_DUE = f"""
SELECT id FROM {Job._meta.db_table}
 WHERE batch_id = %(batch)s AND status = %(pending)s
   AND (next_try_at IS NULL OR next_try_at <= %(now)s)
   AND (enqueued_until IS NULL OR enqueued_until <= %(now)s)
 ORDER BY next_try_at, id
 LIMIT %(limit)s
"""
# PostgreSQL: mark up to n due jobs of a batch in one statement; rows another dispatcher holds
# are skipped, never waited for (the batched claim: ~20,000 rows/s against ~4,000 one by one).
_NUDGE_SQL = f"""
UPDATE {Job._meta.db_table} SET enqueued_until = %(until)s
 WHERE id = ANY(ARRAY({_DUE} FOR UPDATE SKIP LOCKED))
RETURNING id
"""
# SQLite (the demo) has no row locks: it writes one transaction at a time, so the due jobs
# are read, then marked, inside the dispatch's transaction.
_MARK_SQL = f"UPDATE {Job._meta.db_table} SET enqueued_until = %s WHERE id IN ({{ids}})"


@dataclass
class Budget:
    jobs: int  # free call slots plus lookahead, minus jobs being worked on or already nudged
    profile: str | None  # the account's compliance profile
    account: Account | None  # its plan, prices and balances (other fields deferred)


def dispatch_budget(*, account_id: int, now) -> Budget:
    """What this account may start now. Zero jobs when the account is not active."""
    with connection.cursor() as cursor:
        cursor.execute(_BUDGET_SQL.format(pricing=_PRICING.sql), {
            "account": account_id, "active": Account.Status.ACTIVE, "now": db_datetime(now),
            "in_progress": Job.Status.IN_PROGRESS, "pending": Job.Status.PENDING,
        })
        row = cursor.fetchone()
    if row is None:
        return Budget(0, None, None)
    slots, profile, busy, nudged = row[:4]
    return Budget(slots + settings.CALLS_DISPATCH_LOOKAHEAD - busy - nudged, profile,
                  _PRICING.build(row[4:]))


def _can_pay_a_call(account: Account, call_settings: dict) -> bool:
    """Whether the balance covers the hold of one call of this campaign. Jobs that could not
    start are not published (they would only be claimed and handed back at every sweep);
    process_job decides exactly, under the account's lock."""
    try:
        max_duration = int(call_settings.get("max_call_duration", 600))
    except (TypeError, ValueError):
        return True  # let process_job record the configuration error on the job
    return can_cover(account=account,
                     hold=hold_for_call(account=account, max_call_duration=max_duration))


def _note_waiting_for_balance(batch_pk: int) -> None:
    """Say once, on the campaign, why its due jobs are not dialled (until its next event)."""
    latest = (BatchEvent.objects.filter(batch_id=batch_pk).order_by("-created_at", "-id")
              .values_list("kind", flat=True).first())
    if latest != BatchEvent.Kind.WAITING_BALANCE:
        BatchEvent.objects.create(
            batch_id=batch_pk, kind=BatchEvent.Kind.WAITING_BALANCE,
            message=gettext("Waiting: the balance does not cover one call. Calls resume by "
                            "themselves after a top-up."))


def _due_jobs(cursor, *, batch_pk: int, limit: int, now) -> list[int]:
    """Up to ``limit`` due jobs of the batch not already nudged (read only)."""
    cursor.execute(_DUE, {"batch": batch_pk, "pending": Job.Status.PENDING,
                          "now": db_datetime(now), "limit": limit})
    return [pk for (pk,) in cursor.fetchall()]


def _nudge_batch(cursor, *, batch_pk: int, limit: int, now) -> list[int]:
    """Mark up to ``limit`` due jobs of the batch as nudged (enqueued_until); their ids."""
    params = {"batch": batch_pk, "pending": Job.Status.PENDING, "now": db_datetime(now),
              "limit": limit, "until": db_datetime(now + enqueue_ttl())}
    if connection.vendor == "postgresql":
        cursor.execute(_NUDGE_SQL, params)
        return sorted(pk for (pk,) in cursor.fetchall())
    ids = _due_jobs(cursor, batch_pk=batch_pk, limit=limit, now=now)
    if ids:
        cursor.execute(_MARK_SQL.format(ids=placeholders(ids)), [params["until"], *ids])
    return ids


def _nudge_due_jobs(*, budget: Budget, now) -> list[int]:
    """Mark up to ``budget.jobs`` due jobs as nudged, highest batch priority first, oldest
    first."""
    ids: list[int] = []
    with connection.cursor() as cursor:
        cursor.execute(_BATCHES_SQL, {"account": budget.account.pk,
                                      "running": Batch.Status.RUNNING, "now": db_datetime(now)})
        for batch_pk, call_settings in cursor.fetchall():
            if len(ids) >= budget.jobs:
                break
            call_settings = json_document(call_settings) or {}
            if not _window_open(call_settings, budget.profile, now):
                continue  # nothing of this batch may be dialled now; process_job re-checks
            if not _can_pay_a_call(budget.account, call_settings):
                if _due_jobs(cursor, batch_pk=batch_pk, limit=1, now=now):
                    _note_waiting_for_balance(batch_pk)
                continue
            ids.extend(_nudge_batch(cursor, batch_pk=batch_pk, limit=budget.jobs - len(ids),
                                    now=now))
    return ids


def dispatch_account(*, account_id: int) -> list[int]:
    """Publish process_job for the jobs of this account that can start now. Returns their ids.

    Each job is marked (enqueued_until) before its message is published, after that commits.
    """
    now = timezone.now()
    with transaction.atomic():
        budget = dispatch_budget(account_id=account_id, now=now)
        if budget.jobs <= 0:
            return []
        ids = _nudge_due_jobs(budget=budget, now=now)
    publish_jobs(ids)
    return ids


def publish_jobs(job_ids: list[int]) -> None:
    """Publish one process_job message per id over a single broker connection."""
    if not job_ids:
        return
    from calls.tasks import process_job

    with process_job.app.producer_or_acquire() as producer:
        for job_id in job_ids:
            process_job.apply_async((job_id,), producer=producer)
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
