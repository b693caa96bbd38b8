"""The real nightly flow under Prefect (a session-scoped test harness) on the demo inbox."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pytest
from prefect.testing.utilities import prefect_test_harness

from flows.nightly import nightly
from tests.conftest import DEMO_FILES, report_figures

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def prefect_harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def home(tmp_path, demo_inbox, monkeypatch):
    shutil.copytree(demo_inbox, tmp_path / "inbox")
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    return tmp_path


def test_nightly_flow_publishes_the_report_figures_and_reruns_safely(prefect_harness, home):
    first = nightly(as_of=date(2026, 1, 1))
    assert (first.files_total, first.files_new, first.accepted, first.rejected) == (
        DEMO_FILES,
        DEMO_FILES,
        DEMO_FILES,
        0,
    )
    published = home / "warehouse.duckdb"
    assert first.warehouse == str(published)
    assert list((home / ".build").iterdir()) == []  # the build file was renamed into place
    assert (home / "exports" / "phu_luc_2020.xlsx").exists()  # refreshed for the latest year that is over
    assert list((home / "feedback").iterdir()) == []  # no file had an issue

    con = duckdb.connect(str(published), read_only=True)
    try:
        got = dict(
            con.execute(
                "SELECT indicator_code, value FROM mart.province_indicators WHERE period = '2020' "
                "AND qualifier = 'exact'"
            ).fetchall()
        )
    finally:
        con.close()
    exact = {
        code: float(r["value_2020"]) for code, r in report_figures().items() if r["qualifier"] == "exact"
    }
    assert {code: got.get(code) for code in exact} == exact

    # Nothing new the next night: the same figures are republished, and the run is recorded.
    second = nightly(as_of=date(2026, 1, 2))
    assert (second.files_total, second.files_new) == (DEMO_FILES, 0)
    con = duckdb.connect(str(published), read_only=True)
    try:
        runs = con.execute("SELECT kind, files_new, status FROM audit.runs ORDER BY started_at").fetchall()
        mobile = con.execute(
            "SELECT value FROM mart.province_indicators WHERE indicator_code = 'TEL_SUBS_MOBILE' AND period = '2020'"
        ).fetchone()[0]
    finally:
        con.close()
    assert runs == [("nightly", DEMO_FILES, "published"), ("nightly", 0, "published")]
    assert mobile == 1_294_026
