"""batches.debtors.values: amounts, dates, email addresses, instalments."""

import datetime
import random
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from batches.debtors import values
from batches.debtors.text import FieldError
from batches.debtors.values import (
    MSG_AMOUNT_NEGATIVE,
    MSG_DATE_IMPOSSIBLE,
    amount_to_text,
    normalize_email,
    parse_amount,
    parse_date,
    parse_installments,
)

# --- amounts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (150000, "150000.00"),
        (150000.0, "150000.00"),
        ("$150.000", "150000.00"),
        ("$ 2.945.430", "2945430.00"),
        ("150000", "150000.00"),
        ("150000.0", "150000.00"),
        ("150.000,50", "150000.50"),
        ("150,000.50", "150000.50"),
        ("1,500", "1500.00"),
        ("1500,5", "1500.50"),
        ("1500.555", "1500.56"),
        ("CLP 1.000", "1000.00"),
        (Decimal("12.345"), "12.35"),
        ("0", "0.00"),
    ],
)
def test_parse_amount_forms(raw, expected):
    assert parse_amount(raw) == Decimal(expected)
    assert str(parse_amount(raw)) == expected
    assert amount_to_text(raw) == expected


@pytest.mark.parametrize(
    "raw", ["abc", "", "12,34,5", "1.2.3,4,5", None, True, float("nan"), "1e5", [1], {"a": 1}]
)
def test_parse_amount_rejects_non_numbers(raw):
    with pytest.raises(FieldError):
        parse_amount(raw)


@pytest.mark.parametrize("raw", [-500, -500.0, "-500", "-$1.000"])
def test_parse_amount_rejects_negative(raw):
    with pytest.raises(FieldError) as caught:
        parse_amount(raw)
    assert caught.value.message == MSG_AMOUNT_NEGATIVE


def test_parse_amount_rejects_absurd_amounts():
    with pytest.raises(FieldError):
        parse_amount(10**13)


def test_amount_to_text_agrees_with_parse_amount():
    rng = random.Random(7)
    samples = []
    for _ in range(3000):
        n = rng.randrange(0, 10 ** rng.randint(1, 13))
        dotted = f"{n:,}".replace(",", ".")
        samples += [
            str(n),
            dotted,
            "$" + dotted,
            "$ " + str(n),
            f"{n}.0",
            f"{n},00",
            f"{n:,}",
            f"0{n}",
            f"{n}.000",
            float(n),
        ]
    for raw in samples:
        try:
            expected = str(parse_amount(raw))
        except FieldError:
            expected = "error"
        try:
            got = amount_to_text(raw)
        except FieldError:
            got = "error"
        assert got == expected, raw


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("29/11/2025", datetime.date(2025, 11, 29)),
        ("27-11-2025", datetime.date(2025, 11, 27)),
        ("5/3/2025", datetime.date(2025, 3, 5)),
        ("05.03.2025", datetime.date(2025, 3, 5)),
        ("05/03/25", datetime.date(2025, 3, 5)),
        ("2025-10-18", datetime.date(2025, 10, 18)),
        ("2025-10-18 00:00:00", datetime.date(2025, 10, 18)),
        ("20251018", datetime.date(2025, 10, 18)),
        (datetime.date(2025, 12, 13), datetime.date(2025, 12, 13)),
        (datetime.datetime(2025, 12, 13, 10, 30), datetime.date(2025, 12, 13)),
        (45992.0, datetime.date(2025, 12, 1)),  # an Excel serial
        (45992, datetime.date(2025, 12, 1)),
    ],
)
def test_parse_date_forms(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["31/02/2025", "29/02/2025", "2025-13-01", "00/01/2025"])
def test_parse_date_rejects_impossible_dates(raw):
    with pytest.raises(FieldError) as caught:
        parse_date(raw)
    assert caught.value.message == MSG_DATE_IMPOSSIBLE


@pytest.mark.parametrize(
    "raw", ["mañana", "", "2025/31", "29/11-2025", 5.0, None, True, datetime.time(10, 0),
            ["2025-01-01"], {"d": "2025-01-01"}]
)
def test_parse_date_rejects_unreadable_values(raw):
    with pytest.raises(FieldError):
        parse_date(raw)


# --- email, installments, text ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("c0@mail.cl", "c0@mail.cl"),
        (" Ana.Perez@Correo.CL ", "Ana.Perez@correo.cl"),
        ("benjamín968@correo.cl", "benjamín968@correo.cl"),
        ("", None),
        (None, None),
    ],
)
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["bad@", "a@b", "no arroba", "x@y..cl", "a b@c.cl"])
def test_normalize_email_rejects(raw):
    with pytest.raises(FieldError):
        normalize_email(raw)


def test_simple_email_pattern_is_a_subset_of_django():
    rng = random.Random(3)
    alphabet = "abcXYZ019._-+@"
    matched = 0
    for _ in range(4000):
        candidate = "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 14))) + rng.choice(
            ["@mail.cl", ".cl", "@x.co", "@-a.cl", "@a-.cl", ""]
        )
        if values._SIMPLE_EMAIL.fullmatch(candidate):
            matched += 1
            try:
                validate_email(candidate)
            except ValidationError:
                pytest.fail(f"fast path accepted {candidate!r}, Django does not")
    assert matched > 100


@pytest.mark.parametrize(
    ("raw", "expected"), [(3.0, 3), (0, 0), ("12", 12), (" 7 ", 7), ("4.0", 4), ("", None)]
)
def test_parse_installments(raw, expected):
    assert parse_installments(raw) == expected


@pytest.mark.parametrize("raw", [2.5, -1, "-1", "doce", "1e3"])
def test_parse_installments_rejects(raw):
    with pytest.raises(FieldError):
        parse_installments(raw)
