"""The life of a job: every change of its state is written here, with its history.

    pending --claim--> in_progress --release--> pending (a wait: window, slot, balance...)
                       in_progress --finish--> done | failed | cancelled
                       in_progress --call placed--> in_progress (the lease covers the call)
                       in_progress --call ended--> pending (a retry) | done | failed | cancelled
    in_progress, lease expired --recover--> pending;    failed --requeue--> pending
    pending, or in_progress and not in a call --cancel--> cancelled
    pending in a cancelled campaign --cancel orphaned (sweep)--> cancelled

The engine (``calls``) and the campaign services call these functions; nothing else changes
a job's status. The single-job statements run at every dial and every settle, so they are
written out (``batches.queries``). A job that gives its call slot back announces
``signals.jobs_ready``, on which the engine dispatches the account.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from accounts.compliance import PHONE_CLASSES, PROFILES
from batches import queries
from batches.models import Batch, Job, JobEvent
from batches.reasons import JobReason
from batches.signals import jobs_ready
from batches.windows import WindowError, campaign_opens, dial_window, next_allowed
from callcenter.db import cursor as db_cursor
from callcenter.db import (
    db_datetime,
    insert_row,
    row_lock,
    update_row,
    update_rows,
    written_sql,
)

# Requeued jobs are moved and logged this many at a time.
EVENT_CHUNK = 2_000


@dataclass
class Claim:
    """A job its holder may move on: ``token`` is the lease taken by ``job_claim``; None when
    the holder has the job's row locked instead (the end of its call, ``Claim.locked``)."""

    job: Job
    token: uuid.UUID | None
    now: object
    # The values of ``job_claim``'s ``extra`` expressions, read with the claim (PostgreSQL);
    # None where they were not (the caller reads them itself).
    extra: tuple | None = None

    @classmethod
    def locked(cls, job: Job, now) -> Claim:
        return cls(job=job, token=None, now=now)


def engine_job(job_id: int, *, lock: bool = False) -> Job | None:
    """A job with its batch and account, as the engine reads them. ``lock``: the job's row
    (only it, never the batch and account rows) is locked until the transaction ends."""
    sql = queries.engine_job_sql(where=" WHERE j.id = %s",
                                 lock=row_lock("FOR UPDATE OF j") if lock else "")
    with db_cursor() as cursor:
        cursor.execute(sql, [job_id])
        row = cursor.fetchone()
    return None if row is None else queries.engine_job_build(row)


def job_claim(*, job_id: int, now=None, extra: str = "") -> Claim | None:
    """Take the job if it is pending and due. Returns None when someone else has it.

    ``extra``: SQL expressions over the claimed job (aliases j, b, a) that the caller would
    read next, read in the claim's own statement instead (one round trip fewer); their values
    are the claim's ``extra`` (PostgreSQL only: elsewhere it is None)."""
    now = now or timezone.now()
    token = uuid.uuid4()
    reserved_until = now + timedelta(seconds=settings.CALLS_LEASE_SECONDS)
    if written_sql():
        with db_cursor() as cursor:
            cursor.execute(queries.claim_sql(extra), [
                Job.Status.IN_PROGRESS, db_datetime(reserved_until), _token(token),
                db_datetime(now), job_id, Job.Status.PENDING, db_datetime(now)])
            row = cursor.fetchone()
        if row is None:
            return None
        return Claim(job=queries.engine_job_build(row), token=token, now=now,
                     extra=tuple(row[queries.ENGINE_JOB_WIDTH:]) if extra else None)
    else:
        claimed = Job.objects.filter(
            Q(next_try_at__isnull=True) | Q(next_try_at__lte=now),
            pk=job_id, status=Job.Status.PENDING,
        ).update(status=Job.Status.IN_PROGRESS, reserved_until=reserved_until,
                 lease_token=token, enqueued_until=None, updated_at=now)
        job = engine_job(job_id) if claimed else None
    return None if job is None else Claim(job=job, token=token, now=now)


def _token(token: uuid.UUID):
    return Job._meta.get_field("lease_token").get_db_prep_value(token, connection)


