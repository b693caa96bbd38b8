"""Completeness is data: every published figure says whether every report it is owed arrived."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ictstat.report import appendix_table
from tests.conftest import build_home, make_home

VIETTEL_DECEMBER = "vien_thong/2020/12/viettel_bc_vien_thong_thang_12_2020.xlsx"


@pytest.fixture(scope="module")
def without_viettel_december(demo_inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = make_home(tmp_path_factory.mktemp("no_viettel_dec"), demo_inbox)
    (settings.inbox / VIETTEL_DECEMBER).unlink()
    return build_home(settings)


@pytest.fixture(scope="module")
def mid_2020(demo_inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = make_home(tmp_path_factory.mktemp("mid_2020"), demo_inbox)
    return build_home(settings, as_of=date(2020, 7, 15))


def _figure(path: Path, table: str, where: str, params: list[str]) -> tuple:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(
            f"SELECT value, completeness, missing_reporters, completeness_note_vi, completeness_note_en "
            f"FROM {table} WHERE {where}",
            params,
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return row


def test_clean_demo_publishes_2020_complete(demo_db: duckdb.DuckDBPyConnection) -> None:
    for table in ("mart.province_indicators", "mart.district_indicators", "mart.carrier_indicators"):
        rows = demo_db.execute(
            f"SELECT completeness, count(*), count(missing_reporters) FROM {table} "
            "WHERE period IN ('2019', '2020') GROUP BY ALL"
        ).fetchall()
        assert rows and {r[0] for r in rows} == {"complete"}, (table, rows)
        assert sum(r[2] for r in rows) == 0
    notes = demo_db.execute(
        "SELECT count(*) FROM mart.appendix_telecom WHERE nam = 2020 AND ghi_chu IS NOT NULL"
    ).fetchone()
    assert notes == (0,)


def test_missing_december_marks_the_year_incomplete_naming_viettel(without_viettel_december: Path) -> None:
    _value, verdict, missing, note_vi, note_en = _figure(
        without_viettel_december,
        "mart.province_indicators",
        "indicator_code = ? AND period = ?",
        ["TEL_SUBS_MOBILE", "2020"],
    )
    assert verdict == "incomplete"
    assert missing == "VIETTEL"
    assert note_vi == "thiếu báo cáo tháng 12/2020 của Viettel Bình Phước"
    assert "VT-01 2020-12" in note_en and "Viettel" in note_en
    # a flow is short too, and so is what is derived from the carriers' reports
    for code in ("TEL_REVENUE", "TEL_SUBS_PHONE", "TEL_ENTERPRISES"):
        assert _figure(without_viettel_december, "mart.province_indicators",
                       "indicator_code = ? AND period = ?", [code, "2020"])[1] == "incomplete"  # fmt: skip
    # what December does not feed stays complete: the first half, another carrier, the postal figures
    for table, where, params in [
        ("mart.province_indicators", "indicator_code = ? AND period = ?", ["TEL_SUBS_MOBILE", "2020-H1"]),
        ("mart.province_indicators", "indicator_code = ? AND period = ?", ["POS_REVENUE", "2020"]),
        ("mart.carrier_indicators", "indicator_code = ? AND period = ? AND carrier_code = ?",
         ["TEL_SUBS_MOBILE", "2020", "VNPT"]),
    ]:  # fmt: skip
        assert _figure(without_viettel_december, table, where, params)[1] == "complete", params
    viettel = _figure(without_viettel_december, "mart.carrier_indicators",
                      "indicator_code = ? AND period = ? AND carrier_code = ?", ["TEL_REVENUE", "2020", "VIETTEL"])  # fmt: skip
    assert viettel[1:3] == ("incomplete", "VIETTEL")
    # every district's telecom figure lacks Viettel's rows
    con = duckdb.connect(str(without_viettel_december), read_only=True)
    try:
        verdicts = con.execute(
            "SELECT DISTINCT completeness, missing_reporters FROM mart.district_indicators "
            "WHERE indicator_code = 'TEL_BTS_SITES' AND period = '2020'"
        ).fetchall()
        line = con.execute(
            "SELECT completeness, ghi_chu FROM mart.appendix_telecom WHERE nam = 2020 "
            "AND indicator_code = 'TEL_SUBS_MOBILE'"
        ).fetchone()
    finally:
        con.close()
    assert verdicts == [("incomplete", "VIETTEL")]
    assert line == ("incomplete", "thiếu báo cáo tháng 12/2020 của Viettel Bình Phước")


def test_the_appendix_marks_the_line_and_says_what_is_missing(without_viettel_december: Path) -> None:
    from rich.console import Console

    console = Console(width=250, record=True)
    console.print(appendix_table(without_viettel_december, "PL4", 2020))
    text = console.export_text()
    mobile = next(line for line in text.splitlines() if "di động" in line and "Thuê bao" in line)
    assert "(*)" in mobile
    assert "(*) thiếu báo cáo tháng 12/2020 của Viettel Bình Phước" in text


def test_a_year_not_over_is_provisional(mid_2020: Path) -> None:
    _value, verdict, missing, note_vi, _ = _figure(
        mid_2020, "mart.province_indicators", "indicator_code = ? AND period = ?", ["TEL_REVENUE", "2020"]
    )
    assert verdict == "provisional" and missing is None
    assert note_vi == "kỳ báo cáo chưa kết thúc"
    # the first half is over and every June report arrived
    assert _figure(mid_2020, "mart.province_indicators", "indicator_code = ? AND period = ?",
                   ["TEL_REVENUE", "2020-H1"])[1] == "complete"  # fmt: skip


@pytest.mark.e2e
def test_the_nightly_run_warns_and_the_workbook_says_what_is_missing(
    demo_inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import shutil

    from openpyxl import load_workbook
    from prefect.testing.utilities import prefect_test_harness

    from flows.nightly import nightly
    from flows.reports import completeness_markdown

    shutil.copytree(demo_inbox, tmp_path / "inbox")
    (tmp_path / "inbox" / VIETTEL_DECEMBER).unlink()
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    with prefect_test_harness(server_startup_timeout=120), caplog.at_level(logging.WARNING):
        nightly(as_of=date(2026, 1, 1))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    closed = [w for w in warnings if "figures incomplete" in w]
    # December, the fourth quarter, the second half and the year lack Viettel's December
    periods = [w.split("/ period ")[1].split(":")[0] for w in closed]
    assert periods == ["2020", "2020-12", "2020-H2", "2020-Q4"]
    assert all("thiếu báo cáo tháng 12/2020 của Viettel Bình Phước" in w for w in closed)
    report = "\n".join(completeness_markdown(tmp_path / "warehouse.duckdb"))
    assert "| 2020 |" in report and "Viettel" in report
    ws = load_workbook(tmp_path / "exports" / "phu_luc_2020.xlsx")["PL4 Viễn thông"]
    notes = {ws.cell(r, 2).value: ws.cell(r, 7).value for r in range(5, ws.max_row + 1)}
    assert notes["- Thuê bao điện thoại di động"] == "(*) thiếu báo cáo tháng 12/2020 của Viettel Bình Phước"


@given(
    value=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    decimals=st.integers(min_value=0, max_value=3),
)
def test_fixed_decimals_are_the_same_whatever_the_value(value: float, decimals: int) -> None:
    from ictstat.report import vn_number

    text = vn_number(value, decimals, fixed=True)
    if decimals:
        assert len(text.rsplit(",", 1)[1]) == decimals  # 1.656 -> "1.656,00" beside "1.504,09"
    else:
        assert "," not in text


@given(
    previous=st.floats(min_value=0.1, max_value=100, allow_nan=False),
    current=st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_rates_compare_in_points_and_amounts_by_index(previous: float, current: float) -> None:
    from ictstat.report import comparison_text

    points = comparison_text("percent", None, current - previous)
    assert points.endswith(" điểm %")
    assert points.startswith("+") == (round(current - previous, 1) > 0)
    assert not points.startswith("-0,0")
    index = comparison_text("billion VND", 100 * current / previous, None)
    assert "điểm" not in index and "," in index  # one decimal, Vietnamese mark
