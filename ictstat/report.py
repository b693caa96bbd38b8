"""Reading the published warehouse for people: the appendix tables as the report prints them.

Owned here: how a figure reads in Vietnamese (separators, the indicator's fixed decimals, the comparison
column: the index for counts and amounts, the change in percentage points for rates), the Vietnamese words
for the warehouse's English statuses and units, and the "(*)" notes of figures that are not complete. The
exported workbook (:mod:`ictstat.export`) uses the same helpers, so the CLI and the workbook read alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text


def shown(value: float | None) -> float | None:
    """What a cell of an appendix shows, the same in the terminal and in the workbook: a finite number, or
    nothing. The build refuses to publish a non-finite figure; this keeps any face from printing one anyway."""
    return value if value is not None and math.isfinite(value) else None


# The warehouse keeps English codes for analysts; a Vietnamese page shows these words instead.
STATUS_VI = {
    "holds": "khớp",
    "mismatch": "lệch",
    "no_data": "thiếu số liệu",
    "met": "đạt",
    "on track": "đúng tiến độ",
    "off track": "chậm tiến độ",
    "no data": "chưa có số liệu",
    "unreconciled": "số liệu chưa khớp",
    "complete": "đầy đủ",
    "incomplete": "thiếu báo cáo",
    "provisional": "tạm tính",
}
UNIT_VI = {
    "sites": "trạm",
    "percent": "%",
    "communes": "xã",
    "subscribers": "thuê bao",
    "points": "điểm",
    "households": "hộ",
    "enterprises": "doanh nghiệp",
    "billion VND": "tỷ đồng",
    "million VND": "triệu đồng",
    "agencies": "cơ quan",
    "units": "đơn vị",
    "documents": "văn bản",
    "services": "dịch vụ",
    "percent/year": "%/năm",
    "unit": "đơn vị",
}
QUALIFIER_PREFIX = {"more_than": "hơn ", "about": "khoảng ", "less_than": "dưới "}
MARK = "(*)"  # beside a figure that is incomplete or provisional; the note under the table says why


def comparison_header(year: int) -> str:
    """The comparison column's header says what it holds: the index, this year against the last."""
    return f"So sánh {year}/{year - 1} (%)"


def comparison_note(year: int) -> str:
    return (
        f"So sánh {year}/{year - 1} (%) = năm {year} / năm {year - 1} × 100; "
        "chỉ tiêu tỷ lệ (%): tăng/giảm tính bằng điểm phần trăm."
    )


def vn_number(value: float | None, decimals: int | None = None, fixed: bool = False) -> str:
    """1307732 -> '1.307.732', 92.4 -> '92,4' (Vietnamese separators); ``fixed`` keeps every decimal
    (92.4 with 2 -> '92,40'), as an indicator's printed columns do; nothing (or NaN, ±inf) -> '-'."""
    value = shown(value)
    if value is None:
        return "-"
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 2
    text = f"{value:,.{decimals}f}"
    if decimals and not fixed:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def comparison_text(unit: str | None, index: float | None, change_pp: float | None) -> str:
    """The comparison cell: the index with one decimal ('110,1'), or for a rate the change in points
    ('+32,8 điểm %')."""
    if unit == "percent":
        if change_pp is None:
            return "-"
        points = shown(change_pp)
        if points is None:
            return "-"
        points = round(points, 1) + 0.0  # + 0.0: never "-0,0"
        sign = "+" if points > 0 else ""  # a fall carries its own minus sign
        return f"{sign}{vn_number(points, 1, fixed=True)} điểm %"
    return vn_number(index, 1, fixed=True)


@dataclass(frozen=True)
class AppendixLine:
    line_no: str | None
    label: str
    unit_vi: str | None
    indicator: str | None
    previous: float | None
    value: float | None
    qualifier: str | None
    unit: str | None
    decimals: int
    index: float | None
    change_pp: float | None
    completeness: str | None
    note_vi: str | None
    title: str

    @property
    def marked(self) -> bool:
        return self.indicator is not None and self.completeness in ("incomplete", "provisional")

    def figure(self, value: float | None) -> str:
        return vn_number(value, self.decimals, fixed=True)

    def comparison(self) -> str:
        return comparison_text(self.unit, self.index, self.change_pp)

    def footnote(self) -> str | None:
        """'(*) thiếu báo cáo tháng 12/2020 của Viettel Bình Phước' for a line whose figure is not complete."""
        if not self.marked:
            return None
        why = self.note_vi or STATUS_VI.get(self.completeness or "", "")
        return f"{MARK} {why}"


def appendix_lines(warehouse: Path, appendix: str, year: int) -> list[AppendixLine]:
    import duckdb  # when a table is printed, not when the command line starts

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT line_no, label_vi, unit_vi, indicator_code, previous_year_value, value, qualifier, unit, "
            "coalesce(decimals, 0), yoy_index, yoy_change_pp, completeness, completeness_note_vi, "
            "appendix_title_vi FROM mart.appendix_lines WHERE appendix = ? AND report_year = ? "
            "ORDER BY line_order",
            [appendix, year],
        ).fetchall()
    finally:
        con.close()
    return [AppendixLine(*row) for row in rows]


def footnotes(lines: list[AppendixLine]) -> list[str]:
    """Each distinct note once, in the order of the lines."""
    return list(dict.fromkeys(n for n in (line.footnote() for line in lines) if n))


def appendix_years(warehouse: Path) -> list[int]:
    """The report years the published warehouse has appendix figures for."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT DISTINCT report_year FROM mart.appendix_lines WHERE value IS NOT NULL ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    return [int(r[0]) for r in rows]


def appendix_table(warehouse: Path, appendix: str, year: int) -> Table:
    lines = appendix_lines(warehouse, appendix, year)
    title = lines[0].title if lines else appendix
    notes = footnotes(lines)
    caption = "\n".join([comparison_note(year), *notes])
    table = Table(
        title=f"{title} — năm {year}", title_style="bold", header_style="bold", caption=caption,
        caption_justify="left",
    )  # fmt: skip
    table.add_column("STT", justify="right")
    table.add_column("Chỉ tiêu")
    table.add_column("Đơn vị tính")
    table.add_column(f"Năm {year - 1}", justify="right")
    table.add_column(f"Năm {year}", justify="right")
    table.add_column(comparison_header(year), justify="right")
    for line in lines:
        if line.indicator is None:  # a section heading
            table.add_row(line.line_no, Text(line.label, style="bold"), "", "", "", "")
            continue
        prefix = QUALIFIER_PREFIX.get(line.qualifier or "", "")
        mark = f" {MARK}" if line.marked else ""
        table.add_row(
            line.line_no or "",
            Text(line.label),  # reference text shown as it is, never read as markup
            Text(line.unit_vi or ""),
            line.figure(line.previous),
            prefix + line.figure(line.value) + mark,
            line.comparison(),
        )
    return table


def print_appendix(warehouse: Path, appendix: str, year: int, console: Console | None = None) -> None:
    (console or Console()).print(appendix_table(warehouse, appendix, year))
