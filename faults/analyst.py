"""``python -m faults.analyst WAREHOUSE STOPFILE OUT.json --mode hold|reconnect``: an analyst querying in a loop.

What an analyst does while the nightly runs: ``hold`` keeps one read-only connection open the whole time (the
file it holds is replaced under it by each publication: it must keep its snapshot), ``reconnect`` opens a new
read-only connection for every query (it must always find a whole warehouse, old or new). Each mode runs in its
own process because DuckDB shares one database instance per path within a process. Every error is recorded
with its message; the loop ends when STOPFILE appears, and the counts go to OUT.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb

QUERY = (
    "SELECT (SELECT count(*) FROM mart.province_indicators), (SELECT count(*) FROM audit.runs), "
    "(SELECT count(*) FROM audit.submissions), (SELECT sum(value) FROM mart.province_indicators)"
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m faults.analyst")
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("stop", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--mode", choices=("hold", "reconnect"), default="reconnect")
    args = parser.parse_args(argv)
    queries, errors, snapshots = 0, [], set()
    held = duckdb.connect(str(args.warehouse), read_only=True) if args.mode == "hold" else None
    while not args.stop.exists():
        try:
            if held is not None:
                row = held.execute(QUERY).fetchone()
            else:
                with duckdb.connect(str(args.warehouse), read_only=True) as con:
                    row = con.execute(QUERY).fetchone()
            queries += 1
            snapshots.add(repr(row[1:3]) if row else "")
        except Exception as exc:  # every failure an analyst would see is what this process reports
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
        time.sleep(0.01)
    if held is not None:
        held.close()
    args.out.write_text(
        json.dumps({"mode": args.mode, "queries": queries, "errors": errors, "snapshots": len(snapshots)}),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
