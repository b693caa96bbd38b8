"""The real nightly flow under Prefect (a session-scoped test harness) on the demo inbox."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

import duckdb
import openpyxl
import pytest

from flows.nightly import nightly
from tests.conftest import DEMO_FILES, report_figures

SUBS = "Thuê bao - BTS"
VNPT_DEC = "vien_thong/2020/12/vnpt_bc_vien_thong_thang_12_2020.xlsx"

pytestmark = pytest.mark.e2e


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

    # Nothing new the next night, and 2 January changes no period's or deadline's state: the published file
    # is left exactly as it is and the run is recorded as unchanged.
    before = (published.read_bytes(), published.stat().st_ino, published.stat().st_mtime_ns)
    second = nightly(as_of=date(2026, 1, 2))
    assert (second.status, second.files_total, second.files_new, second.accepted) == (
        "unchanged", DEMO_FILES, 0, DEMO_FILES
    )  # fmt: skip
    assert (published.read_bytes(), published.stat().st_ino, published.stat().st_mtime_ns) == before

    # 11 January: the monthly deadline (the 10th) has passed since, so the status of December's reports may
    # change; the warehouse is rebuilt, and audit.runs lists the unchanged run too.
    third = nightly(as_of=date(2026, 1, 11))
    assert (third.status, third.files_new) == ("published", 0)
    con = duckdb.connect(str(published), read_only=True)
    try:
        runs = con.execute("SELECT kind, files_new, status FROM audit.runs ORDER BY started_at").fetchall()
        mobile = con.execute(
            "SELECT value FROM mart.province_indicators WHERE indicator_code = 'TEL_SUBS_MOBILE' AND period = '2020'"
        ).fetchone()[0]
    finally:
        con.close()
    assert runs == [
        ("nightly", DEMO_FILES, "published"),
        ("nightly", 0, "unchanged"),
        ("nightly", 0, "published"),
    ]
    assert mobile == 1_294_026


def test_a_nightly_run_rebuilds_when_the_published_file_was_replaced_or_a_setting_changed(
    prefect_harness, home, monkeypatch
):
    published = home / "warehouse.duckdb"
    nightly(as_of=date(2026, 1, 1))
    assert nightly(as_of=date(2026, 1, 1)).status == "unchanged"
    published.unlink()  # gone (or restored from a backup): it must be built again
    assert nightly(as_of=date(2026, 1, 1)).status == "published"
    assert published.exists()
    calendar = home / "calendar.csv"  # a deadline moved: every status may change
    text = (Path(__file__).parents[1] / "ictstat" / "refdata" / "reporting_calendar.csv").read_text()
    calendar.write_text(text.replace(",1,10,", ",1,5,"), encoding="utf-8")
    monkeypatch.setenv("ICTSTAT_REPORTING_CALENDAR", str(calendar))
    assert nightly(as_of=date(2026, 1, 1)).status == "published"
    assert nightly(as_of=date(2026, 1, 1)).status == "unchanged"
    assert nightly(as_of=date(2026, 2, 1)).status == "published"  # January is over


def test_backfill_dry_run_changes_nothing_and_a_real_one_reparses_its_selection(prefect_harness, home):
    from flows.backfill import backfill

    nightly(as_of=date(2026, 1, 1))
    published = home / "warehouse.duckdb"
    before = (published.read_bytes(), published.stat().st_mtime_ns)
    ledger = (home / "archive" / "ledger" / "intake.jsonl").read_text(encoding="utf-8")
    late = home / "inbox" / "late.xlsx"
    late.write_bytes(next((home / "inbox").rglob("*.xlsx")).read_bytes())

    preview = backfill(
        period_from="2020-01", period_to="2020-03", reporters=["VNPT"], mode="all", dry_run=True
    )
    assert preview == {"dry_run": True, "selected": 3, "new_in_inbox": 1}
    assert (published.read_bytes(), published.stat().st_mtime_ns) == before
    assert (home / "archive" / "ledger" / "intake.jsonl").read_text(encoding="utf-8") == ledger

    (log,) = (home / "cache" / "parsed").glob("parses-*.log")
    lines = log.read_bytes().count(b"\n")
    result = backfill(
        period_from="2020-01", period_to="2020-03", reporters=["VNPT"], mode="all", reparse=True
    )
    assert result["selected"] == 3 and result["rejected"] == 0
    # mode all: the three files selected are all accepted after the run (they are "selected" again, by design)
    assert (result["now_accepted"], result["now_rejected"], result["still_selected"]) == (3, 0, 3)
    # only the selection was parsed again (a line each); the copy in late.xlsx is a duplicate
    assert log.read_bytes().count(b"\n") - lines == 3
    con = duckdb.connect(str(published), read_only=True)
    try:
        kinds = [r[0] for r in con.execute("SELECT kind FROM audit.runs ORDER BY started_at").fetchall()]
        dup = con.execute("SELECT status FROM audit.submissions WHERE relative_path = 'late.xlsx'").fetchone()
    finally:
        con.close()
    assert kinds == ["nightly", "backfill"] and dup == ("duplicate",)


def test_backfill_with_a_reversed_range_fails_fast(prefect_harness, home, monkeypatch):
    from flows.backfill import backfill
    from tasks.backfill import BackfillError

    monkeypatch.setenv("ICTSTAT_WEBHOOK_URL", "http://127.0.0.1:9/hook")  # nothing listens: a post would log
    with pytest.raises(BackfillError, match="reversed"):
        backfill(period_from="2020-12", period_to="2020-01")
    state = backfill(period_from="2020-12", period_to="2020-01", return_state=True)
    assert state.is_failed()
    assert state.message == (
        "Tham số không hợp lệ — Khoảng kỳ bị đảo ngược: 2020-12 sau 2020-01. / "
        "Invalid parameters — The range is reversed: 2020-12 comes after 2020-01."
    )
    assert not (home / "warehouse.duckdb").exists()
    logs = run_logs(state.state_details.flow_run_id)
    assert not any("notification could not be posted" in m or "Traceback" in m for _, m in logs), logs


def run_logs(flow_run_id) -> list[tuple[int, str]]:
    """The (level, message) of every log line of a flow run and its tasks, as the UI shows them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # logs are sent in the background: every line of the run first
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    return [(log.level, log.message) for log in logs]


