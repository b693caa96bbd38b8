"""The state of an ictstat home as a fault check sees it: the publication, the ledger against the inbox, leftovers.

Each function reads files as an operator would after an incident, with no help from the run that wrote them:
is the published warehouse the same bytes as before and does it open; is every file of the inbox in the ledger
and in ``audit.submissions`` exactly once per sighting; is anything left behind (build files, ``.part`` copies,
a held lock, archived copies no ledger line names).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import random
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from tasks.intake import inbox_files, read_ledger, sha256_of

ARCHIVE_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,6}$")


def sha256_file(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@dataclass(frozen=True)
class Publication:
    """The published warehouse: its bytes' hash, whether it opens read-only, and what it holds."""

    sha256: str | None
    opens: bool = False
    tables: frozenset[str] = frozenset()
    runs: int = 0
    submissions: int = 0
    error: str = ""


def publication(home: Path) -> Publication:
    path = home / "warehouse.duckdb"
    digest = sha256_file(path)
    if digest is None:
        return Publication(None)
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        return Publication(digest, error=str(exc)[:300])
    try:
        tables = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "UNION SELECT schema_name || '.' || view_name FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal"
        ).fetchall()
        runs = con.execute("SELECT count(*) FROM audit.runs").fetchone()
        subs = con.execute("SELECT count(*) FROM audit.submissions").fetchone()
    except duckdb.Error as exc:
        return Publication(digest, error=str(exc)[:300])
    finally:
        con.close()
    return Publication(
        digest,
        True,
        frozenset(t for (t,) in tables),
        int(runs[0]) if runs else 0,
        int(subs[0]) if subs else 0,
    )


# Columns naming a run or the moment of a publication: two homes that went through the same history differ
# there and nowhere else (run ids carry a random suffix).
VOLATILE_COLUMNS = ("run_id", "valid_from", "valid_to", "restated_at", "published_at")


def marts(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every mart table and view of a warehouse without its volatile columns, rows sorted (to compare two)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'mart' "
            "UNION SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
            "AND schema_name = 'mart' AND NOT internal ORDER BY 1"
        ).fetchall()
        out = {}
        for (name,) in names:
            columns = {c for (c, *_) in con.execute(f'DESCRIBE mart."{name}"').fetchall()}
            dropped = ", ".join(f'"{c}"' for c in VOLATILE_COLUMNS if c in columns)
            select = f"* EXCLUDE ({dropped})" if dropped else "*"
            out[name] = con.execute(f'SELECT {select} FROM mart."{name}" ORDER BY ALL').fetchall()
        return out
    finally:
        con.close()


def differing_marts(a: Path, b: Path) -> list[str]:
    left, right = marts(a), marts(b)
    return sorted(n for n in left.keys() | right.keys() if left.get(n) != right.get(n))


@dataclass
class Accounting:
    """Inbox, ledger and audit.submissions held against each other after a run."""

    inbox_files: int = 0
    ledger_lines: int = 0
    sightings: int = 0
    audit_rows: int = 0
    lost: list[str] = field(default_factory=list)
    counted_twice: list[str] = field(default_factory=list)
    not_in_audit: list[str] = field(default_factory=list)
    extra_in_audit: list[str] = field(default_factory=list)
    wrong_duplicates: list[str] = field(default_factory=list)
    bad_archive: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def torn_lines(self) -> int:
        return self.ledger_lines - self.sightings

    def problems(self) -> list[str]:
        out = [
            f"{len(v)} {name.replace('_', ' ')}: {v[:3]}"
            for name, v in (
                ("lost", self.lost),
                ("counted_twice", self.counted_twice),
                ("not_in_audit", self.not_in_audit),
                ("extra_in_audit", self.extra_in_audit),
                ("wrong_duplicates", self.wrong_duplicates),
                ("bad_archive", self.bad_archive),
            )
            if v
        ]
        if self.torn_lines:
            out.append(f"{self.torn_lines} ledger line(s) unreadable")
        return out


