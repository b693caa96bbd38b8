"""The rule files are data an analyst may edit: expressions are checked, never pasted into SQL blindly."""

from __future__ import annotations

import pytest

from tasks import rules
from tasks.rules import RuleError, compile_expression, reconciliation_sql

CODES = ["TEL_SUBS_PHONE", "TEL_SUBS_FIXED", "TEL_SUBS_MOBILE", "POS_SERVICE_POINTS"]


def test_indicator_codes_become_quoted_columns_and_context_values_stay():
    e = compile_expression("round(sqrt(area_km2 / (pi() * POS_SERVICE_POINTS)), 2)", CODES, "r")
    assert e.sql == 'round(sqrt(area_km2 / (pi() * "POS_SERVICE_POINTS")), 2)'
    assert e.codes == ("POS_SERVICE_POINTS",) and e.context == ("area_km2",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("TEL_SUBS_FIXED; DROP TABLE mart.x", "character ';' is not allowed"),
        ("TEL_SUBS_FIXED + 'x'", 'character "\'" is not allowed'),
        ("read_csv(TEL_SUBS_FIXED)", "'read_csv' is neither an indicator code"),
        ("TEL_SUBS_FIXD + TEL_SUBS_MOBILE", "'TEL_SUBS_FIXD' is neither an indicator code"),
        ("1 + 2", "reads no indicator"),
    ],
)
def test_anything_but_arithmetic_over_known_codes_is_refused(text, message):
    with pytest.raises(RuleError, match=message):
        compile_expression(text, CODES, "rule R1")


def test_a_rule_with_an_unknown_operator_names_itself():
    rule = {"rule_id": "REC_X", "lhs": "TEL_SUBS_PHONE", "operator": "!=", "rhs": "TEL_SUBS_FIXED",
            "tolerance": "0", "tolerance_kind": "abs", "description_vi": "x", "description_en": "x"}  # fmt: skip
    with pytest.raises(RuleError, match="REC_X: operator '!='"):
        reconciliation_sql([rule], CODES)


def test_a_formula_without_its_context_value_publishes_no_figure():
    """A province the register gives no area (the national register has none) gets no service radius, rather
    than a null figure that would fail the mart's check and block the publication."""
    import duckdb

    rules_ = [{"indicator_code": "R", "method": "formula", "expression": "sqrt(area_km2 / P)"}]
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core")
    con.execute(
        "CREATE TABLE core.fct_province_periods (indicator_code VARCHAR, period VARCHAR, period_kind VARCHAR, "
        "year INTEGER, province_code VARCHAR, value DOUBLE, unit VARCHAR, qualifier VARCHAR, note VARCHAR)"
    )
    con.execute("INSERT INTO core.fct_province_periods VALUES ('P', '2020', 'year', 2020, '70', 4, 'x', 'exact', "
                "NULL), ('P', '2020', 'year', 2020, '01', 4, 'x', 'exact', NULL)")  # fmt: skip
    con.execute("CREATE TABLE core.period_context AS SELECT * FROM (VALUES ('70', '2020', 100.0, 366, 1), "
                "('01', '2020', NULL, 366, 1)) t(province_code, period, area_km2, days_in_period, communes_total)")  # fmt: skip
    con.execute(rules.derived_formulas_sql(rules_, {"R": "km", "P": "x"}))
    got = con.execute(
        "SELECT province_code, value FROM core.fct_province_periods WHERE indicator_code = 'R'"
    ).fetchall()
    assert got == [("70", 5.0)]
