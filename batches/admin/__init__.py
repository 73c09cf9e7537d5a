"""Operators' admin for campaigns (batches) and their jobs.

The admin never bypasses the rules: pause, resume, cancel and settings edits go through
``batches.services`` (the API's services), "retry failed now" through
``batches.services.job_retry_failed``, and a campaign is created from an Excel file by
``batches.services.batch_create_from_excel``. The engine then applies the calling windows,
attempts, balance and concurrency as usual. Nothing that is history (jobs, attempts, events)
can be edited or deleted here.

List pages compute their per-row figures with annotated subqueries on the page's queryset
(one query for the page), never one query per row.

The package's modules, by concern:

- ``common``: display helpers (money, the progress bar, rates) and the read-only inline.
- ``forms``: the call settings form fields and the batch change form.
- ``progress``: a batch's progress figures (changelist annotations, the live block).
- ``batch``: the Batch admin (changelist, change page, progress and export views).
- ``batch_operations``: pause, resume, retry failed and cancel (actions and page buttons).
- ``excel_flow``: creating a campaign from an Excel file (forms, uploads, the two steps).
- ``job``: the Job admin, its filters and inlines.

Importing the package registers ``BatchAdmin`` and ``JobAdmin``.
"""

from batches.admin.batch import BatchAdmin, BatchEventInline
from batches.admin.common import ReadOnlyInline, money, progress_bar, rate
from batches.admin.excel_flow import (
    ExcelConfirmForm,
    ExcelUploadForm,
)
from batches.admin.forms import BatchChangeForm, CallSettingsForm
from batches.admin.job import CallAttemptInline, JobAdmin, JobEventInline
from batches.admin.progress import render_progress, with_progress

__all__ = [
    "BatchAdmin",
    "BatchChangeForm",
    "BatchEventInline",
    "CallAttemptInline",
    "CallSettingsForm",
    "ExcelConfirmForm",
    "ExcelUploadForm",
    "JobAdmin",
    "JobEventInline",
    "ReadOnlyInline",
    "money",
    "progress_bar",
    "rate",
    "render_progress",
    "with_progress",
]
