"""A catalogue of workbooks as clerks send them, one mess per test, each asserting the exact figures read or
the exact issue raised. The clean reference is a demo VT-01 (telecom) report; the messes come from
ictstat/demo/messy.py, which also rewrites the whole demo inbox (see test_messy_inbox.py)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from ictstat import reference
from ictstat.demo import messy
from ictstat.templates import get_template
from ictstat.templates.writer import FormData, write_form
from tasks.parse import parse_workbook
from tasks.read import ReadError, read_workbook

DISTRICTS = reference.districts("70", date(2020, 12, 31))
TELECOM = get_template("VT-01")
SUBS, REV = "Thuê bao - BTS", "Doanh thu - Nộp NS"


@pytest.fixture
def clean(tmp_path) -> Path:
    rows = {
        d.code: {
            "subs_fixed": 100 + i,
            "subs_mobile": 10_000 * (i + 1),
            "subs_internet": 5_000 + i,
            "bts_sites": 5,
        }
        for i, d in enumerate(DISTRICTS)
    }
    data = FormData(
        cover={"reporter_code": "VIETTEL", "period": "12/2020", "prepared_by": "Trần Thị Bích"},
        district_values={SUBS: rows},
        item_values={REV: {"revenue": 71_250.5, "budget": 4_100, "spam_suspended": 37}},
    )
    return write_form(TELECOM, tmp_path / "clean.xlsx", DISTRICTS, data)


def parse(path: Path, max_rows: int = 10_000):
    return parse_workbook(read_workbook(path, 10**8, max_rows), "70", date(2026, 1, 1))


def figures(parsed) -> dict[tuple[str | None, str], float | None]:
    return {(v["district_code"], v["measure"]): v["value"] for v in parsed.values}


def mess(clean: Path, fn, name: str) -> Path:
    wb = openpyxl.load_workbook(clean)
    fn(wb)
    out = clean.with_name(name)
    wb.save(out)
    return out


EXPECTED_MOBILE_688 = 10_000
EXPECTED_REVENUE = 71_250.5


@pytest.mark.parametrize("name", sorted(messy.WORKBOOK_MESSES))
def test_each_mess_reads_the_same_figures(clean, name):
    reference_figures = figures(parse(clean))
    parsed = parse(mess(clean, messy.WORKBOOK_MESSES[name], f"{name}.xlsx"))
    assert parsed.issues == []
    assert (parsed.reporter_code, str(parsed.period)) == ("VIETTEL", "2020-12")
    assert figures(parsed) == reference_figures
    assert figures(parsed)[("688", "subs_mobile")] == EXPECTED_MOBILE_688
    assert figures(parsed)[(None, "revenue")] == EXPECTED_REVENUE


@pytest.mark.parametrize("fmt", ["xls", "ods", "xlsm"])
def test_other_formats_read_the_same_figures(clean, fmt):
    wb = openpyxl.load_workbook(clean)
    path = clean.with_name(f"legacy.{fmt}")
    if fmt == "xls":
        messy.save_as_xls(wb, path)
    elif fmt == "ods":
        messy.save_as_ods(wb, path)
    else:
        path.write_bytes(clean.read_bytes())  # macro-enabled workbooks are the same zip package
    parsed = parse(path)
    assert parsed.issues == []
    assert figures(parsed) == figures(parse(clean))


def test_two_row_merged_header(clean):
    def two_rows(wb):
        ws = wb[SUBS]
        messy._unmerge_all(ws)
        ws.insert_rows(5)  # the header becomes two rows: a group label over short sub-labels
        ws["D5"], ws["D6"], ws["E6"], ws["F6"] = "Thuê bao", "Cố định", "Di động", "Internet"
        ws.merge_cells("D5:F5")
        for col in "ABCG":
            ws[f"{col}5"] = ws[f"{col}6"].value
            ws.merge_cells(f"{col}5:{col}6")

    parsed = parse(mess(clean, two_rows, "two_rows.xlsx"))
    assert parsed.issues == []
    assert figures(parsed) == figures(parse(clean))


def test_formula_totals_are_read_from_their_cached_values(clean, tmp_path):
    """Excel stores a formula's last result beside it; calamine reads that value."""
    wb = openpyxl.load_workbook(clean)
    ws = wb[SUBS]
    for col in "DEFG":
        ws[f"{col}18"] = f"=SUM({col}7:{col}17)"
    wb.save(tmp_path / "formulas.xlsx")
    cached = {"D18": 1155, "E18": 660_000, "F18": 55_055, "G18": 55}
    path = _with_cached_values(tmp_path / "formulas.xlsx", SUBS, cached)
    assert parse(path).issues == []
    wrong = _with_cached_values(tmp_path / "formulas.xlsx", SUBS, {**cached, "E18": 660_001})
    assert [(i.rule, i.cell) for i in parse(wrong).issues] == [("total_mismatch", "E18")]


