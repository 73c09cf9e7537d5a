"""Turning a pending job into a phone call, within every rule.

``job_process`` is what the ``process_job`` task runs. It claims the job with a conditional
UPDATE (a lease), checks, in order: the batch is running, max attempts, the do-not-call list
and the phone to use, the calling window for that number, the weekly compliance limits, the
balance and the account's free call slots. The attempt row is saved (status dialling, hold
reserved) before Retell is called, with the idempotency key ``job-<id>-attempt-<n>``: a crash
or a duplicated message re-sends the same key, so Retell never places a second call for one
attempt.
"""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.compliance import PROFILES
from accounts.models import Account
from accounts.selectors import suppressed_for
from batches.call_settings import CallSettings
from batches.jobs import (
    Claim,
    job_claim,
    job_finish,
    job_mark_phone_invalid,
    job_placed,
    job_placed_update,
    job_release,
    usable_phones,
)
from batches.models import Batch, BatchEvent, Job
from batches.reasons import JobReason
from batches.script import script_for_retell, script_render
from batches.voice import voice_agent_fields
from batches.windows import WindowError, dial_window, next_allowed
from callcenter.db import cursor as db_cursor
from callcenter.db import db_datetime, insert_row, json_document, row_lock, written_sql
from calls import queries, retell
from calls.models import CallAttempt

logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)
# The events each call's webhook sends. call_started only says a call was answered, which
# nothing here waits for (call_ended binds a call whose create response was lost just as
# well): asking for it would cost one more signed request per call. One sent anyway (an
# agent configured elsewhere) is still handled.
WEBHOOK_EVENTS = ("call_ended", "call_analyzed")


def job_window(job: Job, phone: str | None = None):
    """When the job may be dialled (``batches.windows.dial_window``) on ``phone``; by default
    the next phone in rotation, the one its retries are computed for."""
    if phone is None:
        phones = usable_phones(job)
        start = int(job.contact.get("next_phone_index") or 0)
        phone = phones[start % len(phones)] if phones else None
    return dial_window(
        call_settings=job.batch.call_settings,
        profile=job.account.compliance_profile,
        timezone=job.contact.get("timezone") or None,
        phone=phone,
    )


def _weekly_limit_until(job: Job, now):
    """When the compliance profile's rolling 7-day limits free this debtor (None: free now)."""
    policy = PROFILES.get(job.account.compliance_profile)
    if policy is None or not (policy.max_answered_contacts_per_7d
                              or policy.max_attempts_per_7d):
        return None, ""
    rows = _recent_ends(job, now - WEEK)
    limit = policy.max_answered_contacts_per_7d
    if limit:
        contacts = [ended for ended, outcome in rows if outcome == CallAttempt.Outcome.CONTACT]
        if len(contacts) >= limit:
            return contacts[len(contacts) - limit] + WEEK, JobReason.WAIT_WEEKLY_CONTACT
    limit = policy.max_attempts_per_7d
    if limit:
        placed = [ended for ended, outcome in rows
                  if outcome != CallAttempt.Outcome.PROVIDER_ERROR]
        if len(placed) >= limit:
            return placed[len(placed) - limit] + WEEK, JobReason.WAIT_WEEKLY_ATTEMPTS
    return None, ""


def _recent_ends(job: Job, since) -> list[tuple]:
    """(ended_at, outcome) of the debtor's calls since ``since``, oldest first: by RUT, or
    without one by the debtor's phones."""
    if job.rut:
        where, params = queries.RECENT_ENDS_WHERE, [job.account_id, job.rut, db_datetime(since)]
    else:
        phones = list(job.contact.get("phones") or [])
        if not written_sql():  # ``= ANY(array)`` is PostgreSQL's
            return list(CallAttempt.objects.filter(
                account_id=job.account_id, phone__in=phones, ended_at__gte=since,
            ).order_by("ended_at").values_list("ended_at", "outcome"))
        where = queries.RECENT_ENDS_BY_PHONE_WHERE
        params = [job.account_id, phones, db_datetime(since)]
    return [(call.ended_at, call.outcome) for call in queries.RECENT_ENDS.fetch(
        where, params, order="c.ended_at")]


