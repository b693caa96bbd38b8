"""Exposure: what the deployment lets out. The local Prefect server's address, the webhook secret, file modes.

``ictstat serve`` starts a Prefect server that has no authentication: it must listen on the loopback interface
only (checked on the kernel's own socket table, and by connecting to this machine's other address). The
webhook URL often carries a token: it must appear in no log line, no Prefect log or flow-run record and no
file the run writes, while the failure notice still reaches it. The published warehouse must be 0644 (readable
by analysts, writable by nobody else) whatever umask the run starts with.
"""

from __future__ import annotations

import json
import signal
import socket
import stat
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

from faults.procs import (
    PYTHON,
    Prefect,
    base_env,
    free_port,
    kill_group,
    nightly_args,
    run_to_end,
    start,
    tail,
)

ICTSTAT = str(Path(PYTHON).with_name("ictstat"))


def listening(port: int) -> list[str]:
    """Local addresses with a socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                if width == 8:
                    found.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:  # four little-endian 32-bit words
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.append(socket.inet_ntop(socket.AF_INET6, words))
    return found


def other_address() -> str | None:
    """This machine's address on its default route (no packet is sent: a UDP socket is only connected)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


def refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except OSError:
        return True


@dataclass
class Serve:
    healthy: bool
    addresses: list[str]
    reachable_outside: bool | None  # None: this machine has no other address to try
    server_argv: list[str]
    stopped: bool
    help_mentions_host: bool

    def problems(self) -> list[str]:
        out = []
        if not self.healthy:
            out.append("the server started by `ictstat serve` never answered")
        if any(not a.startswith("127.") and a != "::1" for a in self.addresses):
            out.append(f"listens beyond loopback: {self.addresses}")
        if self.reachable_outside:
            out.append("the server answers on this machine's network address")
        if "127.0.0.1" not in self.server_argv:
            out.append(f"the server command does not bind 127.0.0.1: {self.server_argv}")
        if not self.stopped:
            out.append("the server still listened after `ictstat serve` was stopped")
        return out


def serve_binds_loopback(work: Path, timeout: float = 150.0) -> Serve:
    """Start `ictstat serve` as an operator would, look at its socket, stop it with SIGTERM."""
    port = free_port()
    env = base_env(work / "serve-prefect", ICTSTAT_HOME=str(work / "serve-home"))
    log = work / "serve.log"
    proc = start([ICTSTAT, "serve", "--port", str(port)], env, log)
    deadline, healthy = time.monotonic() + timeout, False
    while time.monotonic() < deadline and proc.poll() is None and not healthy:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                healthy = r.status == 200
        except OSError:
            time.sleep(0.5)
    addresses, other = listening(port), other_address()
    argv = _server_argv(port)
    outside = None if other is None else not refused(other, port)
    kill_group(proc, signal.SIGTERM)  # ictstat serve stops its server (another session) on SIGTERM
    for _ in range(60):
        if not listening(port):
            break
        time.sleep(0.5)
    stopped = not listening(port)
    helped = run_to_end([ICTSTAT, "serve", "--help"], env, work / "serve-help.log", timeout=60).output
    return Serve(healthy, addresses, outside, argv, stopped, "--host" in helped)


def _server_argv(port: int) -> list[str]:
    """The argv of the `prefect server start` process listening on ``port`` (read from /proc)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "server" in argv and "start" in argv and str(port) in argv:
            return argv
    return []


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Webhook:
    posts: list[dict[str, Any]]
    exit_codes: list[int]
    leaks: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = [f"the webhook secret appears in {where}" for where in self.leaks]
        if not any(p.get("state") == "Failed" for p in self.posts):
            out.append("the failed run's notice never reached the webhook")
        if self.exit_codes[:1] == [0]:
            out.append("the run meant to fail did not")
        return out


def webhook_secret(home: Path, prefect: Prefect, work: Path, scenarios: int = 3) -> Webhook:
    """A failing run (bad storage version), a good run, and a failing run whose webhook is down: the token
    must be nowhere but in the request itself."""
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = f"TOKEN-{uuid.uuid4().hex}"
    _Receiver.received.clear()
    url = f"http://127.0.0.1:{server.server_port}/hooks/{token}"
    down = f"http://127.0.0.1:{free_port()}/hooks/{token}"
    log = work / "webhook-runs.log"
    runs = [
        {"ICTSTAT_WEBHOOK_URL": url, "ICTSTAT_STORAGE_VERSION": "v0-bogus"},
        {"ICTSTAT_WEBHOOK_URL": url},
        {"ICTSTAT_WEBHOOK_URL": down, "ICTSTAT_STORAGE_VERSION": "v0-bogus"},
    ]
    codes = [
        run_to_end(nightly_args(), prefect.env(home, **extra), log).returncode for extra in runs[:scenarios]
    ]
    time.sleep(1.0)  # the server stores logs the runs sent in batches
    server.shutdown()
    where = {
        "the runs' console output": log.read_text(errors="replace"),
        "the Prefect server log": tail(prefect.log, 10**6),
    }
    where |= {
        f"Prefect API {kind}": _api_dump(prefect.api_url, kind) for kind in ("logs", "flow_runs", "task_runs")
    }
    for path in (p for p in home.rglob("*") if p.is_file() and p.stat().st_size < 100 << 20):
        where[str(path.relative_to(home))] = path.read_bytes().decode("latin-1")
    leaks = [name for name, text in where.items() if token in text]
    return Webhook(list(_Receiver.received), codes, leaks)


def _api_dump(api: str, kind: str) -> str:
    """Everything the Prefect server keeps of one kind (logs, flow runs), as JSON text, page by page."""
    out: list[str] = []
    offset = 0
    while True:
        body = json.dumps({"limit": 200, "offset": offset}).encode()
        request = urllib.request.Request(
            f"{api}/{kind}/filter", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            page = json.loads(response.read())
        if not page:
            return "\n".join(out)
        out += [json.dumps(item) for item in page]
        offset += len(page)


@dataclass
class Modes:
    warehouse: dict[str, str]  # umask -> mode of the published file
    others_writable: list[str]  # files a umask of 000 left writable by others (not the warehouse)

    def problems(self) -> list[str]:
        return [
            f"warehouse published {mode} under umask {u}"
            for u, mode in self.warehouse.items()
            if mode != "0644"
        ]


def file_modes(
    home: Path, prefect: Prefect, add: Any, log: Path, umasks: tuple[int, ...] = (0o077, 0o000)
) -> Modes:
    """Runs under each umask (each with a new file to take in): the published file's mode each time."""
    modes, loose = {}, []
    for umask in umasks:
        add()
        run_to_end(nightly_args(umask=umask), prefect.env(home), log)
        modes[f"{umask:03o}"] = f"{stat.S_IMODE((home / 'warehouse.duckdb').stat().st_mode):04o}"
    for path in home.rglob("*"):
        if path.is_file() and path.stat().st_mode & stat.S_IWOTH and path.name != "warehouse.duckdb":
            loose.append(str(path.relative_to(home)))
    return Modes(modes, sorted(loose))
