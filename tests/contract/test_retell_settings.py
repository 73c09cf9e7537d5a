"""Contract (C): the seeds' script_content and voice_settings are accepted and checked.

Fixtures are the seed's request bodies as written (tests/contract/fixtures/<seed>_L<lines>.json).
Their contacts, the RUT "12345678-9" and the number "+56912345678" are part (A)'s; here the
contacts are swapped for valid ones so that these tests say what script and voice do.
"""

import json
from pathlib import Path

import pytest

from batches.models import Batch
from tests.batches.api.support import create, excel_create, xlsx
from tests.factories import rut_with_dv

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
SEED_002 = "002_5b5c196d826db751"
# Seed 002 line 647 (the Excel walk-through's script). Its sheet's "monto_deuda" column is
# read as the debt amount (sent as monto_total) unless mapped as a custom column; the
# custom column here is "sucursal".
SEED_002_L647_SCRIPT = "Hola {{name}}, le llamamos por su deuda de ${{monto_total}} ({{sucursal}})"


def seed_body(lines: str) -> dict:
    body = json.loads((FIXTURES / f"{SEED_002}_L{lines}.json").read_text())
    body["account_id"] = "acct-a"
    body["contacts"] = [{"name": "Juan Pérez", "rut": rut_with_dv(12_345_678),
                         "phones": ["+56987654321"], "email": "juan@email.com",
                         "custom_fields": {"monto_deuda": "50000"}}]
    return body


def test_seed_script_and_voice_are_accepted_and_shown(funded_a, api_a):
    body = seed_body("256-295")  # script {{nombre}}/{{empresa}}, voice with pitch and es-CL
    response = create(api_a, body)
    assert response.status_code == 201, response.json()
    batch = Batch.objects.get(batch_id=response.json()["batch_id"])
    assert batch.script_content == "Hola {{nombre}}, le llamo de {{empresa}}..."
    detail = api_a.get(f"/api/v1/batches/{batch.batch_id}").json()
    assert detail["script_content"] == body["script_content"]
    assert detail["voice_settings"] | body["voice_settings"] == detail["voice_settings"]
    assert detail["voice_settings_applied"] == {
        "voice_id": True, "speed": True, "pitch": False, "volume": True, "language": True}


def test_seed_script_with_name_and_a_custom_column_is_accepted(funded_a, api_a):
    response = create(api_a, seed_body("394-424"))  # {{name}} and {{monto_deuda}}
    assert response.status_code == 201, response.json()


def test_unknown_script_variables_are_a_400_naming_them(funded_a, api_a):
    body = seed_body("394-424")
    body["script_content"] = "Hola {{nombre}}, debe {{deuda}} desde {{ fecha }} ({{monto_deuda}})"
    response = create(api_a, body)
    assert response.status_code == 400
    [message] = response.json()["script_content"]
    assert "deuda, fecha." in message and "monto_deuda" not in message.split(".")[0]
    assert not Batch.objects.exists()


def test_excel_script_is_checked_against_the_file_columns(funded_a, api_a):
    rows = [["nombre", "rut", "telefono_1", "monto_deuda", "sucursal"],
            ["Juan Pérez", rut_with_dv(12_345_678), "+56987654321", 50000, "Centro"]]
    response = excel_create(api_a, xlsx(rows), script_content=SEED_002_L647_SCRIPT)
    assert response.status_code == 201, response.json()

    response = excel_create(api_a, xlsx(rows), batch_name="Otra",
                            script_content="Hola {{name}}, su saldo es {{saldo}}")
    assert response.status_code == 400
    assert "saldo" in response.json()["script_content"][0]
    assert Batch.objects.count() == 1


@pytest.mark.parametrize(("voice", "field"), [
    ({"speed": 2.5}, "voice_settings.speed"),
    ({"speed": 0.4}, "voice_settings.speed"),
    ({"volume": -0.1}, "voice_settings.volume"),
    ({"volume": 2.1}, "voice_settings.volume"),
    ({"pitch": 11}, "voice_settings.pitch"),
    ({"language": "xx-YY"}, "voice_settings.language"),
])
def test_voice_out_of_retell_ranges_is_a_400_naming_the_field(funded_a, api_a, voice, field):
    body = seed_body("256-295")
    body["voice_settings"] = voice
    response = create(api_a, body)
    assert response.status_code == 400 and field in response.json(), response.json()


def test_volume_down_to_zero_is_retells_range(funded_a, api_a):
    body = seed_body("256-295")
    body["voice_settings"] = {**body["voice_settings"], "volume": 0.2, "language": "es-419"}
    assert create(api_a, body).status_code == 201
