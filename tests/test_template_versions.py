"""A later layout of a form must not break files sent on the old one: versions live side by side."""

from __future__ import annotations

import dataclasses
from datetime import date

from ictstat import reference
from ictstat.templates import get_template, registry
from ictstat.templates.spec import Measure
from ictstat.templates.writer import FormData, write_form
from tasks.parse import parse_workbook
from tasks.read import read_workbook

DISTRICTS = reference.districts("70", date(2020, 12, 31))


def test_v1_files_still_parse_after_a_v2_with_a_new_column_is_registered(tmp_path, monkeypatch):
    v1 = get_template("VT-01", 1)
    subs = v1.sheets[0]
    new_col = Measure("subs_5g", "Thuê bao 5G", "TEL_SUBS_MOBILE", "subscribers", "thuê bao", required=False)
    v2 = dataclasses.replace(
        v1, version=2, sheets=(dataclasses.replace(subs, measures=(*subs.measures, new_col)), v1.sheets[1])
    )
    monkeypatch.setattr(registry, "all_templates", lambda: (v1, v2))

    rows = {
        d.code: {"subs_fixed": 1, "subs_mobile": 2, "subs_internet": 3, "bts_sites": 4} for d in DISTRICTS
    }
    data = FormData(
        cover={"reporter_code": "VNPT", "period": "12/2020"},
        district_values={subs.name: rows},
        item_values={v1.sheets[1].name: {"revenue": 1, "budget": 1}},
    )
    old = write_form(v1, tmp_path / "old.xlsx", DISTRICTS, data)
    new = write_form(v2, tmp_path / "new.xlsx", DISTRICTS, data)

    parsed_old = parse_workbook(read_workbook(old, 10**8, 10**5), "70", date(2026, 1, 1))
    parsed_new = parse_workbook(read_workbook(new, 10**8, 10**5), "70", date(2026, 1, 1))
    assert parsed_old.template.template_id == "VT-01.v1" and parsed_old.issues == []
    assert parsed_new.template.template_id == "VT-01.v2" and parsed_new.issues == []
    assert "subs_5g" in {v["measure"] for v in parsed_new.values}
    assert "subs_5g" not in {v["measure"] for v in parsed_old.values}
