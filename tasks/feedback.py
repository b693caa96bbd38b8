"""Feedback workbooks: the clerk's own workbook handed back with every issue marked where it is.

This module owns what a reporter receives after a run: a COPY of the file they sent (the archived file is
never touched), each cell named by an issue filled red (error) or yellow (warning) with a comment in
Vietnamese and English, and a first sheet "Lỗi cần sửa" listing every issue with a link to its cell.
.xlsx/.xlsm are copied with openpyxl (saved as .xlsx, macros dropped); .xls, .ods and .xlsb, which openpyxl
cannot open, are rebuilt from the values calamine reads. A file that cannot be opened at all gets a workbook
holding only the list. The list prints on A4 in landscape, its wrapped guidance with room to show, and a copied
sheet without a page setup of its own is fitted to A4 too (``ictstat.printing``). Everything taken from the submission (values, names) is untrusted: it is written as
text, never as a formula, and the original file name never reaches a path unsanitised.
"""

from __future__ import annotations

import logging
import math
import os
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import column_index_from_string, quote_sheetname
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

from ictstat import printing
from ictstat.printing import Page
from ictstat.xlsx import needs_escape
from tasks.read import Limits, ReadError, scan_workbook, sniff_format

log = logging.getLogger(__name__)

ISSUES_TITLE = "Lỗi cần sửa"
HEADERS = ("STT", "Sheet", "Ô", "Cột/chỉ tiêu", "Giá trị", "Mức độ", "Hướng dẫn", "Guidance")
HEADER_ROW = 5  # issues start on the row below
AUTHOR = "ictstat"  # comments we wrote carry it, so a resubmitted feedback copy can be cleaned
ERROR_FILL = PatternFill(fill_type="solid", fgColor="FFC7CE")  # Excel's own light red ("Bad")
WARNING_FILL = PatternFill(fill_type="solid", fgColor="FFEB9C")  # and light yellow ("Neutral")
_OUR_COLOURS = {ERROR_FILL.fgColor.rgb, WARNING_FILL.fgColor.rgb}
SEVERITY_VI = {"error": "Lỗi", "warning": "Cảnh báo"}
# Reasons for which the file itself could not be read: there is nothing to copy, only the list.
UNREADABLE_RULES = {"unreadable", "not_a_spreadsheet", "too_large", "password_protected"}
# The settings' defaults: openpyxl loads a whole workbook in memory, so a zip bomb must be refused first.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_ROWS = 20_000
# openpyxl builds an object for every cell it loads and for every cell of a merged range (<mergeCell
# ref="A2:XFD2000"/> is 32 million of them): a workbook whose sheets span more than this, counted from A1, plus
# its merged cells, gets the list of issues without a marked copy.
MAX_COPY_CELLS = 500_000
MAX_STEM_BYTES = 100  # the name stays well under the 255-byte file-name limit with id and suffix
_A1 = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]{1,7})$")
_NOT_IN_FILE_NAMES = re.compile(r'[<>:"/\\|?*]')
_NOT_IN_SHEET_TITLES = re.compile(r"[\\*?:/\[\]]")
TITLE = Font(name=printing.FONT_NAME, bold=True, size=14)
BOLD = Font(name=printing.FONT_NAME, bold=True, size=12)
NORMAL = Font(name=printing.FONT_NAME, size=12)
LINK = Font(name=printing.FONT_NAME, size=12, color="0563C1", underline="single")
WRAP = Alignment(wrap_text=True, vertical="top")
HEADER_ALIGNMENT = Alignment(wrap_text=True, horizontal="center", vertical="center")
_THIN = Side(style="thin")
BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_FILL = PatternFill(fill_type="solid", fgColor="DDEBF7")
# Widths of the list's columns (STT ... Guidance): the two guidance columns wrap, so the list fits A4 landscape.
WIDTHS = (6, 18, 8, 22, 14, 10, 45, 45)


@dataclass(frozen=True)
class _Issue:
    sheet: str
    cell: str
    column: str
    value: str
    rule: str
    severity: str
    message_vi: str
    message_en: str

    @classmethod
    def of(cls, issue: Mapping[str, Any]) -> _Issue:
        return cls(*(_str(issue.get(f.name)) for f in fields(cls)))


