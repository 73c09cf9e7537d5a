"""Shared API pieces: the JSON error format and the bounded JSON parser."""

import io

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.views import exception_handler as drf_exception_handler

# Objects and lists a body may hold per debtor (the debtor, its phones, its custom fields),
# and for the rest of the body: a bound on memory, ~64 bytes each where a character costs one.
CONTAINERS_PER_CONTACT = 3
CONTAINERS_OTHER = 1_000


def exception_handler(exc, context):
    """DRF's handler, with every error body an object that names the fields that are wrong."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, list):
        response.data = {"detail": data}
    return response


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser reads the whole body, whatever its size (DATA_UPLOAD_MAX_MEMORY_SIZE
    guards only Django's own parsing of forms and ``request.body``). This one reads at most
    API_MAX_JSON_BYTES (413 beyond), refuses a body of more objects and lists than the
    largest campaign needs (``[{},{},...]`` costs ~24 bytes of memory per byte), and answers
    400 for a body nested too deeply for the decoder instead of a RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        too_large = RequestTooLarge(
            _("The request body is larger than the %(limit)s MB limit.")
            % {"limit": round(limit / 1048576, 1)}
        )
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_large
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise too_large
        containers = CONTAINERS_PER_CONTACT * settings.EXCEL_MAX_ROWS + CONTAINERS_OTHER
        if raw.count(b"{") + raw.count(b"[") > containers:
            raise ParseError(
                _("JSON parse error - more than %(max)s objects and lists.") % {"max": containers}
            )
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - nested too deeply.")) from None
