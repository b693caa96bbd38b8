"""What a run tells people: its summary, its issues, and who has not reported, as Prefect artifacts; the one-line
state message of the run; the files it rejected, each with the reason and its feedback workbook.

Every line people read here follows ``ictstat.messages``: Vietnamese, then English, joined by " / "; codes
(reporters, forms) come with their names.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, cast

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from ictstat import published, reference
from ictstat.messages import bilingual
from tasks.submissions import ParsedBatch

LABELS_SHOWN = 3  # rejected files named in a run's state message; the rest are counted


@dataclass(frozen=True)
class RejectedFile:
    """A rejected file as an operator needs it: who sent what, why, and the workbook to send back."""

    submission_id: str
    reporter: str
    form: str
    period: str
    file: str
    reason_vi: str
    reason_en: str
    feedback: str  # path of its feedback workbook, '' if none was written

    @property
    def label(self) -> str:
        """'VNPT VT-01 06/2020' (what a clerk calls the report), else the file's name."""
        parts = [p for p in (self.reporter, self.form, _period_label(self.period)) if p]
        return " ".join(parts) if len(parts) == 3 else self.file

    def log_line(self) -> str:
        where = self.feedback or "-"
        return bilingual(
            f"Tệp bị từ chối: {self.label} ({self.file}, {self.submission_id}): {self.reason_vi}. "
            f"Phản hồi gửi đơn vị: {where}",
            f"File rejected: {self.label} ({self.file}, {self.submission_id}): {self.reason_en}. "
            f"Feedback for the reporter: {where}",
        )


def _period_label(period: str) -> str:
    """2020-06 -> 06/2020 (as printed on the forms); other periods as they are."""
    if len(period) == 7 and period[4] == "-" and period[5:].isdigit():
        return f"{period[5:]}/{period[:4]}"
    return period


@dataclass
class RunSummary:
    run_id: str
    kind: str
    started_at: str
    finished_at: str
    files_total: int
    files_new: int
    accepted: int
    accepted_with_warnings: int
    rejected: int
    duplicates: int
    superseded: int
    issues: int
    warehouse: str
    feedback_dir: str = ""
    feedback_written: int = 0
    status: str = "published"
    deferred: int = 0  # held by intake this run (vanished, unreadable, still growing, not a file): retried
    quarantined: int = 0  # withdrawn from the build by an operator or after crashing their parse
    rejected_files: list[RejectedFile] = field(default_factory=list)


def rejected_files(warehouse: Path, feedback_dir: Path) -> list[RejectedFile]:
    """Every rejected file of the published warehouse with its reason and feedback workbook (if written)."""
    with published.connect(warehouse, copy_if_held=True) as con:  # an analyst's session must not stop it
        rows = con.execute(
            "SELECT submission_id, coalesce(reporter_code, ''), coalesce(form_code, ''), coalesce(period, ''), "
            "relative_path, coalesce(reason_vi, ''), coalesce(reason_en, '') FROM audit.submissions "
            "WHERE status = 'rejected' ORDER BY submission_id"
        ).fetchall()
    return [
        RejectedFile(sid, reporter, form, period, file, vi, en, _feedback_of(feedback_dir, sid))
        for sid, reporter, form, period, file, vi, en in rows
    ]


def _feedback_of(feedback_dir: Path, submission_id: str) -> str:
    found = sorted(feedback_dir.glob(f"{submission_id}_*_phan_hoi.xlsx")) if feedback_dir.is_dir() else []
    return str(found[0]) if found else ""


