"""Header names, header-row detection and column planning for debtor spreadsheets.

``normalize_header`` and ``HEADER_SYNONYMS`` (canonical field → normalised header names)
say what a column holds. ``build_plan`` works on the first rows of a sheet (lists of
calamine cell values) and decides which column feeds which field. ``column_mapping`` (from
the API) overrides detection for the fields it names; the other fields are still detected
from the same header row.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from batches.debtors.text import sanitize_text

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NUMBERED = re.compile(r"(.*?)\s*[0-9]{1,2}")


@lru_cache(maxsize=4096)
def normalize_header(text) -> str:
    """``"Teléfono_1"`` → ``"telefono 1"``; ``"Monto Deuda ($)"`` → ``"monto deuda"``."""
    decomposed = unicodedata.normalize("NFKD", sanitize_text(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return _NON_ALNUM.sub(" ", plain).strip()


_RAW_SYNONYMS = {
    "name": [
        "nombre",
        "nombre cliente",
        "cliente",
        "deudor",
        "nombre completo",
        "nombres",
        "nombre deudor",
        "nombre del cliente",
        "nombre y apellido",
        "nombre y apellidos",
        "razón social",
        "titular",
        "name",
    ],
    "rut": [
        "rut",
        "r.u.t.",
        "dni",
        "run",
        "rut deudor",
        "rut cliente",
        "rut titular",
        "rut del cliente",
        "rut/dni",
    ],
    "phone": [
        "telefono",
        "teléfono",
        "telefono 1",
        "telefono_1",
        "telefono 2",
        "telefonos",
        "fono",
        "fono contacto",
        "celular",
        "cel",
        "movil",
        "móvil",
        "telefono movil",
        "telefono celular",
        "telefono contacto",
        "whatsapp",
        "tel",
        "n° telefono",
        "numero telefono",
        "número de teléfono",
        "nro telefono",
        "phone",
        "mobile",
    ],
    "email": [
        "email",
        "correo",
        "correo electronico",
        "correo electrónico",
        "mail",
        "e-mail",
        "correo cliente",
    ],
    "debt_amount": [
        "monto",
        "monto deuda",
        "monto deuda ($)",
        "monto_deuda",
        "saldo",
        "deuda",
        "monto adeudado",
        "saldo deuda",
        "deuda total",
        "total deuda",
        "monto total",
        "saldo insoluto",
        "monto vencido",
        "monto moroso",
    ],
    "due_date": [
        "fecha vencimiento",
        "vencimiento",
        "fecha de vencimiento",
        "fecha_vencimiento",
        "fecha vcto",
        "vcto",
        "fecha venc",
    ],
    "installments": [
        "cuotas",
        "n° cuotas",
        "nº cuotas",
        "cantidad cuotas",
        "cantidad_cupones",
        "cuotas adeudadas",
        "numero de cuotas",
        "numero cuotas",
        "cuotas impagas",
        "cuotas vencidas",
        "cupones",
    ],
    "company_name": [
        "empresa",
        "compania",
        "compañía",
        "acreedor",
        "empresa acreedora",
        "institucion",
    ],
}

HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    field: tuple(dict.fromkeys(normalize_header(s) for s in synonyms))
    for field, synonyms in _RAW_SYNONYMS.items()
}
_FIELD_BY_SYNONYM = {s: field for field, synonyms in HEADER_SYNONYMS.items() for s in synonyms}
FIELD_LABELS = {
    "name": "Nombre",
    "rut": "RUT",
    "phone": "Teléfono",
    "email": "Correo",
    "debt_amount": "Monto",
    "due_date": "Fecha Vencimiento",
    "installments": "Cuotas",
    "company_name": "Empresa",
}


def field_for_header(text) -> str | None:
    """Canonical field for a header cell, or None. Numbered phones ("Fono 3") are phones."""
    key = normalize_header(text)
    name = _FIELD_BY_SYNONYM.get(key)
    if name is None and (match := _NUMBERED.fullmatch(key)):
        if _FIELD_BY_SYNONYM.get(match.group(1)) == "phone":
            return "phone"
    return name


HEADER_SCAN_ROWS = 30
FIELDS = tuple(HEADER_SYNONYMS)
MULTI_COLUMN_FIELDS = frozenset({"phone"})
REQUIRED_FIELDS = ("phone",)  # without RUT, a debtor is known by its first phone


class ExcelError(ValueError):
    """The whole file is unusable; ``message`` is a lazy, translatable string."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass
class ColumnPlan:
    """Which column index (in calamine's row lists) feeds which field."""

    header_row: int  # Excel row number (1-based) of the header
    headers: list[str]  # header text per column index, as written in the file
    columns: dict[str, list[int]] = field(default_factory=dict)
    custom: list[tuple[int, str]] = field(default_factory=list)  # (index, custom field key)

    def first(self, name: str) -> int | None:
        indexes = self.columns.get(name)
        return indexes[0] if indexes else None

    def mapping(self) -> dict:
        """Canonical field → header text (a list of texts for phones)."""
        result: dict = {}
        for name in FIELDS:
            indexes = self.columns.get(name)
            if indexes:
                texts = [self.headers[i] for i in indexes]
                result[name] = texts if name in MULTI_COLUMN_FIELDS else texts[0]
        return result

    def header_mapping(self) -> dict[str, str]:
        """Header text → what it feeds, in the frontend's terms: the field name, ``phone_1``,
        ``phone_2``... for the phone columns in order, ``custom`` for a custom column."""
        result: dict[str, str] = {}
        for name in FIELDS:
            for number, index in enumerate(self.columns.get(name, ()), start=1):
                many = name in MULTI_COLUMN_FIELDS
                result[self.headers[index]] = f"{name}_{number}" if many else name
        for index, _key in self.custom:
            result[self.headers[index]] = "custom"
        return result


