"""Administrative units and organisations over time: the names of each period, the 2022 change in Chơn Thành,
the crosswalk to the units of 2025-07-01, the department's merger on 2025-03-01, and a real 2020 form."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import warehouse
from ictstat import reference
from ictstat.cli import app
from ictstat.refdata import build_admin_units
from ictstat.templates import get_template
from ictstat.templates.writer import FormData, write_form
from tasks import build
from tasks.parse import parse_workbook
from tasks.read import read_workbook
from tests.conftest import REFERENCE_DIR

Y2020 = date(2020, 12, 31)


def _csv(name: str) -> list[dict[str, str]]:
    with (reference.REFDATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_committed_reference_files_are_what_the_script_makes_from_the_installed_library():
    for name, text in build_admin_units.outputs().items():
        assert (reference.REFDATA / name).read_text(encoding="utf-8") == text, name


def test_the_2020_names_are_valid_in_2020_and_the_2022_names_after_the_change():
    in_2020 = {c.code: c.full_name for c in reference.communes("697", Y2020)}
    assert in_2020["25432"] == "Thị trấn Chơn Thành"
    assert in_2020["25441"] == "Xã Minh Hưng"
    assert "Phường Hưng Long" not in in_2020.values()  # a ward created in 2022 is not printed on a 2020 form
    before = {c.code: c.full_name for c in reference.communes("697", date(2022, 9, 30))}
    after = {c.code: c.full_name for c in reference.communes("697", date(2022, 10, 1))}
    assert before["25432"] == "Thị trấn Chơn Thành" and after["25432"] == "Phường Hưng Long"
    assert sorted(code for code in after if after[code] != before[code]) == [
        "25432",
        "25433",
        "25441",
        "25444",
        "25447",
    ]
    assert [(d.type, d.valid_to) for d in reference.all_districts() if d.code == "697"] == [
        ("huyện", date(2022, 9, 30)),
        ("thị xã", date(2025, 6, 30)),
    ]
    # the same 111 communes every year, the number in the 2020 report's reference
    assert sum(len(reference.communes(d.code, Y2020)) for d in reference.districts("70", Y2020)) == 111


def test_the_dimension_has_one_row_per_unit_on_any_day():
    units = _csv("admin_unit_history.csv")
    for day in (date(2020, 12, 31), date(2022, 10, 1), date(2025, 6, 30), date(2025, 7, 1), date(2026, 1, 1)):
        live = [
            (u["level"], u["code"])
            for u in units
            if u["valid_from"] <= day.isoformat() and (not u["valid_to"] or day.isoformat() <= u["valid_to"])
        ]
        assert len(live) == len(set(live)), day
    on_2020 = [u for u in units if u["valid_from"] <= "2020-12-31" <= (u["valid_to"] or "9999")]
    assert {(u["level"], u["province_code"]) for u in on_2020 if u["level"] == "district"} == {
        ("district", "70"),
        ("district", "75"),
    }
    after = [u for u in units if u["valid_from"] >= "2025-07-01"]
    assert {u["level"] for u in after} == {"province", "commune"}  # no district after 2025-06-30
    assert all(u["source"].startswith("vietnamadminunits") for u in units)


def test_crosswalk_of_minh_hung_in_chon_thanh_matches_the_library():
    from vietnamadminunits import convert_address

    new = convert_address("Xã Minh Hưng, Huyện Chơn Thành, Tỉnh Bình Phước")
    assert (new.ward, new.ward_code, new.province, new.province_code) == (
        "Phường Minh Hưng",
        "25441",
        "Tỉnh Đồng Nai",
        "75",
    )
    # the name of 2020 resolves to the legacy code, whose successor the crosswalk holds
    legacy = reference.resolve_commune("Xã Minh Hưng", "697", Y2020)
    assert legacy is not None and legacy.code == "25441"
    assert reference.successor("commune", "70", legacy.code) == reference.Successor(
        "commune", "25441", "phường", "Minh Hưng", "75"
    )
    # the Xã Minh Hưng of Bù Đăng is another commune with another successor
    other = reference.resolve_commune("Xã Minh Hưng", "696", Y2020)
    assert other is not None and other.code == "25408"
    assert reference.successor("commune", "70", "25408") == reference.Successor(
        "commune", "25396", "xã", "Bù Đăng", "75"
    )
    assert reference.successor("province", "70", "70") == reference.Successor(
        "province", "75", "tỉnh", "Đồng Nai", "75"
    )


def test_every_legacy_commune_of_binh_phuoc_has_exactly_one_2025_successor():
    walk = _csv("admin_unit_crosswalk.csv")
    legacy = {
        u["code"]
        for u in _csv("admin_unit_history.csv")
        if u["level"] == "commune" and u["province_code"] == "70"
    }
    successors = [r for r in walk if r["legacy_level"] == "commune" and r["legacy_province_code"] == "70"]
    assert len(legacy) == 111
    assert sorted(r["legacy_code"] for r in successors) == sorted(legacy)  # one row each, none missing
    new_units = {u["code"] for u in _csv("admin_unit_history.csv") if u["valid_from"] == "2025-07-01"}
    assert all(r["successor_province_code"] == "75" and r["successor_code"] in new_units for r in successors)
    districts = [r for r in walk if r["legacy_level"] == "district" and r["legacy_province_code"] == "70"]
    assert len(districts) == 11 and {r["successor_code"] for r in districts} == {"75"}


@settings(max_examples=40, deadline=None)
@given(st.dates(date(2000, 1, 1), date(2025, 6, 30)))
def test_every_commune_code_of_binh_phuoc_has_one_name_on_any_day(day):
    seen = [c.code for d in reference.districts("70", day) for c in reference.communes(d.code, day)]
    assert len(seen) == len(set(seen)) == 111


def test_the_department_ceases_on_2025_02_28_and_its_forms_pass_to_science_and_technology():
    old = reference.reporter("SO_TTTT", "70")
    new = reference.reporter("SO_KHCN", "70")
    assert old.valid_to == date(2025, 2, 28) and old.successor_code == "SO_KHCN"
    assert old.active_on(date(2025, 2, 28)) and not old.active_on(date(2025, 3, 1))
    assert new.valid_from == date(2025, 3, 1) and "Nghị định 45/2025/NĐ-CP" in new.source
    assert reference.department("70", date(2025, 4, 1)) == new
    assert reference.addressee("70", date(2020, 6, 1)) == "Sở Thông tin và Truyền thông"
    assert reference.addressee("70", date(2025, 4, 1)) == "Sở Khoa học và Công nghệ"
    assert (
        reference.addressee("75", date(2026, 1, 1)) == "Sở Khoa học và Công nghệ"
    )  # via Bình Phước's successor
    # press and publishing went elsewhere: said so, with its source and as an assumption to confirm
    functions = {r["domain"]: r for r in _csv("department_functions.csv")}
    assert functions["press"]["successor_code"] == "SO_VHTTDL" and functions["press"]["assumption"]
    assert {functions[d]["successor_code"] for d in ("telecom", "postal", "it")} == {"SO_KHCN"}
    assert all(r["source"] or r["assumption"] for r in functions.values())
    domains = {r["domain"] for r in _csv("indicators.csv")}
    assert set(functions) == domains  # every domain of the indicators has a successor


def test_templates_after_the_merger_are_addressed_to_science_and_technology(tmp_path, monkeypatch):
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["templates", "--as-of", "2025-04-01"])
    assert result.exit_code == 0, result.output
    cover = openpyxl.load_workbook(tmp_path / "templates" / "bieu_mau_vt_01_v1.xlsx").worksheets[0]
    assert cover["A5"].value == "Kính gửi: Sở Khoa học và Công nghệ"
    assert "Sở Thông tin và Truyền thông" not in str(cover["A6"].value)


def _vhtt_2020(path: Path) -> Path:
    template = get_template("VHTT-01")
    assert template is not None
    communes = reference.communes("697", Y2020)
    data = FormData(
        cover={
            "reporter_code": "VHTT_697",
            "province": "Bình Phước",
            "period": "Năm 2020",
            "prepared_by": "Cao Văn Nam",
        },
        item_values={
            template.sheets[0].name: {"district_station": 1, "station_merged": 1},
            template.sheets[2].name: {"receivers_poor": 310, "receivers_near_poor": 240},
        },
        commune_values={
            template.sheets[1].name: {c.code: {"commune_station": 1, "smart_radio": 0} for c in communes}
        },
    )
    return write_form(template, path, reference.districts("70", Y2020), data, ["VHTT_697"], communes=communes)


def _commune_cells(path: Path) -> dict[str, str]:
    ws = openpyxl.load_workbook(path)["Truyền thanh cấp xã"]
    return {
        str(row[1].value): str(row[2].value) for row in ws.iter_rows() if str(row[1].value or "").isdigit()
    }


@pytest.mark.parametrize("typed", [None, "TT. Chơn Thành", "thi tran chon thanh", "Phường Hưng Long"])
def test_a_2020_vhtt_01_with_the_2020_commune_name_is_accepted(tmp_path, typed):
    path = _vhtt_2020(tmp_path / "vhtt_697_2020.xlsx")
    cells = _commune_cells(path)
    assert cells["25432"] == "Thị trấn Chơn Thành"  # the form of 2020 prints the name of 2020
    if typed is not None:  # as a clerk retypes it
        wb = openpyxl.load_workbook(path)
        ws = wb["Truyền thanh cấp xã"]
        row = next(r for r in ws.iter_rows() if str(r[1].value) == "25432")
        row[1].value, row[2].value = None, typed  # the code erased: only the name is left to resolve
        wb.save(path)
    parsed = parse_workbook(read_workbook(path, 10**8, 10**5), "70", date(2026, 1, 1))
    assert [i for i in parsed.issues if i.severity == "error"] == []
    assert (parsed.reporter_code, str(parsed.period)) == ("VHTT_697", "2020")
    stations = {v["commune_code"]: v["value"] for v in parsed.values if v["measure"] == "commune_station"}
    assert stations == {c.code: 1.0 for c in reference.communes("697", Y2020)}


def test_the_warehouse_holds_the_dimension_and_the_crosswalk_with_comments():
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS wh")
    con.execute("USE wh")
    for name, ref_name in build.REFERENCE_FRAMES.items():
        con.register(name, reference.frame(ref_name))
    periods, rollups = build.period_tables([2020])
    con.register("in_ref_periods", periods)
    con.register("in_ref_period_rollups", rollups)
    con.execute((warehouse.SQL_DIR / "10_reference.sql").read_text(encoding="utf-8"))
    build.apply_comments(con)
    assert con.execute(
        "SELECT name, unit_type FROM ref.admin_units WHERE level = 'commune' AND code = '25432' "
        "AND DATE '2020-12-31' BETWEEN valid_from AND coalesce(valid_to, DATE '9999-12-31')"
    ).fetchall() == [("Chơn Thành", "thị trấn")]
    assert con.execute(
        "SELECT successor_code, successor_name, successor_province_code FROM ref.admin_unit_crosswalk "
        "WHERE legacy_level = 'commune' AND legacy_code = '25441'"
    ).fetchall() == [("25441", "Minh Hưng", "75")]
    assert con.execute(
        "SELECT valid_to, successor_code FROM ref.reporters WHERE reporter_code = 'SO_TTTT'"
    ).fetchall() == [(date(2025, 2, 28), "SO_KHCN")]
    undocumented = con.execute(
        "SELECT table_name || '.' || column_name FROM duckdb_columns() WHERE database_name = 'wh' "
        "AND table_name IN ('admin_units', 'admin_unit_crosswalk', 'department_functions', 'reporters') "
        "AND (comment IS NULL OR comment = '' OR comment NOT LIKE '% / %')"
    ).fetchall()
    assert undocumented == []
    assert con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'wh' AND table_name LIKE 'admin_unit%' "
        "AND comment LIKE '% / %'"
    ).fetchone() == (2,)


def test_the_districts_of_2020_are_those_of_the_department_s_own_list():
    """The library-built list against the department's own list of 2020 (a copy of
    ../shared/reference/admin_units_binh_phuoc_2020.csv): names, kinds, commune and ward counts."""
    with (REFERENCE_DIR / "admin_units_binh_phuoc_2020.csv").open(encoding="utf-8") as fh:
        expected = [
            (
                r["district_code"],
                r["district_name"],
                r["district_type"],
                int(r["commune_count"]),
                int(r["wards"]),
            )
            for r in csv.DictReader(fh)
        ]
    built = [
        (
            d.code,
            d.name,
            d.type,
            len(reference.communes(d.code, Y2020)),
            sum(c.type == "phường" for c in reference.communes(d.code, Y2020)),
        )
        for d in reference.districts("70", Y2020)
    ]
    assert built == expected
