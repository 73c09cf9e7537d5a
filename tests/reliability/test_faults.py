"""Faults: workers killed, Redis flushed and restarted, PostgreSQL connections dropped, Retell
failing, webhooks lost, duplicated, reordered, late, forged or unknown.

Every test runs real Celery worker processes (and beat, sweeping every second) on real Redis
and PostgreSQL against the Retell simulator, whose webhooks reach the live server. Each ends
with the same invariants: every job ended, no attempt dialled twice (counted at the
simulator), Job.attempts counts only calls placed, the ledger sums to the balance and every
hold was released.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from django.db import connection

from accounts.models import LedgerEntry
from batches.models import Job, JobEvent
from bench.ceiling import probe_database
from calls.dispatch import dispatch_account
from calls.models import CallAttempt
from tests.queue_support import wait_for
from tests.reliability.conftest import (
    ENQUEUE_TTL_SECONDS,
    assert_books_balanced,
    assert_dialled_once,
    assert_no_duplicate_attempts,
    campaign,
    funded_account,
    post_webhook,
    snapshot,
    wait_all_closed,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


PLACED = (CallAttempt.Status.REGISTERED, CallAttempt.Status.ONGOING)


def attempts_in(*statuses, **filters):
    return CallAttempt.objects.filter(status__in=statuses, **filters)


def three_live(sim, batch) -> bool:
    """Three calls in progress at Retell, each bound to its attempt."""
    return sim.stats()["live_total"] == 3 and attempts_in(*PLACED, batch=batch).count() == 3


# --- kill -9 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("webhooks", ["delivered", "dropped"])
def test_worker_killed_in_the_middle_of_a_create(sim, workers, webhooks):
    """The only worker is killed -9 while Retell holds its create request (the call is already
    accepted). The job ends once: through the call's webhooks, or, when Retell never sends
    them, through lease expiry, a re-send with the same idempotency key (Retell answers with
    the call it has) and a poll."""
    account = funded_account()
    sim.configure(create_delay_ms=4000, create_delay_count=1, accept_then_timeout=True,
                  drop_webhooks=webhooks == "dropped")
    procs = workers(count=1)
    # The campaign is created once the worker runs (beat's sweep may dispatch it before we
    # do), so that the kill lands inside the 4 s the first create is held.
    batch = campaign(account, 4)
    dispatch_account(account_id=account.pk)
    wait_for(lambda: sim.stats()["calls_created"] >= 1, timeout=20, message="first create")
    victim = procs.workers[0]
    procs.kill(victim)
    # Prefetch 1: at most the job being dialled is stranded mid-create: its attempt is saved
    # (dialling, hold taken) but its call id never came back. When the webhooks are dropped it
    # is exactly that one; when they are delivered, the call's own webhooks may already have
    # bound the attempt (the call was accepted before Retell held the response).
    stranded = Job.objects.filter(batch=batch, status=Job.Status.IN_PROGRESS,
                                  call_attempts__status=CallAttempt.Status.DIALLING,
                                  call_attempts__call_id__isnull=True)
    if webhooks == "dropped":
        assert stranded.count() == 1
    else:
        assert stranded.count() <= 1
    procs.start_worker(1)
    procs.wait_ready()

    wait_all_closed(timeout=60, batch=batch)
    assert Job.objects.filter(batch=batch, status=Job.Status.DONE).count() == 4
    assert_dialled_once(sim, batch=batch)
    assert_no_duplicate_attempts()
    assert list(Job.objects.filter(batch=batch).values_list("attempts", flat=True)) == [1] * 4
    if webhooks == "dropped":
        assert sim.stats()["idempotent_replays"] >= 1  # the re-send got the same call back
    assert_books_balanced(account)


def test_workers_killed_while_calls_are_live(sim, workers):
    """Both workers are killed -9 while three calls are in progress; new workers take over and
    the calls' webhooks settle them. No call is placed twice, none beyond the limit."""
    account = funded_account(max_concurrent_calls=3)
    batch = campaign(account, 6)
    sim.configure(never_end=True)
    procs = workers(count=2)
    dispatch_account(account_id=account.pk)
    wait_for(lambda: three_live(sim, batch), timeout=30, message="three live calls")
    for process in list(procs.alive()):
        procs.kill(process)
    procs.start_worker(2)
    procs.start_worker(3)
    procs.wait_ready()
    assert sim.stats()["live_total"] == 3
    sim.configure(never_end=False)
    for attempt in attempts_in(*PLACED, batch=batch):
        sim.end_call(attempt.call_id, "user_hangup")

    wait_all_closed(timeout=45, batch=batch)
    stats = assert_dialled_once(sim, batch=batch)
    assert stats["max_live_by_account"][account.account_id] <= 3
    assert Job.objects.filter(batch=batch, status=Job.Status.DONE).count() == 6
    assert_books_balanced(account)


