"""The end of a call: webhooks and polling both land here.

``call_update`` applies a Retell call object (from a webhook or from get-call). It is
idempotent and order-insensitive: a duplicated, late or reordered event never moves an attempt
backwards, never settles twice and never changes a job that moved on.
"""

import logging
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from batches.call_settings import CallSettings
from batches.jobs import (
    Claim,
    engine_job,
    job_call_ended,
    job_mark_phone_invalid,
    usable_phones,
    with_invalid_phone,
)
from batches.models import Batch, Job
from batches.reasons import JobReason
from batches.windows import WindowError, next_allowed, next_retry_at
from callcenter.db import update_row, update_rows
from calls import outcomes, queries
from calls.dispatch import dispatch_account_on_commit
from calls.models import CallAttempt
from calls.services import attempt_placed, attempt_revive, job_window, provider_backoff

logger = logging.getLogger(__name__)

Outcome = CallAttempt.Outcome
FINAL = queries.FINAL
ENDED_CALL_STATUSES = {"ended", "not_connected", "error"}
_FINISH_FIELDS = ("status", "outcome", "disconnection_reason", "ended_at", "started_at",
                  "duration_seconds", "cost", "settled_at", "transcript", "recording_url",
                  "raw", "updated_at")


def _ms(value) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _find(where: str, params: list) -> CallAttempt | None:
    found = queries.FOUND.fetch(where, params)
    return found[0] if found else None


def find_attempt(call: dict) -> CallAttempt | None:
    """By call_id, else by the metadata we sent (the webhook can beat the create response).
    Only the fields call_update reads are loaded (this runs for every webhook)."""
    call_id = call.get("call_id")
    if call_id:
        found = _find(queries.BY_CALL_ID, [str(call_id)])
        if found:
            return found
    meta = call.get("metadata")
    if not isinstance(meta, dict):
        return None
    try:
        job_id, number = int(meta.get("job_id")), int(meta.get("attempt"))
    except (TypeError, ValueError, OverflowError):
        return None
    to_number, account_id, batch_id = (call.get("to_number"), meta.get("account_id"),
                                       meta.get("batch_id"))
    if not all(isinstance(v, str) and v for v in (to_number, account_id, batch_id)):
        return None
    # No call_id filter here: the create response may bind it between the two queries.
    found = _find(queries.BY_METADATA, [job_id, number, to_number, account_id, batch_id])
    if found is None or (found.call_id and call_id and found.call_id != call_id):
        return None
    return found


def _update_in_one_statement(call: dict, event: str) -> str | None:
    """The two common events that need no lock, each one UPDATE: call_started for a call
    already bound (registered -> ongoing), and call_analyzed for an attempt already settled
    (store the analysis). Anything else (a webhook that beat the create response, an event
    that ends the call, an unknown call) returns None and takes the general path."""
    call_id = call.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        return None
    status = call.get("call_status")
    if event == "call_started" and status not in ENDED_CALL_STATUSES \
            and not call.get("call_analysis"):
        started = _mark_ongoing(CallAttempt.objects.filter(call_id=call_id), call)
        return "updated" if started else None
    if event == "call_analyzed":
        fields = _analysis_fields(call)
        if fields:
            stored = update_rows(CallAttempt, fields, queries.SETTLED_CALL, [call_id, *FINAL])
            return "ignored" if stored else None
        settled = CallAttempt.objects.filter(call_id=call_id, status__in=FINAL)
        return "ignored" if settled.exists() else None
    return None


