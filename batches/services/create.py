"""Creating a batch (the JSON form or a spreadsheet) and its estimated cost.

A batch, all its jobs (``batches.ingest``: PostgreSQL COPY, chunk by chunk, a spreadsheet's
rows being stored while the next ones are read) and its "created" event commit in one
transaction, which announces ``batches.signals.jobs_ready``: after commit the engine publishes
the process_job messages of the jobs that can start now, never one per job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.compliance import zone_error
from accounts.models import Account
from accounts.services import call_cost
from batches import ingest
from batches.debtors.merge import debtors_merge
from batches.excel import ExcelError, ParseResult, open_contacts
from batches.jobs import batch_defer_to_window
from batches.models import Batch, BatchEvent
from batches.queries import IMPORT_LOCK_SQL
from batches.reasons import JobReason
from batches.recurrence import next_run_after
from batches.services.base import BatchError, batch_event_add
from batches.services.options import BatchOptions, batch_options_clean, script_check
from batches.signals import jobs_ready
from batches.windows import campaign_opens
from callcenter.db import written_sql

# Expected length of one call, for estimated_cost (capped by the batch's max_call_duration);
# the API documents it as 2 minutes, so it is a constant, not a setting.
EXPECTED_CALL_SECONDS = 120
# pg_advisory_xact_lock key space of "creating a batch for account N" (serialises the
# allow_duplicates check with concurrent imports of the same account).
_CREATE_LOCK_NAMESPACE = 0x0BA7C4 << 32
MAX_ISSUES_STORED = 1_000
# What a new batch learns from its debtors once they are all stored.
_IMPORT_FIELDS = [
    "estimated_cost",
    "total_rows",
    "invalid_rows",
    "duplicates_merged",
    "skipped_existing",
    "total_jobs",
    "import_errors",
]


@dataclass
class BatchCreateResult:
    batch: Batch
    total_jobs: int
    total_rows: int
    invalid_rows: int
    duplicates_merged: int
    skipped_existing: int
    errors: list[dict] = field(default_factory=list)  # invalid rows: {row, column, value, message}
    warnings: list[dict] = field(default_factory=list)  # merged, skipped, ignored values


def contact_zones_check(*, account: Account, contacts: list[dict], contacts_field: str) -> None:
    """BatchError naming ``contacts[i].timezone`` for each contact zone the account's
    compliance profile does not accept (a zone abroad would move its hours)."""
    errors = {
        f"{contacts_field}[{index}].timezone": [message]
        for index, contact in enumerate(contacts)
        if contact.get("timezone")
        and (message := zone_error(contact["timezone"], account.compliance_profile)) is not None
    }
    if errors:
        raise BatchError(errors)


def batch_create(
    *,
    account: Account,
    user,
    name: str,
    contacts: Iterable[dict],
    call_settings: dict | None = None,
    contacts_field: str = "contacts",
    total_rows: int | None = None,
    invalid_rows: int = 0,
    duplicates_merged: int = 0,
    import_errors: Iterable[dict] = (),
    import_warnings: Iterable[dict] = (),
    now: datetime | None = None,
    **options,
) -> BatchCreateResult:
    """Create a batch with one job per debtor (the JSON form).

    ``contacts`` are normalised dicts as ``batches.excel.read_contacts`` returns them: {row?,
    name, rut, phones[E.164], email, debt_amount, due_date, installments, company_name,
    custom_fields, timezone?}. The same RUT twice is merged (phones unioned); with
    ``allow_duplicates`` false, debtors with an open job in another open batch of the account
    are skipped and reported. ``options`` are those of ``batch_options_clean``. Raises
    BatchError (nothing stored) for invalid options or when no debtor is left.
    """
    now = now or timezone.now()
    cleaned = batch_options_clean(
        account=account, name=name, call_settings=call_settings, now=now, **options
    )
    contacts = list(contacts)
    contact_zones_check(account=account, contacts=contacts, contacts_field=contacts_field)
    unique, merged, merge_warnings = debtors_merge(contacts)
    import_errors = list(import_errors)
    if not unique:
        raise BatchError({contacts_field: [_("No debtors to import.")]}, rows=import_errors)
    script_check(cleaned.script_content, custom_columns=sorted(
        {key for contact in unique for key in contact.get("custom_fields") or ()}))
    summary = ParseResult(
        total_rows=len(unique) + merged + invalid_rows if total_rows is None else total_rows,
        invalid_rows=invalid_rows,
        duplicates_merged=duplicates_merged + merged,
        errors=import_errors,
        warnings=[*import_warnings, *merge_warnings],
    )
    return _batch_create(
        account=account,
        user=user,
        options=cleaned,
        chunks=ingest.chunked(unique, ingest.CHUNK_CONTACTS),
        summary=summary,
        late_merges={},
        contacts_field=contacts_field,
        when_empty=lambda: BatchError({contacts_field: [_("No debtors to import.")]}),
        now=now,
    )


def batch_create_from_excel(
    *,
    account: Account,
    user,
    name: str,
    source,
    column_mapping: dict | None = None,
    call_settings: dict | None = None,
    max_rows: int | None = None,
    max_bytes: int | None = None,
    now: datetime | None = None,
    **options,
) -> BatchCreateResult:
    """Read a debtor spreadsheet (a path, bytes or a binary file) and create its batch.

    The options are validated before the file is read. A whole-file problem, or a file with
    no valid row, raises BatchError naming "file" (with the row errors); nothing is stored.
    The rows are stored as they are read (see ``_batch_create``): the batch, its jobs and its
    event still commit together, or not at all.
    """
    now = now or timezone.now()
    cleaned = batch_options_clean(
        account=account, name=name, call_settings=call_settings, now=now, **options
    )
    try:
        with open_contacts(
            source,
            column_mapping=column_mapping,
            max_rows=max_rows or settings.EXCEL_MAX_ROWS,
            max_bytes=max_bytes or settings.EXCEL_MAX_BYTES,
        ) as reader:
            parsed = reader.result
            # Its custom columns are variables the script may use: known once the header is read.
            script_check(cleaned.script_content, custom_columns=parsed.custom_columns)

            def no_valid_row() -> BatchError:
                message = ngettext(
                    "No valid rows: the row has errors; nothing was imported.",
                    "No valid rows: all %(count)s rows have errors; nothing was imported.",
                    parsed.total_rows,
                ) % {"count": parsed.total_rows}
                return BatchError({"file": [message]}, rows=parsed.errors)

            return _batch_create(
                account=account,
                user=user,
                options=cleaned,
                chunks=reader.chunks(ingest.CHUNK_CONTACTS),
                summary=parsed,
                late_merges=reader.late_merges,
                contacts_field="file",
                when_empty=no_valid_row,
                now=now,
            )
    except ExcelError as exc:
        raise BatchError({"file": [exc.message]})


def _lock_account_imports(account: Account) -> None:
    if written_sql():
        with connection.cursor() as cursor:
            cursor.execute(
                IMPORT_LOCK_SQL,
                [_CREATE_LOCK_NAMESPACE | (account.pk & 0xFFFFFFFF)],
            )


def _new_batch_id(now: datetime) -> str:
    return now.astimezone(ZoneInfo("UTC")).strftime("batch-%Y-%m-%d-%H%M%S-%f")


def estimate_cost(*, account: Account, jobs: int, max_call_duration: int) -> Decimal:
    """jobs × (setup + per-minute × expected minutes), in credits at the account's prices.

    Expected minutes = min(EXPECTED_CALL_SECONDS, max_call_duration) / 60: one answered call of
    typical length per debtor. Retries and unanswered calls (setup only) are not counted; the
    actual charge is settled per call.
    """
    seconds = min(EXPECTED_CALL_SECONDS, max_call_duration)
    return call_cost(account=account, seconds=seconds, answered=True) * jobs


def _offset_date(today: date, days: int | None) -> str | None:
    return None if days is None else (today + timedelta(days=days)).isoformat()


def _skip_open(account: Account, batch: Batch, contacts: list[dict], warnings: list[dict]):
    """Drop (and report in ``warnings``, at most MAX_ISSUES_STORED) debtors with an open job
    in another open batch of the account than ``batch``. Returns (kept, skipped count)."""
    existing = ingest.open_ruts(
        account=account, ruts=[c["rut"] for c in contacts if c["rut"]], exclude_batch=batch
    )  # a debtor without RUT is not matched across campaigns (only within one, by phone)
    if not existing:
        return contacts, 0
    kept = []
    for contact in contacts:
        other = existing.get(contact["rut"]) if contact["rut"] else None
        if other is None:
            kept.append(contact)
            continue
        if len(warnings) >= MAX_ISSUES_STORED:
            continue
        message = _("Skipped: already has an open job in campaign %(batch_id)s")
        warnings.append(
            {
                "row": contact.get("row"),
                "column": "rut",
                "value": contact["rut"],
                "message": message % {"batch_id": other},
            }
        )
    return kept, len(contacts) - len(kept)


def _batch_create(
    *,
    account: Account,
    user,
    options: BatchOptions,
    chunks: Iterable[list[dict]],
    summary: ParseResult,
    late_merges: dict[str, dict],
    contacts_field: str,
    when_empty: Callable[[], BatchError],
    now: datetime,
    parent: Batch | None = None,
) -> BatchCreateResult:
    """Store a batch and its jobs from debtors that arrive in chunks, in one transaction.

    ``chunks`` may be read from a file while it is consumed: the batch row is saved first
    (its id goes into every job), each chunk is checked against the account's open jobs and
    copied while the next one is read, and the batch's counts, import report and estimated
    cost are saved once the last chunk is in. ``summary`` (counts, errors, warnings) is
    complete by then; ``late_merges`` are debtors changed after their chunk was stored (a
    later row with the same RUT), whose jobs are rewritten. No debtor at all raises
    ``when_empty()``; any error rolls everything back. ``parent``: the recurring campaign
    this batch is the next run of (``batches.services.recurring``).
    """
    tz = options.call_settings.timezone
    today = now.astimezone(ZoneInfo(tz)).date()
    fecha_limite = _offset_date(today, options.dias_fecha_limite)
    fecha_maxima = _offset_date(today, options.dias_fecha_maxima)
    immediate = options.schedule_type == Batch.ScheduleType.IMMEDIATE
    status = Batch.Status.RUNNING if immediate else Batch.Status.PENDING
    start = now if immediate else options.scheduled_at
    # A window closed at the start: the jobs say when it opens (and why), from the outset.
    due = start
    if start is not None:
        due = campaign_opens(call_settings=options.call_settings,
                             profile=account.compliance_profile, after=start) or start
    skip_warnings: list[dict] = []
    skipped = 0

    def not_open_elsewhere(chunk: list[dict]) -> list[dict]:
        nonlocal skipped
        kept, count = _skip_open(account, batch, chunk, skip_warnings)
        skipped += count
        return kept

    with transaction.atomic():
        if not options.allow_duplicates:
            _lock_account_imports(account)
        batch = Batch(
            account=account,
            name=options.name,
            description=options.description,
            script_content=options.script_content,
            voice_settings=options.voice_settings,
            call_settings=options.call_settings.to_json(),
            schedule_type=options.schedule_type,
            scheduled_at=options.scheduled_at,
            recurring_config=options.recurring_config,
            priority=options.priority,
            priority_rank=Batch.PRIORITY_RANK[options.priority],
            status=status,
            is_active=True,
            created_by=user,
            parent=parent,
            run_number=1 if parent is None else parent.runs_count + 1,
            next_run_at=_second_run(options, account) if parent is None else None,
        )
        _save_with_unique_id(batch, now)
        count = ingest.jobs_insert_chunks(
            batch=batch,
            chunks=chunks,
            now=now,
            next_try_at=due,
            last_error=JobReason.WAIT_WINDOW if due != start else "",
            fecha_limite=fecha_limite,
            fecha_maxima=fecha_maxima,
            keep=None if options.allow_duplicates else not_open_elsewhere,
        )
        if due != start:  # jobs whose numbers open later than the campaign say so too
            batch_defer_to_window(batch_pk=batch.pk, call_settings=options.call_settings,
                                  profile=account.compliance_profile, now=start)
        if count + skipped == 0:
            raise when_empty()
        warnings = [*summary.warnings, *skip_warnings][:MAX_ISSUES_STORED]
        if count == 0:
            message = _(
                "Every debtor already has an open job in another active campaign of this "
                "account (allow_duplicates is false); nothing was imported."
            )
            raise BatchError({contacts_field: [message]}, rows=summary.errors + warnings)
        ingest.jobs_refresh(
            batch=batch,
            contacts=late_merges.values(),
            fecha_limite=fecha_limite,
            fecha_maxima=fecha_maxima,
        )
        batch.estimated_cost = estimate_cost(
            account=account,
            jobs=count,
            max_call_duration=options.call_settings.max_call_duration,
        )
        batch.total_rows = summary.total_rows
        batch.invalid_rows = summary.invalid_rows
        batch.duplicates_merged = summary.duplicates_merged
        batch.skipped_existing = skipped
        batch.total_jobs = count
        batch.import_errors = (
            [{**e, "level": "error"} for e in summary.errors]
            + [{**w, "level": "warning"} for w in warnings]
        )[:MAX_ISSUES_STORED]
        batch.save(update_fields=_IMPORT_FIELDS)
        batch_event_add(
            batch=batch,
            kind=BatchEvent.Kind.CREATED,
            user=user,
            data={
                "total_jobs": count,
                "total_rows": summary.total_rows,
                "invalid_rows": summary.invalid_rows,
                "duplicates_merged": summary.duplicates_merged,
                "skipped_existing": skipped,
            },
        )
        if status == Batch.Status.RUNNING:
            jobs_ready.send(sender=Batch, account_id=account.pk)
        if count >= settings.BATCHES_ANALYZE_MIN_JOBS:
            # After commit (the sample must see the new rows); a failure only logs.
            transaction.on_commit(ingest.jobs_analyze, robust=True)
    return BatchCreateResult(
        batch=batch,
        total_jobs=count,
        total_rows=summary.total_rows,
        invalid_rows=summary.invalid_rows,
        duplicates_merged=summary.duplicates_merged,
        skipped_existing=skipped,
        errors=summary.errors,
        warnings=warnings,
    )


def _second_run(options: BatchOptions, account: Account) -> datetime | None:
    if options.schedule_type != Batch.ScheduleType.RECURRING:
        return None
    return next_run_after(config=options.recurring_config, anchor=options.scheduled_at,
                          timezone=options.call_settings.timezone, after=options.scheduled_at,
                          runs=1)


def _save_with_unique_id(batch: Batch, now: datetime) -> None:
    """Save with a readable, unique batch_id; a same-microsecond clash takes the next one."""
    stamp = now
    for _attempt in range(5):
        batch.batch_id = _new_batch_id(stamp)
        try:
            with transaction.atomic():
                batch.save(force_insert=True)
            return
        except IntegrityError:
            if not Batch.objects.filter(batch_id=batch.batch_id).exists():
                raise
            stamp += timedelta(microseconds=1)
            batch.pk = None
    raise IntegrityError("Could not allocate a unique batch_id.")
