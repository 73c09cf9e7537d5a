import datetime
import io
import os
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
    settings.configure(USE_I18N=False)  # lets the module run without the project settings

from openpyxl import Workbook  # noqa: E402

from batches import excel, excel_safety  # noqa: E402
from batches.debtors.normalize import MSG_NO_PHONE  # noqa: E402
from batches.debtors.rut import MSG_RUT_FORMAT, rut_check_digit  # noqa: E402
from batches.excel import MSG_NO_RUT_COLUMN, ExcelError, read_contacts  # noqa: E402
from batches.excel_headers import (  # noqa: E402
    HEADER_SYNONYMS,
    field_for_header,
    normalize_header,
)

SAMPLES = Path("/work/shared/samples")
HEADERS = ["Nombre", "RUT", "Teléfono", "Celular", "Correo", "Monto", "Vencimiento", "Cuotas"]


def _xlsx(*sheets: tuple[str, list[list]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rows(*rows: list) -> bytes:
    return _xlsx(("Hoja1", list(rows)))


def _rewrite_part(data: bytes, part: str, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, change(content) if info.filename == part else content)
    return out.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in entries.items():
            target.writestr(name, content)
    return out.getvalue()


def _ods(table_xml: str) -> bytes:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Hoja1">'
        f"{table_xml}</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        mimetype = "application/vnd.oasis.opendocument.spreadsheet"
        target.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        target.writestr("content.xml", content)
        target.writestr("META-INF/manifest.xml", manifest)
    return out.getvalue()


def _ods_row(*cells: str, repeat: int = 1) -> str:
    repeated = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    body = "".join(
        f'<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>'
        for c in cells
    )
    return f"<table:table-row{repeated}>{body}</table:table-row>"


def _error_rows(result) -> dict[int, list[str]]:
    rows: dict[int, list[str]] = {}
    for error in result.errors:
        rows.setdefault(error["row"], []).append(error["column"])
    return rows


# --- header names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised", "field"),
    [
        ("Teléfono", "telefono", "phone"),
        ("telefono_1", "telefono 1", "phone"),
        ("Fono 3", "fono 3", "phone"),
        ("Monto Deuda ($)", "monto deuda", "debt_amount"),
        ("N° cuotas", "n cuotas", "installments"),
        ("Nº Cuotas", "no cuotas", "installments"),
        ("cantidad_cupones", "cantidad cupones", "installments"),
        ("R.U.T.", "r u t", "rut"),
        ("E-mail", "e mail", "email"),
        ("  Compañía ", "compania", "company_name"),
        ("Fecha_Vencimiento", "fecha vencimiento", "due_date"),
        ("Observación", "observacion", None),
        ("Monto 2", "monto 2", None),
    ],
)
def test_header_names(text, normalised, field):
    assert normalize_header(text) == normalised
    assert field_for_header(text) == field


def test_header_synonyms_are_normalised_and_unambiguous():
    seen = {}
    for field, synonyms in HEADER_SYNONYMS.items():
        for synonym in synonyms:
            assert normalize_header(synonym) == synonym
            assert seen.setdefault(synonym, field) == field
    assert {
        "nombre",
        "rut",
        "telefono",
        "correo",
        "monto deuda",
        "fecha vencimiento",
        "cuotas",
        "empresa",
    } <= set(seen)


# --- the sample files ---------------------------------------------------------------------


def test_dirty_sample_gives_the_documented_result():
    result = read_contacts(SAMPLES / "deudores_sucio.xlsx")

    assert result.sheet_name == "Cartera"
    assert result.header_row == 1
    assert len(result.contacts) == 43  # "Rut Malo" is kept: a wrong check digit is a warning
    assert result.invalid_rows == 2
    assert result.duplicates_merged == 1
    assert result.total_rows == 46  # 47 rows below the header, one of them blank
    assert _error_rows(result) == {
        44: ["Teléfono", "Celular"],  # "Sin Telefono": abc and 123
        47: ["Monto Deuda ($)", "Fecha Vencimiento"],  # "Monto Raro": -500 and 31/02/2025
    }
    assert result.column_mapping == {
        "name": "Nombre Cliente",
        "rut": "RUT",
        "phone": ["Teléfono", "Celular"],
        "email": "Correo",
        "debt_amount": "Monto Deuda ($)",
        "due_date": "Fecha Vencimiento",
        "installments": "Cuotas",
        "company_name": "Empresa",
    }
    assert result.custom_columns == []
    by_row = {c["row"]: c for c in result.contacts}
    assert 13 not in by_row and 45 not in by_row  # the blank row and the merged duplicate
    fourth = by_row[5]  # "Duplicado Mismo Rut" (row 45) was merged into the 4th debtor
    assert fourth["rut"] == "8572373-1"
    assert fourth["phones"] == ["+56964888899", "+56957859150", "+56988887777"]
    assert [w["row"] for w in result.warnings] == [43, 45]
    assert "dígito verificador" in result.warnings[0]["message"]
    assert by_row[43]["rut"] == "4897550-6"  # as written
    assert by_row[46]["name"] == "Fijo Santiago"
    assert by_row[46]["phones"] == ["+56223456789"]
    formula = by_row[48]
    assert formula["name"] == '=HYPERLINK("http://x","y")'  # kept as text, never evaluated
    assert formula["rut"] == "17000000-5"
    assert by_row[2] == {
        "row": 2,
        "name": "José Muñoz Rodríguez",
        "rut": "4897549-6",
        "phones": ["+56944493909", "+56986858784"],
        "email": "c0@mail.cl",
        "debt_amount": "153890.00",
        "due_date": "2025-11-29",
        "installments": 17,
        "company_name": "Financiera Andes",
        "custom_fields": {},
    }
    assert by_row[3]["debt_amount"] == "2945430.00"  # "$2.945.430"
    assert by_row[3]["due_date"] == "2025-11-27"  # "27-11-2025"
    assert by_row[31]["rut"] == "3788989-K"  # lower-case k
    assert by_row[7]["phones"] == ["+56934570478"]  # a number cell (934570478.0)


def test_basic_sample_is_all_valid():
    result = read_contacts(SAMPLES / "deudores_basico.xlsx")

    assert len(result.contacts) == 25
    assert result.errors == []
    assert result.warnings == []
    assert result.invalid_rows == 0
    assert result.duplicates_merged == 0
    assert result.column_mapping["phone"] == ["telefono_1", "telefono_2"]
    assert result.column_mapping["installments"] == "cantidad_cupones"
    first = result.contacts[0]
    assert first["phones"] == ["+56961777631", "+56986907439"]
    assert first["email"] == "benjamín968@correo.cl"
    assert first["due_date"] == "2025-12-28"
    assert first["installments"] == 6


def test_reads_bytes_paths_and_file_objects(tmp_path):
    data = (SAMPLES / "deudores_basico.xlsx").read_bytes()
    path = tmp_path / "deudores.xlsx"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        from_file = read_contacts(handle)
    for result in (
        read_contacts(data),
        read_contacts(str(path)),
        read_contacts(io.BytesIO(data)),
        from_file,
    ):
        assert len(result.contacts) == 25


# --- layout -------------------------------------------------------------------------------


def test_header_below_title_rows_with_real_row_numbers():
    data = _rows(
        ["Cartera morosa noviembre"],
        [],
        ["Generado el", datetime.date(2025, 11, 1)],
        ["Nombre", "R.U.T.", "Fono 1", "Fono 2", "Sucursal", "Fecha de Ingreso"],
        ["Ana Soto", "12.345.678-5", "962345678", "", "Centro", datetime.date(2024, 5, 6)],
        [],
        ["  ", None, " "],
        ["Luis Rojas", "8.080.815-1", "", 922463572.0, 1234.0, None],
    )
    result = read_contacts(data)

    assert result.header_row == 4
    assert [c["row"] for c in result.contacts] == [5, 8]
    assert result.total_rows == 2
    assert result.column_mapping == {
        "name": "Nombre",
        "rut": "R.U.T.",
        "phone": ["Fono 1", "Fono 2"],
    }
    assert result.custom_columns == ["Sucursal", "Fecha de Ingreso"]
    assert result.contacts[0]["custom_fields"] == {
        "Sucursal": "Centro",
        "Fecha de Ingreso": "2024-05-06",
    }
    assert result.contacts[1]["custom_fields"] == {"Sucursal": "1234"}
    assert result.contacts[1]["phones"] == ["+56922463572"]


def test_data_that_starts_at_c5_keeps_excel_row_numbers():
    workbook = Workbook()
    sheet = workbook.active
    for row, values in ((5, ["RUT", "Celular", "Nota"]), (6, ["12345678-5", 962345678, "=1+1"])):
        for offset, value in enumerate(values):
            sheet.cell(row=row, column=3 + offset, value=value)
    sheet["E6"].data_type = "s"  # a text cell that looks like a formula, not a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = read_contacts(buffer.getvalue())
    assert result.header_row == 5
    assert [(c["row"], c["rut"], c["custom_fields"]) for c in result.contacts] == [
        (6, "12345678-5", {"Nota": "=1+1"})
    ]


def test_header_far_below_the_top_is_found():
    rows = [[] for _ in range(39)] + [HEADERS, ["Ana", "12345678-5", "962345678"]]
    result = read_contacts(_rows(*rows))
    assert result.header_row == 40
    assert [c["row"] for c in result.contacts] == [41]


def test_uses_the_first_sheet_with_a_header():
    data = _xlsx(
        ("Notas", [["Exportado del sistema"], ["sin datos"]]),
        ("Datos", [["Deudor", "RUT", "Celular"], ["Ana", "12345678-5", "962345678"]]),
    )
    result = read_contacts(data)
    assert result.sheet_name == "Datos"
    assert [c["name"] for c in result.contacts] == ["Ana"]


def test_column_mapping_overrides_detection():
    data = _rows(
        ["Persona", "Documento", "Contacto A", "Contacto B", "Correo", "Teléfono"],
        ["Ana", "12345678-5", "962345678", "(2) 2345 6789", "ana@x.cl", "933334444"],
    )
    mapping = {"name": "Persona", "rut": "documento", "phone": ["Contacto A", "Contacto B"]}
    result = read_contacts(data, column_mapping=mapping)

    contact = result.contacts[0]
    assert contact["rut"] == "12345678-5"
    assert contact["phones"] == ["+56962345678", "+56223456789"]  # not the "Teléfono" column
    assert contact["email"] == "ana@x.cl"  # fields not in the mapping are still detected
    assert contact["custom_fields"] == {"Teléfono": "933334444"}
    assert result.column_mapping["rut"] == "Documento"


def test_column_mapping_can_switch_a_field_off():
    data = _rows(HEADERS, ["Ana", "12345678-5", "962345678", "", "ana@x.cl", 10, "", 1])
    result = read_contacts(data, column_mapping={"email": None})
    assert result.contacts[0]["email"] is None
    assert result.contacts[0]["custom_fields"] == {"Correo": "ana@x.cl"}


def test_column_mapping_unknown_header_is_named():
    data = _rows(HEADERS, ["Ana", "12345678-5", "962345678"])
    with pytest.raises(ExcelError) as caught:
        read_contacts(data, column_mapping={"rut": "Documento"})
    assert "Documento" in str(caught.value)
    assert "Teléfono" in str(caught.value)  # and what the file has


def test_column_mapping_unknown_field_is_named():
    data = _rows(HEADERS, ["Ana", "12345678-5", "962345678"])
    with pytest.raises(ExcelError) as caught:
        read_contacts(data, column_mapping={"saldo_mora": "Monto"})
    assert "saldo_mora" in str(caught.value)


# --- row rules ----------------------------------------------------------------------------


def test_row_validity_rules():
    data = _rows(
        HEADERS,
        ["Rut raro", "abc", "962345678"],
        ["Sin fono", "12345678-5", "", ""],
        ["Fono malo", "12345678-5", "123", "x"],
        ["Cuotas raras", "12345678-5", "962345678", "", "", 100, "01/02/2025", 2.5],
        ["Fecha rara", "12345678-5", "962345678", "", "", 100, "pronto", 2],
        ["Monto raro", "12345678-5", "962345678", "", "", "mucho", "", ""],
        ["Bien", "8.080.815-1", "962345678", "", "", "  ", " ", ""],
    )
    result = read_contacts(data)

    assert _error_rows(result) == {
        2: ["RUT"],
        3: ["Teléfono"],
        4: ["Teléfono", "Celular"],
        5: ["Cuotas"],
        6: ["Vencimiento"],
        7: ["Monto"],
    }
    assert result.errors[0] == {
        "row": 2,
        "column": "RUT",
        "value": "abc",
        "message": str(MSG_RUT_FORMAT),
    }
    assert result.errors[1]["message"] == str(MSG_NO_PHONE)
    assert result.invalid_rows == 6
    assert [c["name"] for c in result.contacts] == ["Bien"]
    assert result.contacts[0]["debt_amount"] is None  # a cell of spaces is empty, not an error


def test_invalid_extra_phone_and_email_are_warnings():
    data = _rows(HEADERS, ["Ana", "12345678-5", "962345678 / 123", "abc", "ana@", 10, "", ""])
    result = read_contacts(data)

    assert result.errors == []
    assert result.invalid_rows == 0
    contact = result.contacts[0]
    assert contact["phones"] == ["+56962345678"]
    assert contact["email"] is None
    assert [(w["column"], w["value"]) for w in result.warnings] == [
        ("Teléfono", "123"),
        ("Celular", "abc"),
        ("Correo", "ana@"),
    ]


def test_duplicate_rut_is_merged_into_the_first_row():
    data = _rows(
        HEADERS + ["Sucursal"],
        ["Ana", "12.345.678-5", "962345678", "", "", "", "", "", "Centro"],
        ["Otra", "9.876.543-3", "933334444"],
        ["Ana Soto", "123456785", "+56 9 6234 5678", "944445555", "ana@x.cl", 5000, "", 3, "Sur"],
    )
    result = read_contacts(data)

    assert result.duplicates_merged == 1
    assert len(result.contacts) == 2
    ana = result.contacts[0]
    assert ana["row"] == 2
    assert ana["name"] == "Ana"  # the first row wins
    assert ana["phones"] == ["+56962345678", "+56944445555"]
    assert ana["email"] == "ana@x.cl"  # missing fields are filled from the later row
    assert ana["debt_amount"] == "5000.00"
    assert ana["installments"] == 3
    assert ana["custom_fields"] == {"Sucursal": "Centro"}
    assert result.warnings[0]["row"] == 4


def test_errors_beyond_max_errors_are_counted_not_kept():
    data = _rows(HEADERS, *[["X", "abc", "962345678"] for _ in range(12)])
    result = read_contacts(data, max_errors=5)
    assert result.invalid_rows == 12
    assert len(result.errors) == 5
    assert result.errors_truncated is True


def test_formula_cells_keep_cached_values_or_their_text():
    def add_formulas(xml: bytes) -> bytes:
        cell = b'<c r="C2" t="n"><v>0</v></c>'
        assert cell in xml
        return xml.replace(
            cell,
            b'<c r="C2"><f>B9*1</f><v>962345678</v></c>'
            b'<c r="D2"><f>CONCAT(&quot;a&quot;,&quot;b&quot;)</f><v/></c>',
        )

    data = _rewrite_part(
        _rows(["Nombre", "RUT", "Teléfono", "Notas"], ["Ana", "12345678-5", 0]),
        "xl/worksheets/sheet1.xml",
        add_formulas,
    )
    contact = read_contacts(data).contacts[0]
    assert contact["phones"] == ["+56962345678"]  # the cached value of a formula
    assert contact["custom_fields"] == {"Notas": '=CONCAT("a","b")'}  # no cached value: its text


def test_opendocument_spreadsheet():
    table = (
        _ods_row("Nombre", "RUT", "Celular")
        + _ods_row("Ana", "12345678-5", "962345678")
        + '<table:table-row table:number-rows-repeated="1048000">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    result = read_contacts(_ods(table))
    assert [(c["row"], c["rut"], c["phones"]) for c in result.contacts] == [
        (2, "12345678-5", ["+56962345678"])
    ]


# --- whole-file problems ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"nombre,rut,telefono\nAna,12345678-5,962345678\n",  # a CSV renamed to .xlsx
        bytes(range(256)) * 40,  # junk
        b"<html><table><tr><td>nombre</td></tr></table></html>",  # "xls" exported as HTML
        _zip({"word/document.xml": b"<w/>"}),  # a zip, but not a spreadsheet
    ],
)
def test_not_a_spreadsheet(data):
    with pytest.raises(ExcelError) as caught:
        read_contacts(data)
    assert caught.value.message == excel_safety.NOT_A_SPREADSHEET


