"""Reading the published warehouse while other programs have it open.

DuckDB lets one process open a file read-write, or many open it read-only; a read-only open fails ("Could
not set lock on file") while another process holds a read-write session, which is what an analyst gets from
``duckdb.connect(path)`` or DBeaver by default. Nothing a run must do needs that lock: deciding "nothing new"
compares the ledger with a stamp of the file (:mod:`tasks.unchanged`), and publishing is an ``os.replace``.
What reads the published file goes through :func:`connect` here, which either says clearly who holds it
(:class:`WarehouseHeld`, for the commands people run) or reads a snapshot copy of its bytes opened read-only
(for a run's own reports and a backfill's selection, which must not fail for an analyst's session).

A snapshot is the file's last checkpointed state: what a writer has not checkpointed yet stays in its WAL,
which is not copied. A copy is taken again if the file changes while it is copied (a checkpoint under way).
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

logger = logging.getLogger("ictstat.published")

_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")
_COPY_ATTEMPTS = 3


class WarehouseHeld(RuntimeError):
    """Another program holds the published file open for writing, so DuckDB will not open it."""

    def __init__(self, path: Path, holder: str) -> None:
        by = f" ({holder})" if holder else ""
        super().__init__(
            f"Một chương trình khác{by} đang mở {path} để ghi nên không đọc được; hãy đóng phiên đó (hoặc mở "
            f"ở chế độ chỉ đọc) hay thêm --from-copy để đọc bản sao chụp lúc này / another program{by} holds "
            f"{path} open for writing, so it cannot be read; close that session (or open it read-only) or add "
            "--from-copy to read a copy taken now."
        )
        self.path = path
        self.holder = holder


def is_held_for_writing(exc: BaseException) -> bool:
    """Whether a DuckDB error is the lock conflict of a file another process has open read-write."""
    return isinstance(exc, duckdb.IOException) and "Could not set lock on file" in str(exc)


def holder_of(exc: BaseException) -> str:
    """'PID 1234, python3.11' from DuckDB's lock conflict message, or '' when it does not say."""
    found = _HOLDER.search(str(exc))
    if found is None:
        return ""
    return f"PID {found['pid']}, {Path(found['program']).name}"


@contextmanager
def readable(path: Path, *, copy_if_held: bool = False) -> Iterator[Path]:
    """A path DuckDB can open read-only now: the published file itself or, when another process holds it
    for writing and ``copy_if_held`` is given, a snapshot copy of it (removed on exit).

    Raises :class:`WarehouseHeld` when the file is held for writing and no copy was asked for."""
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.IOException as exc:
        if not is_held_for_writing(exc):
            raise
        held = WarehouseHeld(path, holder_of(exc))
    else:
        yield path
        return
    if not copy_if_held:
        raise held
    logger.warning(
        "%s đang bị chương trình khác (%s) mở để ghi: đọc bản sao chụp / is held open for writing by "
        "another program (%s): reading a snapshot copy",
        path,
        held.holder or "?",
        held.holder or "?",
    )
    with tempfile.TemporaryDirectory(prefix="ictstat-snapshot-") as folder:
        yield snapshot(path, Path(folder))


@contextmanager
def connect(path: Path, *, copy_if_held: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the published warehouse, or to a snapshot copy (see :func:`readable`)."""
    with readable(path, copy_if_held=copy_if_held) as usable:
        con = duckdb.connect(str(usable), read_only=True)
        try:
            yield con
        finally:
            con.close()


def copy_notice(path: Path) -> str:
    """What a command prints when it shows a snapshot copy rather than the file itself."""
    return (
        f"{path} đang bị chương trình khác mở để ghi: số liệu dưới đây đọc từ bản sao chụp lúc này / {path} "
        "is held open for writing by another program: what follows is read from a copy taken now."
    )


class SnapshotFailed(RuntimeError):
    """The published file kept changing while it was copied."""


def snapshot(path: Path, folder: Path) -> Path:
    """Copy ``path`` into ``folder`` (no lock needed to read its bytes); again if it changed meanwhile."""
    copy = folder / path.name
    for _ in range(_COPY_ATTEMPTS):
        before = _stamp(path)
        shutil.copyfile(path, copy)
        if _stamp(path) == before:
            return copy
    raise SnapshotFailed(
        f"{path} thay đổi liên tục trong khi sao chép; hãy thử lại sau / {path} kept changing while it was "
        "copied; try again later."
    )


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns
