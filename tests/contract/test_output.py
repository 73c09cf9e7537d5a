"""Issue 16 (B), the response side of the frontend's contract: every response example of the
seed documents (tests/contract/fixtures/<seed>_L<start>-<end>.json, copied verbatim) is answered
with the same keys and JSON types (extra keys allowed); money is an exact JSON number; the
error body is one shape (dotted names); the batch list's cost does not grow with campaigns."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from batches.models import BatchEvent
from callcenter.api import JSONRenderer
from tests.batches.api.support import xlsx
from tests.factories import BatchFactory, JobFactory

FIXTURES = Path(__file__).parent / "fixtures"
SEED = "002_5b5c196d826db751"


def seed(lines: str):
    return json.loads((FIXTURES / f"{SEED}_L{lines}.json").read_text())


def json_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}[type(value)]


# Objects whose keys are data (headers, custom columns), not field names: only their type counts.
MAPS = {"custom_fields", "column_mapping"}


def shape_errors(expected, actual, path="$") -> list[str]:
    """Where ``actual`` lacks a key of ``expected`` or holds another JSON type."""
    if json_type(expected) != json_type(actual):
        return [f"{path}: {json_type(actual)} instead of {json_type(expected)}"]
    errors = []
    if isinstance(expected, dict) and path.rsplit(".", 1)[-1] not in MAPS:
        for key, value in expected.items():
            if key not in actual:
                errors.append(f"{path}.{key}: missing")
            else:
                errors.extend(shape_errors(value, actual[key], f"{path}.{key}"))
    elif isinstance(expected, list) and expected and actual:
        for index, item in enumerate(actual):
            errors.extend(shape_errors(expected[0], item, f"{path}[{index}]"))
    return errors


def test_shape_checker_sees_a_renamed_or_retyped_field():
    assert shape_errors({"a": 1, "b": [{"c": "x"}]}, {"a": 1, "b": [{"c": "y"}], "z": 0}) == []
    assert shape_errors({"a": 1}, {"a": "1"}) == ["$.a: string instead of number"]
    assert shape_errors({"a": {"b": 1}}, {"a": {"c": 1}}) == ["$.a.b: missing"]


def test_excel_preview_L343(api_a, account_a):
    """The seed's own spreadsheet (L333-335) previewed: header → field mapping, contacts."""
    upload = xlsx([
        ["nombre", "telefono_1", "telefono_2", "email", "rut", "monto_deuda"],
        ["Juan Pérez", "+56912345678", "+56987654321", "juan@email.com", "12345678-5", "50000"],
    ])
    response = api_a.post("/api/v1/batches/excel/preview",
                          {"file": upload, "account_id": "acct-a"}, format="multipart")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert shape_errors(seed("343-367"), body) == []
    assert body["column_mapping"]["telefono_1"] == "phone_1"
    # monto_deuda is our debt_amount field; a column we do not know would be "custom"
    assert body["column_mapping"]["monto_deuda"] in {"debt_amount", "custom"}
    assert all(isinstance(v, str) for v in body["column_mapping"].values())


def test_balance_L521(api_a, account_a):
    response = api_a.get("/api/v1/accounts/acct-a/balance")
    assert response.status_code == 200
    expected = seed("521-534")
    expected["estimated_depletion_date"] = None  # no charges yet: null, else a datetime
    assert shape_errors(expected, response.json()) == []


def test_stats_L554(api_a, account_a):
    response = api_a.get("/api/v1/accounts/acct-a/stats")
    assert response.status_code == 200
    assert shape_errors(seed("554-562"), response.json()) == []


def test_logs_L582(api_a, account_a):
    batch = BatchFactory(account=account_a)
    BatchEvent.objects.create(batch=batch, kind=BatchEvent.Kind.CREATED, data={"total_jobs": 3})
    BatchEvent.objects.create(batch=batch, kind=BatchEvent.Kind.STARTED)
    response = api_a.get(f"/api/v1/batches/{batch.batch_id}/logs")
    assert response.status_code == 200
    body = response.json()
    assert shape_errors(seed("582-598"), body) == []
    assert [log["event"] for log in body["logs"]] == ["batch_started", "batch_created"]
    assert body["logs"][0]["user"] == "system"


