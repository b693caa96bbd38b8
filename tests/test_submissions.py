"""A corrected resubmission replaces the old figures (history stays); a bad file never replaces a good one;
a byte-identical copy is a duplicate, never counted twice; one bad file never stops the others."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import openpyxl
import pytest

from tests.conftest import DEMO_FILES, build_home, make_home

VNPT_DEC = "vien_thong/2020/12/vnpt_bc_vien_thong_thang_12_2020.xlsx"
SUBS = "Thuê bao - BTS"


@pytest.fixture(scope="module")
def messy_home(demo_inbox, tmp_path_factory):
    """The demo inbox plus: a correction, a broken correction, a duplicate copy, junk."""
    settings = make_home(tmp_path_factory.mktemp("messy"), demo_inbox)
    inbox = settings.inbox
    build_home(settings, as_of=date(2026, 1, 1))  # the first night: the demo files arrive
    # The next night brings late and repeated files.
    # A corrected December from VNPT: 1,000 more mobile subscribers in Phước Long (cell E7).
    wb = openpyxl.load_workbook(inbox / VNPT_DEC)
    ws = wb[SUBS]
    ws["E7"] = ws["E7"].value + 1000
    ws["E18"] = ws["E18"].value + 1000
    (inbox / "late").mkdir()
    wb.save(inbox / "late" / "vnpt_12_2020_dinh_chinh.xlsx")
    # Then a broken resubmission of November from VNPT: text where a number belongs.
    nov = inbox / "vien_thong/2020/11/vnpt_bc_vien_thong_thang_11_2020.xlsx"
    wb = openpyxl.load_workbook(nov)
    wb[SUBS]["E9"] = "chưa có số liệu"
    wb.save(inbox / "late" / "vnpt_11_2020_gui_lai.xlsx")
    # A copy of a file already received, under another name.
    shutil.copy(inbox / VNPT_DEC, inbox / "late" / "bao cao (3).xlsx")
    # Things that are not reports at all.
    (inbox / "late" / "ghi chu.txt").write_text("không phải báo cáo", encoding="utf-8")
    (inbox / "late" / "cut.xlsx").write_bytes((inbox / VNPT_DEC).read_bytes()[:3000])
    path = build_home(settings, as_of=date(2026, 1, 1))
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def status_of(con, relative_path):
    return con.execute(
        "SELECT status, is_current, reason_en, superseded_by, duplicate_of FROM audit.submissions "
        "WHERE relative_path = ?",
        [relative_path],
    ).fetchone()


def test_correction_becomes_current_and_the_original_stays_queryable(messy_home):
    new = status_of(messy_home, "late/vnpt_12_2020_dinh_chinh.xlsx")
    old = status_of(messy_home, VNPT_DEC)
    assert new[:2] == ("accepted", True)
    assert old[0] == "superseded" and old[1] is False and old[3] is not None
    mobile = messy_home.execute(
        "SELECT value FROM mart.province_indicators WHERE indicator_code = 'TEL_SUBS_MOBILE' AND period = '2020'"
    ).fetchone()[0]
    assert mobile == 1_294_026 + 1000
    assert (
        messy_home.execute(
            "SELECT count(*) FROM staging.stg_reported_values v JOIN audit.submissions s USING (submission_id) "
            "WHERE s.status = 'superseded'"
        ).fetchone()[0]
        == 47
    )  # the old version's cells are kept


def test_a_rejected_resubmission_leaves_the_accepted_version_current(messy_home):
    bad = status_of(messy_home, "late/vnpt_11_2020_gui_lai.xlsx")
    good = status_of(messy_home, "vien_thong/2020/11/vnpt_bc_vien_thong_thang_11_2020.xlsx")
    assert bad[0] == "rejected" and "E9" in bad[2] and "is not a number" in bad[2]
    assert good[:2] == ("accepted", True)
    issue = messy_home.execute(
        "SELECT sheet, cell, value_found, rule, severity, message_vi FROM audit.validation_issues v "
        "WHERE original_name = 'vnpt_11_2020_gui_lai.xlsx'"
    ).fetchall()
    assert issue == [
        (SUBS, "E9", "chưa có số liệu", "not_a_number", "error",
         "Ô E9 (sheet 'Thuê bao - BTS', cột 'Thuê bao điện thoại di động'): giá trị 'chưa có số liệu' không phải là số. "
         "Vui lòng nhập số, ví dụ 1.307.732 hoặc 226,5.")
    ]  # fmt: skip


def test_a_byte_identical_copy_is_a_duplicate_never_counted_twice(messy_home):
    dup = status_of(messy_home, "late/bao cao (3).xlsx")
    assert dup[0] == "duplicate" and dup[4] is not None and dup[1] is None


def test_junk_is_rejected_with_a_reason_and_the_rest_still_loads(messy_home):
    assert status_of(messy_home, "late/ghi chu.txt")[0] == "rejected"
    cut = status_of(messy_home, "late/cut.xlsx")
    assert cut[0] == "rejected" and "could not be read" in cut[2]
    assert (
        messy_home.execute("SELECT count(*) FROM audit.submissions WHERE status = 'accepted'").fetchone()[0]
        == DEMO_FILES
    )  # the demo files still current, less the superseded one, plus the correction