def write_feedback(
    submissions: pd.DataFrame, issues: pd.DataFrame, archive: Path, out_dir: Path
) -> list[Path]:
    """One feedback workbook per submission with issues (duplicates skipped); returns the paths written."""
    if issues.empty:
        return []
    by_submission = {str(sid): g for sid, g in issues.groupby("submission_id", sort=False)}
    written: list[Path] = []
    done: set[str] = set()
    for sub in submissions.to_dict("records"):
        sid = _str(sub.get("submission_id"))
        if sid in done or sid not in by_submission or _str(sub.get("intake_status")) == "duplicate":
            continue
        done.add(sid)
        name = _str(sub.get("original_name")) or _str(sub.get("relative_path"))
        records = by_submission[sid].to_dict("records")
        source = _archived(archive, _str(sub.get("archive_path")))
        try:
            written.append(write_feedback_workbook(source, name, sid, records, out_dir))
        except Exception as exc:  # one file's feedback never stops the run; its issues are in the warehouse
            logging.getLogger(__name__).warning(
                "no feedback workbook for %s: %s: %s", sid, type(exc).__name__, exc
            )
    return written


def write_feedback_workbook(
    source: Path | None,
    original_name: str,
    submission_id: str,
    issues: Sequence[Mapping[str, Any]],
    out_dir: Path,
    *,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
    max_rows: int = MAX_ROWS,
) -> Path:
    """Write ``out_dir/<id>_<safe name>_phan_hoi.xlsx``: the marked copy, or only the list if none can be made."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sid = re.sub(r"[^A-Za-z0-9_-]", "", submission_id)[:32] or "S"  # ours ("S0000123"), but it names a path
    path = out_dir / f"{sid}_{safe_stem(original_name)}_phan_hoi.xlsx"
    rows = [_Issue.of(i) for i in issues]
    title = f"Phản hồi về tệp «{original_name}» (mã nộp {submission_id})"
    readable = not any(r.rule in UNREADABLE_RULES for r in rows)
    opened = _open_copy(source, max_unpacked_bytes, max_rows) if readable and source is not None else None
    if opened is not None:
        wb, sheets = opened
        try:
            _prepare_copy(wb)
            links = _mark(sheets, rows)
            _issues_sheet(wb, list(zip(rows, links, strict=True)), title, copied=True)
            _save_atomic(wb, path)
            return path
        except Exception:  # a damaged part openpyxl loads but cannot write back: the list still goes out
            log.warning(
                "feedback copy of %s failed; writing the issue list only", submission_id, exc_info=True
            )
    wb = Workbook()
    printing.use_document_font(wb)
    wb.remove(wb.worksheets[0])
    _issues_sheet(wb, [(r, None) for r in rows], title, copied=False)
    _save_atomic(wb, path)
    return path


def safe_stem(original_name: str) -> str:
    """The original file name without folders, extension, control or bidi characters, at most 100 bytes."""
    name = re.split(r"[/\\]", unicodedata.normalize("NFC", str(original_name)))[-1]
    stem, dot, ext = name.rpartition(".")
    stem = stem if dot and stem and ext.isalnum() else name
    # category C* covers control, format (right-to-left overrides, zero-width) and unassigned characters
    stem = "".join(ch for ch in stem if unicodedata.category(ch)[0] != "C")
    stem = " ".join(_NOT_IN_FILE_NAMES.sub("_", stem).split()).strip(" .-_")
    stem = stem.encode("utf-8")[:MAX_STEM_BYTES].decode("utf-8", "ignore").rstrip(" .")
    return stem or "tep"


def rebuild_with_calamine(source: Path, max_rows: int = MAX_ROWS) -> tuple[Workbook, dict[str, Worksheet]]:
    """An .xlsx holding the cell values and merged ranges calamine reads, for formats openpyxl cannot open.

    Returns the workbook and its sheets by their ORIGINAL names (a name .xlsx forbids is adjusted, but
    issues still name the original).
    """
    book = CalamineWorkbook.from_path(str(source))
    wb = Workbook()
    wb.remove(wb.worksheets[0])
    sheets: dict[str, Worksheet] = {}
    try:
        for name in book.sheet_names:
            if name == ISSUES_TITLE:
                continue  # our list from an earlier round, resent: a fresh one replaces it
            sheet = book.get_sheet_by_name(name)
            if sheet.end is not None and sheet.end[0] + 1 > max_rows:  # to_python pads from A1
                raise ReadError("too_large", f"sheet '{name}' has cells down to row {sheet.end[0] + 1:,}")
            ws = wb.create_sheet(_NOT_IN_SHEET_TITLES.sub("_", name)[:31] or "Sheet")
            for r, row in enumerate(sheet.to_python(skip_empty_area=False), start=1):
                for c, value in enumerate(row, start=1):
                    if value is not None and value != "":
                        _put(ws, r, c, value)
            for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []:
                if (r0, c0) != (r1, c1):
                    ws.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1)
            sheets[name] = ws
    finally:
        book.close()
    return wb, sheets


def _open_copy(
    source: Path, max_unpacked: int, max_rows: int
) -> tuple[Workbook, dict[str, Worksheet]] | None:
    """The source as an openpyxl workbook (loaded, else rebuilt), or None when neither reader can open it."""
    if not source.is_file():
        return None
    kind = sniff_format(source)
    if kind is None:
        return None
    try:
        scan = scan_workbook(source, kind, Limits(max_unpacked, max_rows), merges=True)
    except ReadError:
        return None
    if scan.cells + scan.merged_cells > MAX_COPY_CELLS:
        log.info(
            "%s spans %s cells and %s merged cells: no marked copy",
            source.name,
            scan.cells,
            scan.merged_cells,
        )
        return None
    if kind == "zip" and source.suffix.lower() not in (".ods", ".xlsb"):
        try:
            return _load_with_openpyxl(source)
        except Exception:  # strict OOXML, odd writers: calamine may still read the values
            log.info("openpyxl cannot open %s; rebuilding it from calamine", source.name)
    try:
        return rebuild_with_calamine(source, max_rows)
    except Exception:  # calamine raises several error types for damaged files
        return None


def _load_with_openpyxl(source: Path) -> tuple[Workbook, dict[str, Worksheet]]:
    with warnings.catch_warnings(), source.open("rb") as fh:
        # openpyxl warns about parts it drops (extensions, unsupported validation); the copy is still right.
        warnings.simplefilter("ignore")
        # A file object, not a path: openpyxl refuses a path whose extension it does not know (.bin).
        wb = load_workbook(fh, keep_vba=False)
    wb.template = False  # an .xltx/.xltm saved under .xlsx must be a workbook, not a template
    return wb, {ws.title: ws for ws in wb.worksheets}


def _prepare_copy(wb: Workbook) -> None:
    """Unprotect every sheet so the marks show and cells can be fixed; undo an earlier round's marks."""
    if ISSUES_TITLE in wb.sheetnames:
        wb.remove(wb[ISSUES_TITLE])
    wb.security = None  # workbook structure protection would block the inserted sheet
    for ws in wb.worksheets:
        _fit_to_a4(ws)
        ws.protection.sheet = False
        ws.sheet_view.tabSelected = False  # several selected tabs open as a group in Excel
        for cell in list(ws._cells.values()):  # only existing cells; iter_rows would create the whole grid
            if cell.comment is not None and cell.comment.author == AUTHOR:
                cell.comment = None
                if cell.fill.fgColor.rgb in _OUR_COLOURS:  # the clerk's original fill is not known: none
                    cell.fill = PatternFill()


