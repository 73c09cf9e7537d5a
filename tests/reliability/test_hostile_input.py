"""Hostile input, second part (issue 13): oversized and deeply nested JSON bodies, long texts
and custom fields, the API schema and docs without a login, an oversized spreadsheet upload,
and a signed webhook of another call that names one of our attempts in its metadata."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.core.handlers.wsgi import LimitedStream
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from openpyxl import Workbook
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from accounts.services import api_token_create
from batches.api.excel import ExcelCreateView, ExcelPreviewView
from batches.models import Batch, Job
from callcenter.api import BoundedJSONParser, RequestTooLarge
from calls.models import CallAttempt
from retell_sim import sign
from tests.factories import BatchFactory, JobFactory
from tests.reliability.conftest import WEBHOOK_PATH

pytestmark = [pytest.mark.reliability]


# --- webhooks ------------------------------------------------------------------------------


def post_signed(body: dict):
    raw = json.dumps(body)
    return APIClient().post(WEBHOOK_PATH, raw, content_type="application/json",
                            HTTP_X_RETELL_SIGNATURE=sign(raw, settings.RETELL_API_KEY))


@pytest.fixture
def dialling(account_a):
    """An attempt saved before its create call was answered: no call_id yet."""
    job = JobFactory(batch=BatchFactory(account=account_a))
    return CallAttempt.objects.create(
        job=job, batch=job.batch, account=account_a, rut=job.rut, attempt_number=1,
        phone="+56912345671", idempotency_key=f"job-{job.pk}-attempt-1",
        status=CallAttempt.Status.DIALLING)


def started(attempt: CallAttempt, **changes) -> dict:
    """A call_started event for the attempt, as Retell sends it for the call we placed."""
    metadata = {"job_id": attempt.job_id, "batch_id": attempt.batch.batch_id,
                "account_id": attempt.account.account_id, "attempt": attempt.attempt_number}
    call = {"call_id": "call_from_elsewhere", "call_status": "ongoing",
            "to_number": attempt.phone, "from_number": settings.RETELL_FROM_NUMBER,
            "metadata": metadata}
    for key, value in changes.items():
        if key in metadata:
            metadata[key] = value
        else:
            call[key] = value
    return {"event": "call_started", "call": call}


@pytest.mark.django_db
@pytest.mark.parametrize("change", [
    {"to_number": "+56999999999"},
    {"to_number": None},
    {"account_id": "acct-b"},
    {"account_id": None},
    {"batch_id": "other-batch"},
    {"batch_id": None},
], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_a_signed_event_of_another_call_never_binds_our_attempt(dialling, account_b, change):
    """The metadata fallback (the webhook beat the create response) binds only when the
    number dialled, the account and the campaign are the attempt's."""
    response = post_signed(started(dialling, **change))
    assert response.status_code == 200 and response.json() == {"status": "unknown"}
    dialling.refresh_from_db()
    assert dialling.call_id is None and dialling.status == CallAttempt.Status.DIALLING


@pytest.mark.django_db
def test_the_event_of_our_own_call_still_binds_by_metadata(dialling):
    response = post_signed(started(dialling))
    assert response.status_code == 200 and response.json() == {"status": "updated"}
    dialling.refresh_from_db()
    assert dialling.call_id == "call_from_elsewhere"
    assert dialling.status == CallAttempt.Status.ONGOING



# --- the API schema and its docs page --------------------------------------------------------


@pytest.mark.django_db
def test_the_schema_and_the_docs_need_a_login(anon_api):
    for accept in ("application/json", "application/vnd.oai.openapi"):
        response = anon_api.get("/api/schema/", HTTP_ACCEPT=accept)
        assert response.status_code == 401, accept
        assert b"/api/v1/" not in response.content
    docs = Client().get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"] == "/admin/login/?next=/api/docs/"


@pytest.mark.django_db
def test_the_schema_is_served_to_a_token_and_the_docs_to_a_session(client_a, operator):
    token = api_token_create(user=client_a)
    schema = APIClient().get("/api/schema/?format=json", HTTP_AUTHORIZATION=f"Token {token}")
    assert schema.status_code == 200 and "/api/v1/batches" in schema.json()["paths"]
    browser = Client()
    browser.force_login(operator)
    page = browser.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    # Swagger UI comes from our own static files, pinned; no other origin is named.
    assert not re.search(r"(https?:)?//[a-z0-9]", html, re.I), re.findall(r"\S*//\S+", html)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    for asset in assets:
        assert asset.startswith(settings.STATIC_URL), asset
        assert finders.find(asset.removeprefix(settings.STATIC_URL)), asset


# --- JSON bodies ---------------------------------------------------------------------------

BATCHES = "/api/v1/batches"


def campaign_body(account, **changes) -> dict:
    contact = {"name": "Juan Soto", "rut": "12.345.678-5", "phones": ["+56987650001"]}
    contact.update(changes.pop("contact", {}))
    return {"name": "Campaña", "account_id": account.account_id, "contacts": [contact],
            **changes}


