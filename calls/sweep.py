"""Periodic work (celery beat): the database is the source of truth, messages are nudges.

Every CALLS_SWEEP_SECONDS the sweep activates scheduled batches, starts the due runs of
recurring campaigns (``batches.services.recurring``), recovers jobs whose lease
expired (a worker died), cancels the jobs a cancelled campaign left pending (and, after the
stale margin, closes their attempts never sent, releasing the holds), polls calls that
outlived any possible webhook, completes batches with no open job, moves the due jobs of
campaigns whose calling window is closed to its next opening, and dispatches due jobs of
every account with running campaigns. Flushing Redis or losing any message therefore loses
nothing: the next sweep finds the work again.
"""

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from batches.jobs import (
    batch_defer_to_window,
    batches_due_before,
    job_extend_lease,
    jobs_cancel_orphaned,
    jobs_recover,
)
from batches.models import Batch, BatchEvent, Job
from batches.services import recurring_runs_create
from batches.windows import campaign_opens
from callcenter.db import db_datetime, written_sql
from calls import queries, retell
from calls.dispatch import dispatch_account
from calls.models import CallAttempt
from calls.services import attempt_abandon
from calls.settlement import attempt_finish, call_update

logger = logging.getLogger(__name__)

RECOVER_LIMIT = 500
POLL_LIMIT = 200
# What of a campaign's call settings its window depends on (batches.windows.campaign_window).
WINDOW_SETTINGS = ("timezone", "allowed_hours", "days_of_week")


def batches_activate_scheduled(*, now=None) -> int:
    now = now or timezone.now()
    due = list(Batch.objects.filter(status=Batch.Status.PENDING, is_active=True,
                                    scheduled_at__lte=now).values_list("pk", flat=True))
    activated = 0
    for pk in due:
        with transaction.atomic():
            if Batch.objects.filter(pk=pk, status=Batch.Status.PENDING).update(
                    status=Batch.Status.RUNNING, updated_at=now):
                BatchEvent.objects.create(batch_id=pk, kind=BatchEvent.Kind.STARTED)
                activated += 1
    return activated


def batches_complete_finished(*, now=None) -> int:
    """Running or paused batches with no open job become completed (a recurring campaign
    once its recurrence has ended: until then it waits for its next run)."""
    now = now or timezone.now()
    open_jobs = Job.objects.filter(batch=OuterRef("pk"), status__in=Job.OPEN_STATUSES)
    finished = list(
        Batch.objects.filter(status__in=(Batch.Status.RUNNING, Batch.Status.PAUSED))
        .filter(~Exists(open_jobs), next_run_at__isnull=True).values_list("pk", flat=True)
    )
    completed = 0
    for pk in finished:
        with transaction.atomic():
            if Job.objects.filter(batch_id=pk, status__in=Job.OPEN_STATUSES).exists():
                continue
            if Batch.objects.filter(pk=pk, status__in=(Batch.Status.RUNNING,
                                                       Batch.Status.PAUSED)).update(
                    status=Batch.Status.COMPLETED, completed_at=now, updated_at=now):
                BatchEvent.objects.create(batch_id=pk, kind=BatchEvent.Kind.COMPLETED)
                completed += 1
    return completed


