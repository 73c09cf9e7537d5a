"""The accounts API: every endpoint, every error, and tenant isolation."""

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError
from rest_framework.test import APIClient

from accounts import services
from accounts.api import api_validation_error
from accounts.models import Account, LedgerEntry
from batches.models import Batch, Job
from calls.models import CallAttempt
from tests.factories import AccountFactory, BatchFactory, JobFactory, UserFactory

LIST = "/api/v1/accounts"


def detail(account_id, suffix=""):
    return f"/api/v1/accounts/{account_id}{suffix}"


def new_account_body(**overrides):
    body = {
        "account_id": "retail",
        "account_name": "Retail Cobranzas SpA",
        "contact_name": "Ana Pérez",
        "contact_email": "ana@retail.cl",
        "contact_phone": "+56912345678",
        "plan_type": "credit_based",
        "initial_credits": "10000",
        "features": {"max_concurrent_calls": 8},
        "settings": {"timezone": "America/Chicago", "compliance_profile": "US"},
        "cost_per_call_setup": "3.5",
        "cost_per_minute": "40",
    }
    body.update(overrides)
    return body


def error_at(response, path):
    """The messages of a 400 body's dotted field name (issue 16: one error shape, dotted)."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert path in body, (path, body)
    node = body[path]
    assert isinstance(node, list) and node, node
    return node


def call_attempt(account, *, cost, ended_at, n=1):
    job = JobFactory(batch=BatchFactory(account=account))
    return CallAttempt.objects.create(
        job=job,
        batch=job.batch,
        account=account,
        rut=job.rut,
        attempt_number=n,
        phone="+56912345671",
        idempotency_key=f"test-{job.pk}-{n}",
        status=CallAttempt.Status.ENDED,
        ended_at=ended_at,
        cost=cost,
    )


def charge(account, *, cost, unit="credits", seconds=60):
    """A call's hold and settlement, as the call engine does it (under the row lock)."""
    locked = Account.objects.select_for_update().get(pk=account.pk)
    hold = services.Hold(unit=unit, amount=Decimal(cost) * 2)
    services.account_reserve(account=locked, hold=hold, reference="call")
    services.account_settle(
        account=locked, hold=hold, cost=Decimal(cost), seconds=seconds, reference="call"
    )


# --- Authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", None),
        ("post", None),
        ("get", ""),
        ("patch", ""),
        ("post", "/suspend"),
        ("post", "/reactivate"),
        ("post", "/topup"),
        ("get", "/balance"),
        ("get", "/stats"),
    ],
)
def test_every_endpoint_requires_credentials(anon_api, account_a, method, suffix):
    url = LIST if suffix is None else detail(account_a.account_id, suffix)
    response = getattr(anon_api, method)(url, {}, format="json")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_token_auth_with_drf_create_token(client_a, account_a):
    out = io.StringIO()
    call_command("drf_create_token", client_a.username, stdout=out)
    token = out.getvalue().split()[2]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.get(LIST)
    assert response.status_code == 200
    assert [a["account_id"] for a in response.json()["results"]] == ["acct-a"]

    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert api.get(LIST).status_code == 401


def test_session_auth(client_a, account_a):
    client_a.set_password("pass-12345")
    client_a.save(update_fields=["password"])
    api = APIClient()
    assert api.login(username=client_a.username, password="pass-12345")
    assert api.get(detail("acct-a")).status_code == 200


# --- Create -----------------------------------------------------------------------------------


