"""Intake: every file in the inbox gets a sha256, a copy in the archive and a line in the ledger.

The inbox is never modified. The archive keeps each distinct file once, named by its hash
(``archive/<sha[:2]>/<sha256>.<ext>``), so a file name never reaches a path. The ledger
(``archive/ledger/intake.jsonl``) is append-only: one line per sighting of a file (a path, size and
modification time not seen before), with its sequence number, original name and when it was received. It is
the history the warehouse's ``audit.submissions`` is rebuilt from.

Intake is a bulkhead around each file: a file is opened once (without following links, without blocking),
checked for what it is (a regular file, its size against the limit before a byte is read), then hashed and
copied from that same descriptor. Whatever cannot be taken in now (it vanished, cannot be read, is still being
written, is a link, pipe, device or folder, or a folder cannot be listed) is *held*: recorded in
``archive/ledger/held.jsonl``, shown as ``deferred`` in ``audit.submissions`` and the run's summary, and tried
again next run. A name that is not valid UTF-8 is kept losslessly (``raw_path``, the bytes in hex) and shown
readably (``relative_path``, the undecodable bytes as ``\\xNN``).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ictstat.messages import render

LEDGER_NAME = "intake.jsonl"
HELD_LOG = "held.jsonl"
INCOMING = ".incoming"  # in the archive: copies being made, renamed into place once their hash is known
IGNORED_PREFIXES = ("~$", ".~lock", ".")  # Excel and LibreOffice lock files, hidden files
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
BLOCK = 1 << 20


@dataclass(frozen=True)
class Sighting:
    """A file as received: one ledger line."""

    seq: int
    sha256: str
    relative_path: str  # readable: valid UTF-8, undecodable bytes shown as \xNN
    original_name: str
    size_bytes: int
    mtime_ns: int
    received_at: str  # ISO 8601, UTC
    archive_path: str  # relative to the archive folder; "" when the file was not archived
    raw_path: str = ""  # the path's bytes in hex when they are not valid UTF-8 ("" otherwise)

    @property
    def submission_id(self) -> str:
        return f"S{self.seq:07d}"

    @property
    def extension(self) -> str:
        return Path(self.original_name).suffix.lower()

    @property
    def path_key(self) -> bytes:
        """The path exactly as the file system has it."""
        return bytes.fromhex(self.raw_path) if self.raw_path else self.relative_path.encode()


@dataclass(frozen=True)
class Held:
    """Something in the inbox intake could not take in this run (retried next run): one line of ``held.jsonl``."""

    relative_path: str
    rule: str
    reason_vi: str
    reason_en: str
    seen_at: str
    raw_path: str = ""
    size_bytes: int = -1
    mtime_ns: int = 0

    @property
    def held_id(self) -> str:
        """A stable id for the path (``D`` + 7 hex digits), for audit.submissions."""
        return "D" + hashlib.sha256(self.path_key).hexdigest()[:7]

    @property
    def path_key(self) -> bytes:
        return bytes.fromhex(self.raw_path) if self.raw_path else self.relative_path.encode()


@dataclass
class IntakeResult:
    """What one intake saw: every sighting so far, the new ones, and what it had to hold back."""

    sightings: list[Sighting]
    new: list[Sighting]
    held: list[Held] = field(default_factory=list)


def readable(name: str) -> tuple[str, str]:
    """(readable text, raw bytes in hex or "") of a name as ``os`` gives it (undecodable bytes as surrogates)."""
    raw = os.fsencode(name)
    text = raw.decode("utf-8", "backslashreplace")
    return text, ("" if text.encode("utf-8") == raw else raw.hex())


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
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


def read_held(ledger_dir: Path) -> list[Held]:
    """Every hold recorded so far (a line torn by a crash is skipped)."""
    path = ledger_dir / HELD_LOG
    if not path.exists():
        return []
    out: list[Held] = []
    for line in path.read_bytes().splitlines():
        try:
            out.append(Held(**orjson.loads(line)))
        except (orjson.JSONDecodeError, TypeError):
            continue
    return out


@dataclass
class Listing:
    """The inbox as one scan found it: regular files with their ``lstat``, and what is held already."""

    files: list[tuple[str, os.stat_result]]
    held: list[Held]


def inbox_files(inbox: Path) -> list[Path]:
    """Every file below the inbox, in the order of their relative paths (so sequence numbers are stable)."""
    return [inbox / rel for rel, _ in inbox_entries(inbox)]


def inbox_entries(inbox: Path) -> list[tuple[str, os.stat_result]]:
    """(relative path, lstat) of every regular file below the inbox, in the order of their relative paths."""
    return list_inbox(inbox).files


def list_inbox(inbox: Path) -> Listing:
    """Scan the inbox: one ``lstat`` per entry (a night with nothing new at 20,000 files is mostly this scan).

    Links (never followed: they may lead out of the inbox), pipes, sockets and devices, and subfolders that
    cannot be listed are held, never skipped in silence. Relative paths are as ``os`` gives them (undecodable
    bytes as surrogates); :func:`readable` makes them text."""
    found: list[tuple[str, os.stat_result]] = []
    held: list[Held] = []
    pending = [("", str(inbox))]
    while pending:
        prefix, folder = pending.pop()
        try:
            entries = os.scandir(folder)
        except OSError as err:
            if not prefix:
                raise  # the inbox itself: a setting to fix, not a file's fault
            held.append(hold(prefix.rstrip("/"), "held_folder_unreadable", err.strerror or str(err)))
            continue
        with entries:
            for entry in entries:
                if entry.name.startswith(IGNORED_PREFIXES):
                    continue  # lock files, hidden files and folders
                rel = prefix + entry.name
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as err:  # gone since the folder was read
                    held.append(hold(rel, "held_vanished", err.strerror or str(err)))
                    continue
                if stat.S_ISDIR(st.st_mode):  # a linked folder is not a folder here: it is held as a link
                    pending.append((rel + "/", entry.path))
                elif stat.S_ISREG(st.st_mode):
                    found.append((rel, st))
                else:
                    held.append(hold(rel, "held_not_a_file", kind_of(st.st_mode), st))
    found.sort(key=lambda item: os.fsencode(item[0]))
    held.sort(key=lambda h: h.path_key)
    return Listing(found, held)


def kind_of(mode: int) -> tuple[str, str]:
    """What a file-system object is, in Vietnamese and English (for a reason a clerk or operator reads)."""
    kinds = [
        (stat.S_ISLNK, ("liên kết (symlink)", "a link (symlink)")),
        (stat.S_ISFIFO, ("đường ống (FIFO)", "a named pipe (FIFO)")),
        (stat.S_ISSOCK, ("socket", "a socket")),
        (stat.S_ISCHR, ("thiết bị", "a device")),
        (stat.S_ISBLK, ("thiết bị", "a device")),
        (stat.S_ISDIR, ("thư mục", "a folder")),
    ]
    return next((label for test, label in kinds if test(mode)), ("đối tượng lạ", "an unknown object"))


def hold(rel: str, rule: str, detail: str | tuple[str, str], st: os.stat_result | None = None) -> Held:
    """A held entry, its reason naming the path (readably) and the cause (a kind of object: Vietnamese and
    English; anything else, such as the system's error text, as it is)."""
    text, raw = readable(rel)
    vi_detail, en_detail = detail if isinstance(detail, tuple) else (detail, detail)
    vi, _ = render(rule, value=text, expected=vi_detail, kind_vi=vi_detail)
    _, en = render(rule, value=text, expected=en_detail, kind_en=en_detail)
    return Held(
        relative_path=text,
        rule=rule,
        reason_vi=vi,
        reason_en=en,
        seen_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        raw_path=raw,
        size_bytes=st.st_size if st is not None else -1,
        mtime_ns=st.st_mtime_ns if st is not None else 0,
    )


def archive_name(sha: str, original_name: str) -> str:
    ext = Path(original_name).suffix.lower()
    ext = ext if ext[1:].isalnum() and ext.isascii() and len(ext) <= 6 else ".bin"
    return f"{sha[:2]}/{sha}{ext}"


def unhashed_id(rel: str, size: int, mtime_ns: int) -> str:
    """The ``sha256`` of a sighting refused by size before a byte of it was read: the hash of the sighting
    (path, size, time), not of the bytes, so that two such files are never taken for copies of each other."""
    return hashlib.sha256(b"unhashed|" + os.fsencode(rel) + f"|{size}|{mtime_ns}".encode()).hexdigest()


def intake(
    inbox: Path, archive: Path, ledger_dir: Path, max_file_bytes: int
) -> tuple[list[Sighting], list[Sighting]]:
    """Archive and record every file of the inbox not seen before; returns (all sightings, the new ones)."""
    result = take_in(inbox, archive, ledger_dir, max_file_bytes)
    return result.sightings, result.new


def take_in(inbox: Path, archive: Path, ledger_dir: Path, max_file_bytes: int) -> IntakeResult:
    """Archive and record every file of the inbox not seen before; hold (and record) what cannot be taken in.

    A file is "seen" by its path (its bytes), size and modification time, so an unchanged inbox costs one
    ``stat`` per file and no hashing.

    Durability is batched: every new file is copied into the archive first, then one ``os.sync`` makes the
    copies durable, then the ledger lines are appended and flushed with one ``fsync``. A crash before the
    ledger is written leaves copies without lines: the next run sees those inbox files again and records them
    (their copy is made again, from the bytes it hashes). A per-file fsync would cost more than the rest of
    intake.
    """
    ledger = read_ledger(ledger_dir)
    known = {(s.path_key, s.size_bytes, s.mtime_ns) for s in ledger}
    archived = {s.sha256: s.archive_path for s in ledger if s.archive_path}
    seq = max((s.seq for s in ledger), default=0)
    new: list[Sighting] = []
    ledger_dir.mkdir(parents=True, exist_ok=True)
    if not inbox.exists():
        return IntakeResult(ledger, new)
    incoming = archive / INCOMING
    _clear_incoming(incoming)  # copies of a run killed mid-copy: the run holds the writer lock
    listing = list_inbox(inbox)
    held = list(listing.held)
    for rel, st in listing.files:
        if (os.fsencode(rel), st.st_size, st.st_mtime_ns) in known:
            continue
        try:
            taken = _take_one(inbox, rel, max_file_bytes, archive, archived)
        except Exception as exc:
            taken = hold(rel, "held_failed", f"{type(exc).__name__}: {exc}")
        if isinstance(taken, Held):
            held.append(taken)
            continue
        seq += 1
        sighting = replace(taken, seq=seq)
        new.append(sighting)
        if sighting.archive_path:
            archived[sighting.sha256] = sighting.archive_path
        known.add((sighting.path_key, sighting.size_bytes, sighting.mtime_ns))
    if new:
        os.sync()  # the archive copies are durable before any ledger line names them
        _append_jsonl(ledger_dir / LEDGER_NAME, [asdict(s) for s in new])
    _record_held(ledger_dir, held)
    return IntakeResult(ledger + new, new, held)


def _take_one(
    inbox: Path, rel: str, max_file_bytes: int, archive: Path, archived: dict[str, str]
) -> Sighting | Held:
    """Open one file once and take it in from that descriptor: its sighting (sequence number still 0), or why
    it is held."""
    try:
        fd = os.open(os.path.join(inbox, rel), OPEN_FLAGS)
    except FileNotFoundError as err:
        return hold(rel, "held_vanished", err.strerror or "")
    except PermissionError as err:
        return hold(rel, "held_unreadable", err.strerror or "")
    except OSError as err:
        if err.errno == errno.ELOOP:  # swapped for a link after the listing: never followed
            return hold(rel, "held_not_a_file", kind_of(stat.S_IFLNK))
        return hold(rel, "held_unreadable", err.strerror or str(err))
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):  # a pipe, device or folder swapped in after the listing
            return hold(rel, "held_not_a_file", kind_of(before.st_mode), before)
        text, raw = readable(rel)
        seen = Sighting(
            seq=0, sha256="", relative_path=text, original_name=text.rsplit("/", 1)[-1], size_bytes=before.st_size,
            mtime_ns=before.st_mtime_ns, received_at="", archive_path="", raw_path=raw,
        )  # fmt: skip
        if before.st_size > max_file_bytes:  # refused before a byte is read: recorded, rejected, not archived
            sha = unhashed_id(rel, before.st_size, before.st_mtime_ns)
            return replace(seen, sha256=sha, received_at=_now())
        sha, tmp, n = _hash_and_copy(fd, archive / INCOMING)
        after = os.fstat(fd)
        if n != before.st_size or (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            tmp.unlink(missing_ok=True)
            return hold(rel, "held_changing", f"{before.st_size:,} -> {after.st_size:,} bytes", after)
        target = archived.get(sha, "")
        if target:
            tmp.unlink(missing_ok=True)  # the same bytes are archived already
        else:
            target = archive_name(sha, text)
            (archive / target).parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, archive / target)
        return replace(seen, sha256=sha, archive_path=target, received_at=_now())
    finally:
        os.close(fd)


