"""Hostile text and names sent in as a clerk could: never SQL, never a path, never a formula.

The pipeline's steps run here without Prefect (intake, parse, validate, feedback workbooks, the warehouse
build, the appendix export): injection is about where data flows, which Prefect does not change; the real
nightly run gets the same files in the campaign (``make reliability``). Every workbook written is read back as
saved XML.
"""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest

from faults import home as state
from faults import injection
from faults.injection import CELL_TEXTS, FILE_NAMES, MARKERS, SHEET_NAMES, SQL
from ictstat import reference
from ictstat.export import export_appendix_workbook
from tasks import feedback, intake, submissions, validate
from tests.conftest import build_home, make_home

TWO_SHEETS = SHEET_NAMES[:2]


@pytest.fixture(scope="module")
def injected(demo_inbox, tmp_path_factory):
    """A clean publication, then hostile files: cells, two data sheets renamed, every hostile file name."""
    sources = iter(sorted(demo_inbox.glob("vien_thong/2020/*/*.xlsx")))
    settings = make_home(tmp_path_factory.mktemp("injection") / "home")
    for src in [next(sources) for _ in range(3)]:
        (settings.inbox / src.name).write_bytes(src.read_bytes())
    baseline = build_home(settings, out=tmp_path_factory.mktemp("baseline") / "warehouse.duckdb")
    injection.hostile_workbook(next(sources), settings.inbox / "o_nhap_la.xlsx", cells=True)
    for i, name in enumerate(TWO_SHEETS):
        injection.hostile_workbook(next(sources), settings.inbox / f"sheet_{i}.xlsx", sheet=name)
    for name in FILE_NAMES:
        injection.hostile_workbook(next(sources), settings.inbox / "ten_tep" / name)
    warehouse = build_home(settings)
    sightings = intake.read_ledger(settings.ledger_dir)
    batch = submissions.parse_sightings(sightings, settings.archive, "70", date(2026, 1, 1), 10**8, 20_000)
    issues = validate.validate(batch.values, [d.code for d in reference.all_districts()])
    batch = submissions.decide_status(batch, issues)
    written = feedback.write_feedback(batch.submissions, batch.issues, settings.archive, settings.feedback)
    export = export_appendix_workbook(warehouse, 2020, settings.exports)
    return settings, warehouse, baseline, written, export


def query(warehouse: Path, sql: str, *params: object) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_sql_text_is_stored_verbatim_and_the_warehouse_keeps_every_table(injected):
    settings, warehouse, baseline, _, _ = injected
    assert state.publication(settings.home).tables == state.publication(baseline.parent).tables
    # every hostile file was rejected whole: the figures are the clean files' own, all there
    assert query(warehouse, "SELECT count(*) FROM mart.province_indicators") == [(21,)]
    # only the tracking of who reported changed (the rejected files now count as received)
    assert state.differing_marts(warehouse, baseline) == ["submission_status"]
    found = dict(
        query(warehouse, "SELECT value_found, rule FROM audit.validation_issues WHERE cell <> 'E17'")
    )
    assert {t: found.get(t) for t in CELL_TEXTS} == dict.fromkeys(CELL_TEXTS, "not_a_number")
    assert query(warehouse, "SELECT original_name FROM audit.submissions WHERE prepared_by = ?", SQL) == [
        ("o_nhap_la.xlsx",)
    ]
    sheets = {s for (s,) in query(warehouse, "SELECT DISTINCT sheet FROM audit.validation_issues")}
    assert set(TWO_SHEETS) <= sheets  # issues name the clerk's own sheet, however it is called


def test_file_names_are_stored_verbatim_and_reach_no_path(injected):
    settings, warehouse, _, written, _ = injected
    stored = {n for (n,) in query(warehouse, "SELECT original_name FROM audit.submissions")}
    assert set(FILE_NAMES) <= stored
    paths = [
        p for (p,) in query(warehouse, "SELECT archive_path FROM audit.submissions WHERE archive_path <> ''")
    ]
    assert paths and all(state.ARCHIVE_NAME.match(p) for p in paths)
    assert sorted(p.name for p in settings.home.parent.iterdir()) == [settings.home.name]  # nothing beside it
    assert all(p.parent == settings.feedback for p in written) and len(written) == 1 + len(TWO_SHEETS) + len(
        FILE_NAMES
    )
    for p in written:
        assert injection.FEEDBACK_NAME.match(p.name) and len(p.name.encode()) <= 255
        assert not any(unicodedata.category(c)[0] == "C" or c in "/\\" for c in p.name)


