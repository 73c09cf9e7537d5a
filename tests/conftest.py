"""The three-user pattern: an operator, a client of account A, a client of account B."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import account_topup
from tests.factories import AccountFactory, UserFactory
from tests.queue_support import Published


@pytest.fixture(autouse=True)
def _empty_cache():
    """Login lockouts and API throttles count in the cache (in-process in the tests): every
    test starts from zero, whatever the tests before it did from 127.0.0.1."""
    cache.clear()


@pytest.fixture
def account_a(db):
    return AccountFactory(account_id="acct-a", account_name="Cobranzas A",
                          credits=Decimal("0"))


@pytest.fixture
def funded_a(account_a):
    """Account A with credits for its calls: dispatch publishes only the jobs of campaigns
    whose account can pay for one call."""
    account_topup(account=account_a, credits=Decimal("100000"), reference="test")
    return account_a


@pytest.fixture
def account_b(db):
    return AccountFactory(account_id="acct-b", account_name="Cobranzas B")


@pytest.fixture
def operator(db):
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


@pytest.fixture
def client_a(account_a):
    return UserFactory(username="client-a", account=account_a)


@pytest.fixture
def client_b(account_b):
    return UserFactory(username="client-b", account=account_b)


def _api(user):
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


@pytest.fixture
def api_operator(operator):
    return _api(operator)


@pytest.fixture
def api_a(client_a):
    return _api(client_a)


@pytest.fixture
def api_b(client_b):
    return _api(client_b)


@pytest.fixture
def anon_api():
    return APIClient()


@pytest.fixture
def published(monkeypatch):
    """Nothing reaches a broker: the job ids the dispatcher would publish are recorded."""
    ids = Published()
    monkeypatch.setattr("calls.dispatch.publish_jobs", ids)
    return ids
