"""Exports of the published warehouse for people who do not query it: the appendix workbook and Parquet files.

Owned here: what each sheet of ``phu_luc_<year>.xlsx`` holds (the appendices PL2-PL6 as the report prints them,
the charts, the reconciliation and the plan tracking) and the Parquet copy of every ``mart`` table and view.
Cell-level writing (formula escape, number formats, styles, atomic save) is ``ictstat.xlsx``; the charts are
``ictstat.export_charts``; the page each sheet prints on is ``ictstat.printing``. Everything reads the warehouse read-only, so an export never blocks the nightly run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from ictstat import export_charts, printing, xlsx
from ictstat.report import (
    MARK,
    STATUS_VI,
    UNIT_VI,
    comparison_header,
    comparison_note,
    comparison_text,
    shown,
    vn_number,
)

# The appendices in the report's order, with the sheet names a clerk looks for (at most 31 characters).
APPENDIX_SHEETS = {
    "PL2": "PL2 Báo chí",
    "PL3": "PL3 Bưu chính",
    "PL4": "PL4 Viễn thông",
    "PL5": "PL5 CNTT",
    "PL6": "PL6 Thanh tra",
}
RECONCILIATION_SHEET = "Đối chiếu"
TARGETS_SHEET = "Theo dõi kế hoạch"
HEADER_ROW = 4  # title, notes line, a blank row, then the header

# How the report words an approximate figure; the figure itself stays a number in its own cell.
QUALIFIER_WORDS = {"more_than": "hơn", "about": "khoảng", "less_than": "dưới"}

_APPENDIX_LINES_SQL = """
SELECT appendix, appendix_title_vi, line_no, label_vi, indicator_code, unit_vi,
       previous_year_value, value, yoy_change_pct, qualifier,
       unit, coalesce(decimals, 0), yoy_index, yoy_change_pp, completeness, completeness_note_vi
FROM mart.appendix_lines WHERE report_year = ? ORDER BY appendix, line_order
"""
# Mismatches first: they are what the reader of this sheet is looking for.
_RECONCILIATION_SQL = """
SELECT rule_id, period, status, lhs, rhs, difference, expression, description_vi
FROM mart.reconciliation WHERE period = ?
ORDER BY CASE status WHEN 'mismatch' THEN 0 WHEN 'no_data' THEN 1 ELSE 2 END, rule_id
"""
_TARGETS_SQL = """
SELECT target_code, target_year, comparator, target_value, unit, description_vi, indicator_code,
       actual_year, actual_value, gap, status, coalesce(measurement_note_vi, measurement_note)
FROM mart.target_tracking ORDER BY target_year, target_code
"""
_MART_OBJECTS_SQL = """
SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'mart'
UNION SELECT view_name FROM duckdb_views()
WHERE database_name = current_database() AND schema_name = 'mart' AND NOT internal
ORDER BY 1
"""
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def export_appendix_workbook(warehouse: Path, year: int, out_dir: Path) -> Path:
    """Write ``out_dir/phu_luc_<year>.xlsx``: appendices PL2-PL6, charts, reconciliation and plan tracking.

    Raises ``ValueError`` when the warehouse holds no appendix figure for ``year``.
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (figures,) = con.execute(
            "SELECT count(value) FROM mart.appendix_lines WHERE report_year = ?", [year]
        ).fetchone() or (0,)
        if not figures:
            raise ValueError(
                f"Kho dữ liệu {warehouse.name} không có số liệu phụ lục năm {year}. / "
                f"The warehouse {warehouse.name} holds no appendix figures for {year}."
            )
        lines = con.execute(_APPENDIX_LINES_SQL, [year]).fetchall()
        workbook = Workbook()
        printing.use_document_font(workbook)
        workbook.remove(workbook.worksheets[0])  # the default "Sheet": sheets are added in the report's order
        for code, sheet_name in APPENDIX_SHEETS.items():
            rows = [line for line in lines if line[0] == code]
            write_appendix_sheet(workbook.create_sheet(sheet_name), rows, year)
        export_charts.write_charts_sheet(workbook.create_sheet(export_charts.CHARTS_SHEET), con, year)
        write_reconciliation_sheet(
            workbook.create_sheet(RECONCILIATION_SHEET),
            con.execute(_RECONCILIATION_SQL, [str(year)]).fetchall(),
            year,
        )
        write_targets_sheet(workbook.create_sheet(TARGETS_SHEET), con.execute(_TARGETS_SQL).fetchall())
    for ws in workbook.worksheets:
        if ws.title != export_charts.CHARTS_SHEET:  # laid out in blocks, one chart a page: its own setup
            make_printable(ws)
    workbook.properties.title = f"Phụ lục báo cáo năm {year}"
    workbook.properties.creator = "ictstat"
    return xlsx.save_atomically(out_dir / f"phu_luc_{year}.xlsx", lambda tmp: workbook.save(tmp))


