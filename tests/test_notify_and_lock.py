"""Notifications that never hang and never lie, analysts who cannot stop a run, and text from files shown
verbatim wherever it is shown (issue 13, items 6 and 7).

Real parts only: HTTP servers on 127.0.0.1 in threads, a second process holding a read-write DuckDB session
on the published file, the real nightly flow under a Prefect test harness, the real command line.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from prefect.testing.utilities import prefect_test_harness
from rich.console import Console
from typer.testing import CliRunner

from flows.notify import notify_failure
from flows.reports import RejectedFile, RunSummary, summary_markdown
from ictstat import explain, xlsx
from ictstat.settings import SettingsError, load_settings
from tasks import backfill as selection
from tasks.submissions import ParsedBatch

ROOT = Path(__file__).resolve().parent.parent
VNPT_DEC = "vien_thong/2020/12/vnpt_bc_vien_thong_thang_12_2020.xlsx"
# a name a clerk's "save as" produces, and one that would be a terminal link if read as Rich markup
ODD_NAME = "vnpt_T12 [bản sửa] [link=mailto:x@evil.invalid]bấm.xlsx"


class Named:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


def a_failure(message: str = "warehouse step 50_mart.sql: Binder Error") -> tuple[Named, Named, Named]:
    return (
        Named(name="nightly"),
        Named(name="brave-fox", id="0000", parameters={"as_of": date(2021, 1, 2)}),
        Named(name="Failed", message=message),
    )


# --- webhook servers --------------------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    """Answers 204 to a POST carrying the expected Basic credentials (or to any POST when none are set)."""

    received: ClassVar[list[dict[str, Any]]] = []
    expected_auth: ClassVar[str | None] = None

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        auth = self.headers.get("Authorization")
        _Receiver.received.append({"body": body, "auth": auth, "path": self.path})
        ok = _Receiver.expected_auth is None or auth == _Receiver.expected_auth
        self.send_response(204 if ok else 401)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Dribbler(BaseHTTPRequestHandler):
    """Reads the request, then answers one byte every 3 s, for as long as the test lets it."""

    stop = threading.Event()
    requests: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        _Dribbler.requests.append(self.path)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" * 100:
            if _Dribbler.stop.is_set():
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:
                return  # the client gave up, as it must
            _Dribbler.stop.wait(3)

    def log_message(self, *args: object) -> None:
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    _Receiver.received.clear()
    _Receiver.expected_auth = None
    yield from serve(_Receiver)


@pytest.fixture
def dribbler() -> Iterator[ThreadingHTTPServer]:
    _Dribbler.stop.clear()
    _Dribbler.requests.clear()
    try:
        yield from serve(_Dribbler)
    finally:
        _Dribbler.stop.set()


# --- item 6: notifications never hang and never lie ------------------------------------------------------

HOOK_SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from datetime import date
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from flows.notify import notify_failure

    class Named:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    notify_failure(Named(name="nightly"), Named(name="slow-hook", id="1", parameters={}),
                   Named(name="Failed", message="the run's own failure"))
    print("hook returned", flush=True)
    """
)


