"""The production path, stood up on loopback as docs/operations.md describes it, and its scale-out faults.

Nothing is mocked. A `prefect server start` (SQLite, or PostgreSQL with ``ICTSTAT_SCALEOUT_POSTGRES=1``: `make
scaleout-postgres`), the `ictstat-process` work pool with a real `prefect worker start`, the deployments of
`deployments/prefect.yaml` registered with `prefect deploy --all`, a `dask scheduler` with two `dask worker`
processes: the nightly and a backfill are started through the API and their marts compared with a local build.
Then the faults: Dask workers that cannot see the archive (a worker in its own mount namespace, the home hidden
under an empty tmpfs, as on a machine without the shared storage), a scheduler without workers, a scheduler
that does not answer: the run falls back to local parsing (or fails, by setting), and no file is rejected, no
rejection cached, no feedback written. Every process runs in its own process group, killed in a finalizer.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from faults import home as state
from faults.campaign import FIGURE_MARTS
from tests.conftest import AS_OF, DEMO_FILES, build_home, make_home
from tests.test_prefect_server import (
    PREFECT,
    base_env,
    free_port,
    http_get,
    kill_group,
    registered_deployments,
    start_group,
    tail,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.scaleout]

CHECKOUT = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).with_name("dask"))
RUN_TIMEOUT = 300.0
STARTUP = 240.0  # a Prefect server on a loaded 2-core machine can take over a minute and a half to answer
FORM_DEFAULTS: dict[str, Any] = {"reporters": [], "mode": "missing", "reparse": False, "dry_run": False}
SMALL = (
    24  # files of the inboxes of the fault cases: enough for several chunks' worth of checks, quick to parse
)
POSTGRES = os.environ.get("ICTSTAT_SCALEOUT_POSTGRES") == "1"


# ---------------------------------------------------------------------------------------------------------------
# processes


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scaleout")


@pytest.fixture(scope="module")
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every process the module starts; killed (whole groups) at the end, last started first."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for proc in reversed(started):
            kill_group(proc, grace=10.0)


def start(procs: list[subprocess.Popen[bytes]], args: list[str], env: dict[str, str], log: Path, cwd: Path):  # type: ignore[no-untyped-def]
    proc = start_group(args, env, log, cwd)
    procs.append(proc)
    return proc


@pytest.fixture(scope="module")
def database_url(procs: list[subprocess.Popen[bytes]]) -> Iterator[str | None]:
    """With ICTSTAT_SCALEOUT_POSTGRES=1: a PostgreSQL cluster of its own on a free port, with the role and the
    database docs/operations.md creates; its SQLAlchemy URL for the Prefect server. Else None (SQLite)."""
    if not POSTGRES:
        yield None
        return
    initdb, postgres, psql = (shutil.which(n) for n in ("initdb", "postgres", "psql"))
    if not (initdb and postgres and psql):
        pytest.skip("PostgreSQL (Debian's postgresql package) is not installed")
    # not under pytest's temporary folders: those are private to this user, and PostgreSQL refuses to run as root
    work = Path(tempfile.mkdtemp(prefix="ictstat-pg-"))
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(work, user.pw_uid, user.pw_gid)
        run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    data, port, log = work / "data", free_port(), work / "postgres.log"
    try:
        subprocess.run([initdb, "-D", str(data), "-U", "postgres", "-A", "trust"], env=env, check=True,
                       capture_output=True, cwd=work, **run_as)  # fmt: skip
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [postgres, "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(work)], env=env,
                cwd=work, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **run_as,
            )  # fmt: skip
        procs.append(proc)
        sql = [psql, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c"]
        wait_for("postgres", lambda: subprocess.run([*sql, "SELECT 1"], env=env, capture_output=True).returncode == 0,
                 proc, log, STARTUP)  # fmt: skip
        for statement in (
            "CREATE ROLE prefect LOGIN PASSWORD 'prefect'",
            "CREATE DATABASE prefect OWNER prefect",
        ):
            subprocess.run([*sql, statement], env=env, check=True, capture_output=True)
        yield f"postgresql+asyncpg://prefect:prefect@127.0.0.1:{port}/prefect"
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def server(work: Path, procs: list[subprocess.Popen[bytes]], database_url: str | None) -> str:
    """`prefect server start` on a free loopback port; its API URL."""
    port = free_port()
    log = work / "server.log"
    extra = {"PREFECT_SERVER_API_PORT": str(port)}
    if database_url:
        extra["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    proc = start(procs, [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                 base_env(work / "prefect_home", **extra), log, work)  # fmt: skip
    api_url = f"http://127.0.0.1:{port}/api"
    wait_for("prefect server", lambda: http_get(f"{api_url}/health"), proc, log, STARTUP)
    return api_url


@dataclass
class Cluster:
    address: str
    workers: list[subprocess.Popen[bytes]]


def dask_cluster(
    procs: list[subprocess.Popen[bytes]], work: Path, name: str, workers: int, hide: Path | None = None
) -> Cluster:
    """A `dask scheduler` and ``workers`` `dask worker` processes (one thread each), started outside the
    checkout with no Prefect API in their environment. With ``hide``, the workers run in a mount namespace of
    their own where ``hide`` is an empty tmpfs: a machine without the shared storage."""
    port = free_port()
    env = base_env(work / f"{name}_prefect_home", DASK_DISTRIBUTED__WORKER__DAEMON="false")
    log = work / f"{name}.log"
    scheduler = start(procs, [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                      env, log, work)  # fmt: skip
    address = f"tcp://127.0.0.1:{port}"
    started = []
    for n in range(workers):
        args = [DASK, "worker", address, "--nthreads", "1", "--no-dashboard", "--name", f"{name}-{n}",
                "--local-directory", str(work / f"{name}-{n}-scratch")]  # fmt: skip
        if hide is not None:
            quoted = " ".join(f"'{a}'" for a in args)
            args = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                    f"mount -t tmpfs none '{hide}' && exec {quoted}"]  # fmt: skip
        started.append(start(procs, args, env, work / f"{name}-{n}.log", work))
    wait_for(f"{name}: {workers} Dask worker(s)", lambda: dask_workers(address) >= workers, scheduler, log,
             STARTUP)  # fmt: skip
    return Cluster(address, started)


def dask_workers(address: str) -> int:
    from distributed import Client

    try:
        with Client(address, timeout=5, set_as_default=False) as client:
            return len(client.nthreads())
    except (OSError, TimeoutError):
        return -1  # the scheduler does not answer (yet)


def mount_namespaces_work(work: Path) -> bool:
    probe = work / "unshare-probe"
    probe.mkdir(exist_ok=True)
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                           f"mount -t tmpfs none '{probe}' && touch '{probe}/x'"], capture_output=True)  # fmt: skip
    return done.returncode == 0 and not (probe / "x").exists()


@pytest.fixture(scope="module")
def cluster(procs: list[subprocess.Popen[bytes]], work: Path) -> Cluster:
    return dask_cluster(procs, work, "dask", 2)


@pytest.fixture(scope="module")
def home(work: Path, demo_inbox: Path) -> Path:
    path = work / "home"
    shutil.copytree(demo_inbox, path / "inbox")
    return path


@pytest.fixture(scope="module")
def reference(work: Path, demo_inbox: Path) -> Path:
    """The same inbox built on this machine without Prefect or Dask: the marts to compare with."""
    return build_home(make_home(work / "reference", demo_inbox))


@dataclass
class Pool:
    log: Path  # the first prefect worker's
    workers: list[subprocess.Popen[bytes]]


@pytest.fixture(scope="module")
def pool(
    server: str, cluster: Cluster, home: Path, work: Path, procs: list[subprocess.Popen[bytes]]
) -> Iterator[Pool]:
    """The work pool, the deployments of prefect.yaml, and a `prefect worker` whose runs parse on the cluster;
    the client of this process pointed at the server. Answers the worker's log."""
    env = base_env(work / "cli_prefect_home", PREFECT_API_URL=server, PREFECT_CLI_PROMPT="false")
    for args in (["work-pool", "create", "ictstat-process", "--type", "process"],
                 ["deploy", "--all", "--prefect-file", "deployments/prefect.yaml"]):  # fmt: skip
        done = subprocess.run(
            [PREFECT, *args], env=env, cwd=CHECKOUT, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    assert registered_deployments(server) >= {"nightly", "backfill"}
    worker_env = base_env(
        work / "worker_prefect_home",
        PREFECT_API_URL=server,
        PREFECT_WORKER_QUERY_SECONDS="1",
        ICTSTAT_CHECKOUT=str(CHECKOUT),
        ICTSTAT_HOME=str(home),
        ICTSTAT_DASK_ADDRESS=cluster.address,
        ICTSTAT_DASK_MIN_FILES="1",  # the demo inbox is smaller than the production threshold
        ICTSTAT_WORKERS="1",
    )
    # started outside the checkout: the pull step and the module-path entrypoints find the code; on PostgreSQL
    # two workers race for every run, as two machines do
    workers = []
    for n in range(2 if POSTGRES else 1):
        log = work / f"worker-{n}.log"
        proc = start(procs, [PREFECT, "worker", "start", "--pool", "ictstat-process"], worker_env, log, work)
        wait_for("prefect worker", lambda log=log: "started!" in log.read_text(errors="replace"), proc, log,
                 STARTUP)  # fmt: skip
        workers.append(proc)
    with temporary_settings(updates={PREFECT_API_URL: server}):
        yield Pool(work / "worker-0.log", workers)


def run(name: str, pool: Pool, parameters: dict[str, Any], env: dict[str, str] | None = None) -> FlowRun:
    """A run of a deployment created through the API (as the UI or the schedule does), waited for."""
    flow_run = run_deployment(
        name=name, parameters=parameters, job_variables={"env": env} if env else None,
        timeout=RUN_TIMEOUT, poll_interval=1, as_subflow=False,
    )  # fmt: skip
    assert isinstance(flow_run, FlowRun) and flow_run.state is not None
    assert flow_run.state.is_final(), (
        f"still {flow_run.state.name} after {RUN_TIMEOUT:.0f} s\n{tail(pool.log)}"
    )
    return flow_run


def run_logs(flow_run: FlowRun) -> str:
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))
    return "\n".join(lg.message for lg in logs)


