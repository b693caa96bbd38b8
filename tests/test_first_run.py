"""The first command on a slow machine: Prefect's temporary server is given time, a server that cannot start is
one sentence, and a night with nothing new does not start a server at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from ictstat.periods import LOCAL_TZ
from ictstat.settings import Settings
from tasks import intake, ledger, unchanged
from tests.conftest import make_home

ROOT = Path(__file__).resolve().parent.parent


def ictstat(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The console script as a newcomer runs it: no Prefect API configured, a Prefect home of its own."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_PROFILE")}
    environ.update(ICTSTAT_HOME=str(home), PREFECT_HOME=str(home / "prefect"), COLUMNS="200", **env)
    return subprocess.run(
        [sys.executable, "-c", "from ictstat.cli import app; app()", *args],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def published_home(root: Path) -> Settings:
    """A home whose last publication was built from exactly today's inputs (one file received)."""
    settings = make_home(root)
    (settings.inbox / "vnpt_T12.xlsx").write_bytes(b"a workbook")
    sightings, _ = intake.intake(
        settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes
    )
    settings.warehouse_path.write_bytes(b"the published warehouse")
    today = datetime.now(LOCAL_TZ).date()
    ledger.record_run(settings.ledger_dir, {
        "run_id": "R1", "status": "published", "finished_at": "2026-01-01T00:00:00+00:00", "accepted": 1,
        "rejected": 0, "duplicates": 0, "inputs_key": unchanged.inputs_key(settings, sightings, today),
        "warehouse_stamp": unchanged.warehouse_stamp(settings.warehouse_path),
        "status_counts": json.dumps({"accepted": 1}),
    })  # fmt: skip
    return settings


def test_importing_the_flows_gives_the_temporary_server_minutes_not_twenty_seconds():
    code = (
        "import flows.nightly; from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as s;"
        "print(s.value())"
    )
    environ = {k: v for k, v in os.environ.items() if k != "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True)
    assert int(out.stdout.strip()) >= 300, out.stderr


def test_a_night_with_nothing_new_starts_no_server_and_is_recorded(tmp_path):
    settings = published_home(tmp_path / "home")
    before = settings.warehouse_path.read_bytes()
    done = ictstat(settings.home, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Không có gì mới" in done.stdout and "Nothing new, warehouse unchanged" in done.stdout
    assert "temporary server" not in done.stdout + done.stderr
    assert settings.warehouse_path.read_bytes() == before
    last = ledger.previous_runs(settings.ledger_dir)[-1]
    assert (last["status"], last["kind"], last["files_total"], last["accepted"]) == (
        "unchanged",
        "manual",
        1,
        1,
    )
    assert last["flow_run_id"] == "" and "nothing new since R1" in last["note"]


def test_a_new_file_or_a_replaced_warehouse_is_not_nothing_new(tmp_path):
    settings = published_home(tmp_path / "home")
    today = datetime.now(LOCAL_TZ).date()
    assert unchanged.quick_unchanged(settings, today) is not None
    (settings.inbox / "viettel_T12.xlsx").write_bytes(b"another workbook")
    assert unchanged.quick_unchanged(settings, today) is None  # and nothing was taken in by asking
    assert len(intake.read_ledger(settings.ledger_dir)) == 1
    (settings.inbox / "viettel_T12.xlsx").unlink()
    settings.warehouse_path.write_bytes(b"restored by hand")
    assert unchanged.quick_unchanged(settings, today) is None


def test_a_server_that_cannot_start_is_one_sentence_and_what_to_do(tmp_path):
    settings = make_home(tmp_path / "home")
    (settings.inbox / "vnpt_T12.xlsx").write_bytes(b"a workbook")
    done = ictstat(settings.home, "run", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1")
    assert done.returncode == 1
    assert "did not start within 1 s" in done.stdout and "không khởi động được" in done.stdout
    assert "ictstat serve" in done.stdout and "PREFECT_API_URL" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_date_that_does_not_exist_is_a_usage_error(tmp_path):
    done = ictstat(tmp_path / "home", "run", "--as-of", "2020-13-01")
    assert done.returncode == 2
    assert "Ngày không hợp lệ: '2020-13-01'" in done.stdout and "Invalid date: '2020-13-01'" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