def test_a_rejected_file_is_named_in_the_run_state_and_logged_with_its_feedback_workbook(
    prefect_harness, home
):
    june = home / "inbox" / "vien_thong" / "2020" / "06" / "vnpt_bc_vien_thong_thang_06_2020.xlsx"
    wb = openpyxl.load_workbook(june)
    wb[SUBS]["E7"] = "khong ro"  # not a number: the resent copy is rejected, the accepted one stays current
    wb.save(home / "inbox" / "gui_lai_vnpt_t6.xlsx")

    state = nightly(as_of=date(2026, 1, 1), return_state=True)
    assert state.is_completed()
    assert state.message == (
        "Hoàn thành — 1 tệp bị từ chối: VNPT VT-01 06/2020 / Completed — 1 file rejected: VNPT VT-01 06/2020"
    )
    summary = state.result()
    (f,) = summary.rejected_files
    assert (f.reporter, f.form, f.period, f.file) == ("VNPT", "VT-01", "2020-06", "gui_lai_vnpt_t6.xlsx")
    assert Path(f.feedback).exists() and Path(f.feedback).parent == home / "feedback"
    warnings = [m for level, m in run_logs(state.state_details.flow_run_id) if level == 30]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("Tệp bị từ chối: VNPT VT-01 06/2020 (gui_lai_vnpt_t6.xlsx")
    assert f.feedback in warnings[0] and "File rejected: VNPT VT-01 06/2020" in warnings[0]
    # the next night has nothing new: it says so, still names the rejected file, and warns no more
    again = nightly(as_of=date(2026, 1, 2), return_state=True)
    assert again.message.startswith("Không có gì mới, kho dữ liệu giữ nguyên — 1 tệp bị từ chối: VNPT VT-01")
    assert not [m for level, m in run_logs(again.state_details.flow_run_id) if level == 30]


def _marts(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            table: con.execute(f"SELECT * FROM mart.{table} ORDER BY ALL").fetchall()
            for table in (
                "province_indicators",
                "district_indicators",
                "carrier_indicators",
                "reconciliation",
            )
        }
    finally:
        con.close()


def test_parsing_on_a_dask_cluster_publishes_the_same_warehouse(
    prefect_harness, tmp_path, demo_inbox, monkeypatch
):
    from distributed import LocalCluster

    local, distributed_home = tmp_path / "local", tmp_path / "dask"
    for home in (local, distributed_home):
        shutil.copytree(demo_inbox, home / "inbox")
    monkeypatch.setenv("ICTSTAT_HOME", str(local))
    nightly(as_of=date(2026, 1, 1))  # parses in a local process pool (455 files, 2 workers)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        monkeypatch.setenv("ICTSTAT_HOME", str(distributed_home))
        monkeypatch.setenv("ICTSTAT_DASK_ADDRESS", cluster.scheduler_address)
        monkeypatch.setenv("ICTSTAT_DASK_MIN_FILES", "1")  # 455 files: fewer than production sends to Dask
        summary = nightly(as_of=date(2026, 1, 1))
    assert summary.accepted == DEMO_FILES
    assert _marts(distributed_home / "warehouse.duckdb") == _marts(local / "warehouse.duckdb")


class _Clock:
    """``datetime`` for the flow's intake and publication: one instant in the middle of a second, ticking a
    microsecond per call, so that a file is received and published within the same second."""

    base = datetime.now(UTC).replace(microsecond=500_000) + timedelta(days=1)
    calls = 0

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:
        cls.calls += 1
        return (cls.base + timedelta(microseconds=cls.calls)).astimezone(tz)


