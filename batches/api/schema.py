"""OpenAPI parameters, responses and examples shared by the batches API views."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

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
# What an endpoint on one campaign may refuse with.
CAMPAIGN_REFUSALS = {401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND}
PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT),
    OpenApiParameter("page_size", OpenApiTypes.INT),
]


def status_parameter(statuses) -> OpenApiParameter:
    """The ``status`` filter of a list, one of ``statuses`` (TextChoices)."""
    return OpenApiParameter("status", OpenApiTypes.STR, enum=list(statuses.values))


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
IMPORT_COUNTS_EXAMPLE = {
    "total_jobs": 42,
    "total_rows": 46,
    "invalid_rows": 3,
    "duplicates_merged": 1,
    "skipped_existing": 0,
    "estimated_cost": "11970.0000",
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
    **IMPORT_COUNTS_EXAMPLE,
    "created_by": "ana",
    "created_at": "2025-10-26T14:27:44.439872Z",
    "updated_at": "2025-10-26T14:27:44.439872Z",
    "completed_at": None,
}
CREATED_EXAMPLE = {
    "success": True,
    "batch_id": "batch-2025-10-26-142744-439872",
    "status": "running",
    **IMPORT_COUNTS_EXAMPLE,
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
