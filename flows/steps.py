"""The pipeline steps as Prefect tasks: thin wrappers around the plain functions of ``tasks``.

Few, batched tasks (a task run costs 5-20 ms and thousands destabilise a server): one per step, each over
all files. ``cache_policy=NONE`` because inputs are frames that are not worth hashing.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import sys
import types
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE
from prefect.exceptions import MissingContextError

from flows.reports import (
    RunSummary,
    incomplete_periods,
    publish_run_artifacts,
    publish_tracking_artifact,
    publish_unchanged_artifacts,
    rejected_files,
)
from ictstat import export, published, reference
from ictstat.messages import bilingual
from ictstat.settings import Settings
from tasks import (
    build,
    feedback,
    intake,
    ledger,
    parsefile,
    publish,
    receipts,
    submissions,
    unchanged,
    validate,
)
from tasks.faults import checkpoint
from tasks.intake import Sighting


@task(name="intake", cache_policy=NONE)
def intake_inbox(settings: Settings) -> intake.IntakeResult:
    """Archive and record every new file of the inbox; what cannot be taken in now is held (deferred)."""
    return intake.take_in(settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes)


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The run's logger inside a flow; the module's outside one (steps called as plain functions)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def quarantined_now(settings: Settings) -> dict[str, dict[str, Any]]:
    """The files (sha256) kept out of this run's parsing and build: see :func:`tasks.ledger.quarantined`."""
    fingerprint = submissions.parser_fingerprint(settings.province_code)
    return ledger.quarantined(settings.ledger_dir, fingerprint)


def quarantine_crash(settings: Settings, s: Sighting, what: str, fingerprint: str) -> None:
    """Withdraw a file whose parse crashed, for this parser version (a new version tries it again)."""
    ledger.record_quarantine(
        settings.ledger_dir,
        {"action": "quarantine", "sha256": s.sha256, "submission_id": s.submission_id,
         "by": "ictstat (tự động / automatic)", "at": datetime.now(UTC).isoformat(timespec="seconds"),
         "reason": f"parse crashed / bộ đọc gặp lỗi: {what}", "fingerprint": fingerprint},
    )  # fmt: skip
    _logger().error("quarantined %s (%s): its parse crashed: %s", s.submission_id, s.relative_path, what)


CHUNK = 100  # files per parse task: few tasks (a task run costs 5-20 ms), each worth a process's start
# fewer files are parsed faster in the run's own process than by starting a pool (workers start in about
# 0.3 s, reference data included; measured in bench/README.md)
POOL_MIN_FILES = 500


def parse_job(settings: Settings) -> parsefile.ParseJob:
    limits = (
        ("max_cells", settings.max_cells_per_sheet),
        ("max_workbook_cells", settings.max_cells_per_workbook),
        ("max_sheets", settings.max_sheets),
        ("max_string_length", settings.max_string_length),
    )
    return parsefile.ParseJob(
        settings.archive,
        settings.province_code,
        settings.max_unpacked_bytes,
        settings.max_rows_per_sheet,
        limits,
    )


@task(name="plan parsing", cache_policy=NONE)
def plan_parsing(
    sightings: Sequence[Sighting], settings: Settings, reparse: Collection[str] = ()
) -> tuple[list[Sighting], list[str]]:
    """Which files must be read and parsed now; the others' parses are in the cache (by sha256)."""
    cache = submissions.ParseCache(settings.cache_dir, settings.province_code)
    cache.prune_if_code_changed()  # parses of earlier parser code are never read again
    cache.compact()  # once a backfill's reparse has replaced most of the log
    held = ledger.quarantined(settings.ledger_dir, cache.fingerprint)
    free = [s for s in sightings if s.sha256 not in held]  # a quarantined file is never parsed
    return submissions.split_cached(free, cache, reparse, settings.archive)


@task(name="read and parse", cache_policy=NONE)
def read_and_parse(chunk: list[Sighting], job: parsefile.ParseJob) -> list[dict[str, Any]]:
    """Read and parse a chunk of files (in this process, a process pool's or a Dask worker's)."""
    return job(chunk)


VALIDATE_BATCH = 2_000  # files validated (one Pandera pass per sheet type) and written to the cache at once


