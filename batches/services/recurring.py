"""The next run of a recurring campaign: a new Batch linked to it (``parent``), with its
settings, over its debtors not finished for good.

A debtor is finished for good when its latest job (in the campaign or any of its runs) failed
on the do-not-call list or with no valid number left, or when its RUT or every phone is on the
account's do-not-call list now. Everyone else is called again, numbers found invalid excepted;
the engine still applies every rule at each dial (windows, the weekly limits across runs, which
count the account's calls by RUT, the balance). Pausing or cancelling the campaign stops its
future runs; a run already created goes on until it is paused or cancelled itself.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import DoNotCall
from batches import ingest
from batches.call_settings import CallSettings
from batches.excel import ParseResult
from batches.models import Batch, BatchEvent, Job
from batches.reasons import JobReason
from batches.recurrence import next_run_after
from batches.services.base import BatchError, batch_event_add
from batches.services.create import BatchCreateResult, _batch_create
from batches.services.options import BatchOptions

FINISHED_FOR_GOOD = (JobReason.FAIL_DO_NOT_CALL, JobReason.FAIL_NO_PHONE)


def due_recurring_campaigns(*, now: datetime) -> list[int]:
    return list(Batch.objects.filter(
        parent__isnull=True, next_run_at__lte=now, status=Batch.Status.RUNNING, is_active=True,
    ).values_list("pk", flat=True))


def recurring_runs_create(*, now: datetime | None = None) -> int:
    """Start the next run of every recurring campaign that is due; returns how many started."""
    now = now or timezone.now()
    return sum(batch_run_create(parent_pk=pk, now=now) is not None
               for pk in due_recurring_campaigns(now=now))


def batch_run_create(*, parent_pk: int, now: datetime) -> BatchCreateResult | None:
    """Create the due run of one recurring campaign, once per occurrence: its row is claimed
    (skip_locked: a concurrent beat passes by) and its ``next_run_at`` moved on in the same
    transaction, so two beats never start two runs for one occurrence. None when not due."""
    with transaction.atomic():
        parent = (Batch.objects.select_for_update(skip_locked=True, of=("self",))
                  .select_related("account")
                  .filter(pk=parent_pk, parent__isnull=True, next_run_at__lte=now,
                          status=Batch.Status.RUNNING, is_active=True).first())
        if parent is None:
            return None
        contacts, excluded = _debtors_to_call(parent)
        run_number = parent.runs_count + 1
        result = None
        try:  # _batch_create's own savepoint undoes a refused run
            result = _batch_create(
                account=parent.account, user=None, options=_run_options(parent),
                chunks=ingest.chunked(contacts, ingest.CHUNK_CONTACTS),
                summary=ParseResult(total_rows=len(contacts)),
                late_merges={}, contacts_field="contacts",
                when_empty=lambda: BatchError(
                    {"contacts": [_("Every debtor is finished for good.")]}),
                now=now, parent=parent,
            )
        except BatchError as exc:
            batch_event_add(batch=parent, kind=BatchEvent.Kind.RUN_SKIPPED, user=None,
                            data={"run_number": run_number,
                                  "error": " ".join(m for ms in exc.errors.values() for m in ms)})
        if result is not None:
            parent.runs_count = run_number
            data = {"run_number": run_number, "batch_id": result.batch.batch_id,
                    "parent_batch_id": parent.batch_id, "total_jobs": result.total_jobs,
                    "excluded": excluded, "skipped_existing": result.skipped_existing}
            batch_event_add(batch=parent, kind=BatchEvent.Kind.RUN_CREATED, user=None, data=data)
            batch_event_add(batch=result.batch, kind=BatchEvent.Kind.RUN_CREATED, user=None,
                            data=data)
        parent.next_run_at = None if not contacts else next_run_after(
            config=parent.recurring_config, anchor=parent.scheduled_at or parent.created_at,
            timezone=CallSettings.from_json(parent.call_settings).timezone, after=now,
            runs=parent.runs_count)
        if parent.next_run_at is None:
            batch_event_add(batch=parent, kind=BatchEvent.Kind.RECURRENCE_ENDED, user=None,
                            data={"runs": parent.runs_count})
        parent.updated_at = now
        parent.save(update_fields=["runs_count", "next_run_at", "updated_at"])
    return result


def _run_options(parent: Batch) -> BatchOptions:
    """The parent's settings; the run starts at once (its calls still wait for the window)."""
    call_settings = CallSettings.from_json(parent.call_settings)
    return BatchOptions(
        name=parent.name, call_settings=call_settings, description=parent.description,
        script_content=parent.script_content, voice_settings=parent.voice_settings,
        schedule_type=Batch.ScheduleType.IMMEDIATE, recurring_config=parent.recurring_config,
        priority=parent.priority, allow_duplicates=False,
        **_date_offsets(parent, call_settings.timezone),
    )


def _date_offsets(parent: Batch, tz: str) -> dict:
    """dias_fecha_limite/maxima as the parent was given them (its jobs hold the dates), so
    each run's dates count from the run's own day."""
    payload = (Job.objects.filter(batch=parent).values_list("payload", flat=True).first()
               or {})
    created = (parent.scheduled_at or parent.created_at).astimezone(ZoneInfo(tz)).date()
    return {
        f"dias_{key}": None if not payload.get(key)
        else max((date.fromisoformat(payload[key]) - created).days, 0)
        for key in ("fecha_limite", "fecha_maxima")
    }


def _debtors_to_call(parent: Batch) -> tuple[list[dict], int]:
    """(normalised contacts of the debtors to call again, how many are finished for good),
    each debtor from its latest job across the campaign and its runs."""
    dnc = DoNotCall.objects.filter(account_id=parent.account_id)
    dnc_ruts = set(dnc.exclude(rut="").values_list("rut", flat=True))
    dnc_phones = set(dnc.exclude(phone="").values_list("phone", flat=True))
    jobs = (Job.objects.filter(Q(batch=parent) | Q(batch__parent=parent))
            .order_by("-batch_id", "id")
            .values_list("rut", "status", "last_error", "contact", "payload"))
    seen, contacts, excluded = set(), [], 0
    for rut, status, last_error, contact, payload in jobs.iterator(chunk_size=2_000):
        invalid = set(contact.get("invalid_phones") or ())
        phones = [p for p in contact.get("phones") or () if p not in invalid]
        key = rut or (contact.get("phones") or [""])[0]
        if key in seen:
            continue
        seen.add(key)
        if ((status == Job.Status.FAILED and last_error in FINISHED_FOR_GOOD)
                or (rut and rut in dnc_ruts) or not set(phones) - dnc_phones):
            excluded += 1
            continue
        contacts.append(_contact(rut, contact, phones, payload))
    return contacts, excluded


def _contact(rut: str, contact: dict, phones: list[str], payload: dict) -> dict:
    """A job's debtor as ``ingest`` takes it (``batches.excel.read_contacts``' shape)."""
    normalised = {
        "rut": rut, "name": contact.get("name") or "", "phones": phones,
        "email": contact.get("email"), "debt_amount": payload.get("debt_amount"),
        "due_date": payload.get("due_date"), "company_name": payload.get("company_name"),
        "installments": payload.get("installments"),
        "custom_fields": payload.get("additional_info") or {},
    }
    if contact.get("timezone"):
        normalised["timezone"] = contact["timezone"]
    return normalised
