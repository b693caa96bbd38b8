"""Received means received: the receipt time is intake's first sighting or the operator's register, never mtime."""

from __future__ import annotations

import csv
import os
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from tasks import receipts
from tests.conftest import build_home, make_home

VNPT_DEC = "vien_thong/2020/12/vnpt_bc_vien_thong_thang_12_2020.xlsx"


@pytest.fixture(scope="module")
def touched_today(demo_inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo home whose files were all re-saved today; VNPT's December is off the register and
    its file claims to have been saved on 5 January 2021, before its deadline."""
    settings = make_home(tmp_path_factory.mktemp("touched"), demo_inbox)
    now = datetime.now().timestamp()
    for f in settings.inbox.rglob("*.xlsx"):
        os.utime(f, (now, now))
    old = datetime(2021, 1, 5, 9).timestamp()
    os.utime(settings.inbox / VNPT_DEC, (old, old))
    register = settings.home / receipts.RECEIPTS
    with register.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["relative_path"] != VNPT_DEC]
    with register.open("w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=receipts.COLUMNS)
        out.writeheader()
        out.writerows(rows)
    return build_home(settings)


def test_touching_the_files_changes_no_status(touched_today: Path) -> None:
    con = duckdb.connect(str(touched_today), read_only=True)
    try:
        late = con.execute(
            "SELECT reporter_code, period, days_late FROM mart.submission_status WHERE status = 'late' "
            "AND left(period, 4) IN ('2019', '2020') ORDER BY 1, 2"
        ).fetchall()
        vnpt = con.execute(
            "SELECT CAST(submitted_at AS DATE) = CAST(received_at AS DATE), CAST(file_modified_at AS DATE) "
            "FROM audit.submissions WHERE relative_path = ?",
            [VNPT_DEC],
        ).fetchone()
    finally:
        con.close()
    # the demo's own late reports, and VNPT's December: received today by intake, whatever its mtime says
    assert [r[:2] for r in late] == [
        ("CMC", "2019-11"), ("SCTV", "2020-12"), ("VIETNAMOBILE", "2020-05"), ("VNPT", "2020-12"),
    ]  # fmt: skip
    assert late[3][2] > 300
    assert vnpt is not None and vnpt[0] is True and str(vnpt[1]) == "2021-01-05"


def test_a_bad_receipt_date_is_refused_with_its_line(tmp_path: Path) -> None:
    register = tmp_path / receipts.RECEIPTS
    register.write_text("relative_path,received_on\na.xlsx,2021-01-05\nb.xlsx,2021-13-01\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"dòng 3.*2021-13-01.*line 3"):
        receipts.read(register)


def test_the_demo_register_dates_every_file(demo_inbox: Path) -> None:
    frame = receipts.read(demo_inbox.parent / receipts.RECEIPTS)
    files = {p.relative_to(demo_inbox).as_posix() for p in demo_inbox.rglob("*.xlsx")}
    assert set(frame["relative_path"]) == files
    assert frame["received_on"].min() >= "2019-01-01" and frame["received_on"].max() <= "2021-03-31"


def test_the_messy_demo_records_when_each_file_was_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ictstat.cli import app

    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["demo-data", "--messy"])
    assert result.exit_code == 0, result.output
    frame = receipts.read(tmp_path / receipts.RECEIPTS)
    files = {
        p.relative_to(tmp_path / "inbox").as_posix() for p in (tmp_path / "inbox").rglob("*") if p.is_file()
    }
    assert set(frame["relative_path"]) == files  # every messy file, copies too, has its day
    # the files were written today; the days they were sent are the demo's own (2019 to March 2021)
    assert frame["received_on"].max() <= "2021-03-31"
