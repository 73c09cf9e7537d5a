"""Load: 2,000 jobs over five accounts on four worker processes, and storms of concurrent batch
creations and pause/resume requests against the API over real HTTP.

Calls ring and talk for 0 ms at the simulator, so the engine, Redis, PostgreSQL and the
webhook path are the only limits.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from django.db import connection, transaction
from django.db.models import Count

from accounts import services as account_services
from accounts.models import Account
from batches import services as batch_services
from batches.models import Batch, BatchEvent, Job
from batches.reasons import JobReason as outcomes
from calls.dispatch import dispatch_account
from calls.models import CallAttempt
from tests.factories import AccountFactory, UserFactory, rut_with_dv
from tests.queue_support import wait_for
from tests.reliability.conftest import (
    FAST_CALLS,
    assert_books_balanced,
    assert_dialled_once,
    assert_no_duplicate_attempts,
    funded_account,
    wait_all_closed,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

LOAD_CALLS = {**FAST_CALLS, "max_call_duration": 60, "ring_timeout": 5, "max_attempts": 1}
# Small balances: every account runs out part-way. A call holds 50 + 50 × 60/60 = 100 credits
# and costs 50 (the setup; 0 s talked), so these pay for about 20 to 60 calls each.
BALANCES = [Decimal("1000"), Decimal("1500"), Decimal("2000"), Decimal("2500"), Decimal("3000")]
SETUP_COST = Decimal("50")
JOBS_PER_ACCOUNT = 400
_ruts = iter(range(30_000_000, 40_000_000))


def contacts(count: int, *, start: int | None = None) -> list[dict]:
    """Valid debtors, each with a Chilean mobile whose last digit the simulator answers."""
    out = []
    for n in range(count):
        number = next(_ruts) if start is None else start + n
        out.append({"name": f"Deudor {number}", "rut": rut_with_dv(number),
                    "phones": [f"+5699{number % 100_000:05d}9{1 + n % 5}"]})
    return out


def quiescent(accounts: list[Account], hold: Decimal) -> bool:
    """No call in progress, and every account either finished or unable to pay a hold.

    Read in one snapshot: checked statement by statement, "nothing live" could be read just
    before a worker took a hold and "cannot pay" just after, and the hold comes back later.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if CallAttempt.objects.filter(status__in=CallAttempt.LIVE_STATUSES).exists():
            return False
        for account in accounts:
            account.refresh_from_db()
            if Job.objects.filter(account=account, status__in=Job.OPEN_STATUSES).exists() and (
                    account.credits >= hold):
                return False
    return True


def test_2000_jobs_on_four_workers_within_limits_and_balances(sim, workers):
    sim.configure(ring_ms=0, talk_ms=0, analyzed_delay_ms=0)
    user = UserFactory(is_staff=True)
    accounts = []
    for index, credits in enumerate(BALANCES):
        account = funded_account(credits=credits, max_concurrent_calls=3,
                                 account_id=f"load-{index}", cost_per_call_setup=SETUP_COST)
        batch_services.batch_create(account=account, user=user, name=f"Carga {index}",
                                    contacts=contacts(JOBS_PER_ACCOUNT),
                                    call_settings=LOAD_CALLS)
        accounts.append(account)
    assert Job.objects.count() == 2000
    hold = account_services.hold_for_call(account=accounts[0], max_call_duration=60).amount
    started = time.monotonic()
    procs = workers(count=4, env={"CELERY_WORKER_PREFETCH_MULTIPLIER": "4"})
    for account in accounts:
        dispatch_account(account_id=account.pk)
    wait_for(lambda: quiescent(accounts, hold), timeout=120, interval=0.5,
             message="every account finished or out of money")
    procs.stop()  # nothing moves while the books are checked
    elapsed = time.monotonic() - started

    stats = assert_dialled_once(sim)
    assert all(peak <= 3 for peak in stats["max_live_by_account"].values()), stats
    assert set(stats["max_live_by_account"]) == {a.account_id for a in accounts}
    assert_no_duplicate_attempts()
    for account, credits in zip(accounts, BALANCES, strict=True):
        assert_books_balanced(account)
        jobs = Job.objects.filter(account=account)
        states = Counter(jobs.values_list("status", flat=True))
        assert set(states) <= {Job.Status.DONE, Job.Status.PENDING}, states
        pending = jobs.filter(status=Job.Status.PENDING)
        # Out of money: every call it could pay for was made; the rest wait. The jobs the
        # engine reached say why; the others were never claimed (see docs/reliability.md).
        assert account.credits < hold
        assert states[Job.Status.DONE] == (credits - account.credits) / SETUP_COST
        reasons = Counter(pending.values_list("last_error", flat=True))
        assert set(reasons) <= {"", outcomes.WAIT_BALANCE}, reasons
        assert reasons[outcomes.WAIT_BALANCE] >= 1
        assert not pending.filter(attempts__gt=0).exists()
        assert not pending.exclude(last_error=outcomes.WAIT_BALANCE).filter(
            events__isnull=False).exists()
    print(f"\n2000 jobs, {stats['calls_created']} calls in {elapsed:.1f} s")


