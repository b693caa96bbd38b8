"""Reference data shipped with ictstat: administrative units, reporters, indicators, units, provinces.

Units and reporters carry validity dates: a district or a carrier exists for a span of time, never as a
hard-coded name. Names typed by clerks are resolved to GSO codes here.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import pandas as pd

from ictstat.text import fold

REFDATA = Path(str(files("ictstat") / "refdata"))


def _read(name: str) -> list[dict[str, str]]:
    with (REFDATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def rows(name: str) -> list[dict[str, str]]:
    """A reference table as a list of dicts of strings."""
    return _read(f"{name}.csv")


def frame(name: str) -> pd.DataFrame:
    """A reference table as a frame of strings (empty cells as None), for loading into the warehouse."""
    df = pd.read_csv(REFDATA / f"{name}.csv", dtype=str, keep_default_na=False)
    return df.replace({"": None})


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
    return sorted(
        (d for d in all_districts() if d.province_code == province_code and d.valid_on(on)),
        key=lambda d: d.code,
    )


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

    def active_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@lru_cache(maxsize=1)
def reporters() -> dict[str, Reporter]:
    return {
        r["reporter_code"]: Reporter(
            r["reporter_code"],
            r["reporter_kind"],
            r["province_code"],
            r["district_code"] or None,
            r["name_vi"],
            r["name_en"],
            _d(r["valid_from"]) or date.min,
            _d(r["valid_to"]),
        )
        for r in _read("reporters.csv")
    }


def resolve_reporter(text: object) -> Reporter | None:
    """A reporter from its code or its name as written on a cover sheet (case and diacritics ignored)."""
    key = fold(text)
    if not key:
        return None
    for r in reporters().values():
        if key in (fold(r.code), fold(r.name_vi), fold(r.name_en)):
            return r
    return None


@lru_cache(maxsize=1)
def indicators() -> dict[str, dict[str, str]]:
    return {r["indicator_code"]: r for r in _read("indicators.csv")}


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
        for c in all_communes()
        if c.district_code == district_code
        and c.valid_from <= on
        and (c.valid_to is None or on <= c.valid_to)
    ]


_COMMUNE_TYPE_WORDS = ("thi tran", "phuong", "xa", "tt", "p", "x")


def resolve_commune(text: object, district_code: str, on: date) -> Commune | None:
    """A commune of the district from its name as typed ("Xã Long Giang", "P. Thác Mơ", "long giang") or code."""
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
    return next((c for c in candidates if key == fold(c.name) or raw == fold(c.full_name)), None)
