"""Campaign data for the admin and browser tests: batches with jobs in every state and call
attempts with every outcome, made directly (these tests exercise the admin, not the engine)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from batches.models import Batch, Job
from batches.reasons import JobReason as outcomes
from calls.models import CallAttempt
from tests.factories import BatchFactory, JobFactory

_keys = itertools.count(1)


def login(client, user):
    # UserFactory sets the password after saving without saving again; the session's auth hash
    # comes from the password, so persist it or the session is dropped on the next request.
    user.save(update_fields=["password"])
    client.force_login(user)
    return client


def attempt(job: Job, *, outcome: str = "", status: str = CallAttempt.Status.ENDED, **extra):
    """A call attempt of ``job`` (the next attempt number), ended with ``outcome``."""
    now = timezone.now()
    number = CallAttempt.objects.filter(job=job).count() + 1
    reason = {
        CallAttempt.Outcome.CONTACT: "user_hangup",
        CallAttempt.Outcome.NO_CONTACT: "dial_no_answer",
        CallAttempt.Outcome.INVALID_NUMBER: "invalid_destination",
        CallAttempt.Outcome.DO_NOT_CALL: "user_requested_dnc",
        CallAttempt.Outcome.PROVIDER_ERROR: "error_unknown",
    }.get(outcome, "")
    live = status in CallAttempt.LIVE_STATUSES
    fields = {
        "job": job,
        "batch": job.batch,
        "account": job.account,
        "rut": job.rut,
        "attempt_number": number,
        "phone": job.contact["phones"][0],
        "idempotency_key": f"job-{job.pk}-attempt-{number}-{next(_keys)}",
        "call_id": f"call_{job.pk}_{number}_{next(_keys)}",
        "status": status,
        "outcome": "" if live else outcome,
        "disconnection_reason": "" if live else reason,
        "started_at": now - timedelta(minutes=3),
        "ended_at": None if live else now - timedelta(minutes=1),
        "duration_seconds": None if live else 95,
        "cost": None if live else Decimal("84.1667"),
        "settled_at": None if live else now - timedelta(minutes=1),
        "transcript": "" if live else "Agente: Hola, ¿hablo con Juan?\nUsuario: Sí.",
        "recording_url": "" if live else f"https://recordings.example/{job.pk}-{number}.wav",
    }
    fields.update(extra)
    return CallAttempt.objects.create(**fields)


def campaign(account, *, jobs: int = 6, name: str | None = None, **batch_fields) -> Batch:
    """A running batch of ``account`` with jobs done, failed (max attempts and do-not-call),
    pending and in progress, and their attempts."""
    batch = BatchFactory(
        account=account, total_jobs=jobs, **({"name": name} if name else {}), **batch_fields
    )
    made = [JobFactory(batch=batch) for _ in range(jobs)]
    states = itertools.cycle(["done", "failed", "pending", "in_progress", "dnc", "pending"])
    for job, state in zip(made, states, strict=False):
        if state == "done":
            attempt(job, outcome=CallAttempt.Outcome.NO_CONTACT)
            attempt(job, outcome=CallAttempt.Outcome.CONTACT)
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.DONE, attempts=2, last_outcome="user_hangup"
            )
        elif state == "failed":
            for _ in range(3):
                attempt(job, outcome=CallAttempt.Outcome.NO_CONTACT)
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.FAILED,
                attempts=3,
                last_outcome="dial_no_answer",
                last_error=outcomes.FAIL_MAX_ATTEMPTS,
            )
        elif state == "dnc":
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.FAILED, last_error=outcomes.FAIL_DO_NOT_CALL
            )
        elif state == "in_progress":
            attempt(job, status=CallAttempt.Status.ONGOING)
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.IN_PROGRESS,
                attempts=1,
                reserved_until=timezone.now() + timedelta(minutes=10),
            )
    return batch
