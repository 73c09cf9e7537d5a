import datetime
import os
import random
from decimal import Decimal

import pytest
from django.conf import settings

if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
    settings.configure(USE_I18N=False)  # lets the module run without the project settings

from django.core.exceptions import ValidationError  # noqa: E402
from django.core.validators import validate_email  # noqa: E402

from batches import normalize  # noqa: E402
from batches.normalize import (  # noqa: E402
    MSG_AMOUNT_NEGATIVE,
    MSG_DATE_IMPOSSIBLE,
    MSG_RUT_CHECK_DIGIT,
    MSG_RUT_FORMAT,
    MSG_RUT_REQUIRED,
    FieldError,
    amount_to_text,
    is_formula_like,
    normalize_email,
    normalize_phones,
    normalize_rut,
    parse_amount,
    parse_date,
    parse_installments,
    phone_to_e164,
    phone_to_e164_slow,
    rut_check_digit,
    sanitize_text,
)


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


# --- phones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("+56962345678", ["+56962345678"]),
        ("+56 9 6234 5678", ["+56962345678"]),
        ("962345678", ["+56962345678"]),
        ("56962345678", ["+56962345678"]),
        ("9 6234 5678", ["+56962345678"]),
        ("9-6234-5678", ["+56962345678"]),
        ("(2) 2345 6789", ["+56223456789"]),
        ("+56 2 2345 6789", ["+56223456789"]),
        (962345678.0, ["+56962345678"]),
        (56962345678.0, ["+56962345678"]),
        (962345678, ["+56962345678"]),
        ("+54 9 11 2345-6789", ["+5491123456789"]),  # a valid foreign number
        ("0056962345678", ["+56962345678"]),  # international prefix: phonenumbers path
    ],
)
def test_normalize_phones_forms(raw, valid):
    assert normalize_phones(raw) == (valid, [])


@pytest.mark.parametrize("separator", [";", ",", "/", "\n", " / ", "; "])
def test_normalize_phones_splits_multi_number_cells(separator):
    cell = separator.join(["962345678", "(2) 2345 6789", "abc", "+56 9 6234 5678"])
    assert normalize_phones(cell) == (["+56962345678", "+56223456789"], ["abc"])


@pytest.mark.parametrize("raw", ["abc", "123", "912345678", "+56912345678", "5.5", 962345678.5])
def test_normalize_phones_reports_invalid_numbers(raw):
    valid, invalid = normalize_phones(raw)
    assert valid == []
    assert len(invalid) == 1


def test_normalize_phones_blank():
    assert normalize_phones(None) == ([], [])
    assert normalize_phones("  ") == ([], [])
    assert normalize_phones("") == ([], [])


def _phone_samples(count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        size = rng.choice([9, 9, 9, 9, 8, 10, 11])
        digits = "".join(rng.choice("0123456789") for _ in range(size))
        if rng.random() < 0.5:
            digits = rng.choice("23456789") + digits[1:]
        if rng.random() < 0.1:
            digits = "56" + digits[2:]
        yield from (
            digits,
            "+56" + digits,
            "56" + digits,
            f"+56 {digits[0]} {digits[1:5]} {digits[5:]}",
            f"({digits[0]}) {digits[1:5]} {digits[5:]}",
            f"{digits[0]}-{digits[1:5]}-{digits[5:]}",
        )


def test_phone_fast_path_agrees_with_phonenumbers():
    reference = phone_to_e164_slow.__wrapped__  # the uncached phonenumbers parse + validate
    fast_handled = valid = 0
    for raw in _phone_samples(1500, seed=56):
        expected = reference(raw)
        if normalize._phone_fast(raw) is not False:
            fast_handled += 1
        valid += expected is not None
        assert phone_to_e164(raw) == expected, raw
    assert fast_handled > 4000  # most samples really went through the fast path
    assert valid > 1000  # and both outcomes were exercised


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
        if normalize._SIMPLE_EMAIL.fullmatch(candidate):
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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ana  ", "Ana"),
        (123.0, "123"),
        (12.5, "12.5"),
        (datetime.date(2025, 1, 2), "2025-01-02"),
        (datetime.datetime(2025, 1, 2), "2025-01-02"),
        (datetime.datetime(2025, 1, 2, 10, 30), "2025-01-02T10:30:00"),
        ("a\x00b\x07c", "abc"),
        ("línea 1\nlínea 2", "línea 1\nlínea 2"),
        ('=HYPERLINK("http://x","y")', '=HYPERLINK("http://x","y")'),
        (None, ""),
    ],
)
def test_sanitize_text(raw, expected):
    assert sanitize_text(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", True),
        ("+56912345678", True),
        ("-5", True),
        ("@SUM(A1)", True),
        ("\tx", True),
        ("Ana", False),
        ("", False),
        ("5=5", False),
    ],
)
def test_is_formula_like(text, expected):
    assert is_formula_like(text) is expected
