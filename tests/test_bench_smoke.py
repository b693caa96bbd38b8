"""Smoke test of the national benchmark's synthetic inbox: 2 provinces x 2 carriers x 2 months, built by ictstat.

The benchmark is only worth its numbers if ictstat reads the synthetic files as the real ones, and the issue
asks for multi-province correctness: for each province, district and carrier figures add up to the province
figure, and two provinces' figures are never mixed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from bench import figures
from bench.province_files import carrier_data, districts_of, province_names
from bench.synthetic import Inbox, Scale, generate
from bench.xlsx_slots import compile_form, form_slots
from ictstat import reference
from ictstat.templates import get_template
from ictstat.templates.writer import write_form
from tasks import intake, submissions, validate
from tasks.read import read_workbook
from tests.conftest import AS_OF, build_home, make_home

PROVINCES = ("01", "02")  # Hà Nội (30 districts) and Hà Giang (11): the first two of the register
SCALE = Scale(
    PROVINCES, telecom=("VNPT", "VIETTEL"), postal=(), months=2, district_offices=False, department=False
)
# The carrier figures summed per province must be the province figures; TEL_SUBS_PHONE is derived from them.
COMPARED = ("TEL_SUBS_FIXED", "TEL_SUBS_MOBILE", "TEL_SUBS_INTERNET", "TEL_BTS_SITES", "TEL_REVENUE")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Inbox:
    return generate(SCALE, tmp_path_factory.mktemp("bench") / "synthetic")


@pytest.fixture
def overlay(synthetic: Inbox, monkeypatch: pytest.MonkeyPatch) -> Inbox:
    # reference.reporters() is cached by the file's path and mtime, so pointing at the overlay is enough
    monkeypatch.setenv("ICTSTAT_REFERENCE_DIR", str(synthetic.reference))
    return synthetic


def test_every_synthetic_file_is_read_as_its_province_and_reporter_sent_it(
    overlay: Inbox, tmp_path: Path
) -> None:
    assert overlay.workbooks == SCALE.workbooks == 2 * 2 * 2
    settings = make_home(tmp_path, overlay.inbox)
    sightings, _ = intake.intake(
        settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes
    )
    batch = submissions.parse_sightings(
        sightings, settings.archive, settings.province_code, AS_OF, settings.max_unpacked_bytes, 10_000
    )
    assert batch.issues.empty
    all_codes = [d.code for d in reference.all_districts()]
    assert validate.validate(batch.values, all_codes) == []
    subs = batch.submissions
    folder = subs["relative_path"].str.split("/").str[0]
    assert (subs["province_code"] == folder).all()  # the cover's "Tỉnh/thành phố" named the province
    assert sorted(zip(subs["province_code"], subs["reporter_code"], subs["period"], strict=True)) == sorted(
        (p, c, f"2019-{m:02d}") for p in PROVINCES for c in ("VNPT", "VIETTEL") for m in (1, 2)
    )


def test_a_rendered_file_holds_what_write_form_writes(tmp_path: Path) -> None:
    template = get_template("VT-01")
    assert template is not None
    districts = districts_of("02")
    first = carrier_data(SCALE, "VT-01", "02", province_names()["02"], "VNPT", 0, districts, 2019, 1)
    other = carrier_data(SCALE, "VT-01", "02", province_names()["02"], "MOBIFONE", 1, districts, 2019, 7)
    slotted = compile_form(template, districts, first, tmp_path)
    fast = slotted.write(tmp_path / "fast.xlsx", form_slots(template, districts, other), datetime(2019, 8, 5))
    slow = write_form(template, tmp_path / "slow.xlsx", districts, other, timestamp=datetime(2019, 8, 5))
    a, b = read_workbook(fast, 10**8, 10**5), read_workbook(slow, 10**8, 10**5)
    assert [(s.name, s.rows, s.merged) for s in a.sheets] == [(s.name, s.rows, s.merged) for s in b.sheets]


def test_each_province_adds_up_and_provinces_are_kept_apart(overlay: Inbox, tmp_path: Path) -> None:
    warehouse = build_home(make_home(tmp_path, overlay.inbox))
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        province = _sums(con, "mart.province_indicators")
        by_district = _sums(con, "mart.district_indicators")
        by_carrier = _sums(con, "mart.carrier_indicators")
        districts = con.execute(
            "SELECT DISTINCT province_code, district_code FROM mart.district_indicators"
        ).fetchall()
    finally:
        con.close()
    assert {p for p, _, _ in province} == set(PROVINCES)
    for key, value in province.items():
        if key[1] == "TEL_REVENUE":  # reported for the whole branch, not by district
            assert key not in by_district
        else:
            assert by_district[key] == pytest.approx(value), key
        assert by_carrier[key] == pytest.approx(value), key
    # each province's figures come from its own districts and its own carriers' files only
    for p, d in districts:
        assert d in {x.code for x in districts_of(p)}, (p, d)
    for p in PROVINCES:
        assert province[(p, "TEL_SUBS_MOBILE", "2019-02")] == _mobile_in_files(p, month=2)


def _sums(con: duckdb.DuckDBPyConnection, table: str) -> dict[tuple[str, str, str], float]:
    """(province, indicator, month) -> the table's values summed (over districts or carriers)."""
    rows = con.execute(
        f"SELECT province_code, indicator_code, period, sum(value) FROM {table} "
        "WHERE indicator_code IN (SELECT unnest(?)) AND period_kind = 'month' GROUP BY ALL",
        [list(COMPARED)],
    ).fetchall()
    return {(p, i, period): float(v) for p, i, period, v in rows}


