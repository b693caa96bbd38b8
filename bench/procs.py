"""Child processes for measurements (their own peak memory), and the Prefect server they all talk to.

Every measurement runs in a process of its own, so that its peak memory is its own: ``ru_maxrss`` of that one
process (from ``wait4``), and the peak of the sum over the process and its descendants (pool workers),
sampled from ``/proc`` while it runs, since ``ru_maxrss`` never adds up processes alive at the same time.

The flows run against one ``prefect server start`` shared by the whole benchmark (as the nightly deployment
runs against its server), in a Prefect home of its own, so no measurement pays for starting a temporary
server and the user's own Prefect database is never touched.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class Child:
    """How a measurement's process ended and what it cost."""

    returncode: int
    process_s: float  # the process's whole life: interpreter start, imports, the work, exit
    maxrss_mb: float  # ru_maxrss of the process itself
    tree_peak_mb: float  # highest sampled sum of RSS over the process and its descendants
    timed_out: bool
    load_before: float  # 1-minute load average: another job on the machine shows here
    load_after: float
    memory: list[tuple[float, float]]  # (epoch seconds, tree RSS in MB), about one sample a second


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue  # the process ended while we looked
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, ()))
    return out


def _tree_rss(root: int) -> int:
    total = 0
    for pid in _descendants(root):
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def run_child(args: Sequence[str], env: Mapping[str, str], log: Path, timeout: float) -> Child:
    """Run ``python <args>`` with ``env``, its output in ``log``; sample its tree's memory until it ends."""
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, *args], env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        peak, timed_out = 0, False
        memory: list[tuple[float, float]] = []
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            rss = _tree_rss(proc.pid)
            peak = max(peak, rss)
            if not memory or time.time() - memory[-1][0] >= 1 or rss / 2**20 > max(m for _, m in memory):
                memory.append((round(time.time(), 2), round(rss / 2**20, 1)))
            if time.perf_counter() - started > timeout and not timed_out:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)  # the group this call created: the child and its workers
            time.sleep(SAMPLE_SECONDS)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Child(
        proc.returncode,
        round(time.perf_counter() - started, 3),
        round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        round(peak / 2**20, 1),
        timed_out,
        round(load_before, 2),
        round(os.getloadavg()[0], 2),
        memory,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def prefect_server(prefect_home: Path, log: Path, startup_timeout: float = 180) -> Iterator[dict[str, str]]:
    """Start ``prefect server start`` for the benchmark; yield the environment that points flows at it.

    The server can ignore SIGTERM for many seconds: it is started in a process group of its own, asked to stop,
    and killed (that group only) if it has not stopped within 20 s.
    """
    port = _free_port()
    prefect_home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    prefect = Path(sys.executable).with_name("prefect")
    with log.open("ab") as out:
        server = subprocess.Popen([str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start; see {log}")
            time.sleep(0.5)
        yield env
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
