"""The one merger: the same RUT twice, in a file or a JSON list, is one debtor; a debtor
without RUT is known by its first phone (the same first phone twice is one debtor).

A later debtor is folded into the first one with its RUT: phones unioned in order, empty
fields filled from the later one, the first wins otherwise (custom fields likewise, name by
name). Both roads report it with ``merged_message``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from batches.debtors.shape import Debtor

MSG_MERGED = _("Duplicate RUT: merged into row %(row)s")
MSG_MERGED_PHONE = _("No RUT, same phone: merged into row %(row)s")
MAX_WARNINGS = 1_000  # row reports kept per import (counts stay exact), as read_contacts does


def debtor_merge(first: Debtor, later: Debtor) -> None:
    """Fold ``later`` (the same RUT) into ``first``, in place."""
    phones = first["phones"]
    for phone in later["phones"]:
        if phone not in phones:
            phones.append(phone)
    for key, value in later.items():
        if key != "custom_fields" and first.get(key) in (None, "") and value not in (None, ""):
            first[key] = value
    for key, value in (later.get("custom_fields") or {}).items():
        first.setdefault("custom_fields", {}).setdefault(key, value)


def merged_message(first: Debtor) -> str:
    without_rut = "rut" in first and not first["rut"]
    return (MSG_MERGED_PHONE if without_rut else MSG_MERGED) % {"row": first.get("row")}


def debtor_key(debtor: Debtor) -> str:
    """Who the debtor is: its RUT, or without one its first phone (valid ones come first)."""
    return debtor["rut"] or f"tel:{debtor['phones'][0]}"


class DebtorIndex:
    """The debtors met so far, one per ``debtor_key``; ``merged`` counts the later ones
    folded in."""

    def __init__(self) -> None:
        self._by_rut: dict[str, Debtor] = {}
        self.merged = 0

    def add(self, debtor: Debtor) -> Debtor | None:
        """None when ``debtor`` is the first with its RUT (keep it); else the first one,
        into which ``debtor`` has been merged (the very same dict twice is not merged)."""
        key = debtor_key(debtor)
        first = self._by_rut.get(key)
        if first is None:
            self._by_rut[key] = debtor
        elif first is not debtor:
            debtor_merge(first, debtor)
            self.merged += 1
        return first


def debtors_merge(
    debtors: Iterable[Debtor], *, max_warnings: int = MAX_WARNINGS
) -> tuple[list[Debtor], int, list[dict]]:
    """One debtor per RUT, in input order. Returns (debtors, merged count, warnings {row,
    column "rut", value, message} — at most ``max_warnings``, the count is exact)."""
    index = DebtorIndex()
    unique: list[Debtor] = []
    warnings: list[dict] = []
    for debtor in debtors:
        first = index.add(debtor)
        if first is None:
            unique.append(debtor)
        elif first is not debtor and len(warnings) < max_warnings:
            warnings.append(
                {
                    "row": debtor.get("row"),
                    "column": "rut" if debtor["rut"] else "phones",
                    "value": debtor["rut"] or debtor["phones"][0],
                    "message": merged_message(first),
                }
            )
    return unique, index.merged, warnings
