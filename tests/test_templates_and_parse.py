"""The VT-01 template written by openpyxl, read back by calamine, and parsed; messy variants one by one."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from ictstat import reference
from ictstat.templates import get_template
from ictstat.templates.writer import FormData, write_form
from tasks.parse import parse_workbook
from tasks.read import ReadError, read_workbook

DISTRICTS = reference.districts("70", date(2020, 12, 31))
TEMPLATE = get_template("VT-01")
SUBS, REV = "Thuê bao - BTS", "Doanh thu - Nộp NS"


def filled(**cover) -> FormData:
    rows = {
        d.code: {
            "subs_fixed": 100 + i,
            "subs_mobile": 1000 * (i + 1),
            "subs_internet": 500 + i,
            "bts_sites": 5,
        }
        for i, d in enumerate(DISTRICTS)
    }
    return FormData(
        cover={"reporter_code": "VNPT", "period": "12/2020", "prepared_by": "Nguyễn Văn An", **cover},
        district_values={SUBS: rows},
        item_values={REV: {"revenue": 12345.5, "budget": 700, "spam_suspended": 3}},
    )


def parse(path: Path):
    return parse_workbook(read_workbook(path, 10**8, 10**5), "70", date(2026, 1, 1))


def test_blank_template_has_locked_labels_open_inputs_and_validation(tmp_path):
    path = write_form(TEMPLATE, tmp_path / "blank.xlsx", DISTRICTS, reporter_codes=["VNPT", "VIETTEL"])
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Thông tin chung", SUBS, REV]
    ws = wb[SUBS]
    assert ws.protection.sheet
    assert ws["D5"].value == "Thuê bao điện thoại cố định" and ws["D5"].protection.locked
    assert not ws["D7"].protection.locked  # first input cell
    assert ws["C18"].value == "Tổng cộng" and ws["D18"].value == "=SUM(D7:D17)"
    assert any(dv.type == "whole" for dv in ws.data_validations.dataValidation)
    cover = wb["Thông tin chung"]
    assert [c.value for c in cover["A"][7:9]] == ["Mã biểu mẫu", "Phiên bản biểu mẫu"]
    assert any(dv.type == "list" and "VIETTEL" in dv.formula1 for dv in cover.data_validations.dataValidation)


def test_filled_form_round_trips_with_cell_addresses(tmp_path):
    p = parse(write_form(TEMPLATE, tmp_path / "f.xlsx", DISTRICTS, filled()))
    assert p.issues == []
    assert (p.template.template_id, p.reporter_code, str(p.period)) == ("VT-01.v1", "VNPT", "2020-12")
    by_cell = {(v["sheet"], v["cell"]): v for v in p.values}
    assert by_cell[(SUBS, "D7")]["value"] == 100 and by_cell[(SUBS, "D7")]["district_code"] == "688"
    assert (
        by_cell[(REV, "D5")]["value"] == 12345.5 and by_cell[(REV, "D5")]["indicator_code"] == "TEL_REVENUE"
    )
    assert len(p.values) == 11 * 4 + 3


def test_file_name_means_nothing_reporter_and_period_come_from_content(tmp_path):
    p = parse(
        write_form(TEMPLATE, tmp_path / "bao cao (3).xlsx", DISTRICTS, filled(period="Tháng 7 năm 2020"))
    )
    assert (p.reporter_code, str(p.period)) == ("VNPT", "2020-07")


def _edit(path: Path, sheet: str, edits: dict[str, object]) -> Path:
    wb = openpyxl.load_workbook(path)
    for ref, value in edits.items():
        wb[sheet][ref] = value
    wb.save(path)
    return path


def test_text_numbers_in_vietnamese_format_are_read(tmp_path):
    path = write_form(TEMPLATE, tmp_path / "t.xlsx", DISTRICTS, filled())
    _edit(path, SUBS, {"E7": "1.294.026", "F7": " 13 706 ", "E18": None, "F18": None})
    _edit(path, REV, {"D5": "1.656.000,5"})
    values = {v["cell"]: v["value"] for v in parse(path).values}
    assert values["E7"] == 1294026 and values["F7"] == 13706 and values["D5"] == 1656000.5


def test_text_in_a_number_cell_is_an_error_naming_the_cell(tmp_path):
    path = _edit(write_form(TEMPLATE, tmp_path / "t.xlsx", DISTRICTS, filled()), SUBS, {"E9": "khoảng mười"})
    issues = [i for i in parse(path).issues if i.severity == "error"]
    assert [(i.rule, i.sheet, i.cell) for i in issues][:1] == [("not_a_number", SUBS, "E9")]
    assert "khoảng mười" in issues[0].message_vi and "is not a number" in issues[0].message_en


def test_total_row_disagreeing_with_its_rows_is_an_error(tmp_path):
    path = _edit(write_form(TEMPLATE, tmp_path / "t.xlsx", DISTRICTS, filled()), SUBS, {"D18": 999999})
    issues = parse(path).issues
    assert [(i.rule, i.cell) for i in issues] == [("total_mismatch", "D18")]
    assert "1.155" in issues[0].message_vi  # 100 + 101 + ... + 110, with Vietnamese separators


def test_unknown_district_is_an_issue_never_a_new_district(tmp_path):
    path = _edit(
        write_form(TEMPLATE, tmp_path / "t.xlsx", DISTRICTS, filled()), SUBS, {"B9": None, "C9": "Quận 12"}
    )
    p = parse(path)
    assert ("unknown_district", "C9") in [(i.rule, i.cell) for i in p.issues]
    assert all(v["district_code"] != "690" for v in p.values if v["sheet"] == SUBS)


def test_columns_in_another_order_and_a_letterhead_above(tmp_path):
    path = write_form(TEMPLATE, tmp_path / "t.xlsx", DISTRICTS, filled())
    wb = openpyxl.load_workbook(path)
    ws = wb[SUBS]
    ws.insert_rows(1, 3)
    ws["A1"] = "VIỄN THÔNG BÌNH PHƯỚC"
    # swap the fixed and mobile columns, header included
    for row in range(8, 22):
        d, e = ws.cell(row, 4).value, ws.cell(row, 5).value
        ws.cell(row, 4).value, ws.cell(row, 5).value = e, d
    wb.save(path)
    values = {(v["district_code"], v["measure"]): v["value"] for v in parse(path).values}
    assert values[("688", "subs_fixed")] == 100 and values[("688", "subs_mobile")] == 1000


def test_future_period_is_refused(tmp_path):
    path = write_form(TEMPLATE, tmp_path / "t.xlsx", DISTRICTS, filled(period="12/2030"))
    assert ("future_period", "error") in [(i.rule, i.severity) for i in parse(path).issues]


def test_unknown_reporter_is_refused_with_the_cover_cell(tmp_path):
    p = parse(write_form(TEMPLATE, tmp_path / "t.xlsx", DISTRICTS, filled(reporter_code="ABC Telecom")))
    issue = next(i for i in p.issues if i.rule == "unknown_reporter")
    assert (issue.sheet, issue.cell, issue.value) == ("Thông tin chung", "B10", "ABC Telecom")


def test_not_a_spreadsheet_and_truncated_files_raise_read_errors(tmp_path):
    text = tmp_path / "notes.xlsx"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(ReadError) as err:
        read_workbook(text, 10**8, 10**5)
    assert err.value.rule == "not_a_spreadsheet"
    good = write_form(TEMPLATE, tmp_path / "g.xlsx", DISTRICTS, filled())
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(ReadError) as err:
        read_workbook(cut, 10**8, 10**5)
    assert err.value.rule == "unreadable"


def test_declared_unpacked_size_is_checked_before_reading(tmp_path):
    good = write_form(TEMPLATE, tmp_path / "g.xlsx", DISTRICTS, filled())
    with pytest.raises(ReadError) as err:
        read_workbook(good, max_unpacked_bytes=1000, max_rows=10**5)
    assert err.value.rule == "too_large"


def test_demo_files_are_byte_reproducible(tmp_path):
    stamp = datetime(2021, 1, 5, 8, 30)
    a = write_form(TEMPLATE, tmp_path / "a.xlsx", DISTRICTS, filled(), timestamp=stamp)
    b = write_form(TEMPLATE, tmp_path / "b.xlsx", DISTRICTS, filled(), timestamp=stamp)
    assert a.read_bytes() == b.read_bytes()
