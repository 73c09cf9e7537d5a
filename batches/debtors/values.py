"""Amounts, dates, email addresses and instalments of a debtor.

Memoised where client files repeat values; a memoised parser returns ``Invalid`` for a bad
value (exceptions are not memoised) and ``checked`` raises it as a ``FieldError``.
"""

from __future__ import annotations

import datetime
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from batches.debtors.text import CACHE_SIZE, FieldError, Invalid, checked, sanitize_text

MSG_AMOUNT_INVALID = _("Invalid amount")
MSG_AMOUNT_NEGATIVE = _("Amount cannot be negative")
MSG_AMOUNT_TOO_LARGE = _("Amount is too large")
MSG_DATE_FORMAT = _("Unrecognised date (use dd/mm/yyyy)")
MSG_DATE_IMPOSSIBLE = _("Invalid date: that day does not exist")
MSG_EMAIL_INVALID = _("Invalid email address")
MSG_INSTALLMENTS_INVALID = _("Installments must be a whole number, zero or more")

# --- amounts ------------------------------------------------------------------------------

_CENTS = Decimal("0.01")
_MAX_AMOUNT = Decimal("1000000000000")  # fits DecimalField(max_digits=14, decimal_places=2)
_AMOUNT_STRIP = str.maketrans("", "", "$ \u00a0\t")
_THOUSANDS_DOT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+", re.ASCII)
_THOUSANDS_COMMA = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+", re.ASCII)
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


def _amount_text_to_decimal_text(text: str) -> str:
    text = text.translate(_AMOUNT_STRIP)
    if text[:3].upper() == "CLP":
        text = text[3:]
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    has_dot, has_comma = "." in digits, "," in digits
    if has_dot and has_comma:  # the right-most separator is the decimal one
        if digits.rfind(",") > digits.rfind("."):
            digits = digits.replace(".", "").replace(",", ".")
        else:
            digits = digits.replace(",", "")
    elif has_dot and _THOUSANDS_DOT.fullmatch(digits):  # 150.000 (Chilean thousands)
        digits = digits.replace(".", "")
    elif has_comma:  # 150,000 grouping or 150,5 decimal comma
        digits = digits.replace(",", "" if _THOUSANDS_COMMA.fullmatch(digits) else ".")
    return ("-" if negative else "") + digits


_AMOUNT_INVALID = Invalid(MSG_AMOUNT_INVALID)


@lru_cache(maxsize=CACHE_SIZE)
def _parse_amount_cached(value) -> Decimal | Invalid:
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return _AMOUNT_INVALID
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = _amount_text_to_decimal_text(value.strip())
        if not _PLAIN_NUMBER.fullmatch(text):
            return _AMOUNT_INVALID
        number = Decimal(text)
    else:
        return _AMOUNT_INVALID
    if not number.is_finite():
        return _AMOUNT_INVALID
    if number < 0:
        return Invalid(MSG_AMOUNT_NEGATIVE)
    if number >= _MAX_AMOUNT:
        return Invalid(MSG_AMOUNT_TOO_LARGE)
    return number.quantize(_CENTS, rounding=ROUND_HALF_UP)


def parse_amount(value) -> Decimal:
    """Debt amount, quantised to cents. Accepts numbers, ``"$150.000"``, ``"150000"``,
    ``"150000.0"``, ``"150.000,50"``. A single ``.`` or ``,`` followed by groups of exactly
    three digits is a thousands separator (``"1.500"`` and ``"1,500"`` are 1500)."""
    if value is None or value.__class__ is bool or isinstance(value, list | dict):
        raise FieldError(MSG_AMOUNT_INVALID)  # (a JSON list or object: not even hashable)
    return checked(_parse_amount_cached(value))


_PLAIN_PESOS = re.compile(r"\$? ?([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]{1,12})(?:[.,]0{1,2})?", re.ASCII)


def amount_to_text(value) -> str:
    """``str(parse_amount(value))`` with fast paths for whole numbers and plain peso text."""
    cls = value.__class__
    if cls is float and value.is_integer() and 0 <= value < 1e12:
        return f"{int(value)}.00"
    if cls is str and (match := _PLAIN_PESOS.fullmatch(value.strip())):
        pesos = int(match.group(1).replace(".", ""))
        if pesos < 10**12:
            return f"{pesos}.00"
    return str(parse_amount(value))


# --- dates --------------------------------------------------------------------------------

