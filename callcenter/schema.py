"""OpenAPI schema post-processing (drf-spectacular)."""

from rest_framework.views import APIView

INVALID_PAGE = {
    "description": "Invalid page: `page` below 1 or beyond the last page.",
    "content": {"application/json": {"schema": {
        "type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"],
    }}},
}


def document_invalid_page(result, generator, request, public):
    """Paginated lists answer 404 {"detail": "Invalid page."} for a page out of range (DRF's
    PageNumberPagination): say so in every operation that takes ``page``."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            takes_page = any(p.get("name") == "page" and p.get("in") == "query"
                             for p in operation.get("parameters", ()))
            if takes_page:
                operation.setdefault("responses", {}).setdefault("404", INVALID_PAGE)
    return result


THROTTLED = {
    "description": "Throttled: too many requests (API_THROTTLE_* rates); retry after the "
    "seconds in Retry-After.",
    "headers": {"Retry-After": {"schema": {"type": "integer"},
                                "description": "Seconds to wait."}},
    "content": {"application/json": {"schema": {
        "type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"],
    }, "example": {"detail": "Request was throttled. Expected available in 42 seconds."}}},
}


def document_throttling(result, generator, request, public):
    """Every operation DRF dispatches may answer 429 (its throttles, callcenter.throttles): say
    so. Not the Retell webhook, whose view skips DRF's dispatch (and must never be throttled)."""
    throttled = {
        (path, method.lower())
        for path, _regex, method, view in generator.endpoints
        if view.cls.dispatch is APIView.dispatch
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if (path, method) in throttled:
                operation.setdefault("responses", {}).setdefault("429", THROTTLED)
    return result


ERROR = {
    "type": "object",
    "description": "An error that names no field.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "Validation failed: each wrong field names its messages (dotted or nested "
    "names: call_settings.max_attempts, contacts[3].rut, features.max_concurrent_calls); "
    "non_field_errors for the body as a whole, errors for the Excel rows refused.",
    "properties": {
        "success": {"type": "boolean", "description": "false (the Excel endpoints)."},
        "detail": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "row": {"type": "integer", "nullable": True},
            "field": {"type": "string"},
            "column": {"type": "string"},
            "value": {"type": "string"},
            "message": {"type": "string"},
            "level": {"type": "string"},
        }}},
    },
    "additionalProperties": {"oneOf": [
        {"type": "array", "items": {"type": "string"}},
        {"$ref": "#/components/schemas/ValidationError"},
    ]},
}


def _bare(schema: dict) -> bool:
    return (
        schema.get("type") == "object"
        and not schema.get("properties")
        and schema.get("additionalProperties") in (None, {}, True)
    )


def type_error_bodies(result, generator, request, public):
    """Every error answer documented as a bare object gets the API's error body: 400 the
    ValidationError component (fields named), the others Error ({"detail": ...})."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for code, response in operation.get("responses", {}).items():
                if not str(code).isdigit() or int(code) < 400:
                    continue
                for media in response.get("content", {}).values():
                    if _bare(media.get("schema", {})):
                        name = "ValidationError" if int(code) == 400 else "Error"
                        media["schema"] = {"$ref": f"#/components/schemas/{name}"}
    return result
