"""Text of any cell or JSON value, and how a single bad value is reported.

Pure functions: no database, no settings at import time. User-facing messages are lazy
translations with English source text; they are only rendered (``str()``) by the caller.
"""

from __future__ import annotations

import datetime
import re


class FieldError(ValueError):
    """A single value is not acceptable; ``message`` is a lazy, translatable string."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Invalid:
    """What a memoised parser returns for a bad value (exceptions are not memoised)."""

    __slots__ = ("message",)

    def __init__(self, message):
        self.message = message


def checked(result):
    if result.__class__ is Invalid:
        raise FieldError(result.message)
    return result


# Memo size of the hot parsers: client files repeat values (amounts, dates, text phones).
CACHE_SIZE = 1 << 16
# Control characters (NUL breaks PostgreSQL) and lone surrogates (a JSON string may hold
# them, UTF-8 cannot).
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def sanitize_text(value) -> str:
    """Any cell or JSON value as trimmed text; control characters and lone surrogates removed.

    Whole floats lose their ``.0``, dates become ISO. Text that looks like a formula is kept
    verbatim: it is data, never evaluated (exporters must check ``is_formula_like``).
    """
    if value is None:
        return ""
    cls = value.__class__
    if cls is str:
        text = value
    elif cls is float:
        text = str(int(value)) if value.is_integer() else repr(value)
    elif cls is bool:
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, datetime.datetime):
        text = value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    elif isinstance(value, datetime.date | datetime.time):
        text = value.isoformat()
    else:
        text = str(value)
    text = text.strip()
    if not text.isprintable():  # fast C check; the regex only runs on unusual text
        text = _UNSTORABLE.sub("", text)
    return text


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet would treat the text as a formula (OWASP CSV injection set)."""
    return bool(text) and text.startswith(_FORMULA_PREFIXES)