def _pick_phone(job: Job, suppressed: set[str]) -> tuple[str | None, bool]:
    """The next phone in rotation that is neither invalid nor on the do-not-call list.

    Returns (phone, all_blocked_by_dnc)."""
    phones = usable_phones(job)
    if not phones:
        return None, False
    start = int(job.contact.get("next_phone_index") or 0)
    for offset in range(len(phones)):
        phone = phones[(start + offset) % len(phones)]
        if phone not in suppressed:
            return phone, False
    return None, True


def _attempts_so_far(job: Job, rows: list | None = None) -> tuple[CallAttempt | None, int, bool]:
    """(an attempt saved but not placed — a crash or a provider error — to re-send with the
    same idempotency key instead of opening a new one; the number of attempt rows; whether a
    call of this job is in progress). ``rows``: the job's attempts if the claim read them."""
    if rows is None:
        rows = queries.ATTEMPTS_SO_FAR.fetch("c.job_id = %s", [job.pk],
                                             order="c.attempt_number")
    open_attempt = next(
        (a for a in reversed(rows) if a.call_id is None and a.status in (
            CallAttempt.Status.DIALLING, CallAttempt.Status.PROVIDER_ERROR)), None)
    live = any(a.status in (CallAttempt.Status.REGISTERED, CallAttempt.Status.ONGOING)
               for a in rows)
    return open_attempt, len(rows), live


def job_process(*, job_id: int, now=None) -> str:
    """Process one job message. Returns a short word saying what happened (for logs/tests)."""
    claim = job_claim(job_id=job_id, now=now, extra=queries.dial_claim_extra())
    if claim is None:
        return "not_claimed"
    try:
        return job_process_claimed(claim)
    except DatabaseError:
        # A deadlock victim or a dropped connection: hand the job back so the task's retry
        # claims it again at once, instead of waiting for the lease to expire. If the attempt
        # was already sent, the re-send carries the same idempotency key (never a 2nd call).
        try:
            job_release(claim, reason=JobReason.WAIT_DATABASE, keep_next_try=True)
        except DatabaseError:
            logger.warning("job %s stays leased until the sweep recovers it", job_id)
        raise


def job_process_claimed(claim: Claim) -> str:
    """The checks and the dial of a job this worker claimed (job_process claims it first)."""
    job, now = claim.job, claim.now
    batch, account = job.batch, job.account

    # 1. The batch is running and due, the account active.
    if batch.status == Batch.Status.CANCELLED:
        job_finish(claim, status=Job.Status.CANCELLED, reason=JobReason.CANCELLED)
        return "cancelled"
    if batch.scheduled_at and batch.scheduled_at > now:
        job_release(claim, reason=JobReason.WAIT_SCHEDULED, next_try_at=batch.scheduled_at,
                    free_slot=True)
        return "scheduled"
    if not batch.is_dialable:
        job_release(claim, reason=JobReason.WAIT_PAUSED, keep_next_try=True)
        return "paused"
    if account.status != Account.Status.ACTIVE:
        job_release(claim, reason=JobReason.WAIT_ACCOUNT, keep_next_try=True)
        return "account_inactive"

    # 2. Attempts.
    cs = CallSettings.from_json(batch.call_settings)
    if job.attempts >= cs.max_attempts:
        job_finish(claim, status=Job.Status.FAILED, reason=JobReason.FAIL_MAX_ATTEMPTS)
        return "max_attempts"

    # 3. Suppression and the phone (before the window: the number decides the debtor's zone).
    # Read with the claim where it could be (PostgreSQL), else here.
    if claim.extra is not None:
        rut_blocked, suppressed, attempts = claim.extra
        suppressed = set(suppressed)
        attempts = [queries.ATTEMPTS_SO_FAR.build(values)
                    for values in json_document(attempts)]
    else:
        rut_blocked, suppressed = suppressed_for(account_id=job.account_id, rut=job.rut,
                                                 phones=usable_phones(job))
        attempts = None
    if rut_blocked:
        job_finish(claim, status=Job.Status.FAILED, reason=JobReason.FAIL_DO_NOT_CALL)
        return "do_not_call"
    open_attempt, attempt_rows, call_live = _attempts_so_far(job, attempts)
    if call_live:
        # Its call is in progress (placed by a try that was cut short, bound by a webhook):
        # never a second call. The job stays claimed; the call's end moves it on.
        return "call_live"
    if open_attempt is not None:
        phone = open_attempt.phone
    else:
        phone, blocked = _pick_phone(job, suppressed)
        if phone is None:
            reason = JobReason.FAIL_DO_NOT_CALL if blocked else JobReason.FAIL_NO_PHONE
            job_finish(claim, status=Job.Status.FAILED, reason=reason)
            return "no_phone"

    # 4. The calling window, in the zones of that number, within the compliance profile.
    try:
        window = job_window(job, phone)
        opens = next_allowed(window, now)  # now itself when the window is open
    except WindowError as exc:  # bad settings, or hours no zone of this number shares
        job_release(claim, reason=JobReason.FAIL_SETTINGS, detail=str(exc),
                    next_try_at=now + timedelta(hours=1))
        return "bad_window"
    if opens > now:
        job_release(claim, reason=JobReason.WAIT_WINDOW, next_try_at=opens, free_slot=True)
        return "outside_window"

    # Weekly limits of the compliance profile (CL: 1 answered contact; US: 7 attempts).
    until, why = _weekly_limit_until(job, now)
    if until is not None:
        job_release(claim, reason=why, next_try_at=next_allowed(window, until), free_slot=True)
        return "weekly_limit"

    # 5. Balance and 6. concurrency, under the account's row lock; the attempt row is saved
    # (with its hold) in the same transaction, before Retell is called.
    attempt, refusal = _reserve_and_record(claim, cs, phone=phone, open_attempt=open_attempt,
                                           number=attempt_rows + 1)
    if attempt is None:
        return refusal
    return _place_call(claim, attempt)


