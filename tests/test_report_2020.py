"""Golden test: every figure of the 2020 report, its year-on-year change, every reconciliation rule's status and
every plan target, from the warehouse built on the demo inbox (the report's figures are a copy of
../shared/reference/report_2020_indicators.csv under tests/reference/)."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import REFERENCE_DIR, report_figures

FIGURES = report_figures()


def test_the_reference_has_77_figures():
    assert len(FIGURES) == 77


@pytest.mark.parametrize("code", sorted(FIGURES))
def test_2020_figure(demo_db, code):
    expected = FIGURES[code]
    row = demo_db.execute(
        "SELECT value, unit, yoy_change_pct, yoy_change_abs FROM mart.province_indicators "
        "WHERE indicator_code = ? AND period = '2020'",
        [code],
    ).fetchone()
    assert row is not None, f"{code} is missing for 2020"
    value, unit, yoy_pct, yoy_abs = row
    bound = float(expected["value_2020"])
    assert unit == expected["unit"]
    match expected["qualifier"]:
        case "exact":
            assert value == pytest.approx(bound, abs=1e-9)
        case "more_than":
            assert value > bound
        case "about":
            assert value == pytest.approx(bound, rel=0.02)
    if expected["yoy_change_pct"]:
        assert yoy_pct == pytest.approx(float(expected["yoy_change_pct"]), abs=0.1)
    if expected["yoy_change_abs"]:
        assert yoy_abs == float(expected["yoy_change_abs"])


def _expected_reconciliation() -> dict[str, str]:
    with (REFERENCE_DIR / "reconciliation_2020.csv").open(encoding="utf-8") as fh:
        return {r["rule_id"]: r["expected_2020_outcome"] for r in csv.DictReader(fh)}


@pytest.mark.parametrize("rule_id", sorted(_expected_reconciliation()))
def test_reconciliation_rule_2020(demo_db, rule_id):
    expected = {"holds": "holds", "MISMATCH": "mismatch"}[_expected_reconciliation()[rule_id]]
    status, lhs, rhs = demo_db.execute(
        "SELECT status, lhs, rhs FROM mart.reconciliation WHERE rule_id = ? AND period = '2020'", [rule_id]
    ).fetchone()
    assert status == expected, (lhs, rhs)


def test_the_reports_own_online_service_rate_is_flagged_not_hidden(demo_db):
    row = demo_db.execute(
        "SELECT status, lhs, round(rhs, 2), round(difference, 2) FROM mart.reconciliation "
        "WHERE rule_id = 'REC_DVC_RATE' AND period = '2020'"
    ).fetchone()
    assert row == ("mismatch", 86.3, 83.75, 2.55)
    # the stated figure is published as stated
    assert demo_db.execute(
        "SELECT value FROM mart.province_indicators WHERE indicator_code = 'IT_DVC_LEVEL34_PCT' AND period = '2020'"
    ).fetchone() == (86.3,)


def test_derived_figures_come_from_their_parts(demo_db):
    def v(code: str) -> float:
        return demo_db.execute(
            "SELECT value FROM mart.province_indicators WHERE indicator_code = ? AND period = '2020'", [code]
        ).fetchone()[0]

    assert v("POS_SERVICE_RADIUS_KM") == round(
        (6877 / (3.141592653589793 * v("POS_SERVICE_POINTS"))) ** 0.5, 2
    )
    assert v("IT_PORTAL_VISITS_PER_DAY") == round(v("IT_PORTAL_VISITS_MILLION") * 1e6 / 366)
    assert v("DOC_ISSUED_ESIGNED_PCT") == round(100 * v("DOC_ISSUED_ESIGNED") / v("DOC_ISSUED"), 2)
    assert v("POS_COMMUNES_SERVED_PCT") == 100.0
    assert v("POS_ENTERPRISES") == 10 and v("TEL_ENTERPRISES") == 7


def test_every_plan_target_is_tracked_with_a_status(demo_db):
    rows = dict(demo_db.execute("SELECT target_code, status FROM mart.target_tracking").fetchall())
    with (REFERENCE_DIR.parent.parent / "ictstat" / "refdata" / "plan_targets.csv").open(
        encoding="utf-8"
    ) as fh:
        codes = {r["code"] for r in csv.DictReader(fh)}
    assert set(rows) == codes and len(codes) == 23
    # 86.3 % in 2020 after 53.5 % in 2019 would be on track, but the report's own counts give 83.75 %
    # (REC_DVC_RATE): no verdict rests on a figure that fails reconciliation
    assert rows["T25_DVC_L34_PCT"] == "unreconciled"
    # the 2021 target counts communes equipped in 2021; no 2021 figures yet
    assert rows["T21_SMART_RADIO_COMMUNES"] == "no data"
    # no indicator of the warehouse counts 5G sites: never pretend
    assert rows["T21_5G_SITES"] == "no data"
    assert set(rows.values()) <= {"met", "on track", "off track", "no data", "unreconciled"}


def test_no_target_is_projected_without_data(demo_db):
    projected = demo_db.execute(
        "SELECT target_code, status, actual_value, projected_value FROM mart.target_tracking "
        "WHERE projected_value IS NOT NULL AND (actual_value IS NULL OR status = 'no data')"
    ).fetchall()
    assert projected == []
    # a percentage target without data: nothing projected (least() must not turn NULL into 100)
    assert (
        demo_db.execute(
            "SELECT count(*) FROM mart.target_tracking WHERE unit = 'percent' AND status = 'no data' "
            "AND projected_value IS NULL"
        ).fetchone()[0]
        >= 10
    )


def test_appendix_views_read_like_the_report(demo_db):
    for view, lines in [
        ("appendix_press", 24),
        ("appendix_postal", 14),
        ("appendix_telecom", 9),
        ("appendix_it", 33),
        ("appendix_inspection", 4),
    ]:
        assert demo_db.execute(f"SELECT count(*) FROM mart.{view} WHERE nam = 2020").fetchone()[0] == lines
    assert demo_db.execute(
        "SELECT chi_tieu, nam_truoc, nam_bao_cao, tang_giam_pct FROM mart.appendix_postal "
        "WHERE nam = 2020 AND indicator_code = 'POS_REVENUE'"
    ).fetchone() == ("Doanh thu dịch vụ bưu chính", 221.191, 226.5, 2.4)


def test_district_breakdowns_use_reference_names(demo_db):
    rows = demo_db.execute(
        "SELECT ma_huyen, huyen, gia_tri FROM mart.appendix_districts WHERE nam = 2020 "
        "AND indicator_code = 'MEDIA_COMMUNE_STATIONS' ORDER BY ma_huyen"
    ).fetchall()
    assert len(rows) == 11 and sum(r[2] for r in rows) == 111
    assert rows[0][:2] == ("688", "Thị xã Phước Long") and rows[-1][1] == "Huyện Phú Riềng"
