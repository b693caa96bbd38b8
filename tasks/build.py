"""Build the warehouse into a new DuckDB file: reference data, staging, audit, core, marts, documentation.

The build never touches the published file; :mod:`tasks.publish` swaps it in. Inputs are registered as
frames (``in_*``) and the SQL files of ``warehouse/sql`` run in name order.
"""

from __future__ import annotations

import calendar
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

import warehouse
from ictstat import reference
from ictstat.periods import Period, rollups, year_in_range
from schemas.marts import MART_SCHEMAS
from tasks import receipts, rules

log = logging.getLogger(__name__)
BUILD_MEMORY_MB = 1024  # DuckDB's buffer for the build (it spills to disk beyond it)

REFERENCE_FRAMES = {
    "in_ref_provinces": "provinces",
    "in_ref_districts": "admin_units",
    "in_ref_reporters": "reporters",
    "in_ref_indicators": "indicators",
    "in_ref_units": "units",
    "in_ref_appendix_lines": "appendix_lines",
    "in_ref_communes": "communes",
    "in_ref_derived_indicators": "derived_indicators",
    "in_ref_reconciliation_rules": "reconciliation_rules",
    "in_ref_plan_targets": "plan_targets",
    "in_ref_reporting_calendar": "reporting_calendar",
    "in_ref_admin_units": "admin_unit_history",
    "in_ref_admin_unit_crosswalk": "admin_unit_crosswalk",
    "in_ref_department_functions": "department_functions",
}


