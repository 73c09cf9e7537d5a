"""Engine operations on a whole campaign, which must know about the calls in progress.

Cancelling spares the jobs whose call is live (only the engine knows which), so it lives here
and not in ``batches.services``; the API view and the admin action call it.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from batches.jobs import batch_jobs_cancel
from batches.models import Batch, BatchEvent, Job
from batches.services import BatchError, batch_event_add, batch_lock, batch_refresh
from calls.models import CallAttempt


@transaction.atomic
def batch_cancel(*, batch: Batch, user) -> tuple[Batch, int, int]:
    """Cancel a batch: what has not started stops. Its pending jobs, and those a worker
    claimed but has not dialled yet (the lease is taken back, so that worker never dials),
    become cancelled with one UPDATE. A job whose call is live (being placed, ringing or
    talking) ends by that call's outcome; only the retries it would have had are cancelled.
    Returns (batch, jobs cancelled, jobs in a live call). Cancelling a cancelled batch changes
    nothing; a completed batch cannot be cancelled (BatchError)."""
    locked = batch_lock(batch)
    if locked.status == Batch.Status.CANCELLED:
        return batch_refresh(batch, locked), 0, 0
    if locked.status == Batch.Status.COMPLETED:
        raise BatchError({"status": [_("A completed campaign cannot be cancelled.")]})
    now = timezone.now()
    # Under the batch's lock, which a dial holds from its checks until its attempt row is
    # saved: a call being placed is seen here as live, or it sees the cancel and never starts.
    live = CallAttempt.objects.filter(job=OuterRef("pk"), status__in=CallAttempt.LIVE_STATUSES)
    cancelled = batch_jobs_cancel(batch=locked, in_call=Exists(live), now=now)
    in_call = Job.objects.filter(batch=locked, status=Job.Status.IN_PROGRESS).count()
    locked.status = Batch.Status.CANCELLED
    locked.is_active = False
    locked.updated_at = now
    locked.save(update_fields=["status", "is_active", "updated_at"])
    batch_event_add(batch=locked, kind=BatchEvent.Kind.CANCELLED, user=user,
                    data={"jobs_cancelled": cancelled, "jobs_in_call": in_call})
    return batch_refresh(batch, locked), cancelled, in_call
