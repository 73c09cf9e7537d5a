"""Hostile input: a corpus of bad spreadsheets, requests without credentials or across
tenants, forged webhooks, production settings, and secrets in logs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Account, LedgerEntry
from batches.models import Batch, Job
from calls.dispatch import dispatch_account
from retell_sim import sign
from tests.factories import BatchFactory, JobFactory
from tests.queue_support import ROOT, wait_for
from tests.reliability import bad_files
from tests.reliability.conftest import (
    WEBHOOK_PATH,
    campaign,
    funded_account,
    no_secret_in,
    wait_all_closed,
)

pytestmark = [pytest.mark.reliability]

PREVIEW = "/api/v1/batches/excel/preview"
CREATE = "/api/v1/batches/excel/create"
NOT_A_SPREADSHEET = "not an Excel spreadsheet"
# What each bad file must be refused with (a fragment of the message under "file").
REFUSALS = {
    "not_a_spreadsheet": NOT_A_SPREADSHEET,
    "renamed_csv": NOT_A_SPREADSHEET,
    "binary_junk": NOT_A_SPREADSHEET,
    "empty": "empty",
    "zip_not_xlsx": NOT_A_SPREADSHEET,
    "truncated_xlsx": "damaged",
    "cfb_magic_and_junk": NOT_A_SPREADSHEET,
    "cfb_encrypted_package": "password-protected",
    "password_protected": "password-protected",
    "far_cell": "too many cells",
    "wrong_columns": "No recognisable columns",
    "headers_only": "no data rows",
}
MEMORY_LIMIT_MB = 300


def peak_rss_reset() -> int:
    """Reset this process's peak RSS (VmHWM) to its current RSS; return that, in kB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # pragma: no cover - older kernels: the delta is then an upper bound
        pass
    return _status_kb("VmRSS")


def _status_kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def upload(api, url: str, data: bytes | Path, name: str, account: Account, **fields):
    if isinstance(data, Path):
        handle = data.open("rb")
        payload = {"file": handle}
    else:
        handle = None
        payload = {"file": SimpleUploadedFile(name, data, "application/vnd.ms-excel")}
    payload["account_id"] = account.account_id
    if url == CREATE:
        payload.setdefault("batch_name", "Cartera")
    payload.update(fields)
    try:
        return api.post(url, payload, format="multipart")
    finally:
        if handle is not None:
            handle.close()


@pytest.fixture(scope="session")
def large_files(tmp_path_factory):
    """300,000 rows (about 9 MB) and a 2 MB zip that expands to 400 MB, written once."""
    folder = tmp_path_factory.mktemp("bad-spreadsheets")
    return {
        "many_rows": (bad_files.many_rows(folder / "300k.xlsx"), "more than 200000"),
        "zip_bomb": (bad_files.zip_bomb(folder / "bomb.xlsx"), "expands to more than"),
    }


