"""Demo data: a realistic, deterministic inbox whose 2020 province totals reproduce the 2020 report.

One module per kind of reporter (telecom and postal carriers, district offices, the department); each exposes ``write(inbox, rng) -> list[Path]``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from ictstat.demo import department, district, postal, telecom
from tasks import receipts

DEFAULT_SEED = 2020
WRITERS = (telecom, postal, district, department)


# The demo's own logical date: every 2020 report is due by then, so its statuses are the same on any day.
DEMO_LOGICAL_DATE = date(2021, 3, 31)


def write_demo_inbox(
    inbox: Path,
    seed: int = DEFAULT_SEED,
    receipts_path: Path | None = None,
    on_written: Callable[[str, int], None] | None = None,
) -> list[Path]:
    """Write every demo file under ``inbox`` (same seed, same bytes); return the paths written. With
    ``receipts_path``, also the receipt register of the days the files were sent (tasks/receipts.py);
    ``on_written`` hears of each kind of reporter done (its module's name and how many files), for a progress
    bar."""
    written: list[Path] = []
    for module in WRITERS:
        files = module.write(inbox, random.Random(f"{seed}:{module.__name__}"))
        written.extend(files)
        if on_written is not None:
            on_written(module.__name__.rsplit(".", 1)[-1], len(files))
    if receipts_path is not None:
        receipts.write(receipts_path, inbox, sent_days(written))
    return written


def sent_days(files: list[Path]) -> dict[Path, date]:
    """The day each demo file was sent: its writer dates it (the stamp the clerk's save would carry)."""
    return {f: datetime.fromtimestamp(f.stat().st_mtime).date() for f in files}


CORRECTION_NAME = "vnpt_12_2020_dinh_chinh.xlsx"
CORRECTED_FILE = "vien_thong/2020/12/vnpt_bc_vien_thong_thang_12_2020.xlsx"


def write_correction(inbox: Path) -> Path:
    """VNPT's corrected December 2020 report, as docs/analysts.md shows it: 500 more mobile subscribers in Thị xã
    Phước Long (688), the total row with them. Received after the demo, it supersedes VNPT's first December
    report and is what the restatement and as-of examples of the docs find."""
    import openpyxl

    workbook = openpyxl.load_workbook(inbox / CORRECTED_FILE)
    sheet = workbook["Thuê bao - BTS"]
    mobile = next(c.column for c in sheet[5] if c.value == "Thuê bao điện thoại di động")
    for row in sheet.iter_rows(min_row=7):
        if row[1].value == "688" or row[2].value == "Tổng cộng":
            cell = row[mobile - 1]
            cell.value = int(str(cell.value)) + 500
    target = inbox / CORRECTION_NAME
    workbook.save(target)
    return target
