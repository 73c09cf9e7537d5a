"""Shared pieces of the reliability suite (issue 6).

Real Celery worker processes (and beat) on real Redis and PostgreSQL, the Retell simulator
sending signed webhooks to pytest-django's live server, engine timings shrunk to seconds, and
the invariants every fault test ends with: nothing lost, nothing dialled twice, the books
balanced and every hold released.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings as django_settings
from django.db.models import Count, Q, Sum

from accounts import services as account_services
from accounts.models import Account, LedgerEntry
from batches.models import Batch, Job, JobEvent
from calls.models import CallAttempt
from calls.periodic import periodic_tasks_install
from retell_sim import RetellSimulator
from tests.factories import AccountFactory, BatchFactory, JobFactory
from tests.queue_support import ROOT, CeleryProcesses, wait_for

LOG_DIR = ROOT / "var" / "test-logs" / "reliability"
WEBHOOK_PATH = "/api/v1/calls/retell/webhook"
# A message for a job not claimed within this many seconds is presumed lost and published again
# (CALLS_ENQUEUE_TTL_SECONDS, 60 s by default). Short here so that a message stranded by a
# kill -9 or a Redis flush costs seconds, not a minute.
ENQUEUE_TTL_SECONDS = 5

# Engine timings for the worker processes: leases expire and stale calls are polled within
# seconds (both settings refuse values under 10 s), beat sweeps every second, and a worker
# holds only the message it is executing, so a kill -9 strands at most one message.
FAST_ENGINE = {
    "CALLS_LEASE_SECONDS": "10",
    "CALLS_STALE_MARGIN_SECONDS": "10",
    "CALLS_SWEEP_SECONDS": "1",
    "CELERY_WORKER_PREFETCH_MULTIPLIER": "1",
    "LOG_LEVEL": "INFO",
    "CALLS_ENQUEUE_TTL_SECONDS": str(ENQUEUE_TTL_SECONDS),
}

# Short calls: a live call is polled 1 + 2 + 10 s after it started. (Below the API's minimums
# on purpose: the factories store them as given and the simulator is told not to mind.)
FAST_CALLS = {
    "max_call_duration": 2,
    "ring_timeout": 1,
    "max_attempts": 2,
    "retry_delay_hours": "0",
    "allowed_hours": None,
    "days_of_week": None,
    "timezone": "America/Santiago",
    "priority": "normal",
}


# `celery`, with a test hook: the Retell SDK is imported before the worker answers pings (it
# takes seconds to import, and a worker paying for it in its first task would skew every
# timing after a restart).
WARM_CELERY = """
import sys
if "worker" in sys.argv:
    import retell  # noqa


from celery.__main__ import main
sys.argv[0] = "celery"
main()
"""


def slug_for(request) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)[:80]


class Workers(CeleryProcesses):
    """CeleryProcesses whose logs go to var/test-logs/reliability/<test>-<process>.log, so
    concurrent runs and later tests never overwrite them and a test can read them back."""

    def __init__(self, *, tag: str, **kwargs):
        super().__init__(**kwargs)
        self.tag = tag
        self.logs = LOG_DIR
        self.logs.mkdir(parents=True, exist_ok=True)
        self.log_paths: list[Path] = []

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        path = self.logs / f"{self.tag}-{name}.log"
        self.log_paths.append(path)
        with open(path, "w") as log:
            return subprocess.Popen(
                [sys.executable, "-c", WARM_CELERY, "-A", "callcenter", *args],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.log_paths if p.exists())

    def alive(self) -> list[subprocess.Popen]:
        return [w for w in self.workers if w.poll() is None]


@pytest.fixture
def broker():
    """The test settings' Redis database, emptied: no message of an earlier test is left."""
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()
    return django_settings.CELERY_BROKER_URL


@pytest.fixture
def fast_engine(settings):
    """The same short timings in this process (live server, in-process sweeps) as in the
    workers, and beat's sweep installed at one second."""
    settings.CALLS_ENQUEUE_TTL_SECONDS = ENQUEUE_TTL_SECONDS
    settings.CALLS_LEASE_SECONDS = 10
    settings.CALLS_STALE_MARGIN_SECONDS = 10
    settings.CALLS_SWEEP_SECONDS = 1
    periodic_tasks_install()
    return settings


