"""How every workbook ictstat writes comes out of a printer: the page, the fonts, the row heights, the signatures.

Owned here, for the templates, the feedback copies and the appendix export alike:

* **the page**: A4, the orientation the table needs, fitted to one page wide (and, for a small form, one page
  tall, so title, data and signatures print together), margins, the header rows repeated on every page of a
  long table, and a page number in the footer;
* **the fonts**: Times New Roman on every written cell, as Vietnamese administrative documents are printed
  (Decree 30/2020/ND-CP), and as the default font of every workbook ictstat creates: a column's width is
  counted in digits of the default font, so with Calibri (absent where LibreOffice runs, replaced by a wider
  font) the same file printed wider there than in Excel. LibreOffice renders Times New Roman with its
  metric-compatible Liberation Serif, so a page comes out the same in both;
* **row heights**: neither Excel nor LibreOffice grows a row for wrapped text when the file is opened as
  written, so each row gets an explicit height, estimated from the text's length, the column's width and the
  font's size (``needed_lines``);
* **the signature block**: the place and date line, "Người lập biểu" and "Thủ trưởng đơn vị" below the data.

The writers decide what goes where; they call ``setup_page``, ``name_fonts``, ``fit_row_heights`` and
``write_signatures`` once the sheet is filled.
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass
from typing import Any, cast

from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.header_footer import HeaderFooterItem
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

FONT_NAME = "Times New Roman"
A4 = 9  # the paperSize code of A4 in SpreadsheetML
DOCUMENT_FONT_SIZE = 12.0
DEFAULT_COLUMN_WIDTH = 8.43  # Excel's width, in characters, of a column nobody sized
DEFAULT_FONT_SIZE = 11.0  # Excel's own default (Calibri 11), the size of a cell that names none
# A column's width unit is the default font's digit: 0.5 em in Times New Roman; Calibri's is 0.477 em in Excel
# (LibreOffice, without Calibri, draws a wider substitute: the estimate stays on the safe side).
_DIGIT_EM = {FONT_NAME: 0.5}
_OTHER_DIGIT_EM = 0.477
# Printable width of A4 (210 x 297 mm) inside the margins below, in points: what a sheet may span before it
# is turned to landscape or scaled down.
PORTRAIT_WIDTH_PT = 595 - 72 * (0.7 + 0.5)
LANDSCAPE_WIDTH_PT = 842 - 72 * (0.7 + 0.5)
PORTRAIT_HEIGHT_PT = 842 - 72 * (0.6 + 0.7)
LANDSCAPE_HEIGHT_PT = 595 - 72 * (0.6 + 0.7)
DEFAULT_ROW_HEIGHT_PT = 15.0
MIN_SCALE = 0.7  # text of 12 pt printed no smaller than about 8.5 pt
_PAGES = {False: (PORTRAIT_WIDTH_PT, PORTRAIT_HEIGHT_PT), True: (LANDSCAPE_WIDTH_PT, LANDSCAPE_HEIGHT_PT)}
LINE_SPACING = 1.17  # a line of Times New Roman (Liberation Serif) takes 1.15 em; a little air besides
CELL_PADDING_PT = 3.0  # the cell's inner margins, top and bottom together
SIGNATURE_PLACE_DATE = "…………, ngày …… tháng …… năm ……"
SIGNATURE_TITLES = ("Người lập biểu", "Thủ trưởng đơn vị")
SIGNATURE_HINTS = ("(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)")

# Advance widths of Times New Roman, in em, by kind of character, each the widest of its kind (the font's
# own metrics): a Vietnamese letter is as wide as its base letter, whatever marks it carries.
_EM_BY_CHARACTER = {
    **dict.fromkeys(" .,:;'!|", 0.25),
    **dict.fromkeys("ijlt", 0.28),
    **dict.fromkeys("fr()[]-/", 0.34),
    **dict.fromkeys("w", 0.72),
    **dict.fromkeys("m%", 0.83),
    **dict.fromkeys("M@", 0.92),
    "W": 0.95,
}
_CAPITAL_EM = 0.72
_OTHER_EM = 0.5  # lower-case letters and digits
_BOLD_FACTOR = 1.08  # Times New Roman Bold is about 5-8 % wider


@dataclass(frozen=True)
class Page:
    """How one sheet prints: ``pages_tall`` 0 lets a long table run over as many pages as it needs."""

    landscape: bool = False
    pages_tall: int = 1
    title_rows: tuple[int, int] | None = None  # rows repeated at the top of every printed page


def setup_page(ws: Worksheet, page: Page) -> None:
    """A4, fitted to one page wide (and ``page.pages_tall`` tall), centred, numbered at the foot."""
    ws.page_setup.paperSize = A4
    ws.page_setup.orientation = "landscape" if page.landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = page.pages_tall
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    # inches, as SpreadsheetML stores them: a wider left margin for the binding, room for the page number
    ws.page_margins = PageMargins(left=0.7, right=0.5, top=0.6, bottom=0.7, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    footer = HeaderFooterItem()
    footer.center.text, footer.center.font, footer.center.size = "Trang &P/&N", f"{FONT_NAME},Regular", 10
    ws.HeaderFooter.oddFooter = footer
    if page.title_rows is not None:
        first, last = page.title_rows
        ws.print_title_rows = f"{first}:{last}"


def sheet_width_pt(ws: Worksheet, columns: int) -> float:
    """The printed width of the first ``columns`` columns, in points."""
    return sum(column_width_pt(ws, c) for c in range(1, columns + 1))


def needs_landscape(ws: Worksheet, columns: int) -> bool:
    """Landscape when portrait would shrink the table below about 85 % (text under 10 pt from 12 pt)."""
    return sheet_width_pt(ws, columns) > PORTRAIT_WIDTH_PT / 0.85


def choose_page(ws: Worksheet, title_rows: tuple[int, int] | None = None) -> Page:
    """The page a filled sheet prints best on: one page, in the orientation that shrinks it least, when that
    keeps the text at ``MIN_SCALE`` or more; else as many pages as it needs, one wide, the header repeated."""
    columns = ws.max_column
    width, height = sheet_width_pt(ws, columns), sheet_height_pt(ws)
    one_page = {
        landscape: min(1.0, page_w / width, page_h / height) for landscape, (page_w, page_h) in _PAGES.items()
    }
    landscape = max(one_page, key=lambda k: (one_page[k], not k))  # portrait when both print at 100 %
    if one_page[landscape] >= MIN_SCALE:
        return Page(landscape=landscape, pages_tall=1)
    return Page(landscape=needs_landscape(ws, columns), pages_tall=0, title_rows=title_rows)


def sheet_height_pt(ws: Worksheet) -> float:
    """The printed height of the rows in use, in points."""
    return sum(ws.row_dimensions[r].height or DEFAULT_ROW_HEIGHT_PT for r in range(1, ws.max_row + 1))


def use_document_font(wb: Workbook) -> None:
    """Make Times New Roman 12 the default font of a workbook just created (before any cell is styled)."""
    font = Font(name=FONT_NAME, size=DOCUMENT_FONT_SIZE)
    # openpyxl has no public setter: its first font is the default, and the "Normal" style names it too.
    book = cast(Any, wb)
    book._fonts = IndexedList([font])
    for style in book._named_styles:
        if style.name == "Normal":
            style.font = font


def column_width_pt(ws: Worksheet, column: int) -> float:
    """A column's width in points: its width in characters times the digit width of the workbook's font."""
    dimension = ws.column_dimensions.get(get_column_letter(column))
    width = dimension.width if dimension is not None and dimension.width else DEFAULT_COLUMN_WIDTH
    fonts = cast(Any, ws.parent)._fonts  # the first is the default; a file from elsewhere may list none
    name, size = (fonts[0].name, fonts[0].sz) if fonts else (None, None)
    digit_em = _DIGIT_EM.get(name or "", _OTHER_DIGIT_EM)
    return float(width) * digit_em * float(size or DEFAULT_FONT_SIZE)


def text_width_em(text: str, bold: bool = False) -> float:
    """The width of ``text`` in em of Times New Roman (an estimate that errs wide)."""
    width = 0.0
    for ch in text:
        em = _EM_BY_CHARACTER.get(ch)
        width += em if em is not None else (_CAPITAL_EM if ch.isupper() else _OTHER_EM)
    return width * (_BOLD_FACTOR if bold else 1.0)


def needed_lines(text: str, width_pt: float, size: float, bold: bool = False) -> int:
    """Lines ``text`` takes in a wrapped cell ``width_pt`` wide: words are carried whole to the next line."""
    usable_em = max(width_pt - 6, 6) / size  # the cell's left and right inner margins
    lines = 0
    for paragraph in str(text).split("\n"):
        lines += 1
        used = 0.0
        for word in paragraph.split(" "):
            w = text_width_em(word, bold)
            space = text_width_em(" ") if used else 0.0
            if used and used + space + w > usable_em:
                lines += 1
                used = 0.0
                space = 0.0
            # a word longer than the line is broken across lines
            while w > usable_em:
                lines += 1
                w -= usable_em
            used += space + w
    return lines


def line_height_pt(size: float) -> float:
    return size * LINE_SPACING


def cell_height_pt(cell: Cell, width_pt: float) -> float:
    """The height ``cell``'s text needs: its lines when it wraps, one line otherwise."""
    size = float(cell.font.sz or DEFAULT_FONT_SIZE)
    text = str(cell.value)
    wraps = bool(cell.alignment.wrap_text) and isinstance(cell.value, str)  # a number never wraps
    lines = needed_lines(text, width_pt, size, bool(cell.font.b)) if wraps else text.count("\n") + 1
    return lines * line_height_pt(size) + CELL_PADDING_PT


