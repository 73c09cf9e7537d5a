"""Hostile input, second part (issue 13): oversized and deeply nested JSON bodies, long texts
and custom fields, the API schema and docs without a login, an oversized spreadsheet upload,
and a signed webhook of another call that names one of our attempts in its metadata."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from calls.models import CallAttempt
from calls.simulator_workers import sign
from tests.factories import BatchFactory, JobFactory
from tests.reliability.conftest import WEBHOOK_PATH

pytestmark = [pytest.mark.reliability]


# --- webhooks ------------------------------------------------------------------------------


def post_signed(body: dict):
    raw = json.dumps(body)
    return APIClient().post(WEBHOOK_PATH, raw, content_type="application/json",
                            HTTP_X_RETELL_SIGNATURE=sign(raw, settings.RETELL_API_KEY))


@pytest.fixture
def dialling(account_a):
    """An attempt saved before its create call was answered: no call_id yet."""
    job = JobFactory(batch=BatchFactory(account=account_a))
    return CallAttempt.objects.create(
        job=job, batch=job.batch, account=account_a, rut=job.rut, attempt_number=1,
        phone="+56912345671", idempotency_key=f"job-{job.pk}-attempt-1",
        status=CallAttempt.Status.DIALLING)


def started(attempt: CallAttempt, **changes) -> dict:
    """A call_started event for the attempt, as Retell sends it for the call we placed."""
    metadata = {"job_id": attempt.job_id, "batch_id": attempt.batch.batch_id,
                "account_id": attempt.account.account_id, "attempt": attempt.attempt_number}
    call = {"call_id": "call_from_elsewhere", "call_status": "ongoing",
            "to_number": attempt.phone, "from_number": settings.RETELL_FROM_NUMBER,
            "metadata": metadata}
    for key, value in changes.items():
        if key in metadata:
            metadata[key] = value
        else:
            call[key] = value
    return {"event": "call_started", "call": call}


@pytest.mark.django_db
@pytest.mark.parametrize("change", [
    {"to_number": "+56999999999"},
    {"to_number": None},
    {"account_id": "acct-b"},
    {"account_id": None},
    {"batch_id": "other-batch"},
    {"batch_id": None},
], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_a_signed_event_of_another_call_never_binds_our_attempt(dialling, account_b, change):
    """The metadata fallback (the webhook beat the create response) binds only when the
    number dialled, the account and the campaign are the attempt's."""
    response = post_signed(started(dialling, **change))
    assert response.status_code == 200 and response.json() == {"status": "unknown"}
    dialling.refresh_from_db()
    assert dialling.call_id is None and dialling.status == CallAttempt.Status.DIALLING


@pytest.mark.django_db
def test_the_event_of_our_own_call_still_binds_by_metadata(dialling):
    response = post_signed(started(dialling))
    assert response.status_code == 200 and response.json() == {"status": "updated"}
    dialling.refresh_from_db()
    assert dialling.call_id == "call_from_elsewhere"
    assert dialling.status == CallAttempt.Status.ONGOING



# --- the API schema and its docs page --------------------------------------------------------


@pytest.mark.django_db
def test_the_schema_and_the_docs_need_a_login(anon_api):
    for accept in ("application/json", "application/vnd.oai.openapi"):
        response = anon_api.get("/api/schema/", HTTP_ACCEPT=accept)
        assert response.status_code == 401, accept
        assert b"/api/v1/" not in response.content
    docs = Client().get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"] == "/admin/login/?next=/api/docs/"


@pytest.mark.django_db
def test_the_schema_is_served_to_a_token_and_the_docs_to_a_session(client_a, operator):
    token = Token.objects.create(user=client_a).key
    schema = APIClient().get("/api/schema/?format=json", HTTP_AUTHORIZATION=f"Token {token}")
    assert schema.status_code == 200 and "/api/v1/batches" in schema.json()["paths"]
    browser = Client()
    browser.force_login(operator)
    page = browser.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    # Swagger UI comes from our own static files, pinned; no other origin is named.
    assert not re.search(r"(https?:)?//[a-z0-9]", html, re.I), re.findall(r"\S*//\S+", html)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    for asset in assets:
        assert asset.startswith(settings.STATIC_URL), asset
        assert finders.find(asset.removeprefix(settings.STATIC_URL)), asset
