"""Writes for batches: creation (JSON or Excel), pause/resume and edits.

Creating a batch commits the batch, all its jobs (``batches.ingest``: PostgreSQL COPY, chunk
by chunk, a spreadsheet's rows being stored while the next ones are read) and its "created"
event in one transaction, and announces ``batches.signals.jobs_ready``: after commit the engine
(``calls.dispatch.dispatch_account``) publishes the process_job messages of the jobs that can
start now (free call slots plus a small lookahead), never one per job. Every state change
takes the batch's row lock, writes a BatchEvent naming the user, and is read by the engine at
its next claim: the engine re-reads the batch row (under lock) after claiming each job, so a
pause or a settings edit applies to every job not yet dialled as soon as it commits.
Cancelling, which must spare the calls in progress, is the engine's (``calls.campaigns``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
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
from batches.call_settings import CallSettings, CallSettingsError, validate_call_settings
from batches.debtors.merge import debtors_merge
from batches.excel import ExcelError, ParseResult, open_contacts
from batches.jobs import (
    batch_defer_to_window,
    batch_jobs_forget_published,
    batch_jobs_make_due,
)
from batches.models import Batch, BatchEvent
from batches.queries import IMPORT_LOCK_SQL
from batches.reasons import JobReason
from batches.signals import jobs_ready
from batches.windows import campaign_opens
from callcenter.db import written_sql

# Expected length of one call, for estimated_cost (capped by the batch's max_call_duration).
EXPECTED_CALL_SECONDS = getattr(settings, "BATCH_EXPECTED_CALL_SECONDS", 120)
MAX_DAYS_OFFSET = 3650
FINISHED_STATUSES = (Batch.Status.COMPLETED, Batch.Status.CANCELLED)
# Settings whose change can make a job deferred by the calling window due earlier.
WINDOW_FIELDS = ("allowed_hours", "days_of_week", "timezone")
SCHEDULE_SKEW = timedelta(minutes=5)
# pg_advisory_xact_lock key space of "creating a batch for account N" (serialises the
# allow_duplicates check with concurrent imports of the same account).
_CREATE_LOCK_NAMESPACE = 0x0BA7C4 << 32
VOICE_LIMITS = {"speed": (0.5, 2.0), "pitch": (-10, 10), "volume": (0.5, 2.0)}
VOICE_DEFAULTS = {"voice_id": "", "speed": 1.0, "pitch": 0, "volume": 1.0, "language": "es-CL"}
VOICE_TEXT_FIELDS = ("voice_id", "language", "agent_id")
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


class BatchError(ValueError):
    """The request cannot be applied. ``errors`` maps field names ("call_settings.max_attempts",
    "scheduled_at", "file") to lists of messages; ``rows`` lists row problems
    ({row, column, value, message}) when the data itself was refused."""

    def __init__(self, errors: dict[str, list], *, rows: list[dict] | None = None) -> None:
        super().__init__(", ".join(sorted(errors)))
        self.errors = {key: [str(m) for m in messages] for key, messages in errors.items()}
        self.rows = rows or []


@dataclass
class BatchOptions:
    """Everything of a new batch except its debtors, validated."""

    name: str
    call_settings: CallSettings
    description: str = ""
    script_content: str = ""
    voice_settings: dict = field(default_factory=dict)
    schedule_type: str = Batch.ScheduleType.IMMEDIATE
    scheduled_at: datetime | None = None
    recurring_config: dict | None = None
    priority: str = Batch.Priority.NORMAL
    allow_duplicates: bool = False
    dias_fecha_limite: int | None = None
    dias_fecha_maxima: int | None = None


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


# --- validation ----------------------------------------------------------------------------


def call_settings_clean(
    *, account: Account, call_settings: dict | None, prefix: str = "call_settings"
) -> CallSettings:
    """Complete, validated call settings for ``account`` (its time zone and compliance
    profile); BatchError with dotted names ("call_settings.max_attempts") otherwise."""
    try:
        return validate_call_settings(
            call_settings, default_timezone=account.timezone, profile=account.compliance_profile
        )
    except CallSettingsError as exc:
        raise BatchError(
            {
                prefix if key == "non_field_errors" else f"{prefix}.{key}": messages
                for key, messages in exc.errors.items()
            }
        )


# PostgreSQL cannot store U+0000 in text or JSON: refused as bad input, never a 500.
NUL_MESSAGE = _("Null characters are not allowed.")


def _has_nul(value) -> bool:
    """Whether a JSON value holds U+0000 in any string or key."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def voice_settings_clean(voice_settings: dict | None) -> dict:
    """voice_id, speed 0.5-2.0, pitch -10-10, volume 0.5-2.0, language (es-CL), agent_id."""
    if voice_settings is None:
        voice_settings = {}
    if not isinstance(voice_settings, dict):
        raise BatchError({"voice_settings": [_("Must be an object.")]})
    errors: dict[str, list] = {}
    cleaned = dict(VOICE_DEFAULTS)
    for key, value in voice_settings.items():
        name = f"voice_settings.{key}"
        if key in VOICE_LIMITS:
            low, high = VOICE_LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors[name] = [_("Must be a number.")]
            elif not low <= value <= high:
                errors[name] = [
                    _("Must be between %(min)s and %(max)s.") % {"min": low, "max": high}
                ]
            else:
                cleaned[key] = value
        elif key in VOICE_TEXT_FIELDS:
            if not isinstance(value, str) or len(value) > 100:
                errors[name] = [_("Must be a text of at most 100 characters.")]
            elif "\x00" in value:
                errors[name] = [NUL_MESSAGE]
            else:
                cleaned[key] = value.strip()
        else:
            errors[name] = [_("Unknown field.")]
    if errors:
        raise BatchError(errors)
    return cleaned


