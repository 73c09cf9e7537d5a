"""Spreadsheet endpoints: preview a debtor file (nothing stored) and create its campaign."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from batches import services
from batches.api.base import ADD, BatchAPIView, created_response, error_response, validated
from batches.api.schema import CREATED_EXAMPLE, EXCEL_ERRORS, FORBIDDEN, UNAUTHORIZED, bad_request
from batches.excel import ExcelError, read_contacts
from batches.serializers.requests import ExcelCreateSerializer, ExcelPreviewSerializer
from batches.serializers.responses import (
    BatchCreateResponseSerializer,
    ExcelPreviewResponseSerializer,
)
from batches.uploads import ExcelUploadLimit

PREVIEW_CONTACTS = 20


def _upload_source(upload):
    """What read_contacts reads: the temporary file's path for large uploads (read once, from
    disk), else the in-memory upload itself (at most FILE_UPLOAD_MAX_MEMORY_SIZE)."""
    if hasattr(upload, "temporary_file_path"):
        return upload.temporary_file_path()
    return upload


def _file_too_large() -> Response:
    return Response(
        {
            "success": False,
            "file": [
                _("The file is larger than the %(limit)s MB limit.")
                % {"limit": round(settings.EXCEL_MAX_BYTES / 1048576, 1)}
            ],
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


def _excel_form(serializer_class, request) -> tuple[dict | None, Response | None]:
    """Validated multipart form, or the 400 response (with success false) naming fields."""
    limit = ExcelUploadLimit(request)
    request.upload_handlers.insert(0, limit)
    request.data  # noqa: B018 - parse now, through the limit
    if limit.refused:
        return None, _file_too_large()
    try:
        data = validated(serializer_class, request.data, request)
    except ValidationError as exc:
        return None, Response({"success": False, **exc.detail}, status=status.HTTP_400_BAD_REQUEST)
    return data, None


class ExcelUploadView(BatchAPIView):
    """A multipart spreadsheet upload: the add permission, the uploads throttle."""

    operator_permissions = {"POST": [ADD]}
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "uploads"


class ExcelPreviewView(ExcelUploadView):
    @extend_schema(
        operation_id="batches_excel_preview",
        summary="Preview a debtor spreadsheet",
        description="Reads the file as excel/create would and stores nothing: rows, the "
        "column mapping detected (or given), the first 20 debtors and every problem row with "
        "its Excel row number. success is false when no row is valid. Limits: "
        "EXCEL_MAX_BYTES (50 MB), EXCEL_MAX_ROWS (200,000 rows).",
        request={"multipart/form-data": ExcelPreviewSerializer},
        responses={
            200: OpenApiResponse(
                ExcelPreviewResponseSerializer,
                examples=[
                    OpenApiExample(
                        "Preview",
                        value={
                            "success": True,
                            "total_rows": 46,
                            "valid_rows": 43,
                            "invalid_rows": 3,
                            "duplicates_merged": 1,
                            "total_jobs": 42,
                            "contacts_preview": [
                                {
                                    "row": 2,
                                    "name": "José Muñoz Rodríguez",
                                    "rut": "4897549-6",
                                    "phones": ["+56944493909", "+56986858784"],
                                    "email": "c0@mail.cl",
                                    "debt_amount": "153890.00",
                                    "due_date": "2025-11-29",
                                    "installments": 17,
                                    "company_name": "Financiera Andes",
                                    "custom_fields": {},
                                }
                            ],
                            "column_mapping": {
                                "Nombre Cliente": "name",
                                "RUT": "rut",
                                "Teléfono": "phone_1",
                                "Celular": "phone_2",
                            },
                            "field_mapping": {
                                "name": "Nombre Cliente",
                                "rut": "RUT",
                                "phone": ["Teléfono", "Celular"],
                            },
                            "custom_columns": [],
                            "errors": CREATED_EXAMPLE["errors"],
                            "warnings": CREATED_EXAMPLE["warnings"],
                            "errors_truncated": False,
                        },
                    )
                ],
            ),
            **bad_request(*EXCEL_ERRORS[:1], description="The file cannot be used."),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
        },
    )
    def post(self, request):
        data, refused = _excel_form(ExcelPreviewSerializer, request)
        if refused is not None:
            return refused
        upload = data["file"]
        try:
            parsed = read_contacts(
                _upload_source(upload),
                column_mapping=data.get("column_mapping"),
                max_rows=settings.EXCEL_MAX_ROWS,
                max_bytes=settings.EXCEL_MAX_BYTES,
            )
        except ExcelError as exc:
            return Response(
                {"success": False, "file": [str(exc.message)]}, status=status.HTTP_400_BAD_REQUEST
            )
        body = {
            "success": bool(parsed.contacts),
            "total_rows": parsed.total_rows,
            "valid_rows": parsed.total_rows - parsed.invalid_rows,
            "invalid_rows": parsed.invalid_rows,
            "duplicates_merged": parsed.duplicates_merged,
            "total_jobs": len(parsed.contacts),
            "contacts_preview": parsed.contacts[:PREVIEW_CONTACTS],
            "column_mapping": parsed.header_mapping,
            "field_mapping": parsed.column_mapping,
            "custom_columns": parsed.custom_columns,
            "errors": parsed.errors,
            "warnings": parsed.warnings,
            "errors_truncated": parsed.errors_truncated,
        }
        return Response(ExcelPreviewResponseSerializer(body).data)


class ExcelCreateView(ExcelUploadView):
    @extend_schema(
        operation_id="batches_excel_create",
        summary="Create a campaign from a debtor spreadsheet",
        description="Every valid row becomes a job (the same RUT twice is merged); invalid "
        "rows are skipped and reported in errors with their Excel row numbers. Whole-file "
        "problems (not a spreadsheet, empty, no recognisable columns, over 50 MB or 200,000 "
        "rows) and a file whose every row is invalid answer 400; nothing is stored. "
        "call_settings_json, voice_settings, recurring_config and column_mapping are JSON "
        "texts. The other fields are those of POST /batches.",
        request={"multipart/form-data": ExcelCreateSerializer},
        responses={
            201: OpenApiResponse(
                BatchCreateResponseSerializer,
                examples=[OpenApiExample("Created", value=CREATED_EXAMPLE)],
            ),
            **bad_request(*EXCEL_ERRORS),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
        },
    )
    def post(self, request):
        data, refused = _excel_form(ExcelCreateSerializer, request)
        if refused is not None:
            return refused
        upload = data.pop("file")
        data.pop("processing_type")
        try:
            result = services.batch_create_from_excel(
                user=request.user,
                account=data.pop("account"),
                name=data.pop("batch_name"),
                source=_upload_source(upload),
                call_settings=data.pop("call_settings_json"),
                column_mapping=data.pop("column_mapping"),
                **data,
            )
        except services.BatchError as exc:
            return error_response(exc, success=False)
        return created_response(result)
