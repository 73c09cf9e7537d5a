"""OpenAPI parameters, responses and examples shared by the batches API views."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from batches.call_settings import INT_LIMITS, MAX_RETRY_DELAY, CallSettings
from batches.services.options import VOICE_DEFAULTS, VOICE_LIMITS, VOICE_TEXT_FIELDS

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
    "estimated_cost": 11970.0,
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


# --- Typed settings objects (a postprocessing hook: the fields stay JSON on the serializers) ---


def _call_settings_component() -> dict:
    hhmm = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "09:00"}
    ints = {
        name: {"type": "integer", "minimum": low, "maximum": high,
               "default": getattr(CallSettings, name)}
        for name, (low, high) in INT_LIMITS.items()
    }
    return {
        "type": "object",
        "description": "A campaign's call settings; omitted fields take their defaults (the "
        "account's time zone), and they can only narrow the account's compliance profile. "
        "GET /options lists the ranges.",
        "properties": {
            **ints,
            "retry_delay_hours": {
                "description": "Hours between two calls of a debtor (up to 4 decimals), a "
                "number or a decimal string; answered as a number.",
                "oneOf": [{"type": "string", "pattern": r"^\d+(\.\d{1,4})?$"},
                          {"type": "number", "minimum": 0, "maximum": float(MAX_RETRY_DELAY)}],
                "default": CallSettings.retry_delay_hours,
            },
            "allowed_hours": {
                "type": "object", "nullable": True, "description": "Local [start, end); null: "
                "any time the compliance profile allows.",
                "properties": {"start": hhmm, "end": hhmm}, "required": ["start", "end"],
                "additionalProperties": False,
            },
            "days_of_week": {
                "type": "array", "nullable": True, "minItems": 1, "maxItems": 7,
                "items": {"type": "integer", "minimum": 1, "maximum": 7},
                "description": "ISO weekdays (1 Monday ... 7 Sunday); null: every day.",
            },
            "timezone": {"type": "string", "description": "IANA name; default: the account's "
                         "(GET /options: the zones of each compliance profile)."},
            "priority": {
                "description": "low, normal or high; the number form 0 (low), 1 (normal), 2 (high) "
                "means the same and is stored as its name. The campaign's top-level priority "
                "is the same setting: when both are sent, the top-level one wins.",
                "oneOf": [{"type": "string", "enum": ["low", "normal", "high"]},
                          {"type": "integer", "enum": [0, 1, 2]}],
                "default": CallSettings.priority,
            },
        },
        "additionalProperties": False,
    }


def _voice_settings_component() -> dict:
    numbers = {
        name: {"type": "number", "minimum": low, "maximum": high,
               "default": VOICE_DEFAULTS[name]}
        for name, (low, high) in VOICE_LIMITS.items()
    }
    numbers["pitch"]["description"] = "Accepted for compatibility; Retell has no pitch control."
    texts = {
        name: {"type": "string", "maxLength": 100,
               **({"default": VOICE_DEFAULTS[name]} if name in VOICE_DEFAULTS else {})}
        for name in VOICE_TEXT_FIELDS
    }
    texts["agent_id"]["description"] = "Operators only; default: the account's Retell agent."
    return {"type": "object", "description": "The voice of the campaign's calls.",
            "properties": {**numbers, **texts}, "additionalProperties": False}


RECURRING_CONFIG = {
    "type": "object",
    "description": "Run the campaign again at each occurrence.",
    "properties": {
        "frequency": {"type": "string", "enum": ["daily", "weekly", "monthly"]},
        "interval": {"type": "integer", "minimum": 1},
        "end_date": {"type": "string", "format": "date", "nullable": True},
        "max_runs": {"type": "integer", "minimum": 1, "nullable": True},
    },
    "required": ["frequency"],
}
# A campaign event's facts (BatchEvent.data): names to scalars, lists, or facts again (a
# settings change nests {"from": ..., "to": ...}).
_FACT = {"nullable": True, "anyOf": [
    {"type": "string"}, {"type": "number"}, {"type": "boolean"},
    {"$ref": "#/components/schemas/EventData"},
]}
EVENT_DATA = {"type": "object", "additionalProperties": {
    "nullable": True, "anyOf": [*_FACT["anyOf"], {"type": "array", "items": _FACT}]}}
RETELL_CALL = {
    "type": "object",
    "description": "Retell's call object; fields beyond these are kept in the attempt's raw.",
    "properties": {
        "call_id": {"type": "string"},
        "call_status": {"type": "string"},
        "disconnection_reason": {"type": "string"},
        "start_timestamp": {"type": "integer", "description": "ms since the epoch"},
        "end_timestamp": {"type": "integer", "description": "ms since the epoch"},
        "duration_ms": {"type": "integer"},
        "transcript": {"type": "string"},
        "recording_url": {"type": "string"},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["call_id"],
    "additionalProperties": True,
}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_TEXT = {"type": "string", "nullable": True}
# A job's debtor as the engine reads it (batches.ingest.job_rows).
JOB_CONTACT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "rut": {"type": "string"},
        "phones": {"type": "array", "items": {"type": "string"}, "description": "E.164"},
        "email": _TEXT,
        "next_phone_index": {"type": "integer"},
        "invalid_phones": {"type": "array", "items": {"type": "string"}},
        "timezone": {"type": "string"},
    },
}
JOB_PAYLOAD = {
    "type": "object",
    "properties": {
        "debt_amount": {"oneOf": [{"type": "string"}, {"type": "number"}], "nullable": True},
        "due_date": _TEXT,
        "company_name": _TEXT,
        "installments": {"type": "integer", "nullable": True},
        "fecha_limite": _TEXT,
        "fecha_maxima": _TEXT,
        "additional_info": {**STRING_MAP, "description": "The custom columns."},
    },
}
# Property name -> component (name, its schema); a property already typed is left alone (the
# multipart forms send these as JSON text).
TYPED_PROPERTIES = {
    "call_settings": "CallSettings",
    "voice_settings": "VoiceSettings",
    "recurring_config": "RecurringConfig",
    "call": "RetellCall",
    "data": "EventData",
    "contact": "JobContact",
    "payload": "JobPayload",
}
MAPS = ("custom_fields", "column_mapping")


def _untyped(schema: dict) -> bool:
    if any(key in schema for key in ("$ref", "oneOf", "anyOf", "allOf", "enum")):
        return False
    if schema.get("type") not in (None, "object"):
        return False
    return not schema.get("properties") and schema.get("additionalProperties") in (None, {}, True)


def type_settings_objects(result, generator, request, public):
    """Give the JSON settings objects of the batches API (and the webhook's call, an event's
    data) their components, so a typed client can be generated from the schema."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    components = {
        "CallSettings": _call_settings_component(),
        "VoiceSettings": _voice_settings_component(),
        "RecurringConfig": RECURRING_CONFIG,
        "RetellCall": RETELL_CALL,
        "EventData": EVENT_DATA,
        "JobContact": JOB_CONTACT,
        "JobPayload": JOB_PAYLOAD,
    }
    used = set()
    for schema in list(schemas.values()):
        for name, prop in (schema.get("properties") or {}).items():
            if not _untyped(prop):
                continue
            if name in TYPED_PROPERTIES:
                keep = {k: prop[k] for k in ("description", "readOnly", "nullable") if k in prop}
                component = TYPED_PROPERTIES[name]
                prop.clear()
                prop.update({"allOf": [{"$ref": f"#/components/schemas/{component}"}], **keep})
                used.add(component)
            elif name in MAPS:
                prop.update(STRING_MAP)
    for name in sorted(used):
        schemas.setdefault(name, components[name])
    return result
