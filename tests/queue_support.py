"""Real Celery workers (and beat) in subprocesses, against real Redis and the test database.

Used by the queue, end-to-end and reliability tests. Each worker is its own process group so a
test can kill -9 it exactly as a crashed host would be.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

from callcenter.queues import ALL_OPTION as ALL_QUEUES

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = settings.CELERY_BROKER_URL


class Published(list):
    """A stand-in for calls.dispatch.publish_jobs where no broker runs: the job ids it was
    given, in order; ``eta``: the start instants of those published ahead of their due time."""

    def __init__(self):
        super().__init__()
        self.eta = {}

    def __call__(self, job_ids, *, eta=None):
        self.extend(job_ids)
        self.eta.update(eta or {})


def flush_broker(url: str = REDIS_URL) -> None:
    redis.Redis.from_url(url).flushdb()


def wait_for(predicate, *, timeout: float, interval: float = 0.05, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")


class CeleryProcesses:
    """Start ``workers`` worker processes (solo pool) and optionally beat; stop them all.
    ``include``: more task modules for the workers to load (comma-separated); ``queues``: the
    queues they consume (-Q; by default all of them, as dev.py's single worker)."""

    def __init__(self, *, workers: int = 2, beat: bool = False, env: dict | None = None,
                 broker_url: str = REDIS_URL, pool: str = "solo", concurrency: int = 1,
                 include: str = "", queues: str = ALL_QUEUES):
        self.broker_url, self.include, self.queues = broker_url, include, queues
        self.count, self.beat, self.pool, self.concurrency = workers, beat, pool, concurrency
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "callcenter.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": broker_url,
            "RETELL_BASE_URL": settings.RETELL_BASE_URL,
            "RETELL_API_KEY": settings.RETELL_API_KEY,
            "CALLS_STALE_MARGIN_SECONDS": str(settings.CALLS_STALE_MARGIN_SECONDS),
            "CALLS_LEASE_SECONDS": str(settings.CALLS_LEASE_SECONDS),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.workers: list[subprocess.Popen] = []
        self.beat_process: subprocess.Popen | None = None
        self.logs = ROOT / "var" / "test-logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}-{os.getpid()}.log", "w")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "callcenter", *args],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_worker(self, index: int) -> subprocess.Popen:
        process = self._spawn(
            ["worker", "--pool", self.pool, "--concurrency", str(self.concurrency),
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-Q", self.queues,
             "-n", f"w{index}-{os.getpid()}@%h",
             *(["--include", self.include] if self.include else [])],
            f"worker-{index}",
        )
        self.workers.append(process)
        return process

    def start(self) -> "CeleryProcesses":
        for index in range(self.count):
            self.start_worker(index)
        if self.beat:
            self.beat_process = self._spawn(
                ["beat", "--loglevel", "INFO", "--max-interval", "1",
                 "--schedule", str(self.logs / "beat-schedule")], "beat")
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        """Until every worker answers a ping over the broker."""
        from callcenter.celery import app

        def answered():
            replies = app.control.ping(timeout=0.5) or []
            return len(replies) >= len([w for w in self.workers if w.poll() is None])

        wait_for(answered, timeout=timeout, interval=0.3, message="workers to start")

    def kill(self, process: subprocess.Popen) -> None:
        """kill -9, the whole process group (a crashed host)."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in [*self.workers, self.beat_process]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers, self.beat_process]:
            if process is None:
                continue
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