def state_message(summary: RunSummary) -> str:
    """The run's state message: what happened, and which files were rejected
    ("Hoàn thành — 1 tệp bị từ chối: VNPT VT-01 06/2020 / Completed — 1 file rejected: VNPT VT-01 06/2020")."""
    accepted = summary.accepted + summary.accepted_with_warnings
    if summary.status == "unchanged":
        vi_head, en_head = "Không có gì mới, kho dữ liệu giữ nguyên", "Nothing new, warehouse unchanged"
    else:
        vi_head, en_head = "Hoàn thành", "Completed"
    files = summary.rejected_files
    if not files and not summary.rejected:
        return bilingual(f"{vi_head} — {accepted} tệp được chấp nhận, không tệp nào bị từ chối",
                         f"{en_head} — {_files(accepted)} accepted, none rejected")  # fmt: skip
    n = max(summary.rejected, len(files))
    labels = ", ".join(f.label for f in files[:LABELS_SHOWN])
    more_vi = f" và {n - LABELS_SHOWN} tệp khác" if n > LABELS_SHOWN else ""
    more_en = f" and {n - LABELS_SHOWN} more" if n > LABELS_SHOWN else ""
    return bilingual(f"{vi_head} — {n} tệp bị từ chối: {labels}{more_vi}",
                     f"{en_head} — {_files(n)} rejected: {labels}{more_en}")  # fmt: skip


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def summary_markdown(summary: RunSummary, batch: ParsedBatch) -> str:
    lines = [
        f"# Lần chạy / run {summary.run_id} ({summary.kind})",
        "",
        state_message(summary),
        "",
        "| | tệp / files |",
        "|---|---:|",
        f"| đã nhận / received in all | {summary.files_total} |",
        f"| mới lần này / new this run | {summary.files_new} |",
        f"| chấp nhận / accepted | {summary.accepted} |",
        f"| chấp nhận, có cảnh báo / accepted with warnings | {summary.accepted_with_warnings} |",
        f"| bị từ chối / rejected | {summary.rejected} |",
        f"| trùng lặp / duplicates | {summary.duplicates} |",
        f"| bị thay bằng bản mới hơn / superseded by a newer file | {summary.superseded} |",
        f"| giữ lại, thử lại lần sau / deferred (retried next run) | {summary.deferred} |",
        f"| cách ly / quarantined | {summary.quarantined} |",
        "",
        f"Kho dữ liệu / warehouse: `{summary.warehouse}`",
        f"Tệp phản hồi cho đơn vị / feedback workbooks for clerks: `{summary.feedback_dir}` "
        f"({summary.feedback_written} tệp ghi lần này / written this run)",
    ]
    if summary.rejected_files:
        lines += ["", "## Tệp bị từ chối / Rejected files", "",
                  "| mã / id | đơn vị / reporter | biểu mẫu / form | kỳ / period | tệp / file | lý do / reason "
                  "| tệp phản hồi / feedback workbook |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        names = _reporter_names()
        for f in summary.rejected_files[:50]:
            who = f"{f.reporter} ({names[f.reporter]})" if f.reporter in names else f.reporter
            lines.append(
                f"| {f.submission_id} | {_md(who)} | {_md(f.form)} | {_md(f.period)} | {_md(f.file)} "
                f"| {_md(bilingual(f.reason_vi, f.reason_en))} | {_md(f.feedback or '-')} |"
            )
    for status, title in (
        ("deferred", "Giữ lại, thử lại lần chạy sau / Deferred: held back by intake, retried next run"),
        ("quarantined", "Cách ly / Quarantined: left out of the build"),
    ):
        chosen = batch.submissions[batch.submissions["intake_status"] == status]
        if chosen.empty:
            continue
        lines += ["", f"## {title}", "", "| mã / id | tệp / file | lý do / reason |", "|---|---|---|"]
        for r in chosen.head(50).itertuples():
            lines.append(
                f"| {r.submission_id} | {_md(r.relative_path)} | {_md(bilingual(r.reason_vi, r.reason_en))} |"
            )
    if not batch.issues.empty:
        top = batch.issues.groupby(["rule", "severity"]).size().sort_values(ascending=False).head(10)
        lines += ["", "## Lỗi thường gặp / Top issues", "",
                  "| quy tắc / rule | mức / severity | số lần / count |", "|---|---|---:|"]  # fmt: skip
        lines += [f"| {rule} | {sev} | {n} |" for (rule, sev), n in top.items()]
    return "\n".join(lines)


def _reporter_names() -> dict[str, str]:
    return {code: r.name_vi for (_, code), r in reference.reporters().items()}


def incomplete_periods(warehouse: Path) -> list[tuple[str, str, int, str]]:
    """Periods whose province figures are not complete: period, verdict, how many figures, what is missing."""
    with published.connect(warehouse, copy_if_held=True) as con:  # an analyst's session must not stop it
        rows = con.execute(
            "SELECT period, completeness, count(*), "
            "string_agg(DISTINCT coalesce(completeness_note_vi, '') || ' / ' || coalesce(completeness_note_en, ''), "
            "' | ') FROM mart.province_indicators WHERE completeness = 'incomplete' GROUP BY period, completeness "
            "ORDER BY period"
        ).fetchall()
    return [(str(p), str(c), int(n), str(notes)) for p, c, n, notes in rows]


def completeness_markdown(warehouse: Path) -> list[str]:
    """The run report's section on figures published short of a report (mart.province_indicators.completeness)."""
    rows = incomplete_periods(warehouse)
    if not rows:
        return [
            "",
            "Mọi số liệu của các kỳ đã kết thúc đều đủ báo cáo. / Every figure of a closed period is complete.",
        ]
    lines = ["", "## (*) Số liệu thiếu báo cáo / Figures published short of a report", "",
             "| kỳ / period | số liệu / figures | thiếu / missing |", "|---|---:|---|"]  # fmt: skip
    lines += [f"| {period} | {n} | {_md(notes)} |" for period, _, n, notes in rows[:50]]
    lines.append("Chỉ lấy số liệu đầy đủ / complete figures only: `WHERE completeness = 'complete'`")
    return lines


# Line breaks of any kind (a table row is one line) and control characters (they show as nothing or garbage).
_LINE_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f]")
# Everything inline Markdown gives a meaning to: emphasis, code, links and images, table cells, strikethrough.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()|~!{}#+\-.:])")


