"""Configurable limits on what a workbook may hold, and an archive whose bytes rotted."""

from __future__ import annotations

from datetime import date

import duckdb
import openpyxl
import pytest
from typer.testing import CliRunner

from ictstat.cli import app
from tasks.read import ReadError, read_workbook
from tests.conftest import build_home, make_home


def _workbook(tmp_path, fill):
    wb = openpyxl.Workbook()
    fill(wb)
    path = tmp_path / "x.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize(
    ("fill", "limits", "detail"),
    [
        (
            lambda wb: wb.active.__setitem__("A1", "x" * 5_000),
            {"max_string_length": 1_000},
            "holds 5,000 characters",
        ),
        (lambda wb: wb.active.__setitem__("Z2000", 1), {"max_cells": 10_000}, "spans A1:Z2000, 52,000 cells"),
        (lambda wb: [wb.create_sheet(f"s{i}") for i in range(5)], {"max_sheets": 3}, "6 sheets"),
    ],
)
def test_limits_refuse_a_workbook_with_a_reason(tmp_path, fill, limits, detail):
    with pytest.raises(ReadError) as err:
        read_workbook(_workbook(tmp_path, fill), 10**8, 10**5, **limits)
    assert err.value.rule == "too_large" and detail in err.value.detail


def test_a_rotted_archive_copy_is_reported_and_never_loaded(demo_inbox, tmp_path, monkeypatch):
    settings = make_home(tmp_path, demo_inbox)
    build_home(settings)
    ledger = [
        line for line in (settings.ledger_dir / "intake.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    import json

    victim = next(json.loads(line) for line in ledger if "vnpt_bc_vien_thong_thang_12_2020" in line)
    copy = settings.archive / victim["archive_path"]
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit pattern in the middle: same size, other bytes
    copy.write_bytes(bytes(data))

    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["verify-archive"])
    assert result.exit_code == 1 and "is corrupt" in result.output and "S0" in result.output
    from tasks import ledger as run_ledger

    assert run_ledger.corrupt_archive_copies(settings.ledger_dir) == [victim["sha256"]]

    path = build_home(settings, as_of=date(2026, 1, 1))
    con = duckdb.connect(str(path), read_only=True)
    try:
        status, reason = con.execute(
            "SELECT status, reason_en FROM audit.submissions WHERE sha256 = ?", [victim["sha256"]]
        ).fetchone()
        loaded = con.execute(
            "SELECT count(*) FROM core.fct_reported_values v JOIN audit.submissions s USING (submission_id) "
            "WHERE s.sha256 = ?",
            [victim["sha256"]],
        ).fetchone()[0]
    finally:
        con.close()
    assert status == "rejected" and "no longer matches" in reason and loaded == 0
