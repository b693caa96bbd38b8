"""The backfill flow: reprocess a range of periods for some or all reporters, from the Prefect UI.

Prefect has no backfill of its own that understands reporting periods; this flow is one. Its parameters render
as a form in the UI: each field has a Vietnamese/English title, the periods a pattern (the form refuses
``01/2020`` before any run exists), the reporters a multi-select of the register's codes and kinds, the mode a
dropdown, the booleans toggles. Titles and patterns go through ``json_schema_extra`` because Prefect drops a
``Field``'s own ``title`` and ``pattern`` from the form. The flow checks the parameters again (a run created
through the API bypasses the form) and ends Failed with one bilingual message, without a traceback or a
failure notice; a dry run changes nothing and publishes a preview of exactly what would be reprocessed; a real
run reparses the selection, rebuilds and publishes like the nightly run (waiting for a running nightly rather
than failing), with a progress bar and a summary artifact.

``python -m flows.backfill FROM TO [options]`` is ``ictstat backfill``: the arguments are checked before
Prefect is imported, so a typo is refused at once.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # the command line, before Prefect and the flows are imported
    from ictstat.cli import backfill_main

    sys.exit(backfill_main())

from collections import Counter
from typing import TYPE_CHECKING, Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from pydantic import Field

from flows.nightly import logical_date
from flows.notify import notify_failure
from flows.pipeline import run_pipeline
from flows.reports import ending, state_message
from ictstat.messages import bilingual
from ictstat.periods import PERIOD_PATTERN
from ictstat.settings import Settings, load_settings
from tasks import backfill as selection

PREVIEW_ROWS = 500

if TYPE_CHECKING:
    ReporterChoice = str
else:  # the register's codes and kinds, as the form's multi-select (Literal renders as a pick list)
    ReporterChoice = Literal.__getitem__(tuple(selection.reporter_choices()))


@task(name="select files", cache_policy=NONE)
def select_files(request: selection.Request, settings: Settings) -> selection.Selection:
    """Which archived files the backfill reparses, and which inbox files are new."""
    return selection.select(request, settings.ledger_dir, settings.inbox, settings.warehouse_path)


@task(name="preview", cache_policy=NONE)
def preview(request: selection.Request, chosen: selection.Selection, dry_run: bool) -> None:
    """The selection as a table artifact: what a dry run would do, or what this run does."""
    n, new = len(chosen.reparse), len(chosen.new_in_inbox)
    reporters = ", ".join(request.reporters)
    description = bilingual(
        f"Chạy lại {request.period_from}..{request.period_to}, chế độ {request.mode}, đơn vị "
        f"{reporters or 'tất cả'}: {n} tệp {'sẽ được xử lý lại (chạy thử: không thay đổi gì)' if dry_run else 'xử lý lại'}; "
        f"{new} tệp mới trong hộp thư",
        f"Backfill {request.period_from}..{request.period_to}, mode {request.mode}, reporters "
        f"{reporters or 'all'}: {n} file(s) {'would be reprocessed (dry run: nothing was changed)' if dry_run else 'reprocessed'}; "
        f"{new} new file(s) in the inbox",
    )
    rows = selection.preview_rows(chosen, PREVIEW_ROWS) or [{"tệp / file": "(không có / nothing)"}]
    create_table_artifact(key="ictstat-backfill-preview", table=rows, description=description)


@flow(name="backfill", on_failure=[notify_failure], on_crashed=[notify_failure])
def backfill(
    period_from: str = Field(
        ...,
        description="The first period: 2020, 2020-H1, 2020-Q3 or 2020-07.",
        json_schema_extra={"title": "Từ kỳ / From period", "pattern": PERIOD_PATTERN},
    ),
    period_to: str = Field(
        ...,
        description="The last period (inclusive), same notation: 2020, 2020-H1, 2020-Q3 or 2020-07.",
        json_schema_extra={"title": "Đến kỳ / To period", "pattern": PERIOD_PATTERN},
    ),
    reporters: list[ReporterChoice] = Field(
        default=[],
        description="Codes (VNPT, VHTT_688...) or kinds (telecom_carrier, postal_carrier, district, department); "
        "empty means every reporter.",
        json_schema_extra={"title": "Đơn vị báo cáo / Reporters"},
    ),
    mode: Literal["missing", "failed", "all"] = Field(
        default="missing",
        description="missing: periods without an accepted report; failed: rejected files; all: every file of "
        "the range.",
        json_schema_extra={"title": "Chế độ / Mode"},
    ),
    reparse: bool = Field(
        default=False,
        description="Ignore cached parses of the selected files (e.g. after a parser or dependency fix).",
        json_schema_extra={"title": "Đọc lại tệp / Reparse"},
    ),
    dry_run: bool = Field(
        default=False,
        description="Change nothing; publish a preview of what would be done.",
        json_schema_extra={"title": "Chạy thử / Dry run"},
    ),
) -> dict[str, Any]:
    """Reprocess reporting periods: choose the files, reparse them, rebuild and publish the warehouse."""
    try:
        request = selection.parse_request(period_from, period_to, reporters, mode)
    except selection.BackfillError as exc:  # a typo, not a failure: one message, no traceback, no notice
        return ending(str(exc), exc, failed=True)  # type: ignore[arg-type]
    logger = get_run_logger()
    settings = load_settings()
    run_date = logical_date(None)
    chosen = select_files(request, settings)
    preview(request, chosen, dry_run)
    n, new = len(chosen.reparse), len(chosen.new_in_inbox)
    logger.info(bilingual(f"chọn {n} tệp, {new} tệp mới trong hộp thư",
                          f"{n} file(s) selected, {new} new in the inbox"))  # fmt: skip
    if dry_run:
        message = bilingual(f"Chạy thử — {n} tệp sẽ được xử lý lại, {new} tệp mới; không thay đổi gì",
                            f"Dry run — {n} file(s) would be reprocessed, {new} new; nothing changed")  # fmt: skip
        return ending(message, {"dry_run": True, "selected": n, "new_in_inbox": new})
    summary = run_pipeline(
        settings,
        run_date,
        "backfill",
        reparse=chosen.reparse_shas if reparse else (),
        note=f"backfill {request.period_from}..{request.period_to} {request.mode}",
        progress_key="backfill-progress",
    )
    after = selection.select(request, settings.ledger_dir, settings.inbox, settings.warehouse_path)
    became = selection.outcome(chosen, settings.warehouse_path)
    summarize(request, chosen, after, became, summary.run_id)
    result = {
        "dry_run": False,
        "selected": n,
        "still_selected": len(after.reparse),
        "now_accepted": became["accepted"] + became["accepted_with_warnings"],
        "now_rejected": became["rejected"],
        "run_id": summary.run_id,
        "accepted": summary.accepted + summary.accepted_with_warnings,
        "rejected": summary.rejected,
    }
    return ending(state_message(summary), result)


def summary_lines(
    request: selection.Request, before: selection.Selection, after: selection.Selection, became: Counter[str]
) -> list[str]:
    """What the backfill did to its selection, counted from the selected files' statuses after the run. In
    modes ``missing`` and ``failed`` the selection after the run is what is left to do; in mode ``all`` it is
    the whole range again, so it is not shown."""
    accepted = became["accepted"] + became["accepted_with_warnings"]
    lines = [
        f"- đơn vị / reporters: {', '.join(request.reporters) or 'tất cả / all'}",
        f"- tệp được chọn / files selected: {len(before.reparse)}",
        f"- nay được chấp nhận / now accepted: {accepted}",
        f"- vẫn bị từ chối / still rejected: {became['rejected']}",
        f"- trùng lặp hoặc bị thay bằng bản mới hơn / duplicate or superseded: "
        f"{became['duplicate'] + became['superseded']}",
        f"- tệp mới lấy từ hộp thư / new files taken in from the inbox: {len(before.new_in_inbox)}",
    ]
    if request.mode != "all":
        lines.insert(
            5,
            f"- vẫn còn phải xử lý (chế độ {request.mode}) / still to do (mode {request.mode}): "
            f"{len(after.reparse)}",
        )
    return lines


def summarize(
    request: selection.Request,
    before: selection.Selection,
    after: selection.Selection,
    became: Counter[str],
    run_id: str,
) -> None:
    title = f"# Chạy lại / backfill {request.period_from}..{request.period_to} ({request.mode}) — {run_id}"
    details = "Chi tiết / details: `audit.submissions`, `audit.validation_issues`, `mart.submission_status`."
    create_markdown_artifact(
        key="ictstat-backfill-summary",
        markdown="\n".join([title, "", *summary_lines(request, before, after, became), "", details]),
        description=bilingual("Những gì lần chạy lại đã thay đổi", "What the backfill changed"),
    )
