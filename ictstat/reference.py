"""Reference data: administrative units, reporters, indicators, units, provinces, rules.

Units and reporters carry validity dates: a district or a carrier exists for a span of time, never as a
hard-coded name. Names typed by clerks are resolved to GSO codes here.

The CSV files shipped in ``ictstat/refdata`` describe Bình Phước (code 70) in detail. Provinces, districts and
communes of the rest of the country come from ``vietnamadminunits``' register of the units before 2025, so the
same code serves one province or all of them. A deployment can replace any shipped file with its own by
putting a file of the same name in the folder named by ``ICTSTAT_REFERENCE_DIR`` (a ministry's registry of
reporters, for example).
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from ictstat.text import fold

if TYPE_CHECKING:
    import pandas as pd

REFDATA = Path(str(files("ictstat") / "refdata"))
# Tables that cover the whole country: the shipped file, plus vietnamadminunits for every other province.
NATIONAL = {"admin_units", "communes", "provinces"}
# Columns added to a table after deployments may have written their own copy of it: empty when absent.
OPTIONAL_COLUMNS = {"reporters": ("successor_code", "source", "assumption"), "communes": ("source",)}


def source(name: str) -> Path:
    """The file a reference table is read from: the deployment's own (ICTSTAT_REFERENCE_DIR) or the shipped one."""
    overlay = os.environ.get("ICTSTAT_REFERENCE_DIR")
    if overlay and (Path(overlay) / name).exists():
        return Path(overlay) / name
    return REFDATA / name


