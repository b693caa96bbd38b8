"""The run both flows share: take in, read and parse, validate, give feedback, build, publish, export.

Plain sequencing of the tasks in ``flows.steps``, called from inside a flow (``nightly`` or ``backfill``); it
holds the one-writer lock from intake to publication, so a second run waits instead of failing.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import TypeVar, cast

from prefect import get_run_logger
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from flows import steps
from ictstat.settings import Settings
from tasks import ledger, unchanged
from tasks.faults import checkpoint
from tasks.intake import Sighting
from tasks.publish import clear_stale_builds, writer_lock

T = TypeVar("T")


def opaque(value: T) -> T:
    """Hand a large input to a task without Prefect walking every element of it (seconds per task for a
    few hundred thousand parsed cells); the task receives the value itself."""
    return cast(T, quote(value))


def run_pipeline(
    settings: Settings,
    run_date: date,
    kind: str,
    *,
    reparse: Collection[str] = (),
    note: str = "",
    progress_key: str | None = None,
    skip_if_unchanged: bool = False,
) -> steps.RunSummary:
    """One complete run; ``reparse`` lists files (sha256) whose cached parse must be ignored.

    With ``skip_if_unchanged`` (the nightly flow), a run whose inputs are those of the last publication
    (:mod:`tasks.unchanged`) stops after intake and leaves the published warehouse as it is."""
    logger = get_run_logger()
    settings.ensure_dirs()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    run_id = f"R{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    run = steps.run_record(run_id, str(flow_run.id or ""), kind, started)
    run["as_of"] = run_date.isoformat()  # an earlier logical date must never republish (below)
    with writer_lock(settings.lock_path):
        # "what did we know on date X" is a query of the published history, never a rebuild of the present
        ledger.refuse_earlier_logical_date(settings.ledger_dir, run_date)
        for stale in clear_stale_builds(settings.build_dir):
            logger.warning("removed a build file left by an interrupted run: %s", stale.name)
        checkpoint("intake", settings.home)
        sightings, new = steps.intake_inbox(settings)
        logger.info("inbox: %d new file(s), %d received in all", len(new), len(sightings))
        run["inputs_key"] = unchanged.inputs_key(settings, sightings, run_date)
        if skip_if_unchanged and not reparse:
            last = unchanged.unchanged_since(settings, run["inputs_key"])
            if last is not None:
                return steps.nothing_to_change(run, last, len(sightings), settings, run_date)
        checkpoint("read", settings.home)
        todo, cached = steps.plan_parsing(opaque(sightings), settings, reparse)
        logger.info("%d file(s) to read and parse, %d parse(s) from the cache", len(todo), len(cached))
        parse_everywhere(todo, settings, progress_key)
        values_path = settings.build_dir / f"values-{run_id}.parquet"  # the parsed cells, off the heap
        parsed = steps.assemble(opaque(sightings), settings, run_date, values_path)
        checkpoint("validate", settings.home)
        batch = steps.validate_batch(opaque(parsed), settings)
        del parsed
        written = steps.feedback_workbooks(opaque(batch), opaque(new), settings, rewrite_all=bool(reparse))
        status = batch.submissions["intake_status"].value_counts()
        run.update(
            status="published",
            # the publication's time, to the microsecond: files are received with microseconds, and a file
            # taken in the same second must count as arriving before the publication it is in (restatements)
            finished_at=datetime.now(UTC).isoformat(timespec="microseconds"),
            files_new=len(new),
            files_total=len(sightings),
            accepted=int(status.get("accepted", 0) + status.get("accepted_with_warnings", 0)),
            rejected=int(status.get("rejected", 0)),
            duplicates=int(status.get("duplicate", 0)),
            note=f"as of {run_date.isoformat()}" + (f"; {note}" if note else ""),
        )
        checkpoint("build", settings.home)
        build_path = settings.build_dir / f"warehouse-{run_id}.duckdb"
        steps.build_warehouse(opaque(batch), settings, run, build_path, run_date)
        values_path.unlink(missing_ok=True)
        superseded = steps.superseded_count(build_path)
        checkpoint("publish", settings.home)
        published = steps.publish_warehouse(build_path, settings)
        run["warehouse_stamp"] = unchanged.warehouse_stamp(published)
        steps.record_publication(settings, run)
    checkpoint("exports", settings.home)
    steps.refresh_appendix_workbook(settings, run_date)
    summary = steps.summarize(run, batch, len(new), published, superseded, settings.feedback, len(written))
    steps.report(summary, opaque(batch), settings, run_date)
    logger.info(
        "published %s: %d accepted, %d rejected, %d duplicate(s), %d superseded",
        published, summary.accepted + summary.accepted_with_warnings, summary.rejected, summary.duplicates,
        summary.superseded,
    )  # fmt: skip
    return summary


def parse_everywhere(todo: list[Sighting], settings: Settings, progress_key: str | None) -> int:
    """Parse on a Dask cluster when one is configured (one Prefect task per chunk, through prefect-dask),
    else on this machine's processes; the parses (validated) go into the parse cache. Returns how many."""
    if not todo:
        return 0
    if not settings.dask_address:
        return steps.read_and_parse_locally(opaque(todo), settings, progress_key)
    from prefect_dask import DaskTaskRunner

    job = steps.parse_job(settings)
    sink = steps.ParseSink(settings)
    chunks = [todo[i : i + steps.CHUNK] for i in range(0, len(todo), steps.CHUNK)]
    with DaskTaskRunner(address=settings.dask_address) as runner:
        futures = [runner.submit(steps.read_and_parse, parameters={"chunk": c, "job": job}) for c in chunks]
        for chunk, future in zip(chunks, futures, strict=True):
            sink.add(chunk, future.result())
    sink.flush()
    return sink.written
