"""Read debtor spreadsheets (.xlsx, .xls, .ods) into normalised contact dicts.

``read_contacts`` is pure (no database) and is the hot path of 100,000-row uploads: the file
is parsed by python-calamine, rows are converted with precomputed column indexes and memoised
normalisers. ``open_contacts`` is the same reader, streaming: it gives the debtors chunk by
chunk as the rows are normalised, so the batch service stores one chunk while the next is read
(``ContactReader`` says how a later duplicate of an already given debtor is reported). Rules,
so that the API and the batch service agree:

* Rows are reported with their real Excel row numbers (1-based). Blank rows are skipped.
* A row is invalid (an entry per problem in ``errors``, counted once in ``invalid_rows``, no
  contact) when the RUT is missing or invalid, no phone in the row is valid, the amount is
  negative or unreadable, a date is impossible or unreadable, or the installments are not a
  whole number.
* Non-fatal findings go to ``warnings`` and never make a row invalid: an invalid extra phone
  in a row that has a valid one (the number is dropped), an invalid email (stored as None),
  and a duplicate RUT merged into its first row.
* The same RUT twice: the later row is merged into the first (phones unioned in order, empty
  fields filled in, first row wins otherwise) and counted in ``duplicates_merged``.
* Unrecognised columns become ``custom_fields`` {header text: text}; empty cells are left out.
* A cell holding a formula without a cached value (files written by scripts) is read as its
  formula text, ``"=..."``, kept verbatim and never evaluated.
"""

from __future__ import annotations

import gc
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice

import python_calamine
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from batches import excel_safety
from batches.debtors.merge import DebtorIndex, debtor_key, merged_message
from batches.debtors.normalize import debtor_normalize
from batches.debtors.phones import MSG_PHONE_NOT_VALID
from batches.debtors.rut import MSG_RUT_CHECK_DIGIT_KEPT
from batches.debtors.shape import MAX_CUSTOM_FIELDS, MAX_CUSTOM_KEY, Problem
from batches.debtors.text import sanitize_text
from batches.excel_headers import (
    HEADER_SCAN_ROWS,
    ColumnPlan,
    ExcelError,
    build_plan,
    no_columns_error,
)

__all__ = ["ContactReader", "ExcelError", "ParseResult", "open_contacts", "read_contacts"]

MSG_PHONE_IGNORED = _("Invalid phone number ignored; the row has another valid number")
MSG_EMAIL_IGNORED = _("Invalid email address ignored")
MSG_NO_RUT_COLUMN = _(
    "No RUT column: duplicates are merged by phone and the weekly limit is applied by phone"
)
EMPTY_FILE = _("The file is empty.")
NO_DATA_ROWS = _("The file has no data rows below the headers.")


@dataclass
class ParseResult:
    total_rows: int = 0  # non-blank data rows
    contacts: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"row", "column", "value", "message"}
    invalid_rows: int = 0
    duplicates_merged: int = 0
    column_mapping: dict = field(default_factory=dict)  # field → header text(s)
    header_mapping: dict = field(default_factory=dict)  # header text → field | "custom"
    custom_columns: list[str] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)  # same shape as errors, non-fatal
    errors_truncated: bool = False  # errors/warnings beyond max_errors were counted, not kept
    sheet_name: str = ""
    header_row: int = 0


def _read_source(source, max_bytes: int) -> bytes:
    too_large = ExcelError(
        format_lazy(
            _("The file is larger than the {limit} MB limit."), limit=round(max_bytes / 1048576, 1)
        )
    )
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        if os.path.getsize(source) > max_bytes:
            raise too_large
        with open(source, "rb") as handle:
            data = handle.read(max_bytes + 1)
    else:
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large
    if not data:
        raise ExcelError(EMPTY_FILE)
    return data


