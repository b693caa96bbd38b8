"""Failure notifications: a flow-run state hook (``on_failure`` and ``on_crashed`` of both flows).

A hook rather than a Prefect automation because it works the same with or without a Prefect server (an
automation needs one, and a block holding the URL). The summary is logged; when ``ICTSTAT_WEBHOOK_URL`` is
set it is also posted there as JSON.

What this module owns, and why:
- The webhook is read from the raw environment, not from the settings object: a run that failed because a
  setting is unusable (``ICTSTAT_WORKERS=abc``) must still send its notice, so the hook cannot depend on every
  other setting being valid.
- One deadline per notice (``ICTSTAT_WEBHOOK_TIMEOUT``, 10 s by default) covers connecting, sending and the
  answer: a socket timeout is per read, so a webhook dribbling a byte every few seconds would otherwise keep
  the process alive for ever. The post runs in a daemon thread; at the deadline its socket is shut and the
  hook returns.
- ``user:password@`` in the URL is sent as HTTP Basic (``urllib`` would take it for a host and port).
  Redirects are not followed (they would carry the credentials elsewhere): a 3xx is reported as undelivered.
- The URL is a secret (it often carries a token): it is never logged, nor is any error text that could quote
  it; a failed post is reported by its kind only. The hook never raises: its own trouble must not hide the
  failure it reports.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import logging
import os
import socket
import threading
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ictstat.messages import is_parameter_error
from ictstat.settings import (
    DEFAULT_WEBHOOK_TIMEOUT,
    MAX_WEBHOOK_TIMEOUT,
    WEBHOOK_TIMEOUT_VARIABLE,
    WEBHOOK_URL_VARIABLE,
    webhook_url_problem,
)

logger = logging.getLogger("ictstat.notify")


class NotificationTimeout(TimeoutError):
    """The webhook had not answered when the notice's deadline passed."""


def failure_summary(flow: Any, flow_run: Any, state: Any) -> dict[str, Any]:
    message = getattr(state, "message", "") or ""
    return {
        "text": f"ictstat: flow run '{flow_run.name}' of '{flow.name}' ended {state.name}: {message[:500]}",
        "flow": flow.name,
        "flow_run": flow_run.name,
        "flow_run_id": str(flow_run.id),
        "state": state.name,
        "message": message[:2000],
        "parameters": {k: str(v)[:200] for k, v in (flow_run.parameters or {}).items()},
    }


def webhook_request(url: str, payload: dict[str, Any]) -> urllib.request.Request:
    """The POST of a notice: credentials in the URL become an Authorization header and leave the URL."""
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json"}
    if parts.username is not None or parts.password is not None:
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return urllib.request.Request(urlunsplit(parts), data=body, headers=headers, method="POST")


class _Sockets:
    """The sockets one notice opens, so that they can be shut when its deadline passes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._expired = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.append(sock)
            if self._expired:  # connected just as the deadline passed
                _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self._expired = True
            for sock in self._open:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Wake a read blocked on the socket (it then sees the end of the stream) and free it."""
    with contextlib.suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)


def _opener(sockets: _Sockets) -> urllib.request.OpenerDirector:
    """urllib (proxies from the environment, TLS) with its connections watched and redirects refused."""

    def watched(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
        class Watched(base):  # type: ignore[valid-type,misc]
            def connect(self) -> None:
                super().connect()
                sockets.add(self.sock)

        return Watched

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(watched(http.client.HTTPConnection), req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            context = getattr(self, "_context", None)
            return self.do_open(watched(http.client.HTTPSConnection), req, context=context)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # urllib then raises HTTPError with the 3xx status

    return urllib.request.build_opener(Http, Https, NoRedirect)


def post_json(url: str, payload: dict[str, Any], timeout: float = DEFAULT_WEBHOOK_TIMEOUT) -> int:
    """POST ``payload`` to ``url`` and return the HTTP status, all within ``timeout`` seconds.

    Raises :class:`NotificationTimeout` when the deadline passes first, ``urllib.error.HTTPError`` for an
    answer other than 2xx, ``OSError`` when the webhook cannot be reached."""
    request = webhook_request(url, payload)
    sockets = _Sockets()
    opener = _opener(sockets)
    outcome: list[int | BaseException] = []

    def send() -> None:
        try:
            with opener.open(request, timeout=timeout) as response:
                outcome.append(int(response.status))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=send, name="ictstat-webhook", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive() or not outcome:
        sockets.expire()
        raise NotificationTimeout(timeout)
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def webhook_timeout(environ: dict[str, str] | os._Environ[str] = os.environ) -> float:
    """The notice's deadline from the raw environment; an unusable value falls back to the default (the
    run itself reports that setting), so that the notice still goes out."""
    raw = environ.get(WEBHOOK_TIMEOUT_VARIABLE, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_WEBHOOK_TIMEOUT
    except ValueError:
        return DEFAULT_WEBHOOK_TIMEOUT
    return value if 0 < value <= MAX_WEBHOOK_TIMEOUT else DEFAULT_WEBHOOK_TIMEOUT


def describe(exc: BaseException) -> tuple[str, str]:
    """What went wrong with a post (Vietnamese, English), in words that cannot quote the URL (exception
    texts may: http.client's InvalidURL quotes the netloc, password included)."""
    if isinstance(exc, NotificationTimeout):
        return f"không trả lời trong {exc.args[0]:g} giây", f"no answer within {exc.args[0]:g} s"
    if isinstance(exc, urllib.error.HTTPError):
        exc.close()
        return f"trả lời HTTP {exc.code}", f"answered HTTP {exc.code}"
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    what = type(reason).__name__
    if isinstance(reason, OSError) and reason.strerror:
        what = f"{what}: {reason.strerror}"
    return what, what


def notify_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Log the failure and post it to the webhook, if one is set; never raises. A parameter refused by the
    flow (a typo in a form) is answered by the run's own message, not by an alert."""
    if is_parameter_error(getattr(state, "message", None)):
        return
    try:
        summary = failure_summary(flow, flow_run, state)
        logger.error(summary["text"])
        deliver(summary)
    except Exception as exc:  # a notification must never hide the failure it reports
        logger.error(
            "Lỗi khi gửi thông báo (%s); lỗi của lượt chạy ở trên / the failure notice itself failed (%s); "
            "the run's own failure is above",
            type(exc).__name__,
            type(exc).__name__,
        )


def deliver(summary: dict[str, Any], environ: dict[str, str] | os._Environ[str] = os.environ) -> int | None:
    """Post a summary to the webhook of the raw environment; the status, or None when not delivered."""
    url = environ.get(WEBHOOK_URL_VARIABLE, "").strip()
    if not url:
        return None
    problem = webhook_url_problem(url)
    if problem:
        logger.error("Không gửi được thông báo lỗi / the failure notice could not be posted: %s", problem)
        return None
    try:
        status = post_json(url, summary, webhook_timeout(environ))
    except Exception as exc:
        vi, en = describe(exc)
        logger.error(
            "Không gửi được thông báo lỗi tới webhook đã cấu hình (%s) / "
            "the failure notification could not be posted to the configured webhook (%s)",
            vi,
            en,
        )
        return None
    logger.info("Đã gửi thông báo lỗi (HTTP %d) / failure notice delivered (HTTP %d)", status, status)
    return status
