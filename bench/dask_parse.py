"""Parsing N national-layout workbooks on a Dask cluster against the local process pool.

This module owns the figure docs/operations.md quotes for "what scale each path is for": the same files,
taken in once per home, parsed (read, parsed, validated, written to the parse cache) by
``steps.read_and_parse_locally`` with ``--workers`` processes, then by ``flows.scaleout.parse_on_dask`` on a
``dask scheduler`` with ``--workers`` ``dask worker`` processes (one thread each) started beforehand, as in
production. Only the parse is timed; the cluster's start is not (it runs all the time in production), the
pool's is (every run starts one).

    .venv/bin/python -m bench.dask_parse --workbooks 1000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import synthetic

RESULTS = Path(__file__).parent / "results"
DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_cluster(workers: int, work: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    port = free_port()
    log = (work / "dask.log").open("ab")
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)]  # fmt: skip
    address = f"tcp://127.0.0.1:{port}"
    for n in range(workers):
        procs.append(subprocess.Popen(
            [DASK, "worker", address, "--nthreads", "1", "--no-dashboard", "--local-directory", str(work / f"w{n}")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        ))  # fmt: skip
    from distributed import Client

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with Client(address, timeout=5, set_as_default=False) as client:
                client.wait_for_workers(workers, timeout=120)
                return address, procs
        except (OSError, TimeoutError):
            time.sleep(1)
    raise RuntimeError(f"the Dask cluster did not start: see {work / 'dask.log'}")


def parse(
    mode: str, inbox: synthetic.Inbox, work: Path, workers: int, address: str
) -> dict[str, float | int]:
    from flows import scaleout, steps
    from ictstat.settings import load_settings
    from tasks import intake

    home = work / mode
    settings = load_settings(home=home, workers=workers, dask_address=address, dask_min_files=1)
    settings.ensure_dirs()
    shutil.copytree(inbox.inbox, settings.inbox, dirs_exist_ok=True)
    sightings, _ = intake.intake(
        settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes
    )
    todo, _ = steps.plan_parsing.fn(sightings, settings)
    started = time.perf_counter()
    if mode == "local pool":
        steps.read_and_parse_locally.fn(todo, settings, None)
    else:
        left = scaleout.parse_on_dask(todo, settings, logging.getLogger("bench.dask_parse"))
        assert not left, f"{len(left)} file(s) were not parsed on the cluster"
    seconds = time.perf_counter() - started
    return {
        "files": len(todo),
        "seconds": round(seconds, 2),
        "files_per_second": round(len(todo) / seconds, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workbooks", type=int, default=1000)
    parser.add_argument(
        "--workers", type=int, default=2, help="local pool processes and Dask worker processes"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    inbox = synthetic.cached(synthetic.plan(args.workbooks))
    os.environ["ICTSTAT_REFERENCE_DIR"] = str(inbox.reference)  # the synthetic reporters
    work = Path(tempfile.mkdtemp(prefix="dask-parse-"))
    address, procs = start_cluster(args.workers, work)
    try:
        load = os.getloadavg()
        results = {mode: parse(mode, inbox, work, args.workers, address) for mode in ("local pool", "dask")}
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)
    record = {"workbooks": inbox.workbooks, "workers": args.workers, "cpus": os.cpu_count(),
              "load_before": load, "load_after": os.getloadavg(), "results": results}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-dask-parse-{inbox.workbooks}.json"
    out.write_text(json.dumps(record, indent=2), encoding="utf-8")
    for mode, r in results.items():
        print(f"{mode:>10}: {r['files']} files in {r['seconds']} s ({r['files_per_second']} files/s)")
    print(f"load average {load} -> {record['load_after']}; {out}")


if __name__ == "__main__":
    main()
