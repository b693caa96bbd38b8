"""Stopping a `prefect worker` without ending the flow runs it started: wait until they are over.

This module owns the ``ExecStop=`` of the worker's systemd unit (docs/operations.md). Prefect 3.9.1's process
worker has no clean stop: a SIGTERM makes a busy worker cancel its flow runs (killed mid-way) and leaves an idle
one polling for good, and once the worker is SIGKILLed a flow run it started crashes ("aborted by Python system
exit call"). So the unit first runs this command, which waits until the worker (``$MAINPID``) has no process
left under it (the process worker starts nothing but flow runs), naming them every interval, for at most
``--timeout`` seconds; then systemd kills the idle worker.

    python -m deployments.drain --worker-pid "$MAINPID" --timeout 3600
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (its children, theirs...), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def flow_run_ids(pids: list[int]) -> list[str]:
    """The flow runs those processes are (their ``PREFECT__FLOW_RUN_ID``), where readable."""
    ids = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                if entry.startswith(b"PREFECT__FLOW_RUN_ID="):
                    ids.add(entry.split(b"=", 1)[1].decode())
    return sorted(ids)


def drain(worker_pid: int, timeout: float, interval: float = 5.0) -> bool:
    """Wait until the worker has no process under it; False if some are left after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while pids := descendants(worker_pid):
        if time.monotonic() >= deadline:
            return False
        runs = ", ".join(flow_run_ids(pids)) or f"pid {pids}"
        print(
            f"Đang chờ các lượt chạy kết thúc: {runs} / waiting for the flow runs to end: {runs}", flush=True
        )
        time.sleep(min(interval, max(0.1, deadline - time.monotonic())))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker-pid", type=int, required=True, help="the prefect worker's pid ($MAINPID)")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds to wait at most (default 3600)"
    )
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between two looks (default 5)")
    args = parser.parse_args(argv)
    if drain(args.worker_pid, args.timeout, args.interval):
        print("Không còn lượt chạy nào. / No flow run left.", flush=True)
        return 0
    print(f"Hết {args.timeout:.0f} giây, vẫn còn lượt chạy. / Flow runs still going after {args.timeout:.0f} s.",
          file=sys.stderr, flush=True)  # fmt: skip
    return 1


if __name__ == "__main__":
    sys.exit(main())
