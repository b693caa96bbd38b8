"""The rule files are data an analyst may edit: expressions are checked, never pasted into SQL blindly."""

from __future__ import annotations

import pytest

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
