"""A batch's progress figures: the changelist's annotations (one query for the page, never one
per row) and the live progress block of the change page."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from batches.admin.common import money, progress_bar
from batches.models import Batch, Job
from calls import selectors as call_selectors
from calls.models import CallAttempt

MONEY_FIELD = DecimalField(max_digits=20, decimal_places=4)
DIALLED = Q(status=CallAttempt.Status.ENDED) & ~Q(
    outcome__in=[CallAttempt.Outcome.PROVIDER_ERROR, CallAttempt.Outcome.UNKNOWN]
)


def _job_count(status: str):
    counted = (
        Job.objects.filter(batch=OuterRef("pk"), status=status)
        .order_by()
        .values("batch")
        .annotate(n=Count("*"))  # the (batch, status) index alone answers it
        .values("n")[:1]
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _attempts(aggregate, output_field):
    rows = (
        CallAttempt.objects.filter(batch=OuterRef("pk"))
        .order_by()
        .values("batch")
        .annotate(v=aggregate)
        .values("v")[:1]
    )
    return Subquery(rows, output_field=output_field)


def with_progress(queryset):
    """Per-batch job counts, attempt figures and the next due job, as subqueries evaluated
    only for the rows of the page (each on an index: (batch, status) and the due-jobs one)."""
    next_due = (
        Job.objects.filter(batch=OuterRef("pk"), status=Job.Status.PENDING)
        .order_by("next_try_at")
        .values("next_try_at")[:1]
    )
    return queryset.annotate(
        n_done=_job_count(Job.Status.DONE),
        n_failed=_job_count(Job.Status.FAILED),
        n_cancelled=_job_count(Job.Status.CANCELLED),
        n_contacted=Coalesce(
            _attempts(Count("pk", filter=Q(outcome=CallAttempt.Outcome.CONTACT)), IntegerField()),
            0,
        ),
        n_dialled=Coalesce(_attempts(Count("pk", filter=DIALLED), IntegerField()), 0),
        cost_so_far=Coalesce(
            _attempts(Sum("cost"), MONEY_FIELD), Decimal("0"), output_field=MONEY_FIELD
        ),
        next_due=Subquery(next_due),
    )


def render_progress(batch: Batch, *, status: dict | None = None) -> str:
    """The live progress block of a batch page (also the JSON endpoint's ``html``)."""
    status = status or call_selectors.batch_status(batch=batch)
    counts = status["counts"]
    return render_to_string(
        "admin/batches/batch/_progress.html",
        {
            "batch": batch,
            "status": status,
            "bar": progress_bar(
                total=status["total_jobs"],
                done=counts["done"],
                failed=counts["failed"],
                cancelled=counts["cancelled"],
            ),
            "cost": money(status["cost_so_far"]),
            "due_now": (
                status["next_attempt_at"] is not None
                and status["next_attempt_at"] <= timezone.now()
            ),
            "status_label": Batch.Status(status["status"]).label,
        },
    )