# What a dial reads of the account it locks: pricing, balances, slots, the agent.
_DIAL_ACCOUNT_FIELDS = (*account_services.BALANCE_FIELDS, "account_id", "plan_type",
                        "cost_per_call_setup", "cost_per_minute", "max_concurrent_calls",
                        "retell_agent_id")


def _reserve_and_record(claim: Claim, cs: CallSettings, *, phone: str,
                        open_attempt: CallAttempt | None, number: int):
    job, batch = claim.job, claim.job.batch
    max_duration = cs.max_call_duration
    with transaction.atomic():
        if open_attempt is not None:
            # Locked before the account, the order attempt_finish (a webhook) takes them in.
            open_attempt = (
                CallAttempt.objects.select_for_update()
                .filter(pk=open_attempt.pk, call_id__isnull=True,
                        status__in=(CallAttempt.Status.DIALLING,
                                    CallAttempt.Status.PROVIDER_ERROR))
                .first()
            )
            if open_attempt is None:
                return None, "already_placed"  # a webhook bound its call; it moves the job on
        account = account_services.account_lock(job.account_id, fields=_DIAL_ACCOUNT_FIELDS)
        # A pause committed before this point stops the call; one after it waits for us.
        # (The batch row is locked by the sub-select; the live calls of the account are
        # counted under the account's lock taken above.)
        token = Job._meta.get_field("lease_token").get_db_prep_value(claim.token, connection)
        with db_cursor() as cursor:
            cursor.execute(queries.live_elsewhere_sql(row_lock("FOR NO KEY UPDATE")),
                           [batch.pk, account.pk, job.pk, job.pk, token])
            still_running, live, still_ours = cursor.fetchone()
        if not still_ours:
            # The job moved on while we held it: a call of it that we had recorded as failed
            # turned out to be placed, and its end settled it (attempt_revive); or our lease
            # expired and the sweep handed it to someone else. It is not ours to dial.
            return None, "claim_lost"
        if open_attempt is not None and open_attempt.hold_amount:
            # The try before was cut short (a worker killed mid-create, a dropped connection)
            # with its hold still taken: give it back; the re-send takes a fresh one below.
            _release_hold(account, open_attempt)
            CallAttempt.objects.filter(pk=open_attempt.pk).update(hold_amount=0, hold_unit="")
        if still_running is None:
            job_release(claim, reason=JobReason.WAIT_PAUSED, keep_next_try=True)
            return None, "paused"
        hold = account_services.hold_for_call(account=account, max_call_duration=max_duration)
        if not account_services.can_cover(account=account, hold=hold):
            job_release(claim, reason=JobReason.WAIT_BALANCE, keep_next_try=True)
            return None, "no_balance"
        if live >= account.max_concurrent_calls:
            job_release(claim, reason=JobReason.WAIT_SLOT, keep_next_try=True, event=False)
            return None, "no_slot"
        if open_attempt is not None:
            number = open_attempt.attempt_number
        account_services.account_reserve(
            account=account, hold=hold, reference=f"job-{job.pk}-attempt-{number}"
        )
        fields = {
            "phone": phone, "status": CallAttempt.Status.DIALLING, "hold_amount": hold.amount,
            "hold_unit": hold.unit, "max_call_duration": max_duration,
            "ring_timeout": cs.ring_timeout, "error": "", "updated_at": timezone.now(),
        }
        if open_attempt is not None:
            CallAttempt.objects.filter(pk=open_attempt.pk).update(**fields)
            open_attempt.refresh_from_db()
            attempt = open_attempt
        else:
            attempt = insert_row(CallAttempt(
                job=job, batch=batch, account=account, rut=job.rut, attempt_number=number,
                idempotency_key=f"job-{job.pk}-attempt-{number}", **fields,
            ))
        attempt.account = account
    return attempt, ""