@pytest.mark.django_db
def test_a_json_body_over_the_limit_is_a_413_and_nothing_is_stored(api_a, funded_a, settings):
    settings.API_MAX_JSON_BYTES = 64 * 1024
    body = campaign_body(funded_a, description="x" * 70_000)
    response = api_a.post(BATCHES, body, format="json")
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than the 0.1 MB limit."}
    assert not Batch.objects.exists()


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.served = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.served += len(chunk)
        return chunk


def test_the_json_parser_reads_no_further_than_the_limit(settings, rf):
    """A body without a Content-Length (or one that lies) is read up to the limit only."""
    settings.API_MAX_JSON_BYTES = 1024
    stream = CountingStream(b'{"a": "' + b"x" * 10_000_000 + b'"}')
    request = rf.post("/", content_type="application/json")
    request.META.pop("CONTENT_LENGTH", None)
    with pytest.raises(RequestTooLarge):
        BoundedJSONParser().parse(stream, parser_context={"request": request})
    assert stream.served == 1025


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 100_000 + "1" + "}" * 100_000,
    "[{}," * 700_000 + "{}]",
], ids=["nested-lists", "nested-objects", "too-many-objects"])
def test_a_deeply_nested_or_object_heavy_body_is_a_400(api_a, funded_a, raw):
    response = api_a.post(BATCHES, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert not Batch.objects.exists()


def nested(depth: int):
    value = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["call_settings", "voice_settings", "recurring_config"])