def test_operator_creates_account(api_operator, operator):
    response = api_operator.post(LIST, new_account_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["account_id"] == "retail"
    assert body["status"] == "active"
    assert body["plan_type"] == "credit_based"
    assert body["features"] == {"max_concurrent_calls": 8}
    assert body["settings"] == {"timezone": "America/Chicago", "compliance_profile": "US"}
    assert body["cost_per_call_setup"] == 3.5
    assert body["cost_per_minute"] == 40.0
    assert body["balance"] == {
        "credits": 10000.0,
        "minutes": 0.0,
        "total_spent": 0.0,
    }
    assert body["created_at"] and body["updated_at"]
    account = Account.objects.get(account_id="retail")
    assert account.credits == Decimal("10000")
    entry = LedgerEntry.objects.get(account=account)
    assert (entry.kind, entry.amount, entry.reference) == ("topup", Decimal("10000"), "initial")
    assert entry.created_by == operator


def test_create_defaults_and_generated_id(api_operator, settings):
    body = {
        "account_name": "Cobranzas del Sur",
        "contact_name": "Luis",
        "contact_email": "luis@sur.cl",
        "plan_type": "minutes_based",
        "initial_minutes": "300",
    }
    response = api_operator.post(LIST, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["account_id"] == "cobranzas-del-sur"
    assert data["features"] == {"max_concurrent_calls": 5}
    assert data["settings"] == {"timezone": "America/Santiago", "compliance_profile": "CL"}
    assert Decimal(data["cost_per_call_setup"]) == settings.DEFAULT_COST_PER_CALL_SETUP
    assert Decimal(data["cost_per_minute"]) == settings.DEFAULT_COST_PER_MINUTE
    assert data["balance"]["minutes"] == 300.0
    assert data["contact_phone"] == ""

    # The same name again gets another readable id.
    again = api_operator.post(LIST, body, format="json")
    assert again.status_code == 201
    assert again.json()["account_id"].startswith("cobranzas-del-sur-")


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"plan_type": "gold"}, "plan_type"),
        ({"features": {"max_concurrent_calls": 0}}, "features.max_concurrent_calls"),
        ({"features": {"max_concurrent_calls": 51}}, "features.max_concurrent_calls"),
        ({"features": {"max_concurrent_calls": "many"}}, "features.max_concurrent_calls"),
        ({"features": 7}, "features"),
        ({"settings": {"timezone": "Mars/Olympus"}}, "settings.timezone"),
        ({"settings": {"compliance_profile": "EU"}}, "settings.compliance_profile"),
        ({"cost_per_call_setup": "-1"}, "cost_per_call_setup"),
        ({"cost_per_minute": "-0.01"}, "cost_per_minute"),
        ({"cost_per_minute": "1.00001"}, "cost_per_minute"),
        ({"initial_credits": "-5"}, "initial_credits"),
        ({"account_id": "has spaces!"}, "account_id"),
        ({"account_name": ""}, "account_name"),
        ({"colour": "red"}, "colour"),
        ({"features": {"max_concurrent_calls": 5, "turbo": True}}, "features.turbo"),
        ({"settings": {"language": "es"}}, "settings.language"),
        ({"status": "suspended"}, "status"),
        ({"balance": {"credits": "1"}}, "balance"),
    ],
)
def test_create_validation_names_the_field(api_operator, overrides, path):
    response = api_operator.post(LIST, new_account_body(**overrides), format="json")
    error_at(response, path)
    assert not Account.objects.filter(account_id="retail").exists()
    assert not LedgerEntry.objects.exists()


def test_create_reports_every_wrong_field_at_once(api_operator):
    body = new_account_body(contact_email="x", features={"max_concurrent_calls": 99}, colour="red")
    response = api_operator.post(LIST, body, format="json")
    assert set(response.json()) == {"contact_email", "features.max_concurrent_calls", "colour"}


def test_create_requires_the_contract_fields(api_operator):
    response = api_operator.post(LIST, {}, format="json")
    for field in ("account_name", "contact_name", "contact_email", "plan_type"):
        error_at(response, field)


def test_duplicate_account_id_is_400(api_operator, account_a):
    response = api_operator.post(LIST, new_account_body(account_id="acct-a"), format="json")
    error_at(response, "account_id")
    assert Account.objects.filter(account_id="acct-a").count() == 1


def test_duplicate_account_id_race_is_400(api_operator, monkeypatch):
    """Another request inserted the same id after validation: still a 400, not a 500."""

    def racing_create(**kwargs):
        AccountFactory(account_id=kwargs["account_id"])
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "account_create", racing_create)
    response = api_operator.post(LIST, new_account_body(account_id="raced"), format="json")
    error_at(response, "account_id")


