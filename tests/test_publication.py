"""Safe publication, proven with real processes and real DuckDB files.

An analyst's read-only session in another process keeps its snapshot while a rebuilt warehouse is swapped in;
a run killed with SIGKILL during the build or just before the swap leaves the published file byte-identical,
and the next run clears what it left and publishes; the published file's storage format decides which DuckDB
clients open it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ictstat import serve
from tasks.publish import publish
from tests.conftest import DEMO_FILES, build_home, make_home

ROOT = Path(__file__).resolve().parent.parent
DUCKDB_CLI = Path(sys.executable).with_name("duckdb")  # duckdb-cli 1.5.6, what analysts open the file with
MOBILE_2020 = (
    "SELECT value FROM mart.province_indicators WHERE indicator_code = 'TEL_SUBS_MOBILE' AND period = '2020'"
)
VNPT_DEC = "vien_thong/2020/12/vnpt_bc_vien_thong_thang_12_2020.xlsx"
CORRECTION = "vnpt_12_2020_dinh_chinh.xlsx"

# An analyst in another process: opens the published file read-only, reads, waits for the test to say the
# new file is in place, then reads again through the same connection, tables it had not touched included.
READER = f"""
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute({MOBILE_2020!r}).fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute({MOBILE_2020!r}).fetchone()[0], flush=True)
print(con.execute("SELECT count(*) FROM audit.submissions").fetchone()[0], flush=True)
print(con.execute("SELECT string_agg(DISTINCT original_name, ',') FROM mart.indicator_lineage "
                  "WHERE level = 'carrier' AND carrier_code = 'VNPT' AND indicator_code = 'TEL_SUBS_MOBILE' "
                  "AND period = '2020'").fetchone()[0], flush=True)
"""


def add_vnpt_correction(inbox: Path) -> None:
    """A corrected December 2020 from VNPT: 500 more mobile subscribers in Phước Long (and in the total)."""
    wb = openpyxl.load_workbook(inbox / VNPT_DEC)
    sheet = wb["Thuê bao - BTS"]
    for cell in ("E7", "E18"):
        sheet[cell] = sheet[cell].value + 500
    wb.save(inbox / CORRECTION)


def read_value(path: Path, sql: str = MOBILE_2020) -> object:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def digest(path: Path) -> tuple[str, int, int]:
    """Content, inode and modification time: the same file, untouched."""
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_ino, st.st_mtime_ns


def test_an_open_session_keeps_its_snapshot_while_a_rebuild_is_published(demo_inbox, tmp_path):
    settings = make_home(tmp_path / "home", demo_inbox)
    published = publish(
        build_home(settings, out=settings.build_dir / "warehouse-R1.duckdb"), settings.warehouse_path
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == "1294026.0"
        # Why the build goes to a new file: the published one cannot be opened for writing while it is read.
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(published))

        add_vnpt_correction(settings.inbox)
        build = build_home(settings, out=settings.build_dir / "warehouse-R2.duckdb", run_id="R2")
        publish(build, settings.warehouse_path)
        assert list(settings.build_dir.iterdir()) == []

        out, err = reader.communicate("published\n", timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err
    # the open session still sees the file it opened, down to tables it first read after the swap
    assert out.split() == ["1294026.0", str(DEMO_FILES), "vnpt_bc_vien_thong_thang_12_2020.xlsx"]
    # a new session sees the new data, traced to the corrected workbook
    assert read_value(published) == 1_294_526
    assert read_value(published, "SELECT count(*) FROM audit.submissions") == DEMO_FILES + 1
    assert (
        read_value(
            published,
            "SELECT string_agg(DISTINCT original_name, ',') FROM mart.indicator_lineage WHERE level = 'carrier' "
            "AND carrier_code = 'VNPT' AND indicator_code = 'TEL_SUBS_MOBILE' AND period = '2020'",
        )
        == CORRECTION
    )


# --- runs killed with SIGKILL ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Prefect server for the runs of this module, so that each `ictstat run` does not start its own."""
    home = tmp_path_factory.mktemp("prefect")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_HOME", str(home))  # the server's own SQLite database, not the user's
        server = serve.start_server("127.0.0.1", port, home / "server.log")
    try:
        api_url = f"http://127.0.0.1:{port}/api"
        serve.wait_until_healthy(server, api_url, home / "server.log")
        yield api_url
    finally:
        serve.stop_server(server)


