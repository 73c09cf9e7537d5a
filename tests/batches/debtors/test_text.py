"""batches.debtors.text: any cell as text; what a spreadsheet would run as a formula."""

import datetime

import pytest

from batches.debtors.text import is_formula_like, sanitize_text


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