def _with_cached_values(path: Path, sheet: str, values: dict[str, float]) -> Path:
    """Write cached results next to formulas, as Excel does when it saves (openpyxl writes none)."""
    out = path.with_name(path.stem + f"_{len(values)}_{sum(values.values())}.xlsx")
    index = openpyxl.load_workbook(path).sheetnames.index(sheet) + 1
    member = f"xl/worksheets/sheet{index}.xml"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == member:
                text = data.decode()
                for ref, value in values.items():
                    text = re.sub(
                        rf'(<c r="{ref}"[^>]*>)(<f>[^<]*</f>)(<v>[^<]*</v>|<v\s*/>)?',
                        rf"\g<1>\g<2><v>{value}</v>",
                        text,
                    )
                data = text.encode()
            dst.writestr(info, data)
    return out


def test_district_names_typed_without_diacritics_or_codes(clean):
    def retype(wb):
        ws = wb[SUBS]
        for r in range(7, 18):
            ws.cell(r, 2).value = None
        ws["C7"], ws["C8"], ws["C10"], ws["C12"] = "TX Phuoc Long", "tp. dong xoai", "H. Bu Gia Map", "BU DOP"

    parsed = parse(mess(clean, retype, "names.xlsx"))
    assert parsed.issues == []
    assert figures(parsed) == figures(parse(clean))


def test_cong_total_row_is_kept_out_of_the_details_but_checked(clean):
    def cong(wb):
        wb[SUBS]["C18"] = "Cộng"
        wb[SUBS]["D18"] = 1

    parsed = parse(mess(clean, cong, "cong.xlsx"))
    assert [(i.rule, i.cell, i.value) for i in parsed.issues] == [("total_mismatch", "D18", "1")]
    assert len([v for v in parsed.values if v["sheet"] == SUBS]) == 44  # 11 districts x 4, no total row


def test_negative_count_is_an_error(clean, tmp_path):
    import pandas as pd

    from tasks.validate import validate

    parsed = parse(mess(clean, lambda wb: wb[SUBS].__setitem__("G9", -3), "negative.xlsx"))
    values = pd.DataFrame([{**v, "submission_id": "S1", "template_id": "VT-01.v1"} for v in parsed.values])
    issues = validate(values, [d.code for d in DISTRICTS])
    assert [(i["rule"], i["cell"], i["value"]) for i in issues] == [("negative", "G9", "-3")]
    assert "cannot be negative" in issues[0]["message_en"]


def test_a_column_blank_in_some_districts_is_a_warning(clean):
    def blank(wb):
        wb[SUBS]["F9"] = None
        wb[SUBS]["F18"] = 55_055 - 5_002  # the clerk's total leaves the blank cell out

    parsed = parse(mess(clean, blank, "blank.xlsx"))
    assert [(i.rule, i.severity, i.cell) for i in parsed.issues] == [
        ("blank_in_filled_column", "warning", "F9")
    ]


# --- files that must be refused, each with its reason -------------------------------------------------


def test_empty_workbook_matches_no_template(tmp_path):
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    assert [i.rule for i in parse(path).issues] == ["unknown_template"]


def test_a_workbook_of_something_else_matches_no_template(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["Họ tên", "Ngày sinh"])
    wb.active.append(["Nguyễn Văn A", "01/01/1990"])
    wb.save(tmp_path / "danh_sach.xlsx")
    issue = parse(tmp_path / "danh_sach.xlsx").issues[0]
    assert issue.rule == "unknown_template" and "Mã biểu mẫu" in issue.message_vi


def test_password_protected_workbook_is_refused_with_how_to_fix(clean, tmp_path):
    encrypted = tmp_path / "mat_khau.xlsx"
    office = OOXMLFile(io.BytesIO(clean.read_bytes()))
    with encrypted.open("wb") as fh:
        office.encrypt("matkhau123", fh)
    with pytest.raises(ReadError) as err:
        read_workbook(encrypted, 10**8, 10**5)
    assert err.value.rule == "password_protected"


def test_declared_row_count_is_checked_before_reading(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "x"
    wb.active["A900000"] = "y"  # declares A1:A900000
    wb.save(tmp_path / "tall.xlsx")
    with pytest.raises(ReadError) as err:
        read_workbook(tmp_path / "tall.xlsx", 10**8, max_rows=20_000)
    assert err.value.rule == "too_large" and "down to row 900,000" in err.value.detail
    vi, en = err.value.messages()
    assert "dòng 900.000 (giới hạn 20.000 dòng)" in vi and "row 900,000 (limit 20,000 rows)" in en
