"""From ledger sightings to three frames: submissions (one row per file received), parsed values and issues.

Each distinct file (by sha256) is read and parsed once per run; later sightings of the same bytes are
duplicates and are never counted twice. A submission with any error-severity issue is rejected as a whole;
warnings are recorded and do not block. Supersession (a newer accepted file for the same reporter and period)
is decided in the warehouse (``warehouse/sql/30_audit.sql``), where its history stays queryable.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ictstat.messages import render
from tasks.intake import Sighting, sha256_of
from tasks.parse import parse_workbook
from tasks.read import SPREADSHEET_EXTENSIONS, ReadError, read_workbook

PARSER_VERSION = "1"

SUBMISSION_COLUMNS = [
    "submission_id", "seq", "sha256", "original_name", "relative_path", "size_bytes", "received_at", "file_modified_at",
    "archive_path", "template_id", "form_code", "template_version", "province_code", "reporter_code", "period",
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


ParseMany = Callable[[list[Sighting]], list[dict[str, Any]]]


@dataclass(frozen=True)
class ParseJob:
    """Everything a worker (a local process or a Dask worker) needs to parse a chunk of files."""

    archive: Path
    province_code: str
    max_unpacked_bytes: int
    max_rows: int
    limits: tuple[tuple[str, int], ...] = ()  # further read_workbook limits (max_cells, max_sheets, ...)

    def __call__(self, chunk: list[Sighting]) -> list[dict[str, Any]]:
        limits = dict(self.limits)
        return [
            parse_file(s, self.archive, self.province_code, self.max_unpacked_bytes, self.max_rows, limits)
            for s in chunk
        ]


def to_parse(
    sightings: Sequence[Sighting],
    cache: ParseCache | None,
    reparse: Collection[str] = (),
    archive: Path | None = None,
) -> tuple[list[Sighting], dict[str, dict[str, Any]]]:
    """Split the distinct files into those to read and parse now and those whose parse the cache holds.

    With ``archive``, a cached parse is used only while the archived copy still has its size: a truncated
    or missing copy is parsed again, which reports it (its full hash is checked then)."""
    todo: list[Sighting] = []
    cached: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for s in sorted(sightings, key=lambda s: s.seq):
        if s.sha256 in seen:
            continue
        seen.add(s.sha256)
        parsed = cache.get(s.sha256) if cache is not None and s.sha256 not in reparse else None
        if parsed is not None and archive is not None and s.archive_path:
            copy = archive / s.archive_path
            if not copy.exists() or copy.stat().st_size != s.size_bytes:
                parsed = None
        if parsed is None:
            todo.append(s)
        else:
            cached[s.sha256] = parsed
    return todo, cached


def parse_sightings(
    sightings: Sequence[Sighting],
    archive: Path,
    province_code: str,
    today: date,
    max_unpacked_bytes: int,
    max_rows: int,
    cache: ParseCache | None = None,
    reparse: Collection[str] = (),
    parse_many: ParseMany | None = None,
) -> ParsedBatch:
    """Read and parse every distinct file among the sightings; later copies become duplicates.

    A file's parse is taken from ``cache`` when it holds one for the same bytes and the same parser code,
    unless its sha256 is in ``reparse`` (a backfill after a change the fingerprint cannot see). The files left
    are parsed by ``parse_many`` (in this process by default; the flows fan them out to processes or Dask).
    """
    todo, parsed = to_parse(sightings, cache, reparse)
    job = ParseJob(archive, province_code, max_unpacked_bytes, max_rows)
    for s, result in zip(todo, (parse_many or job)(todo), strict=True):
        parsed[s.sha256] = result
        if cache is not None:
            cache.put(s.sha256, result)
    return assemble(sightings, parsed, today)


def assemble(
    sightings: Sequence[Sighting], parsed_by_sha: dict[str, dict[str, Any]], today: date
) -> ParsedBatch:
    """The three frames of a run from every file's parse; later sightings of the same bytes are duplicates."""
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
        parsed = parsed_by_sha[s.sha256]
        if "failure" in parsed:
            rule, vi, en = parsed["failure"]
            row.update(intake_status="rejected", reason_vi=vi, reason_en=en)
            issues.append(_issue(s.submission_id, "", "", "", "", rule, "error", vi, en))
            subs.append(row)
            continue
        row.update({k: parsed[k] for k in CACHED_FIELDS})
        for v in parsed["values"]:
            values.append({"submission_id": s.submission_id, "template_id": row["template_id"], **v})
        for i in [*parsed["issues"], *_future_issues(parsed, today)]:
            issues.append({"submission_id": s.submission_id, **i})
        subs.append(row)
    return ParsedBatch(
        pd.DataFrame(subs, columns=SUBMISSION_COLUMNS),
        pd.DataFrame(values, columns=VALUE_COLUMNS),
        pd.DataFrame(issues, columns=ISSUE_COLUMNS),
    )