def assert_refused(response, fragment: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["success"] is False
    assert any(fragment.lower() in str(m).lower() for m in body["file"]), body


@pytest.mark.django_db
@pytest.mark.parametrize("url", [PREVIEW, CREATE])
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_spreadsheet_is_refused_and_nothing_stored(api_a, account_a, case, url):
    builder, name = bad_files.CORPUS[case]
    data = builder()
    before = Batch.objects.count(), Job.objects.count()
    started = time.monotonic()
    response = upload(api_a, url, data, name, account_a)
    assert time.monotonic() - started < 10
    assert_refused(response, REFUSALS[case])
    assert (Batch.objects.count(), Job.objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize("url", [PREVIEW, CREATE])
@pytest.mark.parametrize("case", ["many_rows", "zip_bomb"])
def test_large_bad_spreadsheet_in_bounded_memory_and_time(api_a, account_a, large_files,
                                                         case, url):
    path, fragment = large_files[case]
    before = Batch.objects.count(), Job.objects.count()
    rss = peak_rss_reset()
    started = time.monotonic()
    response = upload(api_a, url, path, path.name, account_a)
    elapsed = time.monotonic() - started
    grown_mb = (_status_kb("VmHWM") - rss) / 1024
    assert_refused(response, fragment)
    assert (Batch.objects.count(), Job.objects.count()) == before
    assert grown_mb < MEMORY_LIMIT_MB, f"{case}: peak memory grew {grown_mb:.0f} MB"
    assert elapsed < 30, f"{case}: {elapsed:.1f} s"
    print(f"\n{case} {url}: refused in {elapsed:.1f} s, peak +{grown_mb:.0f} MB")


@pytest.mark.django_db
def test_lying_dimension_and_formulas_are_harmless(api_a, account_a):
    """A tiny file claiming the whole sheet is read as what it holds; formulas are kept as
    their text, never evaluated, and a row of nothing but formulas is an invalid row."""
    rss = peak_rss_reset()
    response = upload(api_a, PREVIEW, bad_files.huge_dimension(), "x.xlsx", account_a)
    assert response.status_code == 200 and response.json()["valid_rows"] == 1
    assert (_status_kb("VmHWM") - rss) / 1024 < 50

    rows = [bad_files.HEADERS, bad_files.GOOD_ROW, ("", "", "", "")]
    formulas = {2: {0: 'HYPERLINK("http://evil.example","clic")'},
                3: {1: "1+1", 2: "cmd|' /C calc'!A0", 3: "SUM(A1:A9)"}}
    data = bad_files.xlsx(rows, formulas=formulas)
    body = upload(api_a, PREVIEW, data, "f.xlsx", account_a).json()
    assert body["valid_rows"] == 1 and body["invalid_rows"] == 1
    assert body["contacts_preview"][0]["name"] == '=HYPERLINK("http://evil.example","clic")'
    assert {e["row"] for e in body["errors"]} == {3}


# --- who may do what ---------------------------------------------------------------------------


def api_routes(client) -> list[tuple[str, str]]:
    """(method, path) of every operation in the project's own OpenAPI schema."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    routes = []
    for path, operations in schema["paths"].items():
        for method in operations:
            if method in {"get", "post", "put", "patch", "delete"}:
                concrete = re.sub(r"\{[^}]+\}", "acct-b", path)
                routes.append((method, concrete))
    return routes


# The session login's own endpoints, open to anonymous browsers (accounts.auth_api): what they
# answer to an empty anonymous request.
PUBLIC_ROUTES = {("get", "/api/v1/auth/csrf"): 200, ("post", "/api/v1/auth/login"): 400,
                 ("post", "/api/v1/auth/logout"): 204}


@pytest.mark.django_db
def test_every_endpoint_refuses_anonymous_requests(anon_api, api_operator, account_b):
    BatchFactory(account=account_b, batch_id="acct-b")
    routes = api_routes(api_operator)  # the schema itself needs a login
    assert len(routes) >= 15
    assert set(PUBLIC_ROUTES) <= set(routes)
    for method, path in routes:
        response = getattr(anon_api, method)(path, {}, format="json")
        expected = PUBLIC_ROUTES.get((method, path), 401)
        assert response.status_code == expected, (method, path, response.status_code)
    assert Batch.objects.count() == 1 and Account.objects.count() == 1


@pytest.mark.django_db
def test_a_client_never_reaches_another_tenant(api_a, account_a, account_b):
    """Every route of account B's objects answers 404 to a client of A, and changes nothing."""
    batch = BatchFactory(account=account_b, batch_id="batch-of-b")
    JobFactory(batch=batch)
    ledger = LedgerEntry.objects.count()
    b = account_b.account_id
    for method, path, body in [
        ("get", f"/api/v1/accounts/{b}", {}),
        ("get", f"/api/v1/accounts/{b}/balance", {}),
        ("get", f"/api/v1/accounts/{b}/stats", {}),
        ("patch", f"/api/v1/accounts/{b}", {"max_concurrent_calls": 50}),
        ("post", f"/api/v1/accounts/{b}/topup", {"credits": "1000"}),
        ("post", f"/api/v1/accounts/{b}/suspend", {}),
        ("post", f"/api/v1/accounts/{b}/reactivate", {}),
        ("get", "/api/v1/batches/batch-of-b", {}),
        ("patch", "/api/v1/batches/batch-of-b", {"is_active": False}),
        ("post", "/api/v1/batches/batch-of-b/cancel", {}),
        ("get", "/api/v1/batches/batch-of-b/status", {}),
        ("get", "/api/v1/batches/batch-of-b/jobs", {}),
        ("get", "/api/v1/batches/batch-of-b/logs", {}),
        ("get", "/api/v1/batches/batch-of-b/export", {}),
        ("get", "/api/v1/batches/batch-of-b/export/audit", {}),
    ]:
        response = getattr(api_a, method)(path, body, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
    listed = api_a.get("/api/v1/batches").json()
    assert all(item["account_id"] == account_a.account_id for item in listed["results"])
    assert api_a.get("/api/v1/batches", {"account_id": b}).status_code == 400
    assert [a["account_id"] for a in api_a.get("/api/v1/accounts").json()["results"]] == [
        account_a.account_id]
    batch.refresh_from_db()
    assert batch.is_active and batch.status == Batch.Status.RUNNING
    assert LedgerEntry.objects.count() == ledger


@pytest.mark.django_db
def test_a_client_cannot_top_up_change_plans_or_see_the_admin(api_a, account_a, client_a):
    a = account_a.account_id
    before = Account.objects.values_list("credits", "plan_type", "max_concurrent_calls",
                                         "status").get(pk=account_a.pk)
    for method, path, body in [
        ("post", f"/api/v1/accounts/{a}/topup", {"credits": "1000"}),
        ("patch", f"/api/v1/accounts/{a}", {"plan_type": "unlimited"}),
        ("patch", f"/api/v1/accounts/{a}", {"max_concurrent_calls": 50}),
        ("post", f"/api/v1/accounts/{a}/suspend", {}),
        ("post", "/api/v1/accounts", {"account_name": "Mía", "plan_type": "unlimited"}),
    ]:
        response = getattr(api_a, method)(path, body, format="json")
        assert response.status_code == 403, (method, path, response.status_code)
    after = Account.objects.values_list("credits", "plan_type", "max_concurrent_calls",
                                        "status").get(pk=account_a.pk)
    assert after == before and Account.objects.count() == 1

    browser = Client()
    browser.force_login(client_a)
    for path in ("/admin/", "/admin/accounts/account/",
                 f"/admin/accounts/account/{account_a.pk}/change/"):
        response = browser.get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], path
    assert Client().post("/admin/login/", {"username": client_a.username,
                                           "password": "pass-12345"}).status_code == 200


@pytest.mark.django_db
def test_webhook_without_a_valid_signature_is_refused(account_a):
    client = APIClient()
    body = '{"event":"call_ended","call":{"call_id":"c1","call_status":"ended"}}'
    for headers in ({}, {"HTTP_X_RETELL_SIGNATURE": "v=1,d=abc"},
                    {"HTTP_X_RETELL_SIGNATURE": "🙂" * 500}):
        response = client.post(WEBHOOK_PATH, body, content_type="application/json", **headers)
        assert response.status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("call_id", [123, ["c1"], "c\x001", "c" * 101])
def test_signed_webhook_with_a_malformed_call_id_is_a_400(account_a, call_id):
    body = json.dumps({"event": "call_ended", "call": {"call_id": call_id,
                                                       "call_status": "ended"}})
    response = APIClient().post(WEBHOOK_PATH, body, content_type="application/json",
                                HTTP_X_RETELL_SIGNATURE=sign(body, settings.RETELL_API_KEY))
    assert response.status_code == 400
    assert response.json() == {"call": {"call_id": [
        "Must be a string of at most 100 characters, without null characters."]}}


@pytest.mark.django_db
def test_webhook_answers_only_post_and_stays_in_the_schema(api_operator):
    """The view skips DRF at run time (it is the busiest endpoint) but is still documented."""
    client = APIClient()
    for method in ("get", "put", "delete"):
        response = getattr(client, method)(WEBHOOK_PATH)
        assert response.status_code == 405 and response["Allow"] == "POST", method
    operation = api_operator.get("/api/schema/?format=json").json()["paths"][WEBHOOK_PATH]
    assert set(operation) == {"post"}
    assert set(operation["post"]["responses"]) == {"200", "400", "401"}


# --- production settings and secrets -----------------------------------------------------------

PRODUCTION_SECRET = "prod-" + "s3cr3t-K3y-" * 5 + "9"  # 60 characters
RETELL_SECRET = "key_reliability_do_not_log_7f3c9a51e2"


def test_check_deploy_is_clean_under_production_settings():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "DJANGO_SETTINGS_MODULE": "callcenter.settings.production",
        "DJANGO_SECRET_KEY": PRODUCTION_SECRET,
        "DJANGO_ALLOWED_HOSTS": "cobranzas.example.cl",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/callcenter",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "RETELL_API_KEY": RETELL_SECRET,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output
    no_secret_in(output, PRODUCTION_SECRET, RETELL_SECRET)


@pytest.fixture
def secret_api_key(settings):
    settings.RETELL_API_KEY = RETELL_SECRET
    settings.SECRET_KEY = PRODUCTION_SECRET
    return RETELL_SECRET


@pytest.mark.django_db(transaction=True)
def test_secrets_never_reach_the_logs(secret_api_key, sim, workers, caplog, live_server):
    """A campaign with Retell refusing the key once (401), a forged webhook and normal calls:
    neither the Retell key nor the secret key appears in any worker, beat or test log."""
    account = funded_account(credits=Decimal("1000"))
    batch = campaign(account, 4)
    sim.configure(fail_next=[{"status": 500, "count": 1, "endpoint": "create"}])
    procs = workers(count=1, env={"DJANGO_SECRET_KEY": PRODUCTION_SECRET, "LOG_LEVEL": "DEBUG"})
    with caplog.at_level("DEBUG"):
        dispatch_account(account_id=account.pk)
        APIClient().post(WEBHOOK_PATH, "{}", content_type="application/json",
                         HTTP_X_RETELL_SIGNATURE="v=1,d=00")
        wait_all_closed(timeout=45, batch=batch)
        sim.configure(fail_next=[{"status": 401, "count": 1, "endpoint": "create"}])
        other = campaign(account, 1)
        dispatch_account(account_id=account.pk)
        wait_for(lambda: Batch.objects.get(pk=other.pk).status == Batch.Status.PAUSED,
                 timeout=30, message="the account's campaigns to pause on Retell's 401")
    procs.stop()
    logs = procs.log_text()
    assert "process_job" in logs and "retell create failed" in logs  # the logs are real
    text = "\n".join([logs, caplog.text, *(r.getMessage() for r in caplog.records)])
    no_secret_in(text, RETELL_SECRET, PRODUCTION_SECRET)


# A NUL character inside a JSON option would reach PostgreSQL, which refuses it (found by the
# schema fuzzer): it is bad input, a 400 naming the field, and nothing is stored.
@pytest.mark.django_db
@pytest.mark.parametrize("field", ["voice_settings", "recurring_config"])
@pytest.mark.parametrize("form", ["json", "excel"])
def test_nul_character_in_a_json_option_is_a_400(api_operator, account_a, field, form):
    value = {"voice_id": "es\x00"} if field == "voice_settings" else {"every": "dia\x00"}
    if form == "json":
        body = {"account_id": account_a.account_id, "name": "Cartera", field: value,
                "contacts": [{"rut": "12.345.678-5", "phones": ["+56987654321"]}]}
        response = api_operator.post("/api/v1/batches", body, format="json")
    else:
        response = upload(api_operator, CREATE, bad_files.valid(), "c.xlsx", account_a,
                          **{field: json.dumps(value)})
    assert response.status_code == 400, response.status_code
    name = "voice_settings.voice_id" if field == "voice_settings" else field
    assert response.json()[name] == ["Null characters are not allowed."]
    assert Batch.objects.count() == 0
