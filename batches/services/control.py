"""Control of an existing batch: pause/resume and edits of its call settings and details.

Every change takes the batch's row lock, writes a BatchEvent naming the user, and is read by
the engine at its next claim (it re-reads the batch row under the same lock after claiming
each job), so a pause or a settings edit applies to every job not yet dialled as soon as it
commits. Cancelling, which must spare the calls in progress, is the engine's
(``calls.campaigns``).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from batches.jobs import batch_jobs_forget_published, batch_jobs_make_due
from batches.models import Batch, BatchEvent
from batches.services.base import (
    FINISHED_STATUSES,
    BatchError,
    batch_event_add,
    batch_lock,
    batch_refresh,
)
from batches.services.options import call_settings_clean
from batches.signals import jobs_ready

# Settings whose change can make a job deferred by the calling window due earlier.
WINDOW_FIELDS = ("allowed_hours", "days_of_week", "timezone")


def _refuse_if_finished(batch: Batch, field: str, message: str) -> None:
    """BatchError naming ``field`` when the batch is completed or cancelled; ``message`` says
    why with a %(status)s placeholder."""
    if batch.status in FINISHED_STATUSES:
        raise BatchError({field: [message % {"status": batch.get_status_display().lower()}]})


@transaction.atomic
def batch_set_active(*, batch: Batch, is_active: bool, user) -> Batch:
    """Pause (is_active false) or resume a batch.

    A pause stops every call not yet placed as soon as it commits (in-flight calls finish).
    Resuming sets the batch running again (or pending if its start time is still ahead) and
    publishes its first jobs after commit. Finished batches cannot change (BatchError).
    """
    locked = batch_lock(batch)
    _refuse_if_finished(
        locked, "is_active", _("A %(status)s campaign cannot be paused or resumed.")
    )
    if locked.is_active == is_active:
        return batch_refresh(batch, locked)
    now = timezone.now()
    if is_active:
        waiting = locked.scheduled_at is not None and locked.scheduled_at > now
        locked.status = Batch.Status.PENDING if waiting else Batch.Status.RUNNING
        kind = BatchEvent.Kind.RESUMED
    else:
        locked.status = Batch.Status.PAUSED
        kind = BatchEvent.Kind.PAUSED
        batch_jobs_forget_published(batch=locked)
    locked.is_active = is_active
    locked.updated_at = now
    locked.save(update_fields=["status", "is_active", "updated_at"])
    batch_event_add(batch=locked, kind=kind, user=user, data={"status": locked.status})
    if locked.status == Batch.Status.RUNNING:
        jobs_ready.send(sender=Batch, account_id=locked.account_id)
    return batch_refresh(batch, locked)


@transaction.atomic
def batch_update_settings(*, batch: Batch, call_settings: dict, user) -> Batch:
    """Merge a partial call-settings dict onto the batch's, validate and apply it.

    Takes effect for every job not yet dialled at its next claim. When the calling window
    changes, jobs never dialled that were deferred to a later window are made due now so the
    engine re-evaluates them against the new window (jobs waiting for a retry keep their
    retry time). Logged as settings_changed with the diff. No change, no event.
    """
    if not isinstance(call_settings, dict):
        raise BatchError({"call_settings": [_("Must be an object.")]})
    locked = batch_lock(batch)
    _refuse_if_finished(locked, "call_settings", _("A %(status)s campaign cannot be changed."))
    old = dict(locked.call_settings or {})
    cleaned = call_settings_clean(account=locked.account, call_settings={**old, **call_settings})
    changes = {
        key: {"from": old.get(key), "to": value}
        for key, value in cleaned.items()
        if old.get(key) != value
    }
    if not changes:
        return batch_refresh(batch, locked)
    now = timezone.now()
    locked.call_settings = cleaned.to_json()
    fields = ["call_settings", "updated_at"]
    if cleaned.priority != locked.priority:
        locked.priority = cleaned.priority
        locked.priority_rank = Batch.PRIORITY_RANK[locked.priority]
        fields += ["priority", "priority_rank"]
    locked.updated_at = now
    locked.save(update_fields=fields)
    made_due = 0
    if any(key in changes for key in WINDOW_FIELDS):
        made_due = batch_jobs_make_due(batch=locked, now=now)
    batch_event_add(
        batch=locked,
        kind=BatchEvent.Kind.SETTINGS_CHANGED,
        user=user,
        data={"part": "call_settings", "changes": changes, "jobs_made_due": made_due},
    )
    if locked.is_dialable and made_due:
        jobs_ready.send(sender=Batch, account_id=locked.account_id)
    return batch_refresh(batch, locked)


@transaction.atomic
def batch_update_details(*, batch: Batch, user, **fields) -> Batch:
    """Change name, description and/or priority; logged as settings_changed with the diff."""
    unknown = set(fields) - {"name", "description", "priority"}
    if unknown:
        raise TypeError(f"batch_update_details() got unexpected fields {sorted(unknown)}")
    errors: dict[str, list] = {}
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()[:200]
        if not fields["name"]:
            errors["name"] = [_("This field may not be blank.")]
    if "description" in fields:
        fields["description"] = fields["description"] or ""
    if "priority" in fields and fields["priority"] not in Batch.Priority.values:
        errors["priority"] = [
            _("Must be one of: %(choices)s.") % {"choices": ", ".join(Batch.Priority.values)}
        ]
    if errors:
        raise BatchError(errors)
    locked = batch_lock(batch)
    changes = {
        key: {"from": getattr(locked, key), "to": value}
        for key, value in fields.items()
        if getattr(locked, key) != value
    }
    if not changes:
        return batch_refresh(batch, locked)
    update = ["updated_at", *changes]
    for key, change in changes.items():
        setattr(locked, key, change["to"])
    if "priority" in changes:
        locked.priority_rank = Batch.PRIORITY_RANK[locked.priority]
        locked.call_settings = {**locked.call_settings, "priority": locked.priority}
        update += ["priority_rank", "call_settings"]
    locked.updated_at = timezone.now()
    locked.save(update_fields=update)
    batch_event_add(
        batch=locked,
        kind=BatchEvent.Kind.SETTINGS_CHANGED,
        user=user,
        data={"part": "details", "changes": changes},
    )
    return batch_refresh(batch, locked)


@transaction.atomic
def batch_update(
    *,
    batch: Batch,
    user,
    is_active: bool | None = None,
    call_settings: dict | None = None,
    **details,
) -> Batch:
    """An edit of several things at once (the API's PATCH), in one transaction: details
    (name, description, priority), then call settings, then pause/resume, so a resume
    dispatches with the new settings. Each part logs its own event."""
    if details:
        batch_update_details(batch=batch, user=user, **details)
    if call_settings is not None:
        batch_update_settings(batch=batch, call_settings=call_settings, user=user)
    if is_active is not None:
        batch_set_active(batch=batch, is_active=is_active, user=user)
    return batch
