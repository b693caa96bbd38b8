"""The files of one synthetic province: monthly carrier reports, annual district office and department reports.

Carrier reports (VT-01, BC-01: almost every file) are rendered from one template per form written by
``write_form`` (see ``bench.xlsx_slots``); VHTT-01 and STTTT-01, one per office or department and year, are
written by ``write_form`` itself. A province is one job, so provinces can be written in parallel processes, and
every figure depends only on its coordinates (``bench.figures``), so the result does not depend on the order.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench import figures
from bench.xlsx_slots import compile_form, form_slots
from ictstat import reference
from ictstat.templates import get_template
from ictstat.templates.writer import FormData, write_form

if TYPE_CHECKING:
    from bench.synthetic import Scale

FIRST_YEAR = 2019


def districts_of(province: str) -> list[reference.District]:
    return reference.districts(province, date(FIRST_YEAR, 1, 28))


def province_names() -> dict[str, str]:
    return {r["province_code"]: r["province_name"] for r in reference.rows("provinces")}


@dataclass(frozen=True)
class ProvinceJob:
    """One province to write (picklable: it crosses to a worker process)."""

    scale: Scale
    province: str
    inbox: Path
    extra: Path


def write_province(job: ProvinceJob) -> tuple[int, int]:
    """Every file of one province (and its share of corrected resubmissions); returns (files, extra files)."""
    scale, p = job.scale, job.province
    name, districts = province_names()[p], districts_of(p)
    forms = [("VT-01", c, i) for i, c in enumerate(scale.telecom)] + [
        ("BC-01", c, i) for i, c in enumerate(scale.postal)
    ]
    monthly = [(form, c, i, y, m) for (y, m) in scale.periods for (form, c, i) in forms]
    corrected = set(_evenly(len(monthly), round(scale.extra_share * scale.province_files(p))))
    written = extra = 0
    with tempfile.TemporaryDirectory() as tmp:
        templates = {}
        for n, (form, carrier, i, y, m) in enumerate(monthly):
            template = get_template(form)
            assert template is not None
            data = carrier_data(scale, form, p, name, carrier, i, districts, y, m)
            if form not in templates:
                templates[form] = compile_form(template, districts, data, Path(tmp))
            folder = "vien_thong" if form == "VT-01" else "buu_chinh"
            stem = f"{carrier.lower()}_{p}_{y}_{m:02d}"
            path = job.inbox / p / folder / str(y) / f"{m:02d}" / f"{stem}.xlsx"
            templates[form].write(path, form_slots(template, districts, data), _saved_at(data))
            written += 1
            if n in corrected:
                fix = _corrected(data, template.sheets[1].name)
                late = job.extra / p / "late" / f"{stem}_sua_doi.xlsx"
                templates[form].write(late, form_slots(template, districts, fix), _saved_at(fix))
                extra += 1
    for year in scale.whole_years:
        written += _write_annual(scale, p, name, districts, year, job.inbox)
    return written, extra


def _saved_at(data: FormData) -> datetime:
    """When the clerk saved the file: the morning of the day the cover says it was prepared."""
    on = data.cover["prepared_on"]
    assert isinstance(on, date)
    return datetime(on.year, on.month, on.day, 8, 30)


def _evenly(n: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n)``."""
    return [int((i + 0.5) * n / k) for i in range(k)] if k and n else []


def carrier_data(scale: Scale, form: str, p: str, name: str, carrier: str, i: int,
                  districts: list[reference.District], y: int, m: int) -> FormData:  # fmt: skip
    """What carrier ``carrier`` (the ``i``-th of its kind) writes into its ``form`` for month ``m`` of ``y``."""
    t = figures.month_index(y, m, FIRST_YEAR)
    on = figures.prepared_on(y, m, carrier)
    template = get_template(form)
    assert template is not None
    sheets = [s.name for s in template.sheets]
    if form == "VT-01":
        rows, items = figures.telecom_form(scale.seed, p, carrier, districts, t)
        period = f"{m:02d}/{y}"
        label = f"{carrier} chi nhánh {name}"
    else:
        rows, items = figures.postal_form(scale.seed, p, carrier, districts, t)
        period = f"Tháng {m:02d} năm {y}"
        label = f"{carrier} bưu cục {name}"
    return FormData(
        cover=figures.cover(carrier, label, name, period, on, scale.seed, i),
        district_values={sheets[0]: rows},
        item_values={sheets[1]: items},
    )


def _corrected(data: FormData, revenue_sheet: str) -> FormData:
    """The same report sent again with its revenue corrected (+1 %), as a clerk's late fix."""
    items = dict(data.item_values[revenue_sheet])
    items["revenue"] = round(float(items["revenue"] or 0) * 1.01, 1)
    on = data.cover["prepared_on"]
    assert isinstance(on, date)
    return replace(data, cover={**data.cover, "prepared_on": on + timedelta(days=20)},
                   item_values={**data.item_values, revenue_sheet: items})  # fmt: skip


def _write_annual(
    scale: Scale, p: str, name: str, districts: list[reference.District], year: int, inbox: Path
) -> int:
    """VHTT-01 of every district office and STTTT-01 of the department for one year, by write_form."""
    n = 0
    stamp = datetime(year + 1, 2, 10, 9, 0)
    period = f"Năm {year}"
    if scale.district_offices:
        template = get_template("VHTT-01")
        assert template is not None
        sheets = tuple(s.name for s in template.sheets)
        for i, d in enumerate(districts):
            communes = reference.communes(d.code, date(year, 12, 31))
            data = figures.district_form(scale.seed, p, d, communes, year, sheets)
            data.cover = figures.cover(f"VHTT_{d.code}", f"Phòng Văn hóa và Thông tin {d.name}", name, period,
                                       stamp.date(), scale.seed, i)  # fmt: skip
            path = inbox / p / "phong_vhtt" / str(year) / f"vhtt_{d.code}_{year}.xlsx"
            write_form(template, path, districts, data, timestamp=stamp, communes=communes)
            n += 1
    if scale.department:
        template = get_template("STTTT-01")
        assert template is not None
        data = FormData(
            cover=figures.cover("SO_TTTT", f"Sở Thông tin và Truyền thông {name}", name, period, stamp.date(), scale.seed, 0),
            item_values=figures.department_items(scale.seed, p, year, template),
        )  # fmt: skip
        write_form(template, inbox / p / "so_tttt" / f"so_lieu_nam_{year}.xlsx", [], data, timestamp=stamp)
        n += 1
    return n
