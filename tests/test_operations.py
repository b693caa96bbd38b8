"""Submission tracking, corrections with history (as-of and restatements), backfills and failure notices."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import duckdb
import openpyxl
import pytest

from tasks import backfill as selection
from tests.conftest import build_home, make_home

SUBS = "Thuê bao - BTS"
VNPT_DEC = "vien_thong/2020/12/vnpt_bc_vien_thong_thang_12_2020.xlsx"


def test_every_reporter_and_period_owed_has_a_status(demo_db):
    rows = dict(
        demo_db.execute(
            "SELECT status, count(*) FROM mart.submission_status WHERE left(period, 4) IN ('2019', '2020') "
            "GROUP BY status"
        ).fetchall()
    )
    # 7 carriers x 24 months + 11/10 postal x 12 + 11 offices x (2019, 2020, 2020-H1) + the department x 2
    assert sum(rows.values()) == 7 * 24 + 11 * 12 + 10 * 12 + 11 * 3 + 2
    assert rows.get("missing", 0) == 0 and rows.get("rejected", 0) == 0
    late = demo_db.execute(
        "SELECT reporter_code, period, days_late FROM mart.submission_status WHERE status = 'late' ORDER BY 1"
    ).fetchall()
    assert late == [("CMC", "2019-11", 2), ("SCTV", "2020-12", 8), ("VIETNAMOBILE", "2020-05", 4)]


def test_periods_after_the_demo_are_missing_until_the_province_merged(demo_db):
    row = demo_db.execute(
        "SELECT status, CAST(deadline AS VARCHAR) FROM mart.submission_status WHERE reporter_code = 'VNPT' "
        "AND period = '2021-01'"
    ).fetchone()
    assert row == ("missing", "2021-02-10")
    # the branches report to Đồng Nai from 2025-07-01: nothing is owed here after June 2025
    assert demo_db.execute(
        "SELECT max(period) FROM mart.submission_status WHERE reporter_code = 'VNPT'"
    ).fetchone() == ("2025-06",)
    # a stopped carrier owes nothing after it stopped
    assert demo_db.execute(
        "SELECT max(period) FROM mart.submission_status WHERE reporter_code = 'HOPNHAT'"
    ).fetchone() == ("2019-12",)


@pytest.fixture(scope="module")
def corrected_home(demo_inbox, tmp_path_factory):
    """Two publications: the demo, then a corrected December from VNPT."""
    settings = make_home(tmp_path_factory.mktemp("corrections"), demo_inbox)
    build_home(settings, run_id="R1", record=True)
    wb = openpyxl.load_workbook(settings.inbox / VNPT_DEC)
    wb[SUBS]["E7"] = wb[SUBS]["E7"].value + 500
    wb[SUBS]["E18"] = wb[SUBS]["E18"].value + 500
    wb.save(settings.inbox / "vnpt_12_2020_dinh_chinh.xlsx")
    path = build_home(settings, run_id="R2", record=True)
    con = duckdb.connect(str(path), read_only=True)
    yield settings, con
    con.close()


def test_a_correction_is_a_restatement_with_its_submission(corrected_home):
    _, con = corrected_home
    rows = con.execute(
        "SELECT period, old_value, new_value, change, run_id, submissions FROM mart.restatements "
        "WHERE indicator_code = 'TEL_SUBS_MOBILE' ORDER BY period"
    ).fetchall()
    assert [r[0] for r in rows] == ["2020", "2020-12", "2020-H2", "2020-Q4"]
    _, old, new, change, run_id, subs = rows[0]
    assert (old, new, change, run_id) == (1_294_026, 1_294_526, 500, "R2")
    assert "vnpt_12_2020_dinh_chinh.xlsx" in subs
    # the telephone total moves with it; nothing unrelated is restated
    assert {
        r[0] for r in con.execute("SELECT DISTINCT indicator_code FROM mart.restatements").fetchall()
    } == {
        "TEL_SUBS_MOBILE",
        "TEL_SUBS_PHONE",
    }


def test_figures_as_published_on_a_date(corrected_home):
    _, con = corrected_home
    first, second = (
        r[0]
        for r in con.execute("SELECT DISTINCT published_at FROM audit.publication_log ORDER BY 1").fetchall()
    )

    def as_of(day: str) -> float | None:
        row = con.execute(
            "SELECT value FROM mart.province_indicators_as_of(CAST(? AS TIMESTAMPTZ)) "
            "WHERE indicator_code = 'TEL_SUBS_MOBILE' AND period = '2020'",
            [day],
        ).fetchone()
        return row[0] if row else None

    assert as_of(str(first - timedelta(seconds=1))) is None  # nothing was published yet
    assert as_of(str(first)) == 1_294_026
    assert as_of(str(second - timedelta(microseconds=1))) == 1_294_026
    assert as_of(str(second)) == 1_294_526
    current = con.execute(
        "SELECT value FROM mart.province_indicators WHERE indicator_code = 'TEL_SUBS_MOBILE' AND period = '2020'"
    ).fetchone()[0]
    assert current == 1_294_526


def test_the_publication_log_only_grows_by_what_changed(corrected_home):
    settings, _ = corrected_home
    lines = (settings.ledger_dir / "publications.jsonl").read_text(encoding="utf-8").splitlines()
    second = [json.loads(line) for line in lines if json.loads(line)["run_id"] == "R2"]
    assert len(second) == 8  # mobile and telephone totals for 2020-12, Q4, H2 and 2020
    assert {r["indicator_code"] for r in second} == {"TEL_SUBS_MOBILE", "TEL_SUBS_PHONE"}


# --- backfill parameters and selection ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2020-12", "2020-01", [], "all"), "reversed"),
        (("2020-13", "2020-12", [], "all"), "not a period"),
        (("2020-01", "2020-12", ["VNPT", "NOBODY"], "all"), "NOBODY"),
        (("2020-01", "2020-12", [], "everything"), "must be one of"),
    ],
)
def test_invalid_backfill_parameters_fail_fast_with_a_reason(args, message):
    with pytest.raises(selection.BackfillError, match=message):
        selection.parse_request(*args)


def test_reporters_may_be_codes_or_kinds():
    request = selection.parse_request("2020", "2020", ["vnpt", "district"], "all")
    assert request.reporters[0] == "VNPT" and "VHTT_688" in request.reporters and len(request.reporters) == 12


def test_selection_by_mode_range_and_reporter(corrected_home):
    settings, _ = corrected_home

    def chosen(*args):
        return selection.select(selection.parse_request(*args), settings.ledger_dir, settings.inbox,
                                settings.warehouse_path)  # fmt: skip

    assert len(chosen("2020-01", "2020-03", ["VNPT"], "all").reparse) == 3
    assert len(chosen("2020", "2020", ["telecom_carrier"], "all").reparse) == 7 * 12 + 1  # and the correction
    assert chosen("2019", "2020", [], "failed").reparse == []  # nothing was rejected
    assert chosen("2019", "2020", [], "missing").reparse == []  # no slot of 2019-2020 is missing


# --- failure notifications ---------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_failed_run_posts_its_summary_and_never_logs_the_webhook(tmp_path, monkeypatch, caplog):
    from flows.notify import notify_failure

    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    secret_url = f"http://127.0.0.1:{server.server_port}/hooks/TOKEN-s3cr3t"
    monkeypatch.setenv("ICTSTAT_WEBHOOK_URL", secret_url)

    class Named:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    try:
        notify_failure(
            Named(name="nightly"),
            Named(name="brave-fox", id="0000", parameters={"as_of": date(2021, 1, 2)}),
            Named(name="Failed", message="warehouse step 50_mart.sql: Binder Error"),
        )
    finally:
        server.shutdown()
    assert _Hook.received and _Hook.received[-1]["state"] == "Failed"
    assert "50_mart.sql" in _Hook.received[-1]["text"]
    assert "s3cr3t" not in caplog.text and "ended Failed" in caplog.text

    # an unreachable webhook is reported without its URL and does not raise
    monkeypatch.setenv("ICTSTAT_WEBHOOK_URL", "http://127.0.0.1:9/hooks/TOKEN-s3cr3t")
    caplog.clear()
    notify_failure(
        Named(name="nightly"), Named(name="x", id="1", parameters={}), Named(name="Crashed", message="")
    )
    assert "could not be posted" in caplog.text and "s3cr3t" not in caplog.text
    shutil.rmtree(tmp_path, ignore_errors=True)
