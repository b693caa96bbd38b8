"""Demo data: a realistic, deterministic inbox whose 2020 province totals reproduce the 2020 report.

One module per kind of reporter (telecom and postal carriers, district offices, the department); each exposes ``write(inbox, rng) -> list[Path]``.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

from ictstat.demo import department, district, postal, telecom
from tasks import receipts

DEFAULT_SEED = 2020
WRITERS = (telecom, postal, district, department)


# The demo's own logical date: every 2020 report is due by then, so its statuses are the same on any day.
DEMO_LOGICAL_DATE = date(2021, 3, 31)


def write_demo_inbox(inbox: Path, seed: int = DEFAULT_SEED, receipts_path: Path | None = None) -> list[Path]:
    """Write every demo file under ``inbox`` (same seed, same bytes); return the paths written. With
    ``receipts_path``, also the receipt register of the days the files were sent (tasks/receipts.py)."""
    written: list[Path] = []
    for module in WRITERS:
        written.extend(module.write(inbox, random.Random(f"{seed}:{module.__name__}")))
    if receipts_path is not None:
        receipts.write(receipts_path, inbox, sent_days(written))
    return written


def sent_days(files: list[Path]) -> dict[Path, date]:
    """The day each demo file was sent: its writer dates it (the stamp the clerk's save would carry)."""
    return {f: datetime.fromtimestamp(f.stat().st_mtime).date() for f in files}
