"""Runs killed, raced and starved of disk, with a fixed small budget (the full campaign: ``make reliability``).

Real nightly and backfill runs against one Prefect server of this module, real SIGKILLs to their process groups
at the named checkpoints of ``tasks.faults``, a real file-size limit. Each run is a process of its own, forked
by ``faults.zygote`` (the imports are done once, so a run costs its work, not 3 s of imports); the campaign
starts them with a fresh interpreter. One home is shared by the tests in file order (each adds new demo files
first, so every run has something to take in) and checked from outside after each: the publication's bytes,
the ledger against the inbox, ``audit.submissions``, leftovers.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
from pathlib import Path

import pytest

from faults import concurrency, crash, disk, exposure
from faults import home as state
from faults.campaign import FIGURE_MARTS
from faults.procs import nightly_args, prefect_server, run_to_end
from tasks import intake
from tasks.faults import STAGES
from tests.conftest import build_home, make_home

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def prefect(tmp_path_factory):
    with prefect_server(tmp_path_factory.mktemp("prefect"), fork=True) as server:
        yield server


@pytest.fixture(scope="module")
def pool(demo_inbox):
    return state.DemoPool(demo_inbox, seed=11)


@pytest.fixture(scope="module")
def home(tmp_path_factory, prefect, pool):
    """A home with three demo files and one publication, as after a first nightly run."""
    root = tmp_path_factory.mktemp("faults") / "home"
    (root / "inbox").mkdir(parents=True)
    pool.add(root / "inbox", 3)
    first = run_to_end(nightly_args(), prefect.env(root), root.parent / "runs.log")
    assert first.returncode == 0, first.output[-2000:]
    return root


def assert_whole(home: Path) -> state.Accounting:
    """Every inbox file once in the ledger and in audit.submissions; nothing left behind."""
    acc = state.accounting(home)
    assert (acc.lost, acc.counted_twice, acc.not_in_audit, acc.extra_in_audit) == ([], [], [], [])
    assert acc.wrong_duplicates == [] and acc.bad_archive == [] and acc.torn_lines == 0
    assert acc.inbox_files == acc.sightings == acc.audit_rows
    left = state.leftovers(home)
    assert (left.build_files, left.part_files, left.orphan_archive, left.lock_held) == ([], [], [], False)
    return acc


def test_runs_killed_at_every_stage_before_the_swap_leave_the_publication_and_the_next_run_heals(
    home, prefect, pool
):
    """SIGKILL inside intake (while a large file is copied), then at each checkpoint up to the swap, one run
    after the other: every later run meets what the earlier ones left. The publication never changes; the
    next complete run clears the leftovers and accounts for every file once."""
    log = home.parent / "runs.log"
    before = state.publication(home)
    kills = [crash.kill_inside_intake(home, prefect, pool, log, random.Random(8), big_mib=6)]
    for stage in STAGES[: STAGES.index("publish") + 1]:
        kills.append(crash.kill(stage, home, prefect, pool, log, files=1, duplicate=stage == "parse",
                                junk=stage == "read"))  # fmt: skip
    assert {k.stage: k.problems() for k in kills} == {k.stage: [] for k in kills}
    assert all(k.after.sha256 == before.sha256 and k.after.opens for k in kills)
    assert kills[-1].left.build_files  # killed before the swap: a whole build file waits, not published
    recovery = run_to_end(nightly_args(), prefect.env(home), log)
    assert recovery.returncode == 0, recovery.output[-2000:]
    assert "removed a build file left by an interrupted run" in recovery.output
    after = state.publication(home)
    assert after.opens and after.sha256 != before.sha256 and after.submissions > before.submissions
    acc = assert_whole(home)
    assert acc.statuses.get("duplicate", 0) >= 1 and acc.statuses.get("rejected", 0) >= 2  # junk, scan


def test_a_run_killed_after_the_swap_leaves_the_new_publication_whole(home, prefect, pool):
    r = crash.kill_at("exports", home, prefect, pool, home.parent / "runs.log", files=1, recovery_umask=0o000)
    assert r.problems() == []
    assert r.after_kill.sha256 != r.before.sha256 and r.after_kill.opens
    assert r.after_kill.submissions == r.before.submissions + len(r.added)
    assert_whole(home)
    # the recovery ran under umask 000: the published file is still readable by all, writable by its owner only
    assert stat.S_IMODE((home / "warehouse.duckdb").stat().st_mode) == 0o644


def test_disk_full_during_the_build_fails_clearly_and_keeps_the_publication(home, prefect, pool):
    r = disk.file_size_limit(home, prefect, pool, home.parent / "runs.log", during="build")
    assert r.failed.returncode != 0
    assert r.error_line == 'Could not write file "warehouse-<run>.duckdb": File too large'  # the new build
    assert r.after_failure.sha256 == r.before.sha256 and r.after_failure.opens
    assert r.left_after_failure.build_files  # the half-written build, cleared by the next run
    assert r.recovery.returncode == 0 and "removed a build file" in r.recovery.output
    assert_whole(home)


def test_a_failed_run_notifies_the_webhook_and_never_logs_its_secret(home, prefect):
    w = exposure.webhook_secret(home, prefect, home.parent, scenarios=1)
    assert w.exit_codes == [1]
    assert [p["state"] for p in w.posts] == ["Failed"] and "ICTSTAT_STORAGE_VERSION" in w.posts[0]["text"]
    assert w.leaks == []  # not in the console output, Prefect's logs and run records, or any file of the home


def test_nightly_and_backfill_started_together_run_one_after_the_other(home, prefect, pool, tmp_path):
    """From the command line (``python -m flows.nightly`` and ``python -m flows.backfill``) at the same
    moment, two analysts querying throughout; the same race through the deployments is in
    tests/test_prefect_server.py."""
    r = concurrency.race(home, prefect, pool, tmp_path, files=3, reference=False)
    assert r.returncodes == {"nightly": 0, "backfill": 0}, r.outputs
    assert r.raced and r.serialised  # both had started before either published; the lock ordered them
    assert sorted(r.files_new.values()) == [0, 4]  # 3 new files and a copy: taken in once, by one run
    for analyst in r.analysts:
        assert analyst["errors"] == [] and analyst["queries"] > 10
    assert max(a["snapshots"] for a in r.analysts) >= 2  # the reconnecting analyst saw a new publication
    assert_whole(home)
    serial = make_home(tmp_path / "serial", home / "inbox")
    reference = build_home(serial)
    assert [m for m in state.differing_marts(home / "warehouse.duckdb", reference) if m in FIGURE_MARTS] == []


def test_archived_copies_that_rot_are_reported_and_never_loaded(home, prefect):
    r = disk.archive_rot(home, prefect, home.parent / "runs.log")
    assert r.verify.returncode == 1 and r.sub_ids["rotted"] in r.verify.output
    for how in ("rotted", "truncated", "deleted"):
        status, reason, loaded = r.statuses[how]
        assert (status, loaded) == ("rejected", 0) and "no longer matches" in reason


def test_serve_starts_its_prefect_server_on_loopback_only(tmp_path):
    """The command ``ictstat serve`` builds, started and stopped at once (the full check, with a health
    probe and the kernel's socket table, is in the campaign)."""
    import inspect

    from ictstat import serve

    assert inspect.signature(serve.serve_locally).parameters["host"].default == "127.0.0.1"
    port = exposure.free_port()
    server = serve.start_server("127.0.0.1", port, tmp_path / "server.log")
    try:
        environ = dict(
            item.split("=", 1)
            for item in Path(f"/proc/{server.pid}/environ").read_bytes().decode().split("\0")
            if "=" in item
        )
        assert [str(a) for a in server.args][-4:] == ["--host", "127.0.0.1", "--port", str(port)]  # type: ignore[union-attr]
        assert environ["PREFECT_SERVER_API_HOST"] == "127.0.0.1" and "PREFECT_API_URL" not in environ
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def test_a_torn_ledger_line_costs_only_its_own_file(tmp_path, demo_inbox):
    """What a power cut during an append leaves: half a line, no newline. Its file must simply be seen again,
    and the file taken in next must keep its line."""
    settings = make_home(tmp_path)
    files = sorted(demo_inbox.rglob("*.xlsx"))[:3]
    for f in files[:2]:
        (settings.inbox / f.name).write_bytes(f.read_bytes())
    intake.intake(settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes)
    ledger = settings.ledger_dir / intake.LEDGER_NAME
    lines = ledger.read_bytes().splitlines(keepends=True)
    ledger.write_bytes(lines[0] + lines[1][: len(lines[1]) // 2])
    (settings.inbox / files[2].name).write_bytes(files[2].read_bytes())
    intake.intake(settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes)
    recorded = {s.relative_path: s.seq for s in intake.read_ledger(settings.ledger_dir)}
    assert set(recorded) == {f.name for f in files}
    assert recorded[files[2].name] > recorded[files[1].name]  # arrival order kept
    assert json.loads(lines[0])["seq"] == recorded[files[0].name]
