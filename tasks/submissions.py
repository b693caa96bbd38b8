"""From ledger sightings to three frames: submissions (one row per file received), parsed values and issues.

Each distinct file (by sha256) is read and parsed once per run; later sightings of the same bytes are
duplicates and are never counted twice. A submission with any error-severity issue is rejected as a whole;
warnings are recorded and do not block. Supersession (a newer accepted file for the same reporter and period)
is decided in the warehouse (``warehouse/sql/30_audit.sql``), where its history stays queryable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from ictstat.messages import render
from tasks.intake import Sighting
from tasks.parse import ParsedSubmission, parse_workbook
from tasks.read import SPREADSHEET_EXTENSIONS, ReadError, read_workbook

PARSER_VERSION = "1"

SUBMISSION_COLUMNS = [
    "submission_id", "seq", "sha256", "original_name", "relative_path", "size_bytes", "received_at",
    "archive_path", "template_id", "form_code", "template_version", "reporter_code", "period",
    "prepared_by", "prepared_on", "intake_status", "reason_vi", "reason_en", "duplicate_of",
]  # fmt: skip
VALUE_COLUMNS = [
    "submission_id", "template_id", "sheet", "sheet_spec", "cell", "excel_row", "district_code", "commune_code", "measure",
    "indicator_code", "unit", "raw_value", "value", "qualifier",
]  # fmt: skip
ISSUE_COLUMNS = [
    "submission_id", "sheet", "cell", "column", "value", "rule", "severity", "message_vi", "message_en",
]  # fmt: skip


@dataclass
class ParsedBatch:
    submissions: pd.DataFrame
    values: pd.DataFrame
    issues: pd.DataFrame


def parse_sightings(
    sightings: Sequence[Sighting],
    archive: Path,
    province_code: str,
    today: date,
    max_unpacked_bytes: int,
    max_rows: int,
) -> ParsedBatch:
    """Read and parse every distinct file among the sightings; later copies become duplicates."""
    first_of: dict[str, Sighting] = {}
    subs: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    issues: list[dict[str, Any]] = []
    for s in sorted(sightings, key=lambda s: s.seq):
        row = _base_row(s)
        if s.sha256 in first_of:
            original = first_of[s.sha256]
            vi, en = render("duplicate_file", value=f"{original.submission_id}, {original.relative_path}")
            row.update(
                intake_status="duplicate", reason_vi=vi, reason_en=en, duplicate_of=original.submission_id
            )
            subs.append(row)
            continue
        first_of[s.sha256] = s
        parsed, failure = _parse_one(s, archive, province_code, today, max_unpacked_bytes, max_rows)
        if failure is not None:
            rule, vi, en = failure
            row.update(intake_status="rejected", reason_vi=vi, reason_en=en)
            issues.append(_issue(s.submission_id, "", "", "", "", rule, "error", vi, en))
            subs.append(row)
            continue
        assert parsed is not None
        t = parsed.template
        row.update(
            template_id=t.template_id if t else None,
            form_code=t.form_code if t else None,
            template_version=t.version if t else None,
            reporter_code=parsed.reporter_code,
            period=str(parsed.period) if parsed.period else None,
            prepared_by=parsed.cover.get("prepared_by"),
            prepared_on=parsed.cover.get("prepared_on"),
        )
        for v in parsed.values:
            values.append({"submission_id": s.submission_id, "template_id": row["template_id"], **v})
        for i in parsed.issues:
            issues.append(_issue(s.submission_id, i.sheet, i.cell, i.column, i.value, i.rule, i.severity,
                                 i.message_vi, i.message_en))  # fmt: skip
        subs.append(row)
    return ParsedBatch(
        pd.DataFrame(subs, columns=SUBMISSION_COLUMNS),
        pd.DataFrame(values, columns=VALUE_COLUMNS),
        pd.DataFrame(issues, columns=ISSUE_COLUMNS),
    )


def _parse_one(
    s: Sighting, archive: Path, province_code: str, today: date, max_unpacked: int, max_rows: int
) -> tuple[ParsedSubmission | None, tuple[str, str, str] | None]:
    """The parsed file, or (rule, Vietnamese reason, English reason) when it cannot be read at all."""
    if not s.archive_path:
        return None, (
            "too_large",
            *render("too_large", value=f"{s.size_bytes:,} bytes", expected="ICTSTAT_MAX_FILE_BYTES"),
        )
    path = archive / s.archive_path
    if s.extension not in SPREADSHEET_EXTENSIONS and s.extension not in (".bin", ""):
        return None, ("not_a_spreadsheet", *render("not_a_spreadsheet"))
    try:
        wb = read_workbook(path, max_unpacked, max_rows)
    except ReadError as err:
        return None, (err.rule, *render(err.rule, value=err.detail, expected=err.expected))
    return parse_workbook(wb, province_code, today), None


def _base_row(s: Sighting) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SUBMISSION_COLUMNS)
    row.update(
        submission_id=s.submission_id,
        seq=s.seq,
        sha256=s.sha256,
        original_name=s.original_name,
        relative_path=s.relative_path,
        size_bytes=s.size_bytes,
        received_at=s.received_at,
        archive_path=s.archive_path,
    )
    return row


def _issue(*fields: Any) -> dict[str, Any]:
    return dict(zip(ISSUE_COLUMNS, fields, strict=True))


def decide_status(batch: ParsedBatch, validation_issues: Iterable[dict[str, Any]]) -> ParsedBatch:
    """Add the validation issues and set each parsed submission's status: rejected, accepted(_with_warnings)."""
    issues = pd.concat(
        [batch.issues, pd.DataFrame(list(validation_issues), columns=ISSUE_COLUMNS)], ignore_index=True
    )
    subs = batch.submissions.copy()
    pending = subs["intake_status"].isna()
    errors = issues[issues["severity"] == "error"].groupby("submission_id")
    warnings = issues[issues["severity"] == "warning"].groupby("submission_id").size()
    n_errors = errors.size()
    first_error = errors.first()
    for idx in subs.index[pending]:
        sid = subs.at[idx, "submission_id"]
        if sid in n_errors.index:
            n = int(n_errors[sid])
            msg_vi, msg_en = first_error.loc[sid, "message_vi"], first_error.loc[sid, "message_en"]
            subs.at[idx, "intake_status"] = "rejected"
            subs.at[idx, "reason_vi"] = f"{n} lỗi; lỗi đầu tiên: {msg_vi}"
            subs.at[idx, "reason_en"] = f"{n} error(s); first: {msg_en}"
        elif sid in warnings.index:
            n = int(warnings[sid])
            subs.at[idx, "intake_status"] = "accepted_with_warnings"
            subs.at[idx, "reason_vi"] = f"Chấp nhận, có {n} cảnh báo"
            subs.at[idx, "reason_en"] = f"Accepted with {n} warning(s)"
        else:
            subs.at[idx, "intake_status"] = "accepted"
    return ParsedBatch(subs, batch.values, issues)