class ParseSink:
    """Where new parses go as they arrive: validated in batches, written to the parse cache with their issues
    and let go, so that a run holds a batch of parses at a time, never the whole inbox's."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache = submissions.ParseCache(settings.cache_dir, settings.province_code)
        # every province's districts: files name their own province on the cover (one deployment, many)
        self.codes = [d.code for d in reference.all_districts()]
        self.pending: dict[str, dict[str, Any]] = {}
        self.written = 0

    def add(self, chunk: Sequence[Sighting], results: Sequence[dict[str, Any]]) -> None:
        for s, result in zip(chunk, results, strict=True):
            if "crash" in result:  # not cached: quarantined for this parser version instead
                quarantine_crash(self.settings, s, result["crash"], self.cache.fingerprint)
                continue
            self.pending[s.sha256] = result
        if len(self.pending) >= VALIDATE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        for sha, issues in validate.validate_parses(self.pending, self.codes).items():
            self.pending[sha]["validation_issues"] = issues
        self.cache.put_many(self.pending)
        self.written += len(self.pending)
        self.pending.clear()


def uses_pool(files: int, settings: Settings) -> bool:
    """Whether this many files are parsed by a pool of processes rather than in the run's own process."""
    return settings.workers > 1 and files >= POOL_MIN_FILES


def _local_parse_run_name() -> str:
    """The task run's name says where the files were parsed (the task's own name cannot: it depends on how
    many there are)."""
    from prefect.runtime import task_run

    params = task_run.parameters
    todo = params["todo"]
    todo = todo.unquote() if hasattr(todo, "unquote") else todo  # handed over by flows.pipeline.opaque
    n, settings = len(todo), params["settings"]
    if uses_pool(n, settings):
        return bilingual(f"đọc và phân tích {n} tệp bằng {settings.workers} tiến trình",
                         f"read and parse {n} files in a pool of {settings.workers} processes")  # fmt: skip
    return bilingual(f"đọc và phân tích {n} tệp trong tiến trình của lần chạy",
                     f"read and parse {n} files in the run's own process")  # fmt: skip


@task(name="read, parse and validate new files", task_run_name=_local_parse_run_name, cache_policy=NONE)
def read_and_parse_locally(todo: list[Sighting], settings: Settings, progress_key: str | None) -> int:
    """Read, parse and validate the files on this machine (in the run's own process, or a pool of
    ``ICTSTAT_WORKERS`` processes from ``POOL_MIN_FILES`` files) into the parse cache; returns how many."""
    job = parse_job(settings)
    sink = ParseSink(settings)
    todo = parse_suspects(job, todo, sink)
    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    progress = _progress(progress_key, len(chunks))
    if not uses_pool(len(todo), settings):
        parse_here(job, chunks, sink, lambda n: progress(n, settings))
    else:
        # spawn, not fork: the run's process has Prefect's threads and locks, which a fork would copy half-held
        done = parse_in_pool(job, chunks, settings.workers, sink, lambda n: progress(n, settings))
        for chunk in chunks[done:]:  # a worker died: find the file that kills it, parse the others
            parse_isolated(job, chunk, sink)
    sink.flush()
    return sink.written


PARSING_NOW = "parsing-now.json"  # in the cache folder: the chunk the run's own process is parsing


def parse_here(
    job: Callable[[list[Sighting]], list[dict[str, Any]]],
    chunks: Sequence[list[Sighting]],
    sink: ParseSink,
    progress: Callable[[int], None] = lambda n: None,
) -> None:
    """Parse the chunks in the run's own process (few files: cheaper than starting a pool). Each chunk's files
    are named in ``parsing-now.json`` only while the parser runs on them (a write and an unlink per 100 files):
    if a file takes the whole process down, the next run finds them there and parses them apart
    (:func:`parse_suspects`)."""
    marker = sink.cache.folder / PARSING_NOW
    marker.parent.mkdir(parents=True, exist_ok=True)
    for n, chunk in enumerate(chunks, start=1):
        marker.write_text(json.dumps([s.sha256 for s in chunk]), encoding="utf-8")
        results = job(chunk)
        marker.unlink()  # parsed: a death from here on (a kill, the disk) is not this chunk's doing
        sink.add(chunk, results)
        progress(n)
    sink.flush()


