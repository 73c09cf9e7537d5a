"""The /api/v1/batches contract: JSON and Excel creation, control, progress, logs, tenancy."""

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from openpyxl import Workbook

from batches.models import Batch, BatchEvent, Job
from calls.models import CallAttempt
from tests.factories import BatchFactory, JobFactory, rut_with_dv
from tests.queue_support import Published

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def published(monkeypatch):
    """Ids the dispatcher would publish (no broker in these tests)."""
    ids = Published()
    monkeypatch.setattr("calls.dispatch.publish_jobs", ids)
    return ids


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (the dispatch) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def contact(n: int, **extra) -> dict:
    return {
        "name": f"Deudor {n}",
        "rut": rut_with_dv(20_000_000 + n),
        "phones": [f"+5698765{n:04d}"],
        **extra,
    }


def payload(account_id="acct-a", contacts=None, **extra) -> dict:
    body = {
        "account_id": account_id,
        "name": "Cartera marzo",
        "contacts": contacts if contacts is not None else [contact(1), contact(2)],
    }
    body.update(extra)
    return body


def sample(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (SAMPLES / name).read_bytes(), content_type=XLSX)


def xlsx(rows: list[list]) -> SimpleUploadedFile:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("cartera.xlsx", buffer.getvalue(), content_type=XLSX)


def create(api, body, commit=None):
    if commit is None:
        return api.post("/api/v1/batches", body, format="json")
    with commit():
        return api.post("/api/v1/batches", body, format="json")


def excel_create(api, upload, **fields):
    form = {"account_id": "acct-a", "batch_name": "Cartera Excel", "file": upload, **fields}
    return api.post("/api/v1/batches/excel/create", form, format="multipart")


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/batches"),
        ("post", "/api/v1/batches"),
        ("post", "/api/v1/batches/excel/preview"),
        ("post", "/api/v1/batches/excel/create"),
        ("get", "/api/v1/batches/batch-x"),
        ("patch", "/api/v1/batches/batch-x"),
        ("post", "/api/v1/batches/batch-x/cancel"),
        ("get", "/api/v1/batches/batch-x/status"),
        ("get", "/api/v1/batches/batch-x/jobs"),
        ("get", "/api/v1/batches/batch-x/logs"),
    ],
)
def test_every_endpoint_requires_credentials(anon_api, db, method, path):
    response = getattr(anon_api, method)(path)
    assert response.status_code == 401
    assert "detail" in response.json()


# --- JSON creation ----------------------------------------------------------------------------


def test_create_from_json(funded_a, api_a, account_a, client_a, published, commit):
    body = payload(
        contacts=[
            contact(
                1,
                email="Ana@Correo.CL",
                debt_amount="$150.000",
                due_date="01/03/2025",
                installments=3,
                company_name="Retail SpA",
                custom_fields={"sucursal": "Centro", "tramo": 2},
            ),
            {"name": "Sin extras", "dni": "12.345.678-5", "phones": ["9 8765 4321"]},
        ],
        call_settings={"max_attempts": 5, "retry_delay_hours": 0.25},
        voice_settings={"speed": 1.2, "language": "es-CL"},
        description="Mora 30-60",
        priority="high",
    )
    response = create(api_a, body, commit)

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["success"] is True
    assert data["status"] == "running"
    assert (data["total_jobs"], data["total_rows"], data["invalid_rows"]) == (2, 2, 0)
    assert (data["duplicates_merged"], data["skipped_existing"]) == (0, 0)
    assert data["errors"] == [] and data["warnings"] == []
    batch = Batch.objects.get(batch_id=data["batch_id"])
    assert batch.batch_id.startswith("batch-") and len(batch.batch_id) == len(
        "batch-2025-10-26-142744-439872"
    )
    assert (batch.account, batch.created_by, batch.is_active) == (account_a, client_a, True)
    assert (batch.priority, batch.priority_rank) == ("high", 2)
    assert batch.call_settings["max_attempts"] == 5
    assert batch.call_settings["retry_delay_hours"] == "0.25"
    assert batch.call_settings["ring_timeout"] == 60  # defaults filled in
    assert batch.call_settings["timezone"] == account_a.timezone
    assert batch.call_settings["priority"] == "high"
    assert batch.voice_settings["speed"] == 1.2 and batch.voice_settings["volume"] == 1.0
    assert batch.total_jobs == 2
    # 2 jobs × (5 setup + 50/min × 2 min)
    assert batch.estimated_cost == Decimal("210.0000")

    first = Job.objects.get(batch=batch, rut=rut_with_dv(20_000_001))
    assert first.deduplication_key == f"acct-a::{first.rut}::{batch.batch_id}"
    assert first.status == "pending" and first.attempts == 0 and first.next_try_at
    assert first.contact == {
        "name": "Deudor 1",
        "rut": first.rut,
        "phones": ["+56987650001"],
        "email": "Ana@correo.cl",
        "next_phone_index": 0,
        "invalid_phones": [],
    }
    assert first.payload == {
        "debt_amount": "150000.00",
        "due_date": "2025-03-01",
        "company_name": "Retail SpA",
        "installments": 3,
        "fecha_limite": None,
        "fecha_maxima": None,
        "additional_info": {"sucursal": "Centro", "tramo": "2"},
    }
    second = Job.objects.get(batch=batch, rut="12345678-5")
    assert second.contact["phones"] == ["+56987654321"]
    assert BatchEvent.objects.filter(batch=batch, kind="created", user=client_a).count() == 1
    assert sorted(published) == sorted(Job.objects.filter(batch=batch).values_list("pk", flat=True))