def test_client_cannot_create(api_a):
    response = api_a.post(LIST, new_account_body(), format="json")
    assert response.status_code == 403
    assert not Account.objects.filter(account_id="retail").exists()


# --- List and retrieve ------------------------------------------------------------------------


def test_operator_lists_every_account(api_operator, account_a, account_b):
    response = api_operator.get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert {a["account_id"] for a in body["results"]} == {"acct-a", "acct-b"}


def test_client_lists_only_its_account(api_a, api_b, account_a, account_b):
    assert [a["account_id"] for a in api_a.get(LIST).json()["results"]] == ["acct-a"]
    assert [a["account_id"] for a in api_b.get(LIST).json()["results"]] == ["acct-b"]


def test_user_without_account_sees_nothing(account_a):
    api = APIClient()
    api.force_authenticate(UserFactory(username="loose"))
    assert api.get(LIST).json()["count"] == 0
    assert api.get(detail("acct-a")).status_code == 404


def test_retrieve(api_operator, api_a, account_a, account_b):
    response = api_a.get(detail("acct-a"))
    assert response.status_code == 200
    assert response.json()["account_id"] == "acct-a"
    assert api_operator.get(detail("acct-b")).status_code == 200
    assert api_operator.get(detail("nope")).status_code == 404


def test_trailing_slash_is_accepted(api_a, account_a):
    assert api_a.get(LIST + "/").status_code == 200
    assert api_a.get(detail("acct-a") + "/").status_code == 200
    assert api_a.get(detail("acct-a", "/balance/")).status_code == 200


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"account_name": "Mine now"}),
        ("post", "/suspend", None),
        ("post", "/reactivate", None),
        ("post", "/topup", {"credits": "100"}),
        ("get", "/balance", None),
        ("get", "/stats", None),
    ],
)
def test_another_tenants_account_is_404(api_b, account_a, account_b, method, suffix, body):
    before = Account.objects.get(pk=account_a.pk)
    response = getattr(api_b, method)(detail("acct-a", suffix), body, format="json")
    assert response.status_code == 404
    after = Account.objects.get(pk=account_a.pk)
    assert (after.account_name, after.status, after.credits) == (
        before.account_name,
        before.status,
        before.credits,
    )
    assert not LedgerEntry.objects.filter(account=account_a).exists()


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("patch", "", {"features": {"max_concurrent_calls": 50}}),
        ("patch", "", {"cost_per_minute": "0"}),
        ("post", "/suspend", None),
        ("post", "/reactivate", None),
        ("post", "/topup", {"credits": "100"}),
    ],
)
def test_client_cannot_manage_its_own_account(api_b, account_b, method, suffix, body):
    response = getattr(api_b, method)(detail("acct-b", suffix), body, format="json")
    assert response.status_code == 403
    account_b.refresh_from_db()
    assert account_b.max_concurrent_calls == 5
    assert account_b.credits == 0
    assert not LedgerEntry.objects.filter(account=account_b).exists()


def test_put_is_not_allowed(api_operator, account_a):
    assert api_operator.put(detail("acct-a"), {}, format="json").status_code == 405


# --- Update -----------------------------------------------------------------------------------