def statuses(warehouse: Path) -> dict[str, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return dict(con.execute("SELECT status, count(*) FROM audit.submissions GROUP BY ALL").fetchall())
    finally:
        con.close()


def figure_differences(warehouse: Path, reference: Path) -> list[str]:
    return [m for m in state.differing_marts(warehouse, reference) if m in FIGURE_MARTS]


def cached_failures(home: Path) -> list[str]:
    """Rules of the failures the parse cache holds (a rejection cached for later runs)."""
    found = []
    for path in (home / "cache").rglob("*") if (home / "cache").exists() else ():
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            found += [rule for rule in ("archive_corrupt", "failure") if f'"{rule}"' in text]
    return found


def processes_of(pgid: int) -> list[str]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                out.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
    return out


def small_home(work: Path, demo_inbox: Path, name: str) -> Path:
    """A fresh home whose inbox holds a few demo files (every run of a fault case has files to parse)."""
    path = work / name
    for source in sorted(demo_inbox.rglob("*.xlsx"))[:SMALL]:
        target = path / "inbox" / source.relative_to(demo_inbox)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return path


# ---------------------------------------------------------------------------------------------------------------
# the production path


def test_the_work_pool_runs_the_nightly_and_a_backfill_on_dask_with_the_local_figures(
    pool: Pool, home: Path, reference: Path, cluster: Cluster
) -> None:
    nightly = run("nightly/nightly", pool, {"as_of": AS_OF.isoformat()})
    assert nightly.state is not None and nightly.state.is_completed(), f"{nightly.state}\n{tail(pool.log)}"
    logs = run_logs(nightly)
    assert "Dask: 2 of 2 worker(s) see the archive" in logs, logs[-3000:]
    assert "left on this machine" not in logs  # nothing fell back: the cluster parsed every file
    assert statuses(home / "warehouse.duckdb") == {"accepted": DEMO_FILES}
    assert figure_differences(home / "warehouse.duckdb", reference) == []

    backfill = run("backfill/backfill", pool,
                   {**FORM_DEFAULTS, "period_from": "2020", "period_to": "2020", "mode": "all", "reparse": True})  # fmt: skip
    assert backfill.state is not None and backfill.state.is_completed(), f"{backfill.state}\n{tail(pool.log)}"
    logs = run_logs(backfill)
    assert "Dask: 2 of 2 worker(s) see the archive" in logs, logs[-3000:]
    assert figure_differences(home / "warehouse.duckdb", reference) == []
    assert statuses(home / "warehouse.duckdb") == {"accepted": DEMO_FILES}
    runs = [json.loads(x) for x in (home / "archive/ledger/runs.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["flow_run_id"]) for r in runs] == [
        ("nightly", str(nightly.id)),
        ("backfill", str(backfill.id)),
    ]
    # the Dask workers ran plain functions: none of them started a Prefect server of its own
    for worker in cluster.workers:
        assert not [c for c in processes_of(worker.pid) if "prefect" in c or "uvicorn" in c]


# ---------------------------------------------------------------------------------------------------------------
# scale-out faults: loud, never wrong data


@pytest.fixture(scope="module")
def blind(
    procs: list[subprocess.Popen[bytes]], work: Path, tmp_path_factory: pytest.TempPathFactory
) -> Cluster:
    """A cluster whose only worker does not see this machine's files at their paths."""
    if not mount_namespaces_work(work):
        pytest.skip("no mount namespaces here (unshare -m): cannot hide the storage from a worker")
    return dask_cluster(procs, work, "blind", 1, hide=tmp_path_factory.getbasetemp())


def assert_nothing_rejected(home: Path, published: bool) -> None:
    assert list((home / "feedback").iterdir()) == [] if (home / "feedback").exists() else True
    assert cached_failures(home) == []
    if published:
        assert statuses(home / "warehouse.duckdb") == {"accepted": SMALL}
    else:
        assert not (home / "warehouse.duckdb").exists()


def test_workers_that_cannot_see_the_archive_make_the_run_parse_here_and_reject_nothing(
    pool: Pool, blind: Cluster, work: Path, demo_inbox: Path
) -> None:
    home = small_home(work, demo_inbox, "blind_local")
    flow_run = run("nightly/nightly", pool, {"as_of": AS_OF.isoformat()},
                   {"ICTSTAT_HOME": str(home), "ICTSTAT_DASK_ADDRESS": blind.address})  # fmt: skip
    assert flow_run.state is not None and flow_run.state.is_completed(), f"{flow_run.state}\n{tail(pool.log)}"
    logs = run_logs(flow_run)
    assert (
        "cannot see the ictstat home" in logs and f"parsing the {SMALL} file(s) left on this machine" in logs
    )
    assert_nothing_rejected(home, published=True)


def test_workers_that_cannot_see_the_archive_fail_the_run_when_told_to(
    pool: Pool, blind: Cluster, work: Path, demo_inbox: Path
) -> None:
    home = small_home(work, demo_inbox, "blind_fail")
    flow_run = run("nightly/nightly", pool, {"as_of": AS_OF.isoformat()},
                   {"ICTSTAT_HOME": str(home), "ICTSTAT_DASK_ADDRESS": blind.address,
                    "ICTSTAT_DASK_UNAVAILABLE": "fail"})  # fmt: skip
    assert flow_run.state is not None and flow_run.state.is_failed(), f"{flow_run.state}\n{tail(pool.log)}"
    assert "No Dask worker sees" in (flow_run.state.message or "") + run_logs(flow_run)
    assert_nothing_rejected(home, published=False)
    # taken in and archived, never parsed nor rejected: a later run without the cluster parses and accepts them
    again = run("nightly/nightly", pool, {"as_of": AS_OF.isoformat()},
                {"ICTSTAT_HOME": str(home), "ICTSTAT_DASK_ADDRESS": ""})  # fmt: skip
    assert again.state is not None and again.state.is_completed(), f"{again.state}\n{tail(pool.log)}"
    assert_nothing_rejected(home, published=True)


def test_a_scheduler_without_workers_is_waited_for_a_bounded_time_then_the_run_parses_here(
    pool: Pool, work: Path, demo_inbox: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    empty = dask_cluster(procs, work, "empty", 0)
    home = small_home(work, demo_inbox, "no_workers")
    flow_run = run("nightly/nightly", pool, {"as_of": AS_OF.isoformat()},
                   {"ICTSTAT_HOME": str(home), "ICTSTAT_DASK_ADDRESS": empty.address,
                    "ICTSTAT_DASK_WAIT_SECONDS": "4", "ICTSTAT_DASK_LOG_SECONDS": "1"})  # fmt: skip
    assert flow_run.state is not None and flow_run.state.is_completed(), f"{flow_run.state}\n{tail(pool.log)}"
    logs = run_logs(flow_run)
    assert logs.count("Waiting for a Dask worker") >= 2, logs[-3000:]
    assert "has had no worker for" in logs and f"parsing the {SMALL} file(s) left on this machine" in logs
    assert_nothing_rejected(home, published=True)


def test_an_unreachable_scheduler_is_given_up_quickly_and_the_run_parses_here(
    pool: Pool, work: Path, demo_inbox: Path
) -> None:
    home = small_home(work, demo_inbox, "no_scheduler")
    flow_run = run("nightly/nightly", pool, {"as_of": AS_OF.isoformat()},
                   {"ICTSTAT_HOME": str(home), "ICTSTAT_DASK_ADDRESS": f"tcp://127.0.0.1:{free_port()}",
                    "ICTSTAT_DASK_CONNECT_SECONDS": "3"})  # fmt: skip
    assert flow_run.state is not None and flow_run.state.is_completed(), f"{flow_run.state}\n{tail(pool.log)}"
    logs = run_logs(flow_run)
    assert "did not answer within 3 s" in logs and f"parsing the {SMALL} file(s) left on this machine" in logs
    assert_nothing_rejected(home, published=True)


def test_a_nightly_and_a_backfill_started_together_both_complete_one_writer_at_a_time(
    pool: Pool, work: Path, demo_inbox: Path, cluster: Cluster
) -> None:
    """Created at the same moment (on PostgreSQL, two workers race for them): both run, parse on the cluster,
    and the writer lock orders their publications."""
    home = small_home(work, demo_inbox, "raced")
    env = {"ICTSTAT_HOME": str(home), "ICTSTAT_DASK_ADDRESS": cluster.address}
    created = [
        # no as_of: the nightly takes its scheduled day, as the backfill does, so whichever publishes first,
        # the other is never refused as earlier than the last publication
        run_deployment(name="nightly/nightly", timeout=0, as_subflow=False, job_variables={"env": env}),
        run_deployment(name="backfill/backfill", timeout=0, as_subflow=False, job_variables={"env": env},
                       parameters={**FORM_DEFAULTS, "period_from": "2019", "period_to": "2020", "mode": "all"}),
    ]  # fmt: skip
    runs = wait_all([r.id for r in created if isinstance(r, FlowRun)], pool)
    for r in runs:
        assert r.state is not None and r.state.is_completed(), f"{r.name}: {r.state}\n{tail(pool.log)}"
    ledger = [json.loads(x) for x in (home / "archive/ledger/runs.jsonl").read_text().splitlines()]
    assert sorted(r["flow_run_id"] for r in ledger) == sorted(str(r.id) for r in runs)
    assert sum(r["files_new"] for r in ledger) == SMALL  # taken in once, by whichever ran first
    assert state.accounting(home).problems() == []
    assert_nothing_rejected(home, published=True)


def wait_all(ids: list[Any], pool: Pool) -> list[FlowRun]:
    deadline = time.monotonic() + RUN_TIMEOUT
    with get_client(sync_client=True) as client:
        while True:
            runs = [client.read_flow_run(i) for i in ids]
            if all(r.state is not None and r.state.is_final() for r in runs) or time.monotonic() > deadline:
                return runs
            time.sleep(1)


# ---------------------------------------------------------------------------------------------------------------
# stopping (last: it stops the module's worker)


def test_a_worker_stopped_as_its_systemd_unit_stops_it_waits_for_its_run_then_goes(
    pool: Pool, work: Path, demo_inbox: Path
) -> None:
    """`systemctl stop` of the unit in docs/operations.md: ExecStop (deployments/drain.py) waits until the
    worker's flow runs are over, then the worker process is SIGKILLed (KillSignal=SIGKILL). The flow run, paused
    at its build with the writer lock held when the stop begins, publishes."""
    home = small_home(work, demo_inbox, "stopped_worker")
    created = run_deployment(
        name="nightly/nightly", parameters={"as_of": AS_OF.isoformat()}, timeout=0, as_subflow=False,
        job_variables={"env": {"ICTSTAT_HOME": str(home), "ICTSTAT_DASK_ADDRESS": "",
                               "ICTSTAT_FAULT_PAUSE": "build", "ICTSTAT_FAULT_PAUSE_SECONDS": "10"}},
    )  # fmt: skip
    assert isinstance(created, FlowRun)
    deadline = time.monotonic() + RUN_TIMEOUT
    while not (home / ".fault-build").exists():  # the run is at its build, before the publication
        assert time.monotonic() < deadline and all(w.poll() is None for w in pool.workers), tail(pool.log)
        time.sleep(0.5)
    for worker in pool.workers:
        drained = subprocess.run(
            [sys.executable, "-m", "deployments.drain", "--worker-pid", str(worker.pid), "--timeout",
             str(RUN_TIMEOUT), "--interval", "1"], capture_output=True, text=True, timeout=RUN_TIMEOUT + 30,
        )  # fmt: skip
        assert drained.returncode == 0, drained.stdout + drained.stderr
        os.kill(worker.pid, signal.SIGKILL)  # KillSignal=SIGKILL: an idle worker ignores SIGTERM
        assert worker.wait(timeout=10) == -signal.SIGKILL
    assert str(created.id) in drained.stdout or len(pool.workers) > 1  # it waited for this run, by its id

    (flow_run,) = wait_all([created.id], pool)
    assert flow_run.state is not None and flow_run.state.is_completed(), f"{flow_run.state}\n{tail(pool.log)}"
    assert_nothing_rejected(home, published=True)
    runs = [json.loads(x) for x in (home / "archive/ledger/runs.jsonl").read_text().splitlines()]
    assert [(r["status"], r["flow_run_id"]) for r in runs] == [("published", str(created.id))]


def test_the_variants_switch_back_and_forth_without_a_wrong_runner_or_a_paused_schedule(
    pool: Pool, server: str, home: Path, work: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    """deployments/switch.py, as docs/operations.md says to use it (after the stop test: no prefect worker
    polls any more, so a run that completes here was run by `ictstat serve`)."""
    from deployments import switch

    env = base_env(work / "serve_prefect_home", PREFECT_API_URL=server, ICTSTAT_HOME=str(home),
                   PREFECT_RUNNER_POLL_FREQUENCY="1", PREFECT_CLI_PROMPT="false")  # fmt: skip

    def python(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], env=env, cwd=work, capture_output=True, text=True,
                              timeout=240)  # fmt: skip

    refused = python("-m", "ictstat.cli", "serve")  # the work-pool variant is registered
    assert refused.returncode == 1 and "python -m deployments.switch serve" in refused.stderr, refused.stderr
    assert python("-m", "deployments.switch", "serve").returncode == 0
    assert switch.current() == {}

    log = work / "serve.log"
    serving = start(procs, [sys.executable, "-m", "ictstat.cli", "serve"], env, log, work)
    wait_for("ictstat serve", lambda: registered_deployments(server) >= {"nightly", "backfill"}, serving, log,
             STARTUP)  # fmt: skip
    assert {n: d.work_pool_name for n, d in switch.current().items()} == {n: None for n in switch.NAMES}
    served = run("backfill/backfill", pool, {**FORM_DEFAULTS, "period_from": "2020", "period_to": "2020",
                                             "dry_run": True})  # fmt: skip
    assert served.state is not None and served.state.is_completed(), f"{served.state}\n{tail(log)}"

    still = python("-m", "deployments.switch", "pool")  # refused while `ictstat serve` runs
    assert still.returncode == 1 and "stop it first" in still.stderr, still.stderr
    serving.send_signal(signal.SIGTERM)
    assert serving.wait(timeout=60) == 0, tail(log)
    assert switch.current()["nightly/nightly"].paused  # what `ictstat serve` does when it stops

    moved = python("-m", "deployments.switch", "pool")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    after = switch.current()
    assert {n: (d.work_pool_name, d.paused) for n, d in after.items()} == {
        n: ("ictstat-process", False) for n in switch.NAMES
    }
    assert [s.active for s in after["nightly/nightly"].schedules] == [True]