def batch_options_clean(
    *,
    account: Account,
    name: str,
    call_settings: dict | None = None,
    description: str = "",
    script_content: str = "",
    voice_settings: dict | None = None,
    schedule_type: str = Batch.ScheduleType.IMMEDIATE,
    scheduled_at: datetime | None = None,
    recurring_config: dict | None = None,
    priority: str | None = None,
    allow_duplicates: bool = False,
    dias_fecha_limite: int | None = None,
    dias_fecha_maxima: int | None = None,
    now: datetime | None = None,
) -> BatchOptions:
    """Validate a new batch's options, collecting every error before raising BatchError."""
    now = now or timezone.now()
    errors: dict[str, list] = {}
    if account.status != Account.Status.ACTIVE:
        errors["account_id"] = [_("The account is suspended.")]
    cleaned_settings, cleaned_voice = CallSettings(), {}
    try:
        cleaned_settings = call_settings_clean(account=account, call_settings=call_settings)
    except BatchError as exc:
        errors.update(exc.errors)
    try:
        cleaned_voice = voice_settings_clean(voice_settings)
    except BatchError as exc:
        errors.update(exc.errors)
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    if priority is not None and priority not in Batch.Priority.values:
        errors["priority"] = [
            _("Must be one of: %(choices)s.") % {"choices": ", ".join(Batch.Priority.values)}
        ]
    if schedule_type not in Batch.ScheduleType.values:
        errors["schedule_type"] = [
            _("Must be one of: %(choices)s.") % {"choices": ", ".join(Batch.ScheduleType.values)}
        ]
    elif schedule_type == Batch.ScheduleType.IMMEDIATE:
        if scheduled_at is not None:
            errors["scheduled_at"] = [
                _(
                    "Only scheduled or recurring campaigns take a start "
                    'time; use schedule_type "scheduled".'
                )
            ]
    elif scheduled_at is None:
        errors["scheduled_at"] = [
            _('Required when schedule_type is "%(type)s".') % {"type": schedule_type}
        ]
    elif scheduled_at < now - SCHEDULE_SKEW:
        errors["scheduled_at"] = [_("Must be in the future.")]
    if recurring_config is not None and not isinstance(recurring_config, dict):
        errors["recurring_config"] = [_("Must be an object.")]
    elif _has_nul(recurring_config):
        errors["recurring_config"] = [NUL_MESSAGE]
    for key, value in (
        ("dias_fecha_limite", dias_fecha_limite),
        ("dias_fecha_maxima", dias_fecha_maxima),
    ):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= MAX_DAYS_OFFSET
        ):
            errors[key] = [
                _("Must be a whole number of days from 0 to %(max)s.") % {"max": MAX_DAYS_OFFSET}
            ]
    if errors:
        raise BatchError(errors)
    if priority is None:
        priority = cleaned_settings.priority
    return BatchOptions(
        name=name[:200],
        call_settings=replace(cleaned_settings, priority=priority),
        description=description or "",
        script_content=script_content or "",
        voice_settings=cleaned_voice,
        schedule_type=schedule_type,
        scheduled_at=scheduled_at,
        recurring_config=recurring_config,
        priority=priority,
        allow_duplicates=bool(allow_duplicates),
        dias_fecha_limite=dias_fecha_limite,
        dias_fecha_maxima=dias_fecha_maxima,
    )


# --- creation ------------------------------------------------------------------------------


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
        account=account, ruts=[c["rut"] for c in contacts], exclude_batch=batch
    )
    if not existing:
        return contacts, 0
    kept = []
    for contact in contacts:
        other = existing.get(contact["rut"])
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
) -> BatchCreateResult:
    """Store a batch and its jobs from debtors that arrive in chunks, in one transaction.

    ``chunks`` may be read from a file while it is consumed: the batch row is saved first
    (its id goes into every job), each chunk is checked against the account's open jobs and
    copied while the next one is read, and the batch's counts, import report and estimated
    cost are saved once the last chunk is in. ``summary`` (counts, errors, warnings) is
    complete by then; ``late_merges`` are debtors changed after their chunk was stored (a
    later row with the same RUT), whose jobs are rewritten. No debtor at all raises
    ``when_empty()``; any error rolls everything back.
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


def batch_event_add(*, batch: Batch, kind: str, user, data: dict | None = None) -> BatchEvent:
    """Log what happened to the batch: its kind and facts (``BatchEvent.message`` says it in
    the reader's language)."""
    return BatchEvent.objects.create(batch=batch, kind=kind, user=user, data=data or {})


# --- control -------------------------------------------------------------------------------


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


@transaction.atomic
def batch_set_active(*, batch: Batch, is_active: bool, user) -> Batch:
    """Pause (is_active false) or resume a batch.

    A pause stops every call not yet placed as soon as it commits (in-flight calls finish).
    Resuming sets the batch running again (or pending if its start time is still ahead) and
    publishes its first jobs after commit. Finished batches cannot change (BatchError).
    """
    locked = batch_lock(batch)
    if locked.status in FINISHED_STATUSES:
        raise BatchError(
            {
                "is_active": [
                    _("A %(status)s campaign cannot be paused or resumed.")
                    % {"status": locked.get_status_display().lower()}
                ]
            }
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
    if locked.status in FINISHED_STATUSES:
        raise BatchError(
            {
                "call_settings": [
                    _("A %(status)s campaign cannot be changed.")
                    % {"status": locked.get_status_display().lower()}
                ]
            }
        )
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
