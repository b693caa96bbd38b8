"""Periods as strings, periods as clerks write them, and district names as clerks type them."""

from __future__ import annotations

from datetime import date

import pytest

from ictstat import reference
from ictstat.periods import Period, parse_reporting_period, rollups


@pytest.mark.parametrize(
    ("text", "kind", "first", "last"),
    [
        ("2020", "year", 1, 12),
        ("2020-H1", "half", 1, 6),
        ("2020-Q3", "quarter", 7, 9),
        ("2020-07", "month", 7, 7),
    ],
)
def test_period_strings(text, kind, first, last):
    p = Period.parse(text)
    assert (p.kind, p.first_month, p.last_month, str(p)) == (kind, first, last, text)


@pytest.mark.parametrize("bad", ["2020-13", "2020-Q5", "20", "2020/07", "July 2020"])
def test_bad_period_strings_are_refused_with_both_languages(bad):
    with pytest.raises(ValueError, match="không phải kỳ báo cáo"):
        Period.parse(bad)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("12/2020", "2020-12"),
        ("Tháng 12 năm 2020", "2020-12"),
        ("tháng 7/2020", "2020-07"),
        ("THANG 07 NAM 2020", "2020-07"),
        ("2020-07", "2020-07"),
        (date(2020, 3, 31), "2020-03"),
        ("Năm 2020", "2020"),
        (2020.0, "2020"),
        ("6 tháng đầu năm 2020", "2020-H1"),
        ("13/2020", None),
        ("", None),
        ("không rõ", None),
    ],
)
def test_reporting_period_as_written_on_a_cover(written, expected):
    p = parse_reporting_period(written)
    assert (str(p) if p else None) == expected


def test_a_month_rolls_up_into_its_quarter_half_and_year():
    assert [str(p) for p in rollups(Period.parse("2020-08"))] == ["2020-08", "2020-Q3", "2020-H2", "2020"]


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("688", "688"),
        ("Thị xã Phước Long", "688"),
        ("TX Phuoc Long", "688"),
        ("TP. Đồng Xoài", "689"),
        ("Dong Xoai", "689"),
        ("H. Bù Đốp", "693"),
        ("huyen chon thanh", "697"),
        ("Bu Gia Map", "691"),
        ("Hà Nội", None),
        ("Quận 1", None),
        ("", None),
    ],
)
def test_district_names_resolve_to_gso_codes(typed, code):
    d = reference.resolve_district(typed, "70", date(2020, 12, 31))
    assert (d.code if d else None) == code


def test_units_have_validity_dates_not_hard_coded_names():
    in_2020 = reference.districts("70", date(2020, 12, 31))
    assert len(in_2020) == 11
    assert sum(d.commune_count for d in in_2020) == 111
    chon_thanh_2023 = next(d for d in reference.districts("70", date(2023, 1, 1)) if d.code == "697")
    assert chon_thanh_2023.type == "thị xã"
    assert reference.districts("70", date(2025, 7, 1)) == []  # districts were abolished on 2025-07-01
