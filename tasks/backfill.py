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

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ictstat import reference
from ictstat.messages import parameter_error
from ictstat.periods import Period
from tasks.intake import Sighting, read_ledger

Mode = Literal["missing", "failed", "all"]
MODES = ("missing", "failed", "all")


class BackfillError(ValueError):
    """Invalid backfill parameters, explained in Vietnamese and English (one message, Vietnamese first)."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(parameter_error(vi, en))
        self.vi, self.en = vi, en


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
    start, end = _period(period_from, "Từ kỳ", "From period"), _period(period_to, "Đến kỳ", "To period")
    if (start.year, start.first_month) > (end.year, end.last_month):
        raise BackfillError(
            f"Khoảng kỳ bị đảo ngược: {period_from} sau {period_to}.",
            f"The range is reversed: {period_from} comes after {period_to}.",
        )
    if mode not in MODES:
        listed = ", ".join(MODES)
        raise BackfillError(f"chế độ phải là {listed}, không phải '{mode}'.",
                            f"mode must be one of {listed}, not '{mode}'.")  # fmt: skip
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
        names, listed = ", ".join(unknown), ", ".join(sorted(kinds))
        raise BackfillError(
            f"không có đơn vị báo cáo {names}. Dùng mã (ví dụ VNPT) hoặc loại: {listed}.",
            f"unknown reporter(s) {names}. Use a code (e.g. VNPT) or a kind: {listed}.",
        )
    return Request(start, end, tuple(dict.fromkeys(codes)), mode)  # type: ignore[arg-type]


def _period(text: str, field_vi: str, field_en: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError:
        raise BackfillError(
            f"{field_vi} '{text}' không phải kỳ báo cáo; dùng 2020, 2020-H1, 2020-Q3 hoặc 2020-07.",
            f"{field_en} '{text}' is not a period; use 2020, 2020-H1, 2020-Q3 or 2020-07.",
        ) from None


def reporter_choices() -> list[str]:
    """What the reporters field of the backfill form offers: every reporter code of the register, then the
    kinds (a kind stands for all its reporters)."""
    registry = reference.reporters()
    return sorted({code for _, code in registry}) + sorted({r.kind for r in registry.values()})


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
                "form": info.get("form_code") or "",
                "period": period or "",
                "status_now": status,
            }
        )
    out.new_in_inbox = _new_files(inbox, sightings)
    return out


SHA_SHOWN = 12  # enough to tell files apart in a table; the full sha256 is in audit.submissions


def preview_rows(chosen: Selection, limit: int | None = None) -> list[dict[str, str]]:
    """The selection as a table people read: who, which form and period, its status, the file; the sha256
    short and last. Files new in the inbox follow the archived ones."""
    names = {code: r.name_vi for (_, code), r in reference.reporters().items()}
    rows = [
        {
            "đơn vị / reporter": str(r["reporter"]),
            "tên / name": names.get(str(r["reporter"]), ""),
            "biểu mẫu / form": str(r.get("form", "")),
            "kỳ / period": str(r["period"]),
            "trạng thái / status": str(r["status_now"]),
            "tệp / file": str(r["file"]),
            "mã / id": str(r["submission_id"]),
            "sha256": str(r["sha256"])[:SHA_SHOWN],
        }
        for r in chosen.reparse
    ]
    empty = dict.fromkeys(("đơn vị / reporter", "tên / name", "biểu mẫu / form", "kỳ / period"), "")
    rows += [
        {**empty, "trạng thái / status": "mới / new", "tệp / file": f,
         "mã / id": "", "sha256": ""}
        for f in chosen.new_in_inbox
    ]  # fmt: skip
    return rows if limit is None else rows[:limit]


def outcome(before: Selection, warehouse: Path) -> Counter[str]:
    """What became of the selected files in the published warehouse, by status (accepted, rejected, ...)."""
    now = _published_submissions(warehouse)
    return Counter(now.get(str(r["submission_id"]), {}).get("status", "unknown") for r in before.reparse)


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
    from ictstat import published  # DuckDB is loaded when files are selected: refusing a typo needs none

    with published.connect(warehouse, copy_if_held=True) as con:  # an analyst's session must not stop it
        rows = con.execute(
            "SELECT submission_id, reporter_code, period, status, form_code FROM audit.submissions"
        ).fetchall()
    return {r[0]: {"reporter_code": r[1], "period": r[2], "status": r[3], "form_code": r[4]} for r in rows}


def _missing_slots(warehouse: Path, request: Request) -> set[tuple[str, str, str]]:
    if not warehouse.exists():
        return set()
    from ictstat import published  # DuckDB is loaded when files are selected: refusing a typo needs none

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
