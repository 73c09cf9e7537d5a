"""Issue 16: the seed examples no other contract test sends, each as written.

Fixtures are tests/contract/fixtures/<seed>_L<start>-<end>[_converted].json (conversions in the
README there). Only ids that cannot exist here are swapped (account_id → the test account)
and the Excel ``file`` is a real spreadsheet. Responses are checked with test_output's
shape checker: the seed's keys and JSON types, extras allowed.
"""

import json
from pathlib import Path

import pytest

from accounts.models import Account
from batches.models import Batch
from tests.batches.api.support import create, xlsx
from tests.contract.test_output import shape_errors

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
SEED_000 = "000_d48ee1c2d58ffd2e"
SEED_002 = "002_5b5c196d826db751"


def fixture(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


SHEET = [["nombre", "telefono_1", "monto_deuda"], ["Juan Pérez", "+56912345678", 50000]]


def test_000_L103_excel_create_form_as_written(funded_a, api_a, published):
    """Seed 000 L103-128 (the FormData) with L146's allow_duplicates: every field sent."""
    form = fixture(f"{SEED_000}_L103-128_converted")
    form["call_settings_json"] = json.dumps(form["call_settings_json"])  # JSON.stringify
    form.update(account_id="acct-a", file=xlsx(SHEET), allow_duplicates="false")
    response = api_a.post("/api/v1/batches/excel/create", form, format="multipart")
    assert response.status_code == 201, response.json()
    assert shape_errors(fixture(f"{SEED_000}_L218-222_converted"), response.json()) == []
    batch = Batch.objects.get(batch_id=response.json()["batch_id"])
    detail = api_a.get(f"/api/v1/batches/{batch.batch_id}").json()
    assert detail["name"] == "Cobranza Octubre"
    assert detail["call_settings"]["priority"] == 1  # answered as the seed wrote it


def test_000_L234_batch_call_settings_priority_is_a_number(funded_a, api_a, published):
    """Seed 000 L234-262 in full, call_settings.priority included (test_output drops it)."""
    expected = fixture(f"{SEED_000}_L234-262_converted")
    del expected["_id"]  # Mongo's key (fixtures/README.md)
    body = {"account_id": "acct-a", "name": expected["name"],
            "contacts": [{"name": "Juan Pérez", "phones": ["+56912345678"]}],
            "call_settings": expected["call_settings"]}
    response = create(api_a, body)
    assert response.status_code == 201, response.json()
    detail = api_a.get(f"/api/v1/batches/{response.json()['batch_id']}").json()
    assert shape_errors(expected, detail) == []


@pytest.mark.parametrize("pause, resume", [("L999-1001", "L1039_converted")])
def test_000_pause_and_resume_by_patch(funded_a, api_a, published, pause, resume):
    """Seed 000 L998-1001 PATCH {"is_active": false} and L1039 PATCH {"is_active": true}."""
    created = create(api_a, {"account_id": "acct-a", "name": "Cobranza Octubre",
                             "contacts": [{"name": "Juan Pérez", "phones": ["+56912345678"]}]})
    assert created.status_code == 201, created.json()
    url = f"/api/v1/batches/{created.json()['batch_id']}"
    paused = api_a.patch(url, fixture(f"{SEED_000}_{pause}"), format="json")
    assert paused.status_code == 200, paused.json()
    assert paused.json()["is_active"] is False
    resumed = api_a.patch(url, fixture(f"{SEED_000}_{resume}"), format="json")
    assert resumed.status_code == 200, resumed.json()
    assert resumed.json()["is_active"] is True


@pytest.mark.parametrize("name", [f"{SEED_002}_L97-112", f"{SEED_002}_L614-630_converted"])
def test_002_account_create_bodies_as_written(api_operator, name):
    """Seed 002 L97-112 (CreateAccountModal's body) and L614-630 (the walk-through's form)."""
    body = fixture(name)
    response = api_operator.post("/api/v1/accounts", body, format="json")
    assert response.status_code == 201, response.json()
    account = Account.objects.get(account_name=body["account_name"])
    assert account.credits == 1000  # "Verificar: Cuenta aparece ... con balance 1000 créditos"


def test_002_L373_call_settings_and_L688_stored_batch(funded_a, api_a, published):
    """Seed 002 L373-386 (the call settings the user fills) sent as call_settings, and the
    batch read back in the shape of L688-707."""
    expected = fixture(f"{SEED_002}_L688-707_converted")
    body = {**fixture(f"{SEED_002}_L394-424"), "account_id": "acct-a", "name": expected["name"],
            "call_settings": fixture(f"{SEED_002}_L373-386_converted")}
    response = create(api_a, body)
    assert response.status_code == 201, response.json()
    detail = api_a.get(f"/api/v1/batches/{response.json()['batch_id']}").json()
    assert shape_errors(expected, detail) == []
    assert detail["call_settings"]["retry_delay_hours"] == 2


def test_002_L577_logs_with_limit(api_a, account_a, published, funded_a):
    """Seed 002 L577: GET /batches/{id}/logs?limit=50 answered in L582-598's shape."""
    created = create(api_a, {"account_id": "acct-a", "name": "x",
                             "contacts": [{"name": "Juan Pérez", "phones": ["+56912345678"]}]})
    assert created.status_code == 201, created.json()
    response = api_a.get(f"/api/v1/batches/{created.json()['batch_id']}/logs?limit=50")
    assert response.status_code == 200, response.json()
    assert shape_errors(fixture(f"{SEED_002}_L582-598"), response.json()) == []