def parse_suspects(
    job: Callable[[list[Sighting]], list[dict[str, Any]]], todo: list[Sighting], sink: ParseSink
) -> list[Sighting]:
    """Parse apart, in processes of their own, the files a run's process was parsing when it died (see
    :func:`parse_here`): the one that kills its process is quarantined. Returns the files left to parse."""
    marker = sink.cache.folder / PARSING_NOW
    try:
        names = set(json.loads(marker.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return todo  # none, or torn by the crash itself: the chunk is parsed as usual
    suspects = [s for s in todo if s.sha256 in names]
    if suspects:
        _logger().warning("%d file(s) were being parsed when a run died: parsed apart", len(suspects))
        parse_isolated(job, suspects, sink)
        sink.flush()
    marker.unlink(missing_ok=True)
    return [s for s in todo if s.sha256 not in names]


def parse_in_pool(
    job: Callable[[list[Sighting]], list[dict[str, Any]]],
    chunks: Sequence[list[Sighting]],
    workers: int,
    sink: ParseSink,
    progress: Callable[[int], None] = lambda n: None,
) -> int:
    """Parse the chunks in a pool of spawned processes into the sink; returns how many chunks came back before
    a worker died (all of them when none did)."""
    # spawn, not fork: the run's process has Prefect's threads and locks, which a fork would copy half-held
    context = multiprocessing.get_context("spawn")
    done = 0
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            with workers_without_main():  # the workers start while the chunks are submitted
                results = pool.map(job, chunks)
            for chunk, parsed in zip(chunks, results, strict=True):
                sink.add(chunk, parsed)
                done += 1
                progress(done)
    except BrokenProcessPool:
        _logger().warning("a parse worker died; the %d chunk(s) left are parsed apart", len(chunks) - done)
    return done


def parse_isolated(
    job: Callable[[list[Sighting]], list[dict[str, Any]]], chunk: list[Sighting], sink: ParseSink
) -> None:
    """Parse a chunk in a process of its own; if that process dies, halve the chunk until the file that kills
    it is alone, and quarantine it (for this parser version). Costs a process per halving, only after a death."""
    if parse_in_pool(job, [chunk], 1, sink) == 1:
        return
    if len(chunk) == 1:
        what = "tiến trình đọc bị dừng đột ngột / the parse worker process died"
        quarantine_crash(sink.settings, chunk[0], what, sink.cache.fingerprint)
        return
    half = len(chunk) // 2
    parse_isolated(job, chunk[:half], sink)
    parse_isolated(job, chunk[half:], sink)


@contextmanager
def workers_without_main() -> Iterator[None]:
    """Start spawned workers without the run's ``__main__``.

    A spawned process imports its parent's main module before it runs anything (``multiprocessing.spawn``):
    under a Prefect worker that is ``prefect.engine``, under the command line the ``ictstat`` script, two seconds
    or more of imports in every worker. A parse worker needs none of it (the job is :class:`ParseJob`, imported
    from :mod:`tasks.parsefile`), so while the workers are started ``__main__`` is an empty module: a worker then
    starts in about 0.1 s instead of 3 s."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _progress(key: str | None, total: int) -> Callable[[int, Settings], None]:
    """A Prefect progress artifact, and the 'parse' fault checkpoint once some files are parsed."""
    artifact: UUID | None = None
    if key:
        created = create_progress_artifact(
            progress=0.0, key=key, description=bilingual("Tệp đã đọc và phân tích", "Files read and parsed")
        )
        assert isinstance(created, UUID)  # called from a synchronous task: never a coroutine
        artifact = created

    def update(done: int, settings: Settings) -> None:
        if done == 1:
            checkpoint("parse", settings.home)
        if artifact is not None:
            update_progress_artifact(artifact_id=artifact, progress=100.0 * done / max(total, 1))

    return update


class CachedParses(Mapping[str, dict[str, Any]]):
    """Every file's parse, read from the parse cache when asked for (and let go by the caller). A cache file
    that cannot be read (damaged on disk) is parsed and validated again on the spot."""

    def __init__(self, sightings: Sequence[Sighting], settings: Settings) -> None:
        self.by_sha = {s.sha256: s for s in sightings}
        self.settings = settings
        self.cache = submissions.ParseCache(settings.cache_dir, settings.province_code)

    def __getitem__(self, sha: str) -> dict[str, Any]:
        parsed = self.cache.get(sha)
        if parsed is None:
            sink = ParseSink(self.settings)
            result = parse_job(self.settings)([self.by_sha[sha]])
            sink.add([self.by_sha[sha]], result)  # a crash is quarantined there, and shown as such
            parsed = sink.pending.get(sha, result[0])
            sink.flush()
        return parsed

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_sha)

    def __len__(self) -> int:
        return len(self.by_sha)


@task(name="assemble", cache_policy=NONE)
def assemble(
    sightings: Sequence[Sighting],
    settings: Settings,
    run_date: date,
    values_path: Path | None = None,
    held: Sequence[intake.Held] = (),
) -> submissions.ParsedBatch:
    """Every file's parse (and schema issues, found when it was new) from the cache into the run's frames; with
    ``values_path`` the parsed cells go to that Parquet file, streamed, instead of memory. Quarantined files
    are left out (shown as such) and what intake held this run is shown as deferred."""
    parses = CachedParses(sightings, settings)
    try:
        return submissions.assemble(
            sightings, parses, run_date, values_path, held=held, quarantined=quarantined_now(settings)
        )
    finally:
        parses.cache.close()


@task(name="validate", cache_policy=NONE)
def validate_batch(batch: submissions.ParsedBatch, settings: Settings) -> submissions.ParsedBatch:
    """Checks across files (a stock jumping against the reporter's previous month); each submission's status.

    Only files that are about to be accepted take part: a month compared with a rejected file's figures (a
    clerk's 1.7e308) would warn about a jump that never happened."""
    subs = batch.submissions
    errors = set(batch.issues.loc[batch.issues["severity"] == "error", "submission_id"])
    sound = subs[subs["intake_status"].isna() & ~subs["submission_id"].isin(errors)]
    if batch.values_path is not None:
        issues = validate.plausibility_warnings(None, sound, batch.values_path)
    else:
        issues = validate.plausibility_warnings(batch.values, sound)
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
    batch: submissions.ParsedBatch, settings: Settings, run: dict[str, Any], build_path: Path, run_date: date
) -> dict[str, int]:
    """Build a complete new warehouse file next to the published one."""
    runs = pd.DataFrame([*ledger.previous_runs(settings.ledger_dir), run])
    years = build.report_years(batch.submissions["period"], run_date)
    inputs = {
        "in_submissions": batch.submissions,
        "in_values": batch.values_path or batch.values,
        "in_issues": batch.issues,
        "in_runs": runs,
        "in_publication_log": ledger.publication_log(settings.ledger_dir),
        "in_run_context": pd.DataFrame(
            [{"run_id": run["run_id"], "published_at": run["finished_at"], "as_of": run_date.isoformat()}]
        ),
        "in_receipts": receipts.read(settings.home / receipts.RECEIPTS),
    }
    if settings.reporting_calendar is not None:
        inputs["in_ref_reporting_calendar"] = pd.read_csv(
            settings.reporting_calendar, dtype=str, keep_default_na=False
        )
    return build.build_warehouse(build_path, inputs, years, settings.storage_version)


@task(name="publish", cache_policy=NONE)
def publish_warehouse(build_path: Path, settings: Settings) -> Path:
    """Swap the new warehouse in by atomic rename."""
    return publish.publish(build_path, settings.warehouse_path)


def changed_figures(build_path: Path, run_id: str) -> list[dict[str, Any]]:
    """The figures this build changes, read from the build file (the published one may be held by others)."""
    return ledger.changed_figures(build_path, run_id)


def record_publication(settings: Settings, run: dict[str, Any], changed: list[dict[str, Any]]) -> None:
    """After the rename: the run and the figures it changed go into the ledger."""
    ledger.append_publication(settings.ledger_dir, changed)
    ledger.record_run(settings.ledger_dir, run)


@task(name="nothing to change", cache_policy=NONE)
def nothing_to_change(
    run: dict[str, Any], last: dict[str, Any], files_total: int, settings: Settings, run_date: date
) -> RunSummary:
    """Nothing new since the last publication and the same inputs: keep the published warehouse, say so."""
    logger = get_run_logger()
    counts = unchanged.record_unchanged(settings, run, last, files_total, run_date)
    summary = RunSummary(
        run_id=run["run_id"],
        kind=run["kind"],
        started_at=run["started_at"],
        finished_at=run["finished_at"],
        files_total=files_total,
        files_new=0,
        accepted=counts.get("accepted", 0) + counts.get("superseded", 0),  # as a full run counts them
        accepted_with_warnings=counts.get("accepted_with_warnings", 0),
        rejected=counts.get("rejected", 0),
        duplicates=counts.get("duplicate", 0),
        superseded=counts.get("superseded", 0),
        deferred=counts.get("deferred", 0),
        quarantined=counts.get("quarantined", 0),
        issues=0,
        warehouse=str(settings.warehouse_path),
        feedback_dir=str(settings.feedback),
        status="unchanged",
        rejected_files=rejected_files(settings.warehouse_path, settings.feedback),
    )
    publish_unchanged_artifacts(summary, last, settings.warehouse_path, run_date)
    logger.info(bilingual(
        f"không có gì mới kể từ {last['run_id']} (công bố {last['finished_at']}): {settings.warehouse_path} "
        "giữ nguyên",
        f"nothing new since {last['run_id']} (published {last['finished_at']}): {settings.warehouse_path} left "
        "as it is",
    ))  # fmt: skip
    return summary


def status_counts(build_path: Path) -> dict[str, int]:
    """How many files of each status a build holds (superseded is decided in SQL)."""
    return build.submission_status_counts(build_path)


@task(name="appendix workbook", cache_policy=NONE)
def refresh_appendix_workbook(settings: Settings, run_date: date) -> Path | None:
    """Rewrite the appendix workbook of the latest year that is over and has figures (never fails the run)."""
    logger = get_run_logger()
    year = None
    try:
        with published.readable(settings.warehouse_path, copy_if_held=True) as path:
            year = export.latest_complete_year(path, run_date)
            if year is None:
                return None
            return export.export_appendix_workbook(path, year, settings.exports)
    except Exception as exc:  # the published warehouse is what matters; the workbook can be redone by hand
        logger.warning("appendix workbook for %s not refreshed: %s", year, exc)
        return None


@task(name="run report", cache_policy=NONE)
def report(summary: RunSummary, batch: submissions.ParsedBatch, settings: Settings, run_date: date) -> None:
    """The run's summary, its issues and who has not reported, as artifacts on the flow run's page; a
    WARNING for each closed period whose figures lack a report."""
    logger = get_run_logger()
    for period, _, figures, notes in incomplete_periods(settings.warehouse_path):
        logger.warning("kỳ %s: %d số liệu thiếu báo cáo / period %s: %d figures incomplete: %s",
                       period, figures, period, figures, notes)  # fmt: skip
    publish_run_artifacts(summary, batch)
    publish_tracking_artifact(settings.warehouse_path, run_date)


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
        files_total=len(batch.submissions) - int(status.get("deferred", 0)),  # held: not received yet
        files_new=files_new,
        accepted=int(status.get("accepted", 0)),
        accepted_with_warnings=int(status.get("accepted_with_warnings", 0)),
        rejected=int(status.get("rejected", 0)),
        duplicates=int(status.get("duplicate", 0)),
        superseded=superseded,
        deferred=int(status.get("deferred", 0)),
        quarantined=int(status.get("quarantined", 0)),
        issues=len(batch.issues),
        warehouse=str(warehouse),
        feedback_dir=str(feedback_dir or ""),
        feedback_written=feedback_written,
        rejected_files=rejected_files(warehouse, feedback_dir) if feedback_dir else [],
    )


def warn_rejected(summary: RunSummary, fresh: Collection[str]) -> int:
    """One WARNING per rejected file taken in (or reparsed) by this run, with the path of its feedback
    workbook; returns how many. Files rejected by earlier runs were reported then."""
    logger = get_run_logger()
    shown = [f for f in summary.rejected_files if f.submission_id in fresh]
    for f in shown:
        logger.warning(f.log_line())
    return len(shown)
