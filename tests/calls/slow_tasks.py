"""A slow maintenance task for the routing tests, loaded by their workers with
``--include tests.calls.slow_tasks``. It has no route, so it goes to the default
(housekeeping) queue, like any task nobody routed."""

import time

import redis
from celery import shared_task
from django.conf import settings

SLOW_TASK = "tests.slow_housekeeping"


@shared_task(name=SLOW_TASK, acks_late=True)
def slow_housekeeping(marker: str, seconds: float) -> None:
    """Say it started (sets ``marker``), then work until ``marker`` + ":done" is set or
    ``seconds`` pass (so a test ends it as soon as it has seen what it wanted)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.set(marker, "started", ex=120)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not client.exists(f"{marker}:done"):
        time.sleep(0.1)
