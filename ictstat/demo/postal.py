"""Demo BC-01 files: postal carriers, monthly, 2019-01 to 2020-12 (11 carriers in 2019, 10 in 2020).

Year-end service points and yearly flows are the report's 2020 figures (Phụ lục 3) and 2019 figures chosen
for its stated changes (revenue +2.4 %, dossiers +3 %, one enterprise fewer). The public postal service
(VNPost) runs the cultural post offices, the public mailboxes, Postmart and the dossier deliveries, and reports
the communes its network serves.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

from ictstat import reference
from ictstat.demo.allocate import allocate, jitter, monthly_path, seasonal_split
from ictstat.templates import get_template
from ictstat.templates.writer import FormData, write_form

PROVINCE = "70"
YEARS = (2019, 2020)
CARRIERS = ("VNPOST", "VIETTELPOST", "EMS", "GHN", "GHTK", "JTEXPRESS", "NINJAVAN", "BESTEXPRESS", "KERRY",
            "NETCO", "HOPNHAT")  # fmt: skip

YEAR_END_STOCKS = {  # province totals at the end of 2018 (start of the demo), 2019 and 2020
    "post_offices": {2018: 55, 2019: 57, 2020: 60},
    "vhx_active": {2018: 44, 2019: 42, 2020: 40},
    "vhx_suspended": {2018: 12, 2019: 14, 2020: 16},
    "mailboxes": {2018: 44, 2019: 42, 2020: 40},
}
POSTMART = {
    "postmart_suppliers": {2018: 1, 2019: 3, 2020: 5},
    "postmart_products": {2018: 3, 2019: 9, 2020: 16},
}
YEAR_FLOWS = {  # million VND, items
    "revenue": {2019: 221_191, 2020: 226_500},
    "budget": {2019: 6_350, 2020: 6_700},
    "admin_dossiers": {2019: 106_123, 2020: 109_307},
}
SHARES = {
    "post_offices": {"VNPOST": 0.45, "VIETTELPOST": 0.20, "EMS": 0.06, "GHN": 0.06, "GHTK": 0.06, "JTEXPRESS": 0.05,
                     "NINJAVAN": 0.03, "BESTEXPRESS": 0.03, "KERRY": 0.03, "NETCO": 0.03, "HOPNHAT": 0.02},
    "revenue": {"VNPOST": 0.35, "VIETTELPOST": 0.22, "EMS": 0.08, "GHN": 0.08, "GHTK": 0.09, "JTEXPRESS": 0.06,
                "NINJAVAN": 0.03, "BESTEXPRESS": 0.03, "KERRY": 0.03, "NETCO": 0.03, "HOPNHAT": 0.02},
    "budget": {"VNPOST": 0.40, "VIETTELPOST": 0.22, "EMS": 0.08, "GHN": 0.06, "GHTK": 0.07, "JTEXPRESS": 0.05,
               "NINJAVAN": 0.03, "BESTEXPRESS": 0.03, "KERRY": 0.03, "NETCO": 0.03, "HOPNHAT": 0.02},
}  # fmt: skip
VNPOST_ONLY = ("vhx_active", "vhx_suspended", "mailboxes")
CLERKS = ("Ngô Thị Lan", "Bùi Văn Minh", "Đỗ Thị Ngọc", "Hồ Văn Phúc", "Dương Thị Quyên", "Lý Văn Sơn",
          "Trịnh Thị Thu", "Mai Văn Tuấn", "Tạ Thị Uyên", "Châu Văn Vinh", "Phan Thị Xuân")  # fmt: skip


def active(carrier: str, year: int) -> bool:
    r = reference.reporter(carrier, PROVINCE)
    return r.active_on(date(year, 1, 1)) and r.active_on(date(year, 12, 31))


def _stock_cells(rng: random.Random) -> dict[str, dict[int, dict[tuple[str, str], int]]]:
    out: dict[str, dict[int, dict[tuple[str, str], int]]] = {}
    districts = {d.code: float(d.commune_count) for d in reference.districts(PROVINCE, date(2020, 12, 31))}
    for measure, totals in YEAR_END_STOCKS.items():
        out[measure] = {}
        for year, total in totals.items():
            carriers = {c: 0.0 for c in CARRIERS}
            if measure in VNPOST_ONLY:
                carriers["VNPOST"] = 1.0
            else:
                carriers.update(
                    {c: w for c, w in SHARES["post_offices"].items() if active(c, max(year, 2019))}
                )
            cells: dict[tuple[str, str], int] = {}
            for carrier, n in allocate(total, carriers).items():
                for d, v in allocate(n, jitter(districts, rng, 0.2)).items():
                    cells[(carrier, d)] = v
            out[measure][year] = cells
    return out


def write(inbox: Path, rng: random.Random) -> list[Path]:
    template = get_template("BC-01")
    assert template is not None
    points_sheet, revenue_sheet = template.sheets[0].name, template.sheets[1].name
    stocks = _stock_cells(rng)
    paths = {
        (m, *key, year): monthly_path(by_year[year - 1][key], by_year[year][key], rng, noise=0.0)
        for m, by_year in stocks.items()
        for year in YEARS
        for key in by_year[year]
    }
    flows: dict[tuple[str, str, int], list[int]] = {}
    for measure, totals in YEAR_FLOWS.items():
        for year, total in totals.items():
            weights = {c: (SHARES.get(measure, {}).get(c, 0.0) if active(c, year) else 0.0) for c in CARRIERS}
            if measure == "admin_dossiers":
                weights = {c: float(c == "VNPOST") for c in CARRIERS}
            for carrier, n in allocate(total, jitter(weights, rng, 0.03)).items():
                flows[(measure, carrier, year)] = seasonal_split(n, rng)
    reporters = {code: reference.reporter(code, PROVINCE) for code in CARRIERS}
    written: list[Path] = []
    for year in YEARS:
        for month in range(1, 13):
            districts = reference.districts(PROVINCE, date(year, month, 28))
            for i, carrier in enumerate(CARRIERS):
                if not active(carrier, year):
                    continue
                rows: dict[str, dict[str, int | None]] = {}
                for d in districts:
                    row: dict[str, int | None] = {}
                    for m in YEAR_END_STOCKS:
                        value = paths[(m, carrier, d.code, year)][month - 1]
                        row[m] = value if (m not in VNPOST_ONLY or carrier == "VNPOST") else None
                    row["communes_served"] = d.commune_count if carrier == "VNPOST" else None
                    rows[d.code] = row
                items: dict[str, int | None] = {
                    m: flows[(m, carrier, year)][month - 1] for m in ("revenue", "budget")
                }
                if carrier == "VNPOST":
                    items["admin_dossiers"] = flows[("admin_dossiers", carrier, year)][month - 1]
                    for m, by_year in POSTMART.items():
                        items[m] = monthly_path(
                            by_year[year - 1], by_year[year], random.Random(f"{m}{year}"), 0.0
                        )[month - 1]
                prepared = date(year + (month == 12), month % 12 + 1, 2 + (i + month) % 7)
                data = FormData(
                    cover={
                        "reporter_code": carrier,
                        "reporter_name": reporters[carrier].name_vi,
                        "province": "Bình Phước",
                        "period": f"Tháng {month:02d} năm {year}",
                        "prepared_by": CLERKS[i],
                        "phone": f"0271 36{i:02d} {month:02d}{year % 100:02d}",
                        "prepared_on": prepared,
                    },
                    district_values={points_sheet: rows},
                    item_values={revenue_sheet: items},
                )
                path = inbox / "buu_chinh" / str(year) / f"{carrier.lower()}_{year}_{month:02d}.xlsx"
                stamp = datetime(prepared.year, prepared.month, prepared.day, 9, 15)
                written.append(write_form(template, path, districts, data, timestamp=stamp))
    return written
