"""Schemas of the published mart tables: their grain, keys and invariants.

They run on every build, before publication: a build whose marts break them fails, and the previous
warehouse stays published.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

PERIOD = r"^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]|H[12]))?$"
QUALIFIERS = ["exact", "more_than", "about", "less_than"]
PERIOD_KINDS = ["month", "quarter", "half", "year"]


def _finite(values: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(values.to_numpy(dtype=float)), index=values.index)


def _indicator_columns() -> dict[str, pa.Column]:
    return {
        "indicator_code": pa.Column(str, pa.Check.str_matches(r"^[A-Z][A-Z0-9_]+$")),
        "period": pa.Column(str, pa.Check.str_matches(PERIOD)),
        "period_kind": pa.Column(str, pa.Check.isin(PERIOD_KINDS)),
        "province_code": pa.Column(str),
        # finite: NaN and ±inf are never published (tasks/build.py check_mart_values also names their files)
        "value": pa.Column(float, pa.Check(_finite, error="finite"), nullable=False),
        "unit": pa.Column(str),
        "qualifier": pa.Column(str, pa.Check.isin(QUALIFIERS)),
        "yoy_change_pct": pa.Column(float, nullable=True),
    }


# Grain: one row per indicator, period and province.
PROVINCE_INDICATORS = pa.DataFrameSchema(
    _indicator_columns(),
    unique=["indicator_code", "period", "province_code"],
    name="mart.province_indicators",
    strict=False,
)

# Grain: one row per indicator, period and district.
DISTRICT_INDICATORS = pa.DataFrameSchema(
    {**_indicator_columns(), "district_code": pa.Column(str, pa.Check.str_matches(r"^\d{3}$"))},
    unique=["indicator_code", "period", "district_code"],
    name="mart.district_indicators",
    strict=False,
)

# Grain: one row per indicator, period, province and carrier (a carrier's branch reports in each province).
CARRIER_INDICATORS = pa.DataFrameSchema(
    {
        **_indicator_columns(),
        "carrier_code": pa.Column(str),
        "carrier_kind": pa.Column(str, pa.Check.isin(["telecom_carrier", "postal_carrier"])),
    },
    unique=["indicator_code", "period", "province_code", "carrier_code"],
    name="mart.carrier_indicators",
    strict=False,
)

MART_SCHEMAS = {
    "mart.province_indicators": PROVINCE_INDICATORS,
    "mart.district_indicators": DISTRICT_INDICATORS,
    "mart.carrier_indicators": CARRIER_INDICATORS,
}