def _move(claim: Claim, fields: dict) -> bool:
    """Write ``fields`` to the claimed job while the claim holds: its lease token still
    matches, or (no token) the caller holds the row lock."""
    if claim.token is None:
        return bool(update_row(Job, claim.job.pk, fields))
    return bool(update_rows(Job, fields, "id = %s AND lease_token = %s",
                            [claim.job.pk, _token(claim.token)]))


def _event(job: Job, kind: str, reason: str, detail: str = "") -> None:
    insert_row(JobEvent(job=job, kind=kind, reason=reason[:255], detail=detail[:500]))


def job_release(claim: Claim, *, reason: str, next_try_at=None, keep_next_try=False,
                event: bool = True, free_slot: bool = False, contact: dict | None = None,
                detail: str = "") -> bool:
    """Give the job back (pending) with a reason; no attempt is consumed.

    ``free_slot``: the job was deferred to a later time, so the slot it was dispatched for is
    offered to the next due job at once. (Not for waits on a slot, balance or a pause, which
    would only re-dispatch jobs that must wait too.) ``reason``: a ``JobReason``; ``detail``:
    what its history event adds, untranslated (a provider's status, a settings error).
    ``contact``: the job's contact rewritten in the same statement."""
    job = claim.job
    fields = {
        "status": Job.Status.PENDING, "reserved_until": None, "lease_token": None,
        "last_error": reason[:255], "updated_at": timezone.now(),
    }
    if not keep_next_try:
        fields["next_try_at"] = next_try_at or claim.now
    if contact is not None:
        fields["contact"] = contact
    released = _move(claim, fields)
    if released and event and job.last_error != reason:
        _event(job, "waiting", reason, detail)
    if released and free_slot:
        jobs_ready.send(sender=Job, account_id=job.account_id)
    return released


def job_finish(claim: Claim, *, status: str, reason: str) -> bool:
    """End the job for good (failed, cancelled or done) from a claim; its slot is free."""
    finished = _move(claim, {
        "status": status, "reserved_until": None, "lease_token": None,
        "last_error": reason[:255], "updated_at": timezone.now(),
    })
    if finished:
        _event(claim.job, status, reason)
        jobs_ready.send(sender=Job, account_id=claim.job.account_id)
    return finished


def usable_phones(job: Job) -> list[str]:
    invalid = set(job.contact.get("invalid_phones") or ())
    return [p for p in job.contact.get("phones") or () if p not in invalid]


def with_invalid_phone(contact: dict, phone: str) -> dict:
    """``contact`` with ``phone`` among its invalid phones, never dialled again."""
    return {**contact, "invalid_phones": sorted({*contact.get("invalid_phones", []), phone})}


def job_mark_phone_invalid(claim: Claim, *, phone: str, release: bool) -> bool:
    """``phone`` is never dialled again for this job. ``release``: Retell refused the number
    before any call, so the job is handed back, due at once for its next phone (no attempt
    consumed); otherwise the number alone is recorded (the end of a call found the job moved
    on, and the caller holds its row lock)."""
    contact = with_invalid_phone(claim.job.contact, phone)
    if not release and contact == claim.job.contact:
        return False  # recorded already
    if release:
        marked = job_release(claim, reason=JobReason.INVALID_PHONE, contact=contact,
                             event=False)
        if marked:  # each number its own event, even after another one's
            _event(claim.job, "waiting", JobReason.INVALID_PHONE, phone)
    else:
        marked = _move(claim, {"contact": contact, "updated_at": timezone.now()})
    if marked:
        claim.job.contact = contact
    return marked


def job_placed_update(*, calls: str, now) -> tuple[str, list]:
    """PostgreSQL: (statement, parameters) of the UPDATE that puts the jobs of ``calls`` in
    progress, ``calls`` being a CTE of the caller's statement whose rows give job_id,
    ring_timeout and max_call_duration of the calls just placed."""
    margin = settings.CALLS_STALE_MARGIN_SECONDS
    return queries.placed_sql(calls), [Job.Status.IN_PROGRESS, db_datetime(now), margin,
                                       db_datetime(now), *Job.OPEN_STATUSES]


