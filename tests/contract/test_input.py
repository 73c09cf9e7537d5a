"""Contract (A): the seeds' request bodies for POST /batches are accepted as written.

Fixtures are seed 002's bodies copied verbatim (tests/contract/fixtures/<seed>_L<lines>.json);
only ``account_id`` is swapped for the test account. They carry what part (A) makes
acceptable: call_settings with a top-level ``priority``, a custom column at the contact's top
level (``monto_deuda``), the number +56912345678 (possible, not known valid) and the RUT
12345678-9 (wrong check digit), the last two kept with warnings.
"""

import json
from pathlib import Path

import pytest

from batches.models import Batch, Job
from tests.batches.api.support import create, excel_create, xlsx

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
SEED_002 = "002_5b5c196d826db751"


def seed_body(lines: str) -> dict:
    body = json.loads((FIXTURES / f"{SEED_002}_L{lines}.json").read_text())
    return {**body, "account_id": "acct-a"}


@pytest.mark.parametrize("lines", ["256-295", "394-424"])
def test_seed_create_requests_are_accepted_as_written(funded_a, api_a, published, lines):
    response = create(api_a, seed_body(lines))

    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["total_jobs"], data["invalid_rows"], data["errors"]) == (1, 0, [])
    assert {"contacts[0].phones[0]"} <= {w["column"] for w in data["warnings"]}
    job = Job.objects.get()
    assert job.contact["phones"] == ["+56987654321", "+56912345678"]  # the valid one first
    assert job.payload["additional_info"]["monto_deuda"] == "50000"


def test_seed_top_level_custom_column_and_check_digit(funded_a, api_a, published):
    response = create(api_a, seed_body("256-295"))  # "rut": "12345678-9", "monto_deuda" beside

    warnings = {w["column"]: w["message"] for w in response.json()["warnings"]}
    assert "dígito verificador" in warnings["contacts[0].rut"]
    assert Job.objects.get().rut == "12345678-9"  # kept as written


# Seed 002 lines 655-658: the walk-through's test spreadsheet, no RUT column.
SEED_002_L655_SHEET = [
    ["nombre", "telefono_1", "monto_deuda"],
    ["Juan Pérez", "+56912345678", 50000],
    ["María López", "+56923456789", 120000],
]


def test_seed_spreadsheet_without_rut_is_previewed_and_created(funded_a, api_a, published):
    preview = api_a.post("/api/v1/batches/excel/preview",
                         {"account_id": "acct-a", "file": xlsx(SEED_002_L655_SHEET)},
                         format="multipart")
    assert preview.status_code == 200, preview.json()
    data = preview.json()
    assert (data["total_rows"], data["invalid_rows"]) == (2, 0)
    assert any(w["column"] == "RUT" and "phone" in w["message"] for w in data["warnings"])

    response = excel_create(api_a, xlsx(SEED_002_L655_SHEET))
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["total_jobs"], created["invalid_rows"]) == (2, 0)
    assert any(w["column"] == "RUT" for w in created["warnings"])
    assert sorted(Job.objects.values_list("rut", flat=True)) == ["", ""]


def test_seed_call_settings_priority_number_is_accepted(funded_a, api_a, published):
    # Seed 000 lines 754-766: call_settings with "priority": 1 (0 baja, 1 normal, 2 alta).
    settings = json.loads((FIXTURES / "000_d48ee1c2d58ffd2e_L754-766.json").read_text())
    body = {**seed_body("256-295"), "call_settings": {**settings, "priority": 2}}
    del body["priority"]
    response = create(api_a, body)
    assert response.status_code == 201, response.json()
    assert Batch.objects.get().priority == "high"

    response = create(api_a, {**seed_body("256-295"), "call_settings": settings,
                              "name": "otra", "allow_duplicates": True})
    assert response.status_code == 201, response.json()
    assert Batch.objects.get(name="otra").priority == "normal"
