"""The deployments as operations run them: a real Prefect server, `ictstat serve`, runs started through the API.

Nothing is mocked. One Prefect server (a subprocess on a free loopback port) and one `ictstat serve` runner
(another subprocess, registering the deployments with the project's own code) serve every test of the module;
the backfill is started through the API with the parameters the UI's "Custom run" form sends, and runs in a
subprocess of the runner, as it would in production. The last test checks an `ictstat serve` that starts and
stops a server of its own (launched with the module, so that it boots while the rest does). Every process is
started in its own process group and the group is killed in a finalizer, whatever the outcome of the tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.conftest import DEMO_FILES

pytestmark = pytest.mark.e2e

PREFECT = str(Path(sys.executable).with_name("prefect"))
STARTUP_TIMEOUT = 90.0
RUN_TIMEOUT = 180.0
# What the UI's "Custom run" form sends: every parameter, the untouched ones at their defaults.
FORM_DEFAULTS: dict[str, Any] = {"reporters": [], "mode": "missing", "reparse": False, "dry_run": False}


# ---------------------------------------------------------------------------------------------------------------
# processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(prefect_home: Path, **extra: str) -> dict[str, str]:
    """This environment without any Prefect API, with its own PREFECT_HOME (the server's SQLite file)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_PROFILE")}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env


def start_group(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that the finalizer can kill all of it
        )  # fmt: skip


def kill_group(
    proc: subprocess.Popen[bytes], first: signal.Signals = signal.SIGTERM, grace: float = 15.0
) -> None:
    """Stop a process started by start_group and everything in its group: a signal, then SIGKILL for sure."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(first)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    # The group outlives its leader when the leader left children (flow runs, a server): kill them too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:  # field 4 of /proc/<pid>/stat: the parent's pid
                out.append(int(stat.parent.name))
    return out


def http_get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read() if response.status == 200 else None
    except (urllib.error.URLError, OSError):
        return None


def tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return f"--- last lines of {log} ---\n" + "\n".join(text.splitlines()[-lines:])


def wait_for(what: str, ready: Any, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> Any:
    """Poll ``ready()`` until it returns something truthy; fail with the process's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what}: the process exited with code {proc.returncode}\n{tail(log)}")
        got = ready()
        if got:
            return got
        time.sleep(0.5)
    pytest.fail(f"{what}: not ready after {timeout:.0f} s\n{tail(log)}")


def registered_deployments(api_url: str) -> set[str]:
    request = urllib.request.Request(
        f"{api_url}/deployments/filter", data=b"{}", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return {d["name"] for d in json.load(response)}
    except (urllib.error.URLError, OSError):
        return set()


# ---------------------------------------------------------------------------------------------------------------
# fixtures: one server, one runner, one ictstat home for the module


@pytest.fixture(scope="module")
def ictstat_home(tmp_path_factory: pytest.TempPathFactory, demo_inbox: Path) -> Path:
    home = tmp_path_factory.mktemp("served_home")
    shutil.copytree(demo_inbox, home / "inbox")  # copy2 keeps the mtimes the demo gave the files
    return home


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `prefect server start` on a free loopback port; its API URL."""
    work = tmp_path_factory.mktemp("prefect_server")
    port = free_port()
    log = work / "server.log"
    proc = start_group(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        base_env(work / "prefect_home", PREFECT_SERVER_API_PORT=str(port)),
        log,
        cwd=work,
    )
    try:
        api_url = f"http://127.0.0.1:{port}/api"
        wait_for("prefect server", lambda: http_get(f"{api_url}/health"), proc, log, STARTUP_TIMEOUT)
        yield api_url
    finally:
        kill_group(proc, grace=10.0)


@pytest.fixture(scope="module")
def runner(
    prefect_server: str, ictstat_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """`ictstat serve` against the test server, serving both deployments; the path of its log."""
    work = tmp_path_factory.mktemp("runner")
    log = work / "runner.log"
    env = base_env(
        work / "prefect_home",
        PREFECT_API_URL=prefect_server,
        ICTSTAT_HOME=str(ictstat_home),
        # the runner looks for runs to start every 10 s by default; the tests would mostly wait for that
        PREFECT_RUNNER_POLL_FREQUENCY="1",
        # every served run lingers 3 s at its build, holding the lock, as a build of the whole country takes:
        # a run of a few files otherwise publishes before the other one of the race test has begun
        ICTSTAT_FAULT_PAUSE="build",
        ICTSTAT_FAULT_PAUSE_SECONDS="3",
    )
    # Started outside the checkout: the served deployments must not depend on the working directory.
    proc = start_group([sys.executable, "-m", "ictstat.cli", "serve"], env, log, cwd=work)
    try:
        wait_for(
            "ictstat serve registering the deployments",
            lambda: registered_deployments(prefect_server) >= {"nightly", "backfill"},
            proc,
            log,
            STARTUP_TIMEOUT,
        )
        yield log
    finally:
        kill_group(proc)  # SIGTERM: the runner shuts down gracefully, then the group is killed


@dataclass
class LoneServe:
    proc: subprocess.Popen[bytes]
    api_url: str
    log: Path
    home: Path


@pytest.fixture(scope="module", autouse=True)
def serve_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoneServe]:
    """`ictstat serve --port <free port>` without PREFECT_API_URL, so that it starts a Prefect server of its own.

    Autouse so that it is started before the module's other fixtures and boots while they do (the module's time
    goes mostly into processes starting); the last test checks it and stops it.
    """
    work = tmp_path_factory.mktemp("serve_alone")
    port = free_port()
    log = work / "serve.log"
    env = base_env(work / "prefect_home", ICTSTAT_HOME=str(work / "home"))
    proc = start_group([sys.executable, "-m", "ictstat.cli", "serve", "--port", str(port)], env, log, work)
    try:
        yield LoneServe(proc, f"http://127.0.0.1:{port}/api", log, work / "home")
    finally:
        # The server is in a process group of its own, out of reach of kill_group: find it first.
        server_groups = children(proc.pid) if proc.poll() is None else []
        kill_group(proc)
        for g in server_groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(g, signal.SIGKILL)


@pytest.fixture(scope="module")
def api(prefect_server: str, runner: Path) -> Iterator[Path]:
    """The Prefect client of this process pointed at the test server; the runner's log."""
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        yield runner


def start_backfill(runner_log: Path, **parameters: Any) -> FlowRun:
    """A backfill run created through the API as the UI creates it, waited for until it ends."""
    run = run_deployment(
        name="backfill/backfill",
        parameters={**FORM_DEFAULTS, **parameters},
        timeout=RUN_TIMEOUT,
        poll_interval=1,
        as_subflow=False,
    )
    assert isinstance(run, FlowRun)
    assert run.state is not None
    assert run.state.is_final(), f"still {run.state.name} after {RUN_TIMEOUT:.0f} s\n{tail(runner_log)}"
    return run


@pytest.fixture(scope="module")
def backfilled(api: Path, ictstat_home: Path) -> FlowRun:
    """A real backfill of 2020 on the fresh home: it takes in the demo inbox and publishes the warehouse."""
    return start_backfill(api, period_from="2020-01", period_to="2020-12")


# ---------------------------------------------------------------------------------------------------------------
# tests


def test_a_backfill_started_through_the_api_publishes_the_warehouse(
    backfilled: FlowRun, ictstat_home: Path, api: Path
) -> None:
    assert backfilled.state is not None
    assert backfilled.state.is_completed(), (
        f"{backfilled.state.name}: {backfilled.state.message}\n{tail(api)}"
    )

    warehouse = ictstat_home / "warehouse.duckdb"
    assert warehouse.exists()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        figures = dict(
            con.execute(
                "SELECT indicator_code, value FROM mart.province_indicators WHERE period = '2020' "
                "AND indicator_code IN ('TEL_SUBS_MOBILE', 'POS_REVENUE')"
            ).fetchall()
        )
        files = [r[0] for r in con.execute("SELECT relative_path FROM audit.submissions").fetchall()]
    finally:
        con.close()
    assert figures == {"TEL_SUBS_MOBILE": 1_294_026, "POS_REVENUE": 226.5}
    inbox = ictstat_home / "inbox"
    demo_files = sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file())
    assert len(demo_files) == DEMO_FILES
    assert sorted(files) == demo_files  # one row per demo file

    runs = [
        json.loads(line)
        for line in (ictstat_home / "archive" / "ledger" / "runs.jsonl").read_text().splitlines()
    ]
    assert [(r["kind"], r["flow_run_id"]) for r in runs] == [("backfill", str(backfilled.id))]