@pytest.mark.parametrize("depth", [50, 900])
def test_a_deeply_nested_settings_object_is_a_400(api_a, funded_a, field, depth):
    raw = json.dumps(campaign_body(funded_a), ensure_ascii=False)[:-1]
    raw += f', "{field}": ' + '{"a":' * depth + "1" + "}" * depth + "}"
    response = api_a.post(BATCHES, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()[field] == ["Nested too deeply: at most 10 levels."]


@pytest.mark.django_db
@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"description": "x" * 2001}, "description", "no more than 2000 characters"),
    ({"script_content": "x" * 10_001}, "script_content", "no more than 10000 characters"),
    ({"recurring_config": {"note": "x" * 10_001}}, "recurring_config",
     "At most 10000 characters as JSON."),
    ({"contact": {"name": "x" * 201}}, "contacts[0].name", "At most 200 characters."),
    ({"contact": {"email": "a" * 250 + "@x.cl"}}, "contacts[0].email", "At most 254"),
    ({"contact": {"rut": "1" * 8_000_000}}, "contacts[0].rut", "At most 20 characters."),
    ({"contact": {"debt_amount": "1" * 100}}, "contacts[0].debt_amount", "At most 30"),
    ({"contact": {"phones": ["+56987650001"] * 11}}, "contacts[0].phones",
     "At most 10 phone numbers."),
    ({"contact": {"phones": ["9" * 101]}}, "contacts[0].phones[0]", "At most 100"),
    ({"contact": {"custom_fields": {f"k{i}": "v" for i in range(51)}}},
     "contacts[0].custom_fields", "At most 50 custom fields"),
    ({"contact": {"custom_fields": {"Sucursal": "x" * 501}}},
     "contacts[0].custom_fields.Sucursal", "At most 500 characters"),
    ({"contact": {"custom_fields": {"k" * 65: "v"}}},
     "contacts[0].custom_fields." + "k" * 64 + "…",
     "A custom field name has at most 64 characters"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_a_text_over_its_limit_is_a_400_naming_the_field(api_a, funded_a, changes, field,
                                                          message):
    response = api_a.post(BATCHES, campaign_body(funded_a, **changes), format="json")
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert field in body, list(body)
    assert message in body[field][0]
    assert not Batch.objects.exists()


@pytest.mark.django_db
def test_texts_at_their_limits_are_accepted(api_a, funded_a):
    custom = {f"{i:02d}" + "k" * 62: "v" * 500 for i in range(50)}
    body = campaign_body(funded_a, description="d" * 2000, script_content="s" * 10_000,
                         contact={"name": "n" * 200, "custom_fields": custom})
    response = api_a.post(BATCHES, body, format="json")
    assert response.status_code == 201, response.content[:500]
    job = Job.objects.get()
    assert job.payload["additional_info"] == custom


# --- spreadsheets ----------------------------------------------------------------------------

PREVIEW = "/api/v1/batches/excel/preview"
CREATE = "/api/v1/batches/excel/create"
HEADERS = ["Nombre", "RUT", "Teléfono"]
DEBTOR = ["Juan Soto", "12.345.678-5", "+56987650001"]


def xlsx(rows: list[list]) -> SimpleUploadedFile:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("deudores.xlsx", buffer.getvalue(), content_type="application/vnd"
                              ".openxmlformats-officedocument.spreadsheetml.sheet")


@pytest.mark.django_db
def test_too_many_extra_columns_are_refused_naming_the_header_row(api_a, account_a):
    extra = [f"Dato {i}" for i in range(51)]
    response = api_a.post(PREVIEW, {"account_id": account_a.account_id,
                                    "file": xlsx([HEADERS + extra, DEBTOR + ["x"] * 51])},
                          format="multipart")
    assert response.status_code == 400
    assert response.json()["file"] == [
        "Row 1: 51 extra columns; at most 50 are passed to the agent."]


@pytest.mark.django_db
def test_an_extra_column_with_a_long_name_is_refused_naming_row_and_column(api_a, account_a):
    header = "Observación " + "x" * 60
    response = api_a.post(PREVIEW, {"account_id": account_a.account_id,
                                    "file": xlsx([HEADERS + [header], DEBTOR + ["x"]])},
                          format="multipart")
    assert response.status_code == 400
    assert response.json()["file"] == [
        f'Row 1, column "{header[:64]}…": a column name has at most 64 characters.']


@pytest.mark.django_db
def test_a_long_extra_value_makes_its_row_invalid_naming_row_and_column(api_a, funded_a):
    rows = [HEADERS + ["Sucursal"], DEBTOR + ["Maipú"],
            ["Ana Díaz", "11.111.111-1", "+56987650002", "y" * 501]]
    response = api_a.post(CREATE, {"account_id": funded_a.account_id, "batch_name": "Cartera",
                                   "file": xlsx(rows)}, format="multipart")
    assert response.status_code == 201, response.content[:500]
    body = response.json()
    assert body["total_jobs"] == 1 and body["invalid_rows"] == 1
    (error,) = body["errors"]
    assert (error["row"], error["column"]) == (3, "Sucursal")
    assert error["message"] == "At most 500 characters"
    assert Job.objects.get().payload["additional_info"] == {"Sucursal": "Maipú"}


class CountingTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Django's handler for large uploads, counting the bytes it writes to disk."""

    written = 0

    def receive_data_chunk(self, raw_data, start):
        type(self).written += len(raw_data)
        return super().receive_data_chunk(raw_data, start)


def post_upload(url: str, user, payload: bytes, content_type: str, **meta):
    """The request as a WSGI server hands it over, counting the bytes the view reads."""
    request = APIRequestFactory().post(url, payload, content_type=content_type)
    request.META.update(meta)
    source = CountingStream(payload)
    request._stream = LimitedStream(source, int(request.META["CONTENT_LENGTH"]))
    force_authenticate(request, user=user)
    view = ExcelCreateView if url == CREATE else ExcelPreviewView
    return view.as_view()(request), source


@pytest.fixture
def small_limits(settings):
    settings.EXCEL_MAX_BYTES = 200 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024  # larger uploads go to a temporary file
    settings.FILE_UPLOAD_HANDLERS = [
        f"{__name__}.CountingTemporaryFileUploadHandler"]
    CountingTemporaryFileUploadHandler.written = 0


@pytest.mark.django_db
@pytest.mark.parametrize("url", [PREVIEW, CREATE])
def test_an_upload_over_the_limit_is_read_and_written_no_further(client_a, small_limits, url):
    """A file 100 KB over a 200 KB limit: refused naming the file; at most the limit is
    written to disk and one chunk (64 KB) more is read."""
    form = {"account_id": "acct-a", "batch_name": "Cartera",
            "file": SimpleUploadedFile("big.xlsx", b"PK" + b"\0" * (300 * 1024))}
    payload = encode_multipart(BOUNDARY, form)
    response, source = post_upload(url, client_a, payload, MULTIPART_CONTENT)
    assert response.status_code == 400
    assert response.data == {"success": False, "file": ["The file is larger than the 0.2 MB "
                                                        "limit."]}
    assert CountingTemporaryFileUploadHandler.written <= 200 * 1024
    assert source.served <= 200 * 1024 + 64 * 1024 + 1024
    assert not Batch.objects.exists()


@pytest.mark.django_db
def test_an_upload_declared_far_over_the_limit_is_not_read_at_all(client_a, small_limits):
    payload = encode_multipart(BOUNDARY, {"account_id": "acct-a", "file": SimpleUploadedFile(
        "big.xlsx", b"PK" + b"\0" * (300 * 1024))})
    response, source = post_upload(PREVIEW, client_a, payload, MULTIPART_CONTENT,
                                   CONTENT_LENGTH=str(200 * 1024 + 5 * 1024 * 1024 + 1))
    assert response.status_code == 400 and "0.2 MB" in response.data["file"][0]
    assert source.served == 0 and CountingTemporaryFileUploadHandler.written == 0


@pytest.mark.django_db
def test_an_upload_at_the_limit_is_read_whole(client_a, small_limits):
    rows = [HEADERS, DEBTOR]
    payload = encode_multipart(BOUNDARY, {"account_id": "acct-a", "file": xlsx(rows)})
    response, _source = post_upload(PREVIEW, client_a, payload, MULTIPART_CONTENT)
    assert response.status_code == 200 and response.data["valid_rows"] == 1
