"""Spreadsheet exports of a batch: the results (one row per debtor) and the audit trail.

Both are written with openpyxl's write-only mode into a temporary file, from querysets read
with ``.iterator(chunk_size=2000)`` (a server-side cursor on PostgreSQL): a 100,000-job batch
never exists as a list of model instances, and memory stays flat. The per-job attempt
aggregates come from the same query (``annotate``), never one query per job.

No formula injection: every text cell is written as a string cell (``data_type="s"``) with
Excel's quote prefix, so a debtor named ``=HYPERLINK(...)`` or ``+56 9 ...`` stays text even
when the cell is edited in Excel. Times are written in the batch's time zone, without offset
(Excel has none); the header says which zone.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, FilteredRelation, Max, Q, Sum
from django.utils.text import slugify
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from accounts.models import User
from accounts.permissions import username_shown_to
from batches.debtors.text import is_formula_like
from batches.models import (
    Batch,
    BatchEvent,
    Job,
    JobEvent,
    batch_event_message,
    job_event_message,
)
from batches.reasons import reason_label
from calls.models import CallAttempt

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 2_000
# Spooled in memory up to this size, then on disk.
SPOOL_BYTES = 8 * 1024 * 1024
TRANSCRIPT_CHARS = 32_000  # Excel's limit per cell is 32,767 characters
BOLD = Font(bold=True)


@dataclass
class Export:
    """A finished workbook: an open binary file positioned at 0, and its download name."""

    file: object
    filename: str
    rows: int


def _zone(batch: Batch) -> ZoneInfo:
    name = (batch.call_settings or {}).get("timezone") or batch.account.timezone
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):  # pragma: no cover - validated on the way in
        return ZoneInfo("UTC")


class _Sheet:
    """A write-only worksheet whose text cells can never become formulas."""

    def __init__(self, workbook: Workbook, title: str, headers: list[str], zone: ZoneInfo):
        self.ws = workbook.create_sheet(title=title[:31])
        self.zone = zone
        self.rows = 0
        header = []
        for text in headers:
            cell = WriteOnlyCell(self.ws, value=str(text))
            cell.data_type = "s"
            cell.font = BOLD
            header.append(cell)
        self.ws.append(header)
        self.ws.freeze_panes = "A2"

    def _text(self, value: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=value)
        # openpyxl turns any string starting with "=" into a formula: force a string cell,
        # and set Excel's quote prefix so that editing the cell keeps it text.
        cell.data_type = "s"
        cell.quotePrefix = True
        return cell

    def _cell(self, value):
        """Plain values go as they are (the fast path of write-only mode); only a text that
        could be read as a formula needs a cell object of its own."""
        cls = value.__class__
        if cls is str:
            if not value:
                return None
            return self._text(value) if is_formula_like(value) else value
        if value is None or cls is bool or cls is int or cls is float or cls is Decimal:
            return value
        if isinstance(value, datetime):
            # A naive datetime in the batch's zone: openpyxl gives it a date-time format.
            return value.astimezone(self.zone).replace(tzinfo=None)
        return self._cell(str(value))

    def append(self, values: Iterable) -> None:
        cell = self._cell
        self.ws.append([cell(v) for v in values])
        self.rows += 1


def _finish(workbook: Workbook, filename: str, rows: int) -> Export:
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, suffix=".xlsx")
    workbook.save(out)
    out.seek(0)
    return Export(file=out, filename=filename, rows=rows)


def _filename(batch: Batch, suffix: str) -> str:
    base = slugify(batch.batch_id) or "campaign"
    return f"{base}{suffix}.xlsx"


def _tz_label(zone: ZoneInfo) -> str:
    return _("times in %(zone)s") % {"zone": zone.key}


# --- results --------------------------------------------------------------------------------


def results_queryset(*, batch: Batch):
    """The batch's jobs in id order with their attempt aggregates, in one query. ``calls``
    counts the attempts made (a provider error waiting to be re-sent is not one yet); the
    job's own ``attempts`` counter may have been reset by "retry failed now".

    The attempts are joined on the job *and the batch* (``FilteredRelation``): the same rows
    (a job's attempts are all of its batch), but PostgreSQL can then read only this batch's
    attempts (attempt_batch_idx) instead of hashing every attempt ever made."""
    attempts = FilteredRelation("call_attempts", condition=Q(call_attempts__batch=batch))
    ended = Q(batch_attempts__status=CallAttempt.Status.ENDED)
    return (
        Job.objects.filter(batch=batch)
        .alias(batch_attempts=attempts)
        .order_by("id")
        .values("id", "rut", "contact", "status", "attempts", "last_outcome", "last_error")
        .annotate(
            calls=Count(
                "batch_attempts",
                filter=~Q(batch_attempts__status=CallAttempt.Status.PROVIDER_ERROR),
            ),
            last_call_at=Max("batch_attempts__started_at"),
            total_seconds=Sum("batch_attempts__duration_seconds", filter=ended),
            total_cost=Sum("batch_attempts__cost"),
        )
    )


def export_results(*, batch: Batch) -> Export:
    """One row per debtor: RUT, name, phones, final status, attempts, last outcome, last call
    time, total talk time and cost (credits)."""
    zone = _zone(batch)
    workbook = Workbook(write_only=True)
    status_labels = {key: str(label) for key, label in Job.Status.choices}
    sheet = _Sheet(
        workbook,
        _("Results"),
        [
            _("RUT"),
            _("Name"),
            _("Phones"),
            _("Final status"),
            _("Attempts"),
            _("Last outcome"),
            _("Detail"),
            _("Last call (%(zone)s)") % {"zone": zone.key},
            _("Total duration (s)"),
            _("Cost (credits)"),
        ],
        zone,
    )
    for row in results_queryset(batch=batch).iterator(chunk_size=CHUNK):
        contact = row["contact"] or {}
        phones = contact.get("phones") or []
        sheet.append(
            [
                row["rut"],
                contact.get("name") or "",
                ", ".join(str(p) for p in phones),
                status_labels.get(row["status"], row["status"]),
                row["calls"],
                row["last_outcome"],
                reason_label(row["last_error"]),
                row["last_call_at"],
                row["total_seconds"] or 0,
                row["total_cost"] if row["total_cost"] is not None else Decimal("0"),
            ]
        )
    return _finish(workbook, _filename(batch, ""), sheet.rows)


# --- audit ------------------------------------------------------------------------------------


def export_audit(*, batch: Batch, viewer) -> Export:
    """The audit trail of a batch, three sheets: the batch log (who paused, resumed, changed
    settings... as ``viewer`` may see them: a client never sees operators' usernames), every
    call attempt, and every job event (deferrals, claims, outcomes)."""
    zone = _zone(batch)
    workbook = Workbook(write_only=True)
    kinds = {key: str(label) for key, label in BatchEvent.Kind.choices}
    log = _Sheet(
        workbook,
        _("Campaign log"),
        [_("Time"), _("Event"), _("Kind"), _("Message"), _("User"), _("Data"), _tz_label(zone)],
        zone,
    )
    events = (
        BatchEvent.objects.filter(batch=batch)
        .order_by("created_at", "id")
        .values_list(
            "created_at",
            "kind",
            "detail",
            "user__username",
            "user__is_staff",
            "user__account_id",
            "data",
        )
    )
    system = _("system")
    for created_at, kind, detail, username, is_staff, account_id, data in events.iterator(
        chunk_size=CHUNK
    ):
        author = User(username=username, is_staff=is_staff, account_id=account_id)
        log.append(
            [
                created_at,
                kinds.get(kind, kind),
                kind,
                batch_event_message(kind=kind, data=data, detail=detail),
                username_shown_to(viewer, author) if username else system,
                _json(data),
            ]
        )

    outcome_labels = {key: str(label) for key, label in CallAttempt.Outcome.choices}
    status_labels = {key: str(label) for key, label in CallAttempt.Status.choices}
    attempts = _Sheet(
        workbook,
        _("Call attempts"),
        [
            _("Created"),
            _("RUT"),
            _("Name"),
            _("Attempt"),
            _("Phone"),
            _("Status"),
            _("Outcome"),
            _("Disconnection reason"),
            _("Started"),
            _("Ended"),
            _("Duration (s)"),
            _("Cost (credits)"),
            _("Call id"),
            _("Error"),
            _("Recording"),
            _("Transcript"),
            _tz_label(zone),
        ],
        zone,
    )
    rows = (
        CallAttempt.objects.filter(batch=batch)
        .order_by("job_id", "attempt_number", "id")
        .values_list(
            "created_at",
            "rut",
            "job__contact__name",
            "attempt_number",
            "phone",
            "status",
            "outcome",
            "disconnection_reason",
            "started_at",
            "ended_at",
            "duration_seconds",
            "cost",
            "call_id",
            "error",
            "recording_url",
            "transcript",
        )
    )
    for values in rows.iterator(chunk_size=CHUNK):
        values = list(values)
        values[5] = status_labels.get(values[5], values[5])
        values[6] = outcome_labels.get(values[6], values[6] or "")
        values[15] = (values[15] or "")[:TRANSCRIPT_CHARS]
        attempts.append(values)

    history = _Sheet(
        workbook,
        _("Job history"),
        [_("Time"), _("RUT"), _("Kind"), _("Message"), _tz_label(zone)],
        zone,
    )
    job_events = (
        JobEvent.objects.filter(job__batch=batch)
        .order_by("job_id", "created_at", "id")
        .values_list("created_at", "job__rut", "kind", "reason", "detail")
    )
    for created_at, rut, kind, reason, detail in job_events.iterator(chunk_size=CHUNK):
        history.append([created_at, rut, kind, job_event_message(reason=reason, detail=detail)])
    return _finish(workbook, _filename(batch, "-audit"), log.rows + attempts.rows + history.rows)


def _json(data) -> str:
    if not data:
        return ""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