def test_operator_patches_plan_limits_pricing_and_compliance(api_operator, account_a):
    body = {
        "plan_type": "minutes_based",
        "features": {"max_concurrent_calls": 50},
        "settings": {"compliance_profile": "CL"},
        "cost_per_minute": "45.5",
        "contact_email": "new@a.cl",
    }
    response = api_operator.patch(detail("acct-a"), body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["plan_type"] == "minutes_based"
    assert data["features"]["max_concurrent_calls"] == 50
    assert data["settings"] == {"timezone": "America/Santiago", "compliance_profile": "CL"}
    assert data["cost_per_minute"] == 45.5
    account_a.refresh_from_db()
    assert (account_a.plan_type, account_a.max_concurrent_calls) == ("minutes_based", 50)
    assert (account_a.compliance_profile, account_a.cost_per_minute) == ("CL", Decimal("45.5"))
    assert account_a.contact_email == "new@a.cl"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"features": {"max_concurrent_calls": 51}}, "features.max_concurrent_calls"),
        ({"features": {"max_concurrent_calls": 0}}, "features.max_concurrent_calls"),
        ({"settings": {"timezone": "Santiago"}}, "settings.timezone"),
        ({"settings": {"compliance_profile": "cl"}}, "settings.compliance_profile"),
        ({"plan_type": "prepaid"}, "plan_type"),
        ({"contact_email": "@"}, "contact_email"),
        ({"cost_per_call_setup": "-3"}, "cost_per_call_setup"),
        ({"credits": "1000"}, "credits"),
        ({"initial_credits": "1000"}, "initial_credits"),
        ({"account_id": "other"}, "account_id"),
        ({"status": "suspended"}, "status"),
    ],
)
def test_patch_validation_names_the_field(api_operator, account_a, body, path):
    before = Account.objects.get(pk=account_a.pk)
    error_at(api_operator.patch(detail("acct-a"), body, format="json"), path)
    after = Account.objects.get(pk=account_a.pk)
    assert after.updated_at == before.updated_at


# --- Suspend and reactivate -------------------------------------------------------------------


def test_suspend_and_reactivate(api_operator, account_a):
    response = api_operator.post(detail("acct-a", "/suspend"))
    assert response.status_code == 200
    assert response.json()["status"] == "suspended"
    account_a.refresh_from_db()
    assert account_a.status == Account.Status.SUSPENDED
    # Idempotent.
    assert api_operator.post(detail("acct-a", "/suspend")).json()["status"] == "suspended"

    response = api_operator.post(detail("acct-a", "/reactivate"))
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    account_a.refresh_from_db()
    assert account_a.status == Account.Status.ACTIVE


def test_client_still_reads_its_suspended_account(api_operator, api_a, account_a):
    api_operator.post(detail("acct-a", "/suspend"))
    assert api_a.get(detail("acct-a")).json()["status"] == "suspended"


# --- Top-up -----------------------------------------------------------------------------------


def test_topup_credits_and_minutes(api_operator, operator, account_a):
    body = {"credits": "1500.25", "minutes": "90", "reference": "factura 77"}
    response = api_operator.post(detail("acct-a", "/topup"), body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["account_id"] == "acct-a"
    assert data["balance"] == {
        "credits": 1500.25,
        "minutes": 90.0,
        "total_spent": 0.0,
    }
    assert [(e["unit"], e["amount"], e["balance_after"]) for e in data["entries"]] == [
        ("credits", 1500.25, 1500.25),
        ("minutes", 90.0, 90.0),
    ]
    entries = LedgerEntry.objects.filter(account=account_a)
    assert {(e.kind, e.reference, e.created_by_id) for e in entries} == {
        ("topup", "factura 77", operator.pk)
    }
    # A second top-up adds to the first.
    again = api_operator.post(detail("acct-a", "/topup"), {"credits": "0.75"}, format="json")
    assert again.json()["balance"]["credits"] == 1501.0


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"credits": "-10"}, ["credits"]),
        ({"credits": "0"}, ["credits"]),
        ({"minutes": "-1"}, ["minutes"]),
        ({"minutes": 0}, ["minutes"]),
        ({}, ["credits", "minutes"]),
        ({"reference": "only a reference"}, ["credits", "minutes"]),
        ({"credits": None, "minutes": None}, ["credits", "minutes"]),
        ({"credits": "lots"}, ["credits"]),
        ({"credits": "1.00001"}, ["credits"]),
        ({"credits": "1e20"}, ["credits"]),
        ({"credits": "10", "bonus": "5"}, ["bonus"]),
        ({"credits": "10", "reference": "x" * 121}, ["reference"]),
    ],
)
def test_topup_validation(api_operator, account_a, body, paths):
    response = api_operator.post(detail("acct-a", "/topup"), body, format="json")
    for path in paths:
        error_at(response, path)
    account_a.refresh_from_db()
    assert account_a.credits == 0 and account_a.minutes == 0
    assert not LedgerEntry.objects.exists()


