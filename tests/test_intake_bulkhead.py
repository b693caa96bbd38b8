"""Intake as a bulkhead per file, on real file-system objects: pipes, links, sparse, vanishing, unreadable and
growing files, names that are not UTF-8; deferred files end to end; quarantine and release; cleared findings."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from typer.testing import CliRunner

from flows import steps
from flows.reports import summary_markdown
from ictstat.cli import app
from tasks import intake, ledger
from tasks.feedback import safe_stem
from tests.conftest import AS_OF, build_home, make_home
from tests.poison_job import PoisonJob

VNPT = "vien_thong/2020/{m:02d}/vnpt_bc_vien_thong_thang_{m:02d}_2020.xlsx"
SECRET = b"outside the inbox: never archived"


def _dirs(root: Path) -> tuple[Path, Path, Path]:
    inbox, archive = root / "inbox", root / "archive"
    inbox.mkdir(parents=True, exist_ok=True)
    return inbox, archive, archive / "ledger"


def _archived_bytes(archive: Path) -> list[bytes]:
    return [p.read_bytes() for p in archive.rglob("*") if p.is_file() and "ledger" not in p.parts]


def _after_listing(monkeypatch: pytest.MonkeyPatch, swap: Callable[[], None]) -> None:
    """Let intake list the inbox for real, then change the file system under its feet before it opens a file."""
    real = intake.list_inbox

    def listing_then_swap(inbox: Path) -> intake.Listing:
        listing = real(inbox)
        swap()
        return listing

    monkeypatch.setattr(intake, "list_inbox", listing_then_swap)


def _take_in_within(root: Path, seconds: float = 60, max_bytes: int = 10**6) -> intake.IntakeResult:
    """Intake in a thread: a hang is a failed test, not a hung test run."""
    inbox, archive, ledger_dir = _dirs(root)
    out: list[intake.IntakeResult] = []
    worker = threading.Thread(
        target=lambda: out.append(intake.take_in(inbox, archive, ledger_dir, max_bytes)), daemon=True
    )
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "intake hung"
    return out[0]


def test_a_file_swapped_for_a_named_pipe_after_listing_is_held_and_never_blocks(tmp_path, monkeypatch):
    inbox, archive, ledger_dir = _dirs(tmp_path)
    (inbox / "a.xlsx").write_bytes(b"first")
    (inbox / "b.xlsx").write_bytes(b"second")

    def swap() -> None:
        (inbox / "a.xlsx").unlink()
        os.mkfifo(inbox / "a.xlsx")  # no writer: a blocking open or read would wait for ever

    _after_listing(monkeypatch, swap)
    result = _take_in_within(tmp_path)
    assert [s.relative_path for s in result.new] == ["b.xlsx"]
    [held] = result.held
    assert held.relative_path == "a.xlsx" and held.rule == "held_not_a_file"
    assert "FIFO" in held.reason_en and "a.xlsx" in held.reason_vi
    assert "đường ống" in held.reason_vi and "named pipe" not in held.reason_vi  # each language its own
    assert _archived_bytes(archive) == [b"second"]
    assert [h.relative_path for h in intake.read_held(ledger_dir)] == ["a.xlsx"]  # recorded, not in silence


@pytest.mark.parametrize("when", ["before listing", "after listing"])
def test_a_link_to_a_file_outside_the_inbox_is_never_archived(tmp_path, monkeypatch, when):
    inbox, archive, _ledger_dir = _dirs(tmp_path)
    outside = tmp_path / "secret.xlsx"
    outside.write_bytes(SECRET)
    (inbox / "report.xlsx").write_bytes(b"a report")

    def swap() -> None:
        (inbox / "report.xlsx").unlink()
        (inbox / "report.xlsx").symlink_to(outside)

    if when == "before listing":
        swap()
    else:
        _after_listing(monkeypatch, swap)
    result = _take_in_within(tmp_path)
    assert result.new == [] and SECRET not in _archived_bytes(archive)
    [held] = result.held
    assert held.rule == "held_not_a_file" and "symlink" in held.reason_en


def test_a_folder_swapped_in_after_listing_is_held(tmp_path, monkeypatch):
    inbox, _archive, _ = _dirs(tmp_path)
    (inbox / "x.xlsx").write_bytes(b"x")

    def swap() -> None:
        (inbox / "x.xlsx").unlink()
        (inbox / "x.xlsx").mkdir()

    _after_listing(monkeypatch, swap)
    [held] = _take_in_within(tmp_path).held
    assert held.rule == "held_not_a_file" and "folder" in held.reason_en


def _bytes_read() -> int:
    """Bytes this process has read through read(2) so far (Linux /proc accounting, page cache included)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_a_sparse_8_gib_file_is_refused_by_its_size_without_reading_it(tmp_path):
    inbox, archive, ledger_dir = _dirs(tmp_path)
    huge = inbox / "huge.xlsx"
    huge.touch()
    os.truncate(huge, 8 << 30)  # 8 GiB of holes: hashing it would read 8 GiB
    before = _bytes_read()
    result = intake.take_in(inbox, archive, ledger_dir, max_file_bytes=50 << 20)
    assert _bytes_read() - before < 16 << 20  # the ledger and listing, never the file
    [s] = result.new
    assert s.archive_path == "" and s.size_bytes == 8 << 30
    assert s.sha256 == intake.unhashed_id("huge.xlsx", s.size_bytes, s.mtime_ns)
    assert _archived_bytes(archive) == []


