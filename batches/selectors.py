"""Reads for batches, always scoped to what the user may see.

Operators (staff) allowed to view batches see every account's; a client user only their
account's. Another tenant's batch is simply not found (the API answers 404).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, QuerySet

from accounts.permissions import can_view
from batches.models import Batch, BatchEvent, Job
from batches.queries import ACCOUNT_JOB_COUNTS_SQL, JOB_COUNTS_SQL
from callcenter.db import written_sql


def batches_visible_to(user) -> QuerySet[Batch]:
    queryset = Batch.objects.select_related("account", "created_by", "parent")
    if can_view(user, Batch):
        return queryset
    if user.is_staff or user.account_id is None:
        return queryset.none()
    return queryset.filter(account_id=user.account_id)


def batch_list(
    *, user, account=None, status: str | None = None, is_active: bool | None = None,
    parent: str | None = None,
) -> QuerySet[Batch]:
    """The user's batches, newest first, optionally filtered (``parent``: the runs of the
    recurring campaign with that batch_id)."""
    queryset = batches_visible_to(user)
    if parent:
        queryset = queryset.filter(parent__batch_id=parent)
    if account is not None:
        queryset = queryset.filter(account=account)
    if status:
        queryset = queryset.filter(status=status)
    if is_active is not None:
        queryset = queryset.filter(is_active=is_active)
    return queryset.order_by("-created_at", "-id")


def batch_get(*, user, batch_id: str) -> Batch | None:
    """The batch with this public id if the user may see it, else None."""
    return batches_visible_to(user).filter(batch_id=batch_id).first()


def job_counts(*, batch_ids: list[int]) -> dict[int, dict[str, int]]:
    """{batch pk: {job status: jobs}} for these batches, every status present. On
    PostgreSQL from the counters the database keeps (a few rows per batch, whatever its
    size); elsewhere (the small SQLite demo) counted live."""
    counts = {pk: dict.fromkeys(Job.Status.values, 0) for pk in batch_ids}
    if not batch_ids:
        return counts
    if written_sql():
        with connection.cursor() as cursor:
            cursor.execute(JOB_COUNTS_SQL, [batch_ids, batch_ids])
            rows = cursor.fetchall()
    else:
        rows = (
            Job.objects.filter(batch_id__in=batch_ids)
            .order_by()
            .values_list("batch_id", "status")
            .annotate(n=Count("*"))
        )
    for batch_pk, status, jobs in rows:
        counts[batch_pk][status] = int(jobs)
    return counts


def account_job_counts(*, account_id: int) -> dict[str, int]:
    """{job status: jobs} of an account, every status present: on PostgreSQL from the
    counters of its batches (one query over a few rows per batch, not over its jobs);
    elsewhere counted live."""
    counts = dict.fromkeys(Job.Status.values, 0)
    if written_sql():
        with connection.cursor() as cursor:
            cursor.execute(ACCOUNT_JOB_COUNTS_SQL, [account_id, account_id])
            rows = cursor.fetchall()
    else:
        rows = (Job.objects.filter(account_id=account_id).order_by().values_list("status")
                .annotate(n=Count("*")))
    for status, jobs in rows:
        counts[status] = int(jobs)
    return counts


def batch_events(*, batch: Batch, limit: int = 100) -> list[BatchEvent]:
    """The batch's log, newest first."""
    return list(
        BatchEvent.objects.filter(batch=batch)
        .select_related("user")
        .order_by("-created_at", "-id")[:limit]
    )
