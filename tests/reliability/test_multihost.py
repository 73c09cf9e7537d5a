"""Workers on several hosts (issue 18): two worker "hosts", each a network namespace reaching
PostgreSQL, Redis and the Retell simulator only over its veth pair (tests/netns_support.py),
with beat, the web server (pytest-django's live server, receiving the simulator's webhooks)
and the simulator on this side.

A campaign of 200 jobs on an account of 5 call slots runs to completion on both hosts
(8 threads between them, so the limit is held by the database, not by the number of
workers); then again with one host's workers killed -9 mid-campaign, and the other finishes
it. Each run ends with the reliability suite's invariants: every job done, nobody dialled
twice, the limit never exceeded at the simulator, every hold settled and the books balanced.

Skipped where network namespaces cannot be made (not root, no iproute2, no privileges).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.utils import timezone

from batches.models import Job, JobEvent
from calls.dispatch import dispatch_account
from calls.models import CallAttempt
from tests import netns_support
from tests.queue_support import ROOT, wait_for
from tests.reliability.conftest import (
    FAST_ENGINE,
    WARM_CELERY,
    Workers,
    assert_books_balanced,
    assert_dialled_once,
    assert_no_duplicate_attempts,
    campaign,
    funded_account,
    slug_for,
    wait_all_closed,
)

UNAVAILABLE = netns_support.unavailable()
pytestmark = [pytest.mark.queue, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")]

JOBS = 200
SLOTS = 5
THREADS_PER_HOST = 4
DIALLED = re.compile(r"process_job job=\d+ -> dialled")


def _endpoint(url: str) -> tuple[str, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname, parts.port


@pytest.fixture
def hosts():
    reason = netns_support.unavailable()
    if reason:
        pytest.skip(reason)
    try:
        made = netns_support.make_hosts(2)
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"cannot create network namespaces here: {exc}")
    try:
        yield made
    finally:
        for host in made:
            host.destroy()


@pytest.fixture
def forwarder(hosts, sim, broker):
    """PostgreSQL, Redis and the simulator, reachable from each namespace at its gateway."""
    db = connection.settings_dict
    if not db["HOST"] or db["HOST"].startswith("/"):
        pytest.skip("the test database is reached over a Unix socket, not TCP")
    services = [(db["HOST"], int(db["PORT"] or 5432)), _endpoint(broker),
                _endpoint(sim.base_url)]
    forward = netns_support.Forwarder(
        [(host.gateway, service, port) for host in hosts for service, port in services])
    try:
        yield forward
    finally:
        forward.stop()


class HostWorkers(Workers):
    """Workers of one namespaced host: every URL they use goes through the forwarder."""

    def __init__(self, *, host: netns_support.Host, forward: netns_support.Forwarder,
                 **kwargs):
        super().__init__(**kwargs)
        self.host = host
        for name in ("DATABASE_URL", "CELERY_BROKER_URL", "RETELL_BASE_URL"):
            self.env[name] = forward.url(self.env[name], host.gateway)

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        path = self.logs / f"{self.tag}-{self.host.name}-{name}.log"
        self.log_paths.append(path)
        args = [arg.replace("@%h", f"@{self.host.name}") for arg in args]
        with open(path, "w") as log:
            return subprocess.Popen(
                self.host.command([sys.executable, "-c", WARM_CELERY, "-A", "callcenter",
                                   *args]),
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def node_names(self) -> list[str]:
        return [f"w{index}-{os.getpid()}@{self.host.name}" for index in range(len(self.workers))]

    def wait_ready(self, timeout: float = 60) -> None:
        """Until every worker of this host answers a ping (over its veth)."""
        from callcenter.celery import app

        names = set(self.node_names())

        def answered():
            assert all(w.poll() is None for w in self.workers), self.log_text()[-3000:]
            replies = app.control.ping(destination=list(names), timeout=0.5) or []
            return names <= {name for reply in replies for name in reply}

        wait_for(answered, timeout=timeout, interval=0.3,
                 message=f"the workers of {self.host.name} to start")

    def dialled(self) -> int:
        return len(DIALLED.findall(self.log_text()))


@pytest.fixture
def host_workers(request, hosts, forwarder, fast_engine):
    """Starts the workers of each host (one process of THREADS_PER_HOST threads, every
    queue); all stopped at the end."""
    started: list[HostWorkers] = []

    def start() -> list[HostWorkers]:
        for host in hosts:
            procs = HostWorkers(host=host, forward=forwarder, tag=slug_for(request), workers=1,
                                pool="threads", concurrency=THREADS_PER_HOST,
                                env=dict(FAST_ENGINE))
            started.append(procs)
        for procs in started:  # both hosts boot at once
            for index in range(procs.count):
                procs.start_worker(index)
        for procs in started:
            procs.wait_ready()
        return started

    yield start
    for procs in started:
        procs.stop()


def assert_campaign_finished(sim, account, batch) -> dict:
    jobs = Job.objects.filter(batch=batch)
    assert jobs.count() == JOBS
    assert not jobs.exclude(status=Job.Status.DONE).exists(), list(
        jobs.exclude(status=Job.Status.DONE).values_list("pk", "status", "last_error"))
    stats = assert_dialled_once(sim, batch=batch)
    assert stats["calls_created"] == JOBS  # every debtor answers: one call each
    assert_no_duplicate_attempts()
    peak = stats["max_live_by_account"][account.account_id]
    assert 1 <= peak <= SLOTS, stats["max_live_by_account"]
    assert_books_balanced(account)
    return stats


def test_a_campaign_runs_on_two_worker_hosts(hosts, sim, workers, host_workers):
    account = funded_account(max_concurrent_calls=SLOTS)
    batch = campaign(account, JOBS)
    started = time.monotonic()
    beat = workers(count=0, beat=True)  # beat on this side, sweeping every second
    fleet = host_workers()
    dispatch_account(account_id=account.pk)
    wait_all_closed(timeout=120, batch=batch)
    elapsed = time.monotonic() - started
    sim.wait_idle(5)
    for procs in (*fleet, beat):
        procs.stop()
    stats = assert_campaign_finished(sim, account, batch)
    # Both hosts dialled; each call was placed by exactly one of them.
    per_host = [procs.dialled() for procs in fleet]
    assert all(count > 0 for count in per_host) and sum(per_host) == JOBS, per_host
    print(f"\n{JOBS} jobs on 2 hosts in {elapsed:.1f} s; calls per host {per_host}; "
          f"peak {stats['max_live_by_account'][account.account_id]} of {SLOTS} slots")


def test_one_host_killed_mid_campaign_the_other_finishes(hosts, sim, workers,
                                                          host_workers):
    """Host A is killed -9 in the middle of dials of its own: its claims (leases, holds,
    attempts saved, creates sent and never answered) are left behind, and so are the
    messages it had taken. Host B finishes the campaign: the calls A placed end through
    their webhooks, the jobs A had claimed come back when their leases expire (re-sent with
    the same idempotency key: Retell answers with the call it has), and the nudges A had
    taken are published again by beat's sweep."""
    account = funded_account(max_concurrent_calls=SLOTS)
    batch = campaign(account, JOBS)
    started = time.monotonic()
    workers(count=0, beat=True)
    victim, survivor = host_workers()
    dispatch_account(account_id=account.pk)
    wait_for(lambda: CallAttempt.objects.filter(batch=batch).count() >= JOBS // 3,
             timeout=60, interval=0.1, message="a third of the campaign to be dialled")
    assert victim.dialled() > 0 and survivor.dialled() > 0
    # Make sure A dies in the middle of its own dials: Retell now takes the calls at once
    # but answers the creates 5 s later, and B is frozen until A has a create in flight.
    sim.configure(create_delay_ms=5000, accept_then_timeout=True)
    stranded = freeze_until_the_other_dials(survivor, batch)
    for process in victim.workers:
        victim.kill(process)  # kill -9, the whole process group: a host gone
    assert not subprocess.run(["ip", "netns", "pids", victim.host.name], capture_output=True,
                              text=True).stdout.split()
    sim.configure(create_delay_ms=0, accept_then_timeout=False)
    signal_host(survivor, signal.SIGCONT)
    killed_at = CallAttempt.objects.filter(batch=batch).count()
    survivor_before = survivor.dialled()

    wait_all_closed(timeout=120, batch=batch)
    elapsed = time.monotonic() - started
    sim.wait_idle(5)
    survivor.stop()
    stats = assert_campaign_finished(sim, account, batch)
    assert survivor.dialled() > survivor_before
    # The jobs A died dialling were finished once, with the call A had placed.
    assert set(Job.objects.filter(pk__in=stranded, status=Job.Status.DONE, attempts=1)
               .values_list("pk", flat=True)) == stranded
    recovered = JobEvent.objects.filter(job__batch=batch, kind="recovered").count()
    print(f"\n{JOBS} jobs, host {victim.host.name} killed after {killed_at} dials with "
          f"{len(stranded)} of its creates unanswered, {recovered} leases recovered by the "
          f"sweep; finished by the other in "
          f"{elapsed:.1f} s; peak {stats['max_live_by_account'][account.account_id]} of "
          f"{SLOTS} slots")


def freeze_until_the_other_dials(survivor: HostWorkers, batch, tries: int = 8) -> set[int]:
    """Freeze the survivor's workers (SIGSTOP) until a create of the other host's is in
    flight, and return the jobs of the creates unanswered since the freeze. A freeze can land
    while one of the survivor's dials holds the account's row lock (its reservation, a
    transaction of a few milliseconds): the other host then waits on that lock and never
    reaches Retell, so after a while the survivor is let run a moment and frozen again."""
    for _ in range(tries):
        signal_host(survivor, signal.SIGSTOP)
        frozen_at = timezone.now()
        try:
            return wait_for(lambda since=frozen_at: set(CallAttempt.objects.filter(
                batch=batch, created_at__gte=since, call_id__isnull=True,
            ).values_list("job_id", flat=True)), timeout=8, interval=0.05,
                message="the other host to be in the middle of a create")
        except AssertionError:
            signal_host(survivor, signal.SIGCONT)
            time.sleep(0.5)
    raise AssertionError(f"no create of the other host in flight after {tries} freezes")


def signal_host(procs: HostWorkers, signum: int) -> None:
    for process in procs.workers:
        os.killpg(process.pid, signum)
