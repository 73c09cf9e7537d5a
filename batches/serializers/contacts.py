"""The debtors of the JSON form: their shape is checked here, then each goes through the
debtor normaliser the Excel reader uses (``batches.debtors``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from batches.debtors.normalize import debtor_normalize
from batches.debtors.phones import MSG_PHONE_NOT_VALID
from batches.debtors.rut import MSG_RUT_CHECK_DIGIT_KEPT
from batches.debtors.shape import (
    MAX_CUSTOM_FIELDS,
    MAX_CUSTOM_KEY,
    MAX_CUSTOM_VALUE,
    MSG_CUSTOM_KEY_TOO_LONG,
    MSG_TOO_MANY_CUSTOM,
)
from batches.debtors.text import sanitize_text

MAX_CONTACT_ERRORS = 500
KEPT_WITH_WARNING = (MSG_RUT_CHECK_DIGIT_KEPT, MSG_PHONE_NOT_VALID)
# A debtor's texts, by field (name and company_name: 200, checked with their own message).
CONTACT_TEXT_LIMITS = {
    "rut": 20,
    "dni": 20,
    "email": 254,
    "debt_amount": 30,
    "due_date": 30,
    "installments": 12,
    "timezone": 64,
}
MAX_PHONES = 10
MAX_PHONE_TEXT = 100


class ContactInputSerializer(serializers.Serializer):
    """One debtor of the JSON form (documentation; ``ContactsField`` does the work)."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    rut = serializers.CharField(
        required=False,
        max_length=20,
        help_text="12.345.678-5, 12345678-5, 123456785; rut or dni required.",
    )
    dni = serializers.CharField(required=False, max_length=20, help_text="Alias of rut.")
    phones = serializers.ListField(
        child=serializers.CharField(max_length=MAX_PHONE_TEXT),
        min_length=1,
        max_length=MAX_PHONES,
        help_text="Chilean numbers in any usual format; stored as E.164.",
    )
    email = serializers.EmailField(
        required=False, allow_null=True, allow_blank=True, max_length=254
    )
    debt_amount = serializers.CharField(
        required=False, allow_null=True, help_text='150000, "$150.000" or a number.'
    )
    due_date = serializers.CharField(
        required=False, allow_null=True, help_text="ISO date or dd/mm/yyyy."
    )
    installments = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    company_name = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=200
    )
    timezone = serializers.CharField(
        required=False, allow_null=True, help_text="IANA zone of the debtor, if not the batch's."
    )
    custom_fields = serializers.DictField(
        required=False,
        help_text=f"Extra columns passed to the agent: at most {MAX_CUSTOM_FIELDS}, names of at "
        f"most {MAX_CUSTOM_KEY} characters, values of at most {MAX_CUSTOM_VALUE}.",
    )


CONTACT_KEYS = frozenset({*ContactInputSerializer().fields, "row"})
# What the normaliser reads as given (rut/dni, phones, texts and custom fields are shaped first).
_NORMALISED_KEYS = (
    "name", "company_name", "email", "debt_amount", "due_date", "installments", "timezone"
)


def _contact_clean(item, index: int, errors: dict, warnings: list[dict]) -> dict | None:
    """Check one JSON debtor's shape, then normalise it as a spreadsheet row is; record
    every problem as ``contacts[i].field``, and what was kept with a warning (a wrong check
    digit, a possible number) in ``warnings`` as a row issue (row: the contact's index)."""
    where = f"contacts[{index}]"
    if not isinstance(item, dict):
        errors[where] = [_("Must be an object.")]
        return None
    problems: dict[str, list] = {}
    # A custom column may also come at the top level ("monto_deuda": "50000"), as in a sheet.
    extra = {}
    for key, value in item.items():
        if key in CONTACT_KEYS:
            continue
        if isinstance(value, dict | list):
            problems[f"{where}.{key}"] = [_("Unknown field.")]
        else:
            extra[key] = value
    if extra:
        custom = item.get("custom_fields")
        item = {**item, "custom_fields": {**extra, **custom} if isinstance(custom, dict)
                else custom if custom is not None else extra}
    if _too_long(item, where, problems):
        errors.update(problems)
        return None  # the normalisers (memoised) never see an over-long text
    rut_key = "rut" if item.get("rut") not in (None, "") else "dni"
    raw = _shape_clean(item, rut_key, where, problems)
    row = item.get("row")
    debtor, found = debtor_normalize(raw, row=row if isinstance(row, int) else index)
    phone_parts: dict[str, list[str]] = {}
    kept_warnings = []
    for problem in found:
        if any(problem.message is kept for kept in KEPT_WITH_WARNING):
            field = rut_key if problem.field == "rut" else problem.field
            column = f"{where}.{field}" + ("" if problem.item is None else f"[{problem.item}]")
            kept_warnings.append({"row": index, "column": column, "value": str(problem.value),
                                  "message": str(problem.message)})
            continue
        if problem.field == "phones" and problem.item is not None:
            phone_parts.setdefault(f"{where}.phones[{problem.item}]", []).append(problem.value)
            continue
        field = rut_key if problem.field == "rut" else problem.field
        name = f"{where}.{field}" if problem.item is None else f"{where}.{field}.{problem.item}"
        problems.setdefault(name, [str(problem.message)])
    for name, parts in phone_parts.items():
        message = _("Invalid phone number: %(value)s") % {"value": ", ".join(parts)}
        problems.setdefault(name, [message])
    if problems:
        errors.update(problems)
        return None
    warnings += kept_warnings
    return debtor


