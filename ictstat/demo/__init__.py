"""Demo data: a realistic, deterministic inbox whose 2020 province totals reproduce the 2020 report.

One module per kind of reporter (telecom and postal carriers, district offices, the department); each exposes ``write(inbox, rng) -> list[Path]``.
"""

from __future__ import annotations

import random
from pathlib import Path

from ictstat.demo import department, district, postal, telecom

DEFAULT_SEED = 2020
WRITERS = (telecom, postal, district, department)


def write_demo_inbox(inbox: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write every demo file under ``inbox`` (same seed, same bytes); return the paths written."""
    written: list[Path] = []
    for module in WRITERS:
        written.extend(module.write(inbox, random.Random(f"{seed}:{module.__name__}")))
    return written
