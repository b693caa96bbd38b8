"""Processes the campaign starts: a local Prefect server, ictstat runs, and the limits some of them run under.

Every process is started in its own session (so its own process group): a kill reaches the run and everything
it started (a parse pool), and never the harness. Runs talk to one Prefect server started here on a free
loopback port, rather than each starting a temporary one (11 s each), with their own ``PREFECT_HOME`` so the
campaign never touches the user's Prefect database.

Inside ``forking(zygote)`` (what ``prefect_server(..., fork=True)`` sets up), every ``python -m ...`` the
harness starts is forked by ``faults.zygote`` instead of exec'd: the same real process, without 3 s of imports.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from faults.zygote import Zygote

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PREFECT = str(Path(sys.executable).with_name("prefect"))
SERVER_STARTUP = 120.0
RUN_TIMEOUT = 600.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(prefect_home: Path, **extra: str) -> dict[str, str]:
    """This environment without any Prefect API or profile, with its own PREFECT_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ICTSTAT_"))}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env


class Proc(Protocol):
    """A started process: a ``subprocess.Popen`` or a child of the zygote (``faults.zygote.Forked``)."""

    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


_zygote: Zygote | None = None


@contextlib.contextmanager
def forking(zygote: Zygote | None) -> Iterator[None]:
    """Start ``python -m`` commands through ``zygote`` (None: exec them) inside the block."""
    global _zygote
    before, _zygote = _zygote, zygote
    try:
        yield
    finally:
        _zygote = before


def _as_module(args: Sequence[str]) -> tuple[str, list[str], int | None, int | None] | None:
    """``(module, args, fsize, umask)`` of a ``python -m`` command (through ``faults.limited`` or not)."""
    args = list(args)
    fsize = umask = None
    if args[:3] == [PYTHON, "-m", "faults.limited"]:
        rest = args[3:]
        while rest and rest[0] != "--":
            option, value, rest = rest[0], rest[1], rest[2:]
            if option == "--fsize":
                fsize = int(value)
            elif option == "--umask":
                umask = int(value, 0)
        args = rest[1:]
    if len(args) >= 3 and args[:2] == [PYTHON, "-m"]:
        return args[2], args[3:], fsize, umask
    return None


def start(args: Sequence[str], env: dict[str, str], log: Path, cwd: Path = REPO) -> Proc:
    """Start a process in its own session, output appended to ``log`` (forked by the zygote when one is in use)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    if _zygote is not None and (spec := _as_module(args)) is not None:
        module, margs, fsize, umask = spec
        return _zygote.start(module, margs, env, log, cwd, fsize=fsize, umask=umask)
    with log.open("ab") as out:
        return subprocess.Popen(
            list(args),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_group(proc: Proc, sig: signal.Signals = signal.SIGKILL, grace: float = 30.0) -> None:
    """Signal the process's whole group (it leads it: start_new_session) and reap the process."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever the group started and left behind
    proc.wait()


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists (a kill must take the pool workers too)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Prefect:
    """A running Prefect server: its API URL and the environment runs against it need."""

    api_url: str
    client_home: Path
    log: Path

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """The environment of an ictstat run against this server, ``ICTSTAT_HOME=home``."""
        return base_env(self.client_home, PREFECT_API_URL=self.api_url, ICTSTAT_HOME=str(home), **extra)


@contextlib.contextmanager
def prefect_server(workdir: Path, *, fork: bool = False) -> Iterator[Prefect]:
    """A Prefect server on a free loopback port, its database under ``workdir``; stopped on exit. With
    ``fork``, runs inside the block are forked by a zygote that imports while the server boots."""
    port = free_port()
    log = workdir / "prefect-server.log"
    env = base_env(
        workdir / "prefect-server", PREFECT_SERVER_API_HOST="127.0.0.1", PREFECT_SERVER_API_PORT=str(port)
    )
    server = start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, log)
    api = f"http://127.0.0.1:{port}/api"
    prefect = Prefect(api, workdir / "prefect-client", log)
    zygote = Zygote(prefect.env(workdir), workdir / "zygote.log", REPO) if fork else None
    try:
        wait_healthy(server, api, log)
        if zygote is not None:
            zygote.wait_ready()
        with forking(zygote):
            yield prefect
    finally:
        if zygote is not None:
            zygote.close()
        kill_group(server, signal.SIGTERM, grace=10.0)


def wait_healthy(proc: Proc, api: str, log: Path, timeout: float = SERVER_STARTUP) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Prefect server exited ({proc.returncode}): {tail(log)}")
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the Prefect server did not answer within {timeout:.0f} s: {tail(log)}")


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def nightly_args(*, fsize: int | None = None, umask: int | None = None) -> list[str]:
    """``python -m flows.nightly``, through ``faults.limited`` when a limit must apply to the run."""
    return [*limited(fsize=fsize, umask=umask), PYTHON, "-m", "flows.nightly"]


def backfill_args(period_from: str, period_to: str) -> list[str]:
    return [PYTHON, "-m", "flows.backfill", period_from, period_to]


def limited(*, fsize: int | None = None, umask: int | None = None) -> list[str]:
    """A prefix that execs the command with a file-size limit and/or umask (see ``faults.limited``)."""
    if fsize is None and umask is None:
        return []
    prefix = [PYTHON, "-m", "faults.limited"]
    if fsize is not None:
        prefix += ["--fsize", str(fsize)]
    if umask is not None:
        prefix += ["--umask", oct(umask)]
    return [*prefix, "--"]


@dataclass
class Finished:
    """How a run ended: its exit code (negative: killed by that signal), seconds, and its output."""

    returncode: int
    seconds: float
    output: str


def run_to_end(args: Sequence[str], env: dict[str, str], log: Path, timeout: float = RUN_TIMEOUT) -> Finished:
    """Run a command to its end (killed with its group after ``timeout``: returncode -9)."""
    offset = log.stat().st_size if log.exists() else 0
    began = time.monotonic()
    proc = start(args, env, log)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
    return Finished(proc.wait(), time.monotonic() - began, read_from(log, offset))


def read_from(log: Path, offset: int) -> str:
    with log.open("rb") as fh:
        fh.seek(offset)
        return fh.read().decode("utf-8", "replace")


def wait_for_file(path: Path, proc: Proc, timeout: float = RUN_TIMEOUT) -> bool:
    """Wait until ``path`` exists (True) or the process ends or time runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        if proc.poll() is not None:
            return path.exists()
        time.sleep(0.02)
    return False