@pytest.fixture
def sim(settings, live_server):
    """A Retell simulator whose webhooks reach the live server; calls ring 50 ms and talk
    200 ms; call_analyzed is late enough not to race with the end of a test."""
    simulator = RetellSimulator(
        api_key=settings.RETELL_API_KEY, ring_ms=50, talk_ms=200, analyzed_delay_ms=100,
        strict_agent_override=False, webhook_retries=6, webhook_backoff_ms=200,
        webhook_url=f"{live_server.url}{WEBHOOK_PATH}",
    )
    simulator.start()
    settings.RETELL_BASE_URL = simulator.base_url
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def workers(request, broker, sim, fast_engine):
    """A factory of Workers for this test (tagged with its name); all stopped at the end."""
    started: list[Workers] = []

    def make(*, count: int = 2, beat: bool = True, env: dict | None = None, **kwargs) -> Workers:
        procs = Workers(tag=slug_for(request), workers=count, beat=beat,
                        env={**FAST_ENGINE, **(env or {})}, **kwargs)
        started.append(procs)
        return procs.start()

    yield make
    for procs in started:
        procs.stop()


# --- data -----------------------------------------------------------------------------------


def funded_account(*, credits=Decimal("100000"), max_concurrent_calls=3, **fields) -> Account:
    account = AccountFactory(max_concurrent_calls=max_concurrent_calls, **fields)
    account_services.account_topup(account=account, credits=credits, reference="test")
    account.refresh_from_db()
    return account


def campaign(account: Account, count: int, *, last_digits=(1, 2, 3, 4, 5), call_settings=None,
             prefix: str = "+5698") -> Batch:
    """A running batch of ``count`` jobs, one phone each; the simulator's outcome is chosen by
    the last digit (0-5 answered, 6 no answer, 7 busy, 8 voicemail)."""
    batch = BatchFactory(account=account, call_settings={**FAST_CALLS, **(call_settings or {})})
    for n in range(count):
        digit = last_digits[n % len(last_digits)]
        phone = f"{prefix}{account.pk % 100:02d}{n % 1000:03d}9{digit}"
        JobFactory(batch=batch, contact={"name": f"Deudor {n}", "phones": [phone],
                                         "next_phone_index": 0})
    return batch


def open_jobs(**filters) -> int:
    return Job.objects.filter(status__in=Job.OPEN_STATUSES, **filters).count()


def wait_all_closed(*, timeout: float, **filters) -> None:
    try:
        wait_for(lambda: open_jobs(**filters) == 0, timeout=timeout, interval=0.2,
                 message="every job to end")
    except AssertionError as exc:
        left = Job.objects.filter(status__in=Job.OPEN_STATUSES, **filters).values_list(
            "pk", "status", "attempts", "last_error", "next_try_at", "reserved_until",
            "enqueued_until")
        attempts = CallAttempt.objects.filter(job__in=[row[0] for row in left]).values_list(
            "job_id", "attempt_number", "status", "call_id", "provider_failures")
        raise AssertionError(f"{exc}; open jobs: {list(left)}; their attempts: "
                             f"{list(attempts)}") from None


# --- invariants -----------------------------------------------------------------------------


def assert_dialled_once(sim: RetellSimulator, **filters) -> dict:
    """Every attempt reached Retell at most once; every call Retell has is one attempt; and
    Job.attempts counts exactly the calls placed for the debtor."""
    stats = sim.stats()
    attempts = CallAttempt.objects.filter(**filters)
    keys = stats["by_idempotency_key"]
    assert all(count == 1 for count in keys.values()), keys
    assert stats["calls_created"] == len(keys)
    placed = attempts.filter(call_id__isnull=False)
    assert placed.count() == stats["calls_created"], (placed.count(), stats["calls_created"])
    assert set(placed.values_list("idempotency_key", flat=True)) == set(keys)
    # Attempts whose call failed on Retell's side are given back to the debtor.
    charged = placed.exclude(outcome__in=(CallAttempt.Outcome.PROVIDER_ERROR,
                                          CallAttempt.Outcome.UNKNOWN)).count()
    job_attempts = Job.objects.filter(**filters).aggregate(s=Sum("attempts"))["s"] or 0
    assert job_attempts == charged, (job_attempts, charged)
    return stats


