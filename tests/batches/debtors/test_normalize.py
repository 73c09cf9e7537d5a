"""batches.debtors.normalize: one raw mapping in, a Debtor or the problems found out."""

import datetime

from batches.debtors.normalize import MSG_NO_PHONE, debtor_normalize
from batches.debtors.phones import MSG_PHONE_INVALID
from batches.debtors.rut import MSG_RUT_FORMAT
from batches.debtors.shape import Problem
from batches.debtors.values import MSG_AMOUNT_NEGATIVE, MSG_EMAIL_INVALID


def test_a_messy_row_becomes_the_debtor_shape():
    raw = {
        "name": "  Ana\x00 Soto ",
        "rut": "12.345.678-5",
        "phones": [962345678.0, "", "+56 9 6234 5678; 2 2345 6789"],
        "email": "Ana@Correo.CL",
        "debt_amount": "$150.000",
        "due_date": datetime.datetime(2025, 12, 31),
        "installments": 3.0,
        "company_name": "",
        "custom_fields": {"Sucursal": "Centro", "Vacío": "  ", "Tramo": 2.0},
        "timezone": "America/Punta_Arenas",
    }
    debtor, problems = debtor_normalize(raw, row=7)

    assert problems == []
    assert debtor == {
        "row": 7,
        "name": "Ana Soto",
        "rut": "12345678-5",
        "phones": ["+56962345678", "+56223456789"],
        "email": "Ana@correo.cl",
        "debt_amount": "150000.00",
        "due_date": "2025-12-31",
        "installments": 3,
        "company_name": None,
        "custom_fields": {"Sucursal": "Centro", "Tramo": "2"},
        "timezone": "America/Punta_Arenas",
    }


def test_refused_values_are_all_named_and_no_debtor_is_given():
    raw = {"rut": "abc", "phones": ["123"], "debt_amount": -5, "email": "no@"}
    debtor, problems = debtor_normalize(raw, row=2)

    assert debtor is None
    assert problems == [
        Problem("rut", None, "abc", MSG_RUT_FORMAT),
        Problem("phones", 0, "123", MSG_PHONE_INVALID),
        Problem("debt_amount", None, -5, MSG_AMOUNT_NEGATIVE),
        Problem("email", None, "no@", MSG_EMAIL_INVALID, True),
    ]


def test_an_invalid_phone_beside_a_valid_one_and_a_bad_email_are_ignorable():
    raw = {"rut": "12345678-5", "phones": ["962345678", "abc"], "email": "no@"}
    debtor, problems = debtor_normalize(raw, row=3)

    assert (debtor["phones"], debtor["email"]) == (["+56962345678"], None)
    assert [(p.field, p.item, p.ignorable) for p in problems] == [
        ("phones", 1, True),
        ("email", None, True),
    ]


def test_no_phone_at_all_and_spaces_only_values():
    raw = {"rut": "12345678-5", "phones": ["", None], "debt_amount": "  ", "due_date": " "}
    debtor, problems = debtor_normalize(raw, row=4)

    assert debtor is None
    assert problems == [Problem("phones", None, "", MSG_NO_PHONE)]


def test_unknown_time_zone_is_refused():
    raw = {"rut": "12345678-5", "phones": ["962345678"], "timezone": "Mars/Olympus"}
    debtor, problems = debtor_normalize(raw, row=5)

    assert debtor is None and [p.field for p in problems] == ["timezone"]
