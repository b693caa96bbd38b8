"""Demo VT-01 files: 7 telecom carriers, monthly, 2019-01 to 2020-12, for the 11 districts of Bình Phước.

Year-end stocks and yearly flows are fixed so that the 2020 province figures are exactly the report's
(Phụ lục 4) and the 2019 ones give its year-on-year changes; they are split across carriers by market share,
across districts by a population-like weight, and across months along a trend with noise.
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
CARRIERS = ("VNPT", "VIETTEL", "MOBIFONE", "VIETNAMOBILE", "FPT", "SCTV", "CMC")

# Province totals. 2020: the report. 2019: chosen so that the stated changes hold (fixed -19 %, mobile +7.5 %,
# internet +10.5 %, revenue +10.1 %). 2018: the starting point of the 2019 monthly paths.
YEAR_END_STOCKS = {
    "subs_fixed": {2018: 21_410, 2019: 16_921, 2020: 13_706},
    "subs_mobile": {2018: 1_142_300, 2019: 1_203_745, 2020: 1_294_026},
    "subs_internet": {2018: 702_850, 2019: 768_951, 2020: 849_691},
    "bts_sites": {2018: 1_571, 2019: 1_652, 2020: 1_730},
}
YEAR_FLOWS = {  # revenue and budget in million VND, as carriers report them
    "revenue": {2019: 1_504_087, 2020: 1_656_000},
    "budget": {2019: 88_650, 2020: 92_400},
    "spam_suspended": {2019: 1_214, 2020: 903},
}
SHARES = {
    "subs_fixed": {"VNPT": 0.80, "VIETTEL": 0.15, "FPT": 0.02, "SCTV": 0.02, "CMC": 0.01},
    "subs_mobile": {"VIETTEL": 0.55, "VNPT": 0.22, "MOBIFONE": 0.19, "VIETNAMOBILE": 0.04},
    "subs_internet": {
        "VIETTEL": 0.42, "VNPT": 0.30, "FPT": 0.12, "MOBIFONE": 0.08, "SCTV": 0.04, "VIETNAMOBILE": 0.02,
        "CMC": 0.02,
    },
    "bts_sites": {"VIETTEL": 0.45, "VNPT": 0.28, "MOBIFONE": 0.22, "VIETNAMOBILE": 0.05},
    "revenue": {
        "VIETTEL": 0.52, "VNPT": 0.26, "MOBIFONE": 0.13, "FPT": 0.04, "VIETNAMOBILE": 0.02, "SCTV": 0.02,
        "CMC": 0.01,
    },
    "budget": {
        "VIETTEL": 0.55, "VNPT": 0.25, "MOBIFONE": 0.12, "FPT": 0.04, "VIETNAMOBILE": 0.02, "SCTV": 0.01,
        "CMC": 0.01,
    },
    "spam_suspended": {"VIETTEL": 0.40, "VNPT": 0.30, "MOBIFONE": 0.22, "VIETNAMOBILE": 0.08},
}  # fmt: skip
# Where people live, roughly: the weight of each district in subscribers and sites.
DISTRICT_WEIGHTS = {
    "688": 0.060, "689": 0.140, "690": 0.060, "691": 0.090, "692": 0.110, "693": 0.050,
    "694": 0.090, "695": 0.090, "696": 0.120, "697": 0.080, "698": 0.080,
}  # fmt: skip
# A few reports arrive after the 10th, as some always do.
LATE = {("VIETNAMOBILE", 2020, 5): 14, ("CMC", 2019, 11): 12, ("SCTV", 2020, 12): 18}
CLERKS = ("Nguyễn Văn An", "Trần Thị Bích", "Lê Minh Châu", "Phạm Quốc Dũng", "Hoàng Thị Hà", "Võ Thanh Hải",
          "Đặng Thu Hằng")  # fmt: skip


def _stock_cells(rng: random.Random) -> dict[str, dict[int, dict[tuple[str, str], int]]]:
    """measure -> year-end year -> (carrier, district) -> value, each year's cells adding up to its total."""
    out: dict[str, dict[int, dict[tuple[str, str], int]]] = {}
    for measure, totals in YEAR_END_STOCKS.items():
        district_w = {c: jitter(DISTRICT_WEIGHTS, rng, 0.15) for c in CARRIERS}
        out[measure] = {}
        for year, total in totals.items():
            by_carrier = allocate(
                total, jitter({c: SHARES[measure].get(c, 0.0) for c in CARRIERS}, rng, 0.03)
            )
            cells: dict[tuple[str, str], int] = {}
            for carrier, n in by_carrier.items():
                for district, v in allocate(n, district_w[carrier]).items():
                    cells[(carrier, district)] = v
            out[measure][year] = cells
    return out


