"""Values are sane before they are summed, and nothing absurd is published (issue 13, items 1-3).

Real VT-01 workbooks written from the template, poisoned one way each (an impossible cover period, two cells of
1.7e308 in one column with and without the total row, a count of 10^300, text that Python's ``float()`` takes),
go through the flow's own steps beside a clean file: each poisoned copy is rejected with a reason naming its
sheet and cell, the clean figures are published unchanged and no mart holds a non-finite or absurd value.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows import steps
from ictstat import reference
from ictstat.templates import get_template
from ictstat.templates.writer import TOTAL_LABEL, FormData, write_form
from tasks import build, ledger
from tasks.build import MartCheckError
from tasks.parsefile import ParseJob
from tests.conftest import build_home, make_home

SUBS, REV = "Thuê bao - BTS", "Doanh thu - Nộp NS"
DISTRICTS = reference.districts("70", date(2020, 12, 31))
AS_OF = date(2021, 1, 20)
HUGE = 1.7e308


def vt01(
    path: Path,
    period: str = "12/2020",
    mobile: dict[int, Any] | None = None,
    total: Any = "keep",
    reporter: str = "VNPT",
) -> Path:
    """A VT-01 of ``reporter`` for ``period``; ``mobile`` overrides district cells of the mobile column (by district
    index); ``total`` replaces the mobile column's total cell (None leaves it blank, "keep" as written)."""
    template = get_template("VT-01")
    assert template is not None
    mobile = mobile or {}
    rows = {d.code: {"subs_fixed": 100 + i, "subs_mobile": 1000 * (i + 1), "subs_internet": 500 + i,
                     "bts_sites": 5} for i, d in enumerate(DISTRICTS)}  # fmt: skip
    data = FormData(
        cover={"reporter_code": reporter, "period": period, "prepared_by": "Nguyễn Văn An"},
        district_values={SUBS: rows},
        item_values={REV: {"revenue": 12345.5, "budget": 700, "spam_suspended": 3}},
    )
    write_form(template, path, DISTRICTS, data)
    wb = openpyxl.load_workbook(path)
    ws = wb[SUBS]
    total_row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 3).value == TOTAL_LABEL)
    first = total_row - len(DISTRICTS)
    for i, value in mobile.items():
        ws.cell(first + i, 5, value)  # column E: the mobile subscribers
    if total != "keep":
        ws.cell(total_row, 5).value = total  # ws.cell(r, c, None) would leave the cell as it was
    wb.save(path)
    return path


