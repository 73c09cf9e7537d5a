"""Chilean phone numbers to E.164: a compiled fast path, phonenumbers for the rest."""

from __future__ import annotations

import math
import re
from functools import lru_cache

import phonenumbers
from django.utils.translation import gettext_lazy as _

from batches.debtors.text import CACHE_SIZE, sanitize_text

MSG_PHONE_INVALID = _("Invalid phone number")
MSG_PHONE_NOT_VALID = _(
    "Phone number not known to be valid (possible for its country): kept, dialled after the "
    "valid ones"
)
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
    reaches it (junk, foreign numbers) tends to repeat, and a full parse is slow."""
    try:
        number = phonenumbers.parse(raw, "CL")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def phone_possible_e164(raw: str) -> str | None:
    """E.164 of a number that is *possible* for its country (its length fits) though not in
    the metadata's valid blocks (``phone_to_e164`` refused it); None when it is impossible.
    The metadata lags real assignments ("+56 9 1234 5678"), so such a number is kept."""
    if len(raw) > _MAX_PHONE_CHARS:
        return None
    try:
        number = phonenumbers.parse(raw, "CL")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
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


@lru_cache(maxsize=CACHE_SIZE)
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