def dynamic_variables(job: Job) -> dict[str, str]:
    """What the agent may say: every value a string (Retell requires it)."""
    payload, contact = job.payload or {}, job.contact or {}
    values = {
        "nombre": contact.get("name") or "",
        "empresa": payload.get("company_name") or "",
        "RUT": job.rut,
        "monto_total": payload.get("debt_amount") or "",
        "fecha_vencimiento": payload.get("due_date") or "",
        "fecha_limite": payload.get("fecha_limite") or "",
        "fecha_maxima": payload.get("fecha_maxima") or "",
        "cuotas_adeudadas": payload.get("installments") or "",
    }
    for key, value in (payload.get("additional_info") or {}).items():
        values.setdefault(str(key), value)
    return {key: "" if value is None else str(value) for key, value in values.items()}


class _BatchVoice:
    """What every call of a batch sends of its script and voice, built once per batch and
    settings version: the script is not in the claim's row read (up to 10,000 characters)."""

    def __init__(self, script: str, agent: dict):
        self.script, self.agent = script, agent


_batch_voices: dict[tuple, _BatchVoice] = {}
_BATCH_VOICES_KEPT = 256


def _batch_voice(batch: Batch) -> _BatchVoice:
    key = (batch.pk, batch.updated_at)
    voice = _batch_voices.get(key)
    if voice is None:
        script = Batch.objects.filter(pk=batch.pk).values_list("script_content", flat=True)
        voice = _BatchVoice(script_for_retell(script.first() or ""),
                            voice_agent_fields(batch.voice_settings or {}))
        if len(_batch_voices) >= _BATCH_VOICES_KEPT:
            _batch_voices.clear()
        _batch_voices[key] = voice
    return voice


def call_request(job: Job, attempt: CallAttempt) -> dict:
    batch, account = job.batch, attempt.account
    agent_id = (batch.voice_settings or {}).get("agent_id") or account.retell_agent_id \
        or settings.RETELL_AGENT_ID
    voice = _batch_voice(batch)
    variables = dynamic_variables(job)
    agent_override = {"agent": {
        **voice.agent,
        "ring_duration_ms": attempt.ring_timeout * 1000,
        "max_call_duration_ms": attempt.max_call_duration * 1000,
        "webhook_events": list(WEBHOOK_EVENTS),
    }}
    if voice.script:
        # Retell fills the variables of the opening in; the prompt gets the script filled in.
        agent_override["retell_llm"] = {"begin_message": voice.script}
        variables.setdefault("script", script_render(voice.script, variables))
    return {
        "from_number": settings.RETELL_FROM_NUMBER,
        "to_number": attempt.phone,
        "override_agent_id": agent_id,
        "retell_llm_dynamic_variables": variables,
        "metadata": {
            "job_id": job.pk, "batch_id": batch.batch_id, "account_id": account.account_id,
            "attempt": attempt.attempt_number,
        },
        "agent_override": agent_override,
        "idempotency_key": attempt.idempotency_key,
    }


