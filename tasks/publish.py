"""Publish a built warehouse by atomic rename, and keep one writer at a time.

DuckDB allows one read-write process or many read-only ones on a file. Writing the published file in place
would fail as soon as an analyst has it open ("Could not set lock on file"), so each run builds a new file in
``.build/`` and ``os.replace``-s it over ``warehouse.duckdb``: open sessions keep their snapshot, new ones see
the new data, and a crash before the rename leaves the old file intact.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger("ictstat.publish")


class WarehouseBusy(RuntimeError):
    pass


@contextmanager
def writer_lock(lock_path: Path, wait_seconds: float = 3600.0, poll: float = 0.5) -> Iterator[None]:
    """Hold the one-writer lock of an ictstat home, waiting for another run to finish (not failing).

    An OS file lock (flock): it is released when the process dies, so a killed run never leaves a stale lock.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh = lock_path.open("a+")
    deadline = time.monotonic() + wait_seconds
    told = False
    try:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    logger.warning("waiting for the warehouse writer lock %s, held by %s", lock_path, holder)
                    told = True
                if time.monotonic() > deadline:
                    raise WarehouseBusy(f"another ictstat run holds {lock_path}") from None
                time.sleep(poll)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        yield
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def clear_stale_builds(build_dir: Path) -> list[Path]:
    """Remove build files left by runs that died. Call only while holding the writer lock."""
    removed = []
    if build_dir.exists():
        for p in build_dir.iterdir():
            if p.is_file():
                p.unlink()
                removed.append(p)
            elif p.is_dir() and p.suffix == ".tmp":  # what DuckDB spilled to disk during a build
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def publish(build_path: Path, published: Path) -> Path:
    """Atomically replace the published warehouse with the built one and make the rename durable."""
    with build_path.open("rb") as fh:
        os.fsync(fh.fileno())
    os.chmod(build_path, 0o644)
    os.replace(build_path, published)
    dir_fd = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return published
