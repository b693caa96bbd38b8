"""The baseline: the same job written the way a tutorial would write it.

Per file, in one Prefect task per file inside a Prefect flow: ``pandas.read_excel(sheet_name=None,
engine="openpyxl")``, the cover's label/value pairs looked up by their printed labels, each data sheet's table
found below the header row the template writes ("STT"), one Pandera ``DataFrameSchema.validate`` per sheet, and
one ``INSERT`` per frame (registered with DuckDB) into a DuckDB file. No parse cache, no batching, no rebuild:
every run loads every file again.

It keeps enough to be compared with ictstat: ``reported_values`` holds every figure with its province, reporter,
form, period and district, so province totals of telecom subscribers can be summed and checked against
``mart.province_indicators`` (see :func:`province_totals`).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa
from prefect import flow, task

from ictstat import reference

COVER_LABELS = {
    "Mã biểu mẫu": "form_code",
    "Mã đơn vị báo cáo": "reporter_code",
    "Tỉnh/thành phố": "province",
    "Kỳ báo cáo": "period",
}
TABLE = """CREATE TABLE IF NOT EXISTS reported_values (
    source_file VARCHAR, province_code VARCHAR, reporter_code VARCHAR, form_code VARCHAR, period VARCHAR,
    sheet VARCHAR, district_code VARCHAR, item VARCHAR, value DOUBLE)"""
# What a tutorial checks: a number that is not negative, a district code of three digits when there is one.
SHEET_SCHEMA = pa.DataFrameSchema(
    {
        "item": pa.Column(str),
        "value": pa.Column(float, pa.Check.ge(0), nullable=True, coerce=True),
        "district_code": pa.Column(str, pa.Check.str_matches(r"^\d{3}$"), nullable=True),
    }
)
_PERIOD_IN_PATH = re.compile(r"/(\d{4})(?:/(\d{2})/)?")  # .../2019/07/... or .../2019/... (annual)
MOBILE_LABEL = "Thuê bao điện thoại di động"  # the VT-01 column compared with ictstat's TEL_SUBS_MOBILE


def province_codes() -> dict[str, str]:
    """Province name as printed on covers -> GSO code (a lookup table, as a tutorial would load one)."""
    return {r["province_name"]: r["province_code"] for r in reference.rows("provinces")}


def parse_period(text: str) -> str | None:
    """'07/2020', 'Tháng 07 năm 2020' -> '2020-07'; 'Năm 2020' -> '2020'."""
    text = str(text).strip()
    if m := re.fullmatch(r"(?:Tháng\s+)?(\d{1,2})(?:/|\s+năm\s+)(\d{4})", text):
        return f"{m.group(2)}-{int(m.group(1)):02d}"
    if m := re.fullmatch(r"Năm\s+(\d{4})", text):
        return m.group(1)
    return None


def read_cover(frame: pd.DataFrame) -> dict[str, str]:
    out = {}
    for _, row in frame.iterrows():
        key = COVER_LABELS.get(str(row[0]).strip())
        if key and len(row) > 1 and pd.notna(row[1]):
            out[key] = str(row[1]).strip()
    return out


def read_table(frame: pd.DataFrame) -> pd.DataFrame | None:
    """The data table of a sheet in long form (district_code, item, value), or None if it has no table."""
    header_rows = frame.index[frame[0].astype(str).str.strip() == "STT"]
    if len(header_rows) == 0:
        return None
    header = frame.loc[header_rows[0]].astype(str).str.strip().tolist()
    body = frame.loc[header_rows[0] + 1 :].copy()
    body.columns = header
    body = body[pd.to_numeric(body["STT"], errors="coerce").notna()]  # data rows are numbered
    if "Chỉ tiêu" in header:  # an indicator list: one figure per line
        long = pd.DataFrame({"district_code": None, "item": body["Chỉ tiêu"], "value": body["Số liệu"]})
    else:  # a district or commune table: one column per figure
        unit = "Mã ĐVHC" if "Mã ĐVHC" in header else "Mã xã"
        measures = [c for c in header[3:] if c != "nan"]
        long = body.melt(id_vars=[unit], value_vars=measures, var_name="item", value_name="value")
        long = long.rename(columns={unit: "district_code"})
        if unit == "Mã xã":  # commune codes: the district is the reporter's, not kept by the tutorial
            long["district_code"] = None
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    return long.reset_index(drop=True)


@task
def load_file(path: Path, database: Path, provinces: dict[str, str]) -> int:
    """Read, validate and insert one workbook; returns the number of figures inserted."""
    sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl", header=None)
    cover = read_cover(sheets.pop("Thông tin chung"))
    period = parse_period(cover.get("period", ""))
    province = provinces.get(cover.get("province", ""))
    inserted = 0
    with duckdb.connect(str(database)) as con:
        con.execute(TABLE)
        for name, frame in sheets.items():
            table = read_table(frame)
            if table is None:
                continue
            table = SHEET_SCHEMA.validate(table)
            table.insert(0, "sheet", name)
            for column, value in (("period", period), ("form_code", cover.get("form_code"))):
                table.insert(0, column, value)
            table.insert(0, "reporter_code", cover.get("reporter_code"))
            table.insert(0, "province_code", province)
            table.insert(0, "source_file", path.name)
            con.register("frame", table)
            con.execute(
                "INSERT INTO reported_values SELECT source_file, province_code, reporter_code, form_code, "
                "period, sheet, district_code, item, value FROM frame"
            )
            con.unregister("frame")
            inserted += len(table)
    return inserted


def inbox_files(inbox: Path, limit: int | None = None) -> list[Path]:
    """The inbox's workbooks by province and period (a month's reports of every carrier together, a year's
    annual reports after its December), the first ``limit`` of them: a subset holds whole months."""

    def order(path: Path) -> tuple[str, int, int, str]:
        relative = path.relative_to(inbox).as_posix()
        found = _PERIOD_IN_PATH.search(relative)
        year, month = (int(found.group(1)), int(found.group(2) or 13)) if found else (0, 0)
        return relative.split("/")[0], year, month, relative

    return sorted(inbox.rglob("*.xlsx"), key=order)[:limit]


@flow(name="naive-load")
def naive_load(inbox: Path, database: Path, limit: int | None = None) -> int:
    """One task per file, one after the other, as the tutorial's loop does."""
    provinces = province_codes()
    return sum(load_file(path, database, provinces) for path in inbox_files(inbox, limit))


def province_totals(database: Path) -> dict[tuple[str, str], tuple[float, int]]:
    """Telecom mobile subscribers by (province, month) from the naive database, with how many carriers' files
    the figure adds up (a subset run may hold only some of a month's files)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        rows = con.execute(
            "SELECT province_code, period, sum(value), count(DISTINCT reporter_code) FROM reported_values "
            "WHERE form_code = 'VT-01' AND item = ? GROUP BY ALL",
            [MOBILE_LABEL],
        ).fetchall()
    finally:
        con.close()
    # a month whose figures the naive reader left all blank has no total to compare
    return {(p, period): (float(v), int(n)) for p, period, v, n in rows if v is not None}
