"""What a Dask worker runs for a parse, and how it proves it sees the run's archive.

This module owns the worker side of parsing on a Dask cluster: the preflight probe a run sends to every worker
before any file, and the job wrapper that tells an archived file the worker *cannot see* (missing, wrong path,
no shared storage: an infrastructure fault, raised) from one whose bytes changed (a corrupt copy, which
:func:`tasks.parsefile.parse_file` reports as a rejection). A rejection is written into the parse cache and into
the clerk's feedback; an infrastructure fault must never be, so it is an exception, never a result.

Kept light (no pandas, no Prefect): a worker imports it when it unpickles the job.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.intake import Sighting
from tasks.parsefile import ParseJob


class ArchiveUnreachable(OSError):
    """A worker cannot see archived files the run's machine took in: the parse did not happen."""

    def __init__(self, where: str, missing: list[str]) -> None:
        self.where = where
        self.missing = missing
        shown = ", ".join(missing[:3]) + (f" (+{len(missing) - 3})" if len(missing) > 3 else "")
        super().__init__(
            f"Máy {where} không thấy {len(missing)} tệp lưu trữ ({shown}): lỗi hạ tầng, tệp không bị từ chối. / "
            f"Worker {where} cannot see {len(missing)} archived file(s) ({shown}): an infrastructure fault, "
            "the files are not rejected."
        )


def where_am_i() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


@dataclass(frozen=True)
class RemoteParseJob:
    """A :class:`ParseJob` run on another machine: every archived file of the chunk must exist there first.

    The archive path is absolute (a worker's working directory is not the run's), so a worker that does not
    mount the shared storage at the same path finds nothing and says so instead of rejecting the files."""

    job: ParseJob

    def __call__(self, chunk: list[Sighting]) -> list[dict[str, Any]]:
        archive = self.job.archive
        missing = [
            s.archive_path for s in chunk if s.archive_path and not (archive / s.archive_path).is_file()
        ]
        if missing:
            raise ArchiveUnreachable(where_am_i(), missing)
        return self.job(chunk)


def probe(marker: str, token: str, archived: str) -> dict[str, str]:
    """Run on every Dask worker before a run sends it any file: does it read the marker the run just wrote
    (same storage, same absolute path) and an archived file of the run? Answers what it found, never raises."""
    found = {"where": where_am_i()}
    try:
        seen = Path(marker).read_text(encoding="utf-8").strip()
        found["marker"] = "ok" if seen == token else f"another marker ({seen[:16]!r}): not the run's storage"
    except OSError as exc:
        found["marker"] = f"{type(exc).__name__}: {exc}"
    if archived:
        found["archived"] = "ok" if Path(archived).is_file() else f"missing: {archived}"
    else:
        found["archived"] = "ok"
    return found


def probe_ok(found: dict[str, str]) -> bool:
    return found.get("marker") == "ok" and found.get("archived") == "ok"
