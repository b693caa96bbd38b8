"""Demo data: a realistic, deterministic inbox whose 2020 province totals reproduce the 2020 report.

One module per kind of reporter (telecom and postal carriers, district offices, the department); each exposes ``write(inbox, rng) -> list[Path]``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from ictstat.demo import department, district, postal, telecom

DEFAULT_SEED = 2020
WRITERS = (telecom, postal, district, department)


def write_demo_inbox(
    inbox: Path, seed: int = DEFAULT_SEED, on_written: Callable[[str, int], None] | None = None
) -> list[Path]:
    """Write every demo file under ``inbox`` (same seed, same bytes); return the paths written.
    ``on_written`` hears of each kind of reporter done (its module's name and how many files), for a progress
    bar."""
    written: list[Path] = []
    for module in WRITERS:
        files = module.write(inbox, random.Random(f"{seed}:{module.__name__}"))
        written.extend(files)
        if on_written is not None:
            on_written(module.__name__.rsplit(".", 1)[-1], len(files))
    return written
