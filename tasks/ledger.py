"""The run and publication history kept beside the archive (``archive/ledger/``), append-only JSON lines.

``runs.jsonl`` has one line per finished run; ``publications.jsonl`` one line per province figure that changed
at a publication (a figure that disappeared has a null value). Together with ``intake.jsonl`` they let every
build recreate ``audit.runs``, the figures as published on any date and the restatements. A line torn by a crash
is skipped.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

RUNS_LOG = "runs.jsonl"
ARCHIVE_CHECKS_LOG = "archive_checks.jsonl"
PUBLICATIONS_LOG = "publications.jsonl"
PUBLICATION_COLUMNS = ["run_id", "published_at", "indicator_code", "period", "province_code", "value"]


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def _append_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    from tasks.intake import ends_torn

    path.parent.mkdir(parents=True, exist_ok=True)
    torn = ends_torn(path)
    with path.open("a", encoding="utf-8") as fh:
        if torn:
            fh.write("\n")  # a line torn by a crash must not swallow the next one
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def previous_runs(ledger_dir: Path) -> list[dict[str, Any]]:
    return _read_lines(ledger_dir / RUNS_LOG)


def record_run(ledger_dir: Path, run: dict[str, Any]) -> None:
    _append_lines(ledger_dir / RUNS_LOG, [run])


def publication_log(ledger_dir: Path) -> pd.DataFrame:
    return pd.DataFrame(_read_lines(ledger_dir / PUBLICATIONS_LOG), columns=PUBLICATION_COLUMNS)


def record_publication(ledger_dir: Path, warehouse: Path, run_id: str) -> int:
    """Append the figures this run changed (computed by the build in audit.publication_log); returns how many."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = (
            con.execute(
                "SELECT run_id, CAST(published_at AS VARCHAR) AS published_at, indicator_code, period, "
                "province_code, value FROM audit.publication_log WHERE run_id = ?",
                [run_id],
            )
            .df()
            .to_dict("records")
        )
    finally:
        con.close()
    for r in rows:
        if r["value"] != r["value"]:  # NaN: the figure is gone
            r["value"] = None
    _append_lines(ledger_dir / PUBLICATIONS_LOG, rows)
    return len(rows)


def record_archive_check(ledger_dir: Path, checked_at: str, corrupt: list[dict[str, Any]]) -> None:
    """One line per ``ictstat verify-archive``: when, and which archived copies no longer match their sha256."""
    _append_lines(ledger_dir / ARCHIVE_CHECKS_LOG, [{"checked_at": checked_at, "corrupt": corrupt}])


def corrupt_archive_copies(ledger_dir: Path) -> list[str]:
    """Every sha256 a check has found corrupt (a later run must parse those files again, and reject them)."""
    return sorted(
        {c["sha256"] for line in _read_lines(ledger_dir / ARCHIVE_CHECKS_LOG) for c in line["corrupt"]}
    )


class EarlierThanPublished(ValueError):
    """A run whose logical date is earlier than the last publication's: it would rewrite the present
    (files of later periods refused, figures gone, phantom restatements in the ledger)."""


def last_logical_date(ledger_dir: Path) -> date | None:
    """The logical date of the last publication (``as_of`` of its run line; older lines say it in ``note``)."""
    for run in reversed(previous_runs(ledger_dir)):
        if run.get("status") != "published":
            continue
        text = run.get("as_of") or ""
        if not text:
            found = re.search(r"as of (\d{4}-\d{2}-\d{2})", run.get("note") or "")
            text = found.group(1) if found else ""
        return date.fromisoformat(text) if text else None
    return None


def refuse_earlier_logical_date(ledger_dir: Path, run_date: date) -> None:
    """Raise :class:`EarlierThanPublished` when ``run_date`` is earlier than the last publication's."""
    last = last_logical_date(ledger_dir)
    if last is None or run_date >= last:
        return
    query = f"SELECT * FROM mart.province_indicators_as_of(TIMESTAMPTZ '{run_date.isoformat()} 23:59:59+07')"
    raise EarlierThanPublished(
        f"Ngày dữ liệu {run_date.isoformat()} sớm hơn ngày dữ liệu của lần công bố gần nhất "
        f"({last.isoformat()}); kho dữ liệu đã công bố không bị ghi đè. Số liệu đã công bố tại một ngày: "
        f"{query} / The logical date {run_date.isoformat()} is earlier than the last publication's "
        f"({last.isoformat()}); the published warehouse is not rewritten. Figures as published on a date: {query}"
    )
