"""Operator actions on a batch's jobs that the public API does not offer (yet).

The engine still decides when (and whether) each job is dialled: windows, attempts, weekly
compliance limits, the do-not-call list, balance and concurrency are applied at claim time.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from batches.jobs import jobs_requeue
from batches.models import Batch, BatchEvent, Job
from batches.reasons import JobReason
from batches.services.base import BatchError, batch_event_add, batch_lock, batch_refresh
from batches.signals import jobs_ready


def retryable_failed_jobs(*, batch: Batch):
    """Failed jobs of the batch that may be tried again: every failure except the do-not-call
    list (a debtor who asked not to be called, or whose every phone is suppressed) and jobs
    with no valid phone left (they would fail again at once)."""
    return Job.objects.filter(batch=batch, status=Job.Status.FAILED).exclude(
        last_error__in=(JobReason.FAIL_DO_NOT_CALL, JobReason.FAIL_NO_PHONE)
    )


@transaction.atomic
def job_retry_failed(*, batch: Batch, user) -> int:
    """Move the batch's retryable failed jobs back to pending, due now, with their attempt
    counter reset (``attempt_number`` keeps counting from the attempts already stored, so the
    history and the idempotency keys stay unique). Returns how many jobs were moved.

    A completed batch is reopened (running, or paused if it was paused); a cancelled one
    cannot be retried (BatchError). Logged as a "retried" BatchEvent with the user, and one
    JobEvent per job; the account is dispatched after commit, when the batch can dial.
    """
    locked = batch_lock(batch)
    if locked.status == Batch.Status.CANCELLED:
        raise BatchError({"status": [_("A cancelled campaign cannot be retried.")]})
    now = timezone.now()
    ids = list(retryable_failed_jobs(batch=locked).values_list("pk", flat=True))
    if not ids:
        return 0
    moved = jobs_requeue(job_ids=ids, now=now)
    fields = ["updated_at"]
    reopened = locked.status == Batch.Status.COMPLETED
    if reopened:
        locked.status = Batch.Status.RUNNING if locked.is_active else Batch.Status.PAUSED
        locked.completed_at = None
        fields += ["status", "completed_at"]
    locked.updated_at = now
    locked.save(update_fields=fields)
    batch_event_add(
        batch=locked,
        kind=BatchEvent.Kind.RETRIED,
        user=user,
        data={"jobs_retried": moved, "reopened": reopened},
    )
    if locked.is_dialable:
        jobs_ready.send(sender=Batch, account_id=locked.account_id)
    batch_refresh(batch, locked)
    return moved
