"""batches.debtors.phones: Chilean numbers to E.164, the fast path against phonenumbers."""

import random

import pytest

from batches.debtors import phones
from batches.debtors.phones import normalize_phones, phone_to_e164, phone_to_e164_slow

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
        if phones._phone_fast(raw) is not False:
            fast_handled += 1
        valid += expected is not None
        assert phone_to_e164(raw) == expected, raw
    assert fast_handled > 4000  # most samples really went through the fast path
    assert valid > 1000  # and both outcomes were exercised
