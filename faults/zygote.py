"""``python -m faults.zygote``: import the flows once, then fork every run the harness asks for.

A run started as ``python -m flows.nightly`` spends about 3 s importing Prefect, pandas, Pandera and DuckDB
before it does anything; a fault test starts dozens of runs. The zygote imports them once and forks a child per
run: the child is a real process of its own (its own session and process group, its own pid, killed by a real
SIGKILL, its output in its own log), running ``python -m <module> <args>`` through ``runpy`` with the
environment, working folder, file-size limit and umask it was given. The same code runs as it would after
``exec``; what differs is only that the imports happened before the fork.

The tests use it (``faults.procs.forking``) to keep their budget; the campaign (``make reliability``) starts
every run with a fresh interpreter by default (``--fork`` to use the zygote there too).

Protocol, one JSON object per line: the harness writes ``{"id", "module", "args", "env", "cwd", "log", "fsize",
"umask"}`` to the zygote's stdin; the zygote answers ``{"id", "pid"}`` when the child exists and ``{"exited":
pid, "code": rc}`` when it has reaped it (``rc`` negative: killed by that signal, as ``subprocess`` reports it).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import runpy
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any

WARM = ("flows.nightly", "flows.backfill", "ictstat.cli", "ictstat.export", "tasks.feedback", "openpyxl")


def _child(cmd: dict[str, Any]) -> None:
    """In the forked child: become a process of its own, then run the module as ``python -m`` would."""
    code = 1
    try:
        os.setsid()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(cmd["env"])
        os.chdir(cmd["cwd"])
        if cmd.get("fsize") is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (cmd["fsize"], cmd["fsize"]))
        if cmd.get("umask") is not None:
            os.umask(cmd["umask"])
        log = os.open(cmd["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        sys.argv = [cmd["module"], *cmd["args"]]
        try:
            runpy.run_module(cmd["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int | None):
                print(exc.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    """The zygote: warm the imports, say ready, then fork on request and report every child's end."""
    import importlib

    for module in WARM:
        importlib.import_module(module)
    out = sys.stdout.buffer
    inbox = sys.stdin.buffer

    def say(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj).encode() + b"\n")
        out.flush()

    say({"ready": os.getpid()})
    buffer = b""
    while True:
        while True:  # reap every child that ended
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            say({"exited": pid, "code": os.waitstatus_to_exitcode(status)})
        ready, _, _ = select.select([inbox], [], [], 0.02)
        if not ready:
            continue
        data = os.read(inbox.fileno(), 1 << 16)
        if not data:
            return  # the harness closed the pipe: done
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            cmd = json.loads(line)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(cmd)
            say({"id": cmd["id"], "pid": pid})


class Forked:
    """A child of the zygote, with the part of ``subprocess.Popen``'s interface the harness uses."""

    def __init__(self, zygote: Zygote, pid: int, args: list[str]) -> None:
        self.zygote, self.pid, self.args = zygote, pid, args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode


class Zygote:
    """The harness's side: start the zygote, ask it for runs, learn how they ended."""

    def __init__(self, env: dict[str, str], log: Path, cwd: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self._err: IO[bytes] = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "faults.zygote"],
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            start_new_session=True,
        )
        self._lock = threading.Lock()
        self._started: dict[int, int] = {}
        self._exited: dict[int, int] = {}
        self._ready = threading.Event()
        self._next = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self._lock:
                if "ready" in msg:
                    self._ready.set()
                elif "exited" in msg:
                    self._exited[msg["exited"]] = msg["code"]
                else:
                    self._started[msg["id"]] = msg["pid"]

    def wait_ready(self, timeout: float = 120.0) -> None:
        if not self._ready.wait(timeout):
            raise RuntimeError("the zygote did not start (see its log)")

    def start(
        self,
        module: str,
        args: list[str],
        env: dict[str, str],
        log: Path,
        cwd: Path,
        *,
        fsize: int | None = None,
        umask: int | None = None,
    ) -> Forked:
        self.wait_ready()
        assert self.proc.stdin is not None
        with self._lock:
            self._next += 1
            ident = self._next
        cmd = {"id": ident, "module": module, "args": args, "env": env, "cwd": str(cwd), "log": str(log),
               "fsize": fsize, "umask": umask}  # fmt: skip
        self.proc.stdin.write(json.dumps(cmd).encode() + b"\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with self._lock:
                if ident in self._started:
                    return Forked(self, self._started.pop(ident), ["python", "-m", module, *args])
            if self.proc.poll() is not None:
                break
            time.sleep(0.002)
        raise RuntimeError("the zygote did not start the run")

    def exit_code(self, pid: int) -> int | None:
        with self._lock:
            return self._exited.get(pid)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._err.close()


if __name__ == "__main__":
    serve()