def _flow_cells(rng: random.Random) -> dict[str, dict[tuple[str, int, int], int]]:
    """measure -> (carrier, year, month) -> value, each year adding up to its total."""
    out: dict[str, dict[tuple[str, int, int], int]] = {}
    for measure, totals in YEAR_FLOWS.items():
        out[measure] = {}
        for year, total in totals.items():
            by_carrier = allocate(
                total, jitter({c: SHARES[measure].get(c, 0.0) for c in CARRIERS}, rng, 0.03)
            )
            for carrier, n in by_carrier.items():
                for m, v in enumerate(seasonal_split(n, rng), start=1):
                    out[measure][(carrier, year, m)] = v
    return out


def write(inbox: Path, rng: random.Random) -> list[Path]:
    template = get_template("VT-01")
    assert template is not None
    stocks = _stock_cells(rng)
    flows = _flow_cells(rng)
    # Month-end paths per (measure, carrier, district, year) from the previous December to this one.
    paths: dict[tuple[str, str, str, int], list[int]] = {}
    for measure, by_year in stocks.items():
        for year in YEARS:
            for key, end in by_year[year].items():
                start = by_year[year - 1][key]
                paths[(measure, *key, year)] = monthly_path(start, end, rng)
    reporters = {code: reference.reporter(code, PROVINCE) for code in CARRIERS}
    written: list[Path] = []
    sub_sheet, rev_sheet = template.sheets[0].name, template.sheets[1].name
    for year in YEARS:
        for month in range(1, 13):
            on = date(year, month, 28)
            districts = reference.districts(PROVINCE, on)
            for i, carrier in enumerate(CARRIERS):
                rows: dict[str, dict[str, int | None]] = {}
                for d in districts:
                    rows[d.code] = {}
                    for measure in YEAR_END_STOCKS:
                        offered = SHARES[measure].get(carrier, 0) > 0
                        # A carrier leaves the columns of services it does not offer blank.
                        rows[d.code][measure] = (
                            paths[(measure, carrier, d.code, year)][month - 1] if offered else None
                        )
                items = {m: flows[m][(carrier, year, month)] for m in YEAR_FLOWS}
                day = LATE.get((carrier, year, month), 3 + (i + month) % 6)
                prepared = date(year + (month == 12), month % 12 + 1, day)
                data = FormData(
                    cover={
                        "reporter_code": carrier,
                        "reporter_name": reporters[carrier].name_vi,
                        "province": "Bình Phước",
                        "period": f"{month:02d}/{year}",
                        "prepared_by": CLERKS[i],
                        "phone": f"0271 38{i}{month:02d} {year % 100:02d}",
                        "prepared_on": prepared,
                    },
                    district_values={sub_sheet: rows},
                    item_values={rev_sheet: items},
                )
                name = f"{carrier.lower()}_bc_vien_thong_thang_{month:02d}_{year}.xlsx"
                path = inbox / "vien_thong" / str(year) / f"{month:02d}" / name
                stamp = datetime(prepared.year, prepared.month, prepared.day, 8, 30)
                written.append(write_form(template, path, districts, data, timestamp=stamp))
    return written
