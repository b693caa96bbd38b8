"""Validate parsed values with Pandera, batched: one validate per sheet type per run, not per file.

Failures are mapped back to the submission, sheet and cell they came from and returned as issues.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pandera.errors as pa_errors

from ictstat import reference
from ictstat.messages import render
from ictstat.templates import all_templates, get_template
from ictstat.templates.spec import SheetSpec
from schemas.forms import sheet_schema
from tasks.parsefile import crash_failure, file_cells
from tasks.submissions import VALUE_COLUMNS

UNIT_KEY = {"district_table": "district_code", "commune_table": "commune_code"}


def wide_frames(values: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """Long parsed values -> one wide frame per (template, sheet): a row per submission (and unit)."""
    out: dict[tuple[str, str], pd.DataFrame] = {}
    if values.empty:
        return out
    for (template_id, sheet_name), part in values.groupby(["template_id", "sheet_spec"], sort=True):
        spec = _sheet_spec(str(template_id), str(sheet_name))
        unit_key = UNIT_KEY.get(spec.layout)
        keys = ["submission_id", "sheet"] + ([unit_key] if unit_key else [])
        # groupby + unstack keeps exactly the (submission, unit) rows that exist (pivot_table(dropna=False) would
        # build their cartesian product) and keeps blank cells as NaN.
        grouped = part.groupby([*keys, "measure"], dropna=False)
        wide = grouped["value"].first().unstack("measure")
        cells = grouped["cell"].first().unstack("measure")
        rows = part.groupby(keys)["excel_row"].min()
        wide.columns = [str(c) for c in wide.columns]
        cells.columns = [f"cell__{c}" for c in cells.columns]
        out[(str(template_id), str(sheet_name))] = pd.concat([wide, cells, rows], axis=1).reset_index()
    return out


def _sheet_spec(template_id: str, sheet_name: str) -> SheetSpec:
    form_code, _, version = template_id.partition(".v")
    template = get_template(form_code, int(version))
    assert template is not None, template_id
    return next(s for s in template.sheets if s.name == sheet_name)


def validate(values: pd.DataFrame, district_codes: Iterable[str]) -> list[dict[str, Any]]:
    """Run every sheet's schema over all its submissions at once; return issues with cell addresses."""
    codes = list(district_codes)
    issues: list[dict[str, Any]] = []
    for (template_id, sheet_name), frame in wide_frames(values).items():
        form_code, _, version = template_id.partition(".v")
        template = get_template(form_code, int(version))
        assert template is not None
        spec = _sheet_spec(template_id, sheet_name)
        for m in spec.measures:
            if m.key not in frame:
                frame[m.key] = float("nan")
                frame[f"cell__{m.key}"] = ""
            frame[m.key] = frame[m.key].astype(float)
        schema = sheet_schema(template, spec, codes)
        try:
            schema.validate(frame, lazy=True)
        except pa_errors.SchemaErrors as err:
            issues.extend(_to_issues(err.failure_cases, frame, spec.measures))
    return issues


def validate_parses(
    parsed_by_sha: dict[str, dict[str, Any]], district_codes: Iterable[str]
) -> dict[str, list[dict[str, Any]]]:
    """The schema issues of freshly parsed files, by sha256, without submission ids: a file's validation depends
    only on its bytes and the code and reference data the parse cache's fingerprint covers, so it is kept in the
    cache with the parse and files already validated are not validated again.

    A bulkhead: when the batch's validation raises, each file is validated alone, and a file whose own
    validation raises gets that as an error (``parse_crash``), never the run."""
    codes = list(district_codes)
    out: dict[str, list[dict[str, Any]]] = {sha: [] for sha in parsed_by_sha}
    try:
        issues = validate(_values_frame(parsed_by_sha), codes)
    except Exception:  # one file's values broke the batch: find which, file by file
        for sha, parsed in parsed_by_sha.items():
            out[sha] = _validate_alone(sha, parsed, codes)
        return out
    for issue in issues:
        sha = issue.pop("submission_id")
        out[sha].append(issue)
    return out


def _validate_alone(sha: str, parsed: dict[str, Any], codes: list[str]) -> list[dict[str, Any]]:
    try:
        issues = validate(_values_frame({sha: parsed}), codes)
    except Exception as exc:  # this file's values break the schemas: it is rejected for that
        rule, vi, en = crash_failure(str(parsed.get("original_name") or sha[:12]), "validate", exc)
        return [{"sheet": "", "cell": "", "column": "", "value": "", "rule": rule, "severity": "error",
                 "message_vi": vi, "message_en": en}]  # fmt: skip
    for issue in issues:
        issue.pop("submission_id")
    return issues