def _open_workbook(data: bytes) -> python_calamine.CalamineWorkbook:
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError as exc:
        raise ExcelError(excel_safety.PASSWORD_PROTECTED) from exc
    except python_calamine.CalamineError as exc:
        message = excel_safety.NOT_A_SPREADSHEET if "detect" in str(exc) else excel_safety.DAMAGED
        raise ExcelError(message) from exc
    except Exception as exc:
        raise ExcelError(excel_safety.DAMAGED) from exc
    except BaseException as exc:  # pyo3 PanicException (a Rust panic) derives BaseException
        if type(exc).__name__ == "PanicException":
            raise ExcelError(excel_safety.DAMAGED) from exc
        raise


def _load_rows(workbook, name: str):
    """(rows from the first non-empty one, its 0-based index, the first column's index).

    calamine's iter_rows() pads the rows above the data with empty lists (so Excel row
    numbers are positions) but starts the columns at the first used one."""
    try:
        sheet = workbook.get_sheet_by_name(name)
        if sheet.start is None:  # an empty sheet (iter_rows() would panic)
            return iter(()), 0, 0
        first_row, first_col = sheet.start
        return islice(sheet.iter_rows(), first_row, None), first_row, first_col
    except Exception as exc:
        raise ExcelError(excel_safety.DAMAGED) from exc
    except BaseException as exc:
        if type(exc).__name__ == "PanicException":
            raise ExcelError(excel_safety.DAMAGED) from exc
        raise


def _with_formulas(rows, formulas: dict, first_row: int, col_offset: int):
    for row_index, row in enumerate(rows, start=first_row):
        for col, text in formulas.get(row_index, ()):
            i = col - col_offset
            if 0 <= i < len(row) and row[i] == "":
                row[i] = text
        yield row


def _sheet_order(workbook) -> list[str]:
    sheets = [
        m for m in workbook.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet
    ]
    visible = [m.name for m in sheets if m.visible == python_calamine.SheetVisibleEnum.Visible]
    return visible + [m.name for m in sheets if m.name not in visible]


def read_contacts(
    source,
    *,
    column_mapping: dict | None = None,
    max_rows: int = 200_000,
    max_bytes: int = 50 * 1024 * 1024,
    max_errors: int = 1_000,
) -> ParseResult:
    """Parse a debtor spreadsheet (bytes, a path or a binary file object) at once.

    Uses the first worksheet (visible ones first) with a recognisable header row among its
    first 30 rows, or the row holding the headers named in ``column_mapping`` ({field:
    header text, "phone": [texts]}; a None/empty value switches a field off). Raises
    ``ExcelError`` for whole-file problems. At most ``max_errors`` errors and warnings are
    kept (``errors_truncated`` says when more were counted).
    """
    with open_contacts(
        source,
        column_mapping=column_mapping,
        max_rows=max_rows,
        max_bytes=max_bytes,
        max_errors=max_errors,
    ) as reader:
        contacts = reader.result.contacts
        for chunk in reader.chunks():
            contacts.extend(chunk)
        return reader.result


class ContactReader:
    """The data rows of the chosen sheet, normalised as they are asked for.

    ``chunks()`` yields the debtors in file order, a list of about ``size`` at a time: each
    RUT once, at its first valid row; a later row with the same RUT is merged into that
    debtor (a dict already yielded is changed in place and listed in ``late_merges``, so a
    consumer that has already stored it can store it again). ``result`` holds the counts,
    errors and warnings; they are complete once ``chunks()`` is exhausted, which is also
    when whole-file errors found in the rows (too many rows, no data row) are raised.
    """

    def __init__(self, rows, plan: ColumnPlan, *, sheet_name: str, max_rows: int, max_errors: int):
        self._rows = rows
        self._plan = plan
        self._max_rows = max_rows
        self._max_errors = max_errors
        self.result = ParseResult(
            column_mapping=plan.mapping(),
            header_mapping=plan.header_mapping(),
            custom_columns=[key for _i, key in plan.custom],
            sheet_name=sheet_name,
            header_row=plan.header_row,
        )
        self.late_merges: dict[str, dict] = {}  # RUT -> its debtor, changed after its chunk

    def chunks(self, size: int = 5_000) -> Iterator[list[dict]]:
        """The debtors, ``size`` at a time (the rows can be read only once)."""
        rows, self._rows = self._rows, None
        if rows is None:
            raise RuntimeError("The rows of a ContactReader can be read only once.")
        return _parse_rows(
            rows,
            self._plan,
            self.result,
            self.late_merges,
            chunk_size=size,
            max_rows=self._max_rows,
            max_errors=self._max_errors,
        )


