"""Shared fixtures: a demo inbox written once per session, and warehouses built from it without Prefect."""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from flows import steps
from ictstat.demo import write_demo_inbox
from ictstat.settings import Settings, load_settings
from tasks import build, intake, ledger, receipts

REFERENCE_DIR = Path(__file__).parent / "reference"
AS_OF = date(2026, 1, 1)
# 7 telecom carriers x 24 months + postal carriers (11 in 2019, 10 in 2020) x 12 months
# + 11 district offices x (2019, 2020-H1, 2020) + the department x 2 years
DEMO_FILES = 7 * 24 + (11 + 10) * 12 + 11 * 3 + 2


def report_figures() -> dict[str, dict[str, str]]:
    """The 2020 report's figures (a copy of ../shared/reference/report_2020_indicators.csv)."""
    with (REFERENCE_DIR / "report_2020_indicators.csv").open(encoding="utf-8") as fh:
        return {r["code"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def demo_inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inbox = tmp_path_factory.mktemp("demo") / "inbox"
    write_demo_inbox(inbox, receipts_path=inbox.parent / receipts.RECEIPTS)  # the demo's receipt days
    return inbox


def make_home(root: Path, inbox: Path | None = None) -> Settings:
    settings = load_settings(home=root)
    settings.ensure_dirs()
    if inbox is not None:
        shutil.copytree(inbox, settings.inbox, dirs_exist_ok=True)
        register = inbox.parent / receipts.RECEIPTS  # a copy of the demo home keeps its receipt register
        if register.exists():
            shutil.copy(register, settings.home / receipts.RECEIPTS)
    return settings


def build_home(
    settings: Settings,
    out: Path | None = None,
    as_of: date = AS_OF,
    run_id: str = "T1",
    published_at: str | None = None,
    record: bool = False,
) -> Path:
    """The nightly flow's steps without Prefect: intake, parse, validate, build (into the published path, without
    the rename); with ``record`` the changed figures go into the publication log as a real run's would."""
    taken = intake.take_in(settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes)
    sightings = taken.sightings
    # the flow's own steps (their plain functions): parse cache, validation of new parses, checks across files
    todo, _ = steps.plan_parsing.fn(sightings, settings)
    steps.read_and_parse_locally.fn(todo, settings, None)
    values_path = settings.build_dir / f"values-{run_id}.parquet"  # as the flow: cells streamed to Parquet
    batch = steps.validate_batch.fn(
        steps.assemble.fn(sightings, settings, as_of, values_path, taken.held), settings
    )
    runs = pd.DataFrame(
        [{"run_id": "T1", "flow_run_id": "", "kind": "test", "started_at": "2026-01-01T00:00:00+00:00",
          "finished_at": None, "status": "published", "files_new": len(sightings), "files_total": len(sightings),
          "accepted": 0, "rejected": 0, "duplicates": 0, "ictstat_version": "test", "note": None}]
    )  # fmt: skip
    years = {int(p[:4]) for p in batch.submissions["period"].dropna()} | {as_of.year}
    path = out or settings.warehouse_path
    inputs = {
        "in_submissions": batch.submissions,
        "in_values": values_path,
        "in_issues": batch.issues,
        "in_runs": runs,
        "in_publication_log": ledger.publication_log(settings.ledger_dir),
        "in_run_context": pd.DataFrame(
            [{"run_id": run_id, "published_at": published_at or _now(), "as_of": as_of.isoformat()}]
        ),
        "in_receipts": receipts.read(settings.home / receipts.RECEIPTS),
    }
    build.build_warehouse(path, inputs, range(min(years) - 1, max(years) + 2), settings.storage_version)
    values_path.unlink()  # as the flow does once the build is done
    if record:
        ledger.record_publication(settings.ledger_dir, path, run_id)
    return path


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server for every test that runs a real flow in-process (it takes seconds to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_warehouse(demo_inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = make_home(tmp_path_factory.mktemp("home"), demo_inbox)
    return build_home(settings)


@pytest.fixture
def demo_db(demo_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    yield con
    con.close()


# The two lanes (`make check` runs the fast one; `make test`, what CI runs, both). A test is in the full lane
# when it needs the demo inbox written (seconds), a Prefect server, or its module starts processes of its own;
# everything else is a unit test. Decided from what a test uses, so a new test falls into its lane by itself.
FULL_LANE_FIXTURES = {"demo_inbox", "prefect_harness"}
FULL_LANE_MODULES = {
    "test_bench_smoke", "test_docs", "test_faults", "test_first_run", "test_fuzz", "test_injection",
    "test_notify_and_lock", "test_prefect_server", "test_scaleout",
}  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module in FULL_LANE_MODULES or FULL_LANE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.full)