# --- Redis -----------------------------------------------------------------------------------


def test_redis_flushed_and_restarted_mid_campaign(sim, workers, private_redis):
    """Mid-campaign the broker is emptied (FLUSHDB), then killed -9 and started again empty
    (a restart without persistence): every message in flight is lost. Beat's sweep publishes
    the work again from the database; the campaign completes, nothing dialled twice."""
    account = funded_account(max_concurrent_calls=3)
    batch = campaign(account, 15)
    sim.configure(talk_ms=800)
    procs = workers(count=2, broker_url=private_redis.url)
    dispatch_account(account_id=account.pk)
    done = Job.objects.filter(batch=batch, status=Job.Status.DONE)
    wait_for(lambda: done.count() >= 3, timeout=30, message="three calls done")
    flushed_at = time.monotonic()
    private_redis.client().flushdb()
    assert open_jobs_left(batch) >= 6  # mid-campaign
    after_flush = done.count()
    wait_for(lambda: done.count() > after_flush + 1, timeout=30, message="progress after flush")
    private_redis.restart()
    assert open_jobs_left(batch) >= 3
    procs.wait_ready(timeout=30)

    wait_all_closed(timeout=60, batch=batch)
    recovered_in = time.monotonic() - flushed_at
    assert recovered_in < ENQUEUE_TTL_SECONDS + 30
    assert done.count() == 15
    assert_dialled_once(sim, batch=batch)
    assert_books_balanced(account)


# --- PostgreSQL ------------------------------------------------------------------------------