def test_creation_publishes_at_most_free_slots_plus_lookahead(
    funded_a, api_a, account_a, published, commit, settings
):
    settings.CALLS_DISPATCH_LOOKAHEAD = 2
    account_a.max_concurrent_calls = 3
    account_a.save()

    response = create(api_a, payload(contacts=[contact(n) for n in range(30)]), commit)

    assert response.status_code == 201
    assert len(published) == 5
    batch = Batch.objects.get(batch_id=response.json()["batch_id"])
    assert set(published) <= set(batch.jobs.values_list("pk", flat=True))
    assert batch.jobs.count() == 30


def test_client_may_omit_account_id(api_a, account_a, published):
    body = payload()
    del body["account_id"]
    response = create(api_a, body)
    assert response.status_code == 201
    assert Batch.objects.get().account == account_a


def test_operator_must_name_the_account(api_operator, account_a, account_b, published):
    body = payload()
    del body["account_id"]
    response = create(api_operator, body)
    assert response.status_code == 400
    assert response.json() == {"account_id": ["This field is required."]}

    response = create(api_operator, payload(account_id="acct-b"))
    assert response.status_code == 201
    assert Batch.objects.get().account == account_b


def test_client_cannot_create_in_another_account(api_b, account_a, published):
    response = create(api_b, payload(account_id="acct-a"))
    assert response.status_code == 400
    assert response.json() == {"account_id": ["Unknown account."]}
    response = create(api_b, payload(account_id="no-such-account"))
    assert response.json() == {"account_id": ["Unknown account."]}
    assert not Batch.objects.exists()


def test_suspended_account_cannot_create(api_a, account_a, published):
    account_a.status = "suspended"
    account_a.save()
    response = create(api_a, payload())
    assert response.status_code == 400
    assert response.json() == {"account_id": ["The account is suspended."]}


def test_invalid_contacts_name_each_field_and_store_nothing(api_a, account_a, published):
    contacts = [
        contact(0),
        {"name": "Malo", "rut": "12.345.678-9", "phones": ["+56961777631"]},
        {"name": "Sin fono", "rut": "12.345.678-5", "phones": ["123", "+56961777631"]},
        {"name": "Vacío", "rut": "11.111.111-1", "phones": []},
        {"name": "Extra", "rut": "22.222.222-2", "phones": ["+56961777631"], "color": "x"},
        {"name": "Email", "rut": "33.333.333-3", "phones": ["+56961777631"], "email": "no@"},
        {
            "name": "Monto",
            "rut": "44.444.444-4",
            "phones": ["+56961777631"],
            "debt_amount": "-5",
            "due_date": "31/02/2025",
        },
        {"phones": ["+56961777631"]},
        "not an object",
        {"name": "Listas", "rut": "55.555.555-5", "phones": ["+56961777631"],
         "debt_amount": [1], "due_date": {"d": 1}},
    ]
    response = create(api_a, payload(contacts=contacts))
    assert response.status_code == 400
    errors = response.json()
    assert errors == {
        "contacts[1].rut": ["Invalid RUT check digit"],
        "contacts[2].phones[0]": ["Invalid phone number: 123"],
        "contacts[3].phones": ["At least one phone number is required."],
        "contacts[4].color": ["Unknown field."],
        "contacts[5].email": ["Invalid email address"],
        "contacts[6].debt_amount": ["Amount cannot be negative"],
        "contacts[6].due_date": ["Invalid date: that day does not exist"],
        "contacts[7].dni": ["RUT is required"],
        "contacts[8]": ["Must be an object."],
        "contacts[9].debt_amount": ["Invalid amount"],
        "contacts[9].due_date": ["Unrecognised date (use dd/mm/yyyy)"],
    }
    assert not Batch.objects.exists() and not Job.objects.exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"call_settings": {"max_attempts": 50}}, {"call_settings.max_attempts"}),
        (
            {"call_settings": {"max_attempts": 0, "ring_timeout": 1}},
            {"call_settings.max_attempts", "call_settings.ring_timeout"},
        ),
        (
            {"call_settings": {"allowed_hours": {"start": "19:00", "end": "09:00"}}},
            {"call_settings.allowed_hours.end"},
        ),
        ({"call_settings": {"days_of_week": [1, 1]}}, {"call_settings.days_of_week"}),
        ({"call_settings": {"timezone": "Mars/Olympus"}}, {"call_settings.timezone"}),
        ({"call_settings": {"retry_delay_hours": "soon"}}, {"call_settings.retry_delay_hours"}),
        ({"call_settings": {"max_attempt": 3}}, {"call_settings.max_attempt"}),
        ({"call_settings": [1, 2]}, {"call_settings"}),
        ({"voice_settings": {"speed": 3}}, {"voice_settings.speed"}),
        ({"voice_settings": {"tone": "warm"}}, {"voice_settings.tone"}),
        ({"schedule_type": "scheduled"}, {"scheduled_at"}),
        ({"scheduled_at": "2030-01-01T10:00:00Z"}, {"scheduled_at"}),
        ({"schedule_type": "scheduled", "scheduled_at": "2020-01-01T10:00:00Z"}, {"scheduled_at"}),
        ({"schedule_type": "weekly"}, {"schedule_type"}),
        ({"priority": "urgent"}, {"priority"}),
        ({"dias_fecha_limite": -1}, {"dias_fecha_limite"}),
        ({"name": ""}, {"name"}),
        ({"contacts": []}, {"contacts"}),
        ({"contacts": "x"}, {"contacts"}),
    ],
)
def test_invalid_options_are_refused_naming_the_field(api_a, account_a, published, extra, expected):
    response = create(api_a, payload(**extra))
    assert response.status_code == 400
    assert set(response.json()) == expected
    assert not Batch.objects.exists()