def test_money_is_an_exact_json_number():
    body = JSONRenderer().render({"a": Decimal("1765.5"), "b": Decimal("0.0001"),
                                  "c": Decimal("123456789012.3456"), "s": "1765.5"})
    assert body == b'{"a":1765.5,"b":0.0001,"c":123456789012.3456,"s":"1765.5"}'


def test_one_error_shape_dotted_in_accounts_and_batches(api_operator):
    account = api_operator.post("/api/v1/accounts", {"settings": {"timezone": "Mars/Olympus"}},
                                format="json")
    assert account.status_code == 400
    assert "settings.timezone" in account.json()
    batch = api_operator.post("/api/v1/batches", {"call_settings": {"max_attempts": "x"}},
                              format="json")
    assert batch.status_code == 400
    assert all("." in key or "[" in key or key.isidentifier() for key in batch.json())
    assert not any(isinstance(value, dict) for value in batch.json().values())


def test_accounts_take_page_size(api_operator, account_a):
    from tests.factories import AccountFactory

    AccountFactory.create_batch(3)
    response = api_operator.get("/api/v1/accounts?page_size=2")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def _list(api):
    response = api.get("/api/v1/batches?page_size=50")
    assert response.status_code == 200
    return response.json()["results"]


@pytest.mark.django_db
def test_batch_list_carries_live_figures_at_a_fixed_cost(
    api_a, account_a, django_assert_max_num_queries
):
    small = BatchFactory(account=account_a)
    JobFactory(batch=small, status="done")
    with django_assert_max_num_queries(12) as few:
        [one] = _list(api_a)
    assert (one["completed_jobs"], one["pending_jobs"], one["failed_jobs"]) == (1, 0, 0)
    for _ in range(10):
        batch = BatchFactory(account=account_a)
        JobFactory.create_batch(5, batch=batch)
    with django_assert_max_num_queries(len(few.captured_queries)):
        batches = _list(api_a)
    assert len(batches) == 11


SEED_000 = "000_d48ee1c2d58ffd2e"


def seed_000(lines: str):
    """A seed 000 example converted to JSON (see fixtures/README.md)."""
    return json.loads((FIXTURES / f"{SEED_000}_L{lines}_converted.json").read_text())


def test_excel_create_L218(api_a, account_a, published):
    upload = xlsx([
        ["nombre", "telefono_1", "rut", "monto_deuda"],
        ["Juan Pérez", "+56961234567", "12345678-5", "50000"],
    ])
    response = api_a.post("/api/v1/batches/excel/create",
                          {"file": upload, "account_id": "acct-a", "batch_name": "Octubre"},
                          format="multipart")
    assert response.status_code == 201, response.json()
    assert shape_errors(seed_000("218-222"), response.json()) == []
    assert response.json()["total_jobs"] == 1


def test_batch_representation_L234(api_a, account_a, published):
    """The stored batch of the seed as the API shows it: detail and list (the list has no
    call_settings), with the live figures beside it as numbers."""
    expected = seed_000("234-262")
    del expected["_id"]  # Mongo's key; our public id is batch_id
    response = api_a.post("/api/v1/batches", {
        "account_id": "acct-a", "name": "Cobranza Octubre",
        "contacts": [{"name": "Juan Pérez", "rut": "12345678-5", "phones": ["+56961234567"],
                      "debt_amount": 50000}],
        "call_settings": expected["call_settings"],
    }, format="json")
    assert response.status_code == 201, response.json()
    batch_id = response.json()["batch_id"]
    detail = api_a.get(f"/api/v1/batches/{batch_id}").json()
    assert shape_errors(expected, detail) == []
    listed = api_a.get("/api/v1/batches").json()["results"][0]
    del expected["call_settings"]
    assert shape_errors(expected, listed) == []
    for body in (detail, listed):
        figures = ("total_jobs", "pending_jobs", "completed_jobs", "failed_jobs", "total_cost",
                   "total_minutes")
        assert [body[name] for name in figures] == [1, 1, 0, 0, 0, 0]
