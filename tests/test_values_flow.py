"""The build's bulkhead under the real nightly flow: a file whose every cell is plausible but whose figures add
up to an absurd total (a carrier claiming 900 million mobile subscribers in each of 11 districts) makes the mart
check refuse the build; the run rejects that file with the reason, builds again without it and publishes."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from prefect.testing.utilities import prefect_test_harness

from flows.nightly import nightly
from tasks import build
from tests.test_values import vt01

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def prefect_harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_an_absurd_sum_rejects_its_file_and_the_run_publishes_the_rest(
    prefect_harness, tmp_path, monkeypatch
):
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    vt01(inbox / "vnpt_12.xlsx")
    vt01(
        inbox / "viettel_12.xlsx",
        mobile=dict.fromkeys(range(11), 900_000_000),
        total=None,
        reporter="VIETTEL",
    )

    summary = nightly(as_of=date(2021, 1, 20))

    assert summary.status == "published" and summary.rejected == 1 and summary.accepted == 1
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        status = dict(con.execute("SELECT original_name, status FROM audit.submissions").fetchall())
        reason = con.execute(
            "SELECT reason_vi || ' / ' || reason_en FROM audit.submissions WHERE original_name = 'viettel_12.xlsx'"
        ).fetchone()
        rules = con.execute(
            "SELECT rule FROM audit.validation_issues WHERE original_name = 'viettel_12.xlsx' AND severity = 'error'"
        ).fetchall()
        absurd = con.execute(build.MART_VALUE_SQL).fetchall()
        mobile = con.execute(
            "SELECT value FROM mart.province_indicators WHERE indicator_code = 'TEL_SUBS_MOBILE' AND period = '2020'"
        ).fetchone()
    finally:
        con.close()
    assert status == {"vnpt_12.xlsx": "accepted", "viettel_12.xlsx": "rejected"}
    assert reason is not None and "TEL_SUBS_MOBILE" in reason[0] and "không hợp lý" in reason[0]
    assert rules == [("implausible_figure",)]
    assert absurd == []
    assert mobile == (sum(1000 * (i + 1) for i in range(11)),)  # VNPT's figure alone

    again = nightly(as_of=date(2021, 1, 20))  # the next run works: nothing new, the publication stands
    assert again.status == "unchanged"