def test_compliance_profile_limits_the_settings(api_a, account_a, published):
    account_a.compliance_profile = "CL"
    account_a.save()
    response = create(
        api_a, payload(call_settings={"allowed_hours": {"start": "21:00", "end": "23:00"}})
    )
    assert response.status_code == 400
    assert list(response.json()) == ["call_settings.allowed_hours"]


def test_same_rut_twice_is_merged(api_a, account_a, published):
    twin = contact(1, phones=["+56944493909"], email="dos@correo.cl")
    response = create(api_a, payload(contacts=[contact(1), contact(2), twin]))
    data = response.json()
    assert (data["total_jobs"], data["duplicates_merged"], data["total_rows"]) == (2, 1, 3)
    assert data["warnings"][0]["row"] == 2 and "merged" in data["warnings"][0]["message"]
    job = Job.objects.get(rut=rut_with_dv(20_000_001))
    assert job.contact["phones"] == ["+56987650001", "+56944493909"]
    assert job.contact["email"] == "dos@correo.cl"


def test_scheduled_batch_waits(api_a, account_a, published, commit):
    start = timezone.now() + timedelta(days=1)
    response = create(
        api_a, payload(schedule_type="scheduled", scheduled_at=start.isoformat()), commit
    )
    assert response.status_code == 201
    batch = Batch.objects.get()
    assert (batch.status, batch.is_active, batch.scheduled_at) == ("pending", True, start)
    assert set(batch.jobs.values_list("next_try_at", flat=True)) == {start}
    assert published == []


# --- duplicates across batches ----------------------------------------------------------------


def test_allow_duplicates_false_skips_debtors_in_open_batches(api_a, account_a, published):
    first = create(api_a, payload(contacts=[contact(1), contact(2)])).json()["batch_id"]

    response = create(api_a, payload(contacts=[contact(2), contact(3)]))

    data = response.json()
    assert response.status_code == 201
    assert (data["total_jobs"], data["skipped_existing"]) == (1, 1)
    assert data["warnings"] == [
        {
            "row": 0,
            "column": "rut",
            "value": rut_with_dv(20_000_002),
            "message": f"Skipped: already has an open job in campaign {first}",
        }
    ]
    batch = Batch.objects.get(batch_id=data["batch_id"])
    assert list(batch.jobs.values_list("rut", flat=True)) == [rut_with_dv(20_000_003)]
    assert batch.skipped_existing == 1


def test_allow_duplicates_true_keeps_them(api_a, account_a, published):
    create(api_a, payload(contacts=[contact(1), contact(2)]))
    response = create(api_a, payload(contacts=[contact(2), contact(3)], allow_duplicates=True))
    assert (response.json()["total_jobs"], response.json()["skipped_existing"]) == (2, 0)
    assert Job.objects.filter(rut=rut_with_dv(20_000_002)).count() == 2


def test_only_open_jobs_of_open_batches_of_the_same_account_block(
    api_a, api_b, account_a, account_b, published
):
    create(api_b, payload(account_id="acct-b", contacts=[contact(1)]))  # other tenant
    done = BatchFactory(account=account_a)
    JobFactory(batch=done, rut=rut_with_dv(20_000_002), status="done")  # closed job
    cancelled = BatchFactory(account=account_a, status="cancelled", is_active=False)
    JobFactory(batch=cancelled, rut=rut_with_dv(20_000_003))  # batch no longer open
    paused = BatchFactory(account=account_a, status="paused", is_active=False)
    JobFactory(batch=paused, rut=rut_with_dv(20_000_004))  # will be dialled on resume

    response = create(api_a, payload(contacts=[contact(n) for n in (1, 2, 3, 4)]))

    assert (response.json()["total_jobs"], response.json()["skipped_existing"]) == (3, 1)


def test_every_debtor_already_open_is_a_400(api_a, account_a, published):
    create(api_a, payload(contacts=[contact(1)]))
    response = create(api_a, payload(contacts=[contact(1)]))
    assert response.status_code == 400
    assert list(response.json()) == ["contacts", "errors"]
    assert Batch.objects.count() == 1


# --- Excel ------------------------------------------------------------------------------------


