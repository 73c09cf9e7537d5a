"""Checks that run before python-calamine touches an uploaded file.

calamine materialises a whole sheet as a dense rows × columns array in Rust before the first
row reaches Python, and a failed allocation aborts the process (no exception). A 5 KB xlsx
with cells at A1 and XFD1048576, or an .ods with a repeated cell, kills the worker. So:

* the file type is decided from magic bytes (zip or OLE2), never from the file name;
* zip containers are checked from the central directory (entry count, declared expanded
  size, compression ratio), and every XML part calamine reads is streamed here first, which
  also verifies the declared sizes (zipfile stops at the declared size and checks the CRC);
* the cell area of each xlsx sheet (and each .ods table) is bounded before it is loaded;
* while streaming an xlsx sheet, cells holding a formula without a cached value are
  collected: calamine reads them as empty, we keep their text (``=...``) verbatim.

Legacy .xls (OLE2/BIFF) is limited by the format itself to 65,536 × 256 cells.
"""

from __future__ import annotations

import html
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from batches.excel_headers import ExcelError

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_EXPANDED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100
RATIO_CHECK_FROM = 20 * 1024 * 1024
MAX_ZIP_ENTRIES = 5_000
MAX_SHEET_CELLS = 10_000_000
_CHUNK = 1 << 20
_MB = 1024 * 1024

NOT_A_SPREADSHEET = _(
    "The file is not an Excel spreadsheet (.xlsx, .xls or .ods). "
    "If it is a CSV or another format, open it in Excel and save it as .xlsx."
)
DAMAGED = _("The file is damaged and cannot be read.")
PASSWORD_PROTECTED = _("The file is password-protected. Remove the password and upload it again.")
XLSB_UNSUPPORTED = _("Binary Excel workbooks (.xlsb) are not supported; save the file as .xlsx.")


def too_large_when_expanded() -> ExcelError:
    return ExcelError(
        format_lazy(
            _("The file expands to more than {limit} MB when opened and cannot be processed."),
            limit=MAX_EXPANDED_BYTES // _MB,
        )
    )


def sheet_too_large(sheet: str, rows: int, columns: int) -> ExcelError:
    return ExcelError(
        format_lazy(
            _('The sheet "{sheet}" spans too many cells ({rows} rows × {columns} columns).'),
            sheet=sheet,
            rows=rows,
            columns=columns,
        )
    )


@dataclass
class Container:
    """What we learnt about the upload before handing it to calamine."""

    kind: str  # "xlsx", "ods" or "xls"
    archive: zipfile.ZipFile | None = None
    sheet_parts: dict[str, str] = field(default_factory=dict)  # xlsx sheet name → part path

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


def inspect_container(data: bytes) -> Container:
    """Decide the file type from its magic bytes and check zip containers; raise ExcelError."""
    if data.startswith(OLE2_MAGIC):
        # An encrypted xlsx is an OLE2 file with an "EncryptedPackage" stream.
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise ExcelError(PASSWORD_PROTECTED)
        return Container(kind="xls")
    if not data.startswith(ZIP_MAGIC):
        raise ExcelError(NOT_A_SPREADSHEET)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ExcelError(DAMAGED) from exc
    try:
        return _inspect_zip(archive, infos)
    except BaseException:
        archive.close()
        raise