def start_run(home: Path, api_url: str, log: Path, pause_at: str | None = None) -> subprocess.Popen[bytes]:
    """`ictstat run` in its own process group, as cron or a worker would start it."""
    env = dict(
        os.environ,
        ICTSTAT_HOME=str(home),
        PREFECT_API_URL=api_url,
        PREFECT_HOME=str(home.parent / "prefect-client"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        ICTSTAT_FAULT_PAUSE_SECONDS="300",
    )
    env.pop("ICTSTAT_FAULT_PAUSE", None)
    if pause_at:
        env["ICTSTAT_FAULT_PAUSE"] = pause_at
    with log.open("wb") as out:  # a file, not a pipe: Prefect's logs must never block the run
        return subprocess.Popen(
            [sys.executable, "-m", "ictstat.cli", "run", "--as-of", "2026-01-01"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def kill_at(stage: str, home: Path, api_url: str, log: Path) -> None:
    """Start a run that pauses at ``stage``, wait until it is there, and SIGKILL its whole process group."""
    run = start_run(home, api_url, log, pause_at=stage)
    marker = home / f".fault-{stage}"
    deadline = time.monotonic() + 240
    try:
        while not marker.exists():
            assert run.poll() is None, (
                f"the run ended before '{stage}':\n{log.read_text(errors='replace')[-3000:]}"
            )
            assert time.monotonic() < deadline, (
                f"no '{stage}' marker:\n{log.read_text(errors='replace')[-3000:]}"
            )
            time.sleep(0.2)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    assert run.returncode == -signal.SIGKILL
    marker.unlink()


@pytest.mark.e2e
def test_a_run_killed_during_the_build_or_before_the_swap_leaves_the_published_file_intact(
    demo_inbox, tmp_path, prefect_api
):
    settings = make_home(tmp_path / "home", demo_inbox)
    home = settings.home
    publish(build_home(settings, out=settings.build_dir / "warehouse-R0.duckdb"), settings.warehouse_path)
    before = digest(settings.warehouse_path)
    add_vnpt_correction(settings.inbox)  # something new to publish, so an unfinished run would show

    # killed at the build checkpoint: no warehouse file yet, only the run's parsed cells streamed for the build
    kill_at("build", home, prefect_api, tmp_path / "killed-at-build.log")
    assert digest(settings.warehouse_path) == before
    assert [p.name[:8] + p.suffix for p in settings.build_dir.iterdir()] == ["values-R.parquet"]

    # killed just before the swap: the complete new file is on disk in .build/, not published
    kill_at("publish", home, prefect_api, tmp_path / "killed-at-publish.log")
    assert digest(settings.warehouse_path) == before
    (leftover,) = settings.build_dir.iterdir()
    assert leftover.name.startswith("warehouse-R") and leftover.stat().st_size > 0
    assert read_value(settings.warehouse_path) == 1_294_026

    # the next run takes the lock the killed ones held, removes the leftover and publishes
    log = tmp_path / "next.log"
    run = start_run(home, prefect_api, log)
    try:
        code = run.wait(timeout=300)
    finally:
        if run.poll() is None:  # never leave a run of ours behind
            os.killpg(run.pid, signal.SIGKILL)
    assert code == 0, log.read_text(errors="replace")[-3000:]
    text = log.read_text(errors="replace")
    assert f"removed a build file left by an interrupted run: {leftover.name}" in text
    assert list(settings.build_dir.iterdir()) == []
    assert digest(settings.warehouse_path)[0] != before[0]
    assert read_value(settings.warehouse_path) == 1_294_526


# --- storage format and DuckDB clients ---------------------------------------------------------------------


def duckdb_cli(path: Path, sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DUCKDB_CLI), "-readonly", str(path), "-csv", "-noheader", "-c", sql],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_default_storage_version_opens_in_the_duckdb_1x_cli(demo_warehouse):
    version = subprocess.run([str(DUCKDB_CLI), "--version"], capture_output=True, text=True).stdout
    assert version.startswith("v1.")
    done = duckdb_cli(
        demo_warehouse,
        f"{MOBILE_2020}; SELECT sum(value_in_unit) FROM mart.indicator_lineage WHERE level = 'province' "
        "AND indicator_code = 'TEL_SUBS_MOBILE' AND period = '2020'",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1294026.0", "1294026.0"]


def test_the_latest_storage_version_needs_duckdb_2(demo_inbox, tmp_path, monkeypatch):
    monkeypatch.setenv("ICTSTAT_STORAGE_VERSION", "latest")
    settings = make_home(tmp_path / "home", demo_inbox)
    assert settings.storage_version == "latest"
    path = build_home(settings)
    refused = duckdb_cli(path, MOBILE_2020)
    assert refused.returncode != 0
    assert "version number" in refused.stderr and "newer version of DuckDB" in refused.stderr
    assert duckdb.__version__.startswith("2.") and read_value(path) == 1_294_026
