"""batches.debtors.rut: every written form of a RUT, the modulo-11 check digit."""

import random

import pytest

from batches.debtors.rut import (
    MSG_RUT_CHECK_DIGIT,
    MSG_RUT_FORMAT,
    MSG_RUT_REQUIRED,
    normalize_rut,
    rut_check_digit,
)
from batches.debtors.text import FieldError


def _reference_check_digit(body: str) -> str:
    total, factor = 0, 2
    for digit in reversed(body):
        total += int(digit) * factor
        factor = 2 if factor == 7 else factor + 1
    rest = 11 - total % 11
    return "0" if rest == 11 else "K" if rest == 10 else str(rest)


# --- RUT ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12.345.678-5", "12345678-5"),
        ("12345678-5", "12345678-5"),
        ("123456785", "12345678-5"),
        (" 12.345.678-5 ", "12345678-5"),
        ("12345678 - 5", "12345678-5"),
        ("012345678-5", "12345678-5"),
        ("3.788.989-k", "3788989-K"),
        ("6631779K", "6631779-K"),
        ("1-9", "1-9"),
        (123456785, "12345678-5"),
        (85193155.0, "8519315-5"),
    ],
)
def test_normalize_rut_accepts_every_form(raw, expected):
    assert normalize_rut(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12.345.678-4", MSG_RUT_CHECK_DIGIT),
        ("4897550-6", MSG_RUT_CHECK_DIGIT),
        ("", MSG_RUT_REQUIRED),
        ("   ", MSG_RUT_REQUIRED),
        (None, MSG_RUT_REQUIRED),
        ("abc", MSG_RUT_FORMAT),
        ("12345678-X", MSG_RUT_FORMAT),
        ("123456789-0", MSG_RUT_FORMAT),
        ("389.000.190-3", MSG_RUT_FORMAT),  # nine digits written with dots
        ("1.2.3-4", MSG_RUT_FORMAT),
        (True, MSG_RUT_FORMAT),
        (1234.5, MSG_RUT_FORMAT),
    ],
)
def test_normalize_rut_rejects(raw, message):
    with pytest.raises(FieldError) as caught:
        normalize_rut(raw)
    assert caught.value.message == message
    assert isinstance(caught.value, ValueError)


def test_rut_check_digit_matches_the_modulo_11_definition():
    rng = random.Random(11)
    bodies = [str(rng.randrange(1, 10 ** rng.randint(1, 8))) for _ in range(3000)]
    assert [rut_check_digit(b) for b in bodies] == [_reference_check_digit(b) for b in bodies]
    assert {rut_check_digit(b) for b in bodies} >= {"0", "K", "1", "9"}