def _md(text: object, limit: int = 300) -> str:
    """Clerk-supplied text (a file name, a reason quoting a cell) inside a Markdown table cell, shown verbatim:
    one line, HTML tags as text (``&lt;script&gt;``), every Markdown punctuation backslash-escaped, so a name
    with ``|``, ``*``, ``[link](…)`` or a newline neither breaks the table nor becomes markup."""
    one_line = _CONTROL.sub("", _LINE_BREAKS.sub(" ", str(text or "")))[:limit]  # cut before escaping
    return _MD_SPECIAL.sub(r"\\\1", html.escape(one_line, quote=False))


def publish_run_artifacts(summary: RunSummary, batch: ParsedBatch) -> None:
    markdown = "\n".join([summary_markdown(summary, batch), *completeness_markdown(Path(summary.warehouse))])
    create_markdown_artifact(key="ictstat-run-report", markdown=markdown,
                             description=state_message(summary))  # fmt: skip
    issues = batch.issues
    if not issues.empty:
        reporters = dict(
            zip(batch.submissions["submission_id"], batch.submissions["reporter_code"], strict=True)
        )
        names = _reporter_names()
        rows = []
        for r in issues.head(200).itertuples():
            code = str(reporters.get(r.submission_id) or "")
            rows.append(
                {
                    "mã / id": r.submission_id,
                    "đơn vị / reporter": code,
                    "tên / name": names.get(code, ""),
                    "sheet": r.sheet,
                    "ô / cell": r.cell,
                    "quy tắc / rule": r.rule,
                    "mức / severity": r.severity,
                    "nội dung / message": bilingual(str(r.message_vi), str(r.message_en)),
                }
            )
        create_table_artifact(
            key="ictstat-issues",
            table=rows,
            description=bilingual(
                f"{len(rows)} lỗi đầu tiên trong {len(issues)}; tất cả trong audit.validation_issues và các tệp "
                f"phản hồi ở {summary.feedback_dir}",
                f"First {len(rows)} of {len(issues)} issues; all in audit.validation_issues and the feedback "
                f"workbooks in {summary.feedback_dir}",
            ),
        )