def make_printable(ws: Worksheet) -> None:
    """A4 fitted to the table's width; one page when it fits, else the header repeated on every page."""
    printing.name_fonts(ws)
    printing.fit_row_heights(ws)
    printing.setup_page(ws, printing.choose_page(ws, (HEADER_ROW, HEADER_ROW)))


def write_appendix_sheet(ws: Worksheet, lines: list[tuple], year: int) -> None:
    """One appendix as the report prints it: STT, label, unit, both years, change, and a note for "hơn 100"."""
    title = lines[0][1] if lines else ws.title
    xlsx.write_title(
        ws,
        f"{title} năm {year}",
        f"(Đơn vị tính ghi theo từng chỉ tiêu. {comparison_note(year)} "
        f"Số liệu tổng hợp từ các báo cáo của doanh nghiệp và đơn vị trong kho dữ liệu; "
        f"{MARK}: số liệu thiếu báo cáo hoặc tạm tính, xem cột Ghi chú.)",
        width=7,
    )
    header = [
        "STT", "Chỉ tiêu", "Đơn vị tính", f"Năm {year - 1}", f"Năm {year}", comparison_header(year), "Ghi chú",
    ]  # fmt: skip
    xlsx.write_header(ws, HEADER_ROW, header, widths=[6, 44, 12, 12, 12, 11, 16])
    if not lines:
        xlsx.write_text(ws, HEADER_ROW + 1, 2, f"Không có số liệu năm {year}").font = xlsx.NOTE
    last = HEADER_ROW + 1
    for last, line in enumerate(lines, start=HEADER_ROW + 1):
        (_, _, line_no, label, indicator, unit_vi, previous, value, _, qualifier,
         unit, decimals, index, change_pp, completeness, completeness_note) = line  # fmt: skip
        if indicator is None:  # a section heading (I, II, ...): bold, no figures
            xlsx.write_record(ws, last, [line_no, label, None, None, None, None, None], bold=True)
            continue
        # an index is a number; a rate's change in points is words ("+32,8 điểm %"); nothing non-finite shows
        comparison = (
            shown(index)
            if unit != "percent"
            else (comparison_text(unit, index, change_pp) if shown(change_pp) is not None else None)
        )
        figure_format = decimals_format(decimals)
        xlsx.write_record(
            ws,
            last,
            [line_no, label, unit_vi, shown(previous), shown(value), comparison,
             appendix_note(qualifier, value, decimals, completeness, completeness_note)],
            formats=[None, None, None, figure_format, figure_format, xlsx.PERCENT_CHANGE, None],
        )  # fmt: skip
        xlsx.cell_at(ws, last, 1).alignment = xlsx.CENTER
    printing.write_signatures(ws, last + 2, (1, 3), (4, 7))


def decimals_format(decimals: int) -> str:
    """The number format of an indicator's fixed decimals, the same in both year columns."""
    return xlsx.INTEGER if decimals <= 0 else "#,##0." + "0" * decimals


def appendix_note(
    qualifier: str | None, value: float | None, decimals: int, completeness: str | None, note: str | None
) -> str | None:
    """The "Ghi chú" cell: how the report words an approximate figure, and what a figure that is not
    complete lacks ("(*) thiếu báo cáo tháng 12/2020 của Viettel Bình Phước")."""
    parts = []
    word = QUALIFIER_WORDS.get(qualifier or "")
    if word and value is not None:
        parts.append(f"{word} {vn_number(value, decimals, fixed=True)}")
    if completeness in ("incomplete", "provisional"):
        parts.append(f"{MARK} {note or STATUS_VI[completeness]}")
    return "; ".join(parts) or None


