"""Lineage to the cell: every published figure traced to the cells of the files it was computed from
(mart.indicator_lineage, mart.indicator_inputs) and `ictstat explain`, on the demo warehouse."""

from __future__ import annotations

import math
import re

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from ictstat.explain import explain, explain_command, render

A1 = re.compile(r"^[A-Z]{1,3}[1-9][0-9]*$")
SUBS = "Thuê bao - BTS"


def rendered(explanation, **kwargs) -> str:
    console = Console(record=True, width=160)
    console.print(render(explanation, **kwargs))
    return console.export_text()


def test_a_stock_is_read_from_the_december_cells_only(demo_warehouse, demo_db):
    e = explain(demo_warehouse, "TEL_SUBS_MOBILE", "2020")
    assert (e.value, e.unit, e.level, e.aggregation) == (
        1_294_026,
        "subscribers",
        "province",
        "last month of the period",
    )
    assert len(e.cells) == 4 * 11  # 4 mobile carriers x 11 districts, December only
    assert {c.reported_period for c in e.cells} == {"2020-12"}
    assert {c.sheet for c in e.cells} == {SUBS}
    assert all(A1.match(c.cell or "") for c in e.cells)
    assert sum(c.reported_value or 0 for c in e.cells) == 1_294_026
    # exactly the December cells the warehouse holds for the indicator, no other month
    december = demo_db.execute(
        "SELECT submission_id, cell, reported_value FROM core.fct_reported_values "
        "WHERE indicator_code = 'TEL_SUBS_MOBILE' AND reported_period = '2020-12'"
    ).fetchall()
    assert sorted((c.submission_id, c.cell, c.reported_value) for c in e.cells) == sorted(december)
    # the fourth quarter reads the same month
    q4 = explain(demo_warehouse, "TEL_SUBS_MOBILE", "2020-Q4")
    assert q4.value == 1_294_026 and [c.cell for c in q4.cells] == [c.cell for c in e.cells]


def test_a_flow_adds_every_month_converted_to_the_indicators_unit(demo_warehouse):
    e = explain(demo_warehouse, "TEL_REVENUE", "2020")
    assert (e.value, e.unit, e.aggregation) == (1656, "billion VND", "sum")
    assert len(e.cells) == 12 * 7
    assert {c.reported_unit for c in e.cells} == {"million VND"}
    assert {(c.reporter_code, c.reported_period) for c in e.cells} == {
        (carrier, f"2020-{m:02d}")
        for carrier in ("CMC", "FPT", "MOBIFONE", "SCTV", "VIETNAMOBILE", "VIETTEL", "VNPT")
        for m in range(1, 13)
    }
    assert sum(c.reported_value or 0 for c in e.cells) == pytest.approx(1_656_000)
    assert e.total() == pytest.approx(1656)
    assert all(c.value == pytest.approx((c.reported_value or 0) / 1000) for c in e.cells)


def test_a_district_figure_lists_its_commune_rows(demo_warehouse):
    e = explain(demo_warehouse, "MEDIA_COMMUNE_STATIONS", "2020", district="688")
    assert (e.value, e.level) == (7, "district")
    assert "688" in e.where and "Phước Long" in e.where
    assert len(e.cells) == 7
    assert {c.sheet for c in e.cells} == {"Truyền thanh cấp xã"}
    # the annual form is the authority for its year; the six-month form (2020-H1) is not added to it
    assert {(c.reported_period, c.original_name) for c in e.cells} == {("2020", "phong_vhtt_688_2020.xlsx")}
    assert [c.cell for c in e.cells] == [f"D{row}" for row in range(7, 14)]
    assert len({c.place for c in e.cells}) == 7 and "Thác Mơ" in {c.place for c in e.cells}


def test_a_carrier_figure_lists_that_carriers_cells_only(demo_warehouse, demo_db):
    e = explain(demo_warehouse, "TEL_REVENUE", "2020", carrier="viettel")
    assert e.level == "carrier" and "VIETTEL" in e.where
    assert {c.reporter_code for c in e.cells} == {"VIETTEL"}
    assert len(e.cells) == 12
    mart = demo_db.execute(
        "SELECT value FROM mart.carrier_indicators WHERE indicator_code = 'TEL_REVENUE' AND period = '2020' "
        "AND carrier_code = 'VIETTEL'"
    ).fetchone()[0]
    assert e.value == mart == pytest.approx(871.637)
    assert e.total() == pytest.approx(mart)
    mobile = explain(demo_warehouse, "TEL_SUBS_MOBILE", "2020", carrier="VIETTEL")
    assert (len(mobile.cells), mobile.value, mobile.total()) == (11, 710_259, 710_259)


