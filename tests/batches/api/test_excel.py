"""/api/v1/batches/excel: preview and create from a spreadsheet; one debtor road for JSON
contacts and Excel rows."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from batches.models import Batch, Job
from tests.batches.api.support import (
    contact,
    create,
    excel_create,
    payload,
    sample,
    xlsx,
)

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
    assert (data["total_rows"], data["valid_rows"], data["invalid_rows"]) == (46, 44, 2)
    assert (data["duplicates_merged"], data["total_jobs"]) == (1, 43)
    assert len(data["contacts_preview"]) == 20
    assert data["field_mapping"]["rut"] == "RUT"
    assert data["field_mapping"]["phone"] == ["Teléfono", "Celular"]
    # issue 16: column_mapping runs header → field, as the frontend reads it
    assert data["column_mapping"]["RUT"] == "rut"
    assert (data["column_mapping"]["Teléfono"], data["column_mapping"]["Celular"]) == (
        "phone_1", "phone_2")
    assert sorted({e["row"] for e in data["errors"]}) == [44, 47]  # 43: wrong check digit, kept
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
    assert (data["total_jobs"], data["total_rows"], data["invalid_rows"]) == (43, 46, 2)
    assert (data["duplicates_merged"], data["skipped_existing"]) == (1, 0)
    assert sorted({e["row"] for e in data["errors"]}) == [44, 47]  # 43: wrong check digit, kept
    assert any(w["row"] == 45 for w in data["warnings"])
    batch = Batch.objects.get(batch_id=data["batch_id"])
    assert batch.jobs.count() == 43
    assert (batch.total_rows, batch.invalid_rows, batch.duplicates_merged) == (46, 2, 1)
    assert batch.call_settings["max_attempts"] == 4 and batch.priority == "low"
    detail = api_a.get(f"/api/v1/batches/{batch.batch_id}").json()
    assert {e["row"] for e in detail["import_errors"] if e["level"] == "error"} == {44, 47}
    assert {e["row"] for e in detail["import_errors"] if e["level"] == "warning"} == {43, 45}
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
            ["Malo", "abc", "+56961777631"],
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
