"""What the retention policy may remove of campaigns (``calls.retention`` removes the calls
first, then asks for these): finished jobs of finished campaigns, then the campaigns left
empty. A campaign that is not finished (pending, running, paused) keeps everything, and so does
every run of a recurring campaign that goes on: the next run is drawn from its runs' jobs
(``recurring``)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce

from batches import queries
from batches.models import Batch, Job
from batches.services.base import FINISHED_STATUSES
from callcenter.db import cursor, written_sql

FINISHED_JOB_STATUSES = (Job.Status.DONE, Job.Status.FAILED, Job.Status.CANCELLED)


def retention_batch_ids(*, account_id: int, cutoff: datetime) -> list[int]:
    """The account's campaigns whose records may have expired: finished, created before the
    cutoff (nothing of a later one can be older), alone or of a recurring campaign that has
    ended (no next run) and is finished itself."""
    alone_or_ended = (Q(parent__isnull=True, next_run_at__isnull=True)
                      | Q(parent__next_run_at__isnull=True, parent__status__in=FINISHED_STATUSES))
    return list(Batch.objects
                .filter(alone_or_ended, account_id=account_id, status__in=FINISHED_STATUSES,
                        created_at__lt=cutoff)
                .order_by("id").values_list("id", flat=True))


def retention_batches_lock(*, batch_ids: list[int]) -> list[int]:
    """Those of ``batch_ids`` still finished, locked until the transaction ends (a retry of
    failed jobs or a resume waits for the chunk; a campaign so changed is skipped). Rows another
    transaction holds are skipped, never waited for."""
    return list(Batch.objects
                .filter(id__in=batch_ids, status__in=FINISHED_STATUSES)
                .select_for_update(no_key=True, skip_locked=True)
                .values_list("id", flat=True))


def retention_jobs(*, batch_ids: list[int], cutoff: datetime) -> QuerySet[Job]:
    """Finished jobs of these campaigns last changed before the cutoff (the caller excludes
    those with calls left)."""
    return Job.objects.filter(batch_id__in=batch_ids, status__in=FINISHED_JOB_STATUSES,
                              updated_at__lt=cutoff)


def retention_jobs_delete(*, job_ids: list[int]) -> None:
    """Delete these jobs (chosen by ``retention_jobs``, locked, with no call left) and their
    events. A call still pointing at one would fail the commit (its foreign key)."""
    if written_sql():
        with cursor() as db:
            db.execute(queries.RETENTION_JOBS_DELETE_SQL, [job_ids, job_ids])
        return
    Job.objects.filter(id__in=job_ids).delete()


def retention_batches(*, batch_ids: list[int], cutoff: datetime,
                      jobs: QuerySet[Job] | None = None) -> QuerySet[Batch]:
    """Those of these campaigns finished before the cutoff with no job left (``jobs``: the
    campaign's jobs that count, ``OuterRef("pk")`` its id; by default all) and no run left.
    Deleting one deletes its events and counters (their foreign keys cascade)."""
    if jobs is None:
        jobs = Job.objects.filter(batch_id=OuterRef("pk"))
    return (Batch.objects
            .annotate(finished_at=Coalesce("completed_at", "updated_at"))
            .filter(id__in=batch_ids, status__in=FINISHED_STATUSES, finished_at__lt=cutoff)
            .filter(~Exists(jobs), ~Exists(Batch.objects.filter(parent_id=OuterRef("pk")))))