# --- the API under concurrent requests ------------------------------------------------------


PER_BATCH = 10


def _token(user) -> dict:
    return {"Authorization": f"Token {account_services.api_token_create(user=user)}"}


def test_concurrent_batch_creations_and_pause_resume_storms(sim, workers, live_server):
    """20 batch creations at once (10 with disjoint debtors, 10 with the same 10 debtors and
    allow_duplicates false), then 200 pause/resume requests (and 200 status reads) from 20
    threads while the engine dials. No 5xx; every debtor has exactly one job; every job is
    dialled exactly once; pauses and resumes of a batch strictly alternate."""
    sim.configure(ring_ms=0, talk_ms=0)
    account = AccountFactory(account_id="storm", max_concurrent_calls=3)
    account_services.account_topup(account=account, credits=Decimal("100000"), reference="t")
    client = UserFactory(account=account)
    headers = _token(client)
    url = f"{live_server.url}/api/v1/batches"
    shared = contacts(PER_BATCH)

    def create(index: int) -> httpx.Response:
        body = {"account_id": account.account_id, "name": f"Tormenta {index}",
                "call_settings": LOAD_CALLS,
                "contacts": shared if index % 2 else contacts(PER_BATCH)}
        return httpx.post(url, json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        created = list(pool.map(create, range(20)))
    codes = Counter(r.status_code for r in created)
    assert set(codes) <= {201, 400}, [r.text for r in created if r.status_code >= 500]
    assert codes[201] >= 11  # the 10 disjoint ones and one that took the shared debtors
    refused = [r.json() for r in created if r.status_code == 400]
    assert all("contacts" in body for body in refused), refused
    batches = {r.json()["batch_id"]: r.json()["total_jobs"] for r in created
               if r.status_code == 201}
    per_batch = dict(Job.objects.filter(account=account).values_list("batch__batch_id")
                     .annotate(n=Count("id")))
    assert per_batch == batches
    ruts = Counter(Job.objects.filter(account=account).values_list("rut", flat=True))
    assert all(n == 1 for n in ruts.values())  # no debtor twice among open jobs
    assert len(ruts) == 10 * PER_BATCH + PER_BATCH

    procs = workers(count=2)
    ids = sorted(batches)
    codes = Counter()
    lock = threading.Lock()

    def storm(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(headers=headers, timeout=60) as http:
            for _ in range(10):
                batch_id = rng.choice(ids)
                response = http.patch(f"{url}/{batch_id}", json={"is_active": rng.random() < .5})
                status = http.get(f"{url}/{batch_id}/status")
                with lock:
                    codes[(response.status_code, status.status_code)] += 1

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(storm, range(20)))
    # A batch may complete during the storm (then pausing it answers 400); nothing else.
    assert sum(codes.values()) == 200 and set(codes) <= {(200, 200), (400, 200)}, codes
    for batch_id in ids:
        httpx.patch(f"{url}/{batch_id}", json={"is_active": True}, headers=headers, timeout=30)
    wait_all_closed(timeout=90, account=account)
    procs.stop()

    assert Job.objects.filter(account=account).count() == sum(batches.values())
    assert Job.objects.filter(account=account, status=Job.Status.DONE).count() == sum(
        batches.values())
    assert_dialled_once(sim, account=account)
    assert CallAttempt.objects.filter(account=account).count() == sum(batches.values())
    assert_books_balanced(account)
    for batch in Batch.objects.filter(account=account):
        # Pauses and resumes were serialised: they alternate, never two in a row.
        kinds = list(BatchEvent.objects.filter(
            batch=batch, kind__in=(BatchEvent.Kind.PAUSED, BatchEvent.Kind.RESUMED))
            .order_by("created_at", "id").values_list("kind", flat=True))
        assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False)), kinds
        assert not kinds or kinds[0] == BatchEvent.Kind.PAUSED
