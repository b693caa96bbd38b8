"""The pipeline steps as Prefect tasks: thin wrappers around the plain functions of ``tasks``.

Few, batched tasks (a task run costs 5-20 ms and thousands destabilise a server): one per step, each over
all files. ``cache_policy=NONE`` because inputs are frames that are not worth hashing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE

from ictstat import __version__, export, reference
from ictstat.settings import Settings
from tasks import build, feedback, intake, publish, submissions, validate
from tasks.intake import Sighting

RUNS_LOG = "runs.jsonl"


@dataclass
class RunSummary:
    run_id: str
    kind: str
    started_at: str
    finished_at: str
    files_total: int
    files_new: int
    accepted: int
    accepted_with_warnings: int
    rejected: int
    duplicates: int
    superseded: int
    issues: int
    warehouse: str
    feedback_dir: str = ""
    feedback_written: int = 0
    status: str = "published"


@task(name="intake", cache_policy=NONE)
def intake_inbox(settings: Settings) -> tuple[list[Sighting], list[Sighting]]:
    """Archive and record every new file of the inbox."""
    return intake.intake(settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes)


@task(name="read and parse", cache_policy=NONE)
def read_and_parse(
    sightings: Sequence[Sighting], settings: Settings, run_date: date
) -> submissions.ParsedBatch:
    """Read every archived workbook and parse its cover and sheets into typed values and issues."""
    return submissions.parse_sightings(
        sightings,
        settings.archive,
        settings.province_code,
        run_date,
        settings.max_unpacked_bytes,
        settings.max_rows_per_sheet,
    )


@task(name="validate", cache_policy=NONE)
def validate_batch(batch: submissions.ParsedBatch, settings: Settings) -> submissions.ParsedBatch:
    """Pandera schemas over all submissions of each sheet type at once; decide each submission's status."""
    codes = [d.code for d in reference.all_districts() if d.province_code == settings.province_code]
    issues = validate.validate(batch.values, codes)
    issues += validate.plausibility_warnings(batch.values, batch.submissions)
    return submissions.decide_status(batch, issues)


@task(name="feedback workbooks", cache_policy=NONE)
def feedback_workbooks(
    batch: submissions.ParsedBatch, new: Sequence[Sighting], settings: Settings, rewrite_all: bool = False
) -> list[Path]:
    """A marked copy of every newly received file that has issues, for the clerk who sent it."""
    ids = set(batch.submissions["submission_id"]) if rewrite_all else {s.submission_id for s in new}
    subs = batch.submissions[batch.submissions["submission_id"].isin(ids)]
    issues = batch.issues[batch.issues["submission_id"].isin(ids)]
    return feedback.write_feedback(subs, issues, settings.archive, settings.feedback)


@task(name="build warehouse", cache_policy=NONE)
def build_warehouse(
    batch: submissions.ParsedBatch, settings: Settings, run: dict[str, Any], build_path: Path
) -> dict[str, int]:
    """Build a complete new warehouse file next to the published one."""
    runs = pd.DataFrame([*previous_runs(settings), run])
    years = {int(p[:4]) for p in batch.submissions["period"].dropna()} or {date.today().year}
    years |= {min(years) - 1, max(years) + 1}
    inputs = {
        "in_submissions": batch.submissions,
        "in_values": batch.values,
        "in_issues": batch.issues,
        "in_runs": runs,
    }
    return build.build_warehouse(build_path, inputs, years, settings.storage_version)


@task(name="publish", cache_policy=NONE)
def publish_warehouse(build_path: Path, settings: Settings) -> Path:
    """Swap the new warehouse in by atomic rename."""
    return publish.publish(build_path, settings.warehouse_path)


@task(name="appendix workbook", cache_policy=NONE)
def refresh_appendix_workbook(settings: Settings, run_date: date) -> Path | None:
    """Rewrite the appendix workbook of the latest year that is over and has figures (never fails the run)."""
    logger = get_run_logger()
    year = export.latest_complete_year(settings.warehouse_path, run_date)
    if year is None:
        return None
    try:
        return export.export_appendix_workbook(settings.warehouse_path, year, settings.exports)
    except Exception as exc:  # the published warehouse is what matters; the workbook can be redone by hand
        logger.warning("appendix workbook for %s not refreshed: %s", year, exc)
        return None


