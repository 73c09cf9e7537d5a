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