def test_topup_unknown_account_is_404(api_operator):
    response = api_operator.post(detail("ghost", "/topup"), {"credits": "1"}, format="json")
    assert response.status_code == 404


# --- Balance ----------------------------------------------------------------------------------


def test_balance_of_a_new_account(api_a, account_a):
    response = api_a.get(detail("acct-a", "/balance"))
    assert response.status_code == 200
    assert response.json() == {
        "account_id": "acct-a",
        "current_balance": {"credits": 0.0, "minutes": 0.0, "total_spent": 0.0},
        "usage_this_month": {
            "credits_used": 0.0,
            "minutes_used": 0.0,
            "total_cost": 0.0,
        },
        "estimated_depletion_date": None,
    }


def test_balance_usage_in_the_accounts_month(api_a, account_a):
    """March 2025 in Santiago (UTC-3) starts at 03:00 UTC on March 1."""
    with time_machine.travel(datetime(2025, 2, 20, 12, tzinfo=UTC), tick=False):
        services.account_topup(account=account_a, credits=Decimal("1000"))
        charge(account_a, cost="100")  # February, and more than 30 days before "now"
    with time_machine.travel(datetime(2025, 3, 1, 2, 30, tzinfo=UTC), tick=False):
        charge(account_a, cost="40")  # 23:30 on February 28 in Santiago
        call_attempt(
            account_a, cost=Decimal("40"), ended_at=datetime(2025, 3, 1, 2, 30, tzinfo=UTC)
        )
    with time_machine.travel(datetime(2025, 3, 1, 3, 30, tzinfo=UTC), tick=False):
        charge(account_a, cost="60")  # 00:30 on March 1 in Santiago
        call_attempt(
            account_a, cost=Decimal("60"), ended_at=datetime(2025, 3, 1, 3, 30, tzinfo=UTC), n=2
        )
    with time_machine.travel(datetime(2025, 3, 10, 15, tzinfo=UTC), tick=False):
        charge(account_a, cost="50")
        call_attempt(
            account_a, cost=Decimal("50"), ended_at=datetime(2025, 3, 10, 15, tzinfo=UTC), n=3
        )

    with time_machine.travel(datetime(2025, 3, 25, 12, tzinfo=UTC), tick=False):
        response = api_a.get(detail("acct-a", "/balance"))
    assert response.status_code == 200
    data = response.json()
    assert data["current_balance"] == {
        "credits": 750.0,
        "minutes": 0.0,
        "total_spent": 250.0,
    }
    assert data["usage_this_month"] == {
        "credits_used": 110.0,
        "minutes_used": 0.0,
        "total_cost": 110.0,
    }
    # Last 30 days: 40 + 60 + 50 = 150 credits, 5 a day: 750 credits last 150 days.
    # issue 16: a datetime, the start of that day in Santiago (UTC-4 in August)
    assert data["estimated_depletion_date"] == "2025-08-22T00:00:00-04:00"


def test_depletion_for_minutes_plans_and_none_for_unlimited(api_operator):
    minutes = AccountFactory(account_id="mins", plan_type=Account.Plan.MINUTES)
    unlimited = AccountFactory(account_id="unl", plan_type=Account.Plan.UNLIMITED)
    with time_machine.travel(datetime(2025, 6, 1, 15, tzinfo=UTC), tick=False):
        services.account_topup(account=minutes, minutes=Decimal("100"), credits=Decimal("10"))
        charge(minutes, cost="5", unit="minutes", seconds=30 * 60)  # 30 minutes used
        services.account_topup(account=unlimited, credits=Decimal("10"))
        charge(unlimited, cost="5")
        minutes_data = api_operator.get(detail("mins", "/balance")).json()
        unlimited_data = api_operator.get(detail("unl", "/balance")).json()
    assert minutes_data["usage_this_month"]["minutes_used"] == 10.0  # capped at the hold
    # 90 minutes left at 10 / 30 = 1/3 a day: 270 days.
    day = str(date(2025, 6, 1) + timedelta(days=270))
    assert minutes_data["estimated_depletion_date"].startswith(f"{day}T")
    assert unlimited_data["estimated_depletion_date"] is None


