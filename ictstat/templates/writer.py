"""Writes a template as an .xlsx with openpyxl: blank for reporters to fill, or filled (demo data, tests).

The blank form has its labels locked (sheet protection without a password, so a clerk who must can still
unlock it), input cells unlocked and checked by Excel data validation, and the total row as a formula.
A filled form writes numbers where the clerk would type them and the total row as a plain number, as a
workbook saved by Excel holds the total's cached value.

Every sheet prints as the clerk signs and stamps it (``ictstat.printing``): A4, each sheet on one page when it
fits (title, table and signature block together), wrapped text with room to show, Times New Roman throughout.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ictstat import printing
from ictstat.reference import Commune, District
from ictstat.templates.spec import SheetSpec, Template

THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
INPUT_FILL = PatternFill("solid", fgColor="FFFFF0")
BOLD = Font(name=printing.FONT_NAME, bold=True, size=12)
NORMAL = Font(name=printing.FONT_NAME, size=12)
TITLE = Font(name=printing.FONT_NAME, bold=True, size=14)
ITALIC = Font(name=printing.FONT_NAME, italic=True, size=11)
UNLOCKED = Protection(locked=False)
CENTERED = Alignment(horizontal="center", vertical="center", wrap_text=True)
DISTRICT_TABLE_HEADER_ROW = 5
INDICATOR_LIST_HEADER_ROW = 4
TOTAL_LABEL = "Tổng cộng"
SIGNATURES = printing.SIGNATURE_TITLES
COVER_WIDTH = 3  # columns the cover's lines are centred over
DEPARTMENT = "Sở Thông tin và Truyền thông"  # addressee until 2025-02-28 (then reference.addressee)


@dataclass
class FormData:
    """What a reporter wrote into a form. Empty means a blank template."""

    cover: Mapping[str, Any] = field(default_factory=dict)
    # sheet name -> district code -> measure key -> value
    district_values: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    # sheet name -> measure key -> value
    item_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # sheet name -> commune code -> measure key -> value
    commune_values: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)


def write_form(
    template: Template,
    path: Path,
    districts: Sequence[District],
    data: FormData | None = None,
    reporter_codes: Sequence[str] = (),
    timestamp: datetime | None = None,
    communes: Sequence[Commune] = (),
    addressee: str = DEPARTMENT,
) -> Path:
    """Write ``template`` to ``path`` (an .xlsx), blank when ``data`` is None.

    With ``timestamp`` the file is byte-for-byte reproducible: the document properties and the zip entries
    carry that time instead of the clock's (demo data written twice has the same sha256).
    """
    wb = Workbook()
    printing.use_document_font(wb)
    cover = wb.active
    assert cover is not None
    cover.title = template.cover_sheet
    _write_cover(cover, template, data, reporter_codes, addressee)
    for spec in template.sheets:
        ws = wb.create_sheet(spec.name)
        if spec.layout == "district_table":
            rows = [_Row(d.code, d.full_name) for d in districts]
            values = data.district_values.get(spec.name, {}) if data else {}
            _write_unit_table(ws, spec, rows, values, data is None, ("Mã ĐVHC", "Huyện/thị xã/thành phố"))
        elif spec.layout == "commune_table":
            rows = [_Row(c.code, c.full_name) for c in communes] or [_Row("", "") for _ in range(20)]
            values = data.commune_values.get(spec.name, {}) if data else {}
            _write_unit_table(ws, spec, rows, values, data is None, ("Mã xã", "Xã/phường/thị trấn"))
        else:
            _write_indicator_list(ws, spec, data)
    for ws in wb.worksheets:
        _make_printable(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    if timestamp is None:
        wb.save(path)
    else:
        save_reproducibly(wb, path, timestamp)
        # the file looks saved when its clerk saved it: report tracking reads lateness from it
        os.utime(path, (timestamp.timestamp(), timestamp.timestamp()))
    return path


def _make_printable(ws: Worksheet) -> None:
    """Named fonts, row heights for the wrapped text, and the page: one A4 page when the sheet fits on it."""
    printing.name_fonts(ws)
    printing.fit_row_heights(ws)
    printing.setup_page(ws, printing.choose_page(ws, _header_rows(ws)))


def _header_rows(ws: Worksheet) -> tuple[int, int] | None:
    """The rows a long table repeats on every printed page: its header (and the units row below it)."""
    if ws.cell(DISTRICT_TABLE_HEADER_ROW, 1).value == "STT":
        return DISTRICT_TABLE_HEADER_ROW, DISTRICT_TABLE_HEADER_ROW + 1
    if ws.cell(INDICATOR_LIST_HEADER_ROW, 1).value == "STT":
        return INDICATOR_LIST_HEADER_ROW, INDICATOR_LIST_HEADER_ROW
    return None


def save_reproducibly(wb: Workbook, path: Path, timestamp: datetime) -> None:
    """Save with fixed timestamps (openpyxl stamps the clock's time into docProps and every zip entry)."""
    stamp = timestamp.replace(tzinfo=None, microsecond=0)
    wb.properties.created = stamp
    wb.properties.creator = "ictstat"
    buffer = io.BytesIO()
    wb.save(buffer)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + iso.encode(), data)
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)
    path.write_bytes(out.getvalue())


