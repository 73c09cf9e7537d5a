"""GET /api/v1/dashboard and GET /api/v1/options (issue 16, part E): their shapes, numbers as
JSON numbers, who sees what, and the dashboard's bounded cost."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission

from batches.call_settings import INT_LIMITS, MAX_RETRY_DELAY
from batches.models import Batch
from batches.services.base import BatchError
from batches.services.options import voice_settings_clean
from batches.voice import RETELL_LANGUAGES
from calls.models import CallAttempt
from tests.admin.data import attempt, campaign
from tests.factories import JobFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 12, 15, 0, tzinfo=ZoneInfo("America/Santiago"))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_a_client_sees_its_own_account_in_numbers(frozen, api_a, account_a, account_b):
    batch = campaign(account_a, name="Cartera A")
    campaign(account_b)
    old = JobFactory(batch=batch)
    three_days_ago = NOW - timedelta(days=3)
    earlier = attempt(old, outcome=CallAttempt.Outcome.CONTACT)
    CallAttempt.objects.filter(pk=earlier.pk).update(
        created_at=three_days_ago, started_at=three_days_ago, ended_at=three_days_ago,
        settled_at=three_days_ago,
    )
    response = api_a.get("/api/v1/dashboard")
    assert response.status_code == 200
    body = response.json()
    assert body["account_id"] == "acct-a" and body["time_zone"] == "America/Santiago"
    # One campaign of 6 calls today (5 ended: 1 contact, 4 no contact; 1 live), and one call
    # three days ago.
    assert body["calls_today"] == 6 and body["live_calls"] == 1
    assert body["dialled_today"] == 5 and body["contacted_today"] == 1
    assert body["contact_rate_today"] == 20.0
    assert isinstance(body["spend_today"], float | int)
    assert Decimal(str(body["spend_today"])) == Decimal("84.1667") * 5
    assert Decimal(str(body["spend_month"])) == Decimal("84.1667") * 6
    assert body["campaigns"] == {"running": 1, "paused": 0}
    [outcomes] = body["outcomes_per_campaign"]
    assert outcomes["batch_id"] == batch.batch_id and outcomes["account_id"] == "acct-a"
    assert outcomes["status"] == "running" and outcomes["total"] == 7
    assert outcomes["counts"] == {"contact": 2, "no_contact": 4, "invalid_number": 0,
                                  "do_not_call": 0, "provider_error": 0, "in_progress": 1}
    days = body["calls_per_day"]
    assert len(days) == 30 and days[-1] == {"date": "2025-03-12", "calls": 6}
    assert days[0]["date"] == "2025-02-11" and days[-4] == {"date": "2025-03-09", "calls": 1}
    assert sum(day["calls"] for day in days) == 7


def test_a_client_cannot_name_another_account(api_a, account_b):
    assert api_a.get("/api/v1/dashboard?account_id=acct-b").status_code == 404
    assert api_a.get("/api/v1/dashboard?account_id=acct-a").status_code == 200


def test_staff_see_every_account_or_one(frozen, api_operator, account_a, account_b):
    campaign(account_a)
    campaign(account_b, status=Batch.Status.PAUSED)
    every = api_operator.get("/api/v1/dashboard").json()
    assert every["account_id"] is None and every["calls_today"] == 12
    assert every["campaigns"] == {"running": 1, "paused": 1}
    one = api_operator.get("/api/v1/dashboard?account_id=acct-b").json()
    assert one["account_id"] == "acct-b" and one["calls_today"] == 6
    assert one["campaigns"] == {"running": 0, "paused": 1}
    assert api_operator.get("/api/v1/dashboard?account_id=nope").status_code == 404


def test_staff_need_the_view_permissions(account_a):
    from rest_framework.test import APIClient

    user = UserFactory(username="op-limited", is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    assert client.get("/api/v1/dashboard").status_code == 403
    user.user_permissions.add(
        Permission.objects.get(codename="view_batch"),
        Permission.objects.get(codename="view_callattempt"),
    )
    user = type(user).objects.get(pk=user.pk)  # drop the permission cache
    client.force_authenticate(user)
    assert client.get("/api/v1/dashboard").status_code == 200


def test_anonymous_is_refused(anon_api):
    assert anon_api.get("/api/v1/dashboard").status_code in (401, 403)
    assert anon_api.get("/api/v1/options").status_code in (401, 403)


def test_the_dashboard_costs_the_same_whatever_the_history(
    frozen, api_operator, account_a, django_assert_max_num_queries
):
    for _ in range(3):
        campaign(account_a)
    # The five dashboard queries (a superuser, authenticated without a query), at any size.
    with django_assert_max_num_queries(5):
        assert api_operator.get("/api/v1/dashboard").status_code == 200
    with django_assert_max_num_queries(6):  # and the account named
        assert api_operator.get("/api/v1/dashboard?account_id=acct-a").status_code == 200


def test_options_are_the_servers_rules(api_a):
    response = api_a.get("/api/v1/options")
    assert response.status_code == 200
    body = response.json()
    profiles = {p["code"]: p for p in body["compliance_profiles"]}
    assert profiles["CL"]["hours"] == {"start": "08:00", "end": "20:00"}
    assert profiles["CL"]["days_of_week"] == [1, 2, 3, 4, 5, 6]
    assert profiles["CL"]["holidays_country"] == "CL"
    assert profiles["CL"]["max_answered_contacts_per_7d"] == 1
    assert "America/Santiago" in profiles["CL"]["time_zones"]
    assert "Europe/Madrid" not in profiles["CL"]["time_zones"]
    assert profiles["US"]["max_attempts_per_7d"] == 7
    assert profiles["none"]["hours"] is None and "Europe/Madrid" in profiles["none"]["time_zones"]
    names = [v["name"] for v in body["script_variables"]]
    assert names == ["nombre", "empresa", "RUT", "monto_total", "fecha_vencimiento",
                     "fecha_limite", "fecha_maxima", "cuotas_adeudadas"]
    assert all(v["description"] for v in body["script_variables"])
    assert "custom column" in body["script_custom_variables"]
    limits = body["limits"]
    assert limits["max_concurrent_calls"] == {"minimum": 1, "maximum": 50, "default": 5}
    for name, (low, high) in INT_LIMITS.items():
        assert limits["call_settings"][name]["minimum"] == low
        assert limits["call_settings"][name]["maximum"] == high
    delay = limits["call_settings"]["retry_delay_hours"]
    assert delay["maximum"] == float(MAX_RETRY_DELAY) and delay["default"] == 30
    assert limits["call_settings"]["priority"] == {"choices": ["low", "normal", "high"],
                                                   "default": "normal"}
    assert [p["number"] for p in body["priorities"]] == [0, 1, 2]
    assert {p["value"] for p in body["plan_types"]} == {"credit_based", "minutes_based",
                                                         "unlimited"}


def test_options_say_what_voice_and_recurring_settings_accept(api_a):
    body = api_a.get("/api/v1/options").json()
    voice = body["voice"]
    assert voice["limits"] == {
        "speed": {"minimum": 0.5, "maximum": 2.0, "default": 1.0},
        "volume": {"minimum": 0.0, "maximum": 2.0, "default": 1.0},
        "pitch": {"minimum": -10.0, "maximum": 10.0, "default": 0.0},
    }
    assert voice["languages"] == sorted(RETELL_LANGUAGES)
    assert "es-419" in voice["languages"] and voice["regional_spanish"] == "es-419"
    assert voice["default_language"] == "es-CL"
    assert voice["default_voice_ids"] == ["", "default"]
    assert voice["not_applied"] == ["pitch"]
    assert body["recurring"] == {
        "frequencies": ["daily", "weekly", "monthly"], "max_interval": 365, "max_runs": 1000}
    # What they say is what the server takes.
    for language in ("es-CL", voice["languages"][0]):
        voice_settings_clean({"language": language})
    for name, limit in voice["limits"].items():
        voice_settings_clean({name: limit["minimum"]})
        voice_settings_clean({name: limit["maximum"]})
        with pytest.raises(BatchError):
            voice_settings_clean({name: limit["maximum"] + 0.1})


# --- The schema: no bare object in any body ---------------------------------------------------

COMPOSITE = ("$ref", "oneOf", "anyOf", "allOf", "enum", "type")


def _loose(schema: dict, where: str, schemas: dict, seen: set, found: list) -> None:
    """Collect the places in ``schema`` a typed client could not type: an object without
    properties whose additionalProperties are not a typed schema, or a schema with no type."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            _loose(schemas[name], f"#/components/schemas/{name}", schemas, seen, found)
        return
    if not any(key in schema for key in COMPOSITE):
        found.append(f"{where} (no type)")
        return
    extra = schema.get("additionalProperties")
    if schema.get("type") == "object" and not schema.get("properties") and (
        not isinstance(extra, dict) or not extra
    ):
        found.append(f"{where} (bare object)")
    for key in ("oneOf", "anyOf", "allOf"):
        for i, part in enumerate(schema.get(key, ())):
            _loose(part, f"{where}/{key}[{i}]", schemas, seen, found)
    for name, prop in (schema.get("properties") or {}).items():
        _loose(prop, f"{where}.{name}", schemas, seen, found)
    if isinstance(extra, dict) and extra:
        _loose(extra, f"{where}{{*}}", schemas, seen, found)
    if isinstance(schema.get("items"), dict):
        _loose(schema["items"], f"{where}[]", schemas, seen, found)


def test_every_body_in_the_schema_is_typed():
    from drf_spectacular.generators import SchemaGenerator

    spec = SchemaGenerator().get_schema(request=None, public=True)
    schemas, found, seen = spec["components"]["schemas"], [], set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            bodies = [("request", operation.get("requestBody", {}))]
            bodies += [(code, r) for code, r in operation.get("responses", {}).items()]
            for label, body in bodies:
                for media, content in body.get("content", {}).items():
                    if "schema" in content and not media.startswith(("application/vnd", "text/")):
                        where = f"{method.upper()} {path} {label} {media}"
                        _loose(content["schema"], where, schemas, seen, found)
    assert found == []
