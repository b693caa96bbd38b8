"""What each synthetic reporter writes: deterministic figures, as the ``FormData`` of ictstat's own writer.

Every figure is drawn from a ``random.Random`` seeded by its own coordinates (seed, province, reporter,
district, measure, month), so any file can be produced alone, in any process, in any order, and is the same
every time. Figures pass ictstat's checks the way a careful clerk's would: stocks grow smoothly (no
month-on-month jump that would raise a warning), parts never exceed their whole, carriers leave blank the
columns of services they do not offer (as in the demo data), and totals are the sum of their rows.
"""

from __future__ import annotations

import random
from datetime import date

from ictstat.demo import department, telecom
from ictstat.reference import Commune, District
from ictstat.templates.spec import Template
from ictstat.templates.writer import FormData

# Which telecom carriers offer which service (blank columns otherwise): the demo's market, where known.
TELECOM_OFFERS = {m: set(shares) for m, shares in telecom.SHARES.items()}
VNPOST = "VNPOST"  # the public postal service: cultural post offices, mailboxes, dossiers, Postmart
CLERKS = ("Nguyễn Văn An", "Trần Thị Bích", "Lê Minh Châu", "Phạm Quốc Dũng", "Hoàng Thị Hà", "Võ Thanh Hải",
          "Đặng Thu Hằng", "Ngô Thị Lan", "Bùi Văn Minh", "Đỗ Thị Ngọc")  # fmt: skip
SUBSCRIBERS_PER_COMMUNE = {"subs_fixed": 120, "subs_mobile": 9_000, "subs_internet": 4_000, "bts_sites": 6}


def rng(*parts: object) -> random.Random:
    """A generator seeded by the figure's coordinates (str seeds are stable across runs and processes)."""
    return random.Random("|".join(str(p) for p in parts))


def month_index(year: int, month: int, first_year: int) -> int:
    return (year - first_year) * 12 + month - 1


def prepared_on(year: int, month: int, reporter: str) -> date:
    """The day a monthly report is saved: early next month, a little later for some reporters."""
    day = 3 + sum(map(ord, reporter)) % 6
    return date(year + (month == 12), month % 12 + 1, day)


def cover(
    reporter: str, name: str, province_name: str, period: str, on: date, seed: int, ordinal: int
) -> dict[str, object]:
    return {
        "reporter_code": reporter,
        "reporter_name": name,
        "province": province_name,
        "period": period,
        "prepared_by": CLERKS[ordinal % len(CLERKS)],
        "phone": f"02{ordinal % 90 + 10:02d} 38{seed % 100:02d} {on.month:02d}{on.day:02d}",
        "prepared_on": on,
    }


def _stock(base: float, growth: float, t: int) -> int:
    return round(base * (1 + growth) ** t)


def telecom_form(
    seed: int, province: str, carrier: str, districts: list[District], t: int
) -> tuple[dict[str, dict[str, int | None]], dict[str, float | int | None]]:
    """VT-01: subscribers and BTS sites by district (stocks, month ``t``), revenue and budget (flows)."""
    weight = rng(seed, province, carrier, "weight").uniform(0.05, 0.5)
    rows: dict[str, dict[str, int | None]] = {}
    for d in districts:
        rows[d.code] = {}
        for measure, per_commune in SUBSCRIBERS_PER_COMMUNE.items():
            offered = carrier in TELECOM_OFFERS[measure] or carrier not in telecom.CARRIERS
            r = rng(seed, province, carrier, d.code, measure)
            base = max(1.0, d.commune_count * per_commune * weight * r.uniform(0.6, 1.4))
            rows[d.code][measure] = _stock(base, r.uniform(0.001, 0.008), t) if offered else None
    r = rng(seed, province, carrier, "flows", t)
    revenue = round(len(districts) * 900 * weight * r.uniform(0.9, 1.1), 1)
    spam = carrier in TELECOM_OFFERS["spam_suspended"] or carrier not in telecom.CARRIERS
    items: dict[str, float | int | None] = {
        "revenue": revenue,
        "budget": round(revenue * r.uniform(0.04, 0.07), 1),
        "spam_suspended": r.randint(0, 40) if spam else None,
    }
    return rows, items


def postal_form(
    seed: int, province: str, carrier: str, districts: list[District], t: int
) -> tuple[dict[str, dict[str, int | None]], dict[str, float | int | None]]:
    """BC-01: service points by district (stocks), revenue, budget and, for VNPost, dossiers and Postmart."""
    public = carrier == VNPOST
    rows: dict[str, dict[str, int | None]] = {}
    for d in districts:
        r = rng(seed, province, carrier, d.code, "points")
        offices = r.randint(0, 3) + (t // 6 if r.random() < 0.3 else 0)  # a new office now and then
        active = max(1, round(d.commune_count * r.uniform(0.3, 0.6)))
        rows[d.code] = {
            "post_offices": offices,
            "vhx_active": active if public else None,
            "vhx_suspended": max(0, d.commune_count - active - r.randint(0, 2)) if public else None,
            "mailboxes": active if public else None,
            "communes_served": d.commune_count if public else None,
        }
    r = rng(seed, province, carrier, "flows", t)
    revenue = round(len(districts) * (1_500 if public else 300) * r.uniform(0.85, 1.15), 1)
    items: dict[str, float | int | None] = {
        "revenue": revenue,
        "budget": round(revenue * r.uniform(0.02, 0.04), 1),
        "admin_dossiers": r.randint(500, 5_000) if public else None,
        "postmart_suppliers": 5 + t // 4 if public else None,
        "postmart_products": 16 + t // 2 if public else None,
    }
    return rows, items


def district_form(
    seed: int, province: str, district: District, communes: list[Commune], year: int, sheets: tuple[str, ...]
) -> FormData:
    """VHTT-01 of one district office: its station, one row per commune, satellite receivers."""
    r = rng(seed, province, district.code, year)
    smart = {c.code for c in communes if rng(seed, c.code, year).random() < 0.15}
    rows = {
        c.code: {
            "commune_station": int(rng(seed, c.code, "station").random() < 0.97),
            "smart_radio": int(c.code in smart),
            "smart_clusters": 10 if c.code in smart else None,
            "smart_speakers": 26 if c.code in smart else None,
        }
        for c in communes
    }
    return FormData(
        item_values={
            sheets[0]: {"district_station": 1, "station_merged": int(r.random() < 0.5)},
            sheets[2]: {"receivers_poor": r.randint(50, 600), "receivers_near_poor": r.randint(40, 500)},
        },
        commune_values={sheets[1]: rows},
    )


def department_items(seed: int, province: str, year: int, template: Template) -> dict[str, dict[str, float]]:
    """STTTT-01: the demo department's figures of that year, counts scaled by a whole factor per province
    (a whole factor keeps every part-of-whole rule; rates, money and bounded figures stay as they are)."""
    k = rng(seed, province, "department").randint(1, 3)
    source = min(max(year, 2019), 2020)
    out: dict[str, dict[str, float]] = {}
    for spec in template.sheets:
        out[spec.name] = {}
        for m in spec.measures:
            value = department.FIGURES[m.key][source]
            out[spec.name][m.key] = value * k if m.kind == "int" and m.max_value is None else value
    return out
