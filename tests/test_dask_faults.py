"""Parsing on Dask when the cluster is not what it should be, in this process (no Prefect server): every fault
becomes "parse here" or a failure by setting, never a rejection, a cached failure or a wait without end.

The full production path (work pool, `prefect worker`, `dask` processes, a worker without the shared storage)
is tests/test_scaleout.py; these are the same rules at the level of :mod:`flows.scaleout`, quick.
"""

from __future__ import annotations

import logging
import shutil
import socket
from pathlib import Path

import pytest
from distributed import LocalCluster
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import scaleout, steps
from ictstat.settings import Settings, load_settings
from tasks import intake, submissions
from tasks.intake import Sighting
from tasks.parsefile import ParseJob
from tasks.remote import ArchiveUnreachable, RemoteParseJob, probe, probe_ok

FILES = 12
LOG = logging.getLogger("tests.dask_faults")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def taken_in(root: Path, demo_inbox: Path, **overrides: object) -> tuple[Settings, list[Sighting]]:
    cfg = load_settings(home=root, workers=1, dask_min_files=1, **overrides)
    cfg.ensure_dirs()
    for source in sorted(demo_inbox.rglob("*.xlsx"))[:FILES]:
        shutil.copy2(source, cfg.inbox / source.name)
    sightings, _ = intake.intake(cfg.inbox, cfg.archive, cfg.ledger_dir, cfg.max_file_bytes)
    return cfg, sightings


def cached(cfg: Settings, sightings: list[Sighting]) -> dict[str, dict]:  # type: ignore[type-arg]
    cache = submissions.ParseCache(cfg.cache_dir, cfg.province_code)
    try:
        return {s.sha256: got for s in sightings if (got := cache.get(s.sha256)) is not None}
    finally:
        cache.close()


def test_an_unreachable_scheduler_is_given_up_within_the_connect_time(tmp_path, demo_inbox, caplog) -> None:
    cfg, sightings = taken_in(tmp_path, demo_inbox, dask_address=f"tcp://127.0.0.1:{free_port()}",
                              dask_connect_seconds=2)  # fmt: skip
    with caplog.at_level(logging.WARNING):
        left = scaleout.parse_on_dask(sightings, cfg, LOG)
    assert left == sightings  # all of it, for this machine to parse
    assert "did not answer within 2 s" in caplog.text and "parsing the 12 file(s) left" in caplog.text
    assert cached(cfg, sightings) == {}  # nothing was cached, least of all a failure

    fail = cfg.model_copy(update={"dask_unavailable": "fail"})
    with pytest.raises(scaleout.DaskUnavailable, match="did not answer"):
        scaleout.parse_on_dask(sightings, fail, LOG)


def test_a_scheduler_without_workers_is_waited_for_with_a_line_every_interval(
    tmp_path, demo_inbox, caplog
) -> None:
    with LocalCluster(n_workers=0, processes=True, dashboard_address=":0") as cluster:
        cfg, sightings = taken_in(tmp_path, demo_inbox, dask_address=cluster.scheduler_address,
                                  dask_wait_seconds=3, dask_log_seconds=1)  # fmt: skip
        with caplog.at_level(logging.WARNING):
            left = scaleout.parse_on_dask(sightings, cfg, LOG)
    assert left == sightings
    assert caplog.text.count("Waiting for a Dask worker") >= 2
    assert "has had no worker for" in caplog.text


def test_workers_that_see_the_archive_parse_everything_into_the_cache(tmp_path, demo_inbox, caplog) -> None:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        cfg, sightings = taken_in(tmp_path, demo_inbox, dask_address=cluster.scheduler_address)
        with caplog.at_level(logging.INFO):
            left = scaleout.parse_on_dask(sightings, cfg, LOG)
    assert left == []
    assert "2 of 2 worker(s) see the archive" in caplog.text
    parses = cached(cfg, sightings)
    assert len(parses) == FILES and not [p for p in parses.values() if "failure" in p]
    assert list((cfg.build_dir).glob("dask-preflight-*")) == []  # the marker is cleaned up


def test_a_worker_that_does_not_see_an_archived_file_raises_instead_of_rejecting_it(
    tmp_path, demo_inbox
) -> None:
    cfg, sightings = taken_in(tmp_path, demo_inbox)
    job = RemoteParseJob(steps.parse_job(cfg))
    gone = sightings[3]
    (cfg.archive / gone.archive_path).unlink()
    with pytest.raises(ArchiveUnreachable) as raised:
        job(sightings)
    assert raised.value.missing == [gone.archive_path]
    assert "not rejected" in str(raised.value) and " / " in str(raised.value)  # Vietnamese / English
    # the run's own machine does not have it either: lost from the archive, reported as without Dask
    here = ParseJob(cfg.archive, cfg.province_code, cfg.max_unpacked_bytes, cfg.max_rows_per_sheet)
    assert here([gone])[0]["failure"][0] == "archive_corrupt"


def test_the_preflight_probe_tells_the_run_s_storage_from_another(tmp_path) -> None:
    marker = tmp_path / "marker"
    marker.write_text("token-1")
    archived = tmp_path / "a.xlsx"
    archived.write_bytes(b"x")
    assert probe_ok(probe(str(marker), "token-1", str(archived)))
    assert "not the run's storage" in probe(str(marker), "token-2", str(archived))["marker"]
    assert probe(str(tmp_path / "absent"), "token-1", str(archived))["marker"].startswith("FileNotFoundError")
    assert not probe_ok(probe(str(marker), "token-1", str(tmp_path / "b.xlsx")))


@settings(max_examples=25, deadline=None)
@given(home=st.sampled_from(["data", "./data", "srv/../data", "a b/ictstat"]))
def test_a_relative_home_is_sent_to_the_workers_as_an_absolute_path(home: str) -> None:
    cfg = load_settings(home=Path(home))
    job = RemoteParseJob(steps.parse_job(cfg))
    sent = scaleout.absolute_job(cfg).job.archive
    assert sent.is_absolute() and sent == (Path.cwd() / home / "archive").absolute()
    assert job.job.archive == cfg.archive  # the local job keeps the settings' own path