def _hash_and_copy(fd: int, incoming: Path) -> tuple[str, Path, int]:
    """Hash a descriptor's bytes while copying them to a temporary file: (sha256, the copy, bytes read)."""
    incoming.mkdir(parents=True, exist_ok=True)
    tmp = incoming / f"{uuid.uuid4().hex}.part"
    h = hashlib.sha256()
    n = 0
    with tmp.open("wb") as out:
        while block := os.read(fd, BLOCK):
            h.update(block)
            out.write(block)
            n += len(block)
    return h.hexdigest(), tmp, n


def _clear_incoming(incoming: Path) -> None:
    if incoming.is_dir():
        for entry in os.scandir(incoming):
            if entry.name.endswith(".part"):
                os.unlink(entry.path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _record_held(ledger_dir: Path, held: list[Held]) -> None:
    """Append the holds that differ from the last one recorded for their path (a file unreadable every night
    is one line, not one a night)."""
    last = {(h.path_key): (h.rule, h.size_bytes, h.mtime_ns) for h in read_held(ledger_dir)}
    fresh = [h for h in held if last.get(h.path_key) != (h.rule, h.size_bytes, h.mtime_ns)]
    if fresh:
        _append_jsonl(ledger_dir / HELD_LOG, [asdict(h) for h in fresh])


def _append_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    """Append JSON lines and fsync; every text in them is valid UTF-8 (names are made readable first)."""
    torn = ends_torn(path)
    with path.open("a", encoding="utf-8") as log:
        if torn:
            log.write("\n")  # close a line torn by a crash, so it cannot swallow the next one
        log.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        log.flush()
        os.fsync(log.fileno())


def ends_torn(path: Path) -> bool:
    """Whether a log file's last line lacks its newline (a crash in the middle of an append)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) != b"\n"


def verify_archive(
    archive: Path, ledger_dir: Path, acknowledged: dict[str, str] | None = None
) -> list[Sighting]:
    """Re-hash every archived file; the sightings whose copy is missing or no longer matches its sha256.

    ``acknowledged`` (sha256 -> the copy's hash when an operator cleared the finding, ``missing`` for a copy
    that was gone) silences a finding as long as the copy stays as it was when it was checked.

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
        actual = copy_hash(archive / s.archive_path)
        if actual != s.sha256 and (acknowledged or {}).get(s.sha256) != actual:
            bad.append(s)
    return bad


def copy_hash(path: Path) -> str:
    """The sha256 of an archived copy, or ``missing``."""
    try:
        return sha256_of(path)
    except FileNotFoundError:
        return "missing"
