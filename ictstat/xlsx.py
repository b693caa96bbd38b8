"""Cell-level writing for the analysts' workbooks: text that never becomes a formula, numbers that stay numbers.

Owned here: the formula escape, the number formats, the styles of a Vietnamese government table (bold bordered
header, bordered body, bold section headings, Times New Roman throughout) and the atomic save.
``ictstat.export`` decides what goes where; ``ictstat.printing`` how each sheet comes out of a printer.

**Formula escape.** Text from the warehouse (labels, rule expressions, notes) comes, in the end, from files
people send in. Text that starts with ``=``, ``+``, ``-`` or ``@`` (and tab or carriage return, the other
CSV-injection openers), after any leading spaces, is written as an explicit string cell with Excel's *quote prefix* set: the same thing
Excel stores when someone types ``'=1+1``. The cell shows and keeps the exact text, so a real label such as
``- Thuê bao điện thoại cố định`` reads as printed, and Excel does not turn it into a formula even when the
cell is edited and confirmed. Nothing is prepended to the value, so what the workbook holds stays equal to
what the warehouse holds.

**Number formats.** Excel stores a format code with ``,`` for grouping and ``.`` for the decimal mark, and each
reader's locale decides the characters shown: ``#,##0.0`` displays ``1.504,1`` on a Vietnamese Windows and
``1,504.1`` elsewhere. A code that hard-wires ``.`` as grouping would display wrongly for everyone else and
no longer be a plain number format, so the codes are locale-neutral and the values are always numbers.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.worksheet import Worksheet

from ictstat.printing import FONT_NAME

FORMULA_OPENERS = ("=", "+", "-", "@", "\t", "\r")

INTEGER = "#,##0"
ONE_DECIMAL = "#,##0.0"
TWO_DECIMALS = "#,##0.00"
PERCENT_CHANGE = "#,##0.0"  # "So sánh (%)" as the report prints it: 10,1
SMALL_DIFFERENCE = "#,##0.00##"  # a reconciliation difference of 0,0025 must not read as 0
YEAR = "0"  # 2020, never 2.020

BOLD = Font(name=FONT_NAME, bold=True, size=12)
BODY = Font(name=FONT_NAME, size=12)
TITLE = Font(name=FONT_NAME, bold=True, size=14)
NOTE = Font(name=FONT_NAME, italic=True, size=11)
_THIN = Side(style="thin")
BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
STATUS_FILLS = {
    "mismatch": PatternFill("solid", fgColor="F8CBAD"),
    "off track": PatternFill("solid", fgColor="F8CBAD"),
    "met": PatternFill("solid", fgColor="C6EFCE"),
    "holds": PatternFill("solid", fgColor="C6EFCE"),
}
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
WRAP = Alignment(vertical="top", wrap_text=True)

Value = str | int | float | None


def needs_escape(text: str) -> bool:
    # Leading spaces are skipped: some importers trim them, and "  + Đang hoạt động" is a real label.
    return text.lstrip(" ").startswith(FORMULA_OPENERS)


def cell_at(ws: Worksheet, row: int, column: int) -> Cell:
    """The cell to write; only the top-left cell of a merged range can hold a value."""
    cell = ws.cell(row=row, column=column)
    if not isinstance(cell, Cell):
        raise ValueError(f"{ws.title}!{cell.coordinate} is inside a merged range and cannot hold a value")
    return cell


def write_text(ws: Worksheet, row: int, column: int, text: str | None) -> Cell:
    """Write text that Excel keeps as text, whatever it starts with (see the module's docstring)."""
    cell = cell_at(ws, row, column)
    # characters XML cannot hold (openpyxl would refuse the whole workbook) and Excel's limit for one cell
    text = ILLEGAL_CHARACTERS_RE.sub("", text or "")[:32_767]
    if text == "":
        return cell
    cell.value = text  # openpyxl marks a leading "=" as a formula here...
    if needs_escape(text):
        cell.data_type = "s"  # ...so the type is set back to a plain string,
        cell.quotePrefix = True  # and Excel is told to keep it text when the cell is edited.
    return cell


def number_format_for(value: float) -> str:
    """The format showing a value as the report does: counts without decimals, 226,5 with one, 1.504,09 with two."""
    rounded = round(float(value), 2)
    if rounded.is_integer():
        return INTEGER
    return ONE_DECIMAL if round(rounded, 1) == rounded else TWO_DECIMALS


def write_number(
    ws: Worksheet, row: int, column: int, value: float | None, number_format: str | None = None
) -> Cell:
    """Write a figure as a number (never as text), with a separator-aware format; None leaves the cell blank."""
    cell = cell_at(ws, row, column)
    if value is None:
        return cell
    cell.value = int(value) if float(value).is_integer() else float(value)
    cell.number_format = number_format or number_format_for(float(value))
    return cell


def write_value(ws: Worksheet, row: int, column: int, value: Value, number_format: str | None = None) -> Cell:
    if isinstance(value, int | float):
        return write_number(ws, row, column, value, number_format)
    return write_text(ws, row, column, value)


def write_title(ws: Worksheet, title: str, note: str, width: int) -> None:
    """Row 1 the title, row 2 the unit and notes line, both across the table's width (their heights are set
    with the rest of the sheet's, from their text, by ``printing.fit_row_heights``)."""
    write_text(ws, 1, 1, title).font = TITLE
    write_text(ws, 2, 1, note).font = NOTE
    for row in (1, 2):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        cell_at(ws, row, 1).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def write_header_cells(ws: Worksheet, row: int, labels: Sequence[str]) -> list[Cell]:
    """A bold, bordered, shaded header row."""
    cells = [write_text(ws, row, column, label) for column, label in enumerate(labels, start=1)]
    for cell in cells:
        cell.font, cell.border, cell.fill, cell.alignment = BOLD, BOX, HEADER_FILL, CENTER
    return cells


def write_header(ws: Worksheet, row: int, labels: Sequence[str], widths: Sequence[float]) -> None:
    """The header of a sheet's table: it stays in view when scrolling (``printing.setup_page`` repeats it on
    every printed page)."""
    for cell, width in zip(write_header_cells(ws, row, labels), widths, strict=True):
        ws.column_dimensions[cell.column_letter].width = width
    ws.freeze_panes = f"A{row + 1}"


def write_record(
    ws: Worksheet,
    row: int,
    values: Sequence[Value],
    formats: Sequence[str | None] | None = None,
    bold: bool = False,
) -> list[Cell]:
    """One bordered body row; ``formats`` overrides a column's number format (years take ``YEAR``, not 2.020)."""
    formats = formats or [None] * len(values)
    cells = [
        write_value(ws, row, column, value, fmt)
        for column, (value, fmt) in enumerate(zip(values, formats, strict=True), start=1)
    ]
    for cell in cells:
        cell.border = BOX
        if cell.alignment.horizontal is None:
            cell.alignment = WRAP
        cell.font = BOLD if bold else BODY
    return cells


def row_format(values: Sequence[float | None]) -> str:
    """One format for the figures of a row, the finest any of them needs: 1.504,09 beside 1.656,00, so the
    decimal marks of a printed row line up."""
    formats = [number_format_for(v) for v in values if v is not None]
    for fmt in (TWO_DECIMALS, ONE_DECIMAL):
        if fmt in formats:
            return fmt
    return INTEGER


def save_atomically(target: Path, write: Callable[[Path], object]) -> Path:
    """Write to a temporary file beside ``target`` and rename it over: a reader sees the old file or the new one.

    The temporary name starts with a dot so a folder watcher (or an analyst) does not pick up a half-written
    file. It is only a name (not created with ``mkstemp``, which makes the file private): the writer creates
    it, so the export gets the usual permissions of the folder's users.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return target
