"""When a nightly run has nothing to change: the inputs of the last publication, and today's.

A build is a function of its inputs: the files received (the intake ledger) and the archived copies found
corrupt by ``ictstat verify-archive``, the code and reference data that
read and compute them, a few settings, and the run's logical date, which matters only through which periods are
over and which deadlines have passed (``warehouse/sql/70_tracking.sql``, future periods in
:mod:`tasks.submissions`). :func:`inputs_key` hashes all of that; each publication records its key and a stamp
of the file it published in ``runs.jsonl``. A nightly run whose key equals the last publication's, while that
file is still the one published, would rebuild the same warehouse: it records itself as ``unchanged`` and
stops after intake (milliseconds instead of a rebuild of the whole history). A backfill always rebuilds.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ictstat import reference
from ictstat.settings import Settings
from tasks import ledger
from tasks.intake import Sighting

SOURCE_DIRS = ("ictstat", "tasks", "schemas", "warehouse", "flows")
SOURCE_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".csv", ".json"}


def inputs_key(settings: Settings, sightings: Sequence[Sighting], run_date: date) -> str:
    """A hash of everything a build reads, except the run log itself."""
    h = hashlib.sha256()
    for s in sorted(sightings, key=lambda s: s.seq):
        line = f"{s.seq}|{s.sha256}|{s.relative_path}|{s.size_bytes}|{s.mtime_ns}|{s.archive_path}\n"
        h.update(line.encode())
    h.update(code_fingerprint().encode())
    h.update(repr(ledger.corrupt_archive_copies(settings.ledger_dir)).encode())  # found by verify-archive
    overlay = os.environ.get("ICTSTAT_REFERENCE_DIR")
    if overlay:
        h.update(_files_digest(Path(overlay)).encode())
    if settings.reporting_calendar is not None:
        h.update(Path(settings.reporting_calendar).read_bytes())
    register = settings.home / "receipts.csv"  # tasks/receipts.py: the operator's receipt days
    if register.exists():
        h.update(register.read_bytes())
    settings_part = (
        settings.province_code, settings.storage_version, settings.max_unpacked_bytes, settings.max_rows_per_sheet,
        settings.max_cells_per_sheet, settings.max_cells_per_workbook, settings.max_sheets, settings.max_string_length,
        settings.max_file_bytes,
    )  # fmt: skip
    h.update(repr(settings_part).encode())
    h.update(repr(date_state(run_date, deadline_days(settings))).encode())
    return h.hexdigest()[:32]


def date_state(run_date: date, deadline_days: Sequence[int]) -> tuple[int, int, tuple[bool, ...]]:
    """What of the logical date a build can see: its month (every period ends on a month's last day, so the
    periods that are over change only when the month does) and which deadline days of the month are past."""
    return run_date.year, run_date.month, tuple(run_date.day > d for d in sorted(set(deadline_days)))


def deadline_days(settings: Settings) -> list[int]:
    if settings.reporting_calendar is not None:
        calendar = pd.read_csv(settings.reporting_calendar, dtype=str, keep_default_na=False)
    else:
        calendar = reference.frame("reporting_calendar")
    return [int(d) for d in calendar["deadline_day"] if str(d).strip()]


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of ictstat's code, SQL, catalog and shipped reference data (read once per process)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for folder in SOURCE_DIRS:
        h.update(_files_digest(root / folder).encode())
    from importlib.metadata import version

    for package in ("duckdb", "pandas", "pandera", "python-calamine", "vietnamadminunits"):
        h.update(f"{package}={version(package)}".encode())
    return h.hexdigest()


def _files_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.suffix in SOURCE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
            h.update(path.relative_to(folder).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def warehouse_stamp(path: Path) -> str:
    """Identifies the published file: replaced (by a publication or by hand) means a different stamp."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return ""
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def last_publication(ledger_dir: Path) -> dict[str, Any] | None:
    for run in reversed(ledger.previous_runs(ledger_dir)):
        if run.get("status") == "published":
            return run
    return None


def unchanged_since(settings: Settings, key: str) -> dict[str, Any] | None:
    """The last publication, if it was built from the same inputs and its file is still the published one."""
    last = last_publication(settings.ledger_dir)
    if last is None or last.get("inputs_key") != key:
        return None
    stamp = warehouse_stamp(settings.warehouse_path)
    if not stamp or last.get("warehouse_stamp") != stamp:
        return None
    return last
