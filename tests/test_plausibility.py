"""Checks across files: a stock that jumps by more than half against the same reporter's previous month is a
warning on the cell (the file is accepted with warnings), through the flow's own steps."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from ictstat import reference
from ictstat.templates import get_template
from ictstat.templates.writer import FormData, write_form
from tests.conftest import build_home, make_home

SUBS, REV = "Thuê bao - BTS", "Doanh thu - Nộp NS"
DISTRICTS = reference.districts("70", date(2020, 12, 31))


def vt01(path: Path, period: str, mobile: dict[int, float], reporter: str = "VNPT") -> Path:
    template = get_template("VT-01")
    assert template is not None
    rows = {d.code: {"subs_fixed": 100 + i, "subs_mobile": mobile.get(i, 1000 * (i + 1)), "subs_internet": 500 + i,
                     "bts_sites": 5} for i, d in enumerate(DISTRICTS)}  # fmt: skip
    data = FormData(
        cover={"reporter_code": reporter, "period": period, "prepared_by": "Nguyễn Văn An"},
        district_values={SUBS: rows},
        item_values={REV: {"revenue": 12345.5, "budget": 700, "spam_suspended": 3}},
    )
    return write_form(template, path, DISTRICTS, data)


def test_a_stock_that_jumps_against_the_previous_month_is_a_warning_on_its_cell(tmp_path):
    settings = make_home(tmp_path / "home")
    vt01(settings.inbox / "vnpt_10.xlsx", "10/2020", {})
    vt01(settings.inbox / "vnpt_11.xlsx", "11/2020", {0: 2600, 3: 4010})  # 1,000 -> 2,600; 4,000 -> 4,010
    vt01(settings.inbox / "vnpt_12.xlsx", "12/2020", {0: 2600, 3: 4010, 5: 9})  # 6,000 -> 9 in December
    vt01(settings.inbox / "viettel_11.xlsx", "11/2020", {0: 2600}, reporter="VIETTEL")  # no October: no check
    path = build_home(settings, as_of=date(2021, 1, 20))
    con = duckdb.connect(str(path), read_only=True)
    try:
        status = dict(con.execute("SELECT original_name, status FROM audit.submissions").fetchall())
        warnings = con.execute(
            "SELECT original_name, sheet, cell, value_found, message_en FROM audit.validation_issues "
            "WHERE rule = 'unusual_jump' ORDER BY original_name, cell"
        ).fetchall()
    finally:
        con.close()
    assert status == {"vnpt_10.xlsx": "accepted", "vnpt_11.xlsx": "accepted_with_warnings",
                      "vnpt_12.xlsx": "accepted_with_warnings", "viettel_11.xlsx": "accepted"}  # fmt: skip
    cells = [(name, cell, value) for name, _, cell, value, _ in warnings]
    assert [c[0] for c in cells] == ["vnpt_11.xlsx", "vnpt_12.xlsx"]
    assert cells[0][2] == "2600" and cells[1][2] == "9"
    assert "+160%" in warnings[0][4] and "-100%" in warnings[1][4]
    assert all(sheet == SUBS for _, sheet, _, _, _ in warnings)


def test_the_frame_and_the_parquet_file_give_the_same_warnings(tmp_path):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tasks import validate
    from tasks.submissions import VALUE_COLUMNS, VALUE_SCHEMA

    def cell(sid, district, value, commune=None):
        return {"submission_id": sid, "template_id": "VT-01.v1", "sheet": SUBS, "sheet_spec": SUBS, "cell": "E9",
                "excel_row": 9, "district_code": district, "commune_code": commune, "measure": "subs_mobile",
                "indicator_code": "TEL_SUBS_MOBILE", "unit": "subscribers", "raw_value": str(value),
                "value": float(value), "qualifier": "exact"}  # fmt: skip

    values = pd.DataFrame(
        [cell("S1", "689", 100), cell("S2", "689", 300), cell("S3", "689", 120), cell("S1", "690", 50),
         cell("S2", "690", 56), cell("S4", "689", 900)],
        columns=VALUE_COLUMNS,
    )  # fmt: skip
    subs = pd.DataFrame(
        [{"submission_id": "S1", "province_code": "70", "reporter_code": "VNPT", "period": "2020-10", "seq": 1},
         {"submission_id": "S2", "province_code": "70", "reporter_code": "VNPT", "period": "2020-11", "seq": 2},
         {"submission_id": "S3", "province_code": "70", "reporter_code": "VNPT", "period": "2020-11", "seq": 3},
         {"submission_id": "S4", "province_code": "70", "reporter_code": "VNPT", "period": "2020-12", "seq": 4}]
    )  # fmt: skip
    path = tmp_path / "values.parquet"
    pq.write_table(pa.Table.from_pandas(values, schema=VALUE_SCHEMA, preserve_index=False), path)
    from_frame = validate.plausibility_warnings(values, subs)
    from_file = validate.plausibility_warnings(None, subs, path)
    assert from_frame == from_file
    # S2 (300 against 100) is flagged; December is compared with S3, November's correction (120), not S2
    assert [(w["submission_id"], w["value"]) for w in from_frame] == [("S2", "300"), ("S4", "900")]
