"""Injection: SQL-looking text, formula openers and hostile file names, sent in as a clerk could send them.

They must never reach SQL as text (the warehouse keeps all its tables, and audit tables hold the text
verbatim), never reach a path (the archive is named by hash, feedback names are sanitised, nothing appears
outside the home), and never become formulas in the feedback or export workbooks: the saved XML of every
workbook written is read back and no ``<f>`` element may hold them. Entries of the inbox that are not regular
files (a symlink out of the inbox, a FIFO) are tried too.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import openpyxl

from faults import home as state
from faults.procs import PYTHON, Finished, Prefect, nightly_args, run_to_end

SQL = "'); DROP TABLE mart.province_indicators; --"
CELL_TEXTS = [
    SQL,
    '=HYPERLINK("http://evil.example/","bấm vào đây")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1,1)",
]
SHEET_NAMES = ["x'); DROP TABLE audit.runs;--", '=HYPERLINK("evil")', "+SUM(1)", "-1", "@x"]
FILE_NAMES = [
    SQL + ".xlsx", "=HYPERLINK(x).xlsx", "+1.xlsx", "-1.xlsx", "@SUM(1).xlsx", "x\\..\\..\\evil.xlsx", "a\nb.xlsx",
    "\u202exslx.exe.xlsx", ("Báo cáo " * 40).encode()[:245].decode("utf-8", "ignore") + ".xlsx",
]  # fmt: skip
MARKERS = ("DROP TABLE", "HYPERLINK", "cmd|", "1+1", "2+3", "SUM(1")
SUBS_SHEET = "Thuê bao - BTS"
FEEDBACK_NAME = re.compile(r"^S\d{7}_(?P<stem>.+)_phan_hoi\.xlsx$")
_FORMULA = re.compile(rb"<(?:\w+:)?f(?:\s[^>]*)?>(.*?)</(?:\w+:)?f>", re.S)


def hostile_workbook(source: Path, target: Path, *, cells: bool = False, sheet: str | None = None) -> Path:
    """A demo VT-01 with hostile text typed into its cells (as text: what Excel keeps for a typed '=...)
    and/or its data sheet renamed; each also holds one bad number, so it gets a feedback workbook."""
    wb = openpyxl.load_workbook(source)
    ws = wb[SUBS_SHEET]
    if cells:
        for i, text in enumerate(CELL_TEXTS):
            cell = ws.cell(7 + i, 4 + i % 4)
            cell.value, cell.data_type = text, "s"
        for row in wb.worksheets[0].iter_rows(max_col=2):
            if row[0].value == "Người lập biểu":
                row[1].value = SQL
    ws["E17"] = "12a"
    if sheet is not None:
        ws.title = sheet
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return target


def formulas(path: Path) -> list[str]:
    """Every formula of a workbook's sheets and charts (``<f>`` and ``<c:f>``), as text."""
    out: list[str] = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith(".xml") and ("worksheets/" in name or "charts/" in name):
                out += [m.decode("utf-8", "replace") for m in _FORMULA.findall(zf.read(name))]
    return out


def text_of(path: Path) -> str:
    """All the text of a workbook's parts (to find the hostile strings written as text)."""
    with zipfile.ZipFile(path) as zf:
        return "".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist() if n.endswith(".xml"))


@dataclass
class Injection:
    returncode: int
    output: str
    tables_before: frozenset[str]
    tables_after: frozenset[str]
    province_rows: int
    verbatim: dict[str, int]
    names_stored: dict[str, bool]
    bad_archive_paths: list[str]
    outside: list[str]
    feedback: list[str]
    bad_feedback_names: list[str]
    hostile_formulas: list[str]
    hostile_as_text: int
    symlink_archived: bool
    export_rc: int
    problems_extra: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = list(self.problems_extra)
        if self.returncode:
            out.append(f"the run failed (exit {self.returncode}): {self.output[-300:]}")
        if self.tables_after != self.tables_before or not self.province_rows:
            out.append(f"tables changed: lost {sorted(self.tables_before - self.tables_after)[:5]}")
        out += [f"not stored verbatim: {t!r}" for t, n in self.verbatim.items() if n == 0]
        out += [f"file name not stored verbatim: {n!r}" for n, ok in self.names_stored.items() if not ok]
        out += [f"archive path not by hash: {p}" for p in self.bad_archive_paths]
        out += [f"written outside the home: {p}" for p in self.outside]
        out += [f"feedback name unsafe: {n!r}" for n in self.bad_feedback_names]
        out += [f"hostile text became a formula: {f[:80]}" for f in self.hostile_formulas]
        if self.symlink_archived:
            out.append(
                "a symlink in the inbox pointing outside it was followed: the outside file was archived"
            )
        if self.export_rc:
            out.append(f"ictstat export failed (exit {self.export_rc})")
        return out