def test_a_derived_sum_shows_its_parts_and_their_cells(demo_warehouse):
    e = explain(demo_warehouse, "TEL_SUBS_PHONE", "2020")
    assert e.method == "sum" and e.aggregation == "derived: sum TEL_SUBS_FIXED + TEL_SUBS_MOBILE"
    assert [(i.name, i.value) for i in e.inputs] == [
        ("TEL_SUBS_FIXED", 13_706),
        ("TEL_SUBS_MOBILE", 1_294_026),
    ]
    assert e.value == 13_706 + 1_294_026 == 1_307_732
    assert (e.total("TEL_SUBS_FIXED"), e.total("TEL_SUBS_MOBILE"), e.total()) == (
        13_706,
        1_294_026,
        1_307_732,
    )
    assert (
        {c.part_code for c in e.cells}
        == {c.indicator_code for c in e.cells}
        == {
            "TEL_SUBS_FIXED",
            "TEL_SUBS_MOBILE",
        }
    )
    assert {c.reported_period for c in e.cells} == {"2020-12"}  # both parts are stocks


def test_a_formula_shows_its_inputs_and_the_cells_behind_them(demo_warehouse):
    e = explain(demo_warehouse, "POS_SERVICE_RADIUS_KM", "2020")
    assert e.method == "formula" and e.expression == "round(sqrt(area_km2 / (pi() * POS_SERVICE_POINTS)), 2)"
    inputs = {i.name: (i.kind, i.value) for i in e.inputs}
    assert inputs == {"area_km2": ("context", 6877), "POS_SERVICE_POINTS": ("indicator", 156)}
    assert e.value == round(math.sqrt(6877 / (math.pi * 156)), 2) == 3.75
    # the service points come from the postal carriers' December cells (a sum of four reported indicators)
    assert e.total("POS_SERVICE_POINTS") == 156
    assert {c.indicator_code for c in e.cells} == {
        "POS_POST_OFFICES",
        "POS_VHX_ACTIVE",
        "POS_VHX_SUSPENDED",
        "POS_PUBLIC_MAILBOXES",
    }


def test_a_count_of_enterprises_lists_the_counted_submissions(demo_warehouse):
    e = explain(demo_warehouse, "TEL_ENTERPRISES", "2020")
    assert (e.value, e.method) == (7, "count_reporters")
    assert len({c.reporter_code for c in e.cells}) == 7 and len(e.cells) == 7 * 12
    assert all(c.cell is None and c.rule == "count of reporters" for c in e.cells)


def test_every_published_figure_has_lineage_that_adds_up(demo_db):
    missing = demo_db.execute(
        """SELECT level, count(*) FROM (
               SELECT 'province' AS level, indicator_code, period, NULL AS district_code, NULL AS carrier_code
               FROM mart.province_indicators
               UNION ALL SELECT 'district', indicator_code, period, district_code, NULL FROM mart.district_indicators
               UNION ALL SELECT 'carrier', indicator_code, period, NULL, carrier_code FROM mart.carrier_indicators) f
           ANTI JOIN mart.indicator_lineage l
                ON l.level = f.level AND l.indicator_code = f.indicator_code AND l.period = f.period
               AND l.district_code IS NOT DISTINCT FROM f.district_code
               AND l.carrier_code IS NOT DISTINCT FROM f.carrier_code
           GROUP BY level"""
    ).fetchall()
    assert missing == []
    checked, wrong = demo_db.execute(
        """SELECT count(*), count(*) FILTER (WHERE abs(cells - value) > 1e-6 * greatest(1, abs(value)))
           FROM (SELECT level, indicator_code, period, district_code, carrier_code, any_value(value) AS value,
                        sum(value_in_unit) AS cells
                 FROM mart.indicator_lineage
                 WHERE aggregation NOT LIKE 'derived: formula%' AND aggregation NOT LIKE 'derived: count%'
                 GROUP BY ALL)"""
    ).fetchone()
    assert checked > 9_000 and wrong == 0


