"""The Celery queues (callcenter/queues.py): every task goes to its queue, every queue has a
worker wherever workers are started, and a dial never waits behind slow housekeeping."""

import re
import shlex
import time
import uuid
from decimal import Decimal

import pytest
import redis
import yaml
from django.conf import settings

from accounts import services as account_services
from batches.models import Job
from callcenter import queues
from callcenter.celery import app
from calls.dispatch import dispatch_account
from calls.models import CallAttempt
from tests.calls.slow_tasks import SLOW_TASK
from tests.factories import AccountFactory, BatchFactory, JobFactory
from tests.queue_support import ROOT, CeleryProcesses, flush_broker, wait_for

EXPECTED = {
    "calls.tasks.process_job": queues.DIAL,
    "calls.tasks.sweep": queues.SWEEP,
    "calls.tasks.purge_expired_records": queues.HOUSEKEEPING,
    SLOW_TASK: queues.HOUSEKEEPING,  # no route: the default queue
}


def routed_queue(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def test_the_router_sends_each_task_to_its_queue():
    assert {name: routed_queue(name) for name in EXPECTED} == EXPECTED
    assert settings.CELERY_TASK_DEFAULT_QUEUE == queues.HOUSEKEEPING


def test_every_task_of_the_project_has_a_route():
    """A new task on the dial path must be routed on purpose: unrouted, it would wait on the
    housekeeping queue behind retention runs."""
    app.loader.import_default_modules()
    ours = {name for name in app.tasks
            if name.startswith(("accounts.", "batches.", "calls.", "callcenter."))}
    assert ours, "no task registered"
    assert ours <= set(queues.ROUTES), sorted(ours - set(queues.ROUTES))


def _worker_queues(command: str) -> set[str]:
    args = shlex.split(command)
    assert "-Q" in args, f"a worker without -Q consumes only the default queue: {command}"
    return set(args[args.index("-Q") + 1].split(","))


def test_compose_runs_a_worker_for_every_queue():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    served = {name: _worker_queues(service["command"]) for name, service in services.items()
              if " worker" in str(service.get("command", ""))}
    assert served == {"worker": {queues.DIAL}, "worker-sweep": {queues.SWEEP},
                      "worker-housekeeping": {queues.HOUSEKEEPING}}
    # The dial workers scale: no fixed name or port that two copies would share.
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]


def test_dev_py_worker_consumes_every_queue():
    source = (ROOT / "dev.py").read_text()
    assert re.search(r'"worker".*?"-Q", "dial,sweep,housekeeping"', source, re.S)
    assert queues.ALL_OPTION == "dial,sweep,housekeeping"


@pytest.mark.queue
def test_a_published_task_lands_on_its_queue_in_redis():
    """Published for real with no worker running: each message waits in its queue's list."""
    from calls.tasks import process_job, sweep

    flush_broker()
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    process_job.apply_async((0,))
    sweep.apply_async()
    app.send_task("calls.tasks.purge_expired_records")
    app.send_task(SLOW_TASK, ("x", 0))
    lengths = {queue: client.llen(queue) for queue in (*queues.ALL, "celery")}
    assert lengths == {queues.DIAL: 1, queues.SWEEP: 1, queues.HOUSEKEEPING: 2, "celery": 0}
    flush_broker()


@pytest.fixture
def live_sim(sim, live_server):
    sim.configure(drop_webhooks=False, never_end=False, ring_ms=50, talk_ms=100,
                  webhook_url=f"{live_server.url}/api/v1/calls/retell/webhook")
    flush_broker()
    return sim


@pytest.mark.queue
@pytest.mark.django_db(transaction=True)
def test_a_dial_is_not_held_behind_a_long_housekeeping_task(live_sim):
    """The compose layout: one worker on housekeeping, busy with a long task with another
    queued behind it, one on dial. A campaign published meanwhile is dialled and finished
    while the housekeeping worker is still on its first task."""
    account = AccountFactory(max_concurrent_calls=2)
    account_services.account_topup(account=account, credits=Decimal("100000"), reference="t")
    batch = BatchFactory(account=account)
    for n in range(4):
        JobFactory(batch=batch, contact={"name": f"Deudor {n}", "phones": [f"+5698765{n:04d}1"],
                                         "next_phone_index": 0})
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    marker = f"slow-{uuid.uuid4().hex}"
    housekeeping = CeleryProcesses(workers=1, queues=queues.HOUSEKEEPING,
                                   include="tests.calls.slow_tasks")
    dial = CeleryProcesses(workers=1, queues=queues.DIAL)
    try:
        housekeeping.start()
        dial.start()
        for _ in range(2):
            app.send_task(SLOW_TASK, (marker, 60))
        wait_for(lambda: client.exists(marker), timeout=20, message="the slow task to start")
        started = time.monotonic()
        dispatch_account(account_id=account.pk)
        wait_for(lambda: not Job.objects.filter(batch=batch,
                                                status__in=Job.OPEN_STATUSES).exists(),
                 timeout=30, message="the campaign to finish")
        elapsed = time.monotonic() - started
        # The housekeeping worker is still on its first task; its second one still waits.
        assert client.llen(queues.HOUSEKEEPING) == 1
        assert CallAttempt.objects.filter(batch=batch).count() == 4
        assert elapsed < 30
    finally:
        client.set(f"{marker}:done", 1, ex=120)
        dial.stop()
        housekeeping.stop()