def fit_row_heights(ws: Worksheet, first_row: int = 1, last_row: int | None = None) -> None:
    """Give every row holding text the height its tallest cell needs (never lower than a height already set).

    A merged cell spreads over its columns' widths; one merged over several rows is left as it is.
    """
    spans = _merged_widths(ws)
    tall: set[tuple[int, int]] = {
        (r, c)
        for merged in ws.merged_cells.ranges
        if merged.max_row > merged.min_row
        for r in range(merged.min_row, merged.max_row + 1)
        for c in range(merged.min_col, merged.max_col + 1)
    }
    needed: dict[int, float] = {}
    last = ws.max_row if last_row is None else last_row
    for cell in list(ws._cells.values()):
        if not isinstance(cell, Cell) or cell.value in (None, "") or not first_row <= cell.row <= last:
            continue
        if (cell.row, cell.column) in tall:
            continue
        width = spans.get((cell.row, cell.column), column_width_pt(ws, cell.column))
        needed[cell.row] = max(needed.get(cell.row, 0.0), cell_height_pt(cell, width))
    for row, height in needed.items():
        current = ws.row_dimensions[row].height
        ws.row_dimensions[row].height = round(max(height, current or 0.0), 2)


def _merged_widths(ws: Worksheet) -> dict[tuple[int, int], float]:
    """The top-left cell of each one-row merged range and the width of the whole range."""
    return {
        (m.min_row, m.min_col): sum(column_width_pt(ws, c) for c in range(m.min_col, m.max_col + 1))
        for m in ws.merged_cells.ranges
        if m.min_row == m.max_row
    }


