"""The demo inbox rewritten as clerks send it, plus hostile files: the published figures must be identical to
those of the clean inbox, and every hostile file must be in audit.submissions with a reason."""

from __future__ import annotations

import zipfile
from datetime import date

import duckdb
import openpyxl
import pytest

from ictstat.demo.messy import rewrite_inbox
from tests.conftest import build_home, make_home

HOSTILE = {
    "truncated.xlsx": "rejected",
    "not a workbook.xlsx": "rejected",
    "bomb.xlsx": "rejected",
    "notes.txt": "rejected",
    "future.xlsx": "rejected",
}


@pytest.fixture(scope="module")
def messy_warehouse(demo_inbox, tmp_path_factory):
    settings = make_home(tmp_path_factory.mktemp("messy_inbox"))
    rewrite_inbox(demo_inbox, settings.inbox, seed=11, share=0.3)
    hostile = settings.inbox / "hostile"
    hostile.mkdir()
    any_file = next(demo_inbox.rglob("*.xlsx"))
    (hostile / "truncated.xlsx").write_bytes(any_file.read_bytes()[:1500])
    (hostile / "not a workbook.xlsx").write_bytes(b"%PDF-1.4 this is a pdf")
    with zipfile.ZipFile(hostile / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * 150_000_000 + b"</a>")  # 150 MB unpacked
    (hostile / "notes.txt").write_text("không phải báo cáo", encoding="utf-8")
    # a carrier's report for a month that has not ended
    wb = openpyxl.load_workbook(next(demo_inbox.rglob("viettel_bc_vien_thong_thang_12_2020.xlsx")))
    wb["Thông tin chung"]["B13"] = "12/2030"
    wb.save(hostile / "future.xlsx")
    path = build_home(settings, as_of=date(2026, 1, 1))
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def _figures(con):
    return con.execute(
        "SELECT indicator_code, period, province_code, value, qualifier FROM mart.province_indicators ORDER BY ALL"
    ).fetchall()


def test_messy_inbox_publishes_exactly_the_clean_figures(messy_warehouse, demo_db):
    assert _figures(messy_warehouse) == _figures(demo_db)
    assert (
        messy_warehouse.execute("SELECT count(*) FROM mart.district_indicators").fetchone()
        == demo_db.execute("SELECT count(*) FROM mart.district_indicators").fetchone()
    )


def test_formats_and_names_were_really_messy(messy_warehouse):
    names = [r[0] for r in messy_warehouse.execute("SELECT original_name FROM audit.submissions").fetchall()]
    assert any(n.endswith(".xls") for n in names) and any(n.startswith("bao cao (") for n in names)


@pytest.mark.parametrize(("name", "status"), sorted(HOSTILE.items()))
def test_hostile_files_are_recorded_with_a_reason(messy_warehouse, name, status):
    row = messy_warehouse.execute(
        "SELECT status, reason_vi, reason_en FROM audit.submissions WHERE relative_path = ?",
        [f"hostile/{name}"],
    ).fetchone()
    assert row[0] == status and row[1] and row[2]


def test_copies_sent_twice_are_duplicates(messy_warehouse):
    dup = messy_warehouse.execute(
        "SELECT count(*) FROM audit.submissions WHERE status = 'duplicate' AND original_name LIKE 'Copy of %'"
    ).fetchone()[0]
    assert dup >= 1
