"""The batches REST API (``/api/v1/batches``): thin views over services and selectors.

Scoping: operators (staff) see every account's batches, each operation needing its Django
permission as in the admin (``accounts.permissions.ModelPermissions``: view for reads, add
for creations and the Excel preview, change for pause, resume, edits and cancel; 403
otherwise); a client user reads and runs only its account's campaigns.
Another tenant's batch answers 404; an ``account_id`` (body or query) the user cannot use
answers 400 ``{"account_id": ["Unknown account."]}``, the same as an unknown one, so nothing
leaks. Every error is a JSON object naming the field (``call_settings.max_attempts``,
``contacts[3].rut``, ``file``), with the spreadsheet rows in ``errors`` where rows are at fault.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ModelPermissions
from batches import selectors, services
from batches.excel import ExcelError, read_contacts
from batches.serializers import (
    BatchCreateResponseSerializer,
    BatchCreateSerializer,
    BatchDetailSerializer,
    BatchListQuerySerializer,
    BatchLogsSerializer,
    BatchSerializer,
    BatchStatusSerializer,
    BatchUpdateSerializer,
    CancelResponseSerializer,
    ExcelCreateSerializer,
    ExcelPreviewResponseSerializer,
    ExcelPreviewSerializer,
    JobListQuerySerializer,
    JobSerializer,
    LogsQuerySerializer,
    flatten_errors,
)
from batches.uploads import ExcelUploadLimit
from callcenter.api import BoundedJSONParser
from calls import campaigns
from calls import selectors as call_selectors

PREVIEW_CONTACTS = 20
VIEW, ADD, CHANGE = "batches.view_batch", "batches.add_batch", "batches.change_batch"
# A client user may do all of this on its own account's campaigns.
CLIENT_METHODS = frozenset({"GET", "POST", "PATCH"})


class BatchAPIView(APIView):
    """A batch endpoint: ``operator_permissions`` maps each HTTP method to the permissions a
    staff user needs."""

    permission_classes = [ModelPermissions]
    client_actions = CLIENT_METHODS
    operator_permissions: dict[str, list[str]] = {}


class BatchPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class JobPagination(BatchPagination):
    page_size = 100
    max_page_size = 1000


def _validated(serializer_class, data, request, **kwargs) -> dict:
    serializer = serializer_class(data=data, context={"request": request}, **kwargs)
    if not serializer.is_valid():
        raise ValidationError(flatten_errors(serializer.errors))
    return serializer.validated_data


def _error(exc: services.BatchError, **extra) -> Response:
    body = {**extra, **exc.errors}
    if exc.rows:
        body["errors"] = exc.rows
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _batch_or_404(request, batch_id: str):
    batch = selectors.batch_get(user=request.user, batch_id=batch_id)
    if batch is None:
        raise NotFound(_("No campaign with this id."))
    return batch


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
        data = _validated(serializer_class, request.data, request)
    except ValidationError as exc:
        return None, Response({"success": False, **exc.detail}, status=status.HTTP_400_BAD_REQUEST)
    return data, None


def _created(result: services.BatchCreateResult) -> Response:
    body = {
        "success": True,
        "batch_id": result.batch.batch_id,
        "status": result.batch.status,
        "total_jobs": result.total_jobs,
        "total_rows": result.total_rows,
        "invalid_rows": result.invalid_rows,
        "duplicates_merged": result.duplicates_merged,
        "skipped_existing": result.skipped_existing,
        "estimated_cost": result.batch.estimated_cost,
        "errors": result.errors,
        "warnings": result.warnings,
    }
    return Response(BatchCreateResponseSerializer(body).data, status=status.HTTP_201_CREATED)


# --- Schema documentation -------------------------------------------------------------------

BATCH_ID = OpenApiParameter(
    "batch_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The campaign's id, e.g. batch-2025-10-26-142744-439872.",
)
UNAUTHORIZED = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="No or invalid credentials.",
    examples=[
        OpenApiExample(
            "Unauthenticated", value={"detail": "Authentication credentials were not provided."}
        )
    ],
)
FORBIDDEN = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="An operator without the operation's permission (view, add or change "
    "campaigns), or a client naming a Retell agent.",
    examples=[
        OpenApiExample(
            "Permission missing",
            value={"detail": "You need the permission batches.change_batch to do this."},
        ),
        OpenApiExample(
            "Agent", value={"voice_settings.agent_id": ["Only operators may set this field."]}
        ),
    ],
)
NOT_FOUND = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="No such campaign, or it belongs to another client.",
    examples=[OpenApiExample("Not found", value={"detail": "No campaign with this id."})],
)
CALL_SETTINGS_EXAMPLE = {
    "max_call_duration": 600,
    "ring_timeout": 60,
    "max_attempts": 3,
    "retry_delay_hours": "30",
    "allowed_hours": {"start": "09:00", "end": "19:00"},
    "days_of_week": [1, 2, 3, 4, 5],
    "timezone": "America/Santiago",
    "priority": "normal",
}
BATCH_EXAMPLE = {
    "batch_id": "batch-2025-10-26-142744-439872",
    "account_id": "retail-cobranzas",
    "name": "Cartera octubre",
    "description": "Mora 30-60 días",
    "status": "running",
    "is_active": True,
    "priority": "normal",
    "schedule_type": "immediate",
    "scheduled_at": None,
    "total_jobs": 42,
    "total_rows": 46,
    "invalid_rows": 3,
    "duplicates_merged": 1,
    "skipped_existing": 0,
    "estimated_cost": "11970.0000",
    "created_by": "ana",
    "created_at": "2025-10-26T14:27:44.439872Z",
    "updated_at": "2025-10-26T14:27:44.439872Z",
    "completed_at": None,
}
CREATED_EXAMPLE = {
    "success": True,
    "batch_id": "batch-2025-10-26-142744-439872",
    "status": "running",
    "total_jobs": 42,
    "total_rows": 46,
    "invalid_rows": 3,
    "duplicates_merged": 1,
    "skipped_existing": 0,
    "estimated_cost": "11970.0000",
    "errors": [
        {"row": 43, "column": "RUT", "value": "4897550-6", "message": "Invalid RUT check digit"},
        {"row": 44, "column": "Teléfono", "value": "abc", "message": "Invalid phone number"},
    ],
    "warnings": [
        {
            "row": 45,
            "column": "RUT",
            "value": "85723731",
            "message": "Duplicate RUT: merged into row 5",
        }
    ],
}
CREATED_MESSAGE = (
    "Campaign created with 42 jobs from 46 rows (3 invalid, 1 duplicates merged, 0 already "
    "in another campaign)."
)
FIELD_ERRORS = OpenApiExample(
    "Invalid fields",
    value={
        "account_id": ["Unknown account."],
        "call_settings.max_attempts": ["Must be between 1 and 20."],
        "call_settings.allowed_hours.end": ["Must be later than the start time."],
        "contacts[3].rut": ["Invalid RUT check digit"],
        "contacts[7].phones[0]": ["Invalid phone number: 123"],
    },
)
EXCEL_ERRORS = [
    OpenApiExample(
        "Not a spreadsheet",
        value={
            "success": False,
            "file": [
                "The file is not an Excel spreadsheet (.xlsx, .xls or .ods). If it is a CSV "
                "or another format, open it in Excel and save it as .xlsx."
            ],
        },
    ),
    OpenApiExample(
        "Invalid call settings JSON",
        value={
            "success": False,
            "call_settings_json": ["Invalid JSON: Expecting value: line 1 column 1 (char 0)"],
        },
    ),
    OpenApiExample(
        "Invalid call settings",
        value={"success": False, "call_settings.max_attempts": ["Must be between 1 and 20."]},
    ),
    OpenApiExample(
        "Every row invalid",
        value={
            "success": False,
            "file": ["No valid rows: all 2 rows have errors; nothing was imported."],
            "errors": [
                {"row": 2, "column": "RUT", "value": "1-1", "message": "Invalid RUT check digit"},
                {"row": 3, "column": "Teléfono", "value": "abc", "message": "Invalid phone number"},
            ],
        },
    ),
]


def bad_request(
    *examples,
    description: str = "Validation failed: an object naming each "
    "wrong field (dotted: call_settings.max_attempts, contacts[3].rut).",
) -> dict:
    return {
        400: OpenApiResponse(OpenApiTypes.OBJECT, description=description, examples=list(examples))
    }


# --- Views ----------------------------------------------------------------------------------


class BatchListCreateView(BatchAPIView):
    operator_permissions = {"GET": [VIEW], "POST": [ADD]}
    parser_classes = [BoundedJSONParser]
    pagination_class = BatchPagination

    @extend_schema(
        operation_id="batches_list",
        summary="List campaigns",
        description="Newest first, paginated (page, page_size ≤ 500). Operators see every "
        "account and may filter by account_id; a client sees only its account (another "
        "account_id answers 400).",
        parameters=[
            OpenApiParameter("account_id", OpenApiTypes.STR, description="Account's public id."),
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=["pending", "running", "paused", "completed", "cancelled"],
            ),
            OpenApiParameter("is_active", OpenApiTypes.BOOL),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={
            200: BatchSerializer(many=True),
            **bad_request(
                OpenApiExample("Bad filter", value={"status": ['"paused2" is not a valid choice.']})
            ),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
        },
    )
    def get(self, request):
        query = _validated(BatchListQuerySerializer, request.query_params, request)
        queryset = selectors.batch_list(
            user=request.user,
            account=query.get("account_id"),
            status=query.get("status"),
            is_active=query.get("is_active"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(
            BatchSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="batches_create",
        summary="Create a campaign from JSON",
        description="One job per debtor. RUTs and phones are normalised (E.164), the same RUT "
        "twice is merged (phones unioned) and, unless allow_duplicates is true, debtors with "
        "an open job in another active campaign of the account are skipped and reported in "
        "warnings. Any invalid contact refuses the whole request (400 naming "
        "contacts[i].field); nothing is stored. An immediate campaign starts at once (its "
        "first calls are queued after commit, at most the account's free call slots plus a "
        "small lookahead); a scheduled one waits for scheduled_at. estimated_cost = jobs × "
        "(setup + per-minute × min(2, max_call_duration/60) minutes), in credits.",
        request=BatchCreateSerializer,
        examples=[
            OpenApiExample(
                "New campaign",
                request_only=True,
                value={
                    "account_id": "retail-cobranzas",
                    "name": "Cartera octubre",
                    "description": "Mora 30-60 días",
                    "script_content": "Hola {{nombre}}...",
                    "voice_settings": {
                        "voice_id": "es-CL-female-1",
                        "speed": 1.0,
                        "pitch": 0,
                        "volume": 1.0,
                        "language": "es-CL",
                    },
                    "call_settings": CALL_SETTINGS_EXAMPLE,
                    "schedule_type": "immediate",
                    "priority": "high",
                    "allow_duplicates": False,
                    "dias_fecha_limite": 5,
                    "contacts": [
                        {
                            "name": "José Muñoz",
                            "rut": "12.345.678-5",
                            "phones": ["+56912345678", "9 8765 4321"],
                            "email": "jose@correo.cl",
                            "debt_amount": "150000",
                            "due_date": "2025-10-01",
                            "company_name": "Retail SpA",
                            "custom_fields": {"sucursal": "Centro"},
                        }
                    ],
                },
            )
        ],
        responses={
            201: OpenApiResponse(
                BatchCreateResponseSerializer,
                examples=[
                    OpenApiExample(
                        "Created",
                        value={
                            **CREATED_EXAMPLE,
                            "total_rows": 1,
                            "total_jobs": 1,
                            "invalid_rows": 0,
                            "duplicates_merged": 0,
                            "errors": [],
                            "warnings": [],
                        },
                    )
                ],
            ),
            **bad_request(FIELD_ERRORS),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
        },
    )
    def post(self, request):
        data = _validated(BatchCreateSerializer, request.data, request)
        try:
            result = services.batch_create(user=request.user, **data)
        except services.BatchError as exc:
            return _error(exc)
        return _created(result)


class ExcelPreviewView(BatchAPIView):
    operator_permissions = {"POST": [ADD]}
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "uploads"

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
            "column_mapping": parsed.column_mapping,
            "custom_columns": parsed.custom_columns,
            "errors": parsed.errors,
            "warnings": parsed.warnings,
            "errors_truncated": parsed.errors_truncated,
        }
        return Response(ExcelPreviewResponseSerializer(body).data)


class ExcelCreateView(BatchAPIView):
    operator_permissions = {"POST": [ADD]}
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "uploads"

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
            return _error(exc, success=False)
        return _created(result)


class BatchDetailView(BatchAPIView):
    operator_permissions = {"GET": [VIEW], "PATCH": [CHANGE]}
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="batches_retrieve",
        summary="A campaign",
        parameters=[BATCH_ID],
        responses={
            200: OpenApiResponse(
                BatchDetailSerializer,
                examples=[
                    OpenApiExample(
                        "Campaign",
                        value={
                            **BATCH_EXAMPLE,
                            "script_content": "Hola {{nombre}}...",
                            "voice_settings": {
                                "voice_id": "",
                                "speed": 1.0,
                                "pitch": 0,
                                "volume": 1.0,
                                "language": "es-CL",
                            },
                            "call_settings": CALL_SETTINGS_EXAMPLE,
                            "recurring_config": None,
                            "import_errors": [{**CREATED_EXAMPLE["errors"][0], "level": "error"}],
                        },
                    )
                ],
            ),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def get(self, request, batch_id):
        batch = _batch_or_404(request, batch_id)
        return Response(BatchDetailSerializer(batch, context={"request": request}).data)

    @extend_schema(
        operation_id="batches_partial_update",
        summary="Pause, resume or edit a campaign",
        description="is_active false pauses at once: no call starts after this response "
        "(calls in flight finish); true resumes (400 for a cancelled or completed campaign). "
        "call_settings is partial, merged onto the current settings and validated; it "
        "applies to every job not yet dialled, from its next claim. name, description and "
        "priority may change too. Each change is logged.",
        parameters=[BATCH_ID],
        request=BatchUpdateSerializer,
        examples=[
            OpenApiExample("Pause", request_only=True, value={"is_active": False}),
            OpenApiExample(
                "Edit settings",
                request_only=True,
                value={
                    "call_settings": {
                        "max_attempts": 5,
                        "allowed_hours": {"start": "10:00", "end": "18:00"},
                    }
                },
            ),
        ],
        responses={
            200: OpenApiResponse(BatchDetailSerializer),
            **bad_request(
                OpenApiExample(
                    "Resume a cancelled campaign",
                    value={"is_active": ["A cancelled campaign cannot be paused or resumed."]},
                ),
                OpenApiExample(
                    "Invalid setting",
                    value={"call_settings.max_attempts": ["Must be between 1 and 20."]},
                ),
            ),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def patch(self, request, batch_id):
        batch = _batch_or_404(request, batch_id)
        data = _validated(BatchUpdateSerializer, request.data, request)
        try:
            services.batch_update(batch=batch, user=request.user, **data)
        except services.BatchError as exc:
            return _error(exc)
        return Response(BatchDetailSerializer(batch, context={"request": request}).data)


class BatchCancelView(BatchAPIView):
    operator_permissions = {"POST": [CHANGE]}

    @extend_schema(
        operation_id="batches_cancel",
        summary="Cancel a campaign",
        description="What has not started stops: pending jobs (and jobs not dialled yet) "
        "become cancelled at once (jobs_cancelled). A call already live finishes and its "
        "outcome decides its job's result (jobs_in_call): done after a conversation or a "
        "do-not-call request, failed when it was its last attempt or phone, cancelled when it "
        "would have been retried. Cancelling a cancelled campaign changes nothing; a "
        "completed one answers 400.",
        parameters=[BATCH_ID],
        request=None,
        responses={
            200: OpenApiResponse(
                CancelResponseSerializer,
                examples=[
                    OpenApiExample(
                        "Cancelled",
                        value={
                            "batch_id": "batch-2025-10-26-142744-439872",
                            "status": "cancelled",
                            "jobs_cancelled": 40,
                            "jobs_in_call": 2,
                        },
                    )
                ],
            ),
            **bad_request(
                OpenApiExample(
                    "Completed", value={"status": ["A completed campaign cannot be cancelled."]}
                )
            ),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def post(self, request, batch_id):
        batch = _batch_or_404(request, batch_id)
        try:
            batch, cancelled, in_call = campaigns.batch_cancel(batch=batch, user=request.user)
        except services.BatchError as exc:
            return _error(exc)
        return Response({"batch_id": batch.batch_id, "status": batch.status,
                         "jobs_cancelled": cancelled, "jobs_in_call": in_call})


class BatchStatusView(BatchAPIView):
    operator_permissions = {"GET": [VIEW]}

    @extend_schema(
        operation_id="batches_status",
        summary="Progress of a campaign",
        description="Jobs per status (one indexed GROUP BY), progress % = (done + failed + "
        "cancelled) / total, calls in flight, attempts made, contacted (answered by the "
        "debtor), cost so far (credits) and the next scheduled attempt (null when paused or "
        "finished).",
        parameters=[BATCH_ID],
        responses={
            200: OpenApiResponse(
                BatchStatusSerializer,
                examples=[
                    OpenApiExample(
                        "Status",
                        value={
                            "batch_id": "batch-2025-10-26-142744-439872",
                            "status": "running",
                            "is_active": True,
                            "total_jobs": 42,
                            "counts": {
                                "pending": 30,
                                "in_progress": 2,
                                "done": 8,
                                "failed": 2,
                                "cancelled": 0,
                            },
                            "progress_percent": 23.81,
                            "calls_in_flight": 2,
                            "attempts_made": 15,
                            "contacted": 8,
                            "cost_so_far": "1630.0000",
                            "next_attempt_at": "2025-10-26T15:00:00Z",
                        },
                    )
                ],
            ),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def get(self, request, batch_id):
        batch = _batch_or_404(request, batch_id)
        return Response(BatchStatusSerializer(call_selectors.batch_status(batch=batch)).data)


class BatchJobsView(BatchAPIView):
    operator_permissions = {"GET": [VIEW, "batches.view_job"]}
    pagination_class = JobPagination

    @extend_schema(
        operation_id="batches_jobs",
        summary="Jobs of a campaign",
        description="In id order, paginated (page, page_size ≤ 1000), each with its call attempts.",
        parameters=[
            BATCH_ID,
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=["pending", "in_progress", "done", "failed", "cancelled"],
            ),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={
            200: JobSerializer(many=True),
            **bad_request(
                OpenApiExample("Bad filter", value={"status": ['"open" is not a valid choice.']})
            ),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def get(self, request, batch_id):
        batch = _batch_or_404(request, batch_id)
        query = _validated(JobListQuerySerializer, request.query_params, request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            call_selectors.job_list(batch=batch, status=query.get("status")), request, view=self
        )
        return paginator.get_paginated_response(JobSerializer(page, many=True).data)


class BatchLogsView(BatchAPIView):
    operator_permissions = {"GET": [VIEW]}

    @extend_schema(
        operation_id="batches_logs",
        summary="Log of a campaign",
        description="Events newest first (created, paused, resumed, settings_changed, "
        'cancelled, completed, ...) with the user, or "system" for the engine.',
        parameters=[
            BATCH_ID,
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-1000, default 100."),
        ],
        responses={
            200: OpenApiResponse(
                BatchLogsSerializer,
                examples=[
                    OpenApiExample(
                        "Logs",
                        value={
                            "batch_id": "batch-2025-10-26-142744-439872",
                            "logs": [
                                {
                                    "id": 2,
                                    "kind": "paused",
                                    "message": "Campaign paused.",
                                    "user": "ana",
                                    "data": {"status": "paused"},
                                    "created_at": "2025-10-26T15:02:11Z",
                                },
                                {
                                    "id": 1,
                                    "kind": "created",
                                    "message": CREATED_MESSAGE,
                                    "user": "ana",
                                    "data": {"total_jobs": 42},
                                    "created_at": "2025-10-26T14:27:44Z",
                                },
                            ],
                        },
                    )
                ],
            ),
            **bad_request(
                OpenApiExample(
                    "Bad limit",
                    value={"limit": ["Ensure this value is less than or equal to 1000."]},
                )
            ),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def get(self, request, batch_id):
        batch = _batch_or_404(request, batch_id)
        query = _validated(LogsQuerySerializer, request.query_params, request)
        events = selectors.batch_events(batch=batch, limit=query["limit"])
        logs = {"batch_id": batch.batch_id, "logs": events}
        return Response(BatchLogsSerializer(logs, context={"request": request}).data)