def write_reconciliation_sheet(ws: Worksheet, checks: list[tuple], year: int) -> None:
    """Every arithmetic rule of the year, mismatches first and shaded."""
    xlsx.write_title(
        ws,
        f"Đối chiếu số liệu năm {year}",
        "Kết quả: khớp, lệch, thiếu số liệu. Chênh lệch = vế trái - vế phải; "
        "số liệu lệch vẫn được công bố như đã báo cáo.",
        width=8,
    )
    header = ["Mã quy tắc", "Kỳ", "Kết quả", "Vế trái", "Vế phải", "Chênh lệch", "Quy tắc", "Diễn giải"]
    # narrow enough to print on A4 landscape at 80 %: the rule and its explanation wrap
    xlsx.write_header(ws, HEADER_ROW, header, widths=[22, 6, 9, 12, 12, 10, 42, 38])
    for row, check in enumerate(checks, start=HEADER_ROW + 1):
        sides = xlsx.row_format(check[3:5])  # both sides of a rule with the same decimals
        formats = [None, None, None, sides, sides, xlsx.SMALL_DIFFERENCE, None, None]
        status = check[2]
        values = [*check[:2], STATUS_VI.get(status, status), *check[3:]]
        cells = xlsx.write_record(ws, row, values, formats=formats)
        _shade_status(cells[2], status)


def write_targets_sheet(ws: Worksheet, targets: list[tuple]) -> None:
    """The 2021-2025 plan's targets against the latest actual figure, one row per target."""
    xlsx.write_title(
        ws,
        "Theo dõi thực hiện chỉ tiêu kế hoạch 2021-2025",
        "Trạng thái: đạt, đúng tiến độ, chậm tiến độ, chưa có số liệu (chưa có chỉ tiêu đo hoặc chưa có số "
        "liệu). Chênh lệch = thực tế - mục tiêu.",
        width=12,
    )
    header = [
        "Mã mục tiêu", "Năm mục tiêu", "So sánh", "Mục tiêu", "Đơn vị", "Nội dung", "Chỉ tiêu đo",
        "Năm thực tế", "Thực tế", "Chênh lệch", "Trạng thái", "Ghi chú đo lường",
    ]  # fmt: skip
    widths = [24, 7, 6, 9, 10, 34, 20, 7, 9, 9, 10, 36]  # A4 landscape at 70 %: the long texts wrap
    xlsx.write_header(ws, HEADER_ROW, header, widths=widths)
    for row, target in enumerate(targets, start=HEADER_ROW + 1):
        figures = xlsx.row_format([target[3], target[8], target[9]])  # target, actual and gap alike
        formats = [None, xlsx.YEAR, None, figures, None, None, None, xlsx.YEAR, figures, figures, None, None]
        values = list(target)
        status, unit = values[10], values[4]
        values[10] = STATUS_VI.get(status, status)
        values[4] = UNIT_VI.get(unit, unit)
        cells = xlsx.write_record(ws, row, values, formats=formats)
        _shade_status(cells[10], status)


def _shade_status(cell: Cell, status: str) -> None:
    fill = xlsx.STATUS_FILLS.get(status)
    if fill is not None:
        cell.fill = fill


def export_parquet(warehouse: Path, out_dir: Path) -> list[Path]:
    """Write every ``mart`` table and view to ``out_dir/parquet/<name>.parquet``, each file atomically."""
    folder = out_dir / "parquet"
    written: list[Path] = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for (name,) in con.execute(_MART_OBJECTS_SQL).fetchall():
            # Names are inlined into SQL (identifiers cannot be bound): only plain lower-case names pass.
            if not _IDENTIFIER.fullmatch(name):
                raise ValueError(f"Tên bảng không hợp lệ: {name!r} / Unexpected mart table name: {name!r}")
            written.append(xlsx.save_atomically(folder / f"{name}.parquet", _copy_to_parquet(con, name)))
    return written


def _copy_to_parquet(con: duckdb.DuckDBPyConnection, table: str) -> Callable[[Path], None]:
    def copy(tmp: Path) -> None:
        con.execute(f'COPY (SELECT * FROM mart."{table}") TO {sql_path_literal(tmp)} (FORMAT parquet)')

    return copy


def sql_path_literal(path: Path) -> str:
    """A path as a SQL string literal for COPY, which takes no bound parameter for its target.

    A quote is refused rather than doubled: a path with a quote in it is a mistake worth hearing about.
    """
    text = str(path.resolve())
    if "'" in text or "\0" in text:
        raise ValueError(
            f"Đường dẫn không được chứa dấu nháy: {text} / The export path may not contain a quote: {text}"
        )
    return f"'{text}'"


def latest_complete_year(warehouse: Path, today: date) -> int | None:
    """The latest year before ``today``'s that has yearly figures in the warehouse."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute(
            "SELECT max(CAST(period AS INTEGER)) FROM mart.province_indicators "
            "WHERE period_kind = 'year' AND CAST(period AS INTEGER) < ?",
            [today.year],
        ).fetchone()
    finally:
        con.close()
    return int(row[0]) if row and row[0] is not None else None
