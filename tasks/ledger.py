"""The run and publication history kept beside the archive (``archive/ledger/``), append-only JSON lines.

``runs.jsonl`` has one line per finished run; ``publications.jsonl`` one line per province figure that changed
at a publication (a figure that disappeared has a null value). Together with ``intake.jsonl`` they let every
build recreate ``audit.runs``, the figures as published on any date and the restatements. A line torn by a crash
is skipped.

``archive_checks.jsonl`` holds what ``ictstat verify-archive`` found and what an operator cleared once checked;
``quarantine.jsonl`` every decision to withdraw a file from the build (by an operator, or automatically when
its parse crashed) and every release. Nothing here ever deletes an archived copy.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: ``ictstat run`` reads this ledger without loading pandas or DuckDB
    import pandas as pd

RUNS_LOG = "runs.jsonl"
ARCHIVE_CHECKS_LOG = "archive_checks.jsonl"
PUBLICATIONS_LOG = "publications.jsonl"
QUARANTINE_LOG = "quarantine.jsonl"
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


def run_record(flow_run_id: str, kind: str) -> dict[str, Any]:
    """A run's line in ``runs.jsonl`` (and ``audit.runs``) as it starts; the run fills in the rest."""
    from ictstat import __version__

    now = datetime.now(UTC)
    return {
        "run_id": f"R{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
        "flow_run_id": flow_run_id,
        "kind": kind,
        "started_at": now.isoformat(timespec="seconds"),
        "finished_at": None,
        "status": "running",
        "files_new": None,
        "files_total": None,
        "accepted": None,
        "rejected": None,
        "duplicates": None,
        "ictstat_version": __version__,
        "note": None,
    }


def record_run(ledger_dir: Path, run: dict[str, Any]) -> None:
    _append_lines(ledger_dir / RUNS_LOG, [run])


def publication_log(ledger_dir: Path) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(_read_lines(ledger_dir / PUBLICATIONS_LOG), columns=PUBLICATION_COLUMNS)


def record_publication(ledger_dir: Path, warehouse: Path, run_id: str) -> int:
    """Append the figures this run changed (computed by the build in audit.publication_log); returns how many."""
    rows = changed_figures(warehouse, run_id)
    append_publication(ledger_dir, rows)
    return len(rows)


def changed_figures(warehouse: Path, run_id: str) -> list[dict[str, Any]]:
    """The figures a build changed (audit.publication_log): read from the build before it is published."""
    import duckdb

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
    return rows


def append_publication(ledger_dir: Path, rows: list[dict[str, Any]]) -> None:
    """After the rename: the changed figures go into the publication log."""
    _append_lines(ledger_dir / PUBLICATIONS_LOG, rows)


def record_archive_check(
    ledger_dir: Path,
    checked_at: str,
    corrupt: list[dict[str, Any]],
    cleared: list[dict[str, Any]] | None = None,
) -> None:
    """One line per ``ictstat verify-archive``: when, which archived copies no longer match their sha256, and
    (with ``--clear``) which findings an operator checked and cleared, with the hash their copy had then."""
    line: dict[str, Any] = {"checked_at": checked_at, "corrupt": corrupt}
    if cleared:
        line["cleared"] = cleared
    _append_lines(ledger_dir / ARCHIVE_CHECKS_LOG, [line])


def _archive_findings(ledger_dir: Path) -> tuple[set[str], dict[str, str]]:
    """(sha256s found corrupt and not cleared since, sha256 -> the copy's hash when it was cleared)."""
    corrupt: set[str] = set()
    cleared: dict[str, str] = {}
    for line in _read_lines(ledger_dir / ARCHIVE_CHECKS_LOG):
        for c in line.get("corrupt", ()):
            corrupt.add(c["sha256"])
        for c in line.get("cleared", ()):
            corrupt.discard(c["sha256"])
            cleared[c["sha256"]] = c.get("copy_sha256", "")
    return corrupt, cleared


def corrupt_archive_copies(ledger_dir: Path) -> list[str]:
    """Every sha256 a check has found corrupt and no operator has cleared since (a later run must parse those
    files again, and reject them)."""
    return sorted(_archive_findings(ledger_dir)[0])


def cleared_archive_findings(ledger_dir: Path) -> dict[str, str]:
    """sha256 -> the hash its archived copy had when an operator cleared the finding: a check that finds the
    copy unchanged since does not report it again."""
    return _archive_findings(ledger_dir)[1]


def record_quarantine(ledger_dir: Path, decision: dict[str, Any]) -> None:
    """Append one decision: ``action`` (quarantine or release), ``sha256``, ``submission_id``, ``by``, ``at``,
    ``reason`` and, for an automatic quarantine, the parser ``fingerprint`` it holds for."""
    _append_lines(ledger_dir / QUARANTINE_LOG, [decision])


def quarantine_decisions(ledger_dir: Path) -> list[dict[str, Any]]:
    return _read_lines(ledger_dir / QUARANTINE_LOG)


def quarantined(ledger_dir: Path, fingerprint: str) -> dict[str, dict[str, Any]]:
    """sha256 -> the decision that keeps it out of this build: an operator's quarantine not released since, or
    an automatic one made by the same parser code (a new parser version tries the file again)."""
    held: dict[str, dict[str, Any]] = {}
    for d in quarantine_decisions(ledger_dir):
        sha = d.get("sha256", "")
        if d.get("action") == "release":
            held.pop(sha, None)
        elif d.get("action") == "quarantine" and d.get("fingerprint") in (None, "", fingerprint):
            held[sha] = d
    return held


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
