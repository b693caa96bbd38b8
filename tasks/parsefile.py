"""One file, from its archived bytes to plain data: what a parse worker (a process of the run's pool or a Dask
worker) runs, and what the parse cache keeps.

Kept apart from :mod:`tasks.submissions` so that a worker imports only the reader, the parser and the reference
data it needs, not pandas and pyarrow (a second of a worker's start, on every run that starts a pool).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ictstat.messages import render
from tasks.intake import Sighting, sha256_of
from tasks.parse import parse_workbook
from tasks.read import SPREADSHEET_EXTENSIONS, ReadError, read_workbook

CELL_COLUMNS = [
    "sheet", "sheet_spec", "cell", "excel_row", "district_code", "commune_code", "measure", "indicator_code", "unit",
    "raw_value", "value", "qualifier",
]  # fmt: skip  # a parsed cell's fields


@dataclass(frozen=True)
class ParseJob:
    """Everything a worker (a local process or a Dask worker) needs to parse a chunk of files."""

    archive: Path
    province_code: str
    max_unpacked_bytes: int
    max_rows: int
    limits: tuple[tuple[str, int], ...] = ()  # further read_workbook limits (max_cells, max_sheets, ...)

    def __call__(self, chunk: list[Sighting]) -> list[dict[str, Any]]:
        return [self.one(s) for s in chunk]

    def one(self, s: Sighting) -> dict[str, Any]:
        """One file's parse; an exception the parser raises on it becomes ``{"crash": "<what>"}``, for the run
        to quarantine that file (for this parser version) instead of failing."""
        try:
            return self.parse(s)
        except Exception as exc:
            return {"crash": f"{type(exc).__name__}: {exc}"[:500]}

    def parse(self, s: Sighting) -> dict[str, Any]:
        return parse_file(
            s, self.archive, self.province_code, self.max_unpacked_bytes, self.max_rows, dict(self.limits)
        )


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
    bad restore) is reported and never loaded.

    A bulkhead: whatever one file makes the reader or the parser raise ends as that file's ``failure``
    (``parse_crash``, naming the file and the error), never as the run's."""
    try:
        return _parse_file(s, archive, province_code, max_unpacked, max_rows, limits)
    except Exception as exc:  # any bug one file's content triggers is that file's rejection
        return {"failure": crash_failure(s.original_name, "parse", exc)}


STAGES = {
    "parse": ("đọc và phân tích tệp", "reading and parsing it"),
    "validate": ("kiểm tra số liệu", "validating its figures"),
    "assemble": ("tổng hợp số liệu của tệp", "assembling its figures"),
}


def crash_failure(file: str, stage: str, exc: BaseException) -> list[str]:
    """``[rule, reason_vi, reason_en]`` for a file whose handling raised: the file and what was raised."""
    stage_vi, stage_en = STAGES[stage]
    what = f"{type(exc).__name__}: {exc}"[:300]
    return [
        "parse_crash",
        *render("parse_crash", file=file, stage_vi=stage_vi, stage_en=stage_en, value=what),
    ]


def _parse_file(
    s: Sighting,
    archive: Path,
    province_code: str,
    max_unpacked: int,
    max_rows: int,
    limits: dict[str, int] | None = None,
) -> dict[str, Any]:
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
    # the cells as a list per field, taken apart here (in the worker) once: smaller to send back to the run's
    # process and to cache, and a run's assembly extends whole lists
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
        "value_columns": CELL_COLUMNS,
        "cells": cell_columns(parsed.values),
        "issues": [asdict(i) for i in parsed.issues],
    }


def cell_columns(cells: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """A parse's cells (a dict per cell) as a list per field of :data:`CELL_COLUMNS`: how the parse cache keeps
    them, so that assembling a run extends whole lists instead of touching every cell."""
    return [[cell[c] for cell in cells] for c in CELL_COLUMNS]


def file_cells(parsed: Mapping[str, Any]) -> list[list[Any]]:
    """A file's cells as a list per field of :data:`CELL_COLUMNS`, from a parse as :func:`parse_file` and the
    cache keep it (``cells``) or as the parser made it (``values``, a dict per cell)."""
    if "cells" in parsed and parsed.get("value_columns") == CELL_COLUMNS:
        cells: list[list[Any]] = parsed["cells"]
        return cells
    return cell_columns(parsed.get("values", ()))
