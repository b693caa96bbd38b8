"""Drawn inputs for the checks of issue 13: extreme numbers and impossible periods, through the real parser and
the real sheet schemas (a VT-01 written from the template and read by calamine once, then its cells replaced).

Whatever is drawn, parsing and validating never raise, no parsed value is non-finite, a column whose sum
overflows is an error of the file at a cell, a figure outside its indicator's range is an error at its cell,
and a period is either refused or has a sane four-digit year.
"""

from __future__ import annotations

import copy
import math
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ictstat import reference
from ictstat.periods import MIN_YEAR, Period, parse_reporting_period
from ictstat.text import fold
from tasks.numbers import parse_number
from tasks.parse import TOTAL_WORDS, parse_workbook
from tasks.parsefile import CELL_COLUMNS, cell_columns
from tasks.read import RawWorkbook, read_workbook
from tasks.validate import validate_parses
from tests.test_values import SUBS, vt01

AS_OF = date(2021, 1, 20)
# what Python's float() accepts and no clerk types as a figure
FLOAT_PARSABLE = ["inf", "nan", "1e400", "Infinity", "1_000", " NaN ", "-inf", "+inf", "1e5", "1.7e308", "-0.0e0",
                  "١٢٣", "１２３", "0x10", "1.²³⁴", "infinity", "  -Infinity\n"]  # fmt: skip
EXTREME_FLOATS = [1.7e308, -1.7e308, 5e-324, -5e-324, 2.2250738585072014e-308, -0.0, 0.0, float(2**63), 1e300,
                  math.inf, -math.inf, math.nan]  # fmt: skip
DRAWN = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip

extreme_number = st.one_of(
    st.sampled_from(EXTREME_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.sampled_from([2**63, -(2**63), 2**64 + 1, 10**400]),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(FLOAT_PARSABLE),
)


@given(extreme_number, st.sampled_from(["int", "decimal"]))
@DRAWN
def test_a_number_is_finite_or_refused(raw: Any, kind: str) -> None:
    parsed = parse_number(raw, kind)  # type: ignore[arg-type]
    assert parsed.value is None or math.isfinite(parsed.value)
    if isinstance(raw, str):
        assert parsed.error == "not_a_number", raw


@cache
def _vt01_grid() -> RawWorkbook:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    path = vt01(folder / "vt01.xlsx")
    return read_workbook(path, 100 << 20, 20_000)


def _workbook() -> RawWorkbook:
    wb = copy.deepcopy(_vt01_grid())
    for sheet in wb.sheets:
        sheet.header_memo = None
    return wb


def _mobile_cells(wb: RawWorkbook) -> tuple[list[list[Any]], int, list[int], int]:
    """The subscribers sheet's rows, the mobile column, the district rows and the total row."""
    sheet = wb.sheet(SUBS)
    assert sheet is not None
    rows = sheet.rows
    total = next(r for r, row in enumerate(rows) if any(fold(v) in TOTAL_WORDS for v in row[:3]))
    return rows, 4, list(range(total - 11, total)), total


@given(
    st.lists(st.one_of(extreme_number, st.just(1.7e308)), min_size=1, max_size=11),
    st.one_of(
        st.none(), st.just(""), st.sampled_from([1.7e308, 3.4e308, math.inf, "inf", 66000.0]), extreme_number
    ),
)
@DRAWN
def test_extreme_cells_are_errors_of_the_file_never_a_crash(cells: list[Any], total: Any) -> None:
    wb = _workbook()
    rows, col, district_rows, total_row = _mobile_cells(wb)
    for r, value in zip(district_rows, cells, strict=False):
        rows[r][col] = value
    rows[total_row][col] = total
    out = parse_workbook(wb, "70", today=None)
    values = [v["value"] for v in out.values]
    assert all(v is None or math.isfinite(v) for v in values)
    mobile = [v["value"] for v in out.values if v["measure"] == "subs_mobile" and v["value"] is not None]
    running, overflowed = 0.0, False
    for v in mobile:
        running += v
        overflowed |= not math.isfinite(running)
    rules = {i.rule for i in out.issues if i.severity == "error"}
    if overflowed:
        assert "sum_overflow" in rules
        assert all(i.cell.startswith("E") for i in out.issues if i.rule == "sum_overflow")
    template_id = out.template.template_id if out.template else None
    parse = {"template_id": template_id, "value_columns": CELL_COLUMNS, "cells": cell_columns(out.values)}
    issues = validate_parses({"s" * 64: parse}, [d.code for d in reference.all_districts()])["s" * 64]
    lo, hi = reference.indicator_range("TEL_SUBS_MOBILE")
    assert lo == 0 and hi is not None
    beyond = [v for v in mobile if v > hi]
    out_of_range = [i for i in issues if i["rule"] == "out_of_range" and i["column"].endswith("di động")]
    assert len(out_of_range) == len(beyond)
    assert all(i["cell"].startswith("E") and i["severity"] == "error" for i in out_of_range)
    if overflowed or beyond or any(v < 0 for v in mobile):
        assert rules or issues  # the file cannot be accepted
    assert not any(i["rule"] == "parse_crash" for i in issues)


cover_period = st.one_of(
    st.builds(lambda m, y: f"{m}/{y:04d}", st.integers(0, 13), st.integers(0, 9999)),
    st.builds(lambda m, y: f"Tháng {m} năm {y:04d}", st.integers(0, 13), st.integers(0, 9999)),
    st.builds(lambda m, y: f"{y:04d}-{m:02d}", st.integers(0, 13), st.integers(0, 9999)),
    st.builds(lambda y: f"12/{y}", st.integers(0, 99999)),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    st.sampled_from(
        ["12/0000", "12/0202", "Tháng 12 năm 0202", "0202-12", "Năm 0000", "6 tháng đầu năm 0020"]
    ),
    extreme_number,
    st.text(max_size=40),
)


@given(cover_period)
@DRAWN
def test_a_cover_period_is_sane_or_refused_with_its_cell(raw: Any) -> None:
    wb = _workbook()
    cover = wb.sheets[0]
    r, c = next(
        (r, c)
        for r, row in enumerate(cover.rows)
        for c, v in enumerate(row)
        if isinstance(v, str) and v == "12/2020"
    )
    cover.rows[r][c] = raw
    out = parse_workbook(wb, "70", today=AS_OF)
    first = reference.first_year()
    if out.period is None:
        period_issues = [i for i in out.issues if i.rule in ("bad_period", "period_out_of_range")]
        assert period_issues and all(i.sheet == cover.name for i in period_issues)
        assert all(i.cell for i in period_issues) or raw in ("", None)  # a blank has no cell of its own
        return
    assert max(MIN_YEAR, first) <= out.period.year <= 9999
    text = str(out.period)
    assert int(text[:4]) == out.period.year and Period.parse(text) == out.period
    if out.period.end_date >= AS_OF:
        assert "future_period" in {i.rule for i in out.issues}


@given(cover_period)
@DRAWN
def test_reading_a_period_never_raises(raw: Any) -> None:
    period = parse_reporting_period(raw)
    if period is not None:
        str(period)  # always printable; whether its year is sane is the cover check's business