@contextmanager
def open_contacts(
    source,
    *,
    column_mapping: dict | None = None,
    max_rows: int = 200_000,
    max_bytes: int = 50 * 1024 * 1024,
    max_errors: int = 1_000,
) -> Iterator[ContactReader]:
    """Open a debtor spreadsheet and find its sheet and header row (``read_contacts`` has
    the rules); the ``ContactReader`` it gives then normalises the data rows on demand, so a
    caller can store the first debtors while the next ones are read.

    Whole-file problems found before the data rows (not a spreadsheet, no recognisable
    columns...) raise ``ExcelError`` on entering the block. The garbage collector is paused
    inside the block: it allocates many dicts and lists but no cycles, so collections would
    only cost time.
    """
    data = _read_source(source, max_bytes)
    container = excel_safety.inspect_container(data)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield _open_sheet(
            _open_workbook(data),
            container,
            column_mapping=column_mapping,
            max_rows=max_rows,
            max_errors=max_errors,
        )
    finally:
        container.close()
        if gc_was_enabled:
            gc.enable()


def _open_sheet(
    workbook, container, *, column_mapping: dict | None, max_rows: int, max_errors: int
) -> ContactReader:
    """A reader on the first sheet with a usable header row, or ExcelError."""
    first_error = None
    first_head = None
    for name in _sheet_order(workbook):
        formulas = excel_safety.scan_xlsx_sheet(container, name) if container.kind == "xlsx" else {}
        rows, first_row, col_offset = _load_rows(workbook, name)
        if formulas:
            rows = _with_formulas(rows, formulas, first_row, col_offset)
        head = list(enumerate(islice(rows, HEADER_SCAN_ROWS), start=first_row + 1))
        if not any(any(row) for _n, row in head):
            continue
        first_head = first_head or head
        try:
            plan = build_plan(head, column_mapping)
        except ExcelError as exc:
            first_error = first_error or exc
            continue
        if plan is None:
            continue
        _check_custom_columns(plan)
        body = chain((row for n, row in head if n > plan.header_row), rows)
        return ContactReader(body, plan, sheet_name=name, max_rows=max_rows, max_errors=max_errors)
    if first_error is not None:
        raise first_error
    if first_head is None:
        raise ExcelError(EMPTY_FILE)
    raise no_columns_error(first_head)


def _check_custom_columns(plan: ColumnPlan) -> None:
    """Extra columns become Retell dynamic variables: as many and as long as JSON custom
    fields may be (batches.debtors.shape)."""
    if len(plan.custom) > MAX_CUSTOM_FIELDS:
        raise ExcelError(
            format_lazy(
                _("Row {row}: {count} extra columns; at most {max} are passed to the agent."),
                row=plan.header_row,
                count=len(plan.custom),
                max=MAX_CUSTOM_FIELDS,
            )
        )
    for _index, key in plan.custom:
        if len(key) > MAX_CUSTOM_KEY:
            raise ExcelError(
                format_lazy(
                    _('Row {row}, column "{header}…": a column name has at most {max} characters.'),
                    row=plan.header_row,
                    header=key[:MAX_CUSTOM_KEY],
                    max=MAX_CUSTOM_KEY,
                )
            )