@lru_cache(maxsize=64)
def _read_path(path: Path, mtime_ns: int) -> tuple[dict[str, str], ...]:
    with path.open(encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def _read(name: str) -> list[dict[str, str]]:
    path = source(name)
    rows_ = list(_read_path(path, path.stat().st_mtime_ns))
    stem = name.removesuffix(".csv")
    if stem in NATIONAL:
        shipped = {r["province_code"] for r in rows_}
        rows_ += [r for r in national_rows(stem) if r["province_code"] not in shipped]
    return rows_


def rows(name: str) -> list[dict[str, str]]:
    """A reference table as a list of dicts of strings."""
    return _read(f"{name}.csv")


def frame(name: str) -> pd.DataFrame:
    """A reference table as a frame of strings (empty cells as None), for loading into the warehouse."""
    import pandas as pd  # here: a parse worker reads reference data but needs no pandas (a second of its start)

    data = _read(f"{name}.csv")
    columns = list(_read_path(source(f"{name}.csv"), source(f"{name}.csv").stat().st_mtime_ns)[0].keys())
    df = pd.DataFrame(data, columns=columns).fillna("")
    for column in OPTIONAL_COLUMNS.get(name, ()):
        if column not in df.columns:  # a deployment's own file written before the column existed
            df[column] = ""
    return df.replace({"": None})


@lru_cache(maxsize=4)
def national_rows(table: str) -> tuple[dict[str, str], ...]:
    """Provinces, districts or communes of the whole country (pre-2025 register of vietnamadminunits), in the
    columns of the shipped CSV of the same name."""
    import sqlite3
    from importlib.util import find_spec

    # the package's own data file, found without importing the package (its import costs half a second)
    package = find_spec("vietnamadminunits")
    assert package is not None and package.submodule_search_locations, "vietnamadminunits is not installed"
    db = Path(next(iter(package.submodule_search_locations))) / "data" / "dataset.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        if table == "provinces":
            q = "SELECT DISTINCT provinceCode, provinceShort FROM admin_units_legacy ORDER BY 1"
            return tuple(
                {"province_code": c, "province_name": n, "area_km2": "", "valid_from": "1997-01-01",
                 "valid_to": "2025-06-30", "successor_code": "", "notes": "vietnamadminunits (pre-2025 register)"}
                for c, n in con.execute(q)
            )  # fmt: skip
        if table == "admin_units":
            q = (
                "SELECT provinceCode, provinceShort, districtCode, districtShort, lower(districtType), count(*), "
                "sum(CASE WHEN wardType = 'Phường' THEN 1 ELSE 0 END) FROM admin_units_legacy "
                "GROUP BY 1, 2, 3, 4, 5 ORDER BY 3"
            )
            return tuple(
                {"province_code": p, "province_name": pn, "district_code": d, "district_name": dn,
                 "district_type": t, "commune_count": str(n), "wards": str(w), "valid_from": "2000-01-01",
                 "valid_to": "2025-06-30", "notes": ""}
                for p, pn, d, dn, t, n, w in con.execute(q)
            )  # fmt: skip
        q = (
            "SELECT provinceCode, districtCode, wardCode, wardShort, lower(wardType) FROM admin_units_legacy "
            "WHERE wardCode IS NOT NULL ORDER BY 3"
        )
        return tuple(
            {"province_code": p, "district_code": d, "commune_code": w, "commune_name": n, "commune_type": t,
             "valid_from": "2000-01-01", "valid_to": "2025-06-30"}
            for p, d, w, n, t in con.execute(q)
        )  # fmt: skip
    finally:
        con.close()


def _d(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


@dataclass(frozen=True)
class District:
    province_code: str
    province_name: str
    code: str
    name: str
    type: str
    commune_count: int
    valid_from: date
    valid_to: date | None

    @property
    def full_name(self) -> str:
        return f"{self.type.capitalize()} {self.name}"

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@lru_cache(maxsize=1)
def all_districts() -> tuple[District, ...]:
    return tuple(
        District(
            r["province_code"],
            r["province_name"],
            r["district_code"],
            r["district_name"],
            r["district_type"],
            int(r["commune_count"]),
            _d(r["valid_from"]) or date.min,
            _d(r["valid_to"]),
        )
        for r in _read("admin_units.csv")
    )


def districts(province_code: str, on: date) -> list[District]:
    """District-level units of a province that existed on a day, in GSO code order."""
    return list(_districts(province_code, on))


@lru_cache(maxsize=4096)
def _districts(province_code: str, on: date) -> tuple[District, ...]:
    by_province = _districts_by_province().get(province_code, ())
    return tuple(sorted((d for d in by_province if d.valid_on(on)), key=lambda d: d.code))


@lru_cache(maxsize=1)
def _districts_by_province() -> dict[str, tuple[District, ...]]:
    out: dict[str, list[District]] = {}
    for d in all_districts():
        out.setdefault(d.province_code, []).append(d)
    return {k: tuple(v) for k, v in out.items()}


def first_year() -> int:
    """The first year the register knows (the earliest province in it): no period before it can be reported."""
    starts = [d for r in rows("provinces") if (d := _d(r.get("valid_from", ""))) is not None]
    return min(starts).year if starts else 1000


def last_valid_day(province_code: str) -> date:
    """The latest day on which the province had district-level units (today if it still has)."""
    ends = [d.valid_to or date.max for d in all_districts() if d.province_code == province_code]
    return min(max(ends), date.today()) if ends else date.today()


_TYPE_WORDS = ("thanh pho", "thi xa", "thi tran", "huyen", "quan", "tp", "tx", "h", "q")


def _strip_type(folded: str) -> str:
    for word in _TYPE_WORDS:
        if folded.startswith(word + " "):
            return folded[len(word) + 1 :]
    return folded


def resolve_district(text: object, province_code: str, on: date) -> District | None:
    """Resolve what a clerk typed (a GSO code, "TX Phước Long", "Dong Xoai", "H. Bù Đốp") to a district.

    Exact matches against the reference list come first; then the ``vietnamadminunits`` parser, whose answer is
    accepted only if it names a unit of this province valid on that day. Unknown names return None: they are an
    issue to report, never a new district.
    """
    candidates = districts(province_code, on)
    raw = fold(text)
    if not raw:
        return None
    code = raw.split(".")[0] if raw.replace(".", "").isdigit() else None
    if code is not None:
        return next((d for d in candidates if d.code == code.zfill(3)), None)
    key = _strip_type(raw.replace(".", " ").strip())
    for d in candidates:
        if key == fold(d.name) or raw == fold(d.full_name):
            return d
    found = _parse_with_vietnamadminunits(str(text), candidates[0].province_name if candidates else "")
    return next((d for d in candidates if d.code == found), None)


@lru_cache(maxsize=4096)
def _parse_with_vietnamadminunits(text: str, province_name: str) -> str | None:
    try:
        from vietnamadminunits import parse_address

        unit = parse_address(f"{text}, {province_name}", level=2, mode="LEGACY")
    except Exception:  # the parser raises on text it cannot place; that is a miss, not a failure
        return None
    code = getattr(unit, "district_code", None)
    return str(code).zfill(3) if code else None


@dataclass(frozen=True)
class Reporter:
    code: str
    kind: str
    province_code: str
    district_code: str | None  # the district a district office reports for
    name_vi: str
    name_en: str
    valid_from: date
    valid_to: date | None
    successor_code: str | None = None  # who took over its forms when it ceased (a merger of departments)
    source: str = ""  # the decision its validity and successor come from
    assumption: str = ""  # what is assumed rather than sourced, to be confirmed

    def active_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@lru_cache(maxsize=1)
def _reporters_cached(path: Path, mtime_ns: int) -> dict[tuple[str, str], Reporter]:
    return {
        (r["province_code"], r["reporter_code"]): Reporter(
            r["reporter_code"],
            r["reporter_kind"],
            r["province_code"],
            r["district_code"] or None,
            r["name_vi"],
            r["name_en"],
            _d(r["valid_from"]) or date.min,
            _d(r["valid_to"]),
            r.get("successor_code") or None,  # a deployment's own registry may predate these columns
            r.get("source") or "",
            r.get("assumption") or "",
        )
        for r in _read_path(path, mtime_ns)
    }


def reporters() -> dict[tuple[str, str], Reporter]:
    """Every reporter, by (province code, reporter code): a carrier's branch is a reporter in each province."""
    path = source("reporters.csv")
    return _reporters_cached(path, path.stat().st_mtime_ns)


def reporter(code: str, province_code: str) -> Reporter:
    return reporters()[(province_code, code)]


def resolve_reporter(text: object, province_code: str) -> Reporter | None:
    """A reporter of the province from its code or its name as written on a cover (case, diacritics ignored)."""
    key = fold(text)
    if not key:
        return None
    path = source("reporters.csv")
    return _reporters_by_name(path, path.stat().st_mtime_ns).get((province_code, key))


def department(province_code: str, on: date) -> Reporter | None:
    """The department the province's forms are addressed to on a day: the one active then, else (after the
    province ceased) the last one, followed through its successors (Sở TT&TT -> Sở KH&CN from 2025-03-01)."""
    mine = [r for r in reporters().values() if r.province_code == province_code and r.kind == "department"]
    active = [r for r in mine if r.active_on(on)]
    if active:
        return active[0]
    before = sorted((r for r in mine if r.valid_from <= on), key=lambda r: r.valid_from)
    if not before:
        return None
    found = before[-1]
    by_code = {r.code: r for r in mine}
    while found.successor_code in by_code and found.successor_code != found.code:
        found = by_code[found.successor_code]
    return found


def addressee(province_code: str, on: date) -> str:
    """Who a form of that day is addressed to ("Sở Khoa học và Công nghệ" from 2025-03-01), without the
    province's name, as a template's cover prints it."""
    found = department(province_code, on)
    # a merged province's department is found through the provinces it took over (Bình Phước -> Đồng Nai)
    for r in _read("provinces.csv") if found is None else ():
        if r["successor_code"] == province_code and r["province_code"] != province_code:
            found = found or department(r["province_code"], on)
    if found is None:
        return "Sở Thông tin và Truyền thông"
    return found.name_vi.split(" tỉnh ")[0].split(" thành phố ")[0]


@lru_cache(maxsize=1)
def _reporters_by_name(path: Path, mtime_ns: int) -> dict[tuple[str, str], Reporter]:
    """(province, folded code or name) -> reporter; the first in the file wins, as a scan of the file would."""
    by_name: dict[tuple[str, str], Reporter] = {}
    for (province, _), r in _reporters_cached(path, mtime_ns).items():
        for name in (r.code, r.name_vi, r.name_en):
            by_name.setdefault((province, fold(name)), r)
    return by_name


@lru_cache(maxsize=1)
def _provinces_by_key() -> dict[str, str]:
    out: dict[str, str] = {}
    for r in _read("provinces.csv"):
        name = fold(r["province_name"])
        for key in (
            r["province_code"],
            r["province_code"].lstrip("0"),
            name,
            f"tinh {name}",
            f"thanh pho {name}",
        ):
            out.setdefault(key, r["province_code"])
    return out


def resolve_province(text: object) -> str | None:
    """A province code from what a cover says ("Bình Phước", "Tỉnh Bình Phước", "70"), or None."""
    key = fold(text)
    return _provinces_by_key().get(key) if key else None


@lru_cache(maxsize=1)
def indicators() -> dict[str, dict[str, str]]:
    return {r["indicator_code"]: r for r in _read("indicators.csv")}


def indicator_range(code: str) -> tuple[float | None, float | None]:
    """The plausible range of an indicator, in its own unit (``min_value``, ``max_value`` of its reference row;
    None where the row, or a deployment's older overlay of the file, declares none)."""
    row = indicators().get(code) or {}
    return _bound(row.get("min_value")), _bound(row.get("max_value"))


def _bound(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def unit_factor(from_unit: str, to_unit: str) -> float | None:
    """What one ``from_unit`` is in ``to_unit`` (ref.unit_conversions); None when no conversion is declared."""
    if from_unit == to_unit:
        return 1.0
    for r in rows("units"):
        if r["from_unit"] == from_unit and r["to_unit"] == to_unit:
            return _bound(r["factor"])
    return None


@dataclass(frozen=True)
class Commune:
    province_code: str
    district_code: str
    code: str
    name: str
    type: str  # xã, phường, thị trấn
    valid_from: date
    valid_to: date | None

    @property
    def full_name(self) -> str:
        return f"{self.type.capitalize()} {self.name}"


@lru_cache(maxsize=1)
def all_communes() -> tuple[Commune, ...]:
    return tuple(
        Commune(
            r["province_code"],
            r["district_code"],
            r["commune_code"],
            r["commune_name"],
            r["commune_type"],
            _d(r["valid_from"]) or date.min,
            _d(r["valid_to"]),
        )
        for r in _read("communes.csv")
    )


def communes(district_code: str, on: date) -> list[Commune]:
    """Commune-level units (xã, phường, thị trấn) of a district on a day, in GSO code order."""
    return [
        c
        for c in _communes_by_district().get(district_code, ())
        if c.valid_from <= on and (c.valid_to is None or on <= c.valid_to)
    ]


@lru_cache(maxsize=1)
def _communes_by_district() -> dict[str, tuple[Commune, ...]]:
    out: dict[str, list[Commune]] = {}
    for c in all_communes():
        out.setdefault(c.district_code, []).append(c)
    return {k: tuple(v) for k, v in out.items()}


_COMMUNE_TYPE_WORDS = ("thi tran", "phuong", "xa", "tt", "p", "x")


def resolve_commune(text: object, district_code: str, on: date) -> Commune | None:
    """A commune of the district from its name as typed ("Xã Long Giang", "P. Thác Mơ", "long giang") or code.

    The names of the day come first ("Thị trấn Chơn Thành" in 2020, "Phường Hưng Long" from 2022-10-01); a name
    the same unit had in another period is the same commune (same GSO code), resolved to its row of the day.
    """
    raw = fold(text).replace(".", " ").strip()
    if not raw:
        return None
    candidates = communes(district_code, on)
    if raw.isdigit():
        return next((c for c in candidates if c.code == raw.zfill(5)), None)
    key = raw
    for word in _COMMUNE_TYPE_WORDS:
        if raw.startswith(word + " "):
            key = raw[len(word) + 1 :]
            break
    found = next((c for c in candidates if key == fold(c.name) or raw == fold(c.full_name)), None)
    if found is not None:
        return found
    # another period's name: only when it names one unit, never a guess between two
    codes = {c.code for c in _communes_by_district().get(district_code, ()) if raw == fold(c.full_name)}
    codes = codes or {c.code for c in _communes_by_district().get(district_code, ()) if key == fold(c.name)}
    return next((c for c in candidates if c.code in codes), None) if len(codes) == 1 else None


@dataclass(frozen=True)
class Successor:
    level: str  # province, commune
    code: str
    type: str
    name: str
    province_code: str


@lru_cache(maxsize=1)
def _crosswalk() -> dict[tuple[str, str, str], Successor]:
    return {
        (r["legacy_level"], r["legacy_province_code"], r["legacy_code"]): Successor(
            r["successor_level"], r["successor_code"], r["successor_type"], r["successor_name"],
            r["successor_province_code"],
        )
        for r in _read("admin_unit_crosswalk.csv")
    }  # fmt: skip


def successor(level: str, province_code: str, code: str) -> Successor | None:
    """The unit of 2025-07-01 a legacy province, district or commune passed to (ref.admin_unit_crosswalk)."""
    return _crosswalk().get((level, province_code, code))
