"""The Vietnamese number parser, case by case (the rules are in tasks/numbers.py's docstring)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.numbers import parse_number

CASES = [
    # raw, kind, value, qualifier, warning, error
    ("1.307.732", "int", 1307732, "exact", None, None),
    ("1,307,732", "int", 1307732, "exact", None, None),
    ("226,5", "decimal", 226.5, "exact", None, None),
    ("98,64%", "decimal", 98.64, "exact", None, None),
    (" 13 706 ", "int", 13706, "exact", None, None),
    ("13\u00a0706", "int", 13706, "exact", None, None),
    ("-", "int", None, "exact", None, None),
    ("", "int", None, "exact", None, None),
    (None, "int", None, "exact", None, None),
    ("hơn 100", "int", 100, "more_than", None, None),
    ("hon 100", "int", 100, "more_than", None, None),
    ("trên 95%", "decimal", 95, "more_than", None, None),
    ("khoảng 52.000", "int", 52000, "about", None, None),
    ("dưới 20%", "decimal", 20, "less_than", None, None),
    # The ambiguous "1,234": thousands in a count, the Vietnamese decimal comma in a decimal column.
    ("1,234", "int", 1234, "exact", None, None),
    ("1,234", "decimal", 1.234, "exact", "ambiguous_separator", None),
    ("1.234", "int", 1234, "exact", None, None),
    ("1.234", "decimal", 1234, "exact", "ambiguous_separator", None),
    ("1.234,5", "decimal", 1234.5, "exact", None, None),
    ("1,234.5", "decimal", 1234.5, "exact", None, None),
    ("3.75", "decimal", 3.75, "exact", None, None),
    ("(12)", "int", -12, "exact", None, None),
    ("-12", "int", -12, "exact", None, None),
    (13706.0, "int", 13706, "exact", None, None),
    (92.4, "decimal", 92.4, "exact", None, None),
    ("1.5", "int", None, "exact", None, "fraction_in_integer"),
    (1.5, "int", None, "exact", None, "fraction_in_integer"),
    ("abc", "int", None, "exact", None, "not_a_number"),
    ("12a", "int", None, "exact", None, "not_a_number"),
    ("1..2", "decimal", None, "exact", None, "not_a_number"),
    ("1.23.4", "int", None, "exact", None, "not_a_number"),
    (True, "int", None, "exact", None, "not_a_number"),
]


@pytest.mark.parametrize(("raw", "kind", "value", "qualifier", "warning", "error"), CASES)
def test_parse_number(raw, kind, value, qualifier, warning, error):
    p = parse_number(raw, kind)
    assert p.error == error
    assert p.warning == warning
    if value is None:
        assert p.value is None
    else:
        assert p.value == pytest.approx(value)
        assert p.qualifier == qualifier


def test_percent_is_flagged_and_kept_on_0_100_scale():
    p = parse_number("98,64%", "decimal")
    assert p.is_percent and p.value == pytest.approx(98.64)


@given(st.integers(min_value=0, max_value=10**12))
def test_vietnamese_and_international_grouping_read_back_the_same_integer(n):
    vn = f"{n:,}".replace(",", ".")
    intl = f"{n:,}"
    assert parse_number(vn, "int").value == n
    assert parse_number(intl, "int").value == n
    assert parse_number(f"{n:,}".replace(",", " "), "int").value == n


@given(st.one_of(st.text(max_size=30), st.floats(allow_nan=True), st.integers(), st.none()))
def test_any_input_gives_a_value_or_a_reason_never_an_exception(raw):
    for kind in ("int", "decimal"):
        p = parse_number(raw, kind)
        assert (p.value is None) or (p.error is None)
        if p.error:
            assert p.error in {"not_a_number", "fraction_in_integer", "date_in_number_cell"}
