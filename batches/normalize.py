"""Field normalisers for debtor data (Chile), shared by the Excel reader and the API serializers.

Pure functions: no database, no settings at import time. User-facing messages are lazy
translations with English source text; they are only rendered (``str()``) by the caller.
Hot paths (phones, amounts, dates, emails) are memoised because client files repeat values.
"""

from __future__ import annotations

import datetime
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


class FieldError(ValueError):
    """A single value is not acceptable; ``message`` is a lazy, translatable string."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class _Invalid:
    """What a memoised parser returns for a bad value (exceptions are not memoised)."""

    __slots__ = ("message",)

    def __init__(self, message):
        self.message = message


def _checked(result):
    if result.__class__ is _Invalid:
        raise FieldError(result.message)
    return result


MSG_RUT_REQUIRED = _("RUT is required")
MSG_RUT_FORMAT = _("Invalid RUT format")
MSG_RUT_CHECK_DIGIT = _("Invalid RUT check digit")
MSG_PHONE_INVALID = _("Invalid phone number")
MSG_AMOUNT_INVALID = _("Invalid amount")
MSG_AMOUNT_NEGATIVE = _("Amount cannot be negative")
MSG_AMOUNT_TOO_LARGE = _("Amount is too large")
MSG_DATE_FORMAT = _("Unrecognised date (use dd/mm/yyyy)")
MSG_DATE_IMPOSSIBLE = _("Invalid date: that day does not exist")
MSG_EMAIL_INVALID = _("Invalid email address")
MSG_INSTALLMENTS_INVALID = _("Installments must be a whole number, zero or more")

_CACHE_SIZE = 1 << 16

# Custom fields reach the agent as Retell dynamic variables (short strings) on every call.
MAX_CUSTOM_FIELDS = 50
MAX_CUSTOM_KEY = 64
MAX_CUSTOM_VALUE = 500
MSG_TOO_MANY_CUSTOM = format_lazy(_("At most {max} custom fields"), max=MAX_CUSTOM_FIELDS)
MSG_CUSTOM_KEY_TOO_LONG = format_lazy(
    _("A custom field name has at most {max} characters"), max=MAX_CUSTOM_KEY
)
MSG_CUSTOM_VALUE_TOO_LONG = format_lazy(_("At most {max} characters"), max=MAX_CUSTOM_VALUE)

# --- text ---------------------------------------------------------------------------------

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def sanitize_text(value) -> str:
    """Any cell value as trimmed text; control characters (NUL breaks PostgreSQL) removed.

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
        text = _CONTROL_CHARS.sub("", text)
    return text


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet would treat the text as a formula (OWASP CSV injection set)."""
    return bool(text) and text.startswith(_FORMULA_PREFIXES)


# --- RUT ----------------------------------------------------------------------------------

_RUT_RE = re.compile(
    r"0*([1-9][0-9]{0,2}(?:\.[0-9]{3}){1,2}|[1-9][0-9]{0,7})\s*[-\u2010-\u2015]?\s*([0-9kK])",
    re.ASCII,
)


def _weighted_digit_sums(weights: tuple[int, ...]) -> list[int]:
    """For n in 0..9999: sum of n's digits, right to left, times ``weights``."""
    table = []
    for n in range(10_000):
        total, rest = 0, n
        for weight in weights:
            total += rest % 10 * weight
            rest //= 10
        table.append(total)
    return table


# Modulo-11 weights run 2, 3, 4, 5, 6, 7, 2, 3 from the right; bodies have at most 8 digits.
_RUT_LOW = _weighted_digit_sums((2, 3, 4, 5))
_RUT_HIGH = _weighted_digit_sums((6, 7, 2, 3))
_RUT_CHECK = ("0", "K", "9", "8", "7", "6", "5", "4", "3", "2", "1")  # indexed by total % 11
_RUT_CHECK_CHARS = frozenset("0123456789K")