def test_a_webhook_answering_a_byte_every_3_s_does_not_keep_the_process_alive(dribbler, tmp_path):
    token = "TOKEN-dribble-s3cr3t"
    env = {
        **os.environ,
        "ICTSTAT_WEBHOOK_URL": f"http://127.0.0.1:{dribbler.server_port}/hooks/{token}",
        "ICTSTAT_WEBHOOK_TIMEOUT": "2",
        "PYTHONPATH": str(ROOT),
    }
    # the subprocess timeout only guards the suite against a hang; what is asserted is how the process ended
    done = subprocess.run(
        [sys.executable, "-c", HOOK_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "hook returned" in done.stdout
    assert _Dribbler.requests == [f"/hooks/{token}"]  # the notice was sent; the answer never completed
    assert "no answer within 2 s" in done.stderr and "could not be posted" in done.stderr
    assert "ended Failed: the run's own failure" in done.stderr
    assert token not in done.stderr + done.stdout


def test_credentials_in_the_url_are_sent_as_http_basic_and_never_logged(receiver, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="ictstat.notify")
    user, password = "ops@so-tt-tt", "p:ss/w@rd s3cr3t"  # characters a URL must percent-encode
    _Receiver.expected_auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    quoted_user, quoted_password = "ops%40so-tt-tt", "p%3Ass%2Fw%40rd%20s3cr3t"
    url = f"http://{quoted_user}:{quoted_password}@127.0.0.1:{receiver.server_port}/hooks/x?channel=ict"
    monkeypatch.setenv("ICTSTAT_WEBHOOK_URL", url)
    assert load_settings().webhook_url is not None  # accepted when settings are read

    notify_failure(*a_failure())
    got = _Receiver.received[-1]
    assert got["auth"] == _Receiver.expected_auth and got["path"] == "/hooks/x?channel=ict"
    assert got["body"]["state"] == "Failed" and "50_mart.sql" in got["body"]["text"]
    assert "failure notice delivered (HTTP 204)" in caplog.text

    # a wrong password: the webhook refuses, and the log says so instead of claiming a delivery
    caplog.clear()
    monkeypatch.setenv("ICTSTAT_WEBHOOK_URL", url.replace("s3cr3t", "wrong"))
    notify_failure(*a_failure())
    assert "answered HTTP 401" in caplog.text and "delivered" not in caplog.text
    for secret in ("s3cr3t", "p%3Ass", "p:ss", "ops@so", "ops%40"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "ftp://ops:s3cr3t@example.org/hooks",  # not http(s)
        "http://ops:s3cr3t@example.org:port/hooks",  # a port that is not a number
        "http://:s3cr3t@example.org/hooks",  # a password without a user
        "http:///hooks/s3cr3t",  # no host
        "http://example.org/hooks/s3cr3t token",  # a space
    ],
)
def test_an_unusable_webhook_url_is_refused_when_settings_are_read_without_quoting_it(url, monkeypatch):
    monkeypatch.setenv("ICTSTAT_WEBHOOK_URL", url)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert "ICTSTAT_WEBHOOK_URL" in message and "s3cr3t" not in message
    assert refused.value.__context__ is None and refused.value.__cause__ is None  # pydantic's input not kept


def test_a_bad_setting_is_named_with_its_value(monkeypatch):
    monkeypatch.setenv("ICTSTAT_WORKERS", "abc")
    with pytest.raises(SettingsError, match=r"ICTSTAT_WORKERS = 'abc': Input should be a valid integer"):
        load_settings()
    monkeypatch.setenv("ICTSTAT_WORKERS", "2")
    monkeypatch.setenv("ICTSTAT_WEBHOOK_TIMEOUT", "0")
    with pytest.raises(SettingsError, match="ICTSTAT_WEBHOOK_TIMEOUT = '0'"):
        load_settings()


def test_the_hook_never_raises_even_when_it_cannot_read_what_it_reports(monkeypatch, caplog):
    monkeypatch.setenv("ICTSTAT_WEBHOOK_URL", "http://ops:s3cr3t@example.org:port/hooks")
    notify_failure(*a_failure())  # an unusable URL: logged, not raised
    assert "could not be posted" in caplog.text and "s3cr3t" not in caplog.text
    caplog.clear()
    notify_failure(Named(name="nightly"), object(), Named(name="Crashed"))  # no flow run name: logged
    assert "the failure notice itself failed (AttributeError)" in caplog.text


# --- the real flow: settings failures notify; an analyst's session stops nothing ----------------------------


@pytest.fixture(scope="module")
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_a_run_failing_on_its_settings_still_notifies_and_keeps_its_own_failure(
    prefect_harness, receiver, tmp_path, monkeypatch
):
    from flows.nightly import nightly

    token = "TOKEN-settings-s3cr3t"
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    monkeypatch.setenv("ICTSTAT_WORKERS", "abc")
    monkeypatch.setenv("ICTSTAT_WEBHOOK_URL", f"http://127.0.0.1:{receiver.server_port}/hooks/{token}")
    with pytest.raises(SettingsError, match="ICTSTAT_WORKERS = 'abc'"):
        nightly(as_of=date(2026, 1, 2))
    [notice] = [r["body"] for r in _Receiver.received]
    assert notice["state"] == "Failed" and "ICTSTAT_WORKERS = 'abc'" in notice["message"]

    # the webhook's own setting broken too: the run's failure is still the one raised, naming both
    monkeypatch.setenv("ICTSTAT_WEBHOOK_URL", f"ftp://127.0.0.1/hooks/{token}")
    with pytest.raises(SettingsError, match="ICTSTAT_WORKERS = 'abc'") as failed:
        nightly(as_of=date(2026, 1, 2))
    assert "ICTSTAT_WEBHOOK_URL" in str(failed.value) and token not in str(failed.value)
    assert len(_Receiver.received) == 1


HOLDER = textwrap.dedent(
    """
    import sys, time
    import duckdb
    con = duckdb.connect(sys.argv[1])  # DuckDB's default: read-write, as an analyst's session opens it
    con.execute("SELECT count(*) FROM audit.submissions").fetchall()
    print("holding", flush=True)
    time.sleep(600)
    """
)


class Holder:
    """A second process with a read-write DuckDB session open on a file, until stopped."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.strip() == "holding", self.process.stderr.read() if self.process.stderr else ""

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=60)


@pytest.fixture
def odd_home(tmp_path, demo_inbox, monkeypatch) -> Path:
    """A home whose inbox holds VNPT's December 2020 report under a name full of Rich markup."""
    (tmp_path / "inbox").mkdir()
    shutil.copy2(demo_inbox / VNPT_DEC, tmp_path / "inbox" / ODD_NAME)
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    return tmp_path


def test_an_analysts_read_write_session_stops_no_run_and_commands_say_who_holds_the_file(
    prefect_harness, odd_home, demo_inbox
):
    from flows.nightly import nightly
    from ictstat.cli import app

    published = odd_home / "warehouse.duckdb"
    first = nightly(as_of=date(2026, 1, 1))
    assert (first.status, first.files_total, first.accepted) == ("published", 1, 1)
    holder = Holder(published)
    try:
        with pytest.raises(duckdb.IOException, match="Could not set lock"):  # what DuckDB itself does
            duckdb.connect(str(published), read_only=True)
        before = (published.read_bytes(), published.stat().st_ino)

        # nothing new: decided from the ledger and a stamp of the file, reported from the run record
        second = nightly(as_of=date(2026, 1, 2))
        assert (second.status, second.files_total, second.accepted, second.rejected) == ("unchanged", 1, 1, 0)
        assert (published.read_bytes(), published.stat().st_ino) == before

        # a backfill's selection reads the published statuses too (from a snapshot copy while it is held)
        chosen = selection.select(selection.parse_request("2020-12", "2020-12", ["VNPT"], "all"),
                                  odd_home / "archive" / "ledger", odd_home / "inbox", published)  # fmt: skip
        assert len(chosen.reparse) == 1

        runner = CliRunner()
        refused = runner.invoke(app, ["appendix", "--year", "2020", "--appendix", "PL4"])
        assert refused.exit_code == 1
        assert "another program (PID " in refused.output and "open for writing" in refused.output
        assert "đang mở" in refused.output and "Traceback" not in refused.output
        copied = runner.invoke(app, ["appendix", "--year", "2020", "--appendix", "PL4", "--from-copy"])
        assert copied.exit_code == 0, copied.output
        assert "read from a copy taken now" in copied.output and "Phụ lục 4" in copied.output

        refused = runner.invoke(app, ["explain", "TEL_SUBS_MOBILE", "2020", "--carrier", "VNPT"])
        assert refused.exit_code == 1 and "open for writing" in refused.output
        assert "Traceback" not in refused.output
        shown = runner.invoke(app, ["explain", "TEL_SUBS_MOBILE", "2020", "--carrier", "VNPT", "--from-copy"])
        assert shown.exit_code == 0, shown.output
        # the file name verbatim: neither "[bản sửa]" eaten as a style nor "[link=…]" made a hidden link
        assert _folded(ODD_NAME, shown.output)
        assert "\x1b]8;" not in shown.output

        # a new file while the session is still open: built and published by rename, as always
        shutil.copy2(demo_inbox / VNPT_DEC.replace("/12/", "/11/").replace("12_2020", "11_2020"),
                     odd_home / "inbox" / "vnpt_T11.xlsx")  # fmt: skip
        third = nightly(as_of=date(2026, 1, 2))
        assert (third.status, third.files_total, third.accepted) == ("published", 2, 2)
        assert published.stat().st_ino != before[1]
    finally:
        holder.stop()
    con = duckdb.connect(str(published), read_only=True)
    try:
        names = {n for (n,) in con.execute("SELECT original_name FROM audit.submissions").fetchall()}
    finally:
        con.close()
    assert names == {ODD_NAME, "vnpt_T11.xlsx"}


def _folded(name: str, output: str) -> bool:
    """The name as a table column folds it: its pieces, in order, with only layout between them."""
    flat = "".join(ch for line in output.splitlines() for ch in line.strip(" │┃|"))
    return "".join(name.split()) in "".join(flat.split())


# --- escaping: terminal markup, Markdown and HTML in artifacts, formulas in workbooks ----------------------

# Names a clerk's machine can produce: brackets, markup, pipes, stars, tags, line breaks, accents.
PIECES = [*"ab [] /=*_|`<>&\\#!()~:.-\n\r\tđặạ", "[link=https://x.invalid]", "<script>", "[/link]", "&lt;"]
names = st.lists(st.sampled_from(PIECES), min_size=1, max_size=30).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names)
def test_explain_shows_any_file_name_verbatim(name):
    one_line = " ".join(name.split())  # a terminal table shows a name on one line
    cell = explain.Cell(
        submission_id="S0000001", original_name=one_line, reporter_code="VNPT", reported_period="2020-12",
        place="", sheet="Thuê bao [BTS]", cell="C7", raw_value="[b]1.307.732[/b]", reported_value=1307732.0,
        reported_unit=None, value=1307732.0, part_code=None, indicator_code="TEL_SUBS_MOBILE",
        rule="last month of the period",
    )  # fmt: skip
    e = explain.Explanation(
        indicator_code="TEL_SUBS_MOBILE", name_vi="Thuê bao", name_en="Subscribers", period="2020", level="carrier",
        where="VNPT", value=1307732.0, unit="subscriber", unit_vi="Thuê bao", qualifier=None, aggregation="stock",
        method=None, expression=None, cells=(cell,), inputs=(),
    )  # fmt: skip
    console = Console(width=2000, record=True, force_terminal=True, color_system="truecolor")
    console.print(explain.render(e), highlight=False)
    text = console.export_text()
    assert f"{one_line} (S0000001)" in text
    assert "Thuê bao [BTS]" in text and "[b]1.307.732[/b]" in text
    assert "\x1b]8;" not in console.export_text(styles=True)  # no terminal hyperlink


