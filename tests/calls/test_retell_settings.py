"""A campaign's script and voice settings reach Retell: the simulator records each create
request's body, and these tests read it."""

import json
import urllib.request
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from batches.models import Batch, Job
from calls.models import CallAttempt
from calls.services import job_process
from tests.batches.api.support import create
from tests.contract.test_retell_settings import seed_body

pytestmark = pytest.mark.django_db

NOON_SANTIAGO = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # a Wednesday, 12:00 in Santiago


def sent_request(sim, job) -> dict:
    attempt = CallAttempt.objects.get(job=job)
    return sim.create_request(attempt.call_id)


@time_machine.travel(NOON_SANTIAGO, tick=False)
def test_a_campaign_with_script_and_voice_sends_them_in_the_create_request(sim, funded_a,
                                                                          api_a):
    body = seed_body("256-295")  # seed 002 lines 256-295: script, voice with pitch and es-CL
    body["voice_settings"] |= {"voice_id": "11labs-Adrian", "speed": 1.25, "volume": 0.8}
    body["contacts"][0]["company_name"] = "Retail Express"
    response = create(api_a, body)
    assert response.status_code == 201, response.json()
    job = Job.objects.get(batch__batch_id=response.json()["batch_id"])

    assert job_process(job_id=job.pk) == "dialled"
    request = sent_request(sim, job)
    agent = request["agent_override"]["agent"]
    assert {key: agent[key] for key in ("voice_id", "voice_speed", "volume", "language")} == {
        "voice_id": "11labs-Adrian", "voice_speed": 1.25, "volume": 0.8, "language": "es-419"}
    assert "pitch" not in agent and "speed" not in agent  # Retell has no pitch control
    assert request["agent_override"]["retell_llm"] == {
        "begin_message": "Hola {{nombre}}, le llamo de {{empresa}}..."}
    variables = request["retell_llm_dynamic_variables"]
    assert variables["script"] == "Hola Juan Pérez, le llamo de Retail Express..."
    assert variables["nombre"] == "Juan Pérez" and variables["monto_deuda"] == "50000"
    # The control API shows the same body beside the call.
    call_id = CallAttempt.objects.get(job=job).call_id
    with urllib.request.urlopen(f"{sim.base_url.rstrip('/')}/_sim/calls/{call_id}") as answer:
        shown = json.load(answer)
    assert shown["request"] == request and shown["call"]["call_id"] == call_id


@time_machine.travel(NOON_SANTIAGO, tick=False)
def test_name_alias_and_default_voice(sim, funded_a, api_a):
    body = seed_body("394-424")  # seed 002 lines 394-424: {{name}} and {{monto_deuda}}
    response = create(api_a, body)
    assert response.status_code == 201, response.json()
    job = Job.objects.get(batch__batch_id=response.json()["batch_id"])
    assert job_process(job_id=job.pk) == "dialled"
    request = sent_request(sim, job)
    assert request["agent_override"]["retell_llm"]["begin_message"] == (
        "Hola {{nombre}}, le llamamos por su deuda de {{monto_deuda}}...")
    assert request["retell_llm_dynamic_variables"]["script"] == (
        "Hola Juan Pérez, le llamamos por su deuda de 50000...")
    agent = request["agent_override"]["agent"]
    assert "voice_id" not in agent  # no voice chosen: the agent's own
    assert agent["language"] == "es-419" and agent["voice_speed"] == 1.0


@time_machine.travel(NOON_SANTIAGO, tick=False)
def test_the_script_is_read_once_per_batch_not_per_dial(sim, funded_a, api_a):
    body = seed_body("256-295")
    body["contacts"].append({**body["contacts"][0], "rut": "11.111.111-1",
                             "phones": ["+56987654322"]})
    response = create(api_a, body)
    assert response.status_code == 201, response.json()
    first, second = Job.objects.filter(batch__batch_id=response.json()["batch_id"])
    assert job_process(job_id=first.pk) == "dialled"
    with CaptureQueriesContext(connection) as captured:
        assert job_process(job_id=second.pk) == "dialled"
    assert not [q for q in captured if "script_content" in q["sql"]]
    assert Batch.objects.get().script_content  # stored, and sent (the test above)
