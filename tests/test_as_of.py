"""An earlier logical date never rewrites the present: the published warehouse and the ledger stay as they are."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness
from typer.testing import CliRunner

from flows.nightly import nightly
from ictstat.cli import app
from tasks import ledger

pytestmark = pytest.mark.e2e
runner = CliRunner()


@pytest.fixture(scope="module")
def published(demo_inbox: Path, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("as_of_home")
    shutil.copytree(demo_inbox, home / "inbox")
    with pytest.MonkeyPatch.context() as mp, prefect_test_harness(server_startup_timeout=120):
        mp.setenv("ICTSTAT_HOME", str(home))
        assert nightly(as_of=date(2026, 1, 1)).status == "published"
        yield home


def _state(home: Path) -> dict[str, str]:
    files = [home / "warehouse.duckdb", *sorted((home / "archive" / "ledger").glob("*.jsonl"))]
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def test_the_last_publication_knows_its_logical_date(published: Path) -> None:
    assert ledger.last_logical_date(published / "archive" / "ledger") == date(2026, 1, 1)


def test_run_with_an_earlier_date_is_refused_and_changes_nothing(published: Path) -> None:
    before = _state(published)
    result = runner.invoke(app, ["run", "--as-of", "2020-07-15"])
    assert result.exit_code == 2, result.output
    assert (
        "Ngày dữ liệu 2020-07-15 sớm hơn" in result.output
        and " / The logical date 2020-07-15" in result.output
    )
    assert "mart.province_indicators_as_of" in result.output
    assert "Traceback" not in result.output
    assert _state(published) == before  # the published file and every ledger file byte-identical


def test_the_flow_itself_refuses_an_earlier_date(published: Path) -> None:
    before = _state(published)
    with pytest.raises(ledger.EarlierThanPublished, match="2025-12-31"):
        nightly(as_of=date(2025, 12, 31))
    assert _state(published) == before


@pytest.mark.parametrize("text", ["2020-13-01", "yesterday", "2020-02-30"])
def test_a_bad_date_is_a_usage_error_on_one_line(published: Path, text: str) -> None:
    before = _state(published)
    result = runner.invoke(app, ["run", "--as-of", text])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0, result.output
    assert f"Ngày không hợp lệ: '{text}'" in result.output and f"Invalid date: '{text}'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert _state(published) == before


def test_the_same_or_a_later_date_still_runs(published: Path) -> None:
    ledger.refuse_earlier_logical_date(published / "archive" / "ledger", date(2026, 1, 1))  # no exception
    assert nightly(as_of=date(2026, 1, 1)).status == "unchanged"
