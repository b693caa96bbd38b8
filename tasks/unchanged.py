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

import csv
import hashlib
import json
import os
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from ictstat import reference
from ictstat.settings import Settings
from tasks import ledger
from tasks.intake import Held, Sighting

SOURCE_DIRS = ("ictstat", "tasks", "schemas", "warehouse", "flows")
SOURCE_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".csv", ".json"}


def inputs_key(
    settings: Settings, sightings: Sequence[Sighting], run_date: date, held: Sequence[Held] = ()
) -> str:
    """A hash of everything a build reads, except the run log itself: also what intake holds back now (shown
    as deferred) and the quarantine decisions."""
    h = hashlib.sha256()
    for s in sorted(sightings, key=lambda s: s.seq):
        line = f"{s.seq}|{s.sha256}|{s.relative_path}|{s.size_bytes}|{s.mtime_ns}|{s.archive_path}\n"
        h.update(line.encode())
    h.update(code_fingerprint().encode())
    h.update(repr(ledger.corrupt_archive_copies(settings.ledger_dir)).encode())  # found by verify-archive
    h.update(repr(sorted((x.path_key, x.rule) for x in held)).encode())
    h.update(repr(ledger.quarantine_decisions(settings.ledger_dir)).encode())
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
        with Path(settings.reporting_calendar).open(encoding="utf-8", newline="") as fh:
            calendar = list(csv.DictReader(fh))
    else:
        calendar = reference.rows("reporting_calendar")
    return [int(d) for row in calendar if (d := (row.get("deadline_day") or "").strip())]


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


def quick_unchanged(settings: Settings, run_date: date) -> tuple[dict[str, Any], int] | None:
    """Without taking anything in or starting Prefect: (the last publication, files received) when every file
    of the inbox is already in the ledger and the inputs are still those of that publication.

    Read-only and cheap (one ``lstat`` per inbox file, the ledger, the code fingerprint): ``ictstat run`` asks it
    first, so a night with nothing new costs about a second instead of a temporary Prefect server's start.
    Anything else (a new or changed file, one intake would hold back, an inbox that cannot be listed, a new day
    that changes a period's state) answers None, and the full run decides and reports."""
    from tasks.intake import list_inbox, read_ledger

    sightings = read_ledger(settings.ledger_dir)
    known = {(s.path_key, s.size_bytes, s.mtime_ns) for s in sightings}
    try:
        listing = list_inbox(settings.inbox) if settings.inbox.exists() else None
    except OSError:
        return None
    if listing is not None and (
        listing.held  # a link, a pipe or a folder that cannot be listed: the run records and reports it
        or any((os.fsencode(rel), st.st_size, st.st_mtime_ns) not in known for rel, st in listing.files)
    ):
        return None
    last = unchanged_since(settings, inputs_key(settings, sightings, run_date))
    return None if last is None else (last, len(sightings))


def published_counts(last: dict[str, Any], warehouse: Path) -> dict[str, int]:
    """The submission counts of the last publication, from its run record; a publication recorded before runs
    kept them is read from the file (a snapshot copy when an analyst holds it for writing)."""
    recorded = last.get("status_counts")
    if isinstance(recorded, str) and recorded:
        return {str(k): int(v) for k, v in json.loads(recorded).items()}
    from ictstat import published
    from tasks import build

    with published.readable(warehouse, copy_if_held=True) as path:
        return build.submission_status_counts(path)


def record_unchanged(
    settings: Settings, run: dict[str, Any], last: dict[str, Any], files_total: int, run_date: date
) -> dict[str, int]:
    """Record a run that left the published warehouse as it was, with the counts of the last publication;
    returns those counts (by submission status)."""
    from datetime import UTC, datetime

    counts = published_counts(last, settings.warehouse_path)
    run.update(
        status="unchanged",
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        files_new=0,
        files_total=files_total,
        accepted=counts.get("accepted", 0)
        + counts.get("accepted_with_warnings", 0)
        + counts.get("superseded", 0),
        rejected=counts.get("rejected", 0),
        duplicates=counts.get("duplicate", 0),
        note=f"as of {run_date.isoformat()}; nothing new since {last['run_id']}, warehouse unchanged",
    )
    ledger.record_run(settings.ledger_dir, run)
    return counts
