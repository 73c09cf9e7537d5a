"""The live stack for the web app's end-to-end browser tests: pytest-django's live server (the
API and the built app at /app/), real Celery worker processes (and beat, sweeping every
second) on real Redis and PostgreSQL, and the repository's Retell simulator (``retell_sim``)
ringing 0.3 s and talking 2 s per call (a campaign of ten debtors, one call at a time,
lasts about 25 s: time to watch it, pause and resume it) and sending its signed webhooks to
the live server.

Use the ``live_stack`` fixture (import it into a test module: ``from tests.browser.stack import
live_stack  # noqa: F401``) and build the data with ``client_account`` and ``campaign_create``,
which go through the services as the API does (``batches.services.batch_create``: the first
calls are queued when the transaction commits).

    def test_x(live_stack, page):
        account, user = client_account("retail")
        batch = campaign_create(account, user, debtors=10)
        login(page, live_stack.base, user.username)
        ...
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
import redis
from django.conf import settings as django_settings
from django.db import transaction

from accounts import services as account_services
from batches import services as batch_services
from batches.debtors.rut import rut_check_digit
from batches.models import Batch
from calls.periodic import periodic_tasks_install
from retell_sim import RetellSimulator
from tests.browser.webapp import PASSWORD
from tests.factories import AccountFactory, UserFactory
from tests.queue_support import CeleryProcesses

WEBHOOK_PATH = "/api/v1/calls/retell/webhook"
RING_MS = 300
TALK_MS = 2_000

# The workers' engine timings: beat sweeps every second (scheduled campaigns start, stranded
# messages are published again within seconds), leases and stale calls within 10 s (the
# settings' minimum), a worker holds only the message it runs.
FAST_ENGINE = {
    "CALLS_SWEEP_SECONDS": "1",
    "CALLS_LEASE_SECONDS": "10",
    "CALLS_STALE_MARGIN_SECONDS": "10",
    "CALLS_ENQUEUE_TTL_SECONDS": "5",
    "CELERY_WORKER_PREFETCH_MULTIPLIER": "1",
}

# Any hour of any day, so that the test runs whenever it is run; every other setting is the
# API's default.
ANY_TIME = {"allowed_hours": None, "days_of_week": None, "timezone": "America/Santiago",
            "max_attempts": 1, "retry_delay_hours": "0"}


@dataclass
class LiveStack:
    base: str  # the live server's URL, e.g. http://localhost:41234
    sim: RetellSimulator
    workers: CeleryProcesses


@pytest.fixture
def live_stack(live_server, settings):
    """Start the simulator, then the workers and beat (env pointing RETELL_BASE_URL at the
    simulator and RETELL_WEBHOOK_URL at the live server); stop everything afterwards."""
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()
    webhook = f"{live_server.url}{WEBHOOK_PATH}"
    sim = RetellSimulator(
        api_key=settings.RETELL_API_KEY, ring_ms=RING_MS, talk_ms=TALK_MS,
        analyzed_delay_ms=100, strict_agent_override=False, webhook_retries=6,
        webhook_backoff_ms=200, webhook_url=webhook,
    )
    sim.start()
    # This process (the live server, the services the test calls) the same as the workers.
    settings.RETELL_BASE_URL = sim.base_url
    settings.RETELL_WEBHOOK_URL = webhook
    settings.CALLS_SWEEP_SECONDS = 1
    settings.CALLS_LEASE_SECONDS = 10
    settings.CALLS_STALE_MARGIN_SECONDS = 10
    settings.CALLS_ENQUEUE_TTL_SECONDS = 5
    periodic_tasks_install()
    workers = CeleryProcesses(
        workers=1, beat=True, env={**FAST_ENGINE, "RETELL_WEBHOOK_URL": webhook},
    )
    try:
        workers.start()
        yield LiveStack(base=live_server.url, sim=sim, workers=workers)
    finally:
        workers.stop()
        sim.stop()
        redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()


def client_account(account_id: str, *, username: str | None = None, name: str | None = None,
                   credits: Decimal = Decimal("500000"), max_concurrent_calls: int = 1):
    """A funded client account (compliance profile "none") and its user, whose password is
    webapp.PASSWORD. Returns (account, user)."""
    account = AccountFactory(
        account_id=account_id, account_name=name or f"Cobranzas {account_id}",
        credits=Decimal("0"), max_concurrent_calls=max_concurrent_calls,
        compliance_profile="none",
    )
    if credits:
        account_services.account_topup(account=account, credits=credits, reference="test")
    user = UserFactory(username=username or f"{account_id}-user", account=account)
    user.set_password(PASSWORD)
    user.save()
    return account, user


def debtor(n: int, *, answers: bool = True) -> dict:
    """Debtor number ``n`` as the services take it: the simulator answers numbers ending 0-5
    and 9, not 6 (no answer)."""
    body = str(15_000_000 + n * 7_919)
    last = str(n % 6) if answers else "6"
    return {
        "name": f"Deudor {n:02d} Prueba",
        "rut": f"{body}-{rut_check_digit(body)}",
        "phones": [f"+5691234{n:03d}{last}"],
        "email": None,
        "debt_amount": str(100_000 + 5_000 * n),
        "due_date": "2026-11-30",
        "company_name": "Retail SpA",
        "custom_fields": {},
    }


def campaign_create(account, user, *, debtors: int = 10, unanswered: int = 0,
                    name: str = "Cartera diciembre", **options) -> Batch:
    """An immediate campaign through ``batch_create`` (as POST /batches does), committed so
    that its first calls go to the workers at once. The last ``unanswered`` debtors never
    answer."""
    contacts = [debtor(n, answers=n <= debtors - unanswered) for n in range(1, debtors + 1)]
    with transaction.atomic():
        result = batch_services.batch_create(
            account=account, user=user, name=name, contacts=contacts,
            call_settings={**ANY_TIME, **options.pop("call_settings", {})},
            schedule_type="immediate", **options,
        )
    return result.batch


__all__ = ["LiveStack", "campaign_create", "client_account", "debtor", "live_stack"]
