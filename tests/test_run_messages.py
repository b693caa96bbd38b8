"""What runs say and what the forms accept: the backfill and nightly forms' JSON schema (titles, patterns, pick
lists, a date field), the bilingual convention, the run's state message, the backfill summary in every mode and
no failure notice for a parameter error."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from prefect.states import Failed

from flows.backfill import backfill, summary_lines
from flows.nightly import nightly
from flows.notify import notify_failure
from flows.reports import RejectedFile, RunSummary, state_message
from ictstat.messages import bilingual, is_parameter_error, parameter_error
from ictstat.periods import PERIOD_PATTERN
from tasks import backfill as selection


def test_the_backfill_form_has_titles_patterns_and_pick_lists():
    fields = backfill.parameters.model_dump()["properties"]
    assert fields["period_from"]["title"] == "Từ kỳ / From period"
    assert fields["period_to"]["title"] == "Đến kỳ / To period"
    assert fields["period_from"]["pattern"] == fields["period_to"]["pattern"] == PERIOD_PATTERN
    assert (
        fields["mode"]["enum"] == ["missing", "failed", "all"] and fields["mode"]["title"] == "Chế độ / Mode"
    )
    reporters = fields["reporters"]
    assert reporters["type"] == "array" and reporters["title"] == "Đơn vị báo cáo / Reporters"
    choices = reporters["items"]["enum"]
    assert {"VNPT", "VIETTEL", "VNPOST", "VHTT_688", "SO_TTTT", "telecom_carrier", "district"} <= set(choices)
    assert fields["reparse"]["title"] == "Đọc lại tệp / Reparse" and fields["dry_run"]["type"] == "boolean"
    assert all(" / " in f["title"] for f in fields.values())  # Vietnamese, then English, on every field


def test_the_nightly_form_has_a_plain_date_and_a_pick_list():
    fields = nightly.parameters.model_dump()["properties"]
    assert fields["as_of"]["type"] == "string" and fields["as_of"]["format"] == "date"
    assert "anyOf" not in fields["as_of"]  # no "date | None" switch
    assert fields["as_of"]["title"] == "Ngày tính / As of"
    assert fields["kind"]["enum"] == ["nightly", "manual"]


def test_the_form_pattern_refuses_what_clerks_mistype():
    import re

    for good in ("2020", "2020-H1", "2020-H2", "2020-Q4", "2020-01", "2020-12"):
        assert re.fullmatch(PERIOD_PATTERN, good), good
    for bad in ("01/2020", "2020-13", "2020-00", "2020-Q5", "2020-H3", "20201", "2020-1", "2020 ", "thang 1"):
        assert not re.fullmatch(PERIOD_PATTERN, bad), bad


def test_parameter_errors_are_one_bilingual_message_vietnamese_first():
    with pytest.raises(selection.BackfillError) as err:
        selection.parse_request("2020-12", "2020-01", [], "all")
    message = str(err.value)
    assert message == (
        "Tham số không hợp lệ — Khoảng kỳ bị đảo ngược: 2020-12 sau 2020-01. / "
        "Invalid parameters — The range is reversed: 2020-12 comes after 2020-01."
    )
    assert is_parameter_error(message) and message.count(" / ") == 1
    assert is_parameter_error("Validation of flow parameters failed with error: ...")
    assert not is_parameter_error("warehouse step 50_mart.sql: Binder Error")
    assert bilingual("Xong", "Done") == "Xong / Done"


def summary(**kw) -> RunSummary:
    base = dict(run_id="R1", kind="manual", started_at="", finished_at="", files_total=456, files_new=1,
                accepted=455, accepted_with_warnings=0, rejected=0, duplicates=0, superseded=0, issues=0,
                warehouse="w.duckdb")  # fmt: skip
    return RunSummary(**{**base, **kw})


def rejected(reporter="VNPT", form="VT-01", period="2020-06", sid="S0000456") -> RejectedFile:
    return RejectedFile(sid, reporter, form, period, "email/vnpt_t6.xlsx", "1 lỗi; lỗi đầu tiên: Ô E7 ...",
                        "1 error; first: Cell E7 ...", f"/home/feedback/{sid}_vnpt_t6_phan_hoi.xlsx")  # fmt: skip


def test_the_state_message_names_the_rejected_files():
    one = summary(rejected=1, rejected_files=[rejected()])
    assert state_message(one) == (
        "Hoàn thành — 1 tệp bị từ chối: VNPT VT-01 06/2020 / Completed — 1 file rejected: VNPT VT-01 06/2020"
    )
    assert state_message(summary()) == (
        "Hoàn thành — 455 tệp được chấp nhận, không tệp nào bị từ chối / Completed — 455 files accepted, "
        "none rejected"
    )
    many = summary(
        rejected=5, rejected_files=[rejected(period=f"2020-0{m}", sid=f"S{m}") for m in range(1, 6)]
    )
    assert state_message(many).endswith("VNPT VT-01 03/2020 and 2 more")
    assert "và 2 tệp khác / " in state_message(many)
    unchanged = summary(status="unchanged")
    assert state_message(unchanged).startswith("Không có gì mới, kho dữ liệu giữ nguyên — ")
    assert " / Nothing new, warehouse unchanged — " in state_message(unchanged)
    # a file rejected before its reporter or period could be read is named by its file
    assert rejected(reporter="", period="").label == "email/vnpt_t6.xlsx"


def test_a_rejected_file_logs_its_reason_and_feedback_workbook_in_both_languages():
    line = rejected().log_line()
    vi, en = line.split(" / Feedback")[0], line
    assert vi.startswith("Tệp bị từ chối: VNPT VT-01 06/2020 (email/vnpt_t6.xlsx, S0000456): 1 lỗi")
    assert "Phản hồi gửi đơn vị: /home/feedback/S0000456_vnpt_t6_phan_hoi.xlsx" in vi
    assert "File rejected: VNPT VT-01 06/2020" in en and en.endswith("S0000456_vnpt_t6_phan_hoi.xlsx")


def _selection(n: int) -> selection.Selection:
    rows = [{"submission_id": f"S{i}", "sha256": f"{i:064x}", "file": f"f{i}", "reporter": "VNPT", "form": "VT-01",
             "period": "2020-01", "status_now": "rejected"} for i in range(n)]  # fmt: skip
    return selection.Selection(reparse=rows)  # type: ignore[arg-type]


def test_the_backfill_summary_counts_what_became_of_the_selection_in_every_mode():
    request = selection.parse_request("2019", "2020", [], "all")
    # mode all: every file of the range is selected again after the run; that is not "still to do"
    lines = summary_lines(request, _selection(74), _selection(74), Counter(accepted=74))
    text = "\n".join(lines)
    assert "tệp được chọn / files selected: 74" in text and "nay được chấp nhận / now accepted: 74" in text
    assert "vẫn bị từ chối / still rejected: 0" in text and "still to do" not in text
    failed = selection.parse_request("2019", "2020", [], "failed")
    lines = summary_lines(failed, _selection(3), _selection(1), Counter(accepted=2, rejected=1))
    text = "\n".join(lines)
    assert (
        "now accepted: 2" in text and "still rejected: 1" in text and "still to do (mode failed): 1" in text
    )


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        _Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_no_failure_notice_for_a_parameter_error(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ICTSTAT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")

    class Named:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    flow, run = Named(name="backfill"), Named(name="brave-fox", id="0", parameters={})
    try:
        typo = Failed(message=parameter_error("Khoảng kỳ bị đảo ngược.", "The range is reversed."))
        notify_failure(flow, run, typo)
        assert _Hook.received == []
        notify_failure(flow, run, Failed(message="warehouse step 50_mart.sql: Binder Error"))
        assert len(_Hook.received) == 1 and "50_mart.sql" in _Hook.received[0]["text"]
    finally:
        server.shutdown()


def test_the_nightly_schedule_says_its_timezone_in_both_deployment_variants():
    from pathlib import Path

    import yaml

    from deployments.serve import BACKFILL_DESCRIPTION, NIGHTLY_DESCRIPTION, deployments

    assert "01:30 giờ Việt Nam (Asia/Ho_Chi_Minh)" in NIGHTLY_DESCRIPTION
    served = {d.name: d.description for d in deployments()}
    assert served == {"nightly": NIGHTLY_DESCRIPTION, "backfill": BACKFILL_DESCRIPTION}
    spec = yaml.safe_load((Path(__file__).parents[1] / "deployments" / "prefect.yaml").read_text("utf-8"))
    declared = {d["name"]: d["description"] for d in spec["deployments"]}
    assert declared == served


def test_ictstat_run_prints_the_rejected_files_and_their_reasons_not_a_query(capsys):
    from ictstat.cli import print_run_outcome

    print_run_outcome(summary(rejected=1, rejected_files=[rejected()]))
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("Hoàn thành — 1 tệp bị từ chối: VNPT VT-01 06/2020 / Completed — 1 file rejected")
    assert "✗ VNPT VT-01 06/2020 (email/vnpt_t6.xlsx, S0000456)" in out
    assert "1 lỗi; lỗi đầu tiên: Ô E7 ... / 1 error; first: Cell E7 ..." in out
    assert "Phản hồi / Feedback: /home/feedback/S0000456_vnpt_t6_phan_hoi.xlsx" in out
    assert "SELECT" not in out
