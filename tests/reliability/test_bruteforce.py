"""Brute force and request floods (issue 13, finding 6): both logins lock a username and an
address out after 5 failures a minute, and the API is throttled per user, more strictly for
spreadsheet uploads and exports, answering 429 with Retry-After."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
import redis
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from tests.batches.api.support import xlsx
from tests.factories import BatchFactory, UserFactory
from tests.queue_support import ROOT

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

PASSWORD = "correct-horse-battery-9"
ADMIN_LOGIN = "/admin/login/?next=/admin/"
API_LOGIN = "/api/v1/auth/login"
LOCKED = "Too many failed logins"
START = dt.datetime(2025, 11, 3, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def staff(db):
    user = UserFactory(username="ops", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def admin_login(client: Client, password: str, username: str = "ops"):
    return client.post(ADMIN_LOGIN, {"username": username, "password": password,
                                     "next": "/admin/"})


def api_client() -> APIClient:
    """A browser-like client: CSRF enforced, the token read from GET /auth/csrf."""
    api = APIClient(enforce_csrf_checks=True)
    token = api.get("/api/v1/auth/csrf").json()["csrf_token"]
    api.credentials(HTTP_X_CSRFTOKEN=token)
    return api


def api_login(api: APIClient, password: str, username: str = "ops", **extra):
    return api.post(API_LOGIN, {"username": username, "password": password}, format="json",
                    **extra)


def with_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_admin_login_refuses_the_right_password_after_30_wrong_ones(staff):
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        answers = [admin_login(client, f"guess-{n}") for n in range(30)]
        assert all(a.status_code == 200 for a in answers)
        assert all(LOCKED not in a.content.decode() for a in answers[:5])
        assert all(LOCKED in a.content.decode() for a in answers[5:])

        right = admin_login(client, PASSWORD)
        assert right.status_code == 200  # the form again, not the redirect into the admin
        assert LOCKED in right.content.decode()
        assert "_auth_user_id" not in client.session

        clock.shift(dt.timedelta(seconds=61))
        right = admin_login(client, PASSWORD)
        assert right.status_code == 302 and right["Location"] == "/admin/"


def test_admin_lockout_message_is_translated(staff):
    client = Client(headers={"accept-language": "es"})
    for n in range(5):
        admin_login(client, f"guess-{n}")
    page = admin_login(client, PASSWORD).content.decode()
    assert "Demasiados intentos fallidos" in page


def test_api_login_answers_429_after_5_failures_even_to_the_right_password(staff):
    api = api_client()
    with time_machine.travel(START, tick=False) as clock:
        codes = [api_login(api, f"guess-{n}").status_code for n in range(30)]
        assert codes == [400] * 5 + [429] * 25
        right = api_login(api, PASSWORD)
        assert right.status_code == 429
        assert right["Retry-After"] == "60"
        assert "Too many failed logins" in right.json()["detail"]

        clock.shift(dt.timedelta(seconds=45))
        assert api_login(api, PASSWORD)["Retry-After"] == "15"
        clock.shift(dt.timedelta(seconds=16))
        right = api_login(api, PASSWORD)
        assert right.status_code == 200, right.content
        assert api.get("/api/v1/auth/me").json()["username"] == "ops"


def test_one_address_trying_many_usernames_is_locked_out(staff):
    api = api_client()
    codes = [api_login(api, "x", username=f"user-{n}").status_code for n in range(6)]
    assert codes == [400] * 5 + [429]
    # The address is locked, whatever the username: the staff user's right password too.
    assert api_login(api, PASSWORD).status_code == 429
    # Another address still logs in.
    assert api_login(api_client(), PASSWORD, REMOTE_ADDR="10.0.0.7").status_code == 200


def test_one_username_tried_from_many_addresses_is_locked_out(staff):
    api = api_client()
    codes = [api_login(api, "x", REMOTE_ADDR=f"10.0.1.{n}").status_code for n in range(6)]
    assert codes == [400] * 5 + [429]
    assert api_login(api, PASSWORD, REMOTE_ADDR="10.0.2.1").status_code == 429
    # The admin shares the count: the username is locked out there too.
    assert LOCKED in admin_login(Client(), PASSWORD).content.decode()


# Another web process: the same credentials, from the same address, against the same Redis.
OTHER_PROCESS = """
import django
django.setup()
from django.test import RequestFactory
from accounts.lockout import LoginLocked, login_authenticate
try:
    login_authenticate(request=RequestFactory().post("/"), username="ops", password="x")
except LoginLocked as exc:
    print("locked", exc.retry_after)
"""


def test_lockout_is_shared_by_web_processes_through_redis(settings, staff, tmp_path):
    """Production's cache (Redis, as base settings derive it from the broker's URL): failures
    counted by this process lock the username out in a separate process."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": settings.CELERY_BROKER_URL,
                                   "KEY_PREFIX": "callcenter"}}
    api = api_client()
    try:
        assert [api_login(api, "x").status_code for _ in range(5)] == [400] * 5
        other = subprocess.run(
            [sys.executable, "-c", OTHER_PROCESS], cwd=ROOT, capture_output=True, text=True,
            timeout=60, env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE":
                             "callcenter.settings.local",
                             "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                             "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"})
        assert other.stdout.split()[:1] == ["locked"], other.stderr[-2000:]
    finally:
        keys = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        for key in keys.scan_iter("callcenter:*:login:*"):
            keys.delete(key)


def test_upload_rate_answers_429_with_retry_after(settings, client_a, api_a, account_a):
    with_rates(settings, uploads="3/min")
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(3):
            upload = xlsx([["Nombre", "RUT", "Teléfono"], ["Ana", "11111111-1", "+56912345678"]])
            response = api_a.post("/api/v1/batches/excel/preview", {"file": upload},
                                  format="multipart")
            assert response.status_code == 200, response.content
        upload = xlsx([["Nombre", "RUT", "Teléfono"]])
        refused = api_a.post("/api/v1/batches/excel/create",
                             {"account_id": "acct-a", "batch_name": "x", "file": upload},
                             format="multipart")
        assert refused.status_code == 429
        assert refused["Retry-After"] == "60"
        # Only uploads are limited: the rest of the API answers.
        assert api_a.get("/api/v1/batches").status_code == 200
        clock.shift(dt.timedelta(seconds=61))
        upload = xlsx([["Nombre", "RUT", "Teléfono"], ["Ana", "11111111-1", "+56912345678"]])
        assert api_a.post("/api/v1/batches/excel/preview", {"file": upload},
                          format="multipart").status_code == 200


def test_export_rate_is_per_user(settings, client_a, api_a, api_b, account_a):
    with_rates(settings, exports="2/hour")
    batch = BatchFactory(account=account_a)
    url = f"/api/v1/batches/{batch.batch_id}/export"
    assert [api_a.get(url).status_code for _ in range(3)] == [200, 200, 429]
    assert int(api_a.get(url)["Retry-After"]) > 3500
    # Another user has its own allowance (client B sees no such campaign: 404, not 429).
    assert api_b.get(url).status_code == 404


def test_user_and_anonymous_rates(settings, api_a, anon_api):
    with_rates(settings, user="5/min", anon="2/min")
    assert [api_a.get("/api/v1/batches").status_code for _ in range(6)] == [200] * 5 + [429]
    # Anonymous requests (only the login's endpoints take them) are counted by address.
    codes = [anon_api.get("/api/v1/auth/csrf").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_the_test_settings_do_not_throttle(api_a):
    """The suite (and its load tests, hundreds of requests) runs unthrottled."""
    assert {api_a.get("/api/v1/batches").status_code for _ in range(200)} == {200}
