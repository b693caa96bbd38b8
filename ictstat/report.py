"""Reading the published warehouse for people: the appendix tables as the report prints them."""

from __future__ import annotations

import math
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text


def shown(value: float | None) -> float | None:
    """What a cell of an appendix shows, the same in the terminal and in the workbook: a finite number, or
    nothing. The build refuses to publish a non-finite figure; this keeps any face from printing one anyway."""
    return value if value is not None and math.isfinite(value) else None


def vn_number(value: float | None, decimals: int | None = None) -> str:
    """1307732 -> '1.307.732', 92.4 -> '92,4' (Vietnamese separators); nothing (or NaN, ±inf) -> '-'."""
    value = shown(value)
    if value is None:
        return "-"
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 2
    text = f"{value:,.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def appendix_rows(warehouse: Path, appendix: str, year: int) -> list[tuple]:
    import duckdb  # when a table is printed, not when the command line starts

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT line_no, label_vi, unit_vi, previous_year_value, value, yoy_change_pct, qualifier, "
            "appendix_title_vi, indicator_code FROM mart.appendix_lines WHERE appendix = ? AND report_year = ? ORDER BY line_order",
            [appendix, year],
        ).fetchall()
    finally:
        con.close()


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
    rows = appendix_rows(warehouse, appendix, year)
    title = rows[0][7] if rows else appendix
    table = Table(title=f"{title} — năm {year}", title_style="bold", header_style="bold")
    table.add_column("STT", justify="right")
    table.add_column("Chỉ tiêu")
    table.add_column("Đơn vị tính")
    table.add_column(f"Năm {year - 1}", justify="right")
    table.add_column(f"Năm {year}", justify="right")
    table.add_column("So sánh (%)", justify="right")
    for line_no, label, unit, prev, value, change, qualifier, _, indicator in rows:
        if indicator is None:  # a section heading
            table.add_row(line_no, Text(label, style="bold"), "", "", "", "")
            continue
        prefix = {"more_than": "hơn ", "about": "khoảng ", "less_than": "dưới "}.get(qualifier or "", "")
        table.add_row(
            line_no or "",
            Text(label),  # reference text shown as it is, never read as markup
            Text(unit),
            vn_number(prev),
            prefix + vn_number(value),
            "-" if shown(change) is None else f"{change:.1f}".replace(".", ","),
        )
    return table


def print_appendix(warehouse: Path, appendix: str, year: int, console: Console | None = None) -> None:
    (console or Console()).print(appendix_table(warehouse, appendix, year))