def test_preview_sucio_reports_rows_and_stores_nothing(api_a, account_a):
    response = api_a.post(
        "/api/v1/batches/excel/preview",
        {"account_id": "acct-a", "file": sample("deudores_sucio.xlsx")},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["success"] is True
    assert (data["total_rows"], data["valid_rows"], data["invalid_rows"]) == (46, 43, 3)
    assert (data["duplicates_merged"], data["total_jobs"]) == (1, 42)
    assert len(data["contacts_preview"]) == 20
    assert data["column_mapping"]["rut"] == "RUT"
    assert data["column_mapping"]["phone"] == ["Teléfono", "Celular"]
    assert sorted({e["row"] for e in data["errors"]}) == [43, 44, 47]
    assert all(set(e) == {"row", "column", "value", "message"} for e in data["errors"])
    assert not Batch.objects.exists() and not Job.objects.exists()


def test_preview_basico(api_a, account_a):
    response = api_a.post(
        "/api/v1/batches/excel/preview",
        {"file": sample("deudores_basico.xlsx")},
        format="multipart",
    )
    data = response.json()
    assert (data["total_rows"], data["valid_rows"], data["invalid_rows"]) == (25, 25, 0)
    assert data["errors"] == []


def test_preview_with_column_mapping(api_a, account_a):
    upload = xlsx(
        [["Cliente X", "Identificador", "Numero"], ["Ana", "12.345.678-5", "+56961777631"]]
    )
    mapping = {"name": "Cliente X", "rut": "Identificador", "phone": ["Numero"]}
    response = api_a.post(
        "/api/v1/batches/excel/preview",
        {"file": upload, "column_mapping": json.dumps(mapping)},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["contacts_preview"][0]["rut"] == "12345678-5"

    upload.seek(0)
    bad = api_a.post(
        "/api/v1/batches/excel/preview",
        {"file": upload, "column_mapping": json.dumps({"colour": "X"})},
        format="multipart",
    )
    assert bad.status_code == 400
    assert list(bad.json()) == ["success", "column_mapping.colour"]


def test_excel_create_sucio(funded_a, api_a, account_a, client_a, published, commit):
    with commit():
        response = excel_create(
            api_a,
            sample("deudores_sucio.xlsx"),
            call_settings_json=json.dumps({"max_attempts": 4}),
            description="Cartera sucia",
            priority="low",
        )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["success"] is True
    assert (data["total_jobs"], data["total_rows"], data["invalid_rows"]) == (42, 46, 3)
    assert (data["duplicates_merged"], data["skipped_existing"]) == (1, 0)
    assert sorted({e["row"] for e in data["errors"]}) == [43, 44, 47]
    assert any(w["row"] == 45 for w in data["warnings"])
    batch = Batch.objects.get(batch_id=data["batch_id"])
    assert batch.jobs.count() == 42
    assert (batch.total_rows, batch.invalid_rows, batch.duplicates_merged) == (46, 3, 1)
    assert batch.call_settings["max_attempts"] == 4 and batch.priority == "low"
    detail = api_a.get(f"/api/v1/batches/{batch.batch_id}").json()
    assert {e["row"] for e in detail["import_errors"] if e["level"] == "error"} == {43, 44, 47}
    assert {e["row"] for e in detail["import_errors"] if e["level"] == "warning"} == {45}
    # the 4th debtor (row 5) absorbed its duplicate's phone
    merged = Job.objects.get(batch=batch, rut="8572373-1")
    assert len(merged.contact["phones"]) >= 2
    assert Job.objects.filter(batch=batch, contact__phones__contains=["+56223456789"]).exists()
    formula = Job.objects.get(batch=batch, contact__name__startswith="=")
    assert formula.contact["name"] == '=HYPERLINK("http://x","y")'
    assert 0 < len(published) <= account_a.max_concurrent_calls + 2


def test_large_uploads_are_read_from_their_temporary_file(
    api_a, account_a, published, settings, monkeypatch
):
    import batches.services.create

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # force a TemporaryUploadedFile
    sources = []
    original = batches.services.create.open_contacts

    def spy(source, **kwargs):
        sources.append(source)
        return original(source, **kwargs)

    monkeypatch.setattr(batches.services.create, "open_contacts", spy)
    response = excel_create(api_a, sample("deudores_basico.xlsx"))
    assert response.status_code == 201
    assert isinstance(sources[0], str) and Path(sources[0]).name.endswith(".upload.xlsx")


def test_excel_create_basico(api_a, account_a, published):
    response = excel_create(api_a, sample("deudores_basico.xlsx"))
    assert response.status_code == 201, response.json()
    assert (response.json()["total_jobs"], response.json()["invalid_rows"]) == (25, 0)
    job = Job.objects.order_by("id").first()
    assert job.payload["company_name"] and job.payload["debt_amount"]
    assert len(job.contact["phones"]) == 2


@time_machine.travel(datetime(2025, 3, 10, 2, 0, tzinfo=UTC), tick=False)
def test_dias_fecha_limite_and_maxima_count_from_today_in_the_batch_zone(
    api_a, account_a, published
):
    # 02:00 UTC on 10 March is still 9 March (23:00) in Santiago.
    response = excel_create(
        api_a, sample("deudores_basico.xlsx"), dias_fecha_limite="5", dias_fecha_maxima="10"
    )
    assert response.status_code == 201, response.json()
    payloads = Job.objects.values_list("payload", flat=True)
    assert {(p["fecha_limite"], p["fecha_maxima"]) for p in payloads} == {
        ("2025-03-14", "2025-03-19")
    }

    utc = create(
        api_a,
        payload(dias_fecha_limite=0, allow_duplicates=True, call_settings={"timezone": "UTC"}),
    )
    batch = Batch.objects.get(batch_id=utc.json()["batch_id"])
    assert batch.jobs.first().payload["fecha_limite"] == "2025-03-10"


def test_excel_allow_duplicates(api_a, account_a, published):
    excel_create(api_a, sample("deudores_basico.xlsx"))
    again = excel_create(api_a, sample("deudores_basico.xlsx"), allow_duplicates="false")
    assert again.status_code == 400
    assert again.json()["success"] is False and "file" in again.json()
    allowed = excel_create(api_a, sample("deudores_basico.xlsx"), allow_duplicates="true")
    assert allowed.status_code == 201 and allowed.json()["total_jobs"] == 25


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"call_settings_json": "{max_attempts: 3"}, "call_settings_json"),
        ({"call_settings_json": "[1, 2]"}, "call_settings_json"),
        ({"call_settings_json": '{"max_attempts": 99}'}, "call_settings.max_attempts"),
        (
            {"call_settings_json": '{"allowed_hours": {"start": "9"}}'},
            "call_settings.allowed_hours.start",
        ),
        ({"voice_settings": '{"pitch": 40}'}, "voice_settings.pitch"),
        ({"processing_type": "advanced"}, "processing_type"),
        ({"batch_name": ""}, "batch_name"),
        ({"dias_fecha_limite": "cinco"}, "dias_fecha_limite"),
        ({"account_id": "acct-b"}, "account_id"),
    ],
)
def test_excel_create_refuses_bad_fields(api_a, account_a, account_b, published, fields, expected):
    response = excel_create(api_a, sample("deudores_basico.xlsx"), **fields)
    assert response.status_code == 400
    data = response.json()
    assert data["success"] is False
    assert expected in data, data
    assert not Batch.objects.exists()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("deudores.xlsx", b"nombre,rut\nAna,1-9\n"), "not an Excel"),
        (SimpleUploadedFile("x.csv", b"%PDF-1.4 fake"), "not an Excel"),
        (None, "No recognisable columns"),
    ],
)
def test_excel_create_refuses_unusable_files(api_a, account_a, published, upload, message):
    if upload is None:
        upload = xlsx([["Producto", "Precio"], ["Pan", 100]])
    response = excel_create(api_a, upload)
    assert response.status_code == 400
    data = response.json()
    assert data["success"] is False
    assert list(data) == ["success", "file"]
    assert message in data["file"][0]
    assert not Batch.objects.exists()