def period_tables(years: Iterable[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``ref.periods`` (one row per period) and ``ref.period_rollups`` (which periods a reported period feeds).

    A month feeds itself, its quarter, its half and its year; a half-year or a year report feeds only itself
    (an annual form is the authority for its year: its figures are never added to the six-month form's).
    """
    periods: list[dict[str, Any]] = []
    rollup_rows: list[dict[str, Any]] = []
    for year in sorted(set(years)):
        every = [Period(year, "year", 1)]
        every += [Period(year, "half", n) for n in (1, 2)]
        every += [Period(year, "quarter", n) for n in (1, 2, 3, 4)]
        every += [Period.month(year, m) for m in range(1, 13)]
        for p in every:
            days = sum(calendar.monthrange(year, x)[1] for x in range(p.first_month, p.last_month + 1))
            periods.append(
                {
                    "period": str(p),
                    "period_kind": p.kind,
                    "year": year,
                    "number": p.number,
                    "months_in_period": p.n_months,
                    "days_in_period": days,
                    "end_date": p.end_date.isoformat(),
                    "same_period_last_year": str(Period(year - 1, p.kind, p.number)),
                }
            )
            if p.kind != "month":
                rollup_rows.append(
                    {"reported_period": str(p), "period": str(p), "is_last_part": True, "parts": 1}
                )
        for m in range(1, 13):
            month = Period.month(year, m)
            for p in rollups(month):
                rollup_rows.append(
                    {
                        "reported_period": str(month),
                        "period": str(p),
                        "is_last_part": m == p.last_month,
                        "parts": p.n_months,
                    }
                )
    return pd.DataFrame(periods), pd.DataFrame(rollup_rows)


def report_years(periods: Iterable[object], run_date: date) -> range:
    """The years the warehouse's period tables cover: those of the submissions' periods, a year either side
    and the run's. Total over whatever a submission row holds: a period that does not parse, or whose year is
    not sane (``0202-12``), adds nothing (its file was rejected for it) rather than crashing the build or asking
    for eighteen centuries of periods."""
    first = reference.first_year()
    years: set[int] = set()
    for p in periods:
        try:
            year = Period.parse(str(p)).year
        except ValueError:
            continue
        if year_in_range(year, first, run_date):
            years.add(year)
    years = years or {run_date.year}
    return range(min(min(years) - 1, run_date.year), max(max(years) + 1, run_date.year) + 1)


def warehouse_steps() -> list[tuple[str, str]]:
    """The build, step by step: SQL files of warehouse/sql and the SQL generated from the rule files."""
    derived = reference.rows("derived_indicators")
    catalog = reference.indicators()
    units = {code: row["unit"] for code, row in catalog.items()}
    generated = {
        "derived_sums": lambda: rules.derived_sums_sql(derived, catalog.keys()),
        "derived_counts": lambda: rules.derived_counts_sql(derived, units),
        "derived_formulas": lambda: rules.derived_formulas_sql(derived, units),
        "reconciliation": lambda: rules.reconciliation_sql(
            reference.rows("reconciliation_rules"), catalog.keys()
        ),
    }
    steps = []
    for step in warehouse.STEPS:
        if step.endswith(".sql"):
            steps.append((step, (warehouse.SQL_DIR / step).read_text(encoding="utf-8")))
        else:
            steps.append((step, generated[step]()))
    return steps


def build_warehouse(
    path: Path,
    inputs: Mapping[str, pd.DataFrame | Path],
    years: Iterable[int],
    storage_version: str | None = None,
) -> dict[str, int]:
    """Create ``path`` from scratch; return the row count of every table built."""
    if path.exists():
        path.unlink()
    con = duckdb.connect()
    try:
        # DuckDB keeps up to 80 % of the machine's memory cached by default; the build writes what it makes
        # to the new file, so a bounded buffer only costs re-reads and keeps the run's peak flat
        con.execute(f"SET memory_limit = '{BUILD_MEMORY_MB}MB'")
        con.execute(f"SET temp_directory = '{_sql_path(path.with_suffix('.tmp'))}'")  # where it spills
        options = ""
        # ATTACH takes no bound parameters: the version is checked against a strict pattern instead.
        if storage_version and storage_version != "latest":
            _check_storage_version(storage_version)
            options = f"(STORAGE_VERSION '{storage_version}')"
        con.execute(f"ATTACH '{_sql_path(path)}' AS wh {options}")
        con.execute("USE wh")
        for name, ref_name in REFERENCE_FRAMES.items():
            frame = reference.frame(ref_name)
            if ref_name == "indicators":  # a deployment's overlay written before ranges existed declares none
                frame = frame.reindex(
                    columns=[*frame.columns.drop(RANGE_COLUMNS, errors="ignore"), *RANGE_COLUMNS]
                )
            con.register(name, frame)
        periods, period_rollups = period_tables(years)
        con.register("in_ref_periods", periods)
        con.register("in_ref_period_rollups", period_rollups)
        con.register("in_indicator_forms", indicator_forms_frame(inputs))
        con.register("in_receipts", receipts.empty())  # the run's register, if any, replaces it
        for name, df in inputs.items():
            if isinstance(df, Path):  # a Parquet file (the run's values, streamed there): read, not loaded
                con.register(name, con.read_parquet(str(df)))  # a temporary view, never in the warehouse
            else:
                con.register(name, df)
        for name, sql in warehouse_steps():
            started = time.perf_counter()
            try:
                con.execute(sql)
            except duckdb.Error as exc:
                raise RuntimeError(f"warehouse step {name}: {exc}") from exc
            log.debug("warehouse step %s: %.2f s", name, time.perf_counter() - started)
        started = time.perf_counter()
        apply_comments(con)
        check_marts(con)
        log.debug("comments and mart checks: %.2f s", time.perf_counter() - started)
        counts = {
            f"{schema}.{table}": int(n)
            for schema, table, n in con.execute(
                "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() WHERE database_name = 'wh'"
            ).fetchall()
        }
        con.execute("CHECKPOINT wh")
        con.execute("USE memory")
        con.execute("DETACH wh")
    finally:
        con.close()
    return counts


RANGE_COLUMNS = ["min_value", "max_value"]


class MartCheckError(RuntimeError):
    """A mart holds a figure that must never be published; ``submissions`` are the files behind it."""

    def __init__(self, findings: list[tuple[Any, ...]], submissions: list[str]) -> None:
        self.findings = findings
        self.submissions = submissions
        self.figures = "; ".join(
            f"{code} {period} {key} = {value}" for _, code, period, key, value, *_ in findings[:3]
        )
        shown = "; ".join(
            f"{t} {code} {period} {key}: {value}" for t, code, period, key, value, *_ in findings[:5]
        )
        behind = ", ".join(submissions[:20]) or "?"
        super().__init__(
            f"Bản dựng không được công bố: {len(findings)} số liệu không hữu hạn hoặc ngoài khoảng hợp lý ({shown}); "
            f"do các tệp {behind} / the build is not published: {len(findings)} figure(s) not finite or outside "
            f"their indicator's range ({shown}); from submission(s) {behind}"
        )


# Every figure of the indicator marts that is NaN, ±inf or outside its indicator's range (ref.indicators), and
# every other number of a mart table that is not finite. Kept in SQL: a frame would carry inf unnoticed.
MART_VALUE_SQL = """
WITH figures AS (
    SELECT 'province' AS level, indicator_code, period, province_code AS grain_key, value, previous_year_value,
           yoy_change_pct, yoy_change_abs
    FROM mart.province_indicators
    UNION ALL
    SELECT 'district', indicator_code, period, district_code, value, previous_year_value, yoy_change_pct,
           yoy_change_abs
    FROM mart.district_indicators
    UNION ALL
    SELECT 'carrier', indicator_code, period, carrier_code, value, previous_year_value, yoy_change_pct,
           yoy_change_abs
    FROM mart.carrier_indicators
)
SELECT f.level, f.indicator_code, f.period, f.grain_key, f.value, i.min_value, i.max_value
FROM figures f
LEFT JOIN ref.indicators i USING (indicator_code)
WHERE NOT isfinite(f.value) OR f.value < i.min_value OR f.value > i.max_value
   OR NOT isfinite(f.previous_year_value) OR NOT isfinite(f.yoy_change_pct) OR NOT isfinite(f.yoy_change_abs)
ORDER BY ALL
"""

# The submissions behind the refused figures (the lineage view, filtered on them: milliseconds). A file whose own
# part of a figure is already absurd (not finite, or outside the range by itself) is blamed alone; when every
# part is plausible and only their sum is not, all the figure's files are named, since none can be told apart.
MART_SOURCES_SQL = """
WITH parts AS (
    SELECT b.level, b.indicator_code, b.period, b.grain_key, l.submission_id,
           coalesce(NOT isfinite(sum(l.value_in_unit)) OR sum(l.value_in_unit) < any_value(b.min_value)
                    OR sum(l.value_in_unit) > any_value(b.max_value), false) AS absurd_alone
    FROM mart.indicator_lineage l
    JOIN bad_figures b ON b.level = l.level AND b.indicator_code = l.indicator_code AND b.period = l.period
         AND b.grain_key = CASE l.level WHEN 'province' THEN l.province_code WHEN 'district' THEN l.district_code
                                        ELSE l.carrier_code END
    WHERE l.submission_id IS NOT NULL
    GROUP BY ALL
)
SELECT DISTINCT submission_id
FROM parts p
WHERE absurd_alone OR NOT EXISTS (
    SELECT 1 FROM parts q
    WHERE q.level = p.level AND q.indicator_code = p.indicator_code AND q.period = p.period
      AND q.grain_key = p.grain_key AND q.absurd_alone)
ORDER BY 1
"""


def check_mart_values(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse a build holding a non-finite figure or one outside its indicator's range, naming the files behind it
    (:class:`MartCheckError`); the previous publication stays. The appendix tables show the province figures,
    so checking these covers them."""
    findings = con.execute(MART_VALUE_SQL).fetchall()
    if not findings:
        return
    bad = pd.DataFrame(
        [r[:4] for r in findings], columns=["level", "indicator_code", "period", "grain_key"], dtype=object
    ).assign(min_value=[r[5] for r in findings], max_value=[r[6] for r in findings])
    con.register("bad_figures", bad)
    try:
        behind = [str(r[0]) for r in con.execute(MART_SOURCES_SQL).fetchall()]
    finally:
        con.unregister("bad_figures")
    raise MartCheckError(findings, behind)


def indicator_forms_frame(inputs: Mapping[str, pd.DataFrame | Path]) -> pd.DataFrame:
    """The forms feeding each indicator (``ref.indicator_forms``), on the run's reporting calendar."""
    calendar = inputs.get("in_ref_reporting_calendar")
    frame = calendar if isinstance(calendar, pd.DataFrame) else reference.frame("reporting_calendar")
    rows = rules.indicator_forms(
        reference.indicators(), reference.rows("derived_indicators"), frame.astype(str).to_dict("records")
    )
    return pd.DataFrame(rows, columns=["indicator_code", "form_code", "last_month_only"])


def check_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Validate the published tables against their schemas; a failure stops the build before publication."""
    check_mart_values(con)
    for table, schema in MART_SCHEMAS.items():
        frame = con.execute(f"SELECT * FROM {table}").df()
        if frame.empty:
            continue  # nothing accepted yet (an empty frame has no types to check); publish the empty table
        schema.validate(frame, lazy=True)


def _check_storage_version(version: str) -> None:
    import re

    if not re.fullmatch(r"v\d+\.\d+\.\d+", version):
        raise ValueError(f"ICTSTAT_STORAGE_VERSION must be 'latest' or look like v1.1.0, not {version!r}")


def _sql_path(path: Path) -> str:
    text = str(path.resolve())
    if "'" in text:
        raise ValueError(f"the warehouse path may not contain a quote: {text}")
    return text


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_catalog() -> dict[str, Any]:
    # libyaml's safe loader when PyYAML has it (10x faster: the catalog was 0.09 s of every build)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with warehouse.CATALOG.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.load(fh, Loader=loader)  # a safe loader, C or Python
    return data


def comment_text(doc: Mapping[str, str]) -> str:
    return f"{doc['vi']} / {doc['en']}"


def apply_comments(con: duckdb.DuckDBPyConnection) -> None:
    """Write catalog.yml into the warehouse as COMMENT ON (the text is the project's own, not user input),
    in one transaction: a commit per column costs most of a second."""
    con.execute("BEGIN")
    try:
        _apply_comments(con)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _apply_comments(con: duckdb.DuckDBPyConnection) -> None:
    catalog = load_catalog()
    common = catalog.get("common_columns", {})
    tables = catalog.get("tables", {})
    objects = con.execute(
        "SELECT schema_name, table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = 'wh' "
        "UNION ALL SELECT schema_name, view_name, 'VIEW' FROM duckdb_views() "
        "WHERE database_name = 'wh' AND NOT internal"
    ).fetchall()
    for schema, table, kind in objects:
        qualified = f"{schema}.{table}"
        doc = tables.get(qualified)
        if doc is None:
            continue  # the documentation test names what is missing
        con.execute(f"COMMENT ON {kind} {qualified} IS {_quote(comment_text(doc))}")
        columns = con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'wh' AND schema_name = ? "
            "AND table_name = ?",
            [schema, table],
        ).fetchall()
        for (column,) in columns:
            cdoc = (doc.get("columns") or {}).get(column) or common.get(column)
            if cdoc:
                con.execute(f'COMMENT ON COLUMN {qualified}."{column}" IS {_quote(comment_text(cdoc))}')


def submission_status_counts(path: Path) -> dict[str, int]:
    """How many files of each status the built warehouse holds (superseded is decided in SQL)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("SELECT status, count(*) FROM audit.submissions GROUP BY status").fetchall()
    finally:
        con.close()
    return {str(status): int(n) for status, n in rows}