def test_a_dry_run_changes_nothing_and_publishes_a_preview(
    backfilled: FlowRun, ictstat_home: Path, api: Path
) -> None:
    warehouse = ictstat_home / "warehouse.duckdb"
    ledger = ictstat_home / "archive" / "ledger"
    before = (hashlib.sha256(warehouse.read_bytes()).hexdigest(), warehouse.stat().st_mtime_ns)
    ledger_before = {p.name: p.read_bytes() for p in ledger.iterdir()}

    run = start_backfill(api, period_from="2019", period_to="2020", mode="all", dry_run=True)

    assert run.state is not None and run.state.is_completed(), f"{run.state}\n{tail(api)}"
    assert (hashlib.sha256(warehouse.read_bytes()).hexdigest(), warehouse.stat().st_mtime_ns) == before
    assert {p.name: p.read_bytes() for p in ledger.iterdir()} == ledger_before
    artifacts = read_artifacts(run.id, "ictstat-backfill-preview")
    assert [a.type for a in artifacts] == ["table"]
    rows = artifacts[0].data
    rows = json.loads(rows) if isinstance(rows, str) else rows
    assert len(rows) == DEMO_FILES  # mode "all" of 2019-2020: every demo file would be reprocessed
    assert "dry run" in (artifacts[0].description or "")


