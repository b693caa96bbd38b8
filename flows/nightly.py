"""The nightly flow: pick up whatever arrived, load it, rebuild the warehouse and publish it.

Run it with ``ictstat run``, ``python -m flows.nightly`` or as the ``nightly/nightly`` deployment. The logical
date (which periods are over) is the scheduled time of the flow run in Asia/Ho_Chi_Minh, not the clock.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows import steps
from ictstat.settings import load_settings
from tasks.publish import clear_stale_builds, writer_lock

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def logical_date(explicit: date | None = None) -> date:
    """The day the run stands for: an explicit date, else the flow run's scheduled time, else today (local)."""
    if explicit is not None:
        return explicit
    scheduled = flow_run.scheduled_start_time
    when = scheduled if isinstance(scheduled, datetime) else datetime.now(UTC)
    return when.astimezone(LOCAL_TZ).date()


@flow(name="nightly", log_prints=False)
def nightly(as_of: date | None = None, kind: str = "nightly") -> steps.RunSummary:
    """Ingest new files from the inbox, rebuild the warehouse from the archive and publish it.

    Args:
        as_of: the logical date of the run (periods ending on or after it are refused as not yet over);
            empty means the scheduled time of this run.
        kind: recorded in audit.runs (nightly, manual, backfill).
    """
    logger = get_run_logger()
    settings = load_settings()
    settings.ensure_dirs()
    run_date = logical_date(as_of)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    run_id = f"R{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    run = steps.run_record(run_id, str(flow_run.id or ""), kind, started)
    with writer_lock(settings.lock_path):
        for stale in clear_stale_builds(settings.build_dir):
            logger.warning("removed a build file left by an interrupted run: %s", stale.name)
        sightings, new = steps.intake_inbox(settings)
        logger.info("inbox: %d new file(s), %d received in all", len(new), len(sightings))
        parsed = steps.read_and_parse(sightings, settings, run_date)
        batch = steps.validate_batch(parsed, settings)
        written = steps.feedback_workbooks(batch, new, settings)
        status = batch.submissions["intake_status"].value_counts()
        run.update(
            status="published",
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            files_new=len(new),
            files_total=len(sightings),
            accepted=int(status.get("accepted", 0) + status.get("accepted_with_warnings", 0)),
            rejected=int(status.get("rejected", 0)),
            duplicates=int(status.get("duplicate", 0)),
            note=f"as of {run_date.isoformat()}",
        )
        build_path = settings.build_dir / f"warehouse-{run_id}.duckdb"
        steps.build_warehouse(batch, settings, run, build_path)
        superseded = steps.superseded_count(build_path)
        published = steps.publish_warehouse(build_path, settings)
        steps.record_run(settings, run)
    steps.refresh_appendix_workbook(settings, run_date)
    summary = steps.summarize(run, batch, len(new), published, superseded, settings.feedback, len(written))
    steps.report(summary, batch)
    logger.info(
        "published %s: %d accepted, %d rejected, %d duplicate(s), %d superseded",
        published, summary.accepted + summary.accepted_with_warnings, summary.rejected, summary.duplicates,
        summary.superseded,
    )  # fmt: skip
    return summary


if __name__ == "__main__":
    nightly(kind="manual")
