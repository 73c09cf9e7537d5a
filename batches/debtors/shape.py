"""The shape of a normalised debtor, and of a problem found while normalising one."""

from __future__ import annotations

from typing import NamedTuple, NotRequired, TypedDict

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

# Custom fields reach the agent as Retell dynamic variables (short strings) on every call.
MAX_CUSTOM_FIELDS = 50
MAX_CUSTOM_KEY = 64
MAX_CUSTOM_VALUE = 500
MSG_TOO_MANY_CUSTOM = format_lazy(_("At most {max} custom fields"), max=MAX_CUSTOM_FIELDS)
MSG_CUSTOM_KEY_TOO_LONG = format_lazy(
    _("A custom field name has at most {max} characters"), max=MAX_CUSTOM_KEY
)
MSG_CUSTOM_VALUE_TOO_LONG = format_lazy(_("At most {max} characters"), max=MAX_CUSTOM_VALUE)


class Debtor(TypedDict):
    """One debtor as both roads give it (a plain dict: 100,000 of them are built per file
    and written straight into COPY lines, see ``batches.ingest``)."""

    row: int  # Excel row number, or the JSON contact's "row" (its index by default)
    name: str
    rut: str  # canonical "12345678-5"
    phones: list[str]  # E.164, at least one, no repeats, in the order given
    email: str | None
    debt_amount: str | None  # Decimal text with two decimals: "150000.00"
    due_date: str | None  # ISO date
    installments: int | None
    company_name: str | None
    custom_fields: dict[str, str]  # passed to the agent
    timezone: NotRequired[str]  # IANA zone, when the debtor's differs from the campaign's


class Problem(NamedTuple):
    """A value refused (or, when ``ignorable``, dropped: the debtor is still usable)."""

    field: str  # a Debtor key
    item: int | str | None  # phones: the index of the cell; custom_fields: the raw key
    value: object  # what was given (shown back to the user)
    message: object  # lazy, translatable
    ignorable: bool = False
