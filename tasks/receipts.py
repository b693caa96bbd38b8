"""The operator's receipt register: the day a file reached the department, when it is known better than intake.

A submission's receipt time is when intake first saw the file (``intake.jsonl``), never the file's modification
time (a file copied, re-saved or downloaded today says nothing of when it was sent). An operator who takes in an
old mailbox, or the demo, records the day each file was received in ``$ICTSTAT_HOME/receipts.csv``: columns
``relative_path`` (the path inside the inbox) and ``received_on`` (YYYY-MM-DD, Vietnam's calendar day).
``audit.submissions.submitted_at`` takes that day where it is recorded, else the first sighting.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pandas as pd

RECEIPTS = "receipts.csv"
COLUMNS = ["relative_path", "received_on"]


def empty() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS, dtype=str)


def read(path: Path) -> pd.DataFrame:
    """The register as a frame (empty when there is none); a line with a bad date is refused with its number."""
    if not path.exists():
        return empty()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path.name}: thiếu cột {', '.join(missing)} / {path.name}: missing column(s) {', '.join(missing)}"
        )
    for line, text in enumerate(frame["received_on"], start=2):
        try:
            date.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{path.name} dòng {line}: ngày nhận '{text}' không hợp lệ (YYYY-MM-DD) / "
                f"{path.name} line {line}: received_on '{text}' is not a date (YYYY-MM-DD)"
            ) from None
    return frame[COLUMNS]


def write(path: Path, inbox: Path, received: Mapping[Path, date]) -> Path:
    """Write a register for files under ``inbox`` (the demo's own receipt days)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        for file, day in sorted((f.relative_to(inbox).as_posix(), d) for f, d in received.items()):
            out.writerow([file, day.isoformat()])
    return path
