"""What every batch write shares: its error, its row lock and its event log."""

from __future__ import annotations

from batches.models import Batch, BatchEvent

FINISHED_STATUSES = (Batch.Status.COMPLETED, Batch.Status.CANCELLED)


class BatchError(ValueError):
    """The request cannot be applied. ``errors`` maps field names ("call_settings.max_attempts",
    "scheduled_at", "file") to lists of messages; ``rows`` lists row problems
    ({row, column, value, message}) when the data itself was refused."""

    def __init__(self, errors: dict[str, list], *, rows: list[dict] | None = None) -> None:
        super().__init__(", ".join(sorted(errors)))
        self.errors = {key: [str(m) for m in messages] for key, messages in errors.items()}
        self.rows = rows or []


def batch_event_add(*, batch: Batch, kind: str, user, data: dict | None = None) -> BatchEvent:
    """Log what happened to the batch: its kind and facts (``BatchEvent.message`` says it in
    the reader's language)."""
    return BatchEvent.objects.create(batch=batch, kind=kind, user=user, data=data or {})


def batch_lock(batch: Batch) -> Batch:
    """The batch re-read under its row lock (the engine takes the same lock before dialling).
    ``of=("self",)`` keeps the account row, which the engine locks for money, unlocked."""
    return (
        Batch.objects.select_for_update(no_key=True, of=("self",))
        .select_related("account")
        .get(pk=batch.pk)
    )


def batch_refresh(target: Batch, source: Batch) -> Batch:
    for f in Batch._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
    return target