def test_a_file_deleted_after_listing_is_deferred_and_reported(tmp_path, monkeypatch):
    inbox, _, _ledger_dir = _dirs(tmp_path)
    (inbox / "gone.xlsx").write_bytes(b"soon gone")
    _after_listing(monkeypatch, lambda: (inbox / "gone.xlsx").unlink())
    result = _take_in_within(tmp_path)
    [held] = result.held
    assert (held.rule, held.relative_path) == ("held_vanished", "gone.xlsx") and result.new == []
    assert "biến mất" in held.reason_vi and "disappeared" in held.reason_en


def test_a_file_growing_while_it_is_read_is_deferred_then_taken_in_whole(tmp_path):
    inbox, archive, ledger_dir = _dirs(tmp_path)
    growing = inbox / "growing.xlsx"
    growing.write_bytes(os.urandom(32 << 20))
    stop = threading.Event()

    def append() -> None:
        with growing.open("ab") as fh:
            while not stop.is_set():
                fh.write(b"more")
                fh.flush()

    writer = threading.Thread(target=append, daemon=True)
    writer.start()
    try:
        first = intake.take_in(inbox, archive, ledger_dir, max_file_bytes=1 << 30)
    finally:
        stop.set()
        writer.join(10)
    assert first.new == [] and [h.rule for h in first.held] == ["held_changing"]
    assert _archived_bytes(archive) == []  # no copy of a moving target
    second = intake.take_in(inbox, archive, ledger_dir, max_file_bytes=1 << 30)
    [s] = second.new
    assert s.sha256 == intake.sha256_of(growing) and second.held == []
    assert intake.verify_archive(archive, ledger_dir) == []  # never a false "disk fault"