def test_reversed_periods_fail_the_run_with_a_readable_reason(api: Path) -> None:
    run = start_backfill(api, period_from="2020-12", period_to="2020-01")

    assert run.state is not None
    assert run.state.is_failed(), f"{run.state.name}: {run.state.message}"
    assert "range is reversed" in (run.state.message or ""), run.state.message


def read_artifacts(flow_run_id: UUID, key: str) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
            )
        )


def test_a_nightly_and_a_backfill_started_together_through_the_api_run_one_after_the_other(
    backfilled: FlowRun, ictstat_home: Path, api: Path, tmp_path: Path
) -> None:
    """Both deployments run at the same moment (a concurrency limit is per deployment, so both start): the
    writer lock orders them, a file that arrived meanwhile is taken in once, and the figures are unchanged.
    The same race from the command line, with analysts reading throughout, is in tests/test_faults.py."""
    from faults import home as state
    from faults.campaign import FIGURE_MARTS

    before = tmp_path / "before.duckdb"
    shutil.copyfile(ictstat_home / "warehouse.duckdb", before)
    inbox = ictstat_home / "inbox"
    late = inbox / "gui_lai" / "vnpt_12_2020 (ban sao).xlsx"
    late.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(next(inbox.rglob("vnpt_bc_vien_thong_thang_12_2020.xlsx")), late)
    created = [
        run_deployment(name="nightly/nightly", timeout=0, as_subflow=False),
        run_deployment(name="backfill/backfill", timeout=0, as_subflow=False,
                       parameters={**FORM_DEFAULTS, "period_from": "2020-12", "period_to": "2020-12"}),
    ]  # fmt: skip
    deadline = time.monotonic() + RUN_TIMEOUT
    with get_client(sync_client=True) as client:
        while True:
            runs = [client.read_flow_run(r.id) for r in created]  # type: ignore[union-attr]
            if all(r.state is not None and r.state.is_final() for r in runs) or time.monotonic() > deadline:
                break
            time.sleep(1)
        held = {}
        for r in runs:
            assert r.state is not None and r.state.is_completed(), f"{r.name}: {r.state}\n{tail(api)}"
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[r.id])))
            took = min(lg.timestamp for lg in logs if " / inbox: " in lg.message)  # the lock is taken
            tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[r.id])))
            # the lock is let go after the publication (the swap), before the exports; a nightly run that
            # comes second finds nothing new and lets it go after saying so
            ends = ("publish-", "nothing to change-")
            published = min(t.end_time for t in tasks if t.name.startswith(ends) and t.end_time)
            assert r.start_time is not None
            held[str(r.id)] = (r.start_time, took, published)
    (start_a, _, done_a), (start_b, took_b, _) = sorted(held.values(), key=lambda h: h[1])
    assert max(start_a, start_b) < done_a  # both had started before the first published: a real race
    assert done_a <= took_b  # the second took in the inbox only after the first had published
    ledger_runs = [
        json.loads(x) for x in (ictstat_home / "archive/ledger/runs.jsonl").read_text().splitlines()
    ]
    assert sorted((r["kind"], r["files_new"]) for r in ledger_runs[-2:]) in (
        [("backfill", 0), ("nightly", 1)],
        [("backfill", 1), ("nightly", 0)],
    )
    acc = state.accounting(ictstat_home)
    assert acc.problems() == [] and acc.inbox_files == DEMO_FILES + 1 == acc.audit_rows
    assert state.leftovers(ictstat_home).problems() == []
    # a copy changes no figure: the same marts as before, as a nightly then a backfill one after the other
    differing = state.differing_marts(before, ictstat_home / "warehouse.duckdb")
    assert [m for m in differing if m in FIGURE_MARTS] == []


def test_ictstat_serve_starts_its_own_server_and_stops_it_on_sigterm(serve_alone: LoneServe) -> None:
    proc, log, api_url = serve_alone.proc, serve_alone.log, serve_alone.api_url
    wait_for(
        "ictstat serve with its own server",
        lambda: registered_deployments(api_url) >= {"nightly", "backfill"},
        proc,
        log,
        STARTUP_TIMEOUT,
    )
    server_groups = children(proc.pid)
    assert server_groups, "the Prefect server is not a child of ictstat serve"
    # the UI on this port calls the API on this port (not Prefect's default, 4200)
    settings = json.loads(http_get(f"{api_url.removesuffix('/api')}/ui-settings") or b"{}")
    assert settings.get("api_url") == api_url
    assert f"Prefect UI: {api_url.removesuffix('/api')}" in log.read_text()

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=40) == 0, tail(log)
    assert http_get(f"{api_url}/health") is None  # the server is gone with it
    assert not any(group_alive(g) for g in server_groups)
    assert (serve_alone.home / "prefect-server.log").exists()
