"""Feedback workbooks written from real files: the project's own VT-01 form, an .ods, a legacy .xls, and files
that cannot be opened; checked by opening what was written with openpyxl."""

from __future__ import annotations

import hashlib
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.comments import Comment
from openpyxl.workbook.protection import WorkbookProtection
from python_calamine import CalamineWorkbook

from ictstat import reference
from ictstat.templates import get_template
from ictstat.templates.writer import FormData, write_form
from tasks import intake, submissions
from tasks.feedback import (
    ERROR_FILL,
    HEADER_ROW,
    HEADERS,
    ISSUES_TITLE,
    WARNING_FILL,
    rebuild_with_calamine,
    write_feedback,
    write_feedback_workbook,
)

SUBS, REV, COVER = "Thuê bao - BTS", "Doanh thu - Nộp NS", "Thông tin chung"
HOSTILE = '=HYPERLINK("http://x","y")'
DISTRICTS = reference.districts("70", date(2020, 12, 31))
ERROR = {"sheet": SUBS, "cell": "E9", "column": "Thuê bao di động", "value": "12a", "rule": "not_a_number",
         "severity": "error", "message_vi": "Ô E9: '12a' không phải là số.",
         "message_en": "Cell E9: '12a' is not a number."}  # fmt: skip
WARNING = {"sheet": SUBS, "cell": "F10", "column": "Thuê bao internet", "value": "hơn 100",
           "rule": "approximate", "severity": "warning", "message_vi": "Ô F10: số ước lượng.",
           "message_en": "Cell F10: an approximate figure."}  # fmt: skip
NO_CELL = {"sheet": SUBS, "cell": "", "column": "", "value": "70.001 Huyện X", "rule": "missing_district",
           "severity": "warning", "message_vi": "Thiếu dòng của Huyện X.",
           "message_en": "The row of District X is missing."}  # fmt: skip
MISSING_SHEET = {"sheet": "Sheet cũ", "cell": "B2", "column": "", "value": "", "rule": "missing_sheet",
                 "severity": "error", "message_vi": "Không có sheet 'Sheet cũ'.",
                 "message_en": "There is no sheet 'Sheet cũ'."}  # fmt: skip
FORMULA_VALUE = {**ERROR, "cell": "D8", "value": HOSTILE, "message_vi": "Ô D8: không phải số.",
                 "message_en": "Cell D8: not a number."}  # fmt: skip
ISSUES = [ERROR, WARNING, NO_CELL, MISSING_SHEET, FORMULA_VALUE]


@pytest.fixture
def form(tmp_path: Path) -> Path:
    """A filled VT-01 as the project's writer makes it: protected sheets, merged titles, a cover."""
    template = get_template("VT-01")
    assert template is not None
    rows = {d.code: {"subs_fixed": 100 + i, "subs_mobile": 1000 * (i + 1), "subs_internet": 500 + i,
                     "bts_sites": 5} for i, d in enumerate(DISTRICTS)}  # fmt: skip
    data = FormData(
        cover={"reporter_code": "VNPT", "period": "12/2020", "prepared_by": "Nguyễn Văn An"},
        district_values={SUBS: rows},
        item_values={REV: {"revenue": 12345.5, "budget": 700, "spam_suspended": 3}},
    )
    return write_form(template, tmp_path / "archive" / "ab" / "abcdef.xlsx", DISTRICTS, data)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listed(ws) -> list[tuple]:
    """The issue rows of the "Lỗi cần sửa" sheet."""
    return [r for r in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True) if r[0] is not None]


