"""What a command costs beyond its work: ``ictstat run`` with nothing new, against the flow it used to start.

    python -m bench.first_command [--home DIR] [--repeat 5]

On a published home (the demo home after ``make demo`` by default; one ``ictstat run`` first brings it up to
date), each in a process of its own, as a user runs them:

1. the work itself: the "nothing new" decision in-process (ledger, inbox listing, inputs key), the floor;
2. ``ictstat run``: what a user types (the decision before Prefect is imported);
3. the baseline, the nightly flow called directly: Prefect imported, a temporary server started, the same
   decision taken inside the flow (what ``ictstat run`` cost before it decided first).

Prints the median wall time of each, and the overhead of 2 and 3 over 1. The goal (issue 16): 2 within 3 s of 1.
Figures on a shared machine vary; compare the ratio within one run of this script, not across machines.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = (
    "from datetime import datetime; from ictstat.periods import LOCAL_TZ; from ictstat.settings import load_settings;"
    "from tasks.unchanged import quick_unchanged;"
    "assert quick_unchanged(load_settings(), datetime.now(LOCAL_TZ).date()) is not None, 'not a nothing-new home'"
)
COMMANDS = {
    "the work (decision in-process)": [sys.executable, "-c", WORK],
    "ictstat run": [sys.executable, "-c", "from ictstat.cli import app; app()", "run"],
    "baseline: the flow with a temporary server": [
        sys.executable, "-c", "from flows.nightly import nightly; nightly(kind='manual')",
    ],
}  # fmt: skip


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[-1]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return took


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=ROOT / "data", help="a published home (default: ./data)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_PROFILE")}
    env["ICTSTAT_HOME"] = str(args.home.resolve())
    timed(COMMANDS["ictstat run"], env)  # publishes first if the code or the inbox changed since the last run
    medians: dict[str, float] = {}
    for name, command in COMMANDS.items():
        times = [timed(command, env) for _ in range(args.repeat)]
        medians[name] = statistics.median(times)
        print(f"{name:<45} median {medians[name]:6.2f} s  (min {min(times):.2f}, max {max(times):.2f})")
    floor = medians["the work (decision in-process)"]
    for name in list(COMMANDS)[1:]:
        print(f"overhead of {name:<45} {medians[name] - floor:6.2f} s beyond the work")
    base, now = medians["baseline: the flow with a temporary server"], medians["ictstat run"]
    print(f"ictstat run against the baseline: {base / now:.1f}x faster")


if __name__ == "__main__":
    main()