def test_excel_empty_file(api_a, account_a):
    response = excel_create(api_a, SimpleUploadedFile("vacio.xlsx", b""))
    assert response.status_code == 400
    assert list(response.json()) == ["success", "file"]


def test_excel_every_row_invalid(api_a, account_a, published):
    upload = xlsx(
        [
            ["Nombre", "RUT", "Teléfono"],
            ["Malo", "12.345.678-9", "+56961777631"],
            ["Sin fono", "12.345.678-5", "abc"],
        ]
    )
    response = excel_create(api_a, upload)
    assert response.status_code == 400
    data = response.json()
    assert data["success"] is False and "file" in data
    assert sorted({e["row"] for e in data["errors"]}) == [2, 3]
    assert {e["column"] for e in data["errors"]} == {"RUT", "Teléfono"}
    assert not Batch.objects.exists()


def test_excel_size_and_row_limits(api_a, account_a, published, settings):
    settings.EXCEL_MAX_BYTES = 1_000
    response = excel_create(api_a, sample("deudores_basico.xlsx"))
    assert response.status_code == 400
    assert "MB" in response.json()["file"][0]

    settings.EXCEL_MAX_BYTES = 50 * 1024 * 1024
    settings.EXCEL_MAX_ROWS = 10
    response = excel_create(api_a, sample("deudores_basico.xlsx"))
    assert response.status_code == 400
    assert "10" in response.json()["file"][0]
    assert not Batch.objects.exists()