def call_update(*, call: dict, event: str = "") -> str:
    """Apply a call object. Returns "unknown", "ignored", "updated" or "finished"."""
    done = _update_in_one_statement(call, event)
    if done is not None:
        return done
    status = call.get("call_status")
    ends = status in ENDED_CALL_STATUSES or event == "call_ended"
    call_id = call.get("call_id")
    if ends and isinstance(call_id, str) and call_id and _finish_live(call_id, call):
        return "finished"  # the common end: its call bound and live, found and locked at once
    attempt = find_attempt(call)
    if attempt is None:
        logger.warning("retell event %s for unknown call %s", event, call.get("call_id"))
        return "unknown"
    if attempt.status == CallAttempt.Status.DIALLING:
        attempt_placed(attempt_id=attempt.pk, call=call)
    elif attempt.status == CallAttempt.Status.PROVIDER_ERROR and not attempt.call_id:
        attempt_revive(attempt_id=attempt.pk, call=call)
    # Closing the attempt stores the analysis, transcript and recording the call carries.
    if ends and attempt_finish(attempt_id=attempt.pk, call=call):
        return "finished"
    if event == "call_analyzed" or call.get("call_analysis"):
        _store_analysis(attempt.pk, call)
    if ends:
        return "ignored"
    if status == "ongoing" or event == "call_started":
        started = _mark_ongoing(CallAttempt.objects.filter(pk=attempt.pk), call)
        return "updated" if started else "ignored"
    return "ignored"


def _mark_ongoing(attempts, call: dict) -> int:
    """registered -> ongoing (the call was answered), for the attempts given."""
    return attempts.filter(status=CallAttempt.Status.REGISTERED).update(
        status=CallAttempt.Status.ONGOING,
        started_at=_ms(call.get("start_timestamp")) or timezone.now())


def _analysis_fields(call: dict) -> dict:
    fields = {}
    if call.get("call_analysis"):
        fields["analysis"] = call["call_analysis"]
    if call.get("transcript"):
        fields["transcript"] = call["transcript"]
    if call.get("recording_url"):
        fields["recording_url"] = str(call["recording_url"])[:500]
    return fields


def _store_analysis(attempt_id: int, call: dict) -> None:
    fields = _analysis_fields(call)
    if fields:
        CallAttempt.objects.filter(pk=attempt_id).update(**fields)


def attempt_finish(*, attempt_id: int, call: dict, reason: str | None = None) -> bool:
    """Close a live attempt once: settle its hold, record the outcome, move the job on."""
    with transaction.atomic():
        attempt = queries.FINISH_READ.get(attempt_id, lock=True)
        if attempt.status in FINAL or attempt.status == CallAttempt.Status.PROVIDER_ERROR:
            return False
        _finish_locked(attempt, call, reason)
    return True


def _finish_live(call_id: str, call: dict) -> bool:
    """``attempt_finish`` of the attempt bound to ``call_id`` if it is registered or ongoing,
    found by the statement that locks it (the ending webhook's usual case: no read before
    the lock). False, having changed nothing, for any other state: the general path sorts
    those out (a webhook that beat the create's answer, a revived call, an end seen twice)."""
    with transaction.atomic():
        found = queries.FINISH_READ.fetch(queries.LIVE_BY_CALL_ID,
                                          [call_id, *queries.BOUND_LIVE], lock=True)
        if not found:
            return False
        _finish_locked(found[0], call, None)
    return True


def _finish_locked(attempt: CallAttempt, call: dict, reason: str | None) -> None:
    """The settle of a live attempt whose row the caller locked (FINISH_READ's columns)."""
    # of=self: lock the job row only, never the joined batch and account rows.
    job = engine_job(attempt.job_id, lock=True)
    reason = reason or call.get("disconnection_reason") or "unknown"
    outcome = outcomes.classify_reason(reason) if reason != "unknown" else Outcome.UNKNOWN
    seconds = max(0, int((call.get("duration_ms") or 0) / 1000))
    answered = outcomes.is_answered(outcome)
    billed_seconds = min(seconds, attempt.max_call_duration)
    no_charge = outcome in (Outcome.PROVIDER_ERROR, Outcome.UNKNOWN)
    cost = Decimal("0") if no_charge else account_services.call_cost(
        account=job.account, seconds=billed_seconds, answered=answered)
    now = timezone.now()
    attempt.status = CallAttempt.Status.ENDED if outcome != Outcome.UNKNOWN \
        else CallAttempt.Status.FAILED
    attempt.outcome = outcome
    attempt.disconnection_reason = reason[:64]
    attempt.ended_at = _ms(call.get("end_timestamp")) or now
    attempt.started_at = _ms(call.get("start_timestamp")) or attempt.started_at
    attempt.duration_seconds = seconds
    attempt.cost = cost
    attempt.settled_at = now
    attempt.transcript = call.get("transcript") or attempt.transcript
    attempt.recording_url = str(call.get("recording_url") or attempt.recording_url)[:500]
    written = _FINISH_FIELDS
    if call.get("call_analysis"):
        attempt.analysis = call["call_analysis"]
        written = (*written, "analysis")
    attempt.raw = {k: v for k, v in call.items() if k not in ("transcript_object",
                                                               "transcript")}
    attempt.updated_at = now
    update_row(CallAttempt, attempt.pk, {name: getattr(attempt, name) for name in written})
    _move_job_on(job, attempt, outcome)
    # Money last: every dial and settle of the account queues on its row lock, so it is
    # taken by the settle's one UPDATE and held only for the ledger's entries and the commit.
    hold = account_services.Hold(unit=attempt.hold_unit, amount=attempt.hold_amount)
    account_services.account_settle_call(account_pk=attempt.account_id, hold=hold, cost=cost,
                                         seconds=billed_seconds if answered else 0,
                                         reference=attempt.idempotency_key)
    dispatch_account_on_commit(attempt.account_id)


