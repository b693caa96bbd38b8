"""Parsing on a Dask cluster, from the run's side: every fault loud, never wrong data.

This module owns how a run uses ``ICTSTAT_DASK_ADDRESS``: connect (bounded by ``ICTSTAT_DASK_CONNECT_SECONDS``),
wait for a worker (bounded by ``ICTSTAT_DASK_WAIT_SECONDS``, a log line every ``ICTSTAT_DASK_LOG_SECONDS``),
prove that each worker sees the run's storage at the same absolute path (a marker file this run writes, and an
archived file), then send the chunks to the workers that passed. Whatever goes wrong with the cluster (no
scheduler, no worker, a worker that cannot see the archive, workers lost mid-run) is an infrastructure fault:
with ``ICTSTAT_DASK_UNAVAILABLE=local`` (the default) the files not parsed yet are parsed on this machine, with
``fail`` the run fails. It never becomes a rejection, a cached parse or a feedback workbook.

The Dask workers run plain functions (:mod:`tasks.remote`), not Prefect tasks: they need no Prefect API and
never start a Prefect server of their own; the run's own process reports to the run's API.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from flows import steps
from ictstat.settings import Settings
from tasks.intake import Sighting
from tasks.parsefile import ParseJob
from tasks.remote import ArchiveUnreachable, RemoteParseJob, probe, probe_ok


class DaskUnavailable(RuntimeError):
    """The cluster cannot parse (some of) the files; ``leftover`` are those not parsed yet."""

    def __init__(self, message: str, leftover: Sequence[Sighting]) -> None:
        super().__init__(message)
        self.leftover = list(leftover)


def parse_on_dask(
    todo: list[Sighting], settings: Settings, logger: logging.Logger | logging.LoggerAdapter[Any]
) -> list[Sighting]:
    """Parse ``todo`` on the cluster into the parse cache; answer the files left for this machine to parse
    (none when the cluster did it all). Raises :class:`DaskUnavailable` when the settings say ``fail``."""
    try:
        _parse_on_dask(todo, settings, logger)
    except DaskUnavailable as exc:
        if settings.dask_unavailable == "fail":
            raise
        logger.warning(
            "%s — phân tích %d tệp còn lại trên máy này. / parsing the %d file(s) left on this machine.",
            exc, len(exc.leftover), len(exc.leftover),
        )  # fmt: skip
        return exc.leftover
    return []


def _parse_on_dask(
    todo: list[Sighting], settings: Settings, logger: logging.Logger | logging.LoggerAdapter[Any]
) -> None:
    from distributed import Client

    address = settings.dask_address
    try:
        client = Client(address, timeout=settings.dask_connect_seconds, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise DaskUnavailable(
            f"Không kết nối được bộ điều phối Dask {address} sau {settings.dask_connect_seconds:.0f} giây. / "
            f"The Dask scheduler {address} did not answer within {settings.dask_connect_seconds:.0f} s ({exc}).",
            todo,
        ) from exc
    try:
        with client, client.as_current():  # distributed.wait finds the client as the current one
            wait_for_a_worker(client, settings, logger, todo)
            workers = preflight(client, todo, settings, logger)
            send(client, workers, todo, settings, logger)
    except (OSError, TimeoutError) as exc:  # the scheduler lost mid-run (CommClosedError is an OSError)
        # files whose parses came back are in the cache already; parsing them again here writes the same
        raise DaskUnavailable(
            f"Mất kết nối với bộ điều phối Dask {address}. / Lost the Dask scheduler {address}: {exc}", todo
        ) from exc


def wait_for_a_worker(
    client: Any, settings: Settings, logger: logging.Logger | logging.LoggerAdapter[Any], todo: list[Sighting]
) -> None:
    """Until the scheduler has a worker, for at most ``dask_wait_seconds``, saying so every interval."""
    started = time.monotonic()
    while not client.nthreads():
        waited = time.monotonic() - started
        if waited >= settings.dask_wait_seconds:
            raise DaskUnavailable(
                f"Bộ điều phối Dask {settings.dask_address} không có máy xử lý nào sau {waited:.0f} giây. / "
                f"The Dask scheduler {settings.dask_address} has had no worker for {waited:.0f} s.",
                todo,
            )
        logger.warning(
            "Đang chờ máy xử lý Dask (%.0f/%.0f giây). / Waiting for a Dask worker at %s (%.0f of %.0f s).",
            waited, settings.dask_wait_seconds, settings.dask_address, waited, settings.dask_wait_seconds,
        )  # fmt: skip
        left = settings.dask_wait_seconds - waited
        with contextlib.suppress(TimeoutError):
            client.wait_for_workers(1, timeout=max(0.5, min(settings.dask_log_seconds, left)))


def preflight(
    client: Any, todo: list[Sighting], settings: Settings, logger: logging.Logger | logging.LoggerAdapter[Any]
) -> list[str]:
    """The workers that read, at the same absolute paths, a marker this run has just written beside the
    archive and an archived file of the run; raises :class:`DaskUnavailable` when none does."""
    build_dir = settings.build_dir.absolute()
    build_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    marker = build_dir / f"dask-preflight-{token}"
    marker.write_text(token, encoding="utf-8")
    known = next((s.archive_path for s in todo if s.archive_path), "")
    archived = str(settings.archive.absolute() / known) if known else ""
    try:
        found: dict[str, dict[str, str]] = client.run(probe, str(marker), token, archived, on_error="return")
    finally:
        marker.unlink(missing_ok=True)
    good = [w for w, f in found.items() if isinstance(f, dict) and probe_ok(f)]
    for worker, f in found.items():
        if worker not in good:
            logger.error(
                "Máy xử lý Dask %s không thấy thư mục dữ liệu %s: %s / Dask worker %s cannot see the ictstat "
                "home %s at the same path: %s",
                worker, settings.home.absolute(), f, worker, settings.home.absolute(), f,
            )  # fmt: skip
    if not good:
        raise DaskUnavailable(
            f"Không máy xử lý Dask nào thấy {settings.home.absolute()} (lưu trữ dùng chung, cùng đường dẫn). / "
            f"No Dask worker sees {settings.home.absolute()} (shared storage at the same absolute path).",
            todo,
        )
    logger.info(
        "Dask: %d of %d worker(s) see the archive at %s", len(good), len(found), settings.archive.absolute()
    )
    return good


def send(
    client: Any,
    workers: list[str],
    todo: list[Sighting],
    settings: Settings,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> None:
    """The chunks to the workers that passed the preflight, their parses into the cache as they come back."""
    from distributed import wait

    here = steps.parse_job(settings)
    job = absolute_job(settings)
    sink = steps.ParseSink(settings)
    chunks = [todo[i : i + steps.CHUNK] for i in range(0, len(todo), steps.CHUNK)]
    futures = {
        client.submit(job, chunk, workers=workers, allow_other_workers=False, pure=False): chunk
        for chunk in chunks
    }
    pending = set(futures)
    idle_since: float | None = None
    try:
        while pending:
            try:
                done = wait(
                    list(pending), timeout=settings.dask_log_seconds, return_when="FIRST_COMPLETED"
                ).done
            except TimeoutError:
                done = set()
            for future in done:
                pending.discard(future)
                sink.add(futures[future], chunk_result(future, futures[future], here, pending, futures))
            idle_since = check_alive(client, workers, idle_since, pending, futures, settings, logger)
    except DaskUnavailable:
        for future in pending:
            future.cancel()
        raise
    finally:
        sink.flush()  # what came back is validated and cached whatever happens to the rest


def absolute_job(settings: Settings) -> RemoteParseJob:
    """The job the workers run: the archive's absolute path (a worker's working directory is not the run's)."""
    here = steps.parse_job(settings)
    return RemoteParseJob(dataclasses.replace(here, archive=here.archive.absolute()))


