"""Writes for batches, by concern: ``options`` (validation of a new batch's options),
``create`` (a batch from JSON or a spreadsheet, its estimated cost), ``recurring`` (the
next run of a recurring campaign), ``uploads`` (spreadsheets kept between the admin's
preview and its confirmation), ``control`` (pause, resume, settings and details edits),
``operations`` (operator actions on its jobs), ``retention`` (what the retention policy may
remove) and ``base`` (the error, row lock and event log they share).

The public functions are exported here: ``from batches import services;
services.batch_create(...)``. Cancelling, which must spare the calls in progress, is the
engine's (``calls.campaigns``).
"""

from batches.services.base import (
    FINISHED_STATUSES,
    BatchError,
    batch_event_add,
    batch_lock,
    batch_refresh,
)
from batches.services.control import (
    batch_set_active,
    batch_update,
    batch_update_details,
    batch_update_settings,
)
from batches.services.create import (
    BatchCreateResult,
    batch_create,
    batch_create_from_excel,
    estimate_cost,
)
from batches.services.operations import job_retry_failed
from batches.services.options import batch_options_clean, call_settings_clean
from batches.services.recurring import batch_run_create, recurring_runs_create
from batches.services.retention import (
    FINISHED_JOB_STATUSES,
    retention_batch_ids,
    retention_batches,
    retention_batches_lock,
    retention_jobs,
    retention_jobs_delete,
)
from batches.services.uploads import (
    upload_claim,
    upload_delete,
    upload_local_copy,
    upload_release,
    upload_store,
    uploads_purge_expired,
)

__all__ = [
    "FINISHED_JOB_STATUSES",
    "FINISHED_STATUSES",
    "BatchCreateResult",
    "BatchError",
    "batch_create",
    "batch_create_from_excel",
    "batch_event_add",
    "batch_lock",
    "batch_options_clean",
    "batch_refresh",
    "batch_run_create",
    "batch_set_active",
    "batch_update",
    "batch_update_details",
    "batch_update_settings",
    "call_settings_clean",
    "estimate_cost",
    "job_retry_failed",
    "recurring_runs_create",
    "retention_batch_ids",
    "retention_batches",
    "retention_batches_lock",
    "retention_jobs",
    "retention_jobs_delete",
    "upload_claim",
    "upload_delete",
    "upload_local_copy",
    "upload_release",
    "upload_store",
    "uploads_purge_expired",
]
