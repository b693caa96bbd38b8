"""Intake: sha256, archive by hash, append-only ledger, inbox untouched, duplicates recognised."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tasks.intake import intake, read_ledger


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_intake_archives_by_hash_and_never_touches_the_inbox(tmp_path):
    inbox, archive, ledger = tmp_path / "inbox", tmp_path / "archive", tmp_path / "archive" / "ledger"
    (inbox / "a").mkdir(parents=True)
    (inbox / "a" / "bao cao (3).xlsx").write_bytes(b"PK\x03\x04 one")
    (inbox / "b.xls").write_bytes(b"two")
    (inbox / "~$b.xls").write_bytes(b"excel lock file")  # Excel's owner file, not a submission
    before = _tree(inbox)
    stats = {p: os.stat(p).st_mtime_ns for p in inbox.rglob("*")}

    all_, new = intake(inbox, archive, ledger, max_file_bytes=10**6)

    assert _tree(inbox) == before and {p: os.stat(p).st_mtime_ns for p in inbox.rglob("*")} == stats
    assert [s.relative_path for s in new] == ["a/bao cao (3).xlsx", "b.xls"]
    sha = hashlib.sha256(b"PK\x03\x04 one").hexdigest()
    assert new[0].sha256 == sha and (archive / sha[:2] / f"{sha}.xlsx").read_bytes() == b"PK\x03\x04 one"
    assert [s.submission_id for s in new] == ["S0000001", "S0000002"]
    assert read_ledger(ledger) == all_


def test_an_unchanged_inbox_adds_nothing_and_a_copy_is_a_new_sighting_of_the_same_bytes(tmp_path):
    inbox, archive, ledger = tmp_path / "inbox", tmp_path / "archive", tmp_path / "archive" / "ledger"
    inbox.mkdir()
    (inbox / "x.xlsx").write_bytes(b"same bytes")
    intake(inbox, archive, ledger, 10**6)
    assert intake(inbox, archive, ledger, 10**6)[1] == []
    (inbox / "x (1).xlsx").write_bytes(b"same bytes")
    all_, new = intake(inbox, archive, ledger, 10**6)
    assert len(all_) == 2 and [s.relative_path for s in new] == ["x (1).xlsx"]
    assert new[0].sha256 == all_[0].sha256 and new[0].archive_path == all_[0].archive_path
    assert len([p for p in archive.rglob("*.xlsx")]) == 1


def test_a_torn_last_ledger_line_is_ignored(tmp_path):
    inbox, archive, ledger = tmp_path / "inbox", tmp_path / "archive", tmp_path / "archive" / "ledger"
    inbox.mkdir()
    (inbox / "x.xlsx").write_bytes(b"x")
    intake(inbox, archive, ledger, 10**6)
    with (ledger / "intake.jsonl").open("a") as fh:
        fh.write('{"seq": 2, "sha256": "ab')  # a crash mid-append
    assert len(read_ledger(ledger)) == 1


def test_files_over_the_size_limit_are_recorded_but_not_archived(tmp_path):
    inbox, archive, ledger = tmp_path / "inbox", tmp_path / "archive", tmp_path / "archive" / "ledger"
    inbox.mkdir()
    (inbox / "huge.xlsx").write_bytes(b"x" * 2000)
    _, new = intake(inbox, archive, ledger, max_file_bytes=1000)
    assert new[0].archive_path == "" and not list(archive.rglob("*.xlsx"))


def test_a_torn_line_does_not_swallow_the_next_append_and_links_and_fifos_are_skipped(tmp_path):
    inbox, archive, ledger = tmp_path / "inbox", tmp_path / "archive", tmp_path / "archive" / "ledger"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes(b"a")
    intake(inbox, archive, ledger, 10**6)
    with (ledger / "intake.jsonl").open("a") as fh:
        fh.write('{"seq": 2, "sha')  # a crash mid-append
    (inbox / "b.xlsx").write_bytes(b"b")
    outside = tmp_path / "secret.txt"
    outside.write_text("not in the inbox")
    (inbox / "link.xlsx").symlink_to(outside)
    os.mkfifo(inbox / "pipe.xlsx")
    _, new = intake(inbox, archive, ledger, 10**6)
    assert [s.relative_path for s in new] == ["b.xlsx"]
    assert [s.relative_path for s in read_ledger(ledger)] == ["a.xlsx", "b.xlsx"]
