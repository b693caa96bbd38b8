"""The warehouse built from the demo inbox: the report's telecom figures, stock/flow rules, marts adding up."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_FILES, report_figures

TEL_CODES = [code for code in report_figures() if code.startswith("TEL_")]


def province(con, code: str, period: str):
    return con.execute(
        "SELECT value, unit, yoy_change_pct, yoy_change_abs FROM mart.province_indicators "
        "WHERE indicator_code = ? AND period = ?",
        [code, period],
    ).fetchone()


@pytest.mark.parametrize("code", TEL_CODES)
def test_2020_telecom_figures_reproduce_the_report(demo_db, code):
    expected = report_figures()[code]
    value, unit, yoy_pct, yoy_abs = province(demo_db, code, "2020")
    assert value == float(expected["value_2020"])
    assert unit == expected["unit"]
    if expected["yoy_change_pct"]:
        assert yoy_pct == pytest.approx(float(expected["yoy_change_pct"]), abs=0.1)
    if expected["yoy_change_abs"]:
        assert yoy_abs == float(expected["yoy_change_abs"])


def test_stocks_are_the_last_month_and_flows_the_sum_of_months(demo_db):
    months = [f"2020-{m:02d}" for m in range(1, 13)]
    mobile = {p: province(demo_db, "TEL_SUBS_MOBILE", p)[0] for p in [*months, "2020", "2020-Q3", "2020-H1"]}
    assert mobile["2020"] == mobile["2020-12"] != sum(mobile[m] for m in months)
    assert mobile["2020-Q3"] == mobile["2020-09"] and mobile["2020-H1"] == mobile["2020-06"]
    revenue = {p: province(demo_db, "TEL_REVENUE", p)[0] for p in [*months, "2020", "2020-Q1"]}
    assert revenue["2020"] == pytest.approx(sum(revenue[m] for m in months))
    assert revenue["2020-Q1"] == pytest.approx(revenue["2020-01"] + revenue["2020-02"] + revenue["2020-03"])


def test_money_is_converted_from_million_to_billion_vnd(demo_db):
    reported = demo_db.execute(
        "SELECT sum(reported_value) FROM core.fct_reported_values WHERE indicator_code = 'TEL_REVENUE' "
        "AND reported_period LIKE '2020-%'"
    ).fetchone()[0]
    assert reported == 1_656_000  # million VND, as carriers report
    assert province(demo_db, "TEL_REVENUE", "2020")[0] == 1656  # billion VND, as the report states


@pytest.mark.parametrize("code", ["TEL_SUBS_FIXED", "TEL_SUBS_MOBILE", "TEL_SUBS_INTERNET", "TEL_BTS_SITES"])
def test_districts_and_carriers_add_up_to_the_province(demo_db, code):
    for period in ["2020", "2019-07", "2020-Q2"]:
        total = province(demo_db, code, period)[0]
        by_district = demo_db.execute(
            "SELECT sum(value), count(*) FROM mart.district_indicators WHERE indicator_code = ? AND period = ?",
            [code, period],
        ).fetchone()
        by_carrier = demo_db.execute(
            "SELECT sum(value) FROM mart.carrier_indicators WHERE indicator_code = ? AND period = ?",
            [code, period],
        ).fetchone()[0]
        assert by_district == (total, 11)
        assert by_carrier == total


def test_district_rows_carry_reference_names(demo_db):
    rows = demo_db.execute(
        "SELECT district_code, district_name, district_type FROM mart.district_indicators "
        "WHERE indicator_code = 'TEL_BTS_SITES' AND period = '2020' ORDER BY district_code"
    ).fetchall()
    assert rows[0] == ("688", "Phước Long", "thị xã") and rows[1] == ("689", "Đồng Xoài", "thành phố")


def test_enterprises_are_counted_from_active_carriers(demo_db):
    rows = demo_db.execute(
        "SELECT period, value FROM mart.province_indicators WHERE indicator_code = 'TEL_ENTERPRISES' "
        "AND period IN ('2019', '2020', '2020-03') ORDER BY period"
    ).fetchall()
    assert rows == [("2019", 7.0), ("2020", 7.0), ("2020-03", 7.0)]


def test_appendix_4_reads_like_the_report(demo_db):
    rows = demo_db.execute(
        "SELECT stt, chi_tieu, don_vi_tinh, nam_truoc, nam_bao_cao, tang_giam_pct FROM mart.appendix_telecom "
        "WHERE nam = 2020"
    ).fetchall()
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "4.1", "4.2", "5", "6", "7"]
    fixed = rows[4]
    assert fixed[1:] == ("- Thuê bao điện thoại cố định", "Thuê bao", 16921.0, 13706.0, -19.0)


def test_every_demo_file_is_accepted_and_current(demo_db):
    assert demo_db.execute(
        "SELECT status, is_current, count(*) FROM audit.submissions GROUP BY ALL"
    ).fetchall() == [("accepted", True, DEMO_FILES)]
    assert demo_db.execute("SELECT count(*) FROM audit.validation_issues").fetchone()[0] == 0


def test_lineage_reaches_the_cell(demo_db):
    row = demo_db.execute(
        "SELECT reporter_code, district_code, sheet, cell, raw_value, value FROM core.fct_reported_values "
        "WHERE indicator_code = 'TEL_SUBS_FIXED' AND reported_period = '2020-12' AND reporter_code = 'VNPT' "
        "AND district_code = '688'"
    ).fetchone()
    assert row[2:4] == ("Thuê bao - BTS", "D7")
    assert float(row[4]) == row[5]