def _place_call(claim: Claim, attempt: CallAttempt) -> str:
    job = claim.job
    try:
        call = retell.create_phone_call(**call_request(job, attempt))
    except retell.ProviderError as exc:
        logger.warning("retell create failed job=%s attempt=%s: %s", job.pk, attempt.pk, exc)
        attempt_provider_failure(claim, attempt, exc)
        return f"provider_{exc.kind}"
    attempt_placed(attempt_id=attempt.pk, call=call)
    return "dialled"


def attempt_placed(*, attempt_id: int, call: dict,
                   was: str = CallAttempt.Status.DIALLING) -> bool:
    """Retell accepted the call: bind its id, count the attempt against the debtor and extend
    the job's lease to cover the whole call. Idempotent: the create response and the first
    webhook may race; only the first one counts. ``was``: the status the attempt must still
    have (provider_error for a call found placed after its create failed)."""
    now = timezone.now()
    bind = {"call_id": call.get("call_id"), "status": CallAttempt.Status.REGISTERED,
            "started_at": now, "updated_at": now}
    if written_sql():
        # The attempt's and the job's updates in one statement (atomic on its own): one round
        # trip, no transaction.
        job_sql, job_params = job_placed_update(calls="placed", now=now)
        with db_cursor() as cursor:
            cursor.execute(queries.place_sql(job_sql), [
                bind["call_id"], bind["status"], db_datetime(now), db_datetime(now),
                attempt_id, was, *job_params])
            return bool(cursor.fetchone()[0])
    with transaction.atomic():
        # Only the first caller moves it out of ``was`` (SQLite: one writer at a time).
        attempt = (CallAttempt.objects.select_for_update().filter(pk=attempt_id, status=was)
                   .only("job_id", "ring_timeout", "max_call_duration").first())
        if attempt is None:
            return False
        CallAttempt.objects.filter(pk=attempt_id).update(**bind)
        job_placed(job_id=attempt.job_id, now=now,
                   call_seconds=attempt.ring_timeout + attempt.max_call_duration)
    return True


def attempt_revive(*, attempt_id: int, call: dict) -> bool:
    """Retell's own word (a webhook, get-call) shows that a create we recorded as failed
    placed the call after all: the request reached Retell and the answer was lost (a timeout,
    a dropped connection). The attempt is bound to the call and counts against the debtor,
    its job is in progress again, and it takes its hold back from the balance (as much of it
    as the balance has: the call happened and is charged, never below zero), so that the
    call's end settles it like any other. False if it was not in that state (a re-send bound
    it meanwhile)."""
    with transaction.atomic():
        # Lock order everywhere: attempt, then job, then account.
        attempt = (CallAttempt.objects.select_for_update()
                   .filter(pk=attempt_id, status=CallAttempt.Status.PROVIDER_ERROR,
                           call_id__isnull=True)
                   .only("id", "account_id", "max_call_duration", "idempotency_key").first())
        if attempt is None:
            return False
        attempt_placed(attempt_id=attempt.pk, call=call, was=CallAttempt.Status.PROVIDER_ERROR)
        account = account_services.account_lock(attempt.account_id, fields=_DIAL_ACCOUNT_FIELDS)
        hold = account_services.hold_for_call(account=account,
                                              max_call_duration=attempt.max_call_duration)
        if hold.unit:
            available = max(getattr(account, account_services.BALANCE_COLUMN[hold.unit]), 0)
            hold = account_services.Hold(unit=hold.unit, amount=min(hold.amount, available))
        if hold.amount:
            account_services.account_reserve(account=account, hold=hold,
                                             reference=attempt.idempotency_key)
        CallAttempt.objects.filter(pk=attempt.pk).update(
            hold_amount=hold.amount, hold_unit=hold.unit if hold.amount else "", error="")
    logger.warning("retell call %s of attempt %s was placed although its create failed",
                   call.get("call_id"), attempt_id)
    return True


