"""Schemas of the sheets of every template, built from the template's own declaration.

Grain of a district table: one row per (submission, district); of a commune table, one row per (submission,
commune); of an indicator list, one row per submission. Frames carry lineage columns (``submission_id``, ``sheet``, ``excel_row``) and, per measure,
``cell__<measure>`` with the A1 address the value came from, so that a failure maps back to a cell.

Type problems never reach these schemas: cells were parsed to floats (or None) first, with their own
issues (see ``tasks.numbers``). The schemas check rules on typed values: ranges, required figures, keys.
Besides a form's own bounds, every cell must lie in its indicator's plausible range (``min_value``,
``max_value`` in ictstat/refdata/indicators.csv, converted to the unit the form asks for), so that a count of
10^300 is an error of the file that carries it, before anything is summed.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pandera.pandas as pa

from ictstat import reference
from ictstat.templates.spec import Measure, SheetSpec, Template

LINEAGE = {
    "submission_id": pa.Column(str, nullable=False),
    "sheet": pa.Column(str, nullable=False),
}


def sheet_schema(template: Template, spec: SheetSpec, district_codes: Iterable[str]) -> pa.DataFrameSchema:
    """The Pandera schema of one sheet of one template version."""
    columns: dict[str, pa.Column] = dict(LINEAGE)
    for m in spec.measures:
        checks = []
        if m.min_value is not None:
            checks.append(pa.Check.ge(m.min_value, error=f"negative|{m.key}"))
        if m.max_value is not None:
            checks.append(pa.Check.le(m.max_value, error=f"above_max|{m.key}"))
        checks += _indicator_range_checks(m)
        columns[m.key] = pa.Column(
            float,
            checks=checks,
            nullable=not m.required,
            required=True,
            description=f"{m.label} ({m.unit}) -> {m.indicator}",
        )
    unique: list[str] = ["submission_id"]
    if spec.layout == "district_table":
        columns["district_code"] = pa.Column(
            str, pa.Check.isin(sorted(set(district_codes)), error="unknown_district"), nullable=False
        )
        unique.append("district_code")
    elif spec.layout == "commune_table":
        columns["commune_code"] = pa.Column(str, pa.Check.str_matches(r"^\d{5}$"), nullable=False)
        unique.append("commune_code")
    checks = [_part_of_whole_check(pw.parts, pw.whole) for pw in spec.parts_of_whole]
    return pa.DataFrameSchema(
        columns,
        checks=checks,
        unique=unique,
        strict=False,  # cell__<measure> and excel_row columns ride along
        name=f"{template.template_id}:{spec.name}",
        description=f"{template.title} / {spec.title}",
        coerce=False,
    )


def _part_of_whole_check(parts: tuple[str, ...], whole: str) -> pa.Check:
    """Row-wise: the parts add up to no more than the whole (rows missing a figure are not judged here)."""

    def holds(df: pd.DataFrame) -> pd.Series:
        missing = df[[*parts, whole]].isna().any(axis=1)
        return missing | (df[list(parts)].sum(axis=1) <= df[whole] + 1e-9)

    return pa.Check(holds, error=f"part_exceeds_whole|{'+'.join(parts)}|{whole}")


def _indicator_range_checks(m: Measure) -> list[pa.Check]:
    """The indicator's plausible range, in the measure's unit; a bound the form's own checks already enforce
    as tightly is left out (one issue per cell, not two)."""
    lo, hi = reference.indicator_range(m.indicator)
    factor = reference.unit_factor(m.unit, reference.indicators().get(m.indicator, {}).get("unit", m.unit))
    if factor is None or factor <= 0:
        return []
    lo_cell = None if lo is None else lo / factor
    hi_cell = None if hi is None else hi / factor
    expected = f"{_num(lo_cell)} – {_num(hi_cell)} {m.unit}"
    checks = []
    if lo_cell is not None and (m.min_value is None or m.min_value < lo_cell):
        checks.append(pa.Check.ge(lo_cell, error=f"out_of_range|{m.key}|{expected}"))
    if hi_cell is not None and (m.max_value is None or m.max_value > hi_cell):
        checks.append(pa.Check.le(hi_cell, error=f"out_of_range|{m.key}|{expected}"))
    return checks


def _num(x: float | None) -> str:
    """A bound the Vietnamese way (1.000.000.000; 0,001), or '…' for none."""
    if x is None:
        return "…"
    if float(x).is_integer():
        return f"{int(x):,}".replace(",", ".")
    return f"{x:g}".replace(".", ",")
