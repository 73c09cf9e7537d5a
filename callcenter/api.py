"""Shared API pieces: the JSON error format (dotted field names), money as exact JSON numbers,
and the bounded JSON parser."""

import decimal
import io
import re

from django.conf import settings
from django.core.paginator import Paginator as DjangoPaginator
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import renderers, serializers, status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import exception_handler as drf_exception_handler

# Objects and lists a body may hold per debtor (the debtor, its phones, its custom fields),
# and for the rest of the body: a bound on memory, ~64 bytes each where a character costs one.
CONTAINERS_PER_CONTACT = 3
CONTAINERS_OTHER = 1_000


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as {"contacts[3].rut": [...], "settings.timezone": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            key = str(key)
            if not key:
                name = prefix or "non_field_errors"
            elif key.isdigit():
                name = f"{prefix}[{key}]"
            elif key.startswith("["):
                name = f"{prefix}{key}"
            elif prefix and key != "non_field_errors":
                name = f"{prefix}.{key}"
            else:
                name = prefix or key
            flat.update(flatten_errors(value, name))
    elif (
        isinstance(errors, list) and errors and all(not isinstance(e, dict | list) for e in errors)
    ):
        flat.setdefault(prefix or "non_field_errors", []).extend(str(e) for e in errors)
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            if value:
                flat.update(flatten_errors(value, f"{prefix}[{index}]"))
    else:
        flat.setdefault(prefix or "non_field_errors", []).append(str(errors))
    return flat


def exception_handler(exc, context):
    """DRF's handler, with one error body for the whole API: an object whose keys are the
    dotted names of the wrong fields (``settings.timezone``, ``contacts[3].rut``), each a list
    of messages; ``detail`` for an error that names no field."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, ValidationError):
        response.data = flatten_errors(data)
    elif isinstance(data, list):
        response.data = {"detail": data}
    return response


class Pagination(PageNumberPagination):
    """Every list: ``page`` and ``page_size`` (50 unless asked, at most 500)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class CountedPaginator(DjangoPaginator):
    """Django's paginator for a large ordered queryset whose size is known already (from
    counters): no COUNT(*) over the rows, and a page read by its primary keys first (an
    index-only range, however deep the page), then its rows (with their prefetches)."""

    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:bottom + self.per_page])
        return self._get_page(list(self.object_list.filter(pk__in=keys)), number, self)


# --- Money: JSON numbers with their exact decimal value ----------------------------------------

MONEY_PRECISION = "JSON number, exact to 4 decimal places (up to 12 integer digits)."


@extend_schema_field({"type": "number", "format": "decimal", "description": MONEY_PRECISION})
class MoneyField(serializers.DecimalField):
    """Money and minutes: a JSON number (never a string) written with the decimal's own digits
    by ``JSONRenderer``, so 1765.5 and 0.0001 reach the client exactly."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 16)
        kwargs.setdefault("decimal_places", 4)
        super().__init__(coerce_to_string=False, **kwargs)


# A Decimal leaves the C encoder as a marker string, then its text replaces the quoted marker.
# The NUL it starts with is escaped by the encoder and cannot occur in stored text (PostgreSQL).
_DECIMAL_MARK = "\x00decimal:"
_DECIMAL_MARKED = re.compile(r'"\\u0000decimal:(-?[0-9.]+)"')


class DecimalTextEncoder(JSONEncoder):
    def default(self, obj):
        if isinstance(obj, decimal.Decimal) and obj.is_finite():
            return f"{_DECIMAL_MARK}{obj:f}"
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON, with a Decimal as a number of its exact digits (DRF's encoder goes through
    float, which loses digits past 15 significant ones)."""

    encoder_class = DecimalTextEncoder

    def render(self, data, accepted_media_type=None, renderer_context=None):
        body = super().render(data, accepted_media_type, renderer_context)
        if b"u0000decimal:" not in body:
            return body
        return _DECIMAL_MARKED.sub(r"\1", body.decode()).encode()


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