@task(name="run report", cache_policy=NONE)
def report(summary: RunSummary, batch: submissions.ParsedBatch) -> None:
    """Publish the run's summary and its issues as Prefect artifacts (shown on the flow run page)."""
    create_markdown_artifact(key="ictstat-run-report", markdown=summary_markdown(summary, batch),
                             description="Files received, accepted, rejected; top issues")  # fmt: skip
    issues = batch.issues
    if not issues.empty:
        top = issues.head(200)
        rows = [
            {
                "submission": r.submission_id,
                "sheet": r.sheet,
                "cell": r.cell,
                "rule": r.rule,
                "severity": r.severity,
                "message": r.message_vi,
            }
            for r in top.itertuples()
        ]
        create_table_artifact(
            key="ictstat-issues",
            table=rows,
            description=f"First {len(rows)} of {len(issues)} issues; all in audit.validation_issues",
        )


def summarize(
    run: dict[str, Any],
    batch: submissions.ParsedBatch,
    files_new: int,
    warehouse: Path,
    superseded: int,
    feedback_dir: Path | None = None,
    feedback_written: int = 0,
) -> RunSummary:
    status = batch.submissions["intake_status"].value_counts()
    return RunSummary(
        run_id=run["run_id"],
        kind=run["kind"],
        started_at=run["started_at"],
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        files_total=len(batch.submissions),
        files_new=files_new,
        accepted=int(status.get("accepted", 0)),
        accepted_with_warnings=int(status.get("accepted_with_warnings", 0)),
        rejected=int(status.get("rejected", 0)),
        duplicates=int(status.get("duplicate", 0)),
        superseded=superseded,
        issues=len(batch.issues),
        warehouse=str(warehouse),
        feedback_dir=str(feedback_dir or ""),
        feedback_written=feedback_written,
    )


def summary_markdown(summary: RunSummary, batch: submissions.ParsedBatch) -> str:
    lines = [
        f"# ictstat run {summary.run_id} ({summary.kind})",
        "",
        "| | files |",
        "|---|---:|",
        f"| received in all | {summary.files_total} |",
        f"| new this run | {summary.files_new} |",
        f"| accepted | {summary.accepted} |",
        f"| accepted with warnings | {summary.accepted_with_warnings} |",
        f"| rejected | {summary.rejected} |",
        f"| duplicates | {summary.duplicates} |",
        f"| superseded by a newer file | {summary.superseded} |",
        "",
        f"Warehouse: `{summary.warehouse}`",
        f"Feedback workbooks for clerks: `{summary.feedback_dir}` ({summary.feedback_written} written this run)",
    ]
    rejected = batch.submissions[batch.submissions["intake_status"] == "rejected"]
    if not rejected.empty:
        lines += ["", "## Rejected files", "", "| submission | file | reason |", "|---|---|---|"]
        for r in rejected.head(50).itertuples():
            lines.append(f"| {r.submission_id} | {r.relative_path} | {r.reason_vi} / {r.reason_en} |")
    if not batch.issues.empty:
        top = batch.issues.groupby(["rule", "severity"]).size().sort_values(ascending=False).head(10)
        lines += ["", "## Top issues", "", "| rule | severity | count |", "|---|---|---:|"]
        lines += [f"| {rule} | {sev} | {n} |" for (rule, sev), n in top.items()]
    return "\n".join(lines)


def previous_runs(settings: Settings) -> list[dict[str, Any]]:
    path = settings.ledger_dir / RUNS_LOG
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by a crash
    return out


def record_run(settings: Settings, run: dict[str, Any]) -> None:
    settings.ledger_dir.mkdir(parents=True, exist_ok=True)
    with (settings.ledger_dir / RUNS_LOG).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(run, ensure_ascii=False) + "\n")


def run_record(run_id: str, flow_run_id: str, kind: str, started_at: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "flow_run_id": flow_run_id,
        "kind": kind,
        "started_at": started_at,
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


def summary_dict(summary: RunSummary) -> dict[str, Any]:
    return asdict(summary)


def superseded_count(build_path: Path) -> int:
    return build.submission_status_counts(build_path).get("superseded", 0)