def _values_frame(parsed_by_sha: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The parsed cells of the files, a row per cell, with the file's sha256 as its submission id."""
    columns: list[list[Any]] = [[] for _ in VALUE_COLUMNS]
    for sha, parsed in parsed_by_sha.items():
        if "failure" in parsed:
            continue
        cells = file_cells(parsed)
        if n := len(cells[0]):
            columns[0].extend([sha] * n)
            columns[1].extend([parsed["template_id"]] * n)
            for column, values in zip(columns[2:], cells, strict=True):
                column.extend(values)
    return pd.DataFrame(dict(zip(VALUE_COLUMNS, columns, strict=True)), columns=VALUE_COLUMNS)


def _rule_of(check: str) -> str:
    """The issue rule behind a Pandera check name (checks are named ``rule|details`` in schemas/forms.py)."""
    for prefix, rule in (
        ("out_of_range", "out_of_range"),
        ("negative", "negative"),
        ("above_max", "above_max"),
        ("part_exceeds_whole", "part_exceeds_whole"),
        ("unknown_district", "unknown_district"),
    ):
        if check.startswith(prefix):
            return rule
    if "null" in check:
        return "blank_required"
    if "unique" in check or "duplicate" in check:
        return "duplicate_commune" if "commune_code" in check else "duplicate_district"
    return "not_a_number"


def _to_issues(failures: pd.DataFrame, frame: pd.DataFrame, measures: Any) -> list[dict[str, Any]]:
    labels = {m.key: m.label for m in measures}
    maxima = {m.key: m.max_value for m in measures if m.max_value is not None}
    out: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for f in failures.itertuples(index=False):
        idx = f.index
        if idx is None or pd.isna(idx):
            continue
        check = str(f.check)
        rule = _rule_of(check)
        column = f.column if isinstance(f.column, str) else ""
        extra: dict[str, Any] = {"expected": maxima.get(column, "")}
        if rule == "out_of_range":
            extra = {"expected": check.split("|", 2)[2]}  # the range, as the schema wrote it
        row = frame.iloc[int(idx)]
        value = row.get(column, "") if column else ""
        if rule == "part_exceeds_whole":
            # the issue points at the first part; the message names the whole and its value
            _, parts_text, whole = check.split("|")
            parts = parts_text.split("+")
            column = parts[0]
            value = float(sum(row[p] for p in parts))
            extra = {"expected": labels.get(whole, whole), "whole": _plain(row[whole])}
        cell = row.get(f"cell__{column}", "") if column in labels else ""
        cell = cell if isinstance(cell, str) else ""
        if rule == "blank_required" and not cell:
            continue  # the whole line or column is missing: the parser already said so, naming it
        key = (row["submission_id"], row["sheet"], cell, column, rule)
        if key in seen:
            continue
        seen.add(key)
        vi, en = render(rule, sheet=row["sheet"], cell=cell, column=labels.get(column, column), value=_plain(value),
                        **extra)  # fmt: skip
        out.append(
            {
                "submission_id": row["submission_id"],
                "sheet": row["sheet"],
                "cell": cell,
                "column": labels.get(column, column),
                "value": _plain(value),
                "rule": rule,
                "severity": "error",
                "message_vi": vi,
                "message_en": en,
            }
        )
    return out


def _plain(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and abs(value) >= 1e15:
        return f"{value:g}"  # 1.7e+308, not a 309-digit integer
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def group_by_submission(issues: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in issues:
        grouped[i["submission_id"]].append(i)
    return grouped


JUMP_MEMORY_MB = 1024  # DuckDB's buffer for the check over a run's values file (60,000 workbooks: 1.4 GB)
JUMP_RATIO = 0.5  # a stock moving by more than half in a month is worth a second look
JUMP_MIN_ABS = 10  # ... unless it is a handful of units


def plausibility_warnings(
    values: pd.DataFrame | None, submissions: pd.DataFrame, values_path: Path | None = None
) -> list[dict[str, Any]]:
    """Warnings that do not block: a stock (subscribers, sites, points) that jumps by more than half against
    the same reporter's previous month, cell by cell (district by district).

    Computed by DuckDB over the values frame, or over the run's Parquet file of values (``values_path``)
    without loading it."""
    stocks = sorted(code for code, row in reference.indicators().items() if row["aggregation"] == "stock")
    con = duckdb.connect()
    try:
        if values_path is not None:  # the whole history: a bounded buffer, spilling beside the values file
            con.execute(f"SET memory_limit = '{JUMP_MEMORY_MB}MB'")
            spill = str(values_path.with_suffix(".tmp"))
            if "'" in spill:
                raise ValueError(f"the build folder may not contain a quote: {spill}")
            con.execute(f"SET temp_directory = '{spill}'")
        subs = submissions[["submission_id", "province_code", "reporter_code", "period", "seq"]]
        con.register("pv_subs", subs)
        if values_path is not None:
            con.register("pv_values_in", con.read_parquet(str(values_path), file_row_number=True))
            con.execute("CREATE TEMP VIEW pv_values AS SELECT *, file_row_number AS ord FROM pv_values_in")
        else:
            if values is None or values.empty:
                return []
            cols = ["submission_id", "template_id", "sheet", "cell", "district_code", "commune_code", "measure",
                    "indicator_code", "value"]  # fmt: skip
            part = values.loc[values["indicator_code"].isin(stocks) & values["value"].notna(), cols]
            con.register("pv_values", part.assign(ord=range(len(part))))
        rows = con.execute(PLAUSIBILITY_SQL, [stocks, JUMP_MIN_ABS, JUMP_RATIO]).fetchall()
    finally:
        con.close()
        if values_path is not None:
            shutil.rmtree(values_path.with_suffix(".tmp"), ignore_errors=True)
    labels = {(t.template_id, m.key): m.label for t in all_templates() for _, m in t.all_measures()}
    out = []
    for submission_id, template_id, sheet, cell, measure, value, prev_value in rows:
        pct = 100 * (value - prev_value) / prev_value
        label = labels.get((template_id, measure), measure)
        vi, en = render("unusual_jump", sheet=sheet, cell=cell, column=label, value=_plain(value),
                        change=f"{pct:+.0f}%", expected=_plain(prev_value))  # fmt: skip
        out.append({"submission_id": submission_id, "sheet": sheet, "cell": cell, "column": label,
                    "value": _plain(value), "rule": "unusual_jump", "severity": "warning",
                    "message_vi": vi, "message_en": en})  # fmt: skip
    return out


# Each monthly stock cell against the same reporter's value for the same cell key the month before, as the
# newest file of that month has it (a correction replaces the first version). Keys may be NULL (no commune).
PLAUSIBILITY_SQL = r"""
WITH v AS (
    SELECT x.submission_id, x.template_id, x.sheet, x.cell, x.district_code, x.commune_code, x.measure,
           x.value, x.ord, s.province_code, s.reporter_code, s.period, s.seq
    FROM pv_values x
    JOIN pv_subs s ON s.submission_id = x.submission_id
    WHERE list_contains($1, x.indicator_code) AND x.value IS NOT NULL
      AND s.reporter_code IS NOT NULL AND s.period IS NOT NULL AND regexp_full_match(s.period, '\d{4}-\d{2}')
    QUALIFY row_number() OVER (PARTITION BY s.province_code, s.reporter_code, x.measure, x.district_code,
                                            x.commune_code, s.period, x.submission_id ORDER BY x.ord) = 1
),
latest AS (
    SELECT province_code, reporter_code, measure, district_code, commune_code, period, value
    FROM v
    QUALIFY row_number() OVER (PARTITION BY province_code, reporter_code, measure, district_code, commune_code,
                                            period ORDER BY seq DESC, ord DESC) = 1
)
SELECT v.submission_id, v.template_id, v.sheet, v.cell, v.measure, v.value, l.value AS prev_value
FROM v
JOIN latest l ON l.reporter_code = v.reporter_code AND l.measure = v.measure
             AND l.province_code IS NOT DISTINCT FROM v.province_code
             AND l.district_code IS NOT DISTINCT FROM v.district_code
             AND l.commune_code IS NOT DISTINCT FROM v.commune_code
             AND l.period = strftime(TRY_CAST(v.period || '-01' AS DATE) - INTERVAL 1 MONTH, '%Y-%m')
WHERE l.value > 0 AND abs(v.value - l.value) >= $2 AND abs(v.value - l.value) / l.value > $3
ORDER BY v.seq, v.ord
"""