def chunk_result(
    future: Any, chunk: list[Sighting], here: ParseJob, pending: set[Any], futures: dict[Any, list[Sighting]]
) -> list[dict[str, Any]]:
    """A chunk's parses; a chunk the cluster could not parse is an infrastructure fault, except for files the
    run's own machine does not have either (lost from the archive itself), which are parsed and reported here
    as they would be without Dask."""
    try:
        result: list[dict[str, Any]] = future.result()
        return result
    except ArchiveUnreachable as exc:
        if all(not (here.archive / p).is_file() for p in exc.missing):
            return here(chunk)
        fault: Exception = exc
    except Exception as exc:  # a lost worker (KilledWorker), a broken connection, a parser error
        fault = exc
    leftover = [*chunk, *(s for f in pending for s in futures[f])]
    raise DaskUnavailable(
        f"Một phần việc trên Dask không hoàn thành ({type(fault).__name__}). / A parse sent to Dask did not "
        f"complete: {fault}",
        leftover,
    ) from fault


def check_alive(
    client: Any,
    workers: list[str],
    idle_since: float | None,
    pending: set[Any],
    futures: dict[Any, list[Sighting]],
    settings: Settings,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> float | None:
    """While chunks are pending, at least one of the checked workers must be alive; the time since none is."""
    if not pending or set(workers) & set(client.nthreads()):
        return None
    now = time.monotonic()
    idle_since = idle_since or now
    waited = now - idle_since
    if waited >= settings.dask_wait_seconds:
        raise DaskUnavailable(
            f"Không còn máy xử lý Dask nào sau {waited:.0f} giây. / No Dask worker left for {waited:.0f} s.",
            [s for f in pending for s in futures[f]],
        )
    logger.warning(
        "Không còn máy xử lý Dask (%.0f/%.0f giây). / No Dask worker left (%.0f of %.0f s), %d chunk(s) waiting.",
        waited, settings.dask_wait_seconds, waited, settings.dask_wait_seconds, len(pending),
    )  # fmt: skip
    return idle_since