def _inspect_zip(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> Container:
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ExcelError(DAMAGED)
    if sum(info.file_size for info in infos) > MAX_EXPANDED_BYTES:
        raise too_large_when_expanded()
    for info in infos:
        if info.flag_bits & 0x1:
            raise ExcelError(PASSWORD_PROTECTED)
        if info.file_size > RATIO_CHECK_FROM and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise too_large_when_expanded()
    names = {info.filename for info in infos}
    if "xl/workbook.xml" in names:
        container = Container(kind="xlsx", archive=archive)
        container.sheet_parts, other_parts = _xlsx_parts(archive)
        for name in other_parts:  # shared strings, styles...: read when opening the workbook
            _verify_part(archive, name)
        return container
    if "xl/workbook.bin" in names:
        raise ExcelError(XLSB_UNSUPPORTED)
    if "content.xml" in names and "mimetype" in names:
        container = Container(kind="ods", archive=archive)
        _check_ods_content(archive)
        return container
    raise ExcelError(NOT_A_SPREADSHEET)


def _stream(archive: zipfile.ZipFile, name: str):
    """Yield the part's bytes in chunks; sizes are bounded by the central directory."""
    try:
        with archive.open(name) as part:
            while chunk := part.read(_CHUNK):
                yield chunk
    except KeyError:
        return
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise ExcelError(DAMAGED) from exc
    except Exception as exc:  # zlib.error, NotImplementedError (unknown compression)
        raise ExcelError(DAMAGED) from exc


def _verify_part(archive: zipfile.ZipFile, name: str) -> None:
    for _chunk in _stream(archive, name):
        pass


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        if archive.getinfo(name).file_size > 16 * _MB:
            raise ExcelError(DAMAGED)
    except KeyError:
        return b""
    return b"".join(_stream(archive, name))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xlsx_parts(archive: zipfile.ZipFile) -> tuple[dict[str, str], set[str]]:
    """(sheet name → worksheet part, the workbook's other related parts)."""
    try:
        workbook = ElementTree.fromstring(_read_small(archive, "xl/workbook.xml"))
        rels = ElementTree.fromstring(_read_small(archive, "xl/_rels/workbook.xml.rels") or b"<r/>")
    except ElementTree.ParseError as exc:
        raise ExcelError(DAMAGED) from exc
    targets = {}
    for rel in rels.iter():
        if _local(rel.tag) == "Relationship" and rel.get("Target"):
            target = rel.get("Target")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[rel.get("Id")] = posixpath.normpath(path)
    parts = {}
    for sheet in workbook.iter():
        if _local(sheet.tag) == "sheet":
            rel_id = next((v for k, v in sheet.attrib.items() if _local(k) == "id"), None)
            if rel_id in targets and sheet.get("name") is not None:
                parts[sheet.get("name")] = targets[rel_id]
    return parts, set(targets.values()) - set(parts.values())


# Any cell or row reference beyond column BZ (78) or row 299,999: worth an exact look.
_FAR_REF = re.compile(
    rb' r="(?:[A-Z]{3,}[0-9]|[C-Z][A-Z][0-9]|[A-Z]{0,2}(?:[3-9][0-9]{5}|[0-9]{7,})")'
)
_REF = re.compile(rb'<(?:c|row)\b[^>]*? r="([A-Z]*)([0-9]+)"')
_FORMULA_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*>\s*<f(?:\s[^>]*)?>([^<]+)</f>'
    rb"\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>"
)


def _column_number(letters: bytes) -> int:
    number = 0
    for byte in letters:
        number = number * 26 + byte - 64
    return number


def _sheet_extent(archive: zipfile.ZipFile, part: str) -> tuple[int, int]:
    max_row = max_col = 0
    carry = b""
    for chunk in _stream(archive, part):
        buffer = carry + chunk
        cut = max(buffer.rfind(b"<c "), buffer.rfind(b"<row "), 0)
        for letters, digits in _REF.findall(buffer, 0, cut):
            max_row = max(max_row, int(digits))
            if letters:
                max_col = max(max_col, _column_number(letters))
        carry = buffer[cut:]
    for letters, digits in _REF.findall(carry):
        max_row = max(max_row, int(digits))
        if letters:
            max_col = max(max_col, _column_number(letters))
    return max_row, max_col


def scan_xlsx_sheet(container: Container, sheet: str) -> dict[int, list[tuple[int, str]]]:
    """Bound the sheet's cell area, then return formulas without cached values as
    {0-based row: [(0-based column, "=formula"), ...]}. Raises ExcelError."""
    archive = container.archive
    part = container.sheet_parts.get(sheet)
    if archive is None:
        raise ExcelError(DAMAGED)
    if part is not None:
        return _scan_part(archive, part, sheet)
    # The name does not match workbook.xml: check every worksheet part calamine could load.
    for name in archive.namelist():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            _scan_part(archive, name, sheet)
    return {}