def _style(cell: Any, font: Font = NORMAL, fill: PatternFill | None = None, border: bool = True) -> None:
    cell.font = font
    if fill is not None:
        cell.fill = fill
    if border:
        cell.border = BOX
    cell.alignment = Alignment(wrap_text=True, vertical="center")


def _write_cover(
    ws: Worksheet, template: Template, data: FormData | None, reporter_codes: Sequence[str], addressee: str
) -> None:
    ws["A1"] = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    ws["A2"] = "Độc lập - Tự do - Hạnh phúc"
    ws["A4"] = template.title
    ws["A5"] = f"Kính gửi: {addressee}"
    ws["A6"] = template.deadline_note.replace(DEPARTMENT, addressee)  # the notes name the department of 2020
    for ref, font in (("A1", BOLD), ("A2", BOLD), ("A4", TITLE), ("A5", NORMAL), ("A6", ITALIC)):
        ws[ref].font = font
    for row in (1, 2, 4, 5, 6):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=COVER_WIDTH)
        ws.cell(row, 1).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    values = dict(data.cover) if data else {}
    values.setdefault("form_code", template.form_code)
    values.setdefault("template_version", template.version)
    first = 8
    for i, f in enumerate(template.cover_fields):
        r = first + i
        label = ws.cell(r, 1, f.label)
        _style(label, BOLD, HEADER_FILL)
        value = ws.cell(r, 2, _cover_value(values.get(f.key)))
        locked = f.key in ("form_code", "template_version")
        _style(value, NORMAL, None if locked else INPUT_FILL)
        value.alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
        if not locked:
            value.protection = UNLOCKED
        if f.help:
            value.comment = Comment(f.help, "ictstat")
    if reporter_codes:
        row = first + [f.key for f in template.cover_fields].index("reporter_code")
        dv = DataValidation(
            type="list",
            formula1='"' + ",".join(reporter_codes) + '"',
            allow_blank=True,
            error="Chọn mã đơn vị trong danh sách / Pick a reporter code from the list",
        )
        ws.add_data_validation(dv)
        dv.add(ws.cell(row, 2))
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 42
    ws.column_dimensions["C"].width = 12
    ws.protection.sheet = True


def _cover_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return value


def _number_validation(ws: Worksheet, kind: str, max_value: float | None = None) -> DataValidation:
    bounded = max_value is not None
    dv = DataValidation(
        type="whole" if kind == "int" else "decimal",
        operator="between" if bounded else "greaterThanOrEqual",
        formula1="0",
        formula2=f"{max_value:g}" if bounded else None,
        allow_blank=True,
        error="Nhập số không âm / Enter a non-negative number",
        errorTitle="Số liệu không hợp lệ",
    )
    ws.add_data_validation(dv)
    return dv


def _title(ws: Worksheet, spec: SheetSpec, width: int) -> None:
    ws.cell(1, 1, spec.title).font = TITLE
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(1, 1).alignment = Alignment(horizontal="center", wrap_text=True)
    if spec.note:
        ws.cell(2, 1, spec.note).font = ITALIC
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
        ws.cell(2, 1).alignment = Alignment(horizontal="center", wrap_text=True)


@dataclass(frozen=True)
class _Row:
    code: str
    name: str


