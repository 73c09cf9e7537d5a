"""Publishing process_job nudges: only as many as an account can start now.

The database is the source of truth. A job whose message is in flight carries
``enqueued_until``; when that passes without the job being claimed (the message was lost), the
next dispatch publishes it again. Duplicates are harmless: process_job claims atomically.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from batches.models import Batch, Job
from calls.windows import WindowError, build_window, is_allowed

logger = logging.getLogger(__name__)

ENQUEUE_TTL = timedelta(seconds=60)


def _window_open(call_settings: dict, profile: str, now) -> bool:
    """Whether the batch's own window (its time zone) is open. Jobs with a contact time zone of
    their own are checked exactly by process_job; here they wait for the batch's window."""
    try:
        return is_allowed(build_window(call_settings=call_settings, profile=profile), now)
    except WindowError:
        return True  # let process_job record the configuration error on the job


def dispatch_budget(*, account: Account, now) -> int:
    """Free call slots plus lookahead, minus jobs being worked on or already nudged."""
    busy = Job.objects.filter(account=account, status=Job.Status.IN_PROGRESS).count()
    nudged = Job.objects.filter(
        account=account, status=Job.Status.PENDING, enqueued_until__gt=now
    ).count()
    return account.max_concurrent_calls + settings.CALLS_DISPATCH_LOOKAHEAD - busy - nudged


def _reserve_due_jobs(*, account: Account, budget: int, now) -> list[int]:
    """Mark up to ``budget`` due jobs as nudged, highest batch priority first, oldest first."""
    ids: list[int] = []
    batches = (
        Batch.objects.filter(account=account, status=Batch.Status.RUNNING, is_active=True)
        .filter(Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=now))
        .order_by("-priority_rank", "created_at")
        .values_list("pk", "call_settings")
    )
    for batch_pk, call_settings in batches:
        if len(ids) >= budget:
            break
        if not _window_open(call_settings, account.compliance_profile, now):
            continue  # nothing of this batch may be dialled now; process_job re-checks per job
        due = (
            Job.objects.filter(batch_id=batch_pk, status=Job.Status.PENDING)
            .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
            .filter(Q(enqueued_until__isnull=True) | Q(enqueued_until__lte=now))
            .order_by("next_try_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[: budget - len(ids)]
        )
        ids.extend(due)
    if ids:
        Job.objects.filter(pk__in=ids).update(enqueued_until=now + ENQUEUE_TTL)
    return ids


def dispatch_account(*, account_id: int) -> list[int]:
    """Publish process_job for the jobs of this account that can start now. Returns their ids.

    Messages are published after the transaction that marked them commits, over one producer.
    """
    now = timezone.now()
    with transaction.atomic():
        account = Account.objects.filter(pk=account_id, status=Account.Status.ACTIVE).first()
        if account is None:
            return []
        budget = dispatch_budget(account=account, now=now)
        if budget <= 0:
            return []
        ids = _reserve_due_jobs(account=account, budget=budget, now=now)
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