def accounting(home: Path) -> Accounting:
    inbox, ledger_dir = home / "inbox", home / "archive" / "ledger"
    on_disk = {
        (p.relative_to(inbox).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in inbox_files(inbox)
    }
    raw = ledger_dir / "intake.jsonl"
    lines = (
        [line for line in raw.read_text(encoding="utf-8").splitlines() if line.strip()]
        if raw.exists()
        else []
    )
    sightings = read_ledger(ledger_dir)
    keys = Counter((s.relative_path, s.size_bytes, s.mtime_ns) for s in sightings)
    acc = Accounting(len(on_disk), len(lines), len(sightings))
    acc.lost = sorted(k[0] for k in on_disk - keys.keys())
    acc.counted_twice = sorted(k[0] for k, n in keys.items() if n > 1)
    audit = _audit_rows(home / "warehouse.duckdb")
    acc.audit_rows = len(audit)
    by_id = {s.submission_id: s for s in sightings}
    acc.not_in_audit = sorted(i for i in by_id if i not in audit)
    acc.extra_in_audit = sorted(i for i in audit if i not in by_id)
    first: dict[str, str] = {}
    for s in sorted(sightings, key=lambda s: s.seq):
        status = audit.get(s.submission_id, ("", "", ""))[2]
        if status and (status == "duplicate") != (s.sha256 in first):
            acc.wrong_duplicates.append(f"{s.submission_id} {s.relative_path} {status}")
        first.setdefault(s.sha256, s.submission_id)
        if s.submission_id in audit and audit[s.submission_id][:2] != (s.relative_path, s.sha256):
            acc.extra_in_audit.append(f"{s.submission_id} differs from its ledger line")
    for s in {s.sha256: s for s in sightings if s.archive_path}.values():
        copy = home / "archive" / s.archive_path
        if not ARCHIVE_NAME.match(s.archive_path) or not copy.exists() or sha256_of(copy) != s.sha256:
            acc.bad_archive.append(s.archive_path)
    acc.statuses = dict(Counter(row[2] for row in audit.values()))
    return acc


def _audit_rows(warehouse: Path) -> dict[str, tuple[str, str, str]]:
    if not warehouse.exists():
        return {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT submission_id, relative_path, sha256, status FROM audit.submissions"
        ).fetchall()
    finally:
        con.close()
    return {str(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in rows}


@dataclass
class Leftovers:
    """What a run may leave behind: none of it should survive the next successful run."""

    build_files: list[str]
    part_files: list[str]
    orphan_archive: list[str]
    lock_held: bool

    def problems(self) -> list[str]:
        out = [
            f"{name.replace('_', ' ')}: {v[:3]}"
            for name, v in (
                ("build files", self.build_files),
                ("part files", self.part_files),
                ("archived copies without a ledger line", self.orphan_archive),
            )
            if v
        ]
        return [*out, "writer lock still held"] if self.lock_held else out


def leftovers(home: Path) -> Leftovers:
    archive = home / "archive"
    named = {s.archive_path for s in read_ledger(archive / "ledger")}
    files = [p for p in archive.rglob("*") if p.is_file() and "ledger" not in p.relative_to(archive).parts]
    build = home / ".build"
    return Leftovers(
        sorted(p.name for p in build.iterdir()) if build.exists() else [],
        sorted(str(p.relative_to(home)) for p in home.rglob("*.part")),
        sorted(
            str(p.relative_to(archive))
            for p in files
            if p.relative_to(archive).as_posix() not in named and not p.name.endswith(".part")
        ),
        lock_held(home / ".ictstat.lock"),
    )


def lock_held(lock: Path) -> bool:
    """Whether some process holds the writer lock (flock: a dead holder holds nothing)."""
    if not lock.exists():
        return False
    with lock.open("a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return False


def runs_logged(home: Path) -> list[dict[str, Any]]:
    path = home / "archive" / "ledger" / "runs.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


class DemoPool:
    """Demo files handed out a few at a time, so that every run has new files to take in.

    The order is shuffled with a fixed seed so that batches mix carriers, districts and periods; now and then a
    batch also carries a byte-identical copy of a file already in the inbox (a duplicate) and a file that is not
    a workbook (rejected), so every status of audit.submissions is exercised.
    """

    def __init__(self, source: Path, seed: int | str = 7) -> None:
        self.source = source
        self.files = sorted(source.rglob("*.xlsx"))
        random.Random(seed).shuffle(self.files)
        self.given: list[str] = []
        self.extras = 0

    def add(self, inbox: Path, n: int, *, duplicate: bool = False, junk: bool = False) -> list[str]:
        added: list[str] = []
        for path in self.files[len(self.given) : len(self.given) + n]:
            rel = path.relative_to(self.source).as_posix()
            (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, inbox / rel)
            self.given.append(rel)
            added.append(rel)
        if duplicate and self.given:
            self.extras += 1
            original = self.given[self.extras % len(self.given)]
            rel = f"gui_lai/{Path(original).stem} ({self.extras}).xlsx"
            (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(inbox / original, inbox / rel)
            added.append(rel)
        if junk:
            self.extras += 1
            rel = f"khac/ghi_chu_{self.extras}.xlsx"
            (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
            (inbox / rel).write_bytes(f"không phải bảng tính {self.extras}\n".encode() * 20)
            added.append(rel)
        return added

    @property
    def left(self) -> int:
        return len(self.files) - len(self.given)
