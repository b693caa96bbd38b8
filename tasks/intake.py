"""Intake: every file in the inbox gets a sha256, a copy in the archive and a line in the ledger.

The inbox is never modified. The archive keeps each distinct file once, named by its hash
(``archive/<sha[:2]>/<sha256>.<ext>``), so a file name never reaches a path. The ledger
(``archive/ledger/intake.jsonl``) is append-only: one line per sighting of a file (a path, size and
modification time not seen before), with its sequence number, original name and when it was received. It is
the history the warehouse's ``audit.submissions`` is rebuilt from.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

LEDGER_NAME = "intake.jsonl"
IGNORED_PREFIXES = ("~$", ".~lock", ".")  # Excel and LibreOffice lock files, hidden files


@dataclass(frozen=True)
class Sighting:
    """A file as received: one ledger line."""

    seq: int
    sha256: str
    relative_path: str
    original_name: str
    size_bytes: int
    mtime_ns: int
    received_at: str  # ISO 8601, UTC
    archive_path: str  # relative to the archive folder; "" when the file was not archived

    @property
    def submission_id(self) -> str:
        return f"S{self.seq:07d}"

    @property
    def extension(self) -> str:
        return Path(self.original_name).suffix.lower()


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_ledger(ledger_dir: Path) -> list[Sighting]:
    """All sightings so far; a line torn by a crash mid-append is ignored (its file is seen again next run)."""
    path = ledger_dir / LEDGER_NAME
    if not path.exists():
        return []
    out: list[Sighting] = []
    append, loads = out.append, orjson.loads
    for line in path.read_bytes().splitlines():  # bytes, as orjson reads them: no decoding pass of our own
        try:
            append(Sighting(**loads(line)))
        except (orjson.JSONDecodeError, TypeError):
            continue
    return out


def inbox_files(inbox: Path) -> list[Path]:
    """Every file below the inbox, in the order of their relative paths (so sequence numbers are stable)."""
    return [inbox / rel for rel, _ in inbox_entries(inbox)]


def inbox_entries(inbox: Path) -> list[tuple[str, os.stat_result]]:
    """(relative path, lstat) of every regular file below the inbox, in the order of their relative paths:
    one ``lstat`` per file (a night with nothing new at 20,000 files is mostly this scan)."""
    found: list[tuple[str, os.stat_result]] = []
    pending = [("", str(inbox))]
    while pending:
        prefix, folder = pending.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            if not prefix:
                raise
            continue  # a subfolder that cannot be listed is passed over, as os.walk does
        with entries:
            for entry in entries:
                if entry.name.startswith(IGNORED_PREFIXES):
                    continue  # lock files, hidden files and folders
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):  # a linked folder is not descended into
                    pending.append((rel + "/", entry.path))
                    continue
                st = entry.stat(follow_symlinks=False)
                # regular files only: a link may lead out of the inbox, a FIFO or device would hang the read
                if stat.S_ISREG(st.st_mode):
                    found.append((rel, st))
    found.sort(key=lambda item: item[0])
    return found


def archive_name(sha: str, original_name: str) -> str:
    ext = Path(original_name).suffix.lower()
    ext = ext if ext[1:].isalnum() and len(ext) <= 6 else ".bin"
    return f"{sha[:2]}/{sha}{ext}"


def intake(
    inbox: Path, archive: Path, ledger_dir: Path, max_file_bytes: int
) -> tuple[list[Sighting], list[Sighting]]:
    """Archive and record every file of the inbox not seen before.

    Returns (all sightings, the new ones). A file is "seen" by its relative path, size and modification
    time, so an unchanged inbox costs one ``stat`` per file and no hashing.

    Durability is batched: every new file is copied into the archive first, then one ``os.sync`` makes the
    copies durable, then the ledger lines are appended and flushed with one ``fsync``. A crash before the
    ledger is written leaves copies without lines: the next run sees those inbox files again, finds their
    copies, checks their hash and records them. A per-file fsync would cost more than the rest of intake.
    """
    ledger = read_ledger(ledger_dir)
    known = {(s.relative_path, s.size_bytes, s.mtime_ns) for s in ledger}
    archived = {s.sha256: s.archive_path for s in ledger if s.archive_path}
    seq = max((s.seq for s in ledger), default=0)
    new: list[Sighting] = []
    ledger_dir.mkdir(parents=True, exist_ok=True)
    if not inbox.exists():
        return ledger, new
    for rel, st in inbox_entries(inbox):
        if (rel, st.st_size, st.st_mtime_ns) in known:
            continue
        path = inbox / rel
        sha = sha256_of(path)
        target = archived.get(sha, "")
        if not target and st.st_size <= max_file_bytes:
            target = archive_name(sha, path.name)
            _copy_into_archive(path, archive / target, sha)
            archived[sha] = target
        seq += 1
        new.append(
            Sighting(
                seq=seq,
                sha256=sha,
                relative_path=rel,
                original_name=path.name,
                size_bytes=st.st_size,
                mtime_ns=st.st_mtime_ns,
                received_at=datetime.now(UTC).isoformat(timespec="microseconds"),
                archive_path=target,
            )
        )
        known.add((rel, st.st_size, st.st_mtime_ns))
    if new:
        os.sync()  # the archive copies are durable before any ledger line names them
        torn = ends_torn(ledger_dir / LEDGER_NAME)
        with (ledger_dir / LEDGER_NAME).open("a", encoding="utf-8") as log:
            if torn:
                log.write("\n")  # close a line torn by a crash, so it cannot swallow the next one
            log.write("".join(json.dumps(asdict(s), ensure_ascii=False) + "\n" for s in new))
            log.flush()
            os.fsync(log.fileno())
    return ledger + new, new


def ends_torn(path: Path) -> bool:
    """Whether a log file's last line lacks its newline (a crash in the middle of an append)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) != b"\n"


def _copy_into_archive(src: Path, dst: Path, sha: str) -> None:
    """Copy under a temporary name then rename; a copy left by an interrupted run is trusted only if its
    bytes still hash to the file's sha256."""
    if dst.exists() and sha256_of(dst) == sha:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def verify_archive(archive: Path, ledger_dir: Path) -> list[Sighting]:
    """Re-hash every archived file; the sightings whose copy is missing or no longer matches its sha256.

    Reading the whole archive is too slow for every night at a ministry's scale, so the nightly run only
    checks the size of files whose parse it takes from the cache (and the full hash of files it parses);
    this full check is ``ictstat verify-archive``, for a weekly schedule.
    """
    bad: list[Sighting] = []
    seen: set[str] = set()
    for s in read_ledger(ledger_dir):
        if not s.archive_path or s.sha256 in seen:
            continue
        seen.add(s.sha256)
        path = archive / s.archive_path
        if not path.exists() or sha256_of(path) != s.sha256:
            bad.append(s)
    return bad
