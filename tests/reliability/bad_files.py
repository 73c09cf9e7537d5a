"""Builders of the bad-spreadsheet corpus, generated at test time (no binary file is
committed). Each builder returns the file's bytes or writes it under a directory and returns
its path; ``CORPUS`` lists the small ones with the upload name a user would give them.

xlsx files are written as raw SpreadsheetML with zipfile (much faster than openpyxl for the
large ones, and able to write what openpyxl refuses to: lying dimensions, far cells).
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

HEADERS = ("Nombre", "RUT", "Teléfono", "Monto")
GOOD_ROW = ("Ana Pérez", "12.345.678-5", "+56987654321", "150000")

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Deudores" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def row_xml(number: int, values, *, formulas: dict[int, str] | None = None) -> str:
    cells = []
    for index, value in enumerate(values):
        ref = f"{_column(index)}{number}"
        if formulas and index in formulas:
            cells.append(f'<c r="{ref}"><f>{_escape(formulas[index])}</f></c>')
        else:
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{_escape(str(value))}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


def _package(target, sheet_chunks, *, dimension: str | None = None) -> None:
    """Write an xlsx to ``target`` (a path or a binary file), the sheet streamed in chunks."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(SHEET_OPEN.encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            for chunk in sheet_chunks:
                sheet.write(chunk.encode() if isinstance(chunk, str) else chunk)
            sheet.write(b"</sheetData></worksheet>")


def xlsx(rows, *, dimension: str | None = None, formulas=None) -> bytes:
    """A small xlsx from ``rows`` (the first is the header row)."""
    out = io.BytesIO()
    chunks = [row_xml(n, values, formulas=(formulas or {}).get(n))
              for n, values in enumerate(rows, start=1)]
    _package(out, chunks, dimension=dimension)
    return out.getvalue()


# --- the corpus -----------------------------------------------------------------------------


def valid() -> bytes:
    return xlsx([HEADERS, GOOD_ROW])


def not_a_spreadsheet() -> bytes:
    return "Estimado cliente: adjunto la cartera de deudores.\n".encode("latin-1") * 20


def renamed_csv() -> bytes:
    lines = [",".join(HEADERS), ",".join(GOOD_ROW)] * 10
    return ("\n".join(lines) + "\n").encode()


def binary_junk() -> bytes:
    return os.urandom(64 * 1024)


def empty() -> bytes:
    return b""


def zip_not_xlsx() -> bytes:
    """A zip archive, but of photos: the right magic bytes, no workbook."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("vacaciones/foto1.jpg", os.urandom(2048))
    return out.getvalue()


def truncated_xlsx() -> bytes:
    data = valid()
    return data[: len(data) // 2]


def cfb_magic_and_junk() -> bytes:
    """The 8-byte OLE2/CFB magic of an encrypted (or legacy) Office file, then junk."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(8 * 1024)


def cfb_encrypted_package() -> bytes:
    """A minimal CFB header and directory naming the streams of an encrypted OOXML file
    (EncryptionInfo, EncryptedPackage), as Excel writes for a password-protected workbook."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    directory = bytearray(512)
    for slot, name in enumerate(("Root Entry", "EncryptionInfo", "EncryptedPackage")):
        encoded = name.encode("utf-16-le") + b"\0\0"
        base = slot * 128
        directory[base:base + len(encoded)] = encoded
        struct.pack_into("<HB", directory, base + 64, len(encoded), 5 if slot == 0 else 2)
    return bytes(header) + bytes(directory) + os.urandom(4096)


def password_protected(password: str = "secreto") -> bytes:
    """A real password-protected xlsx (ECMA-376 agile encryption), when msoffcrypto-tool is
    installed; else the CFB skeleton above."""
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:  # pragma: no cover - the dev requirements install it
        return cfb_encrypted_package()
    plain, encrypted = io.BytesIO(valid()), io.BytesIO()
    OOXMLFile(plain).encrypt(password, encrypted)
    return encrypted.getvalue()


def huge_dimension() -> bytes:
    """A 1 KB file whose dimension claims the whole sheet (A1:XFD1048576)."""
    return xlsx([HEADERS, GOOD_ROW], dimension="A1:XFD1048576")


def far_cell() -> bytes:
    """Two real rows and one cell at the last row and column: 17 billion cells if a reader
    allocates the rectangle."""
    out = io.BytesIO()
    chunks = [row_xml(1, HEADERS), row_xml(2, GOOD_ROW),
              '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>']
    _package(out, chunks)
    return out.getvalue()


def formulas() -> bytes:
    """Formulas in every column of the data rows (=HYPERLINK, =cmd|, =1+1) without cached
    values: read as text, never evaluated; the row is invalid (no RUT, no phone)."""
    cells = {2: {0: 'HYPERLINK("http://evil.example","x")', 1: "1+1",
                 2: "cmd|' /C calc'!A0", 3: "SUM(A1:A9)"}}
    return xlsx([HEADERS, ("", "", "", "")], formulas=cells)


def wrong_columns() -> bytes:
    return xlsx([("Producto", "Precio", "Stock"), ("Silla", "19990", "4")])


def headers_only() -> bytes:
    return xlsx([HEADERS])


CORPUS = {
    # name: (builder, upload file name)
    "not_a_spreadsheet": (not_a_spreadsheet, "cartera.xlsx"),
    "renamed_csv": (renamed_csv, "cartera.xlsx"),
    "binary_junk": (binary_junk, "cartera.xlsx"),
    "empty": (empty, "cartera.xlsx"),
    "zip_not_xlsx": (zip_not_xlsx, "cartera.xlsx"),
    "truncated_xlsx": (truncated_xlsx, "cartera.xlsx"),
    "cfb_magic_and_junk": (cfb_magic_and_junk, "cartera.xlsx"),
    "cfb_encrypted_package": (cfb_encrypted_package, "cartera.xlsx"),
    "password_protected": (password_protected, "cartera.xlsx"),
    "huge_dimension": (huge_dimension, "cartera.xlsx"),
    "far_cell": (far_cell, "cartera.xlsx"),
    "formulas": (formulas, "cartera.xlsx"),
    "wrong_columns": (wrong_columns, "cartera.xlsx"),
    "headers_only": (headers_only, "cartera.xlsx"),
}


# --- the large ones, written to disk once per session ---------------------------------------


def many_rows(path: Path, rows: int = 300_000) -> Path:
    """``rows`` valid-looking debtor rows (about 6 MB zipped)."""

    def chunks():
        yield row_xml(1, HEADERS)
        batch = []
        for n in range(2, rows + 2):
            batch.append(
                f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>Deudor {n}</t></is></c>'
                f'<c r="B{n}"><v>{10_000_000 + n}</v></c>'
                f'<c r="C{n}"><v>569{10_000_000 + n}</v></c><c r="D{n}"><v>{n}</v></c></row>'
            )
            if len(batch) == 5000:
                yield "".join(batch)
                batch = []
        yield "".join(batch)

    _package(path, chunks())
    return path


def zip_bomb(path: Path, expanded_mb: int = 400) -> Path:
    """A small xlsx whose sheet expands to ``expanded_mb`` MB of (valid) XML."""
    filler = ('<row r="2"><c r="A2" t="inlineStr"><is><t>' + "A" * 1_000_000
              + "</t></is></c></row>").encode()

    def chunks():
        yield row_xml(1, HEADERS)
        for _ in range(expanded_mb):
            yield filler

    _package(path, chunks())
    return path