def _is_blank(row) -> bool:
    return all(c == "" or (c.__class__ is str and not c.strip()) for c in row)


_IGNORED = {"phones": MSG_PHONE_IGNORED, "email": MSG_EMAIL_IGNORED}
_KEPT = (MSG_PHONE_NOT_VALID, MSG_RUT_CHECK_DIGIT_KEPT)  # warnings that say it themselves


def _parse_rows(
    rows,
    plan: ColumnPlan,
    result: ParseResult,
    late_merges: dict[str, dict],
    *,
    chunk_size: int,
    max_rows: int,
    max_errors: int,
) -> Iterator[list[dict]]:
    """Read data rows (the header row excluded) by the plan's columns into the debtor
    normaliser; yield the new debtors ``chunk_size`` at a time and fill ``result`` (see
    ``ContactReader``)."""
    headers = plan.headers
    pending: list[dict] = []  # new debtors not yet yielded
    index = DebtorIndex()
    # Field -> column index, for reading a row and for naming the column of a problem.
    singles = tuple(
        (name, indexes[0]) for name, indexes in plan.columns.items() if name != "phone" and indexes
    )
    phone_is = tuple(plan.columns.get("phone", ()))
    custom = tuple(plan.custom)
    column_of = {name: i for name, i in singles}
    custom_column = {key: i for i, key in custom}
    text_of, normalize = sanitize_text, debtor_normalize
    total = invalid = dropped = 0
    if "rut" not in column_of:
        result.warnings.append({"row": plan.header_row, "column": "RUT", "value": "",
                                "message": str(MSG_NO_RUT_COLUMN)})

    def report(target: list, rownum: int, problem: Problem, message) -> None:
        nonlocal dropped
        if len(target) >= max_errors:
            dropped += 1
            return
        field, item = problem.field, problem.item
        if field == "phones":
            column = phone_is[item or 0]
        else:
            column = custom_column[item] if field == "custom_fields" else column_of[field]
        target.append(
            {
                "row": rownum,
                "column": headers[column],
                "value": text_of(problem.value),
                "message": str(message),
            }
        )

    for rownum, row in enumerate(rows, start=plan.header_row + 1):
        if not any(row):
            continue
        raw = {name: row[i] for name, i in singles}
        raw["phones"] = [row[i] for i in phone_is]
        if custom:
            raw["custom_fields"] = {key: row[i] for i, key in custom}
        debtor, problems = normalize(raw, row=rownum)
        if debtor is None and _is_blank(row):
            continue
        total += 1
        if total > max_rows:
            raise ExcelError(
                format_lazy(
                    _("The file has more than {max_rows} data rows. Split it into smaller files."),
                    max_rows=max_rows,
                )
            )
        if debtor is None:
            invalid += 1
            for problem in problems:
                if not problem.ignorable:
                    report(result.errors, rownum, problem, problem.message)
            continue
        for problem in problems:
            kept = any(problem.message is m for m in _KEPT)
            report(result.warnings, rownum, problem,
                   problem.message if kept else _IGNORED[problem.field])
        first = index.add(debtor)
        if first is None:
            pending.append(debtor)
            if len(pending) >= chunk_size:
                yield pending
                pending = []
        else:
            # Rows only grow: a first row above the pending chunk's was yielded already.
            if not pending or first["row"] < pending[0]["row"]:
                late_merges[debtor_key(first)] = first
            merge = (Problem("rut", None, raw["rut"], merged_message(first), ignorable=True)
                     if debtor["rut"] else
                     Problem("phones", 0, debtor["phones"][0], merged_message(first), True))
            report(result.warnings, rownum, merge, merge.message)
    if total == 0:
        raise ExcelError(NO_DATA_ROWS)
    result.total_rows = total
    result.invalid_rows = invalid
    result.duplicates_merged = index.merged
    result.errors_truncated = dropped > 0
    if pending:
        yield pending
