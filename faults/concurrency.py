"""Concurrency: a nightly and a backfill started at the same moment, with analysts querying all the while.

Both must complete, one after the other (the flock writer lock), the second taking in nothing the first already
took in, and the final marts must equal those of the same two runs made one after the other in a fresh home.
Two analysts (``faults.analyst``) query the published file throughout and must never see an error.

The same race is run in-process too: ``python -m faults.concurrency threads`` runs both flows in two threads of
one process under ``prefect_test_harness`` (flock locks are per open file, so two threads of one process exclude
each other like two processes do) and prints what each returned.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from faults import home as state
from faults.procs import PYTHON, Prefect, backfill_args, kill_group, nightly_args, run_to_end, start

_STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \|", re.M)
PERIODS = ("2019", "2020")


@dataclass
class RaceResult:
    returncodes: dict[str, int]
    held: dict[str, tuple[float, float]]  # from "inbox: ..." (lock taken) to the publish task's end
    began: dict[str, float]
    files_new: dict[str, int]
    analysts: list[dict[str, Any]]
    accounting: state.Accounting
    differing_marts: list[str]
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def raced(self) -> bool:
        """Both runs had started before either had published: the lock really had something to do."""
        return len(self.held) == 2 and max(self.began.values()) < min(end for _, end in self.held.values())

    @property
    def serialised(self) -> bool:
        (_, a1), (b0, _) = sorted(self.held.values())
        return a1 <= b0

    def problems(self) -> list[str]:
        out = [
            f"{name} exited {rc}: {self.outputs[name][-300:]}" for name, rc in self.returncodes.items() if rc
        ]
        if len(self.held) == 2 and not self.serialised:
            out.append(f"the two runs held the warehouse at the same time: {self.held}")
        if sorted(self.files_new.values())[:1] != [0]:
            out.append(f"both runs took in new files: {self.files_new}")
        for a in self.analysts:
            if a.get("errors") or not a.get("queries"):
                out.append(
                    f"analyst ({a.get('mode')}): {a.get('queries')} queries, errors {a.get('errors', [])[:2]}"
                )
        if self.differing_marts:
            out.append(f"marts differ from the serial runs': {self.differing_marts}")
        return out + self.accounting.problems()

    def observed(self) -> str:
        q = ", ".join(f"{a['mode']} {a['queries']} queries/{a['snapshots']} snapshots" for a in self.analysts)
        return f"{'raced, ' if self.raced else ''}serialised by the lock; analysts: {q}"


def log_seconds(text: str, pattern: str) -> float | None:
    """Seconds since midnight of the first log line matching ``pattern`` (Prefect's console format)."""
    for line in text.splitlines():
        m = _STAMP.match(line)
        if m and re.search(pattern, line):
            h, mi, s, ms = (int(g) for g in m.groups())
            return h * 3600 + mi * 60 + s + ms / 1000
    return None


HOLD_SECONDS = 4.0


def race(
    home: Path, prefect: Prefect, pool: state.DemoPool, work: Path, files: int = 7, reference: bool = True
) -> RaceResult:
    """``home`` holds one publication already; new files arrive, then both runs start at once. With
    ``reference``, the same history is replayed one run at a time in a fresh home and the marts compared."""
    initial = sorted(
        p.relative_to(home / "inbox").as_posix() for p in (home / "inbox").rglob("*") if p.is_file()
    )
    pool.add(home / "inbox", files, duplicate=True)
    stop, analysts = _analysts(home, prefect, work)
    time.sleep(1.0)
    logs = {"nightly": work / "race-nightly.log", "backfill": work / "race-backfill.log"}
    for log in logs.values():
        log.unlink(missing_ok=True)
    # Each run, holding the lock, lingers at its build checkpoint for as long as a build of the whole country
    # takes: a run of a few new files otherwise publishes before the other one has even begun (nothing races).
    env = {
        **prefect.env(home),
        "ICTSTAT_FAULT_PAUSE": "build",
        "ICTSTAT_FAULT_PAUSE_SECONDS": str(HOLD_SECONDS),
    }
    runs = {
        "nightly": start(nightly_args(), env, logs["nightly"]),
        "backfill": start(backfill_args(*PERIODS), env, logs["backfill"]),
    }
    for proc in runs.values():
        proc.wait(timeout=900)
    reports = _stop_analysts(stop, analysts, work)
    outputs = {n: p.read_text(encoding="utf-8", errors="replace") for n, p in logs.items()}
    held, began = {}, {}
    for name, text in outputs.items():
        took = log_seconds(text, r"inbox: \d+ new file")
        # a nightly run that finds nothing new ends inside the lock with "nothing to change" instead
        done = log_seconds(text, r"Task run '(?:publish|nothing to change)-\w+' - Finished")
        began[name] = log_seconds(text, r"Beginning flow run") or 0.0
        if took is not None and done is not None:
            held[name] = (took, done)
    new = {r["kind"]: r["files_new"] for r in state.runs_logged(home)[-2:]}
    return RaceResult(
        {n: p.wait() for n, p in runs.items()},
        held,
        began,
        new,
        reports,
        state.accounting(home),
        serial_difference(home, initial, prefect, work, _order(held)) if reference else [],
        outputs,
    )


def _analysts(home: Path, prefect: Prefect, work: Path) -> tuple[Path, list[Any]]:
    stop = work / "analysts.stop"
    stop.unlink(missing_ok=True)
    procs = []
    for m in ("hold", "reconnect"):
        args = [
            PYTHON,
            "-m",
            "faults.analyst",
            str(home / "warehouse.duckdb"),
            str(stop),
            str(work / f"{m}.json"),
        ]
        procs.append(start([*args, "--mode", m], prefect.env(home), work / f"analyst-{m}.log"))
    return stop, procs


def _stop_analysts(stop: Path, procs: list[Any], work: Path) -> list[dict[str, Any]]:
    time.sleep(1.0)
    stop.touch()
    for a in procs:
        try:
            a.wait(timeout=60)
        except Exception:
            kill_group(a)
    return [_json(work / f"{m}.json", m) for m in ("hold", "reconnect")]


def _api(api: str, path: str, body: dict[str, Any] | None = None, tries: int = 10) -> Any:
    """A call to the Prefect API; a busy server (503, its SQLite locked by two runs) is asked again."""
    request = urllib.request.Request(
        f"{api}/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError):
            if attempt == tries - 1:
                raise
            time.sleep(1.0)


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


BACKFILL_FORM = {"period_from": PERIODS[0], "period_to": PERIODS[1], "reporters": [], "mode": "missing",
                 "reparse": False, "dry_run": False}  # fmt: skip


def served_race(
    home: Path, prefect: Prefect, pool: state.DemoPool, work: Path, files: int = 5, reference: bool = True
) -> RaceResult:
    """The same race through Prefect: ``ictstat serve`` (the production runner) serves both deployments
    against the server, new files arrive, and one flow run of each deployment is created through the API at
    the same moment, as the schedule and an engineer's "Run" would. Each deployment has its own concurrency
    limit, so both start; the writer lock must order them."""
    initial = sorted(
        p.relative_to(home / "inbox").as_posix() for p in (home / "inbox").rglob("*") if p.is_file()
    )
    log = work / "served-runner.log"
    runner = start(
        [PYTHON, "-m", "ictstat.cli", "serve"], prefect.env(home, PREFECT_RUNNER_POLL_FREQUENCY="1"), log
    )
    try:
        deadline = time.monotonic() + 180
        ids: dict[str, str] = {}
        while len(ids) < 2 and time.monotonic() < deadline and runner.poll() is None:
            ids = {d["name"]: d["id"] for d in _api(prefect.api_url, "deployments/filter", {})}
            ids = {n: i for n, i in ids.items() if n in ("nightly", "backfill")}
            time.sleep(0.5)
        if len(ids) < 2:
            raise RuntimeError(
                f"ictstat serve registered {sorted(ids)}: {log.read_text(errors='replace')[-800:]}"
            )
        pool.add(home / "inbox", files, duplicate=True)
        stop, analysts = _analysts(home, prefect, work)
        time.sleep(1.0)
        parameters = {"nightly": {}, "backfill": BACKFILL_FORM}
        runs = {name: _api(prefect.api_url, f"deployments/{ids[name]}/create_flow_run",
                           {"parameters": parameters[name]})["id"] for name in ("nightly", "backfill")}  # fmt: skip
        final: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + 900
        while len(final) < 2 and time.monotonic() < deadline:
            for name, run_id in runs.items():
                run = _api(prefect.api_url, f"flow_runs/{run_id}")
                if (run.get("state") or {}).get("type") in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                    final[name] = run
            time.sleep(1.0)
        reports = _stop_analysts(stop, analysts, work)
    finally:
        kill_group(runner, signal.SIGTERM, grace=20.0)
    held, began, outputs, codes = {}, {}, {}, {}
    for name, run_id in runs.items():
        run = final.get(name, {})
        codes[name] = 0 if (run.get("state") or {}).get("type") == "COMPLETED" else 1
        logs = _api(
            prefect.api_url, "logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}
        )
        outputs[name] = "\n".join(f"{lg['timestamp']} {lg['message']}" for lg in logs)
        took = [_epoch(lg["timestamp"]) for lg in logs if " / inbox: " in lg["message"]]
        # the lock is held from intake to the publication (the swap and its ledger line), not to the exports
        tasks = _api(prefect.api_url, "task_runs/filter", {"flow_runs": {"id": {"any_": [run_id]}}})
        done = [
            _epoch(t["end_time"])
            for t in tasks
            if t["name"].startswith(("publish-", "nothing to change-")) and t.get("end_time")
        ]
        began[name] = _epoch(run["start_time"]) if run.get("start_time") else 0.0
        if took and done:
            held[name] = (min(took), min(done))
    new = {r["kind"]: r["files_new"] for r in state.runs_logged(home)[-2:]}
    return RaceResult(codes, held, began, new, reports, state.accounting(home),
                      serial_difference(home, initial, prefect, work, _order(held)) if reference else [], outputs)  # fmt: skip


def _json(path: Path, mode: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"mode": mode, "queries": 0, "errors": ["the analyst wrote no report"], "snapshots": 0}
    return data


def _order(held: dict[str, tuple[float, float]]) -> tuple[str, ...]:
    """The two runs in the order they took the writer lock (nightly first when that is unknown)."""
    if len(held) != 2:
        return ("nightly", "backfill")
    return tuple(sorted(held, key=lambda name: held[name][0]))


def serial_difference(
    home: Path,
    initial: list[str],
    prefect: Prefect,
    work: Path,
    order: tuple[str, ...] = ("nightly", "backfill"),
) -> list[str]:
    """The same history one run at a time in a fresh home (the first publication of ``initial``, then the two
    runs over the whole inbox in the ``order`` the lock gave them): the marts that differ from ``home``'s."""
    serial = work / f"serial-{home.name}"
    shutil.rmtree(serial, ignore_errors=True)
    everything = sorted(
        p.relative_to(home / "inbox").as_posix() for p in (home / "inbox").rglob("*") if p.is_file()
    )
    command = {"nightly": nightly_args(), "backfill": backfill_args(*PERIODS)}
    steps = [(initial, nightly_args()), (everything, command[order[0]]), ([], command[order[1]])]
    for files, args in steps:
        for rel in files:
            (serial / "inbox" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(home / "inbox" / rel, serial / "inbox" / rel)
        done = run_to_end(args, prefect.env(serial), work / "serial.log")
        if done.returncode:
            return [f"(the serial reference run failed: exit {done.returncode})"]
    return state.differing_marts(home / "warehouse.duckdb", serial / "warehouse.duckdb")


def threads_main() -> None:
    """Both flows in two threads of this process, against a Prefect test harness; prints what each returned."""

    from prefect.testing.utilities import prefect_test_harness

    from flows.backfill import backfill
    from flows.nightly import nightly

    outcome: dict[str, Any] = {}

    def call(name: str, fn: Any, **kwargs: Any) -> None:
        began = time.monotonic()
        try:
            result = fn(**kwargs)
            outcome[name] = {"ok": True, "seconds": time.monotonic() - began, "result": str(result)[:300]}
        except BaseException as exc:  # reported, not raised: the other thread's outcome matters too
            outcome[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}

    with prefect_test_harness(server_startup_timeout=180):
        threads = [
            # no as_of: both runs take the same logical date (today on the province's clock), so whichever
            # publishes first, the second is never refused as earlier than it
            threading.Thread(target=call, args=("nightly", nightly)),
            threading.Thread(
                target=call,
                args=("backfill", backfill),
                kwargs={"period_from": PERIODS[0], "period_to": PERIODS[1]},
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print("RESULT " + json.dumps(outcome), flush=True)


def threads_race(
    home: Path, prefect: Prefect, pool: state.DemoPool, work: Path, files: int = 7
) -> dict[str, Any]:
    """Run ``threads_main`` in a child process (its own env: ICTSTAT_HOME) and read back what it printed."""
    pool.add(home / "inbox", files)
    done = run_to_end(
        [PYTHON, "-m", "faults.concurrency", "threads"], prefect.env(home), work / "threads.log"
    )
    line = next((x for x in done.output.splitlines() if x.startswith("RESULT ")), "")
    result: dict[str, Any] = json.loads(line[7:]) if line else {"error": done.output[-500:]}
    result["returncode"] = done.returncode
    result["files_new"] = {r["kind"]: r["files_new"] for r in state.runs_logged(home)[-2:]}
    return result


if __name__ == "__main__":
    if sys.argv[1:] == ["threads"]:
        threads_main()
    else:
        sys.exit("usage: python -m faults.concurrency threads")
