"""Chilean RUTs: canonical form and modulo-11 check digit."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from batches.debtors.text import FieldError

MSG_RUT_REQUIRED = _("RUT is required")
MSG_RUT_FORMAT = _("Invalid RUT format")
MSG_RUT_CHECK_DIGIT = _("Invalid RUT check digit")
MSG_RUT_CHECK_DIGIT_KEPT = _("Wrong RUT check digit (dígito verificador): kept as written")

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
    """Canonical ``"12345678-5"`` from ``12.345.678-5``, ``12345678-5``, ``123456785``, ints;
    a wrong check digit is a FieldError (MSG_RUT_CHECK_DIGIT)."""
    rut, check_ok = parse_rut(value)
    if not check_ok:
        raise FieldError(MSG_RUT_CHECK_DIGIT)
    return rut


def parse_rut(value) -> tuple[str, bool]:
    """(canonical ``"12345678-9"``, whether its check digit is right): a RUT written with a
    wrong check digit still identifies its debtor. FieldError when it is not a RUT at all."""
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
        if len(body) > 8:  # "389.000.190-3": three groups of dots, nine digits
            raise FieldError(MSG_RUT_FORMAT)
    return f"{body}-{check}", rut_check_digit(body) == check

