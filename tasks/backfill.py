"""Which files a backfill reprocesses, decided from the ledger and the published warehouse, without side effects.

A backfill names a range of periods, optionally some reporters (codes or kinds), and a mode:

* ``missing``: the reporter/period slots in the range that have no accepted report yet, with every file that
  arrived for them (e.g. after a reference-data fix that lets a rejected file through);
* ``failed``: every rejected file in the range (e.g. after a parser fix);
* ``all``: every file in the range.

The warehouse is always rebuilt whole from the archive; what the selection decides is which files are read and
parsed again rather than taken from the parse cache (``reparse``), and what the preview and summary show.
Files never seen by the warehouse (new in the inbox) are taken in by every real run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ictstat import published, reference
from ictstat.periods import Period
from tasks.intake import Sighting, read_ledger

Mode = Literal["missing", "failed", "all"]
MODES = ("missing", "failed", "all")


class BackfillError(ValueError):
    """Invalid backfill parameters, explained in Vietnamese and English."""


@dataclass(frozen=True)
class Request:
    period_from: Period
    period_to: Period
    reporters: tuple[str, ...]  # reporter codes (kinds already expanded); empty: all
    mode: Mode

    @property
    def months(self) -> tuple[tuple[int, int], tuple[int, int]]:
        return (
            (self.period_from.year, self.period_from.first_month),
            (self.period_to.year, self.period_to.last_month),
        )

    def covers(self, period: str | None) -> bool:
        """Whether a reported period overlaps the requested range."""
        if period is None:
            return False
        p = Period.parse(period)
        start, end = self.months
        return (p.year, p.first_month) <= end and (p.year, p.last_month) >= start


def parse_request(period_from: str, period_to: str, reporters: Sequence[str], mode: str) -> Request:
    """Check the parameters as an engineer typed them in the Prefect UI; fail fast with a readable reason."""
    try:
        start, end = Period.parse(period_from), Period.parse(period_to)
    except ValueError as exc:
        raise BackfillError(str(exc)) from None
    if (start.year, start.first_month) > (end.year, end.last_month):
        raise BackfillError(
            f"Khoảng kỳ bị đảo ngược: {period_from} sau {period_to}. / The range is reversed: {period_from} comes "
            f"after {period_to}."
        )
    if mode not in MODES:
        raise BackfillError(f"mode phải là / must be one of {', '.join(MODES)}, không phải / not '{mode}'.")
    registry = reference.reporters()  # a code names that reporter in every province that has one
    all_codes = {code for _, code in registry}
    kinds = {r.kind for r in registry.values()}
    codes: list[str] = []
    unknown: list[str] = []
    for item in reporters:
        key = item.strip()
        if not key:
            continue
        if key.upper() in all_codes:
            codes.append(key.upper())
        elif key.lower() in kinds:
            codes.extend(sorted({r.code for r in registry.values() if r.kind == key.lower()}))
        else:
            unknown.append(key)
    if unknown:
        raise BackfillError(
            f"Không có đơn vị báo cáo / unknown reporter(s): {', '.join(unknown)}. "
            f"Dùng mã (ví dụ VNPT) hoặc loại / use a code (e.g. VNPT) or a kind: {', '.join(sorted(kinds))}."
        )
    return Request(start, end, tuple(dict.fromkeys(codes)), mode)  # type: ignore[arg-type]


@dataclass
class Selection:
    """What a backfill will do: the files it reparses and the files new in the inbox."""

    reparse: list[dict[str, object]] = field(default_factory=list)
    new_in_inbox: list[str] = field(default_factory=list)

    @property
    def reparse_shas(self) -> set[str]:
        return {str(r["sha256"]) for r in self.reparse}


def select(request: Request, ledger_dir: Path, inbox: Path, warehouse: Path) -> Selection:
    """The files the request reprocesses, from the ledger and the published warehouse's view of them."""
    sightings = read_ledger(ledger_dir)
    known = _published_submissions(warehouse)
    missing_slots = _missing_slots(warehouse, request) if request.mode == "missing" else set()
    out = Selection()
    seen_shas: set[str] = set()
    for s in sorted(sightings, key=lambda s: s.seq):
        if s.sha256 in seen_shas:
            continue  # a duplicate copy: its first sighting is what gets parsed
        seen_shas.add(s.sha256)
        info = known.get(s.submission_id, {})
        reporter, period, status = (
            info.get("reporter_code"),
            info.get("period"),
            info.get("status", "unknown"),
        )
        if not _wanted(request, reporter, period, status, missing_slots, info.get("form_code")):
            continue
        out.reparse.append(
            {
                "submission_id": s.submission_id,
                "file": s.relative_path,
                "sha256": s.sha256,
                "reporter": reporter or "",
                "period": period or "",
                "status_now": status,
            }
        )
    out.new_in_inbox = _new_files(inbox, sightings)
    return out


def _wanted(
    request: Request,
    reporter: object,
    period: object,
    status: object,
    missing_slots: set[tuple[str, str, str]],
    form_code: object,
) -> bool:
    if reporter is None or period is None:
        # rejected before its reporter or period could be read (an unknown reporter, a bad period): it may be
        # the very file a missing slot waits for, so a backfill over every reporter retries it in any mode
        return not request.reporters and status in ("rejected", "unknown")
    if request.reporters and reporter not in request.reporters:
        return False
    if not request.covers(str(period)):
        return False
    if request.mode == "all":
        return True
    if request.mode == "failed":
        return status == "rejected"
    return (str(reporter), str(form_code), str(period)) in missing_slots


def _published_submissions(warehouse: Path) -> dict[str, dict[str, str]]:
    if not warehouse.exists():
        return {}
    with published.connect(warehouse, copy_if_held=True) as con:  # an analyst's session must not stop it
        rows = con.execute(
            "SELECT submission_id, reporter_code, period, status, form_code FROM audit.submissions"
        ).fetchall()
    return {r[0]: {"reporter_code": r[1], "period": r[2], "status": r[3], "form_code": r[4]} for r in rows}


def _missing_slots(warehouse: Path, request: Request) -> set[tuple[str, str, str]]:
    if not warehouse.exists():
        return set()
    with published.connect(warehouse, copy_if_held=True) as con:  # an analyst's session must not stop it
        rows = con.execute(
            "SELECT reporter_code, form_code, period FROM mart.submission_status "
            "WHERE status IN ('missing', 'rejected', 'not_due')"
        ).fetchall()
    return {(r, f, p) for r, f, p in rows if request.covers(p)}


def _new_files(inbox: Path, sightings: Sequence[Sighting]) -> list[str]:
    from tasks.intake import inbox_files

    known = {(s.relative_path, s.size_bytes, s.mtime_ns) for s in sightings}
    out = []
    for path in inbox_files(inbox) if inbox.exists() else []:
        st = path.stat()
        rel = path.relative_to(inbox).as_posix()
        if (rel, st.st_size, st.st_mtime_ns) not in known:
            out.append(rel)
    return out