def _texts(row: list) -> list[str]:
    return [sanitize_text(cell) for cell in row]


def found_columns(head: list[tuple[int, list]]) -> str:
    """Header texts of the first non-blank row, for error messages."""
    for _rownum, row in head:
        texts = [t for t in _texts(row) if t]
        if texts:
            return ", ".join(f'"{t}"' for t in texts[:30])
    return "-"


def _missing_required(plan: ColumnPlan, head) -> ExcelError | None:
    missing = [FIELD_LABELS[name] for name in REQUIRED_FIELDS if not plan.columns.get(name)]
    if not missing:
        return None
    return ExcelError(
        format_lazy(
            _("Required column missing: {missing}. Columns found: {found}."),
            missing=", ".join(missing),
            found=found_columns(head),
        )
    )


def _complete(plan: ColumnPlan, texts: list[str], claimed: set[int], fixed: set[str]) -> None:
    """Detect the fields not fixed by a mapping; every other named column becomes custom."""
    for index, text in enumerate(texts):
        if index in claimed or not text:
            continue
        name = field_for_header(text)
        if name and name not in fixed and (name in MULTI_COLUMN_FIELDS or name not in plan.columns):
            plan.columns.setdefault(name, []).append(index)
            continue
        key, n = text, 2
        while key in {k for _i, k in plan.custom}:
            key, n = f"{text} ({n})", n + 1
        plan.custom.append((index, key))


def detect_header(head: list[tuple[int, list]]) -> ColumnPlan | None:
    """The row (among ``head``: (Excel row number, cells)) matching the most known fields that
    has a phone column and a name or RUT column; None when no row qualifies."""
    best = None
    best_score = 0
    for rownum, row in head:
        texts = _texts(row)
        found = {field_for_header(t) for t in texts if t} - {None}
        if "phone" in found and ("rut" in found or "name" in found) and len(found) > best_score:
            best, best_score = (rownum, texts), len(found)
    if best is None:
        return None
    rownum, texts = best
    plan = ColumnPlan(header_row=rownum, headers=texts)
    _complete(plan, texts, claimed=set(), fixed=set())
    return plan


def _clean_mapping(column_mapping: dict) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = {}
    for name, value in column_mapping.items():
        if name not in HEADER_SYNONYMS:
            raise ExcelError(
                format_lazy(
                    _("Unknown field in column mapping: {field}. Known fields: {known}."),
                    field=name,
                    known=", ".join(FIELDS),
                )
            )
        texts = [value] if isinstance(value, str) or value is None else list(value)
        texts = [sanitize_text(t) for t in texts if t is not None and sanitize_text(t)]
        if len(texts) > 1 and name not in MULTI_COLUMN_FIELDS:
            raise ExcelError(
                format_lazy(
                    _("The field {field} takes a single column."),
                    field=name,
                )
            )
        wanted[name] = texts  # an empty list switches the field off
    return wanted


def _find_columns(texts: list[str], header: str) -> list[int]:
    exact = [i for i, t in enumerate(texts) if t == header]
    if exact:
        return exact
    key = normalize_header(header)
    return [i for i, t in enumerate(texts) if t and normalize_header(t) == key]


def plan_from_mapping(head: list[tuple[int, list]], column_mapping: dict) -> ColumnPlan:
    """Find the row holding every header named in ``column_mapping`` and build the plan."""
    wanted = _clean_mapping(column_mapping)
    all_headers = [h for texts in wanted.values() for h in texts]
    best = None
    best_missing: list[str] | None = None
    for rownum, row in head:
        texts = _texts(row)
        if not any(texts):
            continue
        missing = [h for h in all_headers if not _find_columns(texts, h)]
        if best_missing is None or len(missing) < len(best_missing):
            best, best_missing = (rownum, texts), missing
        if not missing:
            break
    if best is None:
        raise ExcelError(_("The file is empty."))
    if best_missing:
        raise ExcelError(
            format_lazy(
                _('Column "{header}" was not found in the file. Columns found: {found}.'),
                header=best_missing[0],
                found=found_columns([(best[0], best[1])]),
            )
        )
    rownum, texts = best
    plan = ColumnPlan(header_row=rownum, headers=texts)
    claimed: set[int] = set()
    for name, headers in wanted.items():
        for header in headers:
            indexes = _find_columns(texts, header)
            if name not in MULTI_COLUMN_FIELDS:
                indexes = indexes[:1]
            for index in indexes:
                if index not in claimed:
                    plan.columns.setdefault(name, []).append(index)
                    claimed.add(index)
    _complete(plan, texts, claimed=claimed, fixed=set(wanted))
    if error := _missing_required(plan, [(rownum, texts)]):
        raise error
    return plan


def build_plan(head: list[tuple[int, list]], column_mapping: dict | None) -> ColumnPlan | None:
    """Plan for a sheet: from ``column_mapping`` when given, else detected (None if not found).

    Raises ``ExcelError`` when a mapping names an unknown field or header, or when the
    detected header has no RUT column.
    """
    if column_mapping:
        return plan_from_mapping(head, column_mapping)
    plan = detect_header(head)
    if plan is not None and (error := _missing_required(plan, [(plan.header_row, plan.headers)])):
        raise error
    return plan


def no_columns_error(head: list[tuple[int, list]]) -> ExcelError:
    return ExcelError(
        format_lazy(
            _(
                "No recognisable columns. The file needs a RUT column and a phone column "
                '(for example "RUT" and "Teléfono"). Columns found: {found}.'
            ),
            found=found_columns(head),
        )
    )