def test_copy_marks_the_cells_and_lists_every_issue(form: Path, tmp_path: Path) -> None:
    before = sha(form)
    out_dir = tmp_path / "feedback"
    out = write_feedback_workbook(form, "VNPT_12-2020.xlsx", "S0000042", ISSUES, out_dir)

    assert out == out_dir / "S0000042_VNPT_12-2020_phan_hoi.xlsx" and out.is_file()
    assert sha(form) == before  # the archived file is never touched
    assert not list(out_dir.glob(".*.part"))
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [ISSUES_TITLE, COVER, SUBS, REV]
    ws = wb[ISSUES_TITLE]
    assert "VNPT_12-2020.xlsx" in ws["A1"].value and "S0000042" in ws["A1"].value
    assert ws["A2"].value.startswith("Sửa các ô được tô màu rồi gửi lại toàn bộ tệp")
    assert tuple(c.value for c in ws[HEADER_ROW]) == HEADERS
    rows = listed(ws)
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert [r[6] for r in rows] == [i["message_vi"] for i in ISSUES]
    assert [r[7] for r in rows] == [i["message_en"] for i in ISSUES]
    assert [r[5] for r in rows] == ["Lỗi", "Cảnh báo", "Cảnh báo", "Lỗi", "Lỗi"]
    # links to the cell, to the sheet when there is no cell, none when the sheet does not exist
    links = [
        ws.cell(HEADER_ROW + n, 3).hyperlink or ws.cell(HEADER_ROW + n, 2).hyperlink for n in range(1, 6)
    ]
    assert links[0].location == f"'{SUBS}'!E9" and links[1].location == f"'{SUBS}'!F10"
    assert links[2].location == f"'{SUBS}'!A1" and links[3] is None

    original, copy = openpyxl.load_workbook(form)[SUBS], wb[SUBS]
    assert copy["E9"].fill.fgColor.rgb == ERROR_FILL.fgColor.rgb == "00FFC7CE"
    assert "'12a' không phải là số." in copy["E9"].comment.text
    assert "Cell E9: '12a' is not a number." in copy["E9"].comment.text
    assert copy["F10"].fill.fgColor.rgb == WARNING_FILL.fgColor.rgb
    assert copy["D7"].fill.fgColor.rgb == original["D7"].fill.fgColor.rgb  # unmarked cells keep their look
    assert not copy.protection.sheet and original.protection.sheet  # the clerk can fix the cells
    for name in (COVER, SUBS, REV):
        theirs = [[c.value for c in row] for row in openpyxl.load_workbook(form)[name].iter_rows()]
        assert [[c.value for c in row] for row in wb[name].iter_rows()] == theirs


def test_a_hostile_value_is_written_as_text_not_a_formula(form: Path, tmp_path: Path) -> None:
    out = write_feedback_workbook(form, "f.xlsx", "S1", [FORMULA_VALUE], tmp_path)
    cell = openpyxl.load_workbook(out)[ISSUES_TITLE].cell(HEADER_ROW + 1, 5)
    assert cell.value == HOSTILE and cell.data_type == "s" and cell.quotePrefix
    with zipfile.ZipFile(out) as zf:  # the issue list is the first sheet; no <f> element anywhere in it
        assert b"<f>" not in zf.read("xl/worksheets/sheet1.xml")
    for text in ("+1", "-5", "@SUM(A1)"):
        out = write_feedback_workbook(form, "f.xlsx", "S1", [{**WARNING, "value": text}], tmp_path)
        cell = openpyxl.load_workbook(out)[ISSUES_TITLE].cell(HEADER_ROW + 1, 5)
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.xlsx", "bao cao\x00(3).xlsx", "..\\..\\windows\\x.xlsx", "a" * 400 + ".xlsx",
     "báo cáo\u202exslx.exe", "..", "\x01\x02.xlsx", '<"|?*>.xls'],
)  # fmt: skip
def test_an_untrusted_file_name_stays_inside_out_dir(form: Path, tmp_path: Path, name: str) -> None:
    out_dir = tmp_path / "feedback"
    out = write_feedback_workbook(form, name, "S0000007", [ERROR], out_dir)
    assert out.parent == out_dir and out.is_file()
    assert out.name.startswith("S0000007_") and out.name.endswith("_phan_hoi.xlsx")
    assert len(out.name.encode()) <= 255
    assert all(ord(ch) >= 32 and ch not in '\\/<>:"|?*\u202e' for ch in out.name)
    assert set(tmp_path.rglob("*_phan_hoi.xlsx")) == {out}
    assert openpyxl.load_workbook(out).sheetnames[0] == ISSUES_TITLE


def test_the_file_name_keeps_vietnamese_and_drops_only_what_is_unsafe(form: Path, tmp_path: Path) -> None:
    out = write_feedback_workbook(form, "bao cao\x00(3).xlsx", "S1", [ERROR], tmp_path)
    assert out.name == "S1_bao cao(3)_phan_hoi.xlsx"
    out = write_feedback_workbook(form, "Báo cáo tháng 12.xlsx", "S1", [ERROR], tmp_path)
    assert out.name == "S1_Báo cáo tháng 12_phan_hoi.xlsx"


@pytest.mark.parametrize(
    "content", [b"PK\x03\x04 not really a zip", b"%PDF-1.4 a scanned report", None], ids=str
)
def test_a_source_that_cannot_be_opened_gets_the_issue_list_only(tmp_path: Path, content, form: Path) -> None:
    source = tmp_path / "bad.xlsx"
    if content is not None:
        source.write_bytes(content)
    out = write_feedback_workbook(source, "bad.xlsx", "S9", [ERROR, WARNING], tmp_path / "out")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [ISSUES_TITLE]
    assert [r[6] for r in listed(wb[ISSUES_TITLE])] == [ERROR["message_vi"], WARNING["message_vi"]]
    assert wb[ISSUES_TITLE]["A2"].value.startswith("Không mở được tệp")