def jobs_recover_expired(*, now=None) -> int:
    """Jobs whose worker died holding them. A job with a placed call is left to the poll; one
    whose attempt was saved but maybe not sent goes back to pending and is re-sent with the
    same idempotency key (Retell answers with the call it already has, never a second one)."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = list(
            Job.objects.filter(status=Job.Status.IN_PROGRESS, reserved_until__lt=now)
            .select_for_update(skip_locked=True).order_by("reserved_until")
            .values_list("pk", flat=True)[:RECOVER_LIMIT]
        )
        placed = set(
            CallAttempt.objects.filter(
                job_id__in=expired,
                status__in=(CallAttempt.Status.REGISTERED, CallAttempt.Status.ONGOING),
            ).values_list("job_id", flat=True)
        )
        # One statement for all of them (the rows are locked above, so none moved meanwhile).
        return jobs_recover(job_ids=[pk for pk in expired if pk not in placed], now=now)


def jobs_cancel_orphaned_expired(*, now=None) -> int:
    """Pending jobs of cancelled campaigns (``batches.jobs.jobs_cancel_orphaned``): run after
    the recovery, which hands back the leases that expired during a cancel."""
    now = now or timezone.now()
    with transaction.atomic():
        if written_sql():
            # The cancelled campaigns first, then their pending jobs by (batch, status): a
            # join lets the planner walk every pending job of every campaign instead.
            with connection.cursor() as db:
                db.execute(queries.ORPHANED_JOBS_SQL, [RECOVER_LIMIT])
                orphaned = [row[0] for row in db.fetchall()]
        else:
            orphaned = list(
                Job.objects.filter(status=Job.Status.PENDING,
                                   batch__status=Batch.Status.CANCELLED)
                .select_for_update(skip_locked=True, of=("self",)).order_by("pk")
                .values_list("pk", flat=True)[:RECOVER_LIMIT]
            )
        return jobs_cancel_orphaned(job_ids=orphaned, now=now)


def attempts_abandon_unsent(*, now=None) -> int:
    """Attempts of cancelled jobs of cancelled campaigns still dialling with no call bound
    (their worker died mid-create) are never re-sent. Once the stale margin has passed with
    no webhook (the rule of ``calls_poll_stale``), Retell did not place the call: the attempt
    is closed as a provider error and its hold released (``attempt_abandon``)."""
    now = now or timezone.now()
    margin = settings.CALLS_STALE_MARGIN_SECONDS
    candidates = (
        CallAttempt.objects.filter(
            status=CallAttempt.Status.DIALLING, call_id__isnull=True,
            batch__status=Batch.Status.CANCELLED, job__status=Job.Status.CANCELLED,
            updated_at__lt=now - timedelta(seconds=margin))
        .only("pk", "updated_at", "ring_timeout", "max_call_duration")
        .order_by("updated_at")[:POLL_LIMIT * 5]
    )
    closed = 0
    for attempt in candidates:
        limit = timedelta(seconds=attempt.ring_timeout + attempt.max_call_duration + margin)
        if attempt.updated_at + limit > now:
            continue
        if closed == POLL_LIMIT:
            break  # the rest at the next sweep, oldest first
        closed += attempt_abandon(attempt_id=attempt.pk)
    return closed


def calls_poll_stale(*, now=None) -> int:
    """Calls with no final event long after they must have ended are fetched from Retell.
    One Retell does not know is closed as failed-unknown and its hold released."""
    now = now or timezone.now()
    margin = settings.CALLS_STALE_MARGIN_SECONDS
    # No call is stale before the margin has passed since it started: the calls that just
    # started (nearly all live ones) are not even read. Only the columns the poll needs.
    recent = now - timedelta(seconds=margin)
    candidates = (
        CallAttempt.objects.filter(
            status__in=(CallAttempt.Status.REGISTERED, CallAttempt.Status.ONGOING))
        .filter(Q(started_at__lt=recent) | Q(started_at__isnull=True, created_at__lt=recent))
        .only("pk", "call_id", "job_id", "started_at", "created_at", "ring_timeout",
              "max_call_duration")
        .order_by("started_at")[:POLL_LIMIT * 5]
    )
    closed = polled = 0
    for attempt in candidates:
        deadline = attempt.started_at or attempt.created_at
        limit = timedelta(seconds=attempt.ring_timeout + attempt.max_call_duration + margin)
        if deadline + limit > now:
            continue
        if polled == POLL_LIMIT:
            break  # the rest at the next sweep, oldest first
        polled += 1
        try:
            call = retell.get_call(attempt.call_id)
        except retell.ProviderError as exc:
            if exc.kind == "not_found" or exc.status == 422:
                attempt_finish(attempt_id=attempt.pk, call={}, reason="unknown")
                closed += 1
            else:
                logger.warning("poll of call %s failed: %s", attempt.call_id, exc)
            continue
        if call_update(call=call, event="poll") == "finished":
            closed += 1
        else:
            job_extend_lease(job_id=attempt.job_id, until=now + timedelta(seconds=margin))
    return closed


def jobs_defer_to_window(*, now=None) -> int:
    """Pending jobs of running campaigns whose calling window is closed now are made due at
    its next opening (``batch_defer_to_window``). Returns how many jobs moved.

    One statement finds the campaigns with a job to move (``batches_due_before``); only
    those are deferred, so a sweep over campaigns deferred already runs no UPDATE at all."""
    now = now or timezone.now()
    campaigns = {
        pk: (call_settings, profile) for pk, call_settings, profile in
        Batch.objects.filter(status=Batch.Status.RUNNING, is_active=True)
        .filter(Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=now))
        .values_list("pk", "call_settings", "account__compliance_profile")
    }
    openings, known = {}, {}
    for pk, (call_settings, profile) in campaigns.items():
        # Campaigns mostly share their window (an account's campaigns, its defaults): each
        # distinct one is computed once per sweep, not once per campaign.
        settings_ = call_settings if isinstance(call_settings, dict) else {}
        key = (profile, json.dumps([settings_.get(name) for name in WINDOW_SETTINGS],
                                   sort_keys=True, default=str))
        if key not in known:
            known[key] = campaign_opens(call_settings=call_settings, profile=profile,
                                        after=now)
        opens = known[key]
        if opens is not None and opens > now:
            openings[pk] = opens
    return sum(batch_defer_to_window(batch_pk=pk, call_settings=campaigns[pk][0],
                                     profile=campaigns[pk][1], now=now)
               for pk in sorted(batches_due_before(openings=openings)))


def accounts_with_due_work(*, now=None, due_by=None) -> list[int]:
    """The accounts the sweep dispatches: active, with a job of a running campaign due by
    ``due_by`` and not published already, and a call slot free for it (what
    ``dispatch_budget`` counts). One statement: an account with nothing to start (idle, all
    its slots busy, its due jobs published) is not visited."""
    now = now or timezone.now()
    due_by = due_by or now
    if not written_sql():
        return list(
            Batch.objects.filter(status=Batch.Status.RUNNING, is_active=True)
            .order_by().values_list("account_id", flat=True).distinct()
        )
    # Django's own cursor: planned at each sweep, never a prepared statement's generic plan.
    with connection.cursor() as db:
        db.execute(queries.ACCOUNTS_TO_DISPATCH_SQL, {
            "now": db_datetime(now), "due_by": db_datetime(due_by),
            "lookahead": settings.CALLS_DISPATCH_LOOKAHEAD})
        return [row[0] for row in db.fetchall()]


def sweep(*, now=None) -> dict:
    now = now or timezone.now()
    result = {
        "activated": batches_activate_scheduled(now=now),
        "runs": recurring_runs_create(now=now),
        "recovered": jobs_recover_expired(now=now),
        "orphans_cancelled": jobs_cancel_orphaned_expired(now=now),
        "unsent_abandoned": attempts_abandon_unsent(now=now),
        "polled": calls_poll_stale(now=now),
        "completed": batches_complete_finished(now=now),
        "deferred": jobs_defer_to_window(now=now),
    }
    # One period ahead: what comes due before the next sweep starts on time.
    due_by = now + timedelta(seconds=settings.CALLS_SWEEP_SECONDS)
    result["dispatched"] = sum(len(dispatch_account(account_id=pk, due_by=due_by))
                               for pk in accounts_with_due_work(now=now, due_by=due_by))
    return result