def _write_unit_table(
    ws: Worksheet,
    spec: SheetSpec,
    units: Sequence[_Row],
    values: Mapping[str, Mapping[str, Any]],
    blank: bool,
    unit_headers: tuple[str, str],
) -> None:
    """One row per district or commune, one column per measure, and a total row."""
    headers = ["STT", *unit_headers, *[m.label for m in spec.measures]]
    _title(ws, spec, len(headers))
    hr = DISTRICT_TABLE_HEADER_ROW
    for c, text in enumerate(headers, start=1):
        _style(ws.cell(hr, c, text), BOLD, HEADER_FILL)
        ws.cell(hr, c).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    units_row = ["", "", "", *[f"({m.unit_vi})" for m in spec.measures]]
    for c, text in enumerate(units_row, start=1):
        _style(ws.cell(hr + 1, c, text or None), ITALIC, HEADER_FILL)
        ws.cell(hr + 1, c).alignment = Alignment(horizontal="center", wrap_text=True)
    validations = {m.key: _number_validation(ws, m.kind, m.max_value) for m in spec.measures}
    first = hr + 2
    for i, u in enumerate(units):
        r = first + i
        _style(ws.cell(r, 1, i + 1))
        ws.cell(r, 1).alignment = CENTERED
        for column, text in ((2, u.code), (3, u.name)):
            label = ws.cell(r, column, text or None)
            _style(label, NORMAL, None if text else INPUT_FILL)
            if not text:
                label.protection = UNLOCKED  # an empty list: the clerk writes the units
        row_values = values.get(u.code, {})
        for j, m in enumerate(spec.measures):
            cell = ws.cell(r, 4 + j, row_values.get(m.key))
            _style(cell, NORMAL, INPUT_FILL)
            cell.protection = UNLOCKED
            cell.number_format = "#,##0" if m.kind == "int" else "#,##0.0##"
            validations[m.key].add(cell)
    total_row = first + len(units)
    _style(ws.cell(total_row, 1))
    _style(ws.cell(total_row, 2))
    _style(ws.cell(total_row, 3, TOTAL_LABEL), BOLD)
    for j, m in enumerate(spec.measures):
        letter = get_column_letter(4 + j)
        if blank:
            total: Any = f"=SUM({letter}{first}:{letter}{total_row - 1})"
        else:
            parts = [values.get(u.code, {}).get(m.key) for u in units]
            nums = [p for p in parts if isinstance(p, (int, float))]
            total = sum(nums) if nums else None
        cell = ws.cell(total_row, 4 + j, total)
        _style(cell, BOLD)
        cell.number_format = "#,##0" if m.kind == "int" else "#,##0.0##"
    width = len(headers)
    printing.write_signatures(ws, total_row + 2, (2, 3), (max(4, width - 2), width))
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 10
    ws.column_dimensions["C"].width = 26
    for j in range(len(spec.measures)):
        ws.column_dimensions[get_column_letter(4 + j)].width = 18
    ws.freeze_panes = f"D{first + 1}"
    ws.protection.sheet = True


def _write_indicator_list(ws: Worksheet, spec: SheetSpec, data: FormData | None) -> None:
    headers = ["STT", "Chỉ tiêu", "Đơn vị tính", "Số liệu"]
    _title(ws, spec, len(headers))
    hr = INDICATOR_LIST_HEADER_ROW
    for c, text in enumerate(headers, start=1):
        _style(ws.cell(hr, c, text), BOLD, HEADER_FILL)
        ws.cell(hr, c).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    values = (data.item_values.get(spec.name, {}) if data else {}) or {}
    for i, m in enumerate(spec.measures):
        r = hr + 1 + i
        _style(ws.cell(r, 1, i + 1))
        ws.cell(r, 1).alignment = CENTERED
        _style(ws.cell(r, 2, m.label))
        _style(ws.cell(r, 3, m.unit_vi))
        cell = ws.cell(r, 4, values.get(m.key))
        _style(cell, NORMAL, INPUT_FILL)
        cell.protection = UNLOCKED
        cell.number_format = "#,##0" if m.kind == "int" else "#,##0.0##"
        _number_validation(ws, m.kind, m.max_value).add(cell)
    printing.write_signatures(ws, hr + len(spec.measures) + 2, (1, 2), (3, 4))
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 52
    ws.column_dimensions["C"].width = 14
    ws.column_dimensions["D"].width = 20
    ws.protection.sheet = True