def _fit_to_a4(ws: Worksheet) -> None:
    """A sheet the clerk gave no paper size prints on A4, one page wide; a sheet set up by its sender keeps it."""
    if ws.page_setup.paperSize is not None:
        return
    landscape = printing.needs_landscape(ws, ws.max_column)
    printing.setup_page(ws, Page(landscape=landscape, pages_tall=0))


def _mark(sheets: Mapping[str, Worksheet], rows: Sequence[_Issue]) -> list[str | None]:
    """Fill and comment every cell named by an issue; returns each issue's link target (None: no sheet)."""
    links: list[str | None] = []
    on_cell: dict[tuple[str, str], tuple[Cell, list[_Issue]]] = {}
    for issue in rows:
        ws = sheets.get(issue.sheet)
        if ws is None:
            links.append(None)  # a sheet the workbook does not have (missing_sheet): listed, not marked
            continue
        ws.sheet_state = "visible"  # an issue on a hidden sheet must be seen
        coordinate = _coordinate(issue.cell)
        if coordinate is None:
            links.append(f"{quote_sheetname(ws.title)}!A1")
            continue
        cell = _anchor(ws, coordinate)
        links.append(f"{quote_sheetname(ws.title)}!{cell.coordinate}")
        on_cell.setdefault((issue.sheet, cell.coordinate), (cell, []))[1].append(issue)
    for cell, found in on_cell.values():
        cell.fill = ERROR_FILL if any(i.severity != "warning" for i in found) else WARNING_FILL
        text = "\n\n".join(f"{i.message_vi}\n{i.message_en}" for i in found)
        if cell.comment is not None:  # the clerk's own note stays, below ours
            text += f"\n\n(Ghi chú cũ / earlier note)\n{cell.comment.text}"
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
        cell.comment = Comment(text, AUTHOR, height=min(400, 40 + 16 * text.count("\n")), width=320)
    return links


def _coordinate(cell: str) -> str | None:
    """A single-cell A1 address inside Excel's grid, else None (an issue without a usable cell)."""
    m = _A1.match(cell.strip().upper())
    if not m or not 1 <= int(m[2]) <= 1_048_576 or column_index_from_string(m[1]) > 16_384:
        return None
    return f"{m[1]}{int(m[2])}"


