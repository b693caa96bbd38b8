"""The run both flows share: take in, read and parse, validate, give feedback, build, publish, export.

Plain sequencing of the tasks in ``flows.steps``, called from inside a flow (``nightly`` or ``backfill``); it
holds the one-writer lock from intake to publication, so a second run waits instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import TypeVar, cast

from prefect import get_run_logger
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from flows import steps
from ictstat.messages import bilingual
from ictstat.settings import Settings
from tasks import ledger, submissions, unchanged
from tasks.build import MartCheckError
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
    run = ledger.run_record(str(flow_run.id or ""), kind)
    run_id = run["run_id"]
    run["as_of"] = run_date.isoformat()  # an earlier logical date must never republish (below)
    with writer_lock(settings.lock_path):
        # "what did we know on date X" is a query of the published history, never a rebuild of the present
        ledger.refuse_earlier_logical_date(settings.ledger_dir, run_date)
        for stale in clear_stale_builds(settings.build_dir):
            logger.warning("removed a build file left by an interrupted run: %s", stale.name)
        checkpoint("intake", settings.home)
        taken = steps.intake_inbox(settings)
        sightings, new, held = taken.sightings, taken.new, taken.held
        logger.info(bilingual(f"hộp thư: {len(new)} tệp mới, đã nhận tổng cộng {len(sightings)}",
                              f"inbox: {len(new)} new file(s), {len(sightings)} received in all"))  # fmt: skip
        for h in held:  # never in silence: each is also a deferred row of audit.submissions
            logger.warning(bilingual(f"giữ lại, thử lại lần chạy sau: {h.reason_vi}",
                                     f"held back, retried next run: {h.reason_en}"))  # fmt: skip
        run["inputs_key"] = unchanged.inputs_key(settings, sightings, run_date, held)
        if skip_if_unchanged and not reparse:
            last = unchanged.unchanged_since(settings, run["inputs_key"])
            if last is not None:
                return steps.nothing_to_change(run, last, len(sightings), settings, run_date)
        checkpoint("read", settings.home)
        todo, cached = steps.plan_parsing(opaque(sightings), settings, reparse)
        logger.info(bilingual(f"{len(todo)} tệp cần đọc và phân tích, {len(cached)} lấy từ bộ nhớ đệm",
                              f"{len(todo)} file(s) to read and parse, {len(cached)} parse(s) from the cache"))  # fmt: skip
        parse_everywhere(todo, settings, progress_key)
        values_path = settings.build_dir / f"values-{run_id}.parquet"  # the parsed cells, off the heap
        parsed = steps.assemble(opaque(sightings), settings, run_date, values_path, held)
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
        try:
            steps.build_warehouse(opaque(batch), settings, run, build_path, run_date)
        except MartCheckError as err:
            # the build's bulkhead: the files behind an absurd figure are rejected and the build runs once more
            # (a second refusal fails the run, and the previous publication stays)
            if not err.submissions:
                raise
            logger.warning("%s", err)
            batch = submissions.reject_after_build(batch, err.submissions, err.figures)
            status = batch.submissions["intake_status"].value_counts()
            run.update(
                accepted=int(status.get("accepted", 0) + status.get("accepted_with_warnings", 0)),
                rejected=int(status.get("rejected", 0)),
            )
            steps.build_warehouse(opaque(batch), settings, run, build_path, run_date)
        values_path.unlink(missing_ok=True)
        # read from the build before the rename: after it, an analyst may already hold the published file
        counts = steps.status_counts(build_path)
        superseded = counts.get("superseded", 0)
        # what a night with nothing new reports, without opening the file (JSON text: runs.jsonl feeds a
        # frame that becomes audit.runs, where a column of mappings has no place)
        run["status_counts"] = json.dumps(counts, sort_keys=True)
        changed = steps.changed_figures(build_path, run["run_id"])
        checkpoint("publish", settings.home)
        published = steps.publish_warehouse(build_path, settings)
        run["warehouse_stamp"] = unchanged.warehouse_stamp(published)
        steps.record_publication(settings, run, changed)
    checkpoint("exports", settings.home)
    steps.refresh_appendix_workbook(settings, run_date)
    summary = steps.summarize(run, batch, len(new), published, superseded, settings.feedback, len(written))
    steps.report(summary, opaque(batch), settings, run_date)
    fresh = {s.submission_id for s in new} | {s.submission_id for s in sightings if s.sha256 in reparse}
    steps.warn_rejected(summary, fresh)
    logger.info(bilingual(
        f"đã công bố {published}: {summary.accepted + summary.accepted_with_warnings} chấp nhận, "
        f"{summary.rejected} bị từ chối, {summary.duplicates} trùng lặp, {summary.superseded} bị thay thế",
        f"published {published}: {summary.accepted + summary.accepted_with_warnings} accepted, "
        f"{summary.rejected} rejected, {summary.duplicates} duplicate(s), {summary.superseded} superseded",
    ))  # fmt: skip
    return summary


def parse_everywhere(todo: list[Sighting], settings: Settings, progress_key: str | None) -> int:
    """Parse on a Dask cluster when one is configured and there are at least ``dask_min_files`` files to parse
    (:mod:`flows.scaleout`: what the cluster cannot parse is parsed here, or the run fails, by setting), else on
    this machine's processes; the parses (validated) go into the parse cache. Returns how many files."""
    if not todo:
        return 0
    left = todo
    if settings.dask_address and len(todo) >= settings.dask_min_files:
        from flows import scaleout

        left = scaleout.parse_on_dask(todo, settings, get_run_logger())
    if left:
        steps.read_and_parse_locally(opaque(left), settings, progress_key)
    return len(todo)