def test_excel_missing_file(api_a, account_a):
    response = api_a.post(
        "/api/v1/batches/excel/create",
        {"account_id": "acct-a", "batch_name": "x"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "file" in response.json()


# --- reading ---------------------------------------------------------------------------------


@pytest.fixture
def batch_a(account_a, client_a):
    batch = BatchFactory(account=account_a, created_by=client_a, batch_id="batch-a")
    BatchEvent.objects.create(batch=batch, kind="created", message="Created", user=client_a)
    return batch


def test_list_is_scoped_and_filtered(api_a, api_b, api_operator, batch_a, account_b):
    BatchFactory(account=account_b, batch_id="batch-b", status="paused", is_active=False)

    assert [b["batch_id"] for b in api_a.get("/api/v1/batches").json()["results"]] == ["batch-a"]
    assert [b["batch_id"] for b in api_b.get("/api/v1/batches").json()["results"]] == ["batch-b"]
    everything = api_operator.get("/api/v1/batches").json()
    assert everything["count"] == 2
    only_b = api_operator.get("/api/v1/batches?account_id=acct-b").json()["results"]
    assert [b["batch_id"] for b in only_b] == ["batch-b"]
    paused = api_operator.get("/api/v1/batches?status=paused&is_active=false").json()
    assert [b["batch_id"] for b in paused["results"]] == ["batch-b"]
    running = api_operator.get("/api/v1/batches?is_active=true").json()["results"]
    assert [b["batch_id"] for b in running] == ["batch-a"]

    assert api_b.get("/api/v1/batches?account_id=acct-a").json() == {
        "account_id": ["Unknown account."]
    }
    assert api_a.get("/api/v1/batches?status=sleeping").status_code == 400
    assert api_a.get("/api/v1/batches?is_active=maybe").status_code == 400


def test_list_paginates(api_a, account_a):
    for n in range(3):
        BatchFactory(account=account_a, batch_id=f"batch-{n}")
    page = api_a.get("/api/v1/batches?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_detail(api_a, batch_a):
    data = api_a.get("/api/v1/batches/batch-a").json()
    assert data["batch_id"] == "batch-a" and data["account_id"] == "acct-a"
    assert data["call_settings"]["max_attempts"] == 3
    assert data["created_by"] == "client-a"


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("post", "/cancel"),
        ("get", "/status"),
        ("get", "/jobs"),
        ("get", "/logs"),
    ],
)
def test_another_tenants_batch_is_not_found(api_b, batch_a, method, suffix):
    response = getattr(api_b, method)(
        f"/api/v1/batches/batch-a{suffix}",
        {"is_active": False} if method == "patch" else None,
        format="json",
    )
    assert response.status_code == 404
    batch_a.refresh_from_db()
    assert batch_a.is_active and batch_a.status == "running"


def test_operator_sees_every_batch(api_operator, batch_a):
    assert api_operator.get("/api/v1/batches/batch-a/status").status_code == 200


def test_status_counts_and_progress(api_a, batch_a, django_assert_max_num_queries):
    now = timezone.now()
    for status, n in (("pending", 4), ("done", 3), ("failed", 2), ("cancelled", 1)):
        for _ in range(n):
            JobFactory(batch=batch_a, status=status, next_try_at=now + timedelta(hours=2))
    busy = JobFactory(batch=batch_a, status="in_progress", reserved_until=now)
    later = JobFactory(batch=batch_a, next_try_at=now + timedelta(minutes=5))
    for number, (status, outcome, cost) in enumerate(
        [("ended", "contact", "55.5"), ("ended", "no_contact", "5"), ("ongoing", "", None)],
        start=1,
    ):
        CallAttempt.objects.create(
            job=busy,
            batch=batch_a,
            account=batch_a.account,
            rut=busy.rut,
            attempt_number=number,
            phone="+56912345678",
            idempotency_key=f"k-{number}",
            status=status,
            outcome=outcome,
            cost=cost and Decimal(cost),
        )

    with django_assert_max_num_queries(6):
        response = api_a.get("/api/v1/batches/batch-a/status")

    data = response.json()
    assert data["counts"] == {
        "pending": 5,
        "in_progress": 1,
        "done": 3,
        "failed": 2,
        "cancelled": 1,
    }
    assert data["total_jobs"] == 12
    assert data["progress_percent"] == 50.0
    assert (data["calls_in_flight"], data["attempts_made"], data["contacted"]) == (1, 3, 1)
    assert Decimal(data["cost_so_far"]) == Decimal("60.5")
    assert datetime.fromisoformat(data["next_attempt_at"]) == later.next_try_at


def test_jobs_list_with_attempts_and_no_n_plus_one(api_a, batch_a, django_assert_max_num_queries):
    jobs = [JobFactory(batch=batch_a) for _ in range(5)]
    JobFactory(batch=batch_a, status="done")
    for job in jobs:
        CallAttempt.objects.create(
            job=job,
            batch=batch_a,
            account=batch_a.account,
            rut=job.rut,
            attempt_number=1,
            phone="+56912345678",
            idempotency_key=f"job-{job.pk}-1",
            call_id=f"call-{job.pk}",
            status="ended",
            outcome="no_contact",
            duration_seconds=30,
            cost=Decimal("5"),
            disconnection_reason="dial_no_answer",
        )

    with django_assert_max_num_queries(6):
        response = api_a.get("/api/v1/batches/batch-a/jobs?status=pending")

    data = response.json()
    assert data["count"] == 5
    first = data["results"][0]
    assert {
        "id",
        "status",
        "attempts",
        "next_try_at",
        "last_error",
        "contact",
        "payload",
        "call_attempts",
    } <= set(first)
    attempt = first["call_attempts"][0]
    assert {
        "phone",
        "call_id",
        "status",
        "disconnection_reason",
        "duration",
        "cost",
        "started_at",
    } <= set(attempt)
    assert attempt["duration"] == 30
    assert api_a.get("/api/v1/batches/batch-a/jobs?status=open").status_code == 400
    assert api_a.get("/api/v1/batches/batch-a/jobs").json()["count"] == 6


def test_logs(api_a, batch_a):
    BatchEvent.objects.create(batch=batch_a, kind="completed", message="Done")
    data = api_a.get("/api/v1/batches/batch-a/logs?limit=1").json()
    assert data["batch_id"] == "batch-a"
    assert [(e["kind"], e["user"]) for e in data["logs"]] == [("completed", "system")]
    everything = api_a.get("/api/v1/batches/batch-a/logs").json()["logs"]
    assert [(e["kind"], e["user"]) for e in everything] == [
        ("completed", "system"),
        ("created", "client-a"),
    ]
    assert api_a.get("/api/v1/batches/batch-a/logs?limit=0").status_code == 400
    assert api_a.get("/api/v1/batches/batch-a/logs?limit=x").json() == {
        "limit": ["A valid integer is required."]
    }


# --- control ---------------------------------------------------------------------------------


def kinds(batch):
    return list(batch.events.order_by("id").values_list("kind", flat=True))


def test_pause_and_resume(funded_a, api_a, batch_a, client_a, published, commit):
    jobs = [JobFactory(batch=batch_a) for _ in range(3)]
    Job.objects.filter(pk=jobs[0].pk).update(enqueued_until=timezone.now() + timedelta(1))

    paused = api_a.patch("/api/v1/batches/batch-a", {"is_active": False}, format="json")

    assert paused.status_code == 200
    assert (paused.json()["is_active"], paused.json()["status"]) == (False, "paused")
    batch_a.refresh_from_db()
    assert not batch_a.is_dialable
    assert not Job.objects.filter(enqueued_until__isnull=False).exists()

    with commit():
        resumed = api_a.patch("/api/v1/batches/batch-a", {"is_active": True}, format="json")

    assert (resumed.json()["is_active"], resumed.json()["status"]) == (True, "running")
    assert sorted(published) == sorted(j.pk for j in jobs)
    assert kinds(batch_a) == ["created", "paused", "resumed"]
    assert batch_a.events.filter(kind="paused", user=client_a).exists()

    # Pausing twice changes nothing and logs nothing more.
    api_a.patch("/api/v1/batches/batch-a", {"is_active": True}, format="json")
    assert kinds(batch_a) == ["created", "paused", "resumed"]


def test_resume_of_a_scheduled_batch_waits_for_its_time(api_a, account_a, published):
    BatchFactory(
        account=account_a,
        batch_id="batch-later",
        status="paused",
        is_active=False,
        schedule_type="scheduled",
        scheduled_at=timezone.now() + timedelta(hours=3),
    )
    response = api_a.patch("/api/v1/batches/batch-later", {"is_active": True}, format="json")
    assert (response.json()["status"], response.json()["is_active"]) == ("pending", True)


def test_cancel(api_a, batch_a, published):
    pending = [JobFactory(batch=batch_a) for _ in range(3)]
    busy = JobFactory(batch=batch_a, status="in_progress", reserved_until=timezone.now())
    CallAttempt.objects.create(job=busy, batch=batch_a, account=batch_a.account, rut=busy.rut,
                               attempt_number=1, phone="+56912345678", idempotency_key="k-1",
                               status="ongoing")
    # Claimed by a worker that has not dialled yet: it has not started, so it stops.
    claimed = JobFactory(batch=batch_a, status="in_progress", reserved_until=timezone.now())
    done = JobFactory(batch=batch_a, status="done")

    response = api_a.post("/api/v1/batches/batch-a/cancel")

    assert response.status_code == 200
    assert response.json() == {"batch_id": "batch-a", "status": "cancelled", "jobs_cancelled": 4,
                               "jobs_in_call": 1}
    assert not Job.objects.filter(batch=batch_a, status="pending").exists()
    assert set(
        Job.objects.filter(pk__in=[j.pk for j in [*pending, claimed]])
        .values_list("status", flat=True)
    ) == {"cancelled"}
    busy.refresh_from_db()
    done.refresh_from_db()
    assert (busy.status, done.status) == ("in_progress", "done")
    assert kinds(batch_a) == ["created", "cancelled"]

    again = api_a.post("/api/v1/batches/batch-a/cancel")
    assert again.json()["jobs_cancelled"] == 0 and kinds(batch_a) == ["created", "cancelled"]

    resume = api_a.patch("/api/v1/batches/batch-a", {"is_active": True}, format="json")
    assert resume.status_code == 400
    assert list(resume.json()) == ["is_active"]
    batch_a.refresh_from_db()
    assert (batch_a.status, batch_a.is_active) == ("cancelled", False)


def test_completed_batch_cannot_be_cancelled_or_resumed(api_a, batch_a):
    Batch.objects.filter(pk=batch_a.pk).update(status="completed", is_active=False)
    assert api_a.post("/api/v1/batches/batch-a/cancel").json() == {
        "status": ["A completed campaign cannot be cancelled."]
    }
    assert (
        api_a.patch("/api/v1/batches/batch-a", {"is_active": True}, format="json").status_code
        == 400
    )


@time_machine.travel(datetime(2025, 3, 12, 15, 0, tzinfo=UTC))  # Wednesday, 12:00 in Santiago
def test_settings_edit_merges_validates_and_logs(funded_a, api_a, batch_a, published, commit):
    now = timezone.now()
    deferred = JobFactory(batch=batch_a, next_try_at=now + timedelta(hours=10))
    retrying = JobFactory(batch=batch_a, attempts=1, next_try_at=now + timedelta(hours=10))

    with commit():
        response = api_a.patch(
            "/api/v1/batches/batch-a",
            {
                "call_settings": {
                    "max_attempts": 5,
                    "allowed_hours": {"start": "09:00", "end": "18:00"},
                }
            },
            format="json",
        )

    assert response.status_code == 200, response.json()
    settings_now = response.json()["call_settings"]
    assert settings_now["max_attempts"] == 5
    assert settings_now["allowed_hours"] == {"start": "09:00", "end": "18:00"}
    assert settings_now["ring_timeout"] == 60  # untouched fields kept
    event = batch_a.events.get(kind="settings_changed")
    assert event.data["changes"]["max_attempts"] == {"from": 3, "to": 5}
    assert set(event.data["changes"]) == {"max_attempts", "allowed_hours"}
    deferred.refresh_from_db()
    retrying.refresh_from_db()
    assert deferred.next_try_at <= timezone.now()  # re-evaluated against the new window
    assert retrying.next_try_at > timezone.now()  # its retry delay still holds
    assert deferred.pk in published

    invalid = api_a.patch(
        "/api/v1/batches/batch-a", {"call_settings": {"max_attempts": 0}}, format="json"
    )
    assert invalid.status_code == 400
    assert list(invalid.json()) == ["call_settings.max_attempts"]
    batch_a.refresh_from_db()
    assert batch_a.call_settings["max_attempts"] == 5

    same = api_a.patch(
        "/api/v1/batches/batch-a", {"call_settings": {"max_attempts": 5}}, format="json"
    )
    assert same.status_code == 200
    assert batch_a.events.filter(kind="settings_changed").count() == 1


def test_patch_details_and_priority(api_a, batch_a):
    response = api_a.patch(
        "/api/v1/batches/batch-a",
        {"name": "Nuevo nombre", "priority": "high", "description": "d"},
        format="json",
    )
    assert response.status_code == 200
    batch_a.refresh_from_db()
    assert (batch_a.name, batch_a.priority, batch_a.priority_rank) == ("Nuevo nombre", "high", 2)
    assert batch_a.call_settings["priority"] == "high"
    assert kinds(batch_a) == ["created", "settings_changed"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "paused"}, "status"),
        ({}, "non_field_errors"),
        ({"is_active": "maybe"}, "is_active"),
        ({"priority": "urgent"}, "priority"),
        ({"call_settings": "fast"}, "call_settings"),
        ({"name": ""}, "name"),
    ],
)
def test_patch_refuses_bad_bodies(api_a, batch_a, body, field):
    response = api_a.patch("/api/v1/batches/batch-a", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert kinds(batch_a) == ["created"]


def test_patch_is_atomic(api_a, batch_a):
    response = api_a.patch(
        "/api/v1/batches/batch-a",
        {"name": "Otro", "call_settings": {"max_attempts": 99}},
        format="json",
    )
    assert response.status_code == 400
    batch_a.refresh_from_db()
    assert batch_a.name != "Otro" and kinds(batch_a) == ["created"]


def test_schema_documents_every_endpoint(api_operator):
    response = api_operator.get("/api/schema/?format=json")
    paths = json.loads(response.content)["paths"]
    for path in (
        "/api/v1/batches",
        "/api/v1/batches/excel/preview",
        "/api/v1/batches/excel/create",
        "/api/v1/batches/{batch_id}",
        "/api/v1/batches/{batch_id}/cancel",
        "/api/v1/batches/{batch_id}/status",
        "/api/v1/batches/{batch_id}/jobs",
        "/api/v1/batches/{batch_id}/logs",
    ):
        assert path in paths, path
    upload = paths["/api/v1/batches/excel/create"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


# --- one debtor road: JSON contacts and Excel rows ------------------------------------------


def test_json_contact_and_excel_row_give_the_same_job(api_a, account_a, published):
    messy = ["  Ana Soto ", "12.345.678-5", "9 6234 5678; 123", "ANA@Correo.CL", "$150.000",
             "31-12-2025", "3.0", "Retail", "Centro"]
    headers = ["Nombre", "RUT", "Teléfono", "Correo", "Monto", "Fecha Vencimiento", "Cuotas",
               "Empresa", "Sucursal"]
    by_excel = excel_create(api_a, xlsx([headers, messy]), allow_duplicates="true")
    json_contact = dict(zip(["name", "rut", "phones", "email", "debt_amount", "due_date",
                             "installments", "company_name"], messy[:8], strict=True))
    json_contact["phones"] = ["9 6234 5678"]
    json_contact["installments"] = 3
    json_contact["custom_fields"] = {"Sucursal": "Centro"}
    by_json = create(api_a, payload(contacts=[json_contact], allow_duplicates=True))

    assert (by_excel.status_code, by_json.status_code) == (201, 201)
    excel_job, json_job = (Job.objects.get(batch__batch_id=r.json()["batch_id"])
                           for r in (by_excel, by_json))
    assert excel_job.contact == json_job.contact
    assert excel_job.payload == json_job.payload
    assert json_job.contact["phones"] == ["+56962345678"]
    assert json_job.payload["debt_amount"] == "150000.00"


def test_a_value_of_spaces_is_an_empty_field_on_both_roads(api_a, account_a, published):
    spaces = contact(1, debt_amount="  ", due_date=" ", installments=" ")
    response = create(api_a, payload(contacts=[spaces]))

    assert response.status_code == 201, response.json()
    job = Job.objects.get()
    assert (job.payload["debt_amount"], job.payload["due_date"]) == (None, None)


def test_json_contact_whose_phones_are_all_blank_is_refused(api_a, account_a, published):
    response = create(api_a, payload(contacts=[contact(1, phones=["", " "])]))

    assert response.status_code == 400
    assert response.json() == {"contacts[0].phones": ["No phone number"]}
    assert not Job.objects.exists()


def test_merge_warning_is_one_translated_message_on_both_roads(api_a, account_a, published):
    headers = ["Nombre", "RUT", "Teléfono"]
    rows = [headers, ["Ana", "12.345.678-5", "962345678"], ["Ana", "12.345.678-5", "944445555"]]
    twins = [contact(1), contact(1, phones=["+56944445555"])]
    api_a.credentials(HTTP_ACCEPT_LANGUAGE="es-CL")
    with translation.override("en"):  # the requests leave Spanish active; the block restores
        by_excel = excel_create(api_a, xlsx(rows), allow_duplicates="true")
        by_json = create(api_a, payload(contacts=twins, allow_duplicates=True))

    assert by_excel.json()["warnings"][0]["message"] == "RUT duplicado: fusionado con la fila 2"
    assert by_json.json()["warnings"][0]["message"] == "RUT duplicado: fusionado con la fila 0"