def statuses_and_issues(path: Path) -> tuple[dict[str, str], dict[str, list[tuple[str, str, str, str]]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        status = dict(con.execute("SELECT original_name, status FROM audit.submissions").fetchall())
        issues: dict[str, list[tuple[str, str, str, str]]] = {}
        for name, rule, sheet, cell, message in con.execute(
            "SELECT original_name, rule, sheet, cell, message_vi || ' / ' || message_en FROM audit.validation_issues "
            "WHERE severity = 'error' ORDER BY original_name, sheet, cell"
        ).fetchall():
            issues.setdefault(name, []).append((rule, sheet, cell, message))
    finally:
        con.close()
    return status, issues


def non_finite_or_absurd(path: Path) -> list[tuple[Any, ...]]:
    """Every figure of the indicator marts that is not finite or lies outside its indicator's range."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(build.MART_VALUE_SQL).fetchall()
    finally:
        con.close()


def published_mobile(path: Path) -> float:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(
            "SELECT value FROM mart.province_indicators WHERE indicator_code = 'TEL_SUBS_MOBILE' AND period = '2020'"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return float(row[0])


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A clean December beside its poisoned copies, and the same clean file alone: both warehouses built."""
    root = tmp_path_factory.mktemp("values")
    clean = make_home(root / "clean")
    vt01(clean.inbox / "a_clean.xlsx")
    clean_path = build_home(clean, as_of=AS_OF)

    home = make_home(root / "poisoned")
    inbox = home.inbox
    vt01(inbox / "a_clean.xlsx")
    vt01(inbox / "period_0000.xlsx", period="12/0000")
    vt01(inbox / "period_0202.xlsx", period="12/0202")
    vt01(inbox / "period_text_0202.xlsx", period="Tháng 12 năm 0202")
    vt01(inbox / "huge_total_filled.xlsx", mobile={0: HUGE, 1: HUGE}, total=HUGE)
    vt01(inbox / "huge_total_blank.xlsx", mobile={0: HUGE, 1: HUGE}, total=None)
    vt01(inbox / "count_1e300.xlsx", mobile={2: 1e300}, total=None)
    vt01(
        inbox / "text_inf.xlsx",
        mobile={0: "inf", 1: "1e400", 2: "1_000", 3: " NaN ", 4: "-inf", 5: "Infinity"},
    )
    return clean_path, build_home(home, as_of=AS_OF)


def test_every_poisoned_copy_is_rejected_with_its_sheet_and_cell(poisoned):
    _, path = poisoned
    status, issues = statuses_and_issues(path)
    assert status["a_clean.xlsx"] == "accepted"
    assert {name: s for name, s in status.items() if name != "a_clean.xlsx"} == dict.fromkeys(
        ["period_0000.xlsx", "period_0202.xlsx", "period_text_0202.xlsx", "huge_total_filled.xlsx",
         "huge_total_blank.xlsx", "count_1e300.xlsx", "text_inf.xlsx"], "rejected"
    )  # fmt: skip
    for name in ("period_0000.xlsx", "period_0202.xlsx", "period_text_0202.xlsx"):
        ((rule, sheet, cell, message),) = issues[name]
        assert rule == "period_out_of_range" and sheet and cell, issues[name]
        assert "kỳ báo cáo" in message and "reporting period" in message  # Vietnamese, then English
    assert "năm 0 " in issues["period_0000.xlsx"][0][3] and "year 202," in issues["period_0202.xlsx"][0][3]
    assert "total_mismatch" not in {
        rule for rule, *_ in issues["huge_total_blank.xlsx"]
    }  # a blank total checks nothing
    for name in ("huge_total_filled.xlsx", "huge_total_blank.xlsx"):
        rules = {(rule, sheet) for rule, sheet, _, _ in issues[name]}
        assert ("sum_overflow", SUBS) in rules, issues[name]
        assert ("out_of_range", SUBS) in rules  # each 1.7e308 is itself beyond any count of subscribers
        overflow = next(i for i in issues[name] if i[0] == "sum_overflow")
        assert overflow[2][0] == "E"  # the cell whose value made the column's sum overflow
    out = [(sheet, cell) for rule, sheet, cell, _ in issues["count_1e300.xlsx"] if rule == "out_of_range"]
    assert len(out) == 1 and out[0][0] == SUBS and out[0][1].startswith("E")
    not_numbers = [i for i in issues["text_inf.xlsx"] if i[0] == "not_a_number"]
    assert len(not_numbers) == 6 and all(i[2].startswith("E") for i in not_numbers)


def test_nothing_absurd_is_published_and_the_clean_figures_stand(poisoned):
    clean_path, path = poisoned
    assert non_finite_or_absurd(path) == []
    assert published_mobile(path) == published_mobile(clean_path) == sum(1000 * (i + 1) for i in range(11))
    con = duckdb.connect(str(path), read_only=True)
    try:
        periods = {p for (p,) in con.execute("SELECT DISTINCT period FROM audit.submissions").fetchall()}
        non_finite = con.execute(
            "SELECT count(*) FROM core.fct_reported_values WHERE NOT isfinite(value)"
        ).fetchone()
    finally:
        con.close()
    assert periods <= {"2020-12", None}  # no impossible period reached the ledger's table
    assert non_finite == (0,)


def test_the_mart_check_refuses_a_figure_out_of_range_and_names_its_file(tmp_path):
    """A value that slipped past the cell checks (here, written into the run's values file after them) makes
    the build refuse to publish, naming the submission behind it."""
    settings = make_home(tmp_path / "home")
    vt01(settings.inbox / "vnpt_12.xlsx")
    sightings, _ = steps.intake.intake(
        settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes
    )
    todo, _ = steps.plan_parsing.fn(sightings, settings)
    steps.read_and_parse_locally.fn(todo, settings, None)
    values_path = settings.build_dir / "values-T.parquet"
    batch = steps.validate_batch.fn(steps.assemble.fn(sightings, settings, AS_OF, values_path), settings)
    table = pq.read_table(values_path)
    mobile = table.column("measure").to_pylist().index("subs_mobile")
    for poison in (math.inf, math.nan, 1e300):
        values = table.column("value").to_pylist()
        values[mobile] = poison
        # pyarrow as the run writes it: a NaN stays a NaN (pandas would write it as a blank)
        column = pa.array(values, type=pa.float64(), from_pandas=False)
        pq.write_table(table.set_column(table.schema.get_field_index("value"), "value", column), values_path)
        inputs = {
            "in_submissions": batch.submissions,
            "in_values": values_path,
            "in_issues": batch.issues,
            "in_runs": pd.DataFrame(
                [{**ledger.run_record("", "test"), "run_id": "T", "started_at": "2021-01-20T00:00:00+00:00"}]
            ),
            "in_publication_log": ledger.publication_log(settings.ledger_dir),
            "in_run_context": pd.DataFrame(
                [{"run_id": "T", "published_at": "2021-01-20T00:00:00+00:00", "as_of": AS_OF.isoformat()}]
            ),
        }
        with pytest.raises(MartCheckError) as caught:
            build.build_warehouse(tmp_path / "w.duckdb", inputs, range(2019, 2022))
        assert caught.value.submissions == [batch.submissions["submission_id"].iloc[0]]
        assert "TEL_SUBS_MOBILE" in str(caught.value) and "không được công bố" in str(caught.value)
        assert not settings.warehouse_path.exists()  # nothing was published


def test_a_file_that_breaks_reading_is_rejected_alone_with_its_name(tmp_path):
    """Whatever one file makes the reader raise (here its archived copy became a folder: IsADirectoryError
    out of the hash) ends as that file's rejection, naming it, and the other file goes on."""
    settings = make_home(tmp_path / "home")
    vt01(settings.inbox / "broken.xlsx")
    vt01(settings.inbox / "fine.xlsx", mobile={0: 1234})
    sightings, _ = steps.intake.intake(
        settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes
    )
    broken = next(s for s in sightings if s.original_name == "broken.xlsx")
    copy = settings.archive / broken.archive_path
    copy.unlink()
    copy.mkdir()
    job = ParseJob(settings.archive, "70", settings.max_unpacked_bytes, settings.max_rows_per_sheet)
    results = {s.original_name: r for s, r in zip(sightings, job(sightings), strict=True)}
    rule, vi, en = results["broken.xlsx"]["failure"]
    assert rule == "parse_crash" and "'broken.xlsx'" in vi and "'broken.xlsx'" in en
    assert "IsADirectoryError" in en and "bị từ chối" in vi
    assert "failure" not in results["fine.xlsx"] and results["fine.xlsx"]["period"] == "2020-12"


def test_a_damaged_cached_parse_rejects_its_file_not_the_run(tmp_path):
    """A parse cache line that still reads as JSON but carries what no parse makes (text where a number
    belongs, a period of year 202, as a damaged disk or a hand edit leaves them) is that file's rejection
    when the run assembles; the other file goes on."""
    import orjson

    settings = make_home(tmp_path / "home")
    vt01(settings.inbox / "damaged.xlsx")
    vt01(settings.inbox / "bad_period.xlsx", period="10/2020")
    vt01(settings.inbox / "fine.xlsx", period="11/2020")
    build_home(settings, as_of=AS_OF)
    log = next(settings.cache_dir.glob("parses-*.log"))
    sightings, _ = steps.intake.intake(
        settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes
    )
    sha = {s.original_name: s.sha256.encode() for s in sightings}
    lines = log.read_bytes().splitlines(keepends=True)
    for n, line in enumerate(lines):
        parse = orjson.loads(line[65:])
        if line.startswith(sha["damaged.xlsx"]):
            parse["cells"][parse["value_columns"].index("value")][0] = "1e400"
        elif line.startswith(sha["bad_period.xlsx"]):
            parse["period"] = "202-10"
        lines[n] = line[:65] + orjson.dumps(parse) + b"\n"
    log.write_bytes(b"".join(lines))
    path = build_home(settings, as_of=AS_OF, run_id="T2")
    status, issues = statuses_and_issues(path)
    assert status == {"damaged.xlsx": "rejected", "bad_period.xlsx": "rejected", "fine.xlsx": "accepted"}
    ((rule, _, _, message),) = issues["damaged.xlsx"]
    assert rule == "parse_crash" and "damaged.xlsx" in message and "1e400" in message
    ((rule, _, _, message),) = issues["bad_period.xlsx"]
    assert rule == "parse_crash" and "bad_period.xlsx" in message and "202-10" in message


def test_report_years_ignore_impossible_periods():
    years = build.report_years(["2020-12", "202-12", "0202-12", None, float("nan"), "0000", "garbage"], AS_OF)
    assert years == range(2019, 2022)


def test_the_appendix_and_the_workbook_show_a_non_finite_cell_alike():
    """The build refuses non-finite figures; were one read anyway, the terminal and the workbook both show
    nothing for it (the workbook used to show a blank while the appendix printed 'inf')."""
    from ictstat.report import shown, vn_number

    for bad in (math.inf, -math.inf, math.nan, None):
        assert shown(bad) is None and vn_number(bad) == "-"
    assert shown(1656.0) == 1656.0 and vn_number(13706) == "13.706"