def job_placed(*, job_id: int, call_seconds: int, now) -> None:
    """``job_placed_update`` for one job, through the ORM, in the caller's transaction."""
    lease = timedelta(seconds=call_seconds + settings.CALLS_STALE_MARGIN_SECONDS)
    Job.objects.filter(pk=job_id, status__in=Job.OPEN_STATUSES).update(
        status=Job.Status.IN_PROGRESS, attempts=F("attempts") + 1, reserved_until=now + lease,
        enqueued_until=None, last_error="", updated_at=now)


def job_call_ended(claim: Claim, *, status: str, outcome: str, reason: str, attempt: str,
                   next_try_at=None, attempts: int | None = None,
                   contact: dict | None = None) -> None:
    """The job's next state once its call ended (``calls.settlement`` decides it): pending for a
    retry at ``next_try_at``, or done, failed or cancelled. ``outcome``: Retell's
    disconnection reason; ``attempt``: the call in the job's history ("#2 +569..."). The caller
    holds the job's row lock (``Claim.locked``) and dispatches the account once the call is
    settled."""
    fields = {"status": status, "reserved_until": None, "lease_token": None,
              "last_outcome": outcome, "last_error": reason, "updated_at": claim.now}
    if next_try_at is not None:
        fields["next_try_at"] = next_try_at
    if attempts is not None:
        fields["attempts"] = attempts
    if contact is not None:
        fields["contact"] = contact
    _move(claim, fields)
    _event(claim.job, status, reason, f"{attempt}: {outcome}")


def job_extend_lease(*, job_id: int, until) -> None:
    """Its call is still live at Retell: keep the job's lease so that nobody recovers it."""
    Job.objects.filter(pk=job_id, status=Job.Status.IN_PROGRESS).update(reserved_until=until)


def jobs_recover(*, job_ids: list[int], now) -> int:
    """Jobs whose worker died holding them (leases expired, rows locked by the caller, no call
    placed) go back to pending, due now. Returns how many."""
    recovered = Job.objects.filter(pk__in=job_ids, status=Job.Status.IN_PROGRESS).update(
        status=Job.Status.PENDING, reserved_until=None, lease_token=None,
        next_try_at=now, last_error=JobReason.RECOVERED, updated_at=now,
    )
    JobEvent.objects.bulk_create([
        JobEvent(job_id=pk, kind="recovered", reason=JobReason.RECOVERED) for pk in job_ids
    ])
    return recovered


def jobs_cancel_orphaned(*, job_ids: list[int], now) -> int:
    """Pending jobs of a cancelled campaign (rows locked by the caller) end cancelled: left
    over by a cancel that spared their call being placed, whose worker then died, or by a
    settle that raced the cancel. The dispatcher never publishes them. Returns how many."""
    cancelled = Job.objects.filter(pk__in=job_ids, status=Job.Status.PENDING).update(
        status=Job.Status.CANCELLED, reserved_until=None, lease_token=None,
        enqueued_until=None, last_error=JobReason.CANCELLED, updated_at=now,
    )
    JobEvent.objects.bulk_create([
        JobEvent(job_id=pk, kind=Job.Status.CANCELLED, reason=JobReason.CANCELLED)
        for pk in job_ids
    ])
    return cancelled


def jobs_requeue(*, job_ids: list[int], now) -> int:
    """Failed jobs back to pending, due now, their attempt counter reset (an operator retries
    them; ``attempt_number`` keeps counting from the attempts stored, so the history and the
    idempotency keys stay unique). Returns how many moved."""
    moved = 0
    for start in range(0, len(job_ids), EVENT_CHUNK):
        chunk = job_ids[start : start + EVENT_CHUNK]
        moved += Job.objects.filter(pk__in=chunk, status=Job.Status.FAILED).update(
            status=Job.Status.PENDING,
            attempts=0,
            next_try_at=now,
            enqueued_until=None,
            last_error="",
            updated_at=now,
        )
        JobEvent.objects.bulk_create(
            [JobEvent(job_id=pk, kind="retried", reason=JobReason.RETRIED) for pk in chunk]
        )
    return moved