def _mobile_in_files(province: str, month: int) -> float:
    """Mobile subscribers as the generator wrote them into that province's files, independently of ictstat."""
    total = 0.0
    for carrier in SCALE.telecom:
        rows, _ = figures.telecom_form(SCALE.seed, province, carrier, districts_of(province), month - 1)
        total += sum(r["subs_mobile"] or 0 for r in rows.values())
    return total


def test_a_restatement_lists_the_corrections_of_its_own_province_only(overlay: Inbox, tmp_path: Path) -> None:
    """Both provinces correct VNPT's February revenue in the same night: each province's restated revenue names
    its own corrected file, never the other province's."""
    from bench.province_files import _corrected

    settings = make_home(tmp_path, overlay.inbox)
    build_home(settings, run_id="R1", record=True)
    template = get_template("VT-01")
    assert template is not None
    for p in PROVINCES:
        districts = districts_of(p)
        data = carrier_data(SCALE, "VT-01", p, province_names()[p], "VNPT", 0, districts, 2019, 2)
        fixed = _corrected(data, template.sheets[1].name)
        write_form(template, settings.inbox / f"dinh_chinh_{p}.xlsx", districts, fixed)
    warehouse = build_home(settings, run_id="R2", record=True)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT province_code, period, run_id, submissions FROM mart.restatements "
            "WHERE indicator_code = 'TEL_REVENUE' ORDER BY province_code, period"
        ).fetchall()
    finally:
        con.close()
    assert {(p, period) for p, period, _, _ in rows} == {
        (p, period) for p in PROVINCES for period in ("2019-02", "2019-Q1", "2019-H1", "2019")
    }
    for p, _, run_id, subs in rows:
        assert run_id == "R2"
        assert subs.endswith(f" dinh_chinh_{p}.xlsx") and subs.count(";") == 0, (p, subs)


def test_synthetic_inboxes_never_run_past_the_district_register() -> None:
    """Forms report by district, and districts were abolished on 2025-07-01: no synthetic month after 2024."""
    from bench.synthetic import plan

    largest = plan(80_000)
    assert (len(largest.provinces), largest.months, largest.workbooks) == (62, 72, 80_370)
    assert max(largest.periods) == (2024, 12)
    with pytest.raises(ValueError, match="at most 80,370 workbooks"):
        plan(120_000)
    one = plan(120_000, layout="one-province")
    assert one.provinces == ("70",) and max(one.periods) == (2024, 12) and one.workbooks >= 120_000