def publish_unchanged_artifacts(
    summary: RunSummary, last: dict[str, Any], warehouse: Path, as_of: date
) -> None:
    """The report of a run that found nothing to change, and who has not reported (read from the warehouse)."""
    markdown = "\n".join(
        [
            f"# Lần chạy / run {summary.run_id} ({summary.kind}): không có gì thay đổi / nothing to change",
            "",
            state_message(summary),
            "",
            bilingual(
                f"Không có tệp mới trong hộp thư kể từ lần chạy {last['run_id']} (xong lúc {last['finished_at']}) "
                "và không có gì khác mà việc dựng kho đọc đã thay đổi (mã nguồn, dữ liệu tham chiếu, cấu hình, kỳ "
                f"nào đã kết thúc và hạn nộp nào đã qua vào ngày {as_of}). Kho dữ liệu `{warehouse}` giữ nguyên.",
                f"No new file in the inbox since run {last['run_id']} (finished {last['finished_at']}), and "
                "nothing else a build reads has changed (code, reference data, settings, which periods are over "
                f"and which deadlines have passed on {as_of}). The published warehouse `{warehouse}` is left as "
                "it is.",
            ),
            "",
            "| | tệp / files |",
            "|---|---:|",
            f"| đã nhận / received in all | {summary.files_total} |",
            f"| chấp nhận (hiện hành) / accepted (current) | "
            f"{summary.accepted + summary.accepted_with_warnings} |",
            f"| bị thay bằng bản mới hơn / superseded by a newer file | {summary.superseded} |",
            f"| bị từ chối / rejected | {summary.rejected} |",
            f"| trùng lặp / duplicates | {summary.duplicates} |",
            f"| giữ lại, thử lại lần sau / deferred (retried next run) | {summary.deferred} |",
            f"| cách ly / quarantined | {summary.quarantined} |",
        ]
    )
    create_markdown_artifact(key="ictstat-run-report", markdown=markdown,
                             description=state_message(summary))  # fmt: skip
    publish_tracking_artifact(warehouse, as_of)


def missing_and_late(warehouse: Path, as_of: date, limit: int = 200) -> tuple[list[dict[str, object]], str]:
    """Reporters who have not reported (or reported late) for the periods whose deadline passed most recently."""
    # a snapshot copy when an analyst holds the file for writing: a run's report must not fail for that
    with published.connect(warehouse, copy_if_held=True) as con:
        rows = con.execute(
            "WITH recent AS (SELECT form_code, max(deadline) AS deadline FROM mart.submission_status "
            "WHERE deadline < ? GROUP BY form_code) "
            "SELECT s.form_code, s.period, s.reporter_code, "
            "(SELECT any_value(r.name_vi) FROM ref.reporters r WHERE r.reporter_code = s.reporter_code), "
            "s.status, CAST(s.deadline AS VARCHAR), s.days_late "
            "FROM mart.submission_status s JOIN recent r USING (form_code, deadline) "
            "WHERE s.status IN ('missing', 'late', 'rejected') ORDER BY s.form_code, s.reporter_code LIMIT ?",
            [as_of, limit],
        ).fetchall()
        totals = con.execute(
            "SELECT status, count(*) FROM mart.submission_status GROUP BY status ORDER BY status"
        ).fetchall()
    table = [
        {"đơn vị / reporter": r, "tên / name": name or "", "biểu mẫu / form": f, "kỳ / period": p,
         "trạng thái / status": s, "hạn nộp / deadline": d, "số ngày trễ / days late": n}
        for f, p, r, name, s, d, n in rows
    ]  # fmt: skip
    text = ", ".join(f"{status}: {n}" for status, n in totals)
    return table, text


def publish_tracking_artifact(warehouse: Path, as_of: date) -> None:
    table, totals = missing_and_late(warehouse, as_of)
    description = bilingual(
        f"Báo cáo thiếu, trễ hoặc bị từ chối của hạn nộp gần nhất mỗi biểu mẫu (tính đến {as_of}). "
        f"Mọi kỳ ({totals}): mart.submission_status",
        f"Missing, late or rejected reports for the latest deadline of each form (as of {as_of}). "
        f"All periods ({totals}): mart.submission_status",
    )
    if table:
        create_table_artifact(key="ictstat-missing-reports", table=table, description=description)
    else:
        create_markdown_artifact(
            key="ictstat-missing-reports",
            markdown=bilingual("Đã nhận đủ mọi báo cáo.", "Every report is in.") + f"\n\n{description}",
        )


T = TypeVar("T")


def ending(message: str, result: T, *, failed: bool = False) -> T:
    """The state a flow returns to end with a message people read: Completed (or Failed) carrying the flow's
    result. Calling the flow still returns ``result`` (or raises it, when it is the exception of a failure), so
    it is typed as the result."""
    from prefect.states import Completed, Failed

    state: Any = Failed(message=message, data=result) if failed else Completed(message=message, data=result)
    return cast(T, state)