def test_ole2_junk_is_refused():
    with pytest.raises(ExcelError):
        read_contacts(excel_safety.OLE2_MAGIC + bytes(range(256)) * 8)


def test_password_protected_file():
    # An encrypted xlsx is an OLE2 container with an "EncryptedPackage" stream.
    data = excel_safety.OLE2_MAGIC + b"\0" * 1016 + "EncryptedPackage".encode("utf-16-le")
    with pytest.raises(ExcelError) as caught:
        read_contacts(data + b"\0" * 512)
    assert caught.value.message == excel_safety.PASSWORD_PROTECTED


def test_binary_workbook_is_refused():
    with pytest.raises(ExcelError) as caught:
        read_contacts(_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\0"}))
    assert caught.value.message == excel_safety.XLSB_UNSUPPORTED


def test_empty_file_and_empty_workbook():
    with pytest.raises(ExcelError):
        read_contacts(b"")
    buffer = io.BytesIO()
    Workbook().save(buffer)
    with pytest.raises(ExcelError) as caught:
        read_contacts(buffer.getvalue())
    assert caught.value.message == excel.EMPTY_FILE


def test_header_without_data_rows():
    with pytest.raises(ExcelError) as caught:
        read_contacts(_rows(HEADERS, [], []))
    assert caught.value.message == excel.NO_DATA_ROWS


def test_no_recognisable_columns_names_what_was_found():
    data = _rows(["Cliente ID", "Producto", "Saldo Capital"], ["1", "Tarjeta", 10])
    with pytest.raises(ExcelError) as caught:
        read_contacts(data)
    message = str(caught.value)
    assert "RUT" in message
    assert '"Cliente ID", "Producto", "Saldo Capital"' in message


def test_missing_rut_column_is_accepted_with_a_warning():
    result = read_contacts(_rows(["Nombre", "Celular"], ["Ana", "962345678"], ["Eva", "962345678"]))

    assert result.errors == []
    assert result.warnings[0] == {"row": 1, "column": "RUT", "value": "",
                                  "message": str(MSG_NO_RUT_COLUMN)}
    assert [c["name"] for c in result.contacts] == ["Ana"]  # the same phone: merged
    assert result.contacts[0]["rut"] == "" and result.duplicates_merged == 1


def test_too_many_rows_stops_reading_early(monkeypatch):
    consumed = []
    load_rows = excel._load_rows

    def counting_load_rows(workbook, name):
        rows, first_row, first_col = load_rows(workbook, name)
        return (consumed.append(1) or row for row in rows), first_row, first_col

    monkeypatch.setattr(excel, "_load_rows", counting_load_rows)
    data = _rows(HEADERS, *[["Ana", "12345678-5", "962345678"] for _ in range(500)])
    with pytest.raises(ExcelError) as caught:
        read_contacts(data, max_rows=10)
    assert "10" in str(caught.value)
    assert len(consumed) <= excel.HEADER_SCAN_ROWS + 12  # not the 501 rows of the sheet


def test_file_over_max_bytes(tmp_path):
    data = (SAMPLES / "deudores_basico.xlsx").read_bytes()
    path = tmp_path / "big.xlsx"
    path.write_bytes(data)
    for source in (data, path, io.BytesIO(data)):
        with pytest.raises(ExcelError) as caught:
            read_contacts(source, max_bytes=4096)
        assert "MB" in str(caught.value)


def test_zip_bomb_by_compression_ratio():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("xl/workbook.xml", b"<workbook/>")
        with bomb.open("xl/worksheets/sheet1.xml", "w") as part:
            chunk = b"\0" * (1 << 20)
            for _ in range(24):
                part.write(chunk)
    data = out.getvalue()
    assert len(data) < 100_000  # 24 MB that zip to almost nothing
    with pytest.raises(ExcelError) as caught:
        read_contacts(data)
    assert caught.value.message == excel_safety.too_large_when_expanded().message


def test_zip_bomb_by_total_expanded_size(monkeypatch):
    monkeypatch.setattr(excel_safety, "MAX_EXPANDED_BYTES", 64 * 1024)
    rows = [["Ana", "12345678-5", "962345678", f"fila {i}"] for i in range(1500)]
    with pytest.raises(ExcelError) as caught:
        read_contacts(_rows(HEADERS, *rows))
    assert "expands" in str(caught.value)


def test_sheet_with_far_away_cells_is_refused_before_calamine_allocates_it():
    # Two cells at A1 and XFD1048576: 17 billion cells for calamine's dense array, which
    # would abort the process rather than raise.
    far = b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>'
    data = _rewrite_part(
        _rows(HEADERS, ["Ana", "12345678-5", "962345678"]),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"</sheetData>", far),
    )
    with pytest.raises(ExcelError) as caught:
        read_contacts(data)
    assert "1048576" in str(caught.value)