def inject(home: Path, prefect: Prefect, sources: list[Path], work: Path) -> Injection:
    """A baseline publication of ``sources[:3]``, then hostile files made from the others; one run."""
    inbox = home / "inbox"
    for src in sources[:3]:
        shutil.copy2(src, inbox / src.name)
    log = work / "injection.log"
    run_to_end(nightly_args(), prefect.env(home), log)
    before = state.publication(home).tables
    spare = iter(sources[3:])
    hostile_workbook(next(spare), inbox / "o_nhap_la.xlsx", cells=True)
    for i, name in enumerate(SHEET_NAMES):
        hostile_workbook(next(spare), inbox / "ten_sheet" / f"sheet_{i}.xlsx", sheet=name)
    for name in FILE_NAMES:
        hostile_workbook(next(spare), inbox / "ten_tep" / name)
    secret = work / "ngoai_hop_thu.xlsx"
    secret.write_bytes(b"BI MAT - outside the inbox\n" * 10)
    (inbox / "lien_ket.xlsx").unlink(missing_ok=True)
    (inbox / "lien_ket.xlsx").symlink_to(secret)
    around = {p.name for p in work.iterdir()}
    done = run_to_end(nightly_args(), prefect.env(home), log)
    created = sorted({p.name for p in work.iterdir()} - around - {log.name})
    export = run_to_end([PYTHON, "-m", "ictstat.cli", "export", "--year", "2020"], prefect.env(home), log)
    return _inspect(home, done, before, created, secret, export.returncode)


def _inspect(
    home: Path, done: Finished, before: frozenset[str], outside: list[str], secret: Path, export_rc: int
) -> Injection:
    pub = state.publication(home)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        verbatim = {
            t: int(con.execute(
                "SELECT (SELECT count(*) FROM audit.validation_issues WHERE value_found = $t OR sheet = $t) + "
                "(SELECT count(*) FROM audit.submissions WHERE prepared_by = $t)", {"t": t}).fetchone()[0])  # type: ignore[index]
            for t in [*CELL_TEXTS, *SHEET_NAMES]
        }  # fmt: skip
        names = {n: bool(con.execute("SELECT count(*) FROM audit.submissions WHERE original_name = ?", [n]).fetchone()[0])  # type: ignore[index]
                 for n in FILE_NAMES}  # fmt: skip
        paths = [
            p
            for (p,) in con.execute(
                "SELECT archive_path FROM audit.submissions WHERE archive_path <> ''"
            ).fetchall()
        ]
        (rows,) = con.execute("SELECT count(*) FROM mart.province_indicators").fetchone() or (0,)
    finally:
        con.close()
    sha = state.sha256_file(secret)
    symlinked = any(sha and sha in p for p in paths)
    feedback = sorted(p.name for p in (home / "feedback").iterdir())
    bad_names = [n for n in feedback if not _safe_feedback_name(n)]
    written = [*(home / "feedback").glob("*.xlsx"), *(home / "exports").glob("*.xlsx")]
    hostile = [f for p in written for f in formulas(p) if any(m in f for m in MARKERS)]
    as_text = sum(text_of(p).count("DROP TABLE") for p in written)
    bad_paths = [p for p in paths if not state.ARCHIVE_NAME.match(p)]
    return Injection(done.returncode, done.output, before, pub.tables, int(rows), verbatim, names, bad_paths,
                     outside, feedback, bad_names, hostile, as_text, symlinked, export_rc)  # fmt: skip


def _safe_feedback_name(name: str) -> bool:
    m = FEEDBACK_NAME.match(name)
    return (
        bool(m)
        and not any(unicodedata.category(c)[0] == "C" or c in "/\\" for c in name)
        and len(name.encode()) <= 255
    )


def special_entry(
    home: Path, prefect: Prefect, work: Path, kind: str, timeout: float = 90.0
) -> tuple[Finished, Finished]:
    """A FIFO, or a symlink to /dev/zero, in the inbox: the run must not hang on it (it holds the writer lock).
    Returns the run (killed after ``timeout``: exit -9) and the next run after the entry is removed."""
    entry = home / "inbox" / f"dac_biet_{kind}.xlsx"
    entry.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(entry)
    else:
        entry.symlink_to("/dev/zero")
    log = work / f"special-{kind}.log"
    first = run_to_end(nightly_args(), prefect.env(home), log, timeout=timeout)
    entry.unlink()
    return first, run_to_end(nightly_args(), prefect.env(home), log)


def write_text_roundtrip(out: Path) -> list[str]:
    """``ictstat.xlsx.write_record`` and the feedback writer's ``_put`` fed every hostile text directly: the
    formulas of the saved workbook (must be none)."""
    from openpyxl import Workbook

    from ictstat import xlsx
    from tasks.feedback import _put

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    texts: list[str | int | float | None] = [*CELL_TEXTS, *SHEET_NAMES, "\t=1+1", "\r=1+1", "  =1+1"]
    xlsx.write_record(ws, 1, texts)
    for i, text in enumerate(texts, start=1):
        _put(ws, 2, i, text)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    buf = io.BytesIO(out.read_bytes())
    assert zipfile.is_zipfile(buf)
    return formulas(out)