def test_a_truncated_workbook_gets_the_issue_list_only(form: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "cut.xlsx"
    truncated.write_bytes(form.read_bytes()[: form.stat().st_size // 2])
    out = write_feedback_workbook(truncated, "cut.xlsx", "S9", [ERROR], tmp_path / "out")
    assert openpyxl.load_workbook(out).sheetnames == [ISSUES_TITLE]


def test_an_unreadable_issue_gives_the_list_only_without_opening_the_file(form: Path, tmp_path: Path) -> None:
    unreadable = {**ERROR, "sheet": "", "cell": "", "rule": "unreadable", "message_vi": "Không đọc được tệp."}
    out = write_feedback_workbook(form, "f.xlsx", "S3", [unreadable], tmp_path)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [ISSUES_TITLE] and listed(wb[ISSUES_TITLE])[0][6] == "Không đọc được tệp."


def test_a_resubmitted_feedback_copy_is_not_marked_twice(form: Path, tmp_path: Path) -> None:
    first = write_feedback_workbook(form, "f.xlsx", "S1", [ERROR, WARNING], tmp_path / "one")
    second = write_feedback_workbook(first, "f_phan_hoi.xlsx", "S2", [WARNING], tmp_path / "two")
    wb = openpyxl.load_workbook(second)
    assert wb.sheetnames == [ISSUES_TITLE, COVER, SUBS, REV]
    assert len(listed(wb[ISSUES_TITLE])) == 1
    assert wb[SUBS]["E9"].comment is None and wb[SUBS]["E9"].fill.fgColor.rgb != ERROR_FILL.fgColor.rgb
    assert wb[SUBS]["F10"].fill.fgColor.rgb == WARNING_FILL.fgColor.rgb


def test_hidden_sheets_merged_cells_and_the_clerks_notes(form: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(form)
    wb[REV].sheet_state = "hidden"
    wb.security = WorkbookProtection(lockStructure=True)
    wb[SUBS]["E9"].comment = Comment("Số liệu tạm tính", "Chị Lan")
    source = tmp_path / "clerk.xlsx"
    wb.save(source)
    on_hidden = {**ERROR, "sheet": REV, "cell": "D5"}
    in_merge = {**WARNING, "cell": "C1"}  # inside the sheet's merged title A1:G1
    out = write_feedback_workbook(source, "clerk.xlsx", "S8", [ERROR, on_hidden, in_merge], tmp_path / "out")
    copy = openpyxl.load_workbook(out)
    assert copy[REV].sheet_state == "visible" and copy[REV]["D5"].fill.fgColor.rgb == ERROR_FILL.fgColor.rgb
    assert copy.security is None or not copy.security.lockStructure
    assert copy[SUBS]["A1"].fill.fgColor.rgb == WARNING_FILL.fgColor.rgb
    assert WARNING["message_vi"] in copy[SUBS]["A1"].comment.text
    assert listed(copy[ISSUES_TITLE])[2][2] == "C1"
    assert copy[ISSUES_TITLE].cell(HEADER_ROW + 3, 3).hyperlink.location == f"'{SUBS}'!A1"
    note = copy[SUBS]["E9"].comment.text
    assert note.index(ERROR["message_en"]) < note.index("Số liệu tạm tính")  # ours first, theirs kept


def test_a_macro_enabled_workbook_comes_back_as_plain_xlsx(form: Path, tmp_path: Path) -> None:
    xlsm = tmp_path / "f.xlsm"
    with zipfile.ZipFile(form) as src, zipfile.ZipFile(xlsm, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                )
                assert b"macroEnabled" in data
            dst.writestr(info, data)
    out = write_feedback_workbook(xlsm, "f.xlsm", "S1", [ERROR], tmp_path / "out")
    with zipfile.ZipFile(out) as zf:
        assert b"macroEnabled" not in zf.read("[Content_Types].xml")
    assert openpyxl.load_workbook(out)[SUBS]["E9"].fill.fgColor.rgb == ERROR_FILL.fgColor.rgb


def test_calamine_rebuild_keeps_values_sheet_names_and_merged_ranges(form: Path) -> None:
    wb, sheets = rebuild_with_calamine(form)
    assert wb.sheetnames == list(sheets) == [COVER, SUBS, REV]
    book = CalamineWorkbook.from_path(str(form))
    for name in (COVER, SUBS, REV):
        read = book.get_sheet_by_name(name)
        merged = {str(r) for r in sheets[name].merged_cells.ranges}
        expected = {openpyxl.utils.get_column_letter(c0 + 1) + f"{r0 + 1}:"
                    + openpyxl.utils.get_column_letter(c1 + 1) + f"{r1 + 1}"
                    for (r0, c0), (r1, c1) in read.merged_cell_ranges or []}  # fmt: skip
        assert merged == expected and (name == REV or merged)
        for r, row in enumerate(read.to_python(skip_empty_area=False), start=1):
            for c, value in enumerate(row, start=1):
                if value != "":
                    assert sheets[name].cell(r, c).value == value, (name, r, c)


def test_an_ods_is_rebuilt_and_marked(tmp_path: Path) -> None:
    pytest.importorskip("odf", reason="odfpy writes the .ods; without it there is no .ods writer here")
    source = tmp_path / "bao_cao.ods"
    frame = pd.DataFrame([["Huyện", "Thuê bao"], ["Đồng Xoài", 1200], ["Bù Đăng", HOSTILE]])
    with pd.ExcelWriter(source, engine="odf") as writer:
        frame.to_excel(writer, sheet_name=SUBS, index=False, header=False)
        frame.to_excel(writer, sheet_name="Ghi chú", index=False, header=False)
    before = sha(source)
    issue = {**ERROR, "cell": "B3", "value": HOSTILE}
    out = write_feedback_workbook(source, "bao_cao.ods", "S5", [issue, {**WARNING, "cell": "B2"}], tmp_path)
    assert sha(source) == before
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [ISSUES_TITLE, SUBS, "Ghi chú"]
    ws = wb[SUBS]
    assert ws["A2"].value == "Đồng Xoài" and ws["B2"].value == 1200
    assert ws["B3"].value == HOSTILE and ws["B3"].data_type == "s"  # the clerk's text stays text
    assert (
        ws["B3"].fill.fgColor.rgb == ERROR_FILL.fgColor.rgb and ERROR["message_en"] in ws["B3"].comment.text
    )
    assert ws["B2"].fill.fgColor.rgb == WARNING_FILL.fgColor.rgb


def test_a_legacy_xls_is_rebuilt_with_its_merged_title(tmp_path: Path) -> None:
    xlwt = pytest.importorskip("xlwt", reason="no .xls writer installed (xlwt): a legacy .xls cannot be made")
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet(SUBS)
    sheet.write_merge(0, 0, 0, 3, "BÁO CÁO THUÊ BAO")
    for r, (name, value) in enumerate([("Đồng Xoài", 1200), ("Bù Đăng", "12a")], start=8):
        sheet.write(r, 0, name)
        sheet.write(r, 4, value)
    source = tmp_path / "old.xls"
    book.save(str(source))
    out = write_feedback_workbook(source, "old.xls", "S6", [ERROR], tmp_path / "out")
    wb = openpyxl.load_workbook(out)
    ws = wb[SUBS]
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:D1"] and ws["A1"].value == "BÁO CÁO THUÊ BAO"
    assert ws["E9"].value == 1200 and ws["E10"].value == "12a"
    assert ws["E9"].fill.fgColor.rgb == ERROR_FILL.fgColor.rgb


def test_write_feedback_from_the_pipeline_frames(form: Path, tmp_path: Path) -> None:
    """Intake and parse a real inbox; one workbook per submission with issues, duplicates skipped."""
    inbox, archive, out_dir = tmp_path / "inbox", tmp_path / "archive_run", tmp_path / "feedback"
    inbox.mkdir()
    good = form.read_bytes()
    wb = openpyxl.load_workbook(form)
    wb[SUBS]["E9"] = "mười nghìn"  # a clerk's words where a number belongs
    wb.save(inbox / "1_VNPT sai.xlsx")
    (inbox / "2_VNPT sai (copy).xlsx").write_bytes((inbox / "1_VNPT sai.xlsx").read_bytes())
    (inbox / "3_VNPT dung.xlsx").write_bytes(good)
    (inbox / "4_scan.pdf").write_bytes(b"%PDF-1.4")
    sightings, _ = intake.intake(inbox, archive, archive / "ledger", 10**8)
    batch = submissions.parse_sightings(sightings, archive, "70", date(2026, 1, 1), 10**8, 10**5)
    subs = batch.submissions.set_index("original_name")
    assert subs.loc["2_VNPT sai (copy).xlsx", "intake_status"] == "duplicate"

    written = write_feedback(batch.submissions, batch.issues, archive, out_dir)

    assert sorted(p.name for p in written) == [
        "S0000001_1_VNPT sai_phan_hoi.xlsx",
        "S0000004_4_scan_phan_hoi.xlsx",
    ]
    marked = openpyxl.load_workbook(written[0])
    e9 = [
        i for i in batch.issues.to_dict("records") if i["submission_id"] == "S0000001" and i["cell"] == "E9"
    ]
    assert e9 and marked[SUBS]["E9"].fill.fgColor.rgb == ERROR_FILL.fgColor.rgb
    assert marked[SUBS]["E9"].value == "mười nghìn"
    assert e9[0]["message_vi"] in marked[SUBS]["E9"].comment.text
    assert openpyxl.load_workbook(written[1]).sheetnames == [ISSUES_TITLE]
    assert write_feedback(batch.submissions, batch.issues.iloc[0:0], archive, out_dir) == []