def test_far_but_small_sheet_is_read():
    near = b'<row r="3"><c r="CA3" t="n"><v>1</v></c></row></sheetData>'
    data = _rewrite_part(
        _rows(HEADERS, ["Ana", "12345678-5", "962345678"]),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"</sheetData>", near),
    )
    assert len(read_contacts(data).contacts) == 1


def test_opendocument_repeated_cells_bomb_is_refused():
    bomb = (
        '<table:table-row table:number-rows-repeated="1000000">'
        '<table:table-cell table:number-columns-repeated="16000" office:value-type="float" '
        'office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>'
    )
    with pytest.raises(ExcelError):
        read_contacts(_ods(_ods_row("Nombre", "RUT", "Celular") + bomb))


def test_open_contacts_streams_the_same_debtors_as_read_contacts():
    data = _rows(
        HEADERS,
        *[[f"Deudor {n}", _rut(n), f"9623456{n:02d}"] for n in range(7)],
        ["Otra vez 1", _rut(1), "933334444", "", "uno@x.cl"],  # merged into an earlier chunk
        ["Deudor 7", _rut(7), "962345607"],
        ["Otra vez 7", _rut(7), "944445555"],  # merged into the chunk being filled
    )
    with excel.open_contacts(data) as reader:
        chunks = list(reader.chunks(3))

    assert [len(chunk) for chunk in chunks] == [3, 3, 2]
    whole = read_contacts(data)
    assert [c for chunk in chunks for c in chunk] == whole.contacts
    assert (reader.result.total_rows, reader.result.duplicates_merged) == (10, 2)
    assert list(reader.late_merges) == [_rut(1)]  # rut 7's first row was not yielded yet
    late = reader.late_merges[_rut(1)]
    assert late is chunks[0][1] and late["email"] == "uno@x.cl"
    assert late["phones"] == ["+56962345601", "+56933334444"]


def test_open_contacts_raises_row_limits_while_streaming():
    data = _rows(HEADERS, *[[f"D {n}", _rut(n), f"9623456{n:02d}"] for n in range(5)])
    with excel.open_contacts(data, max_rows=3) as reader:
        chunks = reader.chunks(2)
        assert len(next(chunks)) == 2  # the first rows are there before the limit is seen
        with pytest.raises(ExcelError, match="more than 3"):
            list(chunks)


def _rut(n: int) -> str:
    body = str(20_000_000 + n)
    return f"{body}-{rut_check_digit(body)}"