def _anchor(ws: Worksheet, coordinate: str) -> Cell:
    """The cell itself, or the top-left cell of the merged range it lies in (the only one that shows)."""
    row, column = coordinate_to_tuple(coordinate)
    for merged in ws.merged_cells.ranges:
        if coordinate in merged:
            row, column = merged.min_row, merged.min_col
    return _cell(ws, row, column)


def _cell(ws: Worksheet, row: int, column: int) -> Cell:
    cell = ws.cell(row, column)
    assert isinstance(cell, Cell)  # not a MergedCell: callers never address inside a merged range
    return cell


def _issues_sheet(wb: Workbook, rows: Sequence[tuple[_Issue, str | None]], title: str, copied: bool) -> None:
    """The first sheet: title, what to do, one row per issue with a link to its cell (None: no link)."""
    ws = wb.create_sheet(ISSUES_TITLE, 0)
    for letter, width in zip("ABCDEFGH", WIDTHS, strict=True):
        ws.column_dimensions[letter].width = width
    if copied:
        vi = "Sửa các ô được tô màu rồi gửi lại toàn bộ tệp. Ô đỏ: lỗi (tệp bị từ chối); ô vàng: cảnh báo."
        en = "Fix the highlighted cells and resend the whole file. Red: error (file rejected); yellow: warning."
    else:
        vi = "Không mở được tệp đã gửi. Sửa theo hướng dẫn dưới đây rồi gửi lại toàn bộ tệp."
        en = "The file sent could not be opened. Follow the guidance below and resend the whole file."
    for row, text, font in ((1, title, TITLE), (2, vi, BOLD), (3, en, NORMAL)):
        cell = _put(ws, row, 1, text)
        cell.font, cell.alignment = font, Alignment(wrap_text=True, vertical="center")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(HEADERS))
    for c, header in enumerate(HEADERS, start=1):
        cell = _put(ws, HEADER_ROW, c, header)
        cell.font, cell.alignment, cell.border, cell.fill = BOLD, HEADER_ALIGNMENT, BOX, HEADER_FILL
    for n, (issue, link) in enumerate(rows, start=1):
        r = HEADER_ROW + n
        values = (n, issue.sheet, issue.cell, issue.column, issue.value,
                  SEVERITY_VI.get(issue.severity, issue.severity), issue.message_vi, issue.message_en)  # fmt: skip
        for c, value in enumerate(values, start=1):
            cell = _put(ws, r, c, value)
            cell.font, cell.border = NORMAL, BOX
            cell.alignment = HEADER_ALIGNMENT if c == 1 else WRAP  # the number centred, as in the header
        ws.cell(r, 6).fill = WARNING_FILL if issue.severity == "warning" else ERROR_FILL
        if link is not None:
            target = ws.cell(r, 3 if issue.cell else 2)
            # location= makes an internal link (no relationship, nothing leaves the workbook)
            target.hyperlink = Hyperlink(ref=target.coordinate, location=link, display=str(target.value))
            target.font = LINK
    printing.fit_row_heights(ws)
    printing.setup_page(ws, Page(landscape=True, pages_tall=0, title_rows=(HEADER_ROW, HEADER_ROW)))
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    ws.auto_filter.ref = f"A{HEADER_ROW}:H{HEADER_ROW + max(len(rows), 1)}"
    ws.sheet_view.tabSelected = True
    wb.active = 0


def _put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write a value; text can never become a formula."""
    cell = _cell(ws, row, column)
    if isinstance(value, str):
        text = ILLEGAL_CHARACTERS_RE.sub("", value)[:32_767]  # characters XML cannot hold; Excel's cell limit
        cell.value = text or None
        if needs_escape(text):  # leading spaces too: some importers trim them
            # openpyxl makes a formula of any text starting with "="; keep it text, and set Excel's own quote
            # prefix (what typing ' before it does) so that editing the cell in Excel keeps it text too.
            cell.data_type = "s"
            cell.quotePrefix = True
    elif isinstance(value, (int, float, bool, date, time, timedelta)):
        cell.value = value  # numbers, booleans, dates, times and durations as calamine reads them
    else:
        return _put(ws, row, column, str(value))
    return cell


def _str(value: Any) -> str:
    """A frame or dict field as text: None and NaN (a missing field in pandas) become ""."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def _archived(archive: Path, archive_path: str) -> Path | None:
    """The archived file, if there is one and it lies inside the archive (the ledger is text on disk)."""
    if not archive_path:
        return None
    path = (archive / archive_path).resolve()
    return path if path.is_relative_to(archive.resolve()) else None


def _save_atomic(wb: Workbook, path: Path) -> None:
    """Save beside the target and rename over it: a reader never sees half a workbook."""
    tmp = path.with_name(f".{path.name}.part")
    try:
        wb.save(tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
