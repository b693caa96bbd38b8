"""The backfill flow: reprocess a range of periods for some or all reporters, from the Prefect UI.

Prefect has no backfill of its own that understands reporting periods; this flow is one. Its parameters render
as a form in the UI (a description under each name, beginning with its Vietnamese and English title, since
the UI shows the raw name rather than a title; a dropdown for the mode, toggles for the booleans). It validates them first and fails
fast with a readable reason; a dry run changes nothing and publishes a preview of exactly what would be
reprocessed; a real run reparses the selection, rebuilds and publishes like the nightly run (waiting for a
running nightly rather than failing), with a progress bar and a summary artifact.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from pydantic import Field

from flows.nightly import logical_date
from flows.notify import notify_failure
from flows.pipeline import run_pipeline
from ictstat.settings import Settings, load_settings
from tasks import backfill as selection

PREVIEW_ROWS = 500


@task(name="select files", cache_policy=NONE)
def select_files(request: selection.Request, settings: Settings) -> selection.Selection:
    """Which archived files the backfill reparses, and which inbox files are new."""
    return selection.select(request, settings.ledger_dir, settings.inbox, settings.warehouse_path)


@task(name="preview", cache_policy=NONE)
def preview(request: selection.Request, chosen: selection.Selection, dry_run: bool) -> None:
    """The selection as a table artifact: what a dry run would do, or what this run does."""
    what = "would be reprocessed (dry run: nothing was changed)" if dry_run else "reprocessed"
    rows = chosen.reparse[:PREVIEW_ROWS] + [
        {
            "submission_id": "(new)",
            "file": f,
            "sha256": "",
            "reporter": "",
            "period": "",
            "status_now": "new in inbox",
        }
        for f in chosen.new_in_inbox[: max(0, PREVIEW_ROWS - len(chosen.reparse))]
    ]
    description = (
        f"Backfill {request.period_from}..{request.period_to}, mode {request.mode}, "
        f"reporters {', '.join(request.reporters) or 'all'}: {len(chosen.reparse)} file(s) {what}; "
        f"{len(chosen.new_in_inbox)} new file(s) in the inbox"
    )
    create_table_artifact(key="ictstat-backfill-preview", table=rows or [{"file": "(nothing)"}],
                          description=description)  # fmt: skip


@flow(name="backfill", on_failure=[notify_failure], on_crashed=[notify_failure])
def backfill(
    period_from: str = Field(
        ..., description="Từ kỳ / From period. The first period: 2020, 2020-H1, 2020-Q3 or 2020-07."
    ),
    period_to: str = Field(
        ..., description="Đến kỳ / To period. The last period (inclusive), same notation."
    ),
    reporters: list[str] = Field(
        default=[],
        description="Đơn vị báo cáo / Reporters. Codes (VNPT, VHTT_688...) or kinds (telecom_carrier, "
        "postal_carrier, district, department); empty means every reporter.",
    ),
    mode: Literal["missing", "failed", "all"] = Field(
        default="missing",
        description="Chế độ / Mode. missing: periods without an accepted report; failed: rejected files; "
        "all: every file of the range.",
    ),
    reparse: bool = Field(
        default=False,
        description="Đọc lại tệp / Reparse. Ignore cached parses of the selected files (e.g. after a parser or "
        "dependency fix).",
    ),
    dry_run: bool = Field(
        default=False,
        description="Chạy thử / Dry run. Change nothing; publish a preview of what would be done.",
    ),
) -> dict[str, Any]:
    """Reprocess reporting periods: choose the files, reparse them, rebuild and publish the warehouse."""
    logger = get_run_logger()
    request = selection.parse_request(period_from, period_to, reporters, mode)
    settings = load_settings()
    run_date = logical_date(None)
    chosen = select_files(request, settings)
    preview(request, chosen, dry_run)
    logger.info("%d file(s) selected, %d new in the inbox", len(chosen.reparse), len(chosen.new_in_inbox))
    if dry_run:
        return {"dry_run": True, "selected": len(chosen.reparse), "new_in_inbox": len(chosen.new_in_inbox)}
    summary = run_pipeline(
        settings,
        run_date,
        "backfill",
        reparse=chosen.reparse_shas if reparse else (),
        note=f"backfill {request.period_from}..{request.period_to} {request.mode}",
        progress_key="backfill-progress",
    )
    after = selection.select(request, settings.ledger_dir, settings.inbox, settings.warehouse_path)
    summarize(request, chosen, after, summary.run_id)
    return {
        "dry_run": False,
        "selected": len(chosen.reparse),
        "still_selected": len(after.reparse),
        "run_id": summary.run_id,
        "accepted": summary.accepted + summary.accepted_with_warnings,
        "rejected": summary.rejected,
    }


def summarize(
    request: selection.Request, before: selection.Selection, after: selection.Selection, run_id: str
) -> None:
    fixed = before.reparse_shas - after.reparse_shas
    create_markdown_artifact(
        key="ictstat-backfill-summary",
        markdown="\n".join(
            [
                f"# Backfill {request.period_from}..{request.period_to} ({request.mode}) — run {run_id}",
                "",
                f"- reporters: {', '.join(request.reporters) or 'all'}",
                f"- files selected: {len(before.reparse)}",
                f"- no longer selected after this run (now accepted or filled): {len(fixed)}",
                f"- still selected (still rejected or missing): {len(after.reparse)}",
                f"- new files taken in from the inbox: {len(before.new_in_inbox)}",
                "",
                "Details: `audit.submissions`, `audit.validation_issues`, `mart.submission_status`.",
            ]
        ),
        description="What the backfill changed",
    )


if __name__ == "__main__":
    import sys

    backfill(period_from=sys.argv[1], period_to=sys.argv[2], dry_run="--dry-run" in sys.argv)