def _shape_clean(item: dict, rut_key: str, where: str, problems: dict) -> dict:
    """The debtor's fields for the normaliser (the RUT from ``rut_key``, "dni" being its
    alias); those of a wrong shape are recorded and left out."""
    raw = {key: item.get(key) for key in _NORMALISED_KEYS}
    raw["rut"] = item.get(rut_key)
    phones = item.get("phones")
    if isinstance(phones, str | int):
        phones = [phones]
    if not isinstance(phones, list) or not phones:
        problems[f"{where}.phones"] = [_("At least one phone number is required.")]
        phones = []
    for j, value in enumerate(phones):
        if not isinstance(value, str | int) or isinstance(value, bool):
            problems[f"{where}.phones[{j}]"] = [_("Must be a text.")]
    raw["phones"] = [v if isinstance(v, str | int) and not isinstance(v, bool) else None
                     for v in phones]
    for key in ("name", "company_name"):
        value = item.get(key)
        if value is None:
            continue
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            problems[f"{where}.{key}"] = [_("Must be a text.")]
            raw[key] = None
        elif len(sanitize_text(value)) > 200:
            problems[f"{where}.{key}"] = [_("At most 200 characters.")]
            raw[key] = None
    custom = item.get("custom_fields")
    if custom is not None:
        raw["custom_fields"] = _custom_clean(custom, f"{where}.custom_fields", problems)
    return raw


def _too_long(item: dict, where: str, problems: dict) -> bool:
    """Record the debtor's texts over their limits (CONTACT_TEXT_LIMITS, phones)."""
    found = False
    for key, limit in CONTACT_TEXT_LIMITS.items():
        value = item.get(key)
        if isinstance(value, str) and len(value) > limit:
            problems[f"{where}.{key}"] = [_("At most %(max)s characters.") % {"max": limit}]
            found = True
    phones = item.get("phones")
    if isinstance(phones, list) and len(phones) > MAX_PHONES:
        problems[f"{where}.phones"] = [_("At most %(max)s phone numbers.") % {"max": MAX_PHONES}]
        return True
    for j, raw in enumerate(phones if isinstance(phones, list) else [phones]):
        if isinstance(raw, str) and len(raw) > MAX_PHONE_TEXT:
            name = f"{where}.phones[{j}]" if isinstance(phones, list) else f"{where}.phones"
            problems[name] = [_("At most %(max)s characters.") % {"max": MAX_PHONE_TEXT}]
            found = True
    return found


def _custom_clean(custom, where: str, problems: dict) -> dict | None:
    """Custom fields {name: text}: at most MAX_CUSTOM_FIELDS, names of at most
    MAX_CUSTOM_KEY characters, values texts, numbers or booleans (Retell variables); those
    of the right shape, by their cleaned names, for the normaliser (which checks the values'
    length)."""
    if not isinstance(custom, dict):
        problems[where] = [_("Must be an object.")]
        return None
    if len(custom) > MAX_CUSTOM_FIELDS:
        problems[where] = [str(MSG_TOO_MANY_CUSTOM)]
        return None
    kept = {}
    for key, value in custom.items():
        name = sanitize_text(key)
        if len(name) > MAX_CUSTOM_KEY:
            problems[f"{where}.{name[:MAX_CUSTOM_KEY]}…"] = [str(MSG_CUSTOM_KEY_TOO_LONG)]
        elif isinstance(value, dict | list):
            problems[f"{where}.{key}"] = [_("Must be a text, a number or a boolean.")]
        else:
            kept[name] = value
    return kept


@dataclass
class CheckedContacts:
    """The JSON form's debtors: those kept, the problems of those left out (keys
    ``contacts[i].field``), how many were left out, and the warnings of those kept."""

    contacts: list[dict]
    errors: dict[str, list]
    invalid: int
    warnings: list[dict]

    def error_rows(self) -> list[dict]:
        """The problems as row issues, as an Excel create reports them (row: the index)."""
        return [{"row": int(key[key.index("[") + 1:key.index("]")]) if key.startswith("contacts[")
                 else None, "column": key, "value": "", "message": str(message)}
                for key, messages in self.errors.items() for message in messages]


@extend_schema_field(ContactInputSerializer(many=True))
class ContactsField(serializers.Field):
    """The debtors of the JSON form, normalised in one pass (no serializer per item). A bad
    contact does not fail the field: the form decides (``strict``, none left)."""

    def to_internal_value(self, data) -> CheckedContacts:
        if not isinstance(data, list):
            raise serializers.ValidationError(_("Must be a list of contacts."))
        if not data:
            raise serializers.ValidationError(_("At least one contact is required."))
        if len(data) > settings.EXCEL_MAX_ROWS:
            raise serializers.ValidationError(
                _("At most %(max)s contacts per campaign.") % {"max": settings.EXCEL_MAX_ROWS}
            )
        errors: dict[str, list] = {}
        contacts, warnings = [], []
        invalid = 0
        for index, item in enumerate(data):
            found: dict[str, list] = {}
            contact = _contact_clean(item, index, found, warnings)
            if contact is not None:
                contacts.append(contact)
                continue
            invalid += 1
            if len(errors) < MAX_CONTACT_ERRORS:
                errors.update(found)
            else:  # counted, not kept: a hostile list does not grow the answer
                errors["contacts"] = [
                    _("Too many errors; only the first %(count)s are shown.")
                    % {"count": MAX_CONTACT_ERRORS}
                ]
        return CheckedContacts(contacts, errors, invalid, warnings)

    def to_representation(self, value):
        return value