def _scan_part(archive: zipfile.ZipFile, part: str, sheet: str) -> dict:
    formulas: dict[int, list[tuple[int, str]]] = {}
    far = False
    carry = b""
    for chunk in _stream(archive, part):
        buffer = carry + chunk
        cut = max(buffer.rfind(b"<c "), buffer.rfind(b"<row "))
        if cut <= 0:
            cut = max(len(buffer) - 64, 0)
        far = far or _FAR_REF.search(buffer, 0, cut) is not None
        if buffer.find(b"<f", 0, cut) != -1:
            _collect_formulas(buffer[:cut], formulas)
        carry = buffer[cut:]
    far = far or _FAR_REF.search(carry) is not None
    _collect_formulas(carry, formulas)
    if far:
        rows, columns = _sheet_extent(archive, part)
        if rows * max(columns, 1) > MAX_SHEET_CELLS:
            raise sheet_too_large(sheet, rows, columns)
    return formulas


def _collect_formulas(buffer: bytes, formulas: dict[int, list[tuple[int, str]]]) -> None:
    for letters, digits, text in _FORMULA_CELL.findall(buffer):
        formula = html.unescape(text.decode("utf-8", "replace")).strip()
        if formula:
            row = int(digits) - 1
            formulas.setdefault(row, []).append((_column_number(letters) - 1, "=" + formula))


_ODS_TAG = re.compile(
    rb"<table:table-row(?=[\s/>])([^>]*)>|</table:table-row>"
    rb"|<table:(?:covered-)?table-cell(?=[\s/>])([^>]*?)(/?)>|<table:table(?=[\s>])([^>]*)>"
)
_ODS_TABLE_NAME = re.compile(rb'table:name="([^"]*)"')
_ODS_ROWS_REPEATED = re.compile(rb'number-rows-repeated="([0-9]+)"')
_ODS_COLS_REPEATED = re.compile(rb'number-columns-repeated="([0-9]+)"')


def _check_ods_content(archive: zipfile.ZipFile) -> None:
    """Bound each table's filled area, counting repeated rows/cells (the .ods bomb).

    Repeated *empty* cells and rows (LibreOffice pads every sheet with them) do not count.
    """
    table = ""
    rows = columns = 0  # extent of the filled cells of the current table
    row_at = col_at = 0  # position of the current row / cell
    row_repeat = 1
    row_has_value = False
    carry = b""
    for chunk in _stream(archive, "content.xml"):
        buffer = carry + chunk
        cut = max(buffer.rfind(b"<"), 0)
        for match in _ODS_TAG.finditer(buffer, 0, cut):
            row_attrs, cell_attrs = match.group(1), match.group(2)
            if row_attrs is not None:  # a row starts
                repeated = _ODS_ROWS_REPEATED.search(row_attrs)
                row_repeat = int(repeated.group(1)) if repeated else 1
                col_at, row_has_value = 0, False
                if not row_attrs.endswith(b"/"):
                    continue
            elif cell_attrs is not None:
                repeated = _ODS_COLS_REPEATED.search(cell_attrs)
                span = int(repeated.group(1)) if repeated else 1
                if b"value-type" in cell_attrs or not match.group(3):
                    row_has_value = True
                    columns = max(columns, col_at + span)
                col_at += span
                if row_has_value and (row_at + row_repeat) * columns > MAX_SHEET_CELLS:
                    raise sheet_too_large(table, row_at + row_repeat, columns)
                continue
            elif match.group(4) is not None:  # a new table (sheet)
                name = _ODS_TABLE_NAME.search(match.group(4))
                table = html.unescape(name.group(1).decode("utf-8", "replace")) if name else ""
                rows = columns = row_at = 0
                continue
            # the row ends (or was self-closing)
            if row_has_value:
                rows = row_at + row_repeat
            row_at += row_repeat
            if rows * columns > MAX_SHEET_CELLS:
                raise sheet_too_large(table, rows, columns)
        carry = buffer[cut:]