@pytest.mark.parametrize(
    "name",
    [
        "../../x.xlsx",
        "/etc/passwd",
        "..\\..\\x.xlsx",
        "a\0b.xlsx",
        "\u202egpj.xlsx",
        "x" * 5000 + ".xlsx",
        "..",
    ],
)
def test_a_hostile_original_name_stays_inside_its_folder(name, tmp_path):
    """Names that cannot come from a file system listing but can from the ledger, which is text on disk."""
    assert state.ARCHIVE_NAME.match(intake.archive_name("ab" * 32, name))
    out = tmp_path / "feedback"
    issue = {"sheet": "", "cell": "", "column": "", "value": name, "rule": "unreadable", "severity": "error",
             "message_vi": name, "message_en": name}  # fmt: skip
    path = feedback.write_feedback_workbook(None, name, "../../S0000001", [issue], out)
    assert path.parent == out and path.name.startswith("S0000001_") and len(path.name.encode()) <= 255
    assert list(tmp_path.iterdir()) == [out]
    ws = openpyxl.load_workbook(path).worksheets[0]
    assert ws["E6"].value == name.replace("\0", "")  # shown as text, without the NUL XML cannot hold


def test_no_hostile_text_becomes_a_formula_in_feedback_or_export(injected):
    _, _, _, written, export = injected
    for path in [*written, export]:
        assert [f for f in injection.formulas(path) if any(m in f for m in MARKERS)] == [], path.name
    assert injection.formulas(export) == [] or all(
        "!$" in f for f in injection.formulas(export)
    )  # chart ranges
    texts = "".join(injection.text_of(p) for p in written)
    assert all(t in texts for t in ("DROP TABLE", "@SUM(1,1)", "+1+1", "cmd|"))  # written, as text


def test_the_writers_keep_formula_openers_as_text(tmp_path):
    assert injection.write_text_roundtrip(tmp_path / "roundtrip.xlsx") == []
    ws = openpyxl.load_workbook(tmp_path / "roundtrip.xlsx").worksheets[0]
    rows = [[(c.coordinate, str(c.value), c.data_type, bool(c.quotePrefix)) for c in ws[r]] for r in (1, 2)]
    assert all(kind == "s" for row in rows for _, _, kind, _ in row)
    # and Excel's own quote prefix, which keeps the cell text when it is edited: both writers look past
    # leading spaces (some importers trim them)
    for row in rows:
        assert [c for c, text, _, quoted in row if text.lstrip(" ")[:1] in "=+-@\t\r" and not quoted] == []


def test_a_symlink_out_of_the_inbox_is_not_archived(tmp_path):
    settings = make_home(tmp_path / "home")
    secret = tmp_path / "bi_mat.txt"
    secret.write_text("không được sao chép\n", encoding="utf-8")
    (settings.inbox / "lien_ket.xlsx").symlink_to(secret)
    intake.intake(settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes)
    copies = [p for p in settings.archive.rglob("*") if p.is_file() and p.read_bytes() == secret.read_bytes()]
    assert copies == []


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_a_special_file_in_the_inbox_does_not_hang_intake(kind, tmp_path):
    """Intake once opened it: a FIFO blocks forever, /dev/zero never ends (both while holding the lock)."""
    import os

    settings = make_home(tmp_path)
    entry = settings.inbox / "dac_biet.xlsx"
    os.mkfifo(entry) if kind == "fifo" else entry.symlink_to("/dev/zero")
    code = (f"from pathlib import Path; from tasks.intake import intake; "
            f"intake(Path({str(settings.inbox)!r}), Path({str(settings.archive)!r}), "
            f"Path({str(settings.ledger_dir)!r}), 50 << 20)")  # fmt: skip
    try:
        subprocess.run([sys.executable, "-c", code], timeout=5, check=True, capture_output=True)
        finished = True
    except subprocess.TimeoutExpired:  # subprocess.run kills the child on timeout
        finished = False
    assert finished


@pytest.mark.parametrize("attack", ["billion_laughs", "external_file"])
def test_openpyxl_reads_a_clerks_file_through_defusedxml(attack, demo_inbox, tmp_path):
    """The feedback writer opens the clerk's own file with openpyxl: an entity declaration in any part is
    refused by defusedxml (never expanded, nothing read from disk), and the clerk still gets the issue list."""
    from openpyxl.xml import DEFUSEDXML

    from faults import xmlparts as parts

    assert DEFUSEDXML  # openpyxl found defusedxml at import and parses through it
    source = tmp_path / "thuc_the.xlsx"
    clean = next(iter(sorted(demo_inbox.glob("vien_thong/2020/12/*.xlsx")))).read_bytes()
    source.write_bytes(parts.edit(clean, r"xl/worksheets/sheet2\.xml", parts.ENTITY_ATTACKS[attack]))
    with pytest.raises(Exception) as err:
        feedback._load_with_openpyxl(source)
    chain, e = [], err.value  # openpyxl wraps the parser's error in its own
    while e is not None:
        chain.append(type(e))
        e = e.__cause__ or e.__context__
    assert any(t.__module__.startswith("defusedxml") for t in chain), chain
    issue = {"sheet": "Thuê bao - BTS", "cell": "E9", "column": "", "value": "12a", "rule": "not_a_number",
             "severity": "error", "message_vi": "lỗi", "message_en": "error"}  # fmt: skip
    path = feedback.write_feedback_workbook(source, source.name, "S0000001", [issue], tmp_path / "out")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [feedback.ISSUES_TITLE] and "root:" not in injection.text_of(path)