# --- Stats ------------------------------------------------------------------------------------


def test_stats_are_zero_without_batches(api_a, account_a):
    response = api_a.get(detail("acct-a", "/stats"))
    assert response.status_code == 200
    assert response.json() == {
        "account_id": "acct-a",
        "total_batches": 0,
        "active_batches": 0,
        "total_jobs": 0,
        "completed_jobs": 0,
        "success_rate": 0.0,
        "total_cost_this_month": 0.0,
    }


def test_stats_count_batches_jobs_and_cost(api_a, account_a, account_b):
    running = BatchFactory(account=account_a, status=Batch.Status.RUNNING)
    BatchFactory(account=account_a, status=Batch.Status.PENDING)
    BatchFactory(account=account_a, status=Batch.Status.PAUSED, is_active=False)
    finished = BatchFactory(account=account_a, status=Batch.Status.COMPLETED)
    for status in ("done", "done", "done", "failed", "pending", "cancelled"):
        JobFactory(batch=running, status=status)
    JobFactory(batch=finished, status="in_progress", reserved_until=datetime.now(UTC))
    # Another tenant's data is not counted.
    JobFactory(batch=BatchFactory(account=account_b), status="done")

    now = datetime(2025, 5, 20, 12, tzinfo=UTC)
    call_attempt(account_a, cost=Decimal("12.5"), ended_at=datetime(2025, 5, 2, tzinfo=UTC))
    call_attempt(account_a, cost=Decimal("7.5"), ended_at=datetime(2025, 5, 19, tzinfo=UTC))
    call_attempt(account_a, cost=Decimal("99"), ended_at=datetime(2025, 4, 29, tzinfo=UTC))
    call_attempt(account_b, cost=Decimal("99"), ended_at=datetime(2025, 5, 19, tzinfo=UTC))
    with time_machine.travel(now, tick=False):
        response = api_a.get(detail("acct-a", "/stats"))
    assert response.status_code == 200
    assert response.json() == {
        "account_id": "acct-a",
        "total_batches": 4 + 3,  # and the three batches of the call attempts
        "active_batches": 2 + 3,
        "total_jobs": 7 + 3,
        "completed_jobs": 4,
        "success_rate": 75.0,
        "total_cost_this_month": 20.0,
    }
    assert Job.objects.filter(account=account_a).count() == 10


# --- Schema -----------------------------------------------------------------------------------


def test_schema_documents_every_endpoint(api_operator):
    response = api_operator.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths["/api/v1/accounts"]) >= {"get", "post"}
    assert set(paths["/api/v1/accounts/{account_id}"]) >= {"get", "patch"}
    for action in ("suspend", "reactivate", "topup"):
        assert "post" in paths[f"/api/v1/accounts/{{account_id}}/{action}"]
    for view in ("balance", "stats"):
        assert "get" in paths[f"/api/v1/accounts/{{account_id}}/{view}"]


def test_service_validation_errors_are_named_like_the_body():
    """A model rule that only the service catches is reported under the dotted name of where
    the body put the value."""
    error = api_validation_error(
        ValidationError(
            {
                "max_concurrent_calls": ["too many"],
                "timezone": ["unknown"],
                "contact_email": ["bad"],
                "__all__": ["inconsistent"],
            }
        )
    )
    assert error.detail == {
        "features.max_concurrent_calls": ["too many"],
        "settings.timezone": ["unknown"],
        "contact_email": ["bad"],
        "non_field_errors": ["inconsistent"],
    }
    assert api_validation_error(ValidationError("plain")).detail == {"non_field_errors": ["plain"]}


def test_an_unknown_api_path_is_a_json_404(api_operator, client):
    response = api_operator.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
    # Outside the API, Django's own page.
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
