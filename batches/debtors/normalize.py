"""The one normaliser of a debtor, for JSON contacts and spreadsheet rows alike.

Its input is a raw mapping with the Debtor's field names (``phones``: a list of cells, each
holding one or more numbers; ``custom_fields``: {name: value}); a missing, None or "" value
is an empty field, and so is text of spaces only. Shapes (types, lengths, lists) are the
caller's to check first. The roads differ only in how they report the problems: the API
refuses a contact for any of them (``contacts[i].<field>``); a spreadsheet row is refused
for the others and keeps the ignorable ones as warnings (row and column). Custom field names
are taken as given (a spreadsheet's header texts, the API's names, both cleaned already).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

from accounts.compliance import time_zones
from batches.debtors.phones import (
    MSG_PHONE_INVALID,
    MSG_PHONE_NOT_VALID,
    phone_possible_e164,
    phones_from_cell,
)
from batches.debtors.rut import MSG_RUT_CHECK_DIGIT_KEPT, parse_rut
from batches.debtors.shape import MAX_CUSTOM_VALUE, MSG_CUSTOM_VALUE_TOO_LONG, Debtor, Problem
from batches.debtors.text import FieldError, sanitize_text
from batches.debtors.values import (
    amount_to_text,
    normalize_email,
    parse_date,
    parse_installments,
)

MSG_NO_PHONE = _("No phone number")
MSG_TIMEZONE = _("Must be a valid IANA time zone name, such as America/Santiago.")
_DATE = datetime.date




def debtor_normalize(raw: Mapping, *, row: int) -> tuple[Debtor | None, list[Problem]]:
    """(the debtor, the problems found); the debtor is None when a problem is not ignorable.

    Refused: a value that is not a RUT at all, no possible phone, an unreadable or negative
    amount, an impossible or unreadable date, instalments that are not a whole number, a
    custom value over MAX_CUSTOM_VALUE characters, an unknown time zone. Ignorable: an invalid phone
    beside a valid one (dropped), an invalid email (stored as None), a RUT with a wrong check
    digit and a number possible but not known valid (both kept). No RUT is no problem:
    ``rut`` is "" and the first phone identifies the debtor (``debtors.merge``).
    """
    get = raw.get
    problems: list[Problem] = []
    rut_raw = get("rut")
    rut = ""  # no RUT: the debtor is known by its first phone (debtors/merge.py)
    if rut_raw is not None and not (rut_raw.__class__ is str and not rut_raw.strip()):
        try:
            rut, check_ok = parse_rut(rut_raw)
        except FieldError as exc:
            problems.append(Problem("rut", None, rut_raw, exc.message))
        else:
            if not check_ok:
                problems.append(Problem("rut", None, rut_raw, MSG_RUT_CHECK_DIGIT_KEPT, True))
    phones: list[str] = []
    possible: list[str] = []  # dialled after the valid ones
    bad = None
    for j, value in enumerate(get("phones") or ()):
        if value is None or value == "":
            continue
        valid, invalid = phones_from_cell(value)
        for phone in valid:
            if phone not in phones:
                phones.append(phone)
        for part in invalid:
            if (e164 := phone_possible_e164(str(part))) is not None:
                problems.append(Problem("phones", j, part, MSG_PHONE_NOT_VALID, True))
                if e164 not in possible:
                    possible.append(e164)
            else:
                bad = (bad or []) + [(j, part)]
    phones += [phone for phone in possible if phone not in phones]
    if bad:
        problems += [Problem("phones", j, part, MSG_PHONE_INVALID, bool(phones)) for j, part in bad]
    elif not phones:
        problems.append(Problem("phones", None, "", MSG_NO_PHONE))
    custom = {}
    for key, value in (get("custom_fields") or {}).items():
        if value is not None and value != "" and (text := sanitize_text(value)):
            if len(text) > MAX_CUSTOM_VALUE:
                problems.append(
                    Problem("custom_fields", key, f"{text[:50]}…", MSG_CUSTOM_VALUE_TOO_LONG)
                )
            custom[key] = text
    name, company = get("name"), get("company_name")
    debtor: Debtor = {
        "row": row,
        "name": "" if name is None else sanitize_text(name),
        "rut": rut,
        "phones": phones,
        "email": None,
        "debt_amount": None,
        "due_date": None,
        "installments": None,
        "company_name": (sanitize_text(company) or None) if company is not None else None,
        "custom_fields": custom,
    }
    if (value := get("debt_amount")) is not None and value != "":
        try:
            debtor["debt_amount"] = amount_to_text(value)
        except FieldError as exc:
            _refused(problems, "debt_amount", value, exc)
    if (value := get("due_date")) is not None and value != "":
        try:
            debtor["due_date"] = (
                value if value.__class__ is _DATE else parse_date(value)
            ).isoformat()
        except FieldError as exc:
            _refused(problems, "due_date", value, exc)
    if (value := get("installments")) is not None and value != "":
        if value.__class__ is float and value.is_integer() and value >= 0:
            debtor["installments"] = int(value)
        else:
            try:
                debtor["installments"] = parse_installments(value)
            except FieldError as exc:
                _refused(problems, "installments", value, exc)
    if (tz := get("timezone")) is not None and tz != "":
        if tz.__class__ is not str or tz not in time_zones():
            problems.append(Problem("timezone", None, tz, MSG_TIMEZONE))
        else:
            debtor["timezone"] = tz
    if (email := get("email")) is not None and email != "":
        try:
            debtor["email"] = normalize_email(email)
        except FieldError as exc:
            problems.append(Problem("email", None, email, exc.message, True))
    if problems and not all(p.ignorable for p in problems):
        return None, problems
    return debtor, problems


def _refused(problems: list[Problem], field: str, value, exc: FieldError) -> None:
    """Record a refused value, unless it is text of spaces only (then the field is empty)."""
    if value.__class__ is not str or value.strip():
        problems.append(Problem(field, None, value, exc.message))