def test_the_rendered_explanation_reads_from_rule_to_cells_to_result(demo_warehouse):
    text = rendered(explain(demo_warehouse, "TEL_SUBS_MOBILE", "2020"))
    assert "TEL_SUBS_MOBILE — Thuê bao điện thoại di động" in text
    assert "Kỳ / period: 2020 · cấp / level: tỉnh / province 70 Bình Phước" in text
    assert "Quy tắc / rule: last month of the period (lấy số liệu tháng cuối kỳ)" in text
    assert "Kết quả / result: 1.294.026 Thuê bao" in text
    assert text.count(SUBS) == 44 and re.search(r"│ Thuê bao - BTS │ E7 +│ +13387 │ +13\.387 │", text)
    assert "Tổng 44 ô / sum of 44 cells: 1.294.026 = kết quả / result 1.294.026" in text

    short = rendered(explain(demo_warehouse, "TEL_SUBS_MOBILE", "2020"), max_rows=5)
    assert short.count(SUBS) == 5 and "và 39 dòng nữa / and 39 more rows" in short

    formula = rendered(explain(demo_warehouse, "POS_SERVICE_RADIUS_KM", "2020"))
    assert "Công thức / formula: round(sqrt(area_km2 / (pi() * POS_SERVICE_POINTS)), 2)" in formula
    assert "với / with area_km2 = 6.877, POS_SERVICE_POINTS = 156 → 3,75" in formula

    derived = rendered(explain(demo_warehouse, "TEL_SUBS_PHONE", "2020"))
    assert "TEL_SUBS_FIXED 13.706 + TEL_SUBS_MOBILE 1.294.026 = 1.307.732" in derived
    revenue = rendered(explain(demo_warehouse, "TEL_REVENUE", "2020"))
    assert "Ô báo cáo theo / cells reported in million VND → billion VND" in revenue
    assert "Tổng 84 ô / sum of 84 cells: 1.656 = kết quả / result 1.656" in revenue


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("TEL_SUBS_MOBIL", "2020"),
            ["Không có chỉ tiêu 'TEL_SUBS_MOBIL'", "No indicator", "TEL_SUBS_MOBILE"],
        ),
        (("TEL_SUBS_MOBILE", "2020-13"), ["Không có kỳ của TEL_SUBS_MOBILE", "No period", "2020-12"]),
        (("TEL_SUBS_MOBILE", "2031"), ["Nearby", "2020"]),
        (("TEL_REVENUE", "2020", "688"), ["không có số liệu cấp huyện", "has no district-level figures"]),
        (("MEDIA_COMMUNE_STATIONS", "2020", "600"), ["Không có huyện", "No district", "688, 689"]),
    ],
)
def test_unknown_indicators_and_periods_name_what_exists_nearby(demo_warehouse, args, expected):
    indicator, period, *district = args
    with pytest.raises(ValueError) as err:
        explain(demo_warehouse, indicator, period, district=district[0] if district else None)
    assert all(part in str(err.value) for part in expected), str(err.value)


def test_explain_command(demo_warehouse, monkeypatch):
    # the command as `ictstat explain` registers it, run through typer against a published warehouse
    app = typer.Typer()
    app.command("explain")(explain_command)
    app.command("noop")(lambda: None)  # a second command, so typer keeps the sub-command name
    monkeypatch.setenv("ICTSTAT_HOME", str(demo_warehouse.parent))
    runner = CliRunner()
    ok = runner.invoke(app, ["explain", "MEDIA_COMMUNE_STATIONS", "2020", "--district", "688"])
    assert ok.exit_code == 0, ok.output
    assert (
        "Truyền thanh cấp xã" in ok.output
        and "Tổng 7 ô / sum of 7 cells: 7 = kết quả / result 7" in ok.output
    )
    bad = runner.invoke(app, ["explain", "TEL_SUBS_MOBILE", "2020", "--carrier", "NOPE"])
    assert bad.exit_code == 1 and "No carrier with TEL_SUBS_MOBILE in 2020 'NOPE'" in bad.output
    both = runner.invoke(app, ["explain", "TEL_REVENUE", "2020", "--carrier", "VNPT", "--district", "688"])
    assert both.exit_code == 1 and "not both" in both.output
