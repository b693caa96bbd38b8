"""Validate parsed values with Pandera, batched: one validate per sheet type per run, not per file.

Failures are mapped back to the submission, sheet and cell they came from and returned as issues.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pandas as pd
import pandera.errors as pa_errors

from ictstat.messages import render
from ictstat.templates import get_template
from ictstat.templates.spec import SheetSpec
from schemas.forms import sheet_schema

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


def _to_issues(failures: pd.DataFrame, frame: pd.DataFrame, measures: Any) -> list[dict[str, Any]]:
    labels = {m.key: m.label for m in measures}
    maxima = {m.key: m.max_value for m in measures if m.max_value is not None}
    out: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for f in failures.itertuples(index=False):
        idx = f.index
        column = f.column if isinstance(f.column, str) else ""
        check = str(f.check)
        if idx is None or pd.isna(idx):
            continue
        rows = [int(idx)] if not isinstance(idx, (list, tuple)) else [int(i) for i in idx]
        for i in rows:
            row = frame.iloc[i]
            if check.startswith("negative"):
                rule = "negative"
            elif check.startswith("above_max"):
                rule = "above_max"
            elif check.startswith("not_nullable") or "null" in check:
                rule = "blank_required"
            elif "unknown_district" in check:
                rule = "unknown_district"
            elif "unique" in check or "duplicate" in check:
                rule = "duplicate_district"
            else:
                rule = "invalid_value"
            cell = row.get(f"cell__{column}", "") if column in labels else ""
            if not isinstance(cell, str):
                cell = ""
            key = (row["submission_id"], row["sheet"], cell, column, rule)
            if key in seen:
                continue
            seen.add(key)
            value = row.get(column, "") if column else ""
            vi, en = render(
                rule if rule != "invalid_value" else "not_a_number",
                sheet=row["sheet"],
                cell=cell,
                column=labels.get(column, column),
                value=value,
                expected=maxima.get(column, ""),
            )
            out.append(
                {
                    "submission_id": row["submission_id"],
                    "sheet": row["sheet"],
                    "cell": cell,
                    "column": labels.get(column, column),
                    "value": ""
                    if value is None or (isinstance(value, float) and pd.isna(value))
                    else str(value),
                    "rule": rule,
                    "severity": "error",
                    "message_vi": vi,
                    "message_en": en,
                }
            )
    return out


def group_by_submission(issues: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in issues:
        grouped[i["submission_id"]].append(i)
    return grouped
