"""``ictstat serve``: the nightly schedule and the backfill form on one machine, with nothing else installed.

This module owns the life of the local Prefect server that ``ictstat serve`` starts: it starts it on the
loopback interface in its own process group, waits until its API answers, serves the deployments of
``deployments/serve.py`` against it from this process, and stops it (the whole group, for sure) when serving
ends on Ctrl-C or SIGTERM. When ``PREFECT_API_URL`` is set (environment or Prefect profile) no server is
started: the deployments are served against that API.
"""

from __future__ import annotations

import contextlib
import errno
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
from pathlib import Path
from types import FrameType

from ictstat.settings import load_settings

HEALTH_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0
LOG_NAME = "prefect-server.log"
LOG_TAIL_LINES = 25


class ServeError(RuntimeError):
    """The local Prefect server could not be started; the message says why and what to do."""


def serve_locally(host: str = "127.0.0.1", port: int = 4200) -> int:
    """Serve the nightly and backfill deployments until Ctrl-C or SIGTERM; returns the exit code.

    Against ``PREFECT_API_URL`` when it is set, else against a Prefect server started here on ``host:port``
    (loopback by default: the server has no authentication) and stopped again on the way out.
    """
    from prefect.settings import get_current_settings

    configured = get_current_settings().api.url
    if configured:
        print(f"Serving the ictstat deployments against the Prefect API at {configured}", flush=True)
        _print_how_to(ui_url=_ui_url(configured), stops="serving")
        return _serve(api_url=None)

    log_path = load_settings().home.resolve() / LOG_NAME
    # Until the runner installs its own handler, SIGTERM must unwind through `finally` like Ctrl-C does, so
    # that the server started below is stopped and not left running without its owner.
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    server: subprocess.Popen[bytes] | None = None
    try:
        server = start_server(host, port, log_path)
        api_url = f"http://{_url_host(host)}:{port}/api"
        wait_until_healthy(server, api_url, log_path)
        print(f"Prefect server started (log: {log_path})", flush=True)
        _print_how_to(ui_url=_ui_url(api_url), stops="serving and the Prefect server")
        return _serve(api_url=api_url)
    except ServeError as exc:
        print(f"ictstat serve: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            # a second Ctrl-C or SIGTERM must not interrupt the shutdown of the server half-way
            with _signals_ignored():
                stop_server(server)
            print("Prefect server stopped.", flush=True)
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def start_server(host: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``prefect server start`` in its own process group, its output appended to ``log_path``."""
    _check_port_free(host, port)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        # `--port` alone moves the API but not the address the UI's JavaScript calls, which stays
        # http://127.0.0.1:4200/api: the UI on any other port would say "Can't connect to Server API".
        PREFECT_SERVER_API_HOST=host,
        PREFECT_SERVER_API_PORT=str(port),
    )
    env.setdefault("PREFECT_UI_API_URL", f"http://{_url_host(host)}:{port}/api")
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [_prefect_executable(), "server", "start", "--host", host, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own process group: a Ctrl-C in the terminal reaches only this process, which then stops the
            # server itself, and the stop can signal every process the server started.
            start_new_session=True,
        )


def wait_until_healthy(
    server: subprocess.Popen[bytes], api_url: str, log_path: Path, timeout: float = HEALTH_TIMEOUT
) -> None:
    """Return once ``<api_url>/health`` answers; raise ServeError with the server log's tail otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = server.poll()
        if code is not None:
            raise ServeError(
                f"the Prefect server exited with code {code} before it answered.\n{log_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass  # not listening yet
        time.sleep(0.5)
    raise ServeError(
        f"the Prefect server did not answer at {api_url}/health within {timeout:.0f} s.\n{log_tail(log_path)}"
    )


def stop_server(server: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to the server's process group, then SIGKILL if it has not exited after ``timeout`` seconds."""
    # `prefect server start` can ignore SIGTERM for many seconds while its services shut down.
    pgid = server.pid  # start_new_session made the server the leader of its own group
    _signal_group(pgid, signal.SIGTERM)
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(pgid, signal.SIGKILL)
        server.wait()
    # Whatever the server started and left behind goes with it.
    _signal_group(pgid, signal.SIGKILL)


def log_tail(log_path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no server log at {log_path})"
    tail = "\n".join(text.rstrip().splitlines()[-lines:])
    return f"Last lines of {log_path}:\n{tail}"


def _serve(api_url: str | None) -> int:
    # Imported here: the flows pull in pandas, DuckDB and Pandera, which take seconds to import.
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.serve import serve_deployments
    from deployments.switch import SwitchRefused

    try:
        if api_url is None:
            serve_deployments()
            return 0
        # The environment variable for the flow runs the runner starts in subprocesses, the temporary setting
        # for this process, whose Prefect settings were read when prefect was imported.
        os.environ["PREFECT_API_URL"] = api_url
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            serve_deployments()
        return 0
    except SwitchRefused as exc:  # the work-pool variant is registered: serving it would leave it attached
        print(f"ictstat serve: {exc}", file=sys.stderr, flush=True)
        return 1


def _print_how_to(ui_url: str, stops: str) -> None:
    home = load_settings().home.resolve()
    print(
        f"""
Prefect UI: {ui_url}
ictstat home (inbox, archive, warehouse): {home}
  nightly/nightly   hằng đêm / every night 01:30 giờ Việt Nam (Asia/Ho_Chi_Minh)
  backfill/backfill from the UI: Deployments > backfill > Run > Custom run; fill in Từ kỳ / From period
                    and Đến kỳ / To period (2020, 2020-H1, 2020-Q3 or 2020-07), optionally reporters, mode,
                    reparse, and Chạy thử / Dry run to see first what would be reprocessed.
                    From a shell: ictstat backfill 2020-01 2020-12 --dry-run
Ctrl-C stops {stops}.
""",
        flush=True,
    )


def _prefect_executable() -> str:
    # The `prefect` of this virtualenv, so the server runs the Prefect version the flows were written for.
    beside = Path(sys.executable).with_name("prefect")
    if beside.exists():
        return str(beside)
    found = shutil.which("prefect")
    if found is None:
        raise ServeError("the `prefect` command was not found next to this Python or on PATH.")
    return found


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        # as uvicorn does: a port left in TIME_WAIT by a server that just stopped is free to listen on again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise ServeError(f"cannot listen on {host}:{port}: {exc}") from None
            raise ServeError(
                f"port {port} on {host} is already in use. If a Prefect server is running there, serve "
                f"against it with PREFECT_API_URL=http://{_url_host(host)}:{port}/api ictstat serve; "
                "otherwise choose another port with --port."
            ) from None


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    before = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _ui_url(api_url: str) -> str:
    return api_url.rstrip("/").removesuffix("/api")
