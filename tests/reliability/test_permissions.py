"""Operators' permissions in the API (issue 13): a staff user does what its Django model
permissions allow, as in the admin, not everything because it is staff; a client never
chooses the Retell agent; a client never sees operators' usernames."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import Account, LedgerEntry
from batches import services as batch_services
from batches.models import Batch, BatchEvent, Job
from calls.models import CallAttempt
from calls.services import call_request
from tests.factories import AccountFactory, BatchFactory, JobFactory, UserFactory
from tests.reliability import bad_files

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

VIEW_ONLY = ["accounts.view_account", "batches.view_batch", "batches.view_job",
             "calls.view_callattempt"]
CONTACT = {"rut": "12.345.678-5", "phones": ["+56987654321"]}
WEBHOOK_PATH = "/api/v1/calls/retell/webhook"


def staff(*perms: str, username: str = "staff") -> APIClient:
    user = UserFactory(username=username, is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    api = APIClient()
    api.force_authenticate(user)
    return api


def spreadsheet() -> SimpleUploadedFile:
    data = bad_files.xlsx([bad_files.HEADERS, bad_files.GOOD_ROW])
    return SimpleUploadedFile("deudores.xlsx", data, "application/vnd.ms-excel")


@pytest.fixture
def world(account_a):
    """Account A (CL profile) with a running campaign, a suspended account, nothing else."""
    Account.objects.filter(pk=account_a.pk).update(compliance_profile="CL")
    AccountFactory(account_id="acct-s", status=Account.Status.SUSPENDED)
    batch = BatchFactory(account=account_a, batch_id="batch-a")
    JobFactory(batch=batch)
    return account_a


def state() -> tuple:
    """Everything a write could change."""
    return (
        list(Account.objects.order_by("pk").values()),
        list(Batch.objects.order_by("pk").values("status", "is_active", "name", "call_settings")),
        LedgerEntry.objects.count(),
        Job.objects.filter(status=Job.Status.PENDING).count(),
        BatchEvent.objects.count(),
    )


# Every write operation of the schema: (method, schema path) -> the request, as an attack
# (the most a view-only operator could do), the permissions it needs, and its success code.
WRITES = {
    ("post", "/api/v1/accounts"): (
        "/api/v1/accounts",
        lambda: {
            "account_id": "nueva",
            "account_name": "Nueva",
            "contact_name": "Ana",
            "contact_email": "ana@nueva.cl",
            "plan_type": "unlimited",
            "initial_credits": "1000000",
            "settings": {"compliance_profile": "none"},
        },
        ["accounts.add_account", "accounts.topup_account", "accounts.change_compliance_profile"],
        201,
    ),
    ("patch", "/api/v1/accounts/{account_id}"): (
        "/api/v1/accounts/acct-a",
        lambda: {"plan_type": "unlimited", "settings": {"compliance_profile": "none"}},
        ["accounts.change_account", "accounts.change_compliance_profile"],
        200,
    ),
    ("post", "/api/v1/accounts/{account_id}/suspend"): (
        "/api/v1/accounts/acct-a/suspend", dict, ["accounts.change_account"], 200,
    ),
    ("post", "/api/v1/accounts/{account_id}/reactivate"): (
        "/api/v1/accounts/acct-s/reactivate", dict, ["accounts.change_account"], 200,
    ),
    ("post", "/api/v1/accounts/{account_id}/topup"): (
        "/api/v1/accounts/acct-a/topup",
        lambda: {"credits": "1000000"},
        ["accounts.view_account", "accounts.topup_account"],
        200,
    ),
    ("post", "/api/v1/batches"): (
        "/api/v1/batches",
        lambda: {"account_id": "acct-a", "name": "Nueva", "contacts": [CONTACT]},
        ["batches.add_batch"],
        201,
    ),
    ("post", "/api/v1/batches/excel/preview"): (
        "/api/v1/batches/excel/preview",
        lambda: {"account_id": "acct-a", "file": spreadsheet()},
        ["batches.add_batch"],
        200,
    ),
    ("post", "/api/v1/batches/excel/create"): (
        "/api/v1/batches/excel/create",
        lambda: {"account_id": "acct-a", "batch_name": "Nueva", "file": spreadsheet()},
        ["batches.add_batch"],
        201,
    ),
    ("patch", "/api/v1/batches/{batch_id}"): (
        "/api/v1/batches/batch-a",
        lambda: {"is_active": False, "call_settings": {"max_attempts": 9}},
        ["batches.change_batch"],
        200,
    ),
    ("post", "/api/v1/batches/{batch_id}/cancel"): (
        "/api/v1/batches/batch-a/cancel", dict, ["batches.change_batch"], 200,
    ),
}
READS = [
    "/api/v1/accounts",
    "/api/v1/accounts/acct-a",
    "/api/v1/accounts/acct-a/balance",
    "/api/v1/accounts/acct-a/stats",
    "/api/v1/accounts/acct-a/ledger",
    "/api/v1/batches",
    "/api/v1/batches/batch-a",
    "/api/v1/batches/batch-a/status",
    "/api/v1/batches/batch-a/jobs",
    "/api/v1/batches/batch-a/logs",
    "/api/v1/batches/batch-a/export",
    "/api/v1/batches/batch-a/export/audit",
    "/api/v1/dashboard",
]


def send(api: APIClient, method: str, path: str, body: dict):
    multipart = any(isinstance(v, SimpleUploadedFile) for v in body.values())
    return getattr(api, method)(path, body, format="multipart" if multipart else "json")


def test_every_operation_of_the_schema_is_covered(api_operator):
    schema = api_operator.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    # The webhook is Retell's; the auth routes act on the caller's own session; the options
    # are the server's rules, for every user.
    operations = {(m, p) for p, ops in schema["paths"].items() for m in ops
                  if p not in (WEBHOOK_PATH, "/api/v1/options")
                  and not p.startswith("/api/v1/auth/")}
    writes = {(method, path) for method, path in operations if method != "get"}
    assert writes == set(WRITES)
    assert len(operations - writes) == len(READS)


@pytest.mark.parametrize("operation", sorted(WRITES), ids=lambda op: f"{op[0]} {op[1]}")
def test_a_view_only_operator_changes_nothing(world, operation):
    path, body, _perms, _code = WRITES[operation]
    before = state()
    response = send(staff(*VIEW_ONLY), operation[0], path, body())
    assert response.status_code == 403, response.content[:300]
    assert "You need the permission" in json.dumps(response.json())
    assert state() == before


@pytest.mark.parametrize("operation", sorted(WRITES), ids=lambda op: f"{op[0]} {op[1]}")
def test_an_operator_with_exactly_the_permissions_needed_succeeds(world, operation):
    path, body, perms, code = WRITES[operation]
    before = state()
    response = send(staff(*perms), operation[0], path, body())
    assert response.status_code == code, response.content[:300]
    if operation[1] != "/api/v1/batches/excel/preview":
        assert state() != before


@pytest.mark.parametrize(
    ("operation", "dropped"),
    [(op, perm) for op, (_p, _b, perms, _c) in sorted(WRITES.items()) for perm in perms
     if len(perms) > 1],
    ids=lambda value: value if isinstance(value, str) else f"{value[0]} {value[1]}",
)
def test_one_permission_short_is_a_403_naming_it(world, operation, dropped):
    path, body, perms, _code = WRITES[operation]
    before = state()
    response = send(staff(*(p for p in perms if p != dropped)), operation[0], path, body())
    assert response.status_code == 403, response.content[:300]
    assert dropped in json.dumps(response.json())
    assert state() == before


def test_the_profile_and_initial_balance_403s_name_their_field(world):
    api = staff("accounts.add_account", "accounts.change_account")
    body = {"plan_type": "unlimited", "settings": {"compliance_profile": "none"}}
    response = api.patch("/api/v1/accounts/acct-a", body, format="json")
    assert response.status_code == 403
    assert list(response.json()) == ["settings"]
    assert "accounts.change_compliance_profile" in response.json()["settings"][
        "compliance_profile"][0]
    # The profile it already has, or the default one at creation, needs nothing more.
    body["settings"]["compliance_profile"] = "CL"
    assert api.patch("/api/v1/accounts/acct-a", body, format="json").status_code == 200
    create = {"account_name": "Nueva", "contact_name": "Ana", "contact_email": "a@n.cl",
              "plan_type": "credit_based", "initial_credits": "500"}
    response = api.post("/api/v1/accounts", create, format="json")
    assert response.status_code == 403 and list(response.json()) == ["initial_credits"]
    create["initial_credits"] = "0"
    assert api.post("/api/v1/accounts", create, format="json").status_code == 201


def test_reads_need_the_view_permission(world):
    nothing = staff(username="sin-permisos")
    for path in READS:
        response = nothing.get(path)
        assert response.status_code == 403, (path, response.status_code)
        assert "You need the permission" in response.json()["detail"]
    viewer = staff(*VIEW_ONLY)
    for path in READS:
        assert viewer.get(path).status_code == 200, path
    assert {a["account_id"] for a in viewer.get("/api/v1/accounts").json()["results"]} == {
        "acct-a", "acct-s"}
    # Changing implies viewing, as in the admin.
    changer = staff("batches.change_batch", username="cambia")
    assert changer.get("/api/v1/batches/batch-a").status_code == 200
    assert changer.get("/api/v1/batches/batch-a/jobs").status_code == 403


# --- the Retell agent ---------------------------------------------------------------------------


def test_a_client_cannot_choose_the_agent(world, api_a, account_a):
    voice = {"agent_id": "agent-of-another-tenant"}
    response = api_a.post("/api/v1/batches", {"name": "Mía", "contacts": [CONTACT],
                                              "voice_settings": voice}, format="json")
    assert response.status_code == 403, response.content
    assert list(response.json()) == ["voice_settings.agent_id"]
    response = api_a.post("/api/v1/batches/excel/create", {
        "batch_name": "Mía", "file": spreadsheet(), "voice_settings": json.dumps(voice)},
        format="multipart")
    assert response.status_code == 403, response.content
    assert list(response.json()) == ["voice_settings.agent_id"]
    # Nor change it afterwards: the voice settings are not editable.
    mine = BatchFactory(account=account_a, batch_id="batch-client")
    response = api_a.patch("/api/v1/batches/batch-client", {"voice_settings": voice},
                           format="json")
    assert response.status_code == 400 and "voice_settings" in response.json()
    mine.refresh_from_db()
    assert "agent_id" not in mine.voice_settings
    assert not Batch.objects.filter(name="Mía").exists()


def test_only_operators_with_the_change_permission_set_the_agent(world):
    body = {"account_id": "acct-a", "name": "Con agente", "contacts": [CONTACT],
            "voice_settings": {"agent_id": "agent-x"}}
    response = staff("batches.add_batch").post("/api/v1/batches", body, format="json")
    assert response.status_code == 403
    assert "accounts.change_account" in response.json()["voice_settings.agent_id"][0]
    operator = staff("batches.add_batch", "accounts.change_account", username="jefe")
    response = operator.post("/api/v1/batches", body, format="json")
    assert response.status_code == 201
    assert Batch.objects.get(name="Con agente").voice_settings["agent_id"] == "agent-x"


def test_a_client_campaign_calls_through_its_accounts_agent(api_a, account_a, settings):
    Account.objects.filter(pk=account_a.pk).update(retell_agent_id="agent-of-a")
    response = api_a.post("/api/v1/batches", {"name": "Mía", "contacts": [CONTACT],
                                              "voice_settings": {"speed": 1.2}}, format="json")
    assert response.status_code == 201
    job = Job.objects.get(batch__batch_id=response.json()["batch_id"])
    attempt = CallAttempt(account=Account.objects.get(pk=account_a.pk), phone="+56987654321",
                          attempt_number=1, ring_timeout=60, max_call_duration=600,
                          idempotency_key="k")
    assert call_request(job, attempt)["override_agent_id"] == "agent-of-a"


# --- who did what -------------------------------------------------------------------------------


def test_a_client_sees_operator_not_operators_usernames(api_a, account_a, client_a):
    boss = UserFactory(username="ana.staff", is_staff=True, is_superuser=True)
    batch = batch_services.batch_create(account=account_a, user=boss, name="Cartera",
                                        contacts=[{"name": "Ana", "rut": "12345678-5",
                                                  "phones": ["+56987654321"]}]).batch
    batch_services.batch_set_active(batch=batch, is_active=False, user=client_a)
    batch_services.batch_set_active(batch=batch, is_active=True, user=boss)
    path = f"/api/v1/batches/{batch.batch_id}"
    boss_api = APIClient()
    boss_api.force_authenticate(boss)

    for api, lang, operator in ((api_a, "en", "operator"), (api_a, "es", "operador"),
                                (boss_api, "es", "ana.staff")):
        headers = {"HTTP_ACCEPT_LANGUAGE": lang}
        assert api.get(path, **headers).json()["created_by"] == operator
        assert api.get("/api/v1/batches", **headers).json()["results"][0]["created_by"] == (
            operator)
        logs = api.get(f"{path}/logs", **headers).json()["logs"]
        assert [entry["user"] for entry in logs] == [operator, "client-a", operator]
        response = api.get(f"{path}/export/audit", **headers)
        book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
        users = [row[4] for row in list(book.worksheets[0].iter_rows(values_only=True))[1:]]
        assert users == [operator, "client-a", operator]
