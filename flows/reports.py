"""What a run tells people: its summary, its issues, and who has not reported, as Prefect artifacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tasks.submissions import ParsedBatch


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


def summary_markdown(summary: RunSummary, batch: ParsedBatch) -> str:
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
            lines.append(
                f"| {r.submission_id} | {_md(r.relative_path)} | {_md(r.reason_vi)} / {_md(r.reason_en)} |"
            )
    if not batch.issues.empty:
        top = batch.issues.groupby(["rule", "severity"]).size().sort_values(ascending=False).head(10)
        lines += ["", "## Top issues", "", "| rule | severity | count |", "|---|---|---:|"]
        lines += [f"| {rule} | {sev} | {n} |" for (rule, sev), n in top.items()]
    return "\n".join(lines)


def incomplete_periods(warehouse: Path) -> list[tuple[str, str, int, str]]:
    """Periods whose province figures are not complete: period, verdict, how many figures, what is missing."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT period, completeness, count(*), "
            "string_agg(DISTINCT coalesce(completeness_note_vi, '') || ' / ' || coalesce(completeness_note_en, ''), "
            "' | ') FROM mart.province_indicators WHERE completeness = 'incomplete' GROUP BY period, completeness "
            "ORDER BY period"
        ).fetchall()
    finally:
        con.close()
    return [(str(p), str(c), int(n), str(notes)) for p, c, n, notes in rows]


def completeness_markdown(warehouse: Path) -> list[str]:
    """The run report's section on figures published short of a report (mart.province_indicators.completeness)."""
    rows = incomplete_periods(warehouse)
    if not rows:
        return [
            "",
            "Mọi số liệu của các kỳ đã kết thúc đều đủ báo cáo. / Every figure of a closed period is complete.",
        ]
    lines = ["", "## (*) Số liệu thiếu báo cáo / Figures published short of a report", "",
             "| kỳ / period | số liệu / figures | thiếu / missing |", "|---|---:|---|"]  # fmt: skip
    lines += [f"| {period} | {n} | {_md(notes)} |" for period, _, n, notes in rows[:50]]
    lines.append("Chỉ lấy số liệu đầy đủ / complete figures only: `WHERE completeness = 'complete'`")
    return lines


def _md(text: object) -> str:
    """Clerk-supplied text inside a Markdown table: no pipes, no line breaks, no markup."""
    return str(text or "").replace("|", "/").replace("\n", " ").replace("`", "'")[:300]


def publish_run_artifacts(summary: RunSummary, batch: ParsedBatch) -> None:
    markdown = "\n".join([summary_markdown(summary, batch), *completeness_markdown(Path(summary.warehouse))])
    create_markdown_artifact(key="ictstat-run-report", markdown=markdown,
                             description="Files received, accepted, rejected; top issues")  # fmt: skip
    issues = batch.issues
    if not issues.empty:
        rows = [
            {
                "submission": r.submission_id,
                "sheet": r.sheet,
                "cell": r.cell,
                "rule": r.rule,
                "severity": r.severity,
                "message": r.message_vi,
            }
            for r in issues.head(200).itertuples()
        ]
        create_table_artifact(
            key="ictstat-issues",
            table=rows,
            description=f"First {len(rows)} of {len(issues)} issues; all in audit.validation_issues and "
            f"the feedback workbooks in {summary.feedback_dir}",
        )


def publish_unchanged_artifacts(
    summary: RunSummary, last: dict[str, Any], warehouse: Path, as_of: date
) -> None:
    """The report of a run that found nothing to change, and who has not reported (read from the warehouse)."""
    markdown = "\n".join(
        [
            f"# ictstat run {summary.run_id} ({summary.kind}): nothing to change",
            "",
            f"No new file in the inbox since run {last['run_id']} (finished {last['finished_at']}), and nothing "
            "else a build reads has changed (code, reference data, settings, which periods are over and which "
            f"deadlines have passed on {as_of}). The published warehouse `{warehouse}` is left as it is.",
            "",
            "| | files |",
            "|---|---:|",
            f"| received in all | {summary.files_total} |",
            f"| accepted (current) | {summary.accepted + summary.accepted_with_warnings} |",
            f"| superseded by a newer file | {summary.superseded} |",
            f"| rejected | {summary.rejected} |",
            f"| duplicates | {summary.duplicates} |",
        ]
    )
    create_markdown_artifact(key="ictstat-run-report", markdown=markdown,
                             description="Nothing new: the published warehouse is unchanged")  # fmt: skip
    publish_tracking_artifact(warehouse, as_of)


def missing_and_late(warehouse: Path, as_of: date, limit: int = 200) -> tuple[list[dict[str, object]], str]:
    """Reporters who have not reported (or reported late) for the periods whose deadline passed most recently."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "WITH recent AS (SELECT form_code, max(deadline) AS deadline FROM mart.submission_status "
            "WHERE deadline < ? GROUP BY form_code) "
            "SELECT s.form_code, s.period, s.reporter_code, s.status, CAST(s.deadline AS VARCHAR), s.days_late "
            "FROM mart.submission_status s JOIN recent r USING (form_code, deadline) "
            "WHERE s.status IN ('missing', 'late', 'rejected') ORDER BY s.form_code, s.reporter_code LIMIT ?",
            [as_of, limit],
        ).fetchall()
        totals = con.execute(
            "SELECT status, count(*) FROM mart.submission_status GROUP BY status ORDER BY status"
        ).fetchall()
    finally:
        con.close()
    table = [
        {"form": f, "period": p, "reporter": r, "status": s, "deadline": d, "days_late": n}
        for f, p, r, s, d, n in rows
    ]
    text = ", ".join(f"{status}: {n}" for status, n in totals)
    return table, text


def publish_tracking_artifact(warehouse: Path, as_of: date) -> None:
    table, totals = missing_and_late(warehouse, as_of)
    description = (
        f"Missing, late or rejected reports for the latest deadline of each form (as of {as_of}). "
        f"All periods ({totals}): mart.submission_status"
    )
    if table:
        create_table_artifact(key="ictstat-missing-reports", table=table, description=description)
    else:
        create_markdown_artifact(key="ictstat-missing-reports", markdown=f"Every report is in. {description}")