def _as_nobody(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a forked child as the ``nobody`` user (CI runs as root, which reads everything); its
    result comes back as JSON through a pipe."""
    import pwd

    if os.geteuid() != 0:
        return fn()
    nobody = pwd.getpwnam("nobody")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            os.write(w, json.dumps(fn()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the unprivileged intake failed"
    return json.loads(data)


def test_an_unreadable_file_and_folder_are_held_and_reported_then_taken_once_readable():
    import pwd

    root = Path(tempfile.mkdtemp(prefix="ictstat-nobody-", dir="/tmp"))
    try:
        os.chmod(root, 0o755)
        inbox, archive, ledger_dir = _dirs(root)
        (inbox / "ok.xlsx").write_bytes(b"readable")
        (inbox / "locked.xlsx").write_bytes(b"not for the service")
        (inbox / "closed").mkdir()
        (inbox / "closed" / "inner.xlsx").write_bytes(b"inside a closed folder")
        archive.mkdir()
        if os.geteuid() == 0:  # the service (nobody) owns its inbox and archive, not the locked entries
            nobody = pwd.getpwnam("nobody")
            for p in (inbox, archive, inbox / "ok.xlsx"):
                os.chown(p, nobody.pw_uid, nobody.pw_gid)
        os.chmod(inbox / "locked.xlsx", 0)
        os.chmod(inbox / "closed", 0)

        def run() -> dict[str, Any]:
            result = intake.take_in(inbox, archive, ledger_dir, 10**6)
            return {"new": [s.relative_path for s in result.new],
                    "held": [(h.relative_path, h.rule, h.reason_en) for h in result.held]}  # fmt: skip

        got = _as_nobody(run)
        assert got["new"] == ["ok.xlsx"]
        assert [(p, rule) for p, rule, _ in got["held"]] == [
            ("closed", "held_folder_unreadable"),
            ("locked.xlsx", "held_unreadable"),
        ]
        assert all("Permission denied" in reason for _, _, reason in got["held"])
        os.chmod(inbox / "locked.xlsx", 0o644)
        os.chmod(inbox / "closed", 0o755)
        assert sorted(_as_nobody(run)["new"]) == ["closed/inner.xlsx", "locked.xlsx"]  # retried, taken in
    finally:
        for dirpath, dirnames, _ in os.walk(root):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o755)
        shutil.rmtree(root)


# names a clerk's machine or an old zip tool may produce; no "/" or NUL (the file system refuses them), no
# leading "." or "~$" (hidden and lock files are ignored by design)
NAMES = st.binary(min_size=1, max_size=250).filter(
    lambda b: b"/" not in b and b"\0" not in b and not b.startswith((b".", b"~$"))
)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stem=NAMES)
@example(stem=b"b\xe1o c\xe1o")  # cp1258 Vietnamese, as old Windows zip tools write it
@example(stem=b"line\nbreak")
@example(stem=b"x" * 250)  # with ".xlsx": a 255-byte name, the most a name may have
@example(
    stem=b"vnpt_T12 [bold]b\xe1n s\xe1a [link=https:evil.example]x"
)  # Rich markup ("/" cannot be in a name)
def test_any_name_is_kept_losslessly_and_written_readably(tmp_path, stem):
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    inbox, archive, ledger_dir = _dirs(root)
    name = stem + b".xlsx"
    with open(os.path.join(os.fsencode(inbox), name), "wb") as fh:
        fh.write(b"content " + name)
    result = intake.take_in(inbox, archive, ledger_dir, 10**6)
    [s] = result.new
    assert s.path_key == name  # the exact bytes, kept
    s.relative_path.encode("utf-8")  # valid text: JSON, DuckDB, logs and file names take it
    assert intake.read_ledger(ledger_dir) == [s]
    assert intake.take_in(inbox, archive, ledger_dir, 10**6).new == []  # seen again by its bytes
    if name.decode("utf-8", "replace").encode() != name:
        assert "\\x" in s.relative_path and s.raw_path == name.hex()
    # every place a name goes takes the readable form: DuckDB, a feedback file name, a log file
    assert duckdb.connect().execute("SELECT ?", [s.relative_path]).fetchone() == (s.relative_path,)
    (root / f"{safe_stem(s.original_name)}_phan_hoi.xlsx").write_bytes(b"")
    handler = logging.FileHandler(root / "run.log", encoding="utf-8")
    logging.getLogger("ictstat.names").addHandler(handler)
    try:
        logging.getLogger("ictstat.names").warning("held back: %s", s.relative_path)
    finally:
        logging.getLogger("ictstat.names").removeHandler(handler)
        handler.close()
    assert s.relative_path in (root / "run.log").read_bytes().decode("utf-8")  # no newline translation


@pytest.fixture
def small_home(tmp_path, demo_inbox, monkeypatch):
    """A home with VNPT's reports of November and December 2020, the second under a name that is not UTF-8."""
    settings = make_home(tmp_path)
    for month in (11, 12):
        src = demo_inbox / VNPT.format(m=month)
        dst = os.fsencode(settings.inbox) + b"/" + (b"b\xe1o c\xe1o T12.xlsx" if month == 12 else b"T11.xlsx")
        shutil.copyfile(src, dst)
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    return settings


def _submissions(path: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "SELECT submission_id, relative_path, status, reason_vi, reason_en FROM audit.submissions "
            "ORDER BY relative_path"
        ).fetchall()
    finally:
        con.close()


def test_a_non_utf8_name_is_accepted_and_a_deferred_file_is_in_audit_and_the_summary(small_home):
    os.mkfifo(small_home.inbox / "pipe.xlsx")
    path = build_home(small_home)
    rows = {r[1]: r for r in _submissions(path)}
    assert rows["b\\xe1o c\\xe1o T12.xlsx"][2] == "accepted" and rows["T11.xlsx"][2] == "accepted"
    held = rows["pipe.xlsx"]
    assert held[0].startswith("D") and held[2] == "deferred"
    assert "FIFO" in held[4] and "đường ống" in held[3]
    taken = intake.take_in(small_home.inbox, small_home.archive, small_home.ledger_dir, 10**6)
    batch = steps.assemble.fn(taken.sightings, small_home, AS_OF, None, taken.held)
    batch = steps.validate_batch.fn(batch, small_home)
    summary = steps.summarize({"run_id": "R", "kind": "test", "started_at": ""}, batch, 0, path, 0)
    assert (summary.deferred, summary.files_total, summary.accepted) == (1, 2, 2)
    report = summary_markdown(summary, batch)
    assert "| giữ lại, thử lại lần sau / deferred (retried next run) | 1 |" in report
    assert "Deferred: held back by intake" in report and "pipe\\.xlsx" in report  # the name, Markdown-escaped


def test_an_operator_quarantines_and_releases_a_submission(small_home):
    build_home(small_home)
    [s11] = [s for s in intake.read_ledger(small_home.ledger_dir) if s.relative_path == "T11.xlsx"]
    runner = CliRunner()
    out = runner.invoke(app, ["quarantine", s11.submission_id, "--reason", "số liệu sai, chờ VNPT gửi lại"])
    assert out.exit_code == 0, out.output
    rows = {r[1]: r for r in _submissions(build_home(small_home))}
    assert rows["T11.xlsx"][2] == "quarantined"
    assert "số liệu sai, chờ VNPT gửi lại" in rows["T11.xlsx"][3] and "Quarantined by" in rows["T11.xlsx"][4]
    assert (small_home.archive / s11.archive_path).exists()  # the evidence stays
    con = duckdb.connect(str(small_home.warehouse_path), read_only=True)
    try:
        ids = {
            r[0]
            for r in con.execute("SELECT DISTINCT submission_id FROM core.fct_reported_values").fetchall()
        }
    finally:
        con.close()
    assert s11.submission_id not in ids and ids  # excluded from the build, the other file still in
    assert runner.invoke(app, ["release", s11.submission_id, "--reason", "checked"]).exit_code == 0
    rows = {r[1]: r for r in _submissions(build_home(small_home))}
    assert rows["T11.xlsx"][2] == "accepted"
    assert [d["action"] for d in ledger.quarantine_decisions(small_home.ledger_dir)] == [
        "quarantine",
        "release",
    ]
    assert runner.invoke(app, ["quarantine", "S9999999", "--reason", "x"]).exit_code == 2


@pytest.mark.parametrize("how", ["poison-raise", "poison-kill"])
def test_a_file_that_crashes_its_parse_worker_is_quarantined_and_the_run_goes_on(small_home, demo_inbox, how):
    shutil.copyfile(demo_inbox / VNPT.format(m=10), small_home.inbox / f"{how}.xlsx")
    sightings = intake.take_in(small_home.inbox, small_home.archive, small_home.ledger_dir, 10**6).sightings
    todo, _ = steps.plan_parsing.fn(sightings, small_home)
    base = steps.parse_job(small_home)
    job = PoisonJob(base.archive, base.province_code, base.max_unpacked_bytes, base.max_rows, base.limits)
    sink = steps.ParseSink(small_home)
    done = steps.parse_in_pool(job, [todo], 2, sink)
    if done == 0:  # the worker died: the chunk is halved in processes of its own until the file is alone
        steps.parse_isolated(job, todo, sink)
    sink.flush()
    poisoned = next(s for s in sightings if how in s.relative_path)
    quarantined = steps.quarantined_now(small_home)
    assert list(quarantined) == [poisoned.sha256]
    assert quarantined[poisoned.sha256]["fingerprint"] == sink.cache.fingerprint
    assert {s.sha256 for s in sightings if s is not poisoned} <= set(sink.cache.index)
    # the next run does not parse it, shows it quarantined and publishes the others
    assert poisoned not in steps.plan_parsing.fn(sightings, small_home)[0]
    rows = {r[1]: r for r in _submissions(build_home(small_home))}
    assert rows[f"{how}.xlsx"][2] == "quarantined" and "crashed" in rows[f"{how}.xlsx"][4]
    assert rows["T11.xlsx"][2] == "accepted"


def test_a_verify_archive_finding_can_be_cleared_once_checked(small_home):
    build_home(small_home)
    [s] = [s for s in intake.read_ledger(small_home.ledger_dir) if s.relative_path == "T11.xlsx"]
    copy = small_home.archive / s.archive_path
    os.chmod(copy, stat.S_IRUSR | stat.S_IWUSR)
    copy.write_bytes(copy.read_bytes() + b"rot")
    runner = CliRunner()
    first = runner.invoke(app, ["verify-archive"])
    assert first.exit_code == 1 and s.submission_id in first.output
    assert ledger.corrupt_archive_copies(small_home.ledger_dir) == [s.sha256]
    cleared = runner.invoke(app, ["verify-archive", "--clear", s.submission_id])
    assert cleared.exit_code == 0, cleared.output
    assert ledger.corrupt_archive_copies(small_home.ledger_dir) == []
    assert runner.invoke(app, ["verify-archive"]).exit_code == 0  # not reported for ever
    copy.write_bytes(b"rotted further")  # changed again since it was checked: reported again
    assert runner.invoke(app, ["verify-archive"]).exit_code == 1


def test_a_real_poisoned_copy_never_stops_the_build_and_the_next_one_works(small_home, demo_inbox):
    """Two district cells of 1.7e308 in one column with the total filled (issue 13): whatever the parser makes of
    it (a crash, quarantined, or an error, rejected), the other files are published and nothing is infinite."""
    import openpyxl

    wb = openpyxl.load_workbook(demo_inbox / VNPT.format(m=10))
    sheet = wb["Thuê bao - BTS"]
    sheet["E7"], sheet["E8"] = 1.7e308, 1.7e308
    wb.save(small_home.inbox / "vnpt_T10 [bản sửa].xlsx")
    for _ in range(2):  # the archive is the source of truth: the next build meets the same file again
        rows = {r[1]: r for r in _submissions(build_home(small_home))}
        assert rows["vnpt_T10 [bản sửa].xlsx"][2] in ("quarantined", "rejected")
        assert rows["T11.xlsx"][2] == "accepted"
        con = duckdb.connect(str(small_home.warehouse_path), read_only=True)
        try:
            bad = con.execute(
                "SELECT count(*) FROM mart.province_indicators WHERE NOT isfinite(value)"
            ).fetchone()
            published = con.execute("SELECT count(*) FROM mart.province_indicators").fetchone()
        finally:
            con.close()
        assert bad == (0,) and published is not None and published[0] > 0


def test_a_file_that_kills_the_runs_own_process_is_found_and_quarantined_by_the_next_run(
    small_home, demo_inbox
):
    """Few files are parsed in the run's own process: when one takes that process down, the next run parses
    the files it was parsing apart, quarantines the killer and goes on with the rest."""
    shutil.copyfile(demo_inbox / VNPT.format(m=10), small_home.inbox / "poison-kill.xlsx")
    sightings = intake.take_in(small_home.inbox, small_home.archive, small_home.ledger_dir, 10**6).sightings
    todo, _ = steps.plan_parsing.fn(sightings, small_home)
    base = steps.parse_job(small_home)
    job = PoisonJob(base.archive, base.province_code, base.max_unpacked_bytes, base.max_rows, base.limits)
    pid = os.fork()
    if pid == 0:  # the run: dies in the middle of its chunk, as a process killed by a native crash would
        try:
            steps.parse_here(job, [todo], steps.ParseSink(small_home))
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == -9  # killed, not finished
    sink = steps.ParseSink(small_home)
    left = steps.parse_suspects(job, todo, sink)
    assert left == []  # every file of the dead run's chunk was parsed apart
    killer = next(s for s in sightings if s.relative_path == "poison-kill.xlsx")
    assert list(steps.quarantined_now(small_home)) == [killer.sha256]
    assert {s.sha256 for s in todo if s is not killer} <= set(sink.cache.index)
    assert not (small_home.cache_dir / steps.PARSING_NOW).exists()
