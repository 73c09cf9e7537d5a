"""Publishing process_job nudges: only as many as an account can start now.

The database is the source of truth. A job whose message is in flight carries
``enqueued_until``; when that passes without the job being claimed (the message was lost), the
next dispatch publishes it again. Duplicates are harmless: process_job claims atomically.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from batches.models import Batch, Job
from calls.db import db_datetime, json_document, placeholders
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
_BUDGET_SQL = f"""
SELECT a.max_concurrent_calls, a.compliance_profile,
       (SELECT count(*) FROM {Job._meta.db_table} j
         WHERE j.account_id = a.id AND j.status = %(in_progress)s),
       (SELECT count(*) FROM {Job._meta.db_table} j
         WHERE j.account_id = a.id AND j.status = %(pending)s AND j.enqueued_until > %(now)s)
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


def dispatch_budget(*, account_id: int, now) -> tuple[int, str | None]:
    """(free call slots plus lookahead, minus jobs being worked on or already nudged; the
    account's compliance profile). (0, None) when the account is not active."""
    with connection.cursor() as cursor:
        cursor.execute(_BUDGET_SQL, {
            "account": account_id, "active": Account.Status.ACTIVE, "now": db_datetime(now),
            "in_progress": Job.Status.IN_PROGRESS, "pending": Job.Status.PENDING,
        })
        row = cursor.fetchone()
    if row is None:
        return 0, None
    slots, profile, busy, nudged = row
    return slots + settings.CALLS_DISPATCH_LOOKAHEAD - busy - nudged, profile


def _nudge_batch(cursor, *, batch_pk: int, limit: int, now) -> list[int]:
    """Mark up to ``limit`` due jobs of the batch as nudged (enqueued_until); their ids."""
    params = {"batch": batch_pk, "pending": Job.Status.PENDING, "now": db_datetime(now),
              "limit": limit, "until": db_datetime(now + enqueue_ttl())}
    if connection.vendor == "postgresql":
        cursor.execute(_NUDGE_SQL, params)
        return sorted(pk for (pk,) in cursor.fetchall())
    cursor.execute(_DUE, params)
    ids = [pk for (pk,) in cursor.fetchall()]
    if ids:
        cursor.execute(_MARK_SQL.format(ids=placeholders(ids)), [params["until"], *ids])
    return ids


def _nudge_due_jobs(*, account_id: int, profile: str, budget: int, now) -> list[int]:
    """Mark up to ``budget`` due jobs as nudged, highest batch priority first, oldest first."""
    ids: list[int] = []
    with connection.cursor() as cursor:
        cursor.execute(_BATCHES_SQL, {"account": account_id, "running": Batch.Status.RUNNING,
                                      "now": db_datetime(now)})
        for batch_pk, call_settings in cursor.fetchall():
            if len(ids) >= budget:
                break
            if not _window_open(json_document(call_settings) or {}, profile, now):
                continue  # nothing of this batch may be dialled now; process_job re-checks
            ids.extend(_nudge_batch(cursor, batch_pk=batch_pk, limit=budget - len(ids),
                                    now=now))
    return ids


def dispatch_account(*, account_id: int) -> list[int]:
    """Publish process_job for the jobs of this account that can start now. Returns their ids.

    Each job is marked (enqueued_until) before its message is published, after that commits.
    """
    now = timezone.now()
    with transaction.atomic():
        budget, profile = dispatch_budget(account_id=account_id, now=now)
        if budget <= 0:
            return []
        ids = _nudge_due_jobs(account_id=account_id, profile=profile, budget=budget, now=now)
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