def terminate_other_backends() -> int:
    """Drop every connection to the test database but this one (workers, beat, the live
    server's threads), as a PostgreSQL failover or restart would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_postgres_connections_dropped_mid_task(sim, workers):
    """Every connection to the database is terminated five times: once while the workers are
    idle, then four times while they are in the middle of dialling (each create takes
    0.8 s). Tasks fail cleanly, the workers reconnect, jobs whose worker lost its connection
    are recovered, and nothing is dialled twice."""
    account = funded_account(max_concurrent_calls=3)
    sim.configure(create_delay_ms=800)
    procs = workers(count=2, include="bench.ceiling")
    # Round 0: the workers are idle (beat's sweeps have connected them) when the connections
    # are dropped; rounds 1-4 land while a worker is in the middle of a create.
    wait_for(lambda: "sweep {" in procs.log_text(), timeout=20, message="a first sweep")
    dropped = terminate_other_backends()
    batch = campaign(account, 20)
    dispatch_account(account_id=account.pk)
    mid_task = 0
    for round_ in range(1, 5):
        wait_for(lambda: attempts_in(CallAttempt.Status.DIALLING, batch=batch).exists()
                 or open_jobs_left(batch) == 0,
                 timeout=45, message=f"a create in flight (round {round_})")
        if open_jobs_left(batch) == 0:
            break  # the campaign outran the rounds; the drops so far are asserted below
        dropped += terminate_other_backends()
        mid_task += 1
        settled = Job.objects.filter(batch=batch).exclude(status__in=Job.OPEN_STATUSES).count()
        wait_for(lambda s=settled: Job.objects.filter(batch=batch).exclude(
            status__in=Job.OPEN_STATUSES).count() > s or open_jobs_left(batch) == 0,
            timeout=45, message="progress after the drop")
    assert mid_task >= 3 and dropped >= mid_task + 1

    wait_all_closed(timeout=60, batch=batch)
    assert Job.objects.filter(batch=batch, status=Job.Status.DONE).count() == 20
    assert_dialled_once(sim, batch=batch)
    assert_no_duplicate_attempts()
    assert_books_balanced(account)
    logs = procs.log_text()
    assert "terminating connection" in logs  # the fault did land mid-task
    # No worker is left with a dead connection: each one still runs database work.
    worker_logs = [p for p in procs.log_paths if "worker" in p.name]

    def every_worker_probed() -> bool:
        probe_database.delay(Job.objects.filter(batch=batch).first().pk)
        return all(re.search(r"probe_database\[[^]]+\] succeeded", p.read_text())
                   for p in worker_logs)

    wait_for(every_worker_probed, timeout=30, interval=0.2, message="each worker's probe")
    assert "the connection is closed" not in procs.log_text()


def sign_for(text: str) -> str:
    from django.conf import settings

    from retell_sim import sign

    return sign(text, settings.RETELL_API_KEY)


def open_jobs_left(batch) -> int:
    return Job.objects.filter(batch=batch, status__in=Job.OPEN_STATUSES).count()


# --- Retell ----------------------------------------------------------------------------------


def test_retell_answers_429_and_500_for_a_stretch(sim, workers):
    """Retell refuses six creates in a row (three 429 with Retry-After, three 500). Each job
    backs off and is retried with the same attempt and key; no attempt is charged to a
    debtor for a refused call, every hold taken for one is given back."""
    account = funded_account(max_concurrent_calls=3)
    batch = campaign(account, 6)
    sim.configure(fail_next=[
        {"status": 429, "count": 3, "endpoint": "create", "retry_after": 1},
        {"status": 500, "count": 3, "endpoint": "create"},
    ])
    workers(count=2)
    dispatch_account(account_id=account.pk)
    wait_for(lambda: sim.stats()["faults_injected"] == 6, timeout=30, message="six refusals")
    refused = CallAttempt.objects.filter(batch=batch, status=CallAttempt.Status.PROVIDER_ERROR)
    assert refused.count() >= 5
    assert all(j.attempts == 0 for j in Job.objects.filter(batch=batch, attempts__gt=0)
               .filter(call_attempts__status=CallAttempt.Status.PROVIDER_ERROR))
    assert_books_balanced(account, live_ok=True)  # refused holds are already back

    wait_all_closed(timeout=60, batch=batch)
    stats = assert_dialled_once(sim, batch=batch)
    assert stats["create_requests"] == 12 and stats["calls_created"] == 6
    attempts = CallAttempt.objects.filter(batch=batch)
    assert attempts.count() == 6 and set(attempts.values_list("attempt_number", flat=True)) == {1}
    assert sum(a.provider_failures for a in attempts) == 6
    assert list(Job.objects.filter(batch=batch).values_list("attempts", flat=True)) == [1] * 6
    assert_books_balanced(account)


def test_retell_times_out_and_never_sends_webhooks(sim, workers, live_server):
    """Retell accepts two calls but answers after the client's 1 s timeout, and sends no
    webhook for any call. The timed-out attempts are retried with their key (Retell returns
    the calls it already has), every call is closed by polling, holds are released, and the
    webhooks that finally arrive late change nothing."""
    account = funded_account(max_concurrent_calls=3)
    batch = campaign(account, 4)
    sim.configure(create_delay_ms=2500, create_delay_count=2, accept_then_timeout=True,
                  drop_webhooks=True)
    workers(count=2, env={"RETELL_TIMEOUT_SECONDS": "1"})
    dispatch_account(account_id=account.pk)

    wait_all_closed(timeout=60, batch=batch)
    stats = assert_dialled_once(sim, batch=batch)
    assert stats["idempotent_replays"] >= 2 and stats["get_requests"] >= 4
    assert Job.objects.filter(batch=batch, status=Job.Status.DONE).count() == 4
    timed_out = CallAttempt.objects.filter(batch=batch, provider_failures__gt=0)
    assert timed_out.count() == 2 and all(a.attempt_number == 1 for a in timed_out)
    assert_books_balanced(account)

    # The webhooks turn up after the poll closed the calls: accepted, nothing changes.
    before = snapshot(batch)
    for call in sim.calls():
        for event in ("call_started", "call_ended", "call_analyzed"):
            response = post_webhook(live_server, {"event": event, "call": call})
            assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert snapshot(batch) == before


def test_retell_times_out_and_the_calls_webhook_arrives_before_the_resend(sim, workers):
    """Retell accepts the call but answers after the client's 1 s timeout, so the worker
    gives the attempt back as a provider error and the job waits for its re-send (7.5-15 s).
    The call ends and its webhook arrives first: the call is settled from it (its hold taken
    again, charged once), the job is done, and the re-send never dials. (The engine used to
    ignore that webhook: the job stayed in progress until the stale-call poll.)"""
    account = funded_account()
    batch = campaign(account, 1)
    job = Job.objects.get(batch=batch)
    sim.configure(create_delay_ms=2500, create_delay_count=1, accept_then_timeout=True,
                  never_end=True)
    workers(count=1, env={"RETELL_TIMEOUT_SECONDS": "1"})
    dispatch_account(account_id=account.pk)
    wait_for(lambda: CallAttempt.objects.filter(
        job=job, status=CallAttempt.Status.PROVIDER_ERROR).exists(), timeout=20,
        message="the create to time out")
    (call,) = sim.calls()
    sim.configure(never_end=False)
    sim.end_call(call["call_id"], "user_hangup")

    wait_all_closed(timeout=5, batch=batch)  # well before the re-send is due
    attempt = CallAttempt.objects.get(job=job)
    assert attempt.call_id == call["call_id"] and attempt.provider_failures == 1
    assert attempt.outcome == CallAttempt.Outcome.CONTACT and attempt.cost > 0
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.attempts == 1
    assert_dialled_once(sim, batch=batch)
    assert_books_balanced(account)


# --- webhooks --------------------------------------------------------------------------------


def test_webhooks_duplicated_and_reordered(sim, workers):
    """Retell sends every event twice and call_ended before call_started. Each call is
    settled once: one dialled and one closing event per job, one hold, one refund and one
    charge per attempt."""
    account = funded_account(max_concurrent_calls=3)
    batch = campaign(account, 8, last_digits=(1, 2, 6, 7))  # answered and unanswered
    sim.configure(duplicate_webhooks=True, reorder_webhooks=True)
    workers(count=2)
    dispatch_account(account_id=account.pk)
    wait_all_closed(timeout=45, batch=batch)
    wait_for(lambda: sim.wait_idle(0.1), timeout=20, message="every webhook delivered")

    stats = assert_dialled_once(sim, batch=batch)
    assert stats["webhooks_sent"] >= 2 * 2 * stats["calls_created"]  # twice each, 2+ events
    for attempt in CallAttempt.objects.filter(batch=batch):
        assert attempt.settled_at is not None
        kinds = sorted(LedgerEntry.objects.filter(reference=attempt.idempotency_key)
                       .values_list("kind", flat=True))
        assert kinds == ["refund", "reservation", "settlement"], (attempt, kinds)
    for job in Job.objects.filter(batch=batch):  # one outcome event per attempt settled
        outcomes = JobEvent.objects.filter(job=job, detail__startswith="#").count()
        assert outcomes == job.call_attempts.count(), job
    assert_no_duplicate_attempts()
    assert_books_balanced(account)


def test_webhooks_forged_unknown_and_stale(sim, workers, live_server):
    """Forged or unsigned events answer 401 and change nothing, even for a live call; events
    for calls we never placed answer 200 "unknown"; a stale call_started after the end and a
    replayed call_ended answer 200 and change nothing."""
    account = funded_account(max_concurrent_calls=3)
    batch = campaign(account, 3)
    sim.configure(never_end=True)
    workers(count=1, beat=False)
    dispatch_account(account_id=account.pk)
    wait_for(lambda: three_live(sim, batch), timeout=30, message="three live calls")
    live = list(CallAttempt.objects.filter(batch=batch))
    before = snapshot(batch)
    ended = {**sim.get_call(live[0].call_id), "call_status": "ended",
             "disconnection_reason": "user_hangup", "duration_ms": 60_000,
             "end_timestamp": int(time.time() * 1000)}
    body = {"event": "call_ended", "call": ended}
    forged = [
        post_webhook(live_server, body, key="not-the-api-key"),
        post_webhook(live_server, body, signature=""),
        post_webhook(live_server, body, signature="v=1,d=00"),
        post_webhook(live_server, body, signature="garbage"),
        post_webhook(live_server, body, raw=json.dumps(body) + " ",  # body changed after
                     signature=sign_for(json.dumps(body))),           # signing
    ]
    assert [r.status_code for r in forged] == [401] * 5
    assert snapshot(batch) == before and sim.stats()["live_total"] == 3

    unknown = [
        {"event": "call_ended", "call": {**ended, "call_id": "call_never_placed",
                                         "metadata": {}}},
        {"event": "call_ended", "call": {**ended, "call_id": "call_other",
                                         "metadata": {"job_id": 10**9, "attempt": 1}}},
        {"event": "call_started", "call": {"call_id": "call_x"}},
    ]
    for event in unknown:
        response = post_webhook(live_server, event)
        assert response.status_code == 200 and response.json()["status"] == "unknown"
    assert post_webhook(live_server, {"event": "nonsense", "call": {}}).json() == {
        "status": "ignored"}
    assert snapshot(batch) == before

    for attempt in live:
        sim.end_call(attempt.call_id, "user_hangup")
    wait_all_closed(timeout=30, batch=batch)
    settled = snapshot(batch)
    for attempt in live:
        call = sim.get_call(attempt.call_id)
        stale_start = {**call, "call_status": "ongoing"}
        for event in ({"event": "call_started", "call": stale_start},
                      {"event": "call_ended", "call": call}):
            response = post_webhook(live_server, event)
            assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert snapshot(batch) == settled
    assert_dialled_once(sim, batch=batch)
    assert_books_balanced(account)


def test_webhook_for_a_job_handed_back_never_dials_it_twice(sim, fast_engine, live_server,
                                                            monkeypatch):
    """The create succeeds but saving its result fails (a dropped connection), so the job is
    handed back while its call rings; the call's first webhook arrives before the retry. The
    retry must find the live call instead of dialling attempt 2, and the attempt counts once.
    (Found by the PostgreSQL test above, which hit it by chance; made deterministic here.)"""
    from django.db import OperationalError

    from calls import services

    account = funded_account()
    batch = campaign(account, 1)
    job = Job.objects.get(batch=batch)
    sim.configure(never_end=True, drop_webhooks=True)
    real_placed = services.attempt_placed

    def connection_lost(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "attempt_placed", connection_lost)
    with pytest.raises(OperationalError):
        services.job_process(job_id=job.pk)
    monkeypatch.setattr(services, "attempt_placed", real_placed)
    job.refresh_from_db()
    assert job.status == Job.Status.PENDING and sim.stats()["calls_created"] == 1

    (call,) = sim.calls()
    started = post_webhook(live_server, {"event": "call_started", "call": call})
    assert started.status_code == 200
    job.refresh_from_db()
    assert job.status == Job.Status.IN_PROGRESS and job.attempts == 1

    assert services.job_process(job_id=job.pk) in ("not_claimed", "call_live")  # the retry
    Job.objects.filter(pk=job.pk).update(status=Job.Status.PENDING)  # even if claimable
    assert services.job_process(job_id=job.pk) == "call_live"
    assert sim.stats()["calls_created"] == 1

    sim.configure(drop_webhooks=False, never_end=False)
    sim.end_call(call["call_id"], "user_hangup")
    wait_all_closed(timeout=20, batch=batch)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.attempts == 1
    assert_dialled_once(sim, batch=batch)
    assert_books_balanced(account)