def assert_books_balanced(account: Account, *, live_ok: bool = False) -> None:
    """The balance equals the sum of its ledger, is not negative, every hold of a finished
    call is released, and what was spent is exactly the cost of the calls."""
    account.refresh_from_db()
    for unit, balance in (("credits", account.credits), ("minutes", account.minutes)):
        total = LedgerEntry.objects.filter(account=account, unit=unit).aggregate(
            s=Sum("amount"))["s"] or Decimal("0")
        assert balance == total, (unit, balance, total)
        assert balance >= 0
    live = CallAttempt.objects.filter(account=account, status__in=CallAttempt.LIVE_STATUSES)
    if not live_ok:
        assert not live.exists(), list(live.values_list("idempotency_key", "status"))
    held = LedgerEntry.objects.filter(account=account, unit="credits").aggregate(
        reserved=Sum("amount", filter=Q(kind=LedgerEntry.Kind.RESERVATION)),
        released=Sum("amount", filter=Q(kind=LedgerEntry.Kind.REFUND)),
    )
    outstanding = -((held["reserved"] or 0) + (held["released"] or 0))
    still_held = live.aggregate(s=Sum("hold_amount"))["s"] or Decimal("0")
    assert outstanding == still_held, f"holds not released: {outstanding} vs {still_held}"
    topups = LedgerEntry.objects.filter(
        account=account, unit="credits",
        kind__in=(LedgerEntry.Kind.TOPUP, LedgerEntry.Kind.ADJUSTMENT),
    ).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    spent = CallAttempt.objects.filter(account=account).aggregate(s=Sum("cost"))["s"] or 0
    assert account.credits == topups - spent - still_held


def assert_no_duplicate_attempts() -> None:
    dupes = (CallAttempt.objects.values("job_id", "attempt_number")
             .annotate(n=Count("id")).filter(n__gt=1))
    assert not dupes.exists()


def no_secret_in(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, "a secret appears in the logs"

# --- webhooks -------------------------------------------------------------------------------


def post_webhook(live_server, body: dict, *, key: str | None = None, signature: str | None = None,
                 raw: str | None = None) -> httpx.Response:
    """POST an event to the live server's webhook, signed with ``key`` (default: the real API
    key) unless ``signature`` is given."""
    from retell_sim import sign

    text = raw if raw is not None else json.dumps(body, separators=(",", ":"))
    if signature is None:
        signature = sign(text, key or django_settings.RETELL_API_KEY)
    headers = {"content-type": "application/json"}
    if signature:
        headers["x-retell-signature"] = signature
    return httpx.post(f"{live_server.url}{WEBHOOK_PATH}", content=text.encode(), headers=headers,
                      timeout=10)


def snapshot(batch: Batch) -> dict:
    """What a stray event must not change: jobs, attempts' state and money, the ledger."""
    account = Account.objects.get(pk=batch.account_id)
    return {
        "jobs": list(Job.objects.filter(batch=batch).order_by("pk").values_list(
            "pk", "status", "attempts", "last_error", "last_outcome", "contact")),
        "attempts": list(CallAttempt.objects.filter(batch=batch).order_by("pk").values_list(
            "pk", "status", "outcome", "cost", "hold_amount", "settled_at", "ended_at")),
        "ledger": list(LedgerEntry.objects.filter(account=account).order_by("pk").values_list(
            "pk", "amount")),
        "balance": (account.credits, account.minutes, account.total_spent),
        "events": JobEvent.objects.filter(job__batch=batch).count(),
    }


# --- a private Redis, for restarts ---------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test alone (no persistence), so restarting it harms no one."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.on_restart = lambda: None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_for(self._pings, timeout=10, message="redis-server to start")

    def _pings(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.ConnectionError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """kill -9 and start again, empty, on the same port."""
        self.kill()
        self.start()
        self.on_restart()


@pytest.fixture
def private_redis():
    """A private redis-server, used as broker by this process too: the live server publishes
    (dispatch after a webhook) and the test pings the workers through it."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis()
    server.start()
    from kombu import pools

    from callcenter.celery import app

    def use(url: str) -> None:
        os.environ["CELERY_BROKER_URL"] = url  # Celery prefers it to its configuration
        app.conf.broker_url = url
        pools.reset()  # kombu's pools are keyed by URL: drop their (dead) connections
        app._pool = None
        app.amqp._producer_pool = None

    previous = os.environ.get("CELERY_BROKER_URL"), app.conf.broker_url
    use(server.url)
    server.on_restart = lambda: use(server.url)  # this process's pooled connections died
    try:
        yield server
    finally:
        use(previous[1])
        if previous[0] is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous[0]
        server.kill()