_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_FIRST_SERIAL = (datetime.date(1950, 1, 1) - _EXCEL_EPOCH).days
_LAST_SERIAL = (datetime.date(2100, 12, 31) - _EXCEL_EPOCH).days
_TIME_SUFFIX = r"(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
_DMY = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})" + _TIME_SUFFIX, re.A)
_YMD = re.compile(r"([0-9]{4})([/.-])([0-9]{1,2})\2([0-9]{1,2})" + _TIME_SUFFIX, re.ASCII)
_COMPACT = re.compile(r"(20[0-9]{2}|19[0-9]{2})([0-9]{2})([0-9]{2})", re.ASCII)


_DATE_FORMAT = Invalid(MSG_DATE_FORMAT)
_DATE_IMPOSSIBLE = Invalid(MSG_DATE_IMPOSSIBLE)


def _make_date(year: int, month: int, day: int) -> datetime.date | Invalid:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return _DATE_IMPOSSIBLE


@lru_cache(maxsize=CACHE_SIZE)
def _parse_date_cached(value) -> datetime.date | Invalid:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            value = math.floor(value) if math.isfinite(value) else 0
        serial = int(value)
        if _FIRST_SERIAL <= serial <= _LAST_SERIAL:
            return _EXCEL_EPOCH + datetime.timedelta(days=serial)
        value = str(serial)  # maybe yyyymmdd
    if not isinstance(value, str):
        return _DATE_FORMAT
    text = value.strip()
    if match := _DMY.fullmatch(text):
        day, _sep, month, year = match.groups()
        year = int(year) + (2000 if len(year) == 2 else 0)
        return _make_date(year, int(month), int(day))
    if match := _YMD.fullmatch(text):
        year, _sep, month, day = match.groups()
        return _make_date(int(year), int(month), int(day))
    if match := _COMPACT.fullmatch(text):
        year, month, day = match.groups()
        return _make_date(int(year), int(month), int(day))
    return _DATE_FORMAT


def parse_date(value) -> datetime.date:
    """A date from a calamine cell (date/datetime/Excel serial) or text: ``dd/mm/yyyy``,
    ``dd-mm-yyyy``, ``dd.mm.yyyy``, ``dd/mm/yy``, ``yyyy-mm-dd``, ``yyyymmdd``."""
    if value is None or value.__class__ is bool or isinstance(value, list | dict):
        raise FieldError(MSG_DATE_FORMAT)
    return checked(_parse_date_cached(value))


# --- email, installments ------------------------------------------------------------------

# A strict ASCII subset of what Django's validate_email accepts: a match needs no other check.
_SIMPLE_EMAIL = re.compile(
    r"[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    re.ASCII,
)


def _accepted_by_django(email: str) -> bool:
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


@lru_cache(maxsize=4096)
def _normalize_email_slow(email: str) -> str | Invalid:
    local, _at, domain = email.rpartition("@")
    if _accepted_by_django(email):
        return email
    # Internationalised local parts (RFC 6531, e.g. "josé@correo.cl") are real addresses.
    ascii_local = "".join(c if c.isascii() or not c.isalnum() else "a" for c in local)
    if ascii_local != local and _accepted_by_django(f"{ascii_local}@{domain}"):
        return unicodedata.normalize("NFC", email)
    return Invalid(MSG_EMAIL_INVALID)


def normalize_email(value) -> str | None:
    """Validated email with a lower-cased domain; blank → None; invalid → FieldError."""
    text = sanitize_text(value)
    if not text:
        return None
    local, _at, domain = text.rpartition("@")
    email = f"{local}@{domain.lower()}" if local else text
    if len(email) <= 254 and _SIMPLE_EMAIL.fullmatch(email):
        return email
    return checked(_normalize_email_slow(email))


def parse_installments(value) -> int | None:
    """Number of instalments (cuotas): a whole number ≥ 0; blank → None."""
    cls = value.__class__
    if cls is float:
        if not value.is_integer() or value < 0:
            raise FieldError(MSG_INSTALLMENTS_INVALID)
        return int(value)
    if cls is int:
        if value < 0:
            raise FieldError(MSG_INSTALLMENTS_INVALID)
        return value
    text = sanitize_text(value)
    if not text:
        return None
    if text.endswith(".0"):
        text = text[:-2]
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise FieldError(MSG_INSTALLMENTS_INVALID)
    return int(text)