def rut_check_digit(body: str) -> str:
    """Modulo-11 check digit ("0"-"9" or "K") for the digits of a RUT body (≤ 8 digits)."""
    number = int(body)
    return _RUT_CHECK[(_RUT_LOW[number % 10_000] + _RUT_HIGH[number // 10_000]) % 11]


def normalize_rut(value) -> str:
    """Canonical ``"12345678-5"`` from ``12.345.678-5``, ``12345678-5``, ``123456785``, ints."""
    cls = value.__class__
    if cls is str:
        text = value.strip()
    elif cls is int:
        text = str(value)
    elif cls is float and value.is_integer():
        text = str(int(value))
    elif value is None:
        text = ""
    else:
        raise FieldError(MSG_RUT_FORMAT)
    if not text:
        raise FieldError(MSG_RUT_REQUIRED)
    body, check = (text[:-2], text[-1]) if text[-2:-1] == "-" else (text[:-1], text[-1])
    check = check.upper()
    # "12345678-5", "123456785", "3788989-k" need no regex; dots and odd spacing do.
    if not (
        0 < len(body) <= 8
        and body.isdigit()
        and body.isascii()
        and body[0] != "0"
        and check in _RUT_CHECK_CHARS
    ):
        match = _RUT_RE.fullmatch(text)
        if match is None:
            raise FieldError(MSG_RUT_FORMAT)
        body, check = match.group(1).replace(".", ""), match.group(2).upper()
    if rut_check_digit(body) != check:
        raise FieldError(MSG_RUT_CHECK_DIGIT)
    return f"{body}-{check}"


# --- phones -------------------------------------------------------------------------------

_PHONE_SPLIT = re.compile(r"[;,/|\n\r]+")
_MAX_PHONE_CHARS = 64


def _build_cl_validator():
    """Compile Chile's libphonenumber metadata into one regex per national number length.

    Mirrors ``phonenumbers.is_valid_number`` for country code 56: the national number must
    match the general description and at least one number type, each with its own possible
    lengths. Built from the installed metadata, so it follows library updates.
    """
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CL")
    general = metadata.general_desc
    types = [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
        metadata.mobile,
    ]
    by_length = {}
    for length in general.possible_length:
        alternatives = [
            desc.national_number_pattern
            for desc in types
            if desc is not None
            and desc.national_number_pattern
            and (not desc.possible_length or length in desc.possible_length)
        ]
        if alternatives:
            types_pattern = "|".join(f"(?:{a})" for a in alternatives)
            pattern = f"(?=(?:{general.national_number_pattern})$)(?:{types_pattern})"
            by_length[length] = re.compile(pattern, re.ASCII)
    return by_length


_CL_VALID_BY_LENGTH = _build_cl_validator()
_CL_VALID_9 = _CL_VALID_BY_LENGTH[9]

# The common Chilean shapes with separators: "+56 9 6234 5678", "9 6234 5678", "(2) 2345 6789",
# "9-6234-5678". Plain digits ("962345678", "56962345678", "+56962345678") skip the regex.
_FAST_PHONE = re.compile(r"(?:\+?56 ?)?\(?([2-9])\)?[ .-]?([0-9]{4})[ .-]?([0-9]{4})", re.ASCII)


def _national_digits(text: str) -> str | None:
    """The 9-digit national number of the plain-digit shapes, without a regex; else None."""
    if text.isdigit():
        size = len(text)
        if size == 9:
            nsn = text
        elif size == 11 and text.startswith("56"):
            nsn = text[2:]
        else:
            return None
    elif text.startswith("+56") and len(text) == 12 and text[3:].isdigit():
        nsn = text[3:]
    else:
        return None
    return nsn if nsn.isascii() and nsn[0] not in "01" else None


def _phone_fast(raw: str) -> str | None | bool:
    """E.164 for the common Chilean shapes, None when such a shape is not a valid number,
    False when the shape is not handled here (the caller asks phonenumbers)."""
    nsn = _national_digits(raw)
    if nsn is None:
        match = _FAST_PHONE.fullmatch(raw)
        if match is None:
            return False
        nsn = match[1] + match[2] + match[3]
    return "+56" + nsn if _CL_VALID_9.fullmatch(nsn) is not None else None


@lru_cache(maxsize=4096)
def phone_to_e164_slow(raw: str) -> str | None:
    """The reference: phonenumbers parse (region CL) + ``is_valid_number``. Memoised: what
    reaches it (junk, foreign numbers) tends to repeat, and it costs ~40 µs."""
    try:
        number = phonenumbers.parse(raw, "CL")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_to_e164(raw: str) -> str | None:
    """One phone number as E.164, or None if it is not a valid number."""
    if len(raw) > _MAX_PHONE_CHARS:
        return None
    fast = _phone_fast(raw)
    if fast is not False:
        return fast
    return phone_to_e164_slow(raw)


def phones_from_cell(value) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Core of ``normalize_phones``: (valid E.164 numbers, invalid raw parts) as tuples.

    Not memoised on the fast path: phone numbers in a file are nearly all distinct, and a
    cache miss costs more than the check itself."""
    cls = value.__class__
    if cls is str:
        text = value.strip()
    elif cls is float:
        if not math.isfinite(value) or not value.is_integer():
            return (), (repr(value),)
        text = str(int(value))
    elif cls is int:
        text = str(value)
    else:
        text = sanitize_text(value)
    if not text:
        return (), ()
    nsn = _national_digits(text)  # the usual cell: one number written as plain digits
    if nsn is not None:
        if _CL_VALID_9.fullmatch(nsn) is not None:
            return ("+56" + nsn,), ()
        return (), (text,)
    return _phones_from_text(text)


@lru_cache(maxsize=_CACHE_SIZE)
def _phones_from_text(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    text = sanitize_text(text)
    if ";" in text or "," in text or "/" in text or "|" in text or "\n" in text:
        parts = [p.strip() for p in _PHONE_SPLIT.split(text)]
    else:
        parts = [text]
    valid: list[str] = []
    invalid: list[str] = []
    for part in parts:
        if not part:
            continue
        e164 = phone_to_e164(part)
        if e164 is None:
            invalid.append(part)
        elif e164 not in valid:
            valid.append(e164)
    return tuple(valid), tuple(invalid)


def normalize_phones(value) -> tuple[list[str], list[str]]:
    """Split a cell holding one or more numbers (``;`` ``,`` ``/`` newline) into
    (valid E.164 numbers without duplicates, invalid raw parts). Blank → ([], [])."""
    if value is None:
        return [], []
    if value.__class__ is bool:
        return [], [str(value)]
    valid, invalid = phones_from_cell(value)
    return list(valid), list(invalid)


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


_AMOUNT_INVALID = _Invalid(MSG_AMOUNT_INVALID)


@lru_cache(maxsize=_CACHE_SIZE)
def _parse_amount_cached(value) -> Decimal | _Invalid:
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
        return _Invalid(MSG_AMOUNT_NEGATIVE)
    if number >= _MAX_AMOUNT:
        return _Invalid(MSG_AMOUNT_TOO_LARGE)
    return number.quantize(_CENTS, rounding=ROUND_HALF_UP)


def parse_amount(value) -> Decimal:
    """Debt amount, quantised to cents. Accepts numbers, ``"$150.000"``, ``"150000"``,
    ``"150000.0"``, ``"150.000,50"``. A single ``.`` or ``,`` followed by groups of exactly
    three digits is a thousands separator (``"1.500"`` and ``"1,500"`` are 1500)."""
    if value is None or value.__class__ is bool or isinstance(value, list | dict):
        raise FieldError(MSG_AMOUNT_INVALID)  # (a JSON list or object: not even hashable)
    return _checked(_parse_amount_cached(value))


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


_DATE_FORMAT = _Invalid(MSG_DATE_FORMAT)
_DATE_IMPOSSIBLE = _Invalid(MSG_DATE_IMPOSSIBLE)


def _make_date(year: int, month: int, day: int) -> datetime.date | _Invalid:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return _DATE_IMPOSSIBLE


@lru_cache(maxsize=_CACHE_SIZE)
def _parse_date_cached(value) -> datetime.date | _Invalid:
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
    return _checked(_parse_date_cached(value))


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
def _normalize_email_slow(email: str) -> str | _Invalid:
    local, _at, domain = email.rpartition("@")
    if _accepted_by_django(email):
        return email
    # Internationalised local parts (RFC 6531, e.g. "josé@correo.cl") are real addresses.
    ascii_local = "".join(c if c.isascii() or not c.isalnum() else "a" for c in local)
    if ascii_local != local and _accepted_by_django(f"{ascii_local}@{domain}"):
        return unicodedata.normalize("NFC", email)
    return _Invalid(MSG_EMAIL_INVALID)


def normalize_email(value) -> str | None:
    """Validated email with a lower-cased domain; blank → None; invalid → FieldError."""
    text = sanitize_text(value)
    if not text:
        return None
    local, _at, domain = text.rpartition("@")
    email = f"{local}@{domain.lower()}" if local else text
    if len(email) <= 254 and _SIMPLE_EMAIL.fullmatch(email):
        return email
    return _checked(_normalize_email_slow(email))


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