def _batch(rejected_name: str, reason: str) -> ParsedBatch:
    submissions = pd.DataFrame(
        [{"submission_id": "S0000007", "relative_path": rejected_name, "intake_status": "rejected",
          "reason_vi": reason, "reason_en": reason}]
    )  # fmt: skip
    issues = pd.DataFrame(columns=["submission_id", "rule", "severity"])
    return ParsedBatch(submissions, pd.DataFrame(), issues)


def _cells(markdown: str) -> list[list[str]]:
    """The body rows of the rendered 'Rejected files' table, as the text a reader sees in each cell."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    rows, row, inside, tables = [], [], False, 0
    for t in tokens:
        if t.type == "table_open":
            tables += 1
        if tables != 2:  # the first table is the counts, the second the rejected files
            continue
        if t.type == "tbody_open":
            inside = True
        elif t.type == "tr_close" and inside:
            rows.append(row)
            row = []
        elif t.type == "inline" and inside:
            children = t.children or []
            assert all(c.type == "text" or c.type == "softbreak" for c in children), children
            row.append("".join(c.content for c in children))
    return rows


@settings(max_examples=80, deadline=None)
@given(name=names, reason=names)
def test_a_file_name_never_breaks_the_run_report_or_becomes_markup(name, reason):
    rejected = RejectedFile("S0000007", "VNPT", "VT-01", "2020-06", name, reason, reason, "")
    summary = RunSummary(
        "R1", "nightly", "", "", 1, 1, 0, 0, 1, 0, 0, 0, "w.duckdb", rejected_files=[rejected]
    )
    markdown = summary_markdown(summary, _batch(name, reason))
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<script>" not in rendered and "<a " not in rendered and "<em>" not in rendered
    [row] = _cells(markdown)  # one row, seven cells: no pipe or line break split it

    def shown(text: str) -> str:
        return " ".join(text.split())

    assert [shown(c) for c in row] == [
        "S0000007", shown("VNPT (Viễn thông Bình Phước (VNPT))"), "VT-01", "2020-06", shown(name),
        shown(f"{reason} / {reason}"), "-",
    ]  # fmt: skip


# text as a clerk may type it: formula openers first (after spaces too), XML-illegal control characters inside
formula_like = st.builds(
    lambda lead, prefix, body: lead + prefix + body,
    st.sampled_from(["", "  "]),
    st.sampled_from(["=", "+", "-", "@", "", "'="]),
    st.text(alphabet=st.sampled_from(list("SUM(A1:A2)1+ đ\x07\x1b\t\r\n")), max_size=20),
)


@settings(max_examples=60, deadline=None)
@given(text=formula_like)
def test_text_written_to_a_workbook_never_becomes_a_formula(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("xlsx") / "t.xlsx"
    wb = Workbook()
    cell = xlsx.write_text(wb.active, 1, 1, text)
    wb.save(path)
    # as XML reads it back: a carriage return comes back as a line feed (XML end-of-line handling)
    expected = ILLEGAL_CHARACTERS_RE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    got = openpyxl.load_workbook(path).active["A1"]
    assert (got.value or "") == expected  # read back as the same text, never a formula
    if expected:
        assert got.data_type == "s"
        assert cell.quotePrefix == xlsx.needs_escape(cell.value)


def test_verify_archive_names_a_file_verbatim(tmp_path, monkeypatch):
    from ictstat.cli import app
    from tasks import intake

    settings = load_settings(home=tmp_path)
    settings.ensure_dirs()
    name = "vnpt_T12 [bản sửa] [bold]x.xlsx"
    (settings.inbox / name).write_bytes(b"PK\x03\x04 a workbook's first bytes")
    [sighting], _ = intake.intake(
        settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes
    )
    (settings.archive / sighting.archive_path).write_bytes(b"PK\x03\x04 other bytes, same length.")
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["verify-archive"])
    assert result.exit_code == 1 and f"{sighting.submission_id} {name}: archive copy" in result.output


class _Redirector(BaseHTTPRequestHandler):
    """Sends every POST on to another address (where credentials must never follow)."""

    target: ClassVar[str] = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(302)
        self.send_header("Location", _Redirector.target)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_redirect_is_reported_as_undelivered_and_credentials_do_not_follow(receiver, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="ictstat.notify")
    _Redirector.target = f"http://127.0.0.1:{receiver.server_port}/elsewhere"
    for redirector in serve(_Redirector):
        monkeypatch.setenv(
            "ICTSTAT_WEBHOOK_URL", f"http://ops:s3cr3t@127.0.0.1:{redirector.server_port}/hooks"
        )
        notify_failure(*a_failure())
    assert "answered HTTP 302" in caplog.text and "delivered" not in caplog.text
    assert _Receiver.received == []  # neither the notice nor the credentials went to the other address
