"""Helpers of the batches API tests: debtors, request bodies, spreadsheets."""

import io
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from tests.factories import rut_with_dv

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