def batch_jobs_cancel(*, batch: Batch, in_call, now) -> int:
    """Cancel what has not started of the batch: its pending jobs, and those a worker claimed
    whose call is not live (``in_call``: the engine's Exists() of a live call of the job), with
    one UPDATE; the lease is taken back, so that worker never dials. Returns how many."""
    not_started = Q(status=Job.Status.PENDING) | Q(status=Job.Status.IN_PROGRESS, in_call=False)
    return (
        Job.objects.filter(batch=batch, status__in=Job.OPEN_STATUSES)
        .alias(in_call=in_call)
        .filter(not_started)
        .update(status=Job.Status.CANCELLED, reserved_until=None, lease_token=None,
                enqueued_until=None, updated_at=now)
    )


def batch_jobs_forget_published(*, batch: Batch) -> None:
    """The batch was paused: messages already published are refused at claim; forget them so
    that a resume publishes afresh instead of waiting for their TTL."""
    Job.objects.filter(
        account_id=batch.account_id,
        batch=batch,
        status=Job.Status.PENDING,
        enqueued_until__isnull=False,
    ).update(enqueued_until=None)


def batch_jobs_make_due(*, batch: Batch, now) -> int:
    """The batch's calling window changed: jobs never dialled that were deferred to a later
    window are made due now, for the engine to weigh against the new window (jobs waiting for
    a retry keep their retry time). Returns how many."""
    return Job.objects.filter(
        batch=batch, status=Job.Status.PENDING, attempts=0, next_try_at__gt=now
    ).update(next_try_at=now, updated_at=now)


def batch_defer_to_window(*, batch_pk: int, call_settings: dict, profile: str, now) -> int:
    """When the campaign's window is closed at ``now``, its pending jobs due before it opens
    are made due then, with the reason: set-based, no attempt used, nothing published. Jobs
    whose phones are all of one class (PHONE_CLASSES: a Chilean mobile opens later than a
    landline in Punta Arenas) get their own, exact opening first; the rest the campaign's,
    the earliest possible (process_job defers each exactly). Only ever moves next_try_at
    later; jobs with a zone of their own are left to process_job. Returns how many moved."""
    opens = campaign_opens(call_settings=call_settings, profile=profile, after=now)
    if opens is None or opens <= now:
        return 0
    country = PROFILES[profile].country
    moved = 0
    for prefix, number in PHONE_CLASSES.get(country, ()):
        try:
            class_opens = next_allowed(dial_window(call_settings=call_settings, profile=profile,
                                                   phone=number), now)
        except WindowError:
            continue
        moved += _defer(batch_pk, class_opens, now, prefix)
    return moved + _defer(batch_pk, opens, now)


def batches_due_before(*, openings: dict[int, object]) -> set[int]:
    """Of these batches ({pk: the instant its window opens}), those with a pending job (with
    no zone of its own) due before then or with no due time: what ``batch_defer_to_window``
    would move. One statement whatever the number of batches (the sweep asks it for every
    campaign whose window is closed, and defers only those)."""
    if not openings:
        return set()
    if written_sql():
        with connection.cursor() as cursor:  # planned at each sweep (not prepared)
            cursor.execute(queries.DUE_BEFORE_SQL, [list(openings),
                                                    [db_datetime(at) for at in openings.values()]])
            return {row[0] for row in cursor.fetchall()}
    return {pk for pk, opens in openings.items()
            if Job.objects.filter(Q(next_try_at__isnull=True) | Q(next_try_at__lt=opens),
                                  batch_id=pk, status=Job.Status.PENDING)
            .exclude(contact__has_key="timezone").exists()}


def _defer(batch_pk: int, opens, now, prefix: str | None = None) -> int:
    """Defer the batch's pending jobs due before ``opens`` (with no zone of their own; with
    ``prefix``, only those whose phones all start with it) to ``opens``."""
    jobs = (Job.objects.filter(batch_id=batch_pk, status=Job.Status.PENDING)
            .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lt=opens))
            .exclude(contact__has_key="timezone"))
    if prefix is not None and written_sql():
        jobs = jobs.extra(where=[queries.ALL_PHONES_LIKE], params=[prefix + "%"])
    elif prefix is not None:  # the ORM has no "every element of a JSON array": a few rows
        jobs = Job.objects.filter(pk__in=[
            pk for pk, contact in jobs.values_list("pk", "contact")
            if all(phone.startswith(prefix) for phone in contact.get("phones") or ())])
    return jobs.update(next_try_at=opens, last_error=JobReason.WAIT_WINDOW, updated_at=now)