CACHED_FIELDS = ("template_id", "form_code", "template_version", "province_code", "reporter_code", "period",
                 "prepared_by", "prepared_on")  # fmt: skip


def parse_file(
    s: Sighting,
    archive: Path,
    province_code: str,
    max_unpacked: int,
    max_rows: int,
    limits: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Everything the pipeline keeps of one file, as plain data (what the parse cache stores): either
    ``{"failure": [rule, reason_vi, reason_en]}`` or the form, cover fields, values and issues.

    The archived copy is checked against its sha256 first: a file whose bytes changed on disk (bit rot, a
    bad restore) is reported and never loaded."""
    if not s.archive_path:
        return {"failure": ["too_large", *render("too_large", value=f"{s.size_bytes:,} bytes",
                                                 expected="ICTSTAT_MAX_FILE_BYTES")]}  # fmt: skip
    if s.extension not in SPREADSHEET_EXTENSIONS and s.extension not in (".bin", ""):
        return {"failure": ["not_a_spreadsheet", *render("not_a_spreadsheet")]}
    path = archive / s.archive_path
    if not path.exists() or sha256_of(path) != s.sha256:
        return {"failure": ["archive_corrupt", *render("archive_corrupt", value=s.archive_path)]}
    try:
        wb = read_workbook(path, max_unpacked, max_rows, **(limits or {}))
    except ReadError as err:
        return {"failure": [err.rule, *err.messages()]}
    parsed = parse_workbook(wb, province_code, today=None)
    t = parsed.template
    return {
        "template_id": t.template_id if t else None,
        "form_code": t.form_code if t else None,
        "template_version": t.version if t else None,
        "province_code": parsed.province_code,
        "reporter_code": parsed.reporter_code,
        "period": str(parsed.period) if parsed.period else None,
        "period_end": parsed.period.end_date.isoformat() if parsed.period else None,
        "period_cell": list(parsed.period_cell),
        "prepared_by": parsed.cover.get("prepared_by"),
        "prepared_on": parsed.cover.get("prepared_on"),
        "values": parsed.values,
        "issues": [asdict(i) for i in parsed.issues],
    }


def _future_issues(parsed: dict[str, Any], today: date) -> list[dict[str, Any]]:
    """The period must be over by the run's logical date (checked per run: it depends on the day, not the file)."""
    end = parsed.get("period_end")
    if not end or date.fromisoformat(end) < today:
        return []
    sheet, cell = parsed["period_cell"]
    vi, en = render("future_period", sheet=sheet, cell=cell, value=parsed["period"])
    return [{"sheet": sheet, "cell": cell, "column": "", "value": parsed["period"], "rule": "future_period",
             "severity": "error", "message_vi": vi, "message_en": en}]  # fmt: skip


class ParseCache:
    """Parsed files on disk, one JSON file per (sha256, parser fingerprint).

    The fingerprint hashes the parser's own code, the templates and the reference data, so a change to any of
    them makes every cached parse stale by itself; a backfill with ``reparse`` ignores the cache for what it
    selects (for changes the fingerprint cannot see, such as an upgraded dependency).
    """

    def __init__(self, folder: Path, province_code: str) -> None:
        self.folder = folder
        self.fingerprint = parser_fingerprint(province_code)

    def _path(self, sha: str) -> Path:
        return self.folder / sha[:2] / f"{sha}-{self.fingerprint}.json"

    def get(self, sha: str) -> dict[str, Any] | None:
        path = self._path(sha)
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # missing, or torn by a crash: parse again
        return data

    def drop(self, sha: str) -> None:
        self._path(sha).unlink(missing_ok=True)

    def put(self, sha: str, parsed: dict[str, Any]) -> None:
        path = self._path(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.part")
        tmp.write_text(json.dumps(parsed, ensure_ascii=False, default=str), encoding="utf-8")
        os.replace(tmp, path)


@lru_cache(maxsize=8)
def parser_fingerprint(province_code: str) -> str:
    """A short hash of everything a file's parse depends on besides its bytes."""
    import ictstat
    import tasks

    roots = [Path(ictstat.__file__).parent, Path(tasks.__file__).parent]
    files = sorted(
        [*roots[0].glob("templates/**/*.py"), *roots[0].glob("refdata/*.csv"),
         *(roots[0] / n for n in ("text.py", "periods.py", "reference.py", "messages.py")),
         *(roots[1] / n for n in ("read.py", "parse.py", "numbers.py", "submissions.py"))]
    )  # fmt: skip
    h = hashlib.sha256(f"{PARSER_VERSION}|{province_code}|{_vau_version()}".encode())
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _vau_version() -> str:
    from importlib.metadata import version

    return version("vietnamadminunits")


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
        file_modified_at=datetime.fromtimestamp(s.mtime_ns / 1e9, UTC).isoformat(timespec="seconds"),
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
