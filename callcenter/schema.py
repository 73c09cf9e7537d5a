"""OpenAPI schema post-processing (drf-spectacular)."""

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