def name_fonts(ws: Worksheet) -> None:
    """Times New Roman on every written cell, keeping its size, weight, slant and colour."""
    for cell in list(ws._cells.values()):
        if not isinstance(cell, Cell) or cell.font.name == FONT_NAME:
            continue
        font = cast(Font, copy(cell.font))
        font.name = FONT_NAME
        cell.font = font


def write_signatures(
    ws: Worksheet,
    row: int,
    left: tuple[int, int],
    right: tuple[int, int],
    place_date: str = SIGNATURE_PLACE_DATE,
) -> int:
    """The signature block from ``row``: the place and date line above the head's title on the right, the
    preparer's title on the left, what each signs with below, then room to sign and stamp.

    ``left`` and ``right`` are the first and last columns each half is centred over (merged on every line, so
    nothing spills past the printed area). Returns the last row used.
    """
    italic = Font(name=FONT_NAME, italic=True, size=12)
    bold = Font(name=FONT_NAME, bold=True, size=12)
    lines = (
        (row, right, place_date, italic),
        (row + 1, left, SIGNATURE_TITLES[0], bold),
        (row + 1, right, SIGNATURE_TITLES[1], bold),
        (row + 2, left, SIGNATURE_HINTS[0], italic),
        (row + 2, right, SIGNATURE_HINTS[1], italic),
    )
    for r, (first, last), text, font in lines:
        cell = ws.cell(r, first, text)
        cell.font = font
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if last > first:
            ws.merge_cells(start_row=r, start_column=first, end_row=r, end_column=last)
    ws.row_dimensions[row + 3].height = 60  # the signatures themselves, and the stamp
    return row + 3