def _move_job_on(job: Job, attempt: CallAttempt, outcome: str) -> None:
    """The job's next state after its current call ended (written by ``batches.jobs``). What
    the call said about the debtor (do not call, an invalid number) is recorded whatever the
    job or its campaign became meanwhile; the attempt's outcome (the weekly limits) and the
    charge are stored by the caller, which holds the job's row lock.
    """
    claim = Claim.locked(job, timezone.now())
    if outcome == Outcome.DO_NOT_CALL:
        account_services.do_not_call_add(account=job.account, phone=attempt.phone, rut=job.rut,
                                         reason=attempt.disconnection_reason)
    if job.status != Job.Status.IN_PROGRESS:
        # Already moved on (a call found placed after its job was cancelled): the number only.
        if outcome == Outcome.INVALID_NUMBER:
            job_mark_phone_invalid(claim, phone=attempt.phone, release=False)
        return
    status, reason, next_try_at, attempts, contact = Job.Status.PENDING, "", None, None, None
    max_attempts = CallSettings.from_json(job.batch.call_settings).max_attempts
    if outcome in (Outcome.CONTACT, Outcome.DO_NOT_CALL):
        status = Job.Status.DONE
    elif outcome in (Outcome.PROVIDER_ERROR, Outcome.UNKNOWN):
        # Not the debtor's fault: give the attempt back and retry soon.
        attempts = max(job.attempts - 1, 0)
        next_try_at = claim.now + provider_backoff(1)
        reason = JobReason.WAIT_PROVIDER
    else:
        if outcome == Outcome.INVALID_NUMBER:
            contact, due = with_invalid_phone(job.contact, attempt.phone), claim.now
        else:
            index = int(job.contact.get("next_phone_index") or 0) + 1
            contact, due = {**job.contact, "next_phone_index": index}, None
        job.contact = contact
        if job.attempts >= max_attempts:
            status, reason = Job.Status.FAILED, JobReason.FAIL_MAX_ATTEMPTS
        elif not usable_phones(job):
            status, reason = Job.Status.FAILED, JobReason.FAIL_NO_PHONE
        else:
            next_try_at = _retry_time(job, attempt, due)
    if status == Job.Status.PENDING and job.batch.status == Batch.Status.CANCELLED:
        # Cancelled during this call: the call's own result stands, only its retries are not.
        status, reason, next_try_at = Job.Status.CANCELLED, JobReason.CANCELLED, None
    job_call_ended(claim, status=status, outcome=attempt.disconnection_reason, reason=reason,
                   attempt=f"#{attempt.attempt_number} {attempt.phone}",
                   next_try_at=next_try_at, attempts=attempts, contact=contact)


def _retry_time(job: Job, attempt: CallAttempt, due):
    try:
        window = job_window(job)
    except WindowError:
        return due or timezone.now()
    if due is not None:
        return next_allowed(window, due)
    delay = CallSettings.from_json(job.batch.call_settings).retry_delay_hours
    return next_retry_at(window, ended_at=attempt.ended_at, delay_hours=delay)