def provider_backoff(failures: int) -> timedelta:
    """Exponential backoff with full jitter: 15 s, 30 s, 60 s ... capped at 15 minutes."""
    ceiling = min(15 * 2 ** max(failures - 1, 0), 900)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def attempt_provider_failure(claim: Claim, attempt: CallAttempt, exc: retell.ProviderError):
    """Retell refused or could not be reached. Release the hold; the debtor is not charged an
    attempt. Transient: same attempt retried later. Invalid: that phone is marked invalid.
    Account-level (401/402): the account's campaigns pause, with an event saying why."""
    with transaction.atomic():
        # Lock order everywhere: attempt, then job, then account.
        locked = CallAttempt.objects.select_for_update().get(pk=attempt.pk)
        account = account_services.account_lock(attempt.account_id,
                                                fields=account_services.BALANCE_FIELDS)
        if locked.status != CallAttempt.Status.DIALLING:
            return  # a webhook proved the call was placed after all
        _release_hold(account, locked)
        locked.error = str(exc)[:500]
        locked.provider_failures += 1
        if exc.kind == "invalid":
            locked.status = CallAttempt.Status.FAILED
            locked.outcome = CallAttempt.Outcome.INVALID_NUMBER
            locked.ended_at = timezone.now()
        else:
            locked.status = CallAttempt.Status.PROVIDER_ERROR
        locked.save()
        if exc.kind == "invalid":
            job_mark_phone_invalid(claim, phone=locked.phone, release=True)
        elif exc.kind == "account":
            job_release(claim, reason=JobReason.WAIT_PROVIDER, next_try_at=claim.now
                        + timedelta(minutes=5))
            batches_pause_for_provider(account=account, message=str(exc))
        else:
            job_release(claim, reason=JobReason.WAIT_PROVIDER, detail=str(exc.status or exc.kind),
                        next_try_at=claim.now + provider_backoff(locked.provider_failures))


def attempt_abandon(*, attempt_id: int) -> bool:
    """An attempt left dialling with no call bound, in a cancelled campaign, that Retell never
    spoke of within the stale margin (its worker died mid-create): never re-sent, it is closed
    as a provider error (not counted against the debtor, nothing charged) and its hold is
    released. Should the call turn up after all, its webhook revives it (``attempt_revive``).
    False if another sweep has it or it moved on."""
    with transaction.atomic():
        # Lock order everywhere: attempt, then job, then account.
        locked = (CallAttempt.objects.select_for_update(skip_locked=True)
                  .filter(pk=attempt_id, status=CallAttempt.Status.DIALLING,
                          call_id__isnull=True).first())
        if locked is None:
            return False
        account = account_services.account_lock(locked.account_id,
                                                fields=account_services.BALANCE_FIELDS)
        _release_hold(account, locked)
        locked.status = CallAttempt.Status.PROVIDER_ERROR
        locked.error = "no answer from Retell to the create; campaign cancelled"
        locked.save(update_fields=["status", "error", "hold_amount", "hold_unit",
                                   "updated_at"])
    return True


def _release_hold(account: Account, attempt: CallAttempt) -> None:
    hold = account_services.Hold(unit=attempt.hold_unit, amount=attempt.hold_amount)
    account_services.account_release(account=account, hold=hold,
                                     reference=attempt.idempotency_key)
    attempt.hold_amount = 0
    attempt.hold_unit = ""


def batches_pause_for_provider(*, account: Account, message: str) -> None:
    running = list(Batch.objects.filter(account=account, status=Batch.Status.RUNNING,
                                        is_active=True))
    Batch.objects.filter(pk__in=[b.pk for b in running]).update(
        is_active=False, status=Batch.Status.PAUSED, updated_at=timezone.now())
    BatchEvent.objects.bulk_create([
        BatchEvent(batch=b, kind=BatchEvent.Kind.PROVIDER_ERROR, data={"error": message[:500]})
        for b in running
    ])