def test_a_correction_published_in_the_second_it_arrived_is_in_its_restatement(
    prefect_harness, tmp_path, demo_inbox, monkeypatch
):
    """A publication's time keeps its microseconds: a correction received at 12:00:05.5 and published at
    12:00:05.6 arrived before the publication it caused (cut to 12:00:05 it would seem to arrive after)."""
    import flows.pipeline
    import tasks.intake

    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    (tmp_path / "inbox").mkdir()
    original = demo_inbox / VNPT_DEC
    shutil.copy2(original, tmp_path / "inbox" / original.name)
    monkeypatch.setattr(tasks.intake, "datetime", _Clock)
    monkeypatch.setattr(flows.pipeline, "datetime", _Clock)
    nightly(as_of=date(2026, 1, 1))
    wb = openpyxl.load_workbook(original)
    wb[SUBS]["E7"] = wb[SUBS]["E7"].value + 500  # a district's mobile subscribers, and the total row
    wb[SUBS]["E18"] = wb[SUBS]["E18"].value + 500
    wb.save(tmp_path / "inbox" / "vnpt_12_2020_dinh_chinh.xlsx")
    _Clock.base += timedelta(seconds=10)
    nightly(as_of=date(2026, 1, 1))

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        received, published = con.execute(
            "SELECT s.received_at, r.finished_at FROM audit.submissions s, audit.runs r "
            "WHERE s.original_name = 'vnpt_12_2020_dinh_chinh.xlsx' AND r.finished_at = "
            "(SELECT max(finished_at) FROM audit.runs)"
        ).fetchone()
        assert received < published and received.second == published.second
        rows = con.execute(
            "SELECT period, change, submissions FROM mart.restatements WHERE indicator_code = 'TEL_SUBS_MOBILE' "
            "AND period = '2020-12'"
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == 1 and rows[0][1] == 500
    assert rows[0][2].endswith(" vnpt_12_2020_dinh_chinh.xlsx")


def test_a_hostile_inbox_never_stops_the_nightly_run(prefect_harness, tmp_path, demo_inbox, monkeypatch):
    """Issue 13: odd names, a pipe, a link out of the inbox and a copy that crashes the parser, all in one
    inbox: the run publishes the real files, holds or withdraws the others, and the next runs work."""
    import os

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(demo_inbox / VNPT_DEC, os.fsencode(inbox) + b"/b\xe1o c\xe1o T12.xlsx")
    shutil.copyfile(demo_inbox / VNPT_DEC.replace("12", "11"), inbox / "vnpt_T11\n[bold]x.xlsx")
    poison = openpyxl.load_workbook(demo_inbox / VNPT_DEC.replace("12", "10"))
    poison[SUBS]["E7"], poison[SUBS]["E8"] = 1.7e308, 1.7e308
    poison.save(inbox / "vnpt_T10 [bản sửa].xlsx")
    os.mkfifo(inbox / "pipe.xlsx")
    (tmp_path / "secret.xlsx").write_bytes(b"outside the inbox")
    (inbox / "link.xlsx").symlink_to(tmp_path / "secret.xlsx")
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))

    first = nightly(as_of=date(2026, 1, 1))
    assert first.status == "published" and first.accepted == 2 and first.deferred == 2
    assert first.quarantined + first.rejected == 1
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        rows = dict(con.execute("SELECT relative_path, status FROM audit.submissions").fetchall())
    finally:
        con.close()
    assert rows["b\\xe1o c\\xe1o T12.xlsx"] == "accepted" and rows["vnpt_T11\n[bold]x.xlsx"] == "accepted"
    assert rows["pipe.xlsx"] == rows["link.xlsx"] == "deferred"
    assert b"outside the inbox" not in b"".join(
        p.read_bytes() for p in (tmp_path / "archive").rglob("*.xlsx") if p.is_file()
    )
    second = nightly(as_of=date(2026, 1, 1))  # the same poisoned archive: still no failure
    assert second.status in ("published", "unchanged")
    assert nightly(as_of=date(2026, 1, 1)).status == "unchanged"


def test_ictstat_backfill_runs_the_flow_and_says_what_became_of_its_files(prefect_harness, home):
    from typer.testing import CliRunner

    from ictstat.cli import app

    nightly(as_of=date(2026, 1, 1))
    result = CliRunner().invoke(
        app, ["backfill", "2020-01", "2020-03", "--reporter", "vnpt", "--mode", "all"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Hoàn thành — " in text and "/ Completed — " in text
    assert "3 tệp được chọn: 3 nay được chấp nhận, 0 vẫn bị từ chối." in text
    assert "3 file(s) selected: 3 now accepted, 0 still rejected." in text
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        kinds = [r[0] for r in con.execute("SELECT kind FROM audit.runs ORDER BY started_at").fetchall()]
    finally:
        con.close()
    assert kinds == ["nightly", "backfill"]
