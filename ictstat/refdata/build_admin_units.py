"""Builds the administrative units over time of the deployment's provinces from ``vietnamadminunits``.

Run by hand when the library is upgraded or a change is added to ``admin_unit_changes.csv``, and commit the
output (``tests/test_admin_units.py`` fails when the committed files differ from what this script writes):

    .venv/bin/python -m ictstat.refdata.build_admin_units

It owns four generated files of ``ictstat/refdata``:

- ``admin_unit_history.csv``: provinces, districts (until 2025-06-30) and communes, wards and special zones,
  each with the name and type it had in each period (-> ``ref.admin_units``);
- ``admin_unit_crosswalk.csv``: every legacy unit (province, district, commune) -> its 2025 successor
  (-> ``ref.admin_unit_crosswalk``);
- ``communes.csv`` and ``admin_units.csv``: the commune register and the district list of the shipped province
  (Bình Phước) in the columns the parser, the templates and ``ref.districts`` have always read.

Everything comes from the library's public API (``vietnamadminunits.database.get_data`` for the registers,
``convert_address`` for successors). The library has no dates: the dates of the changes between 2019 and
2025-06-30 come from ``admin_unit_changes.csv`` (a hand-kept file with a ``source`` for each change), the former
names from the library's own aliases of each unit, and every date the library cannot give is stated in the
``assumption`` column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).parent
# The provinces of the deployment: the former Bình Phước and Đồng Nai, merged into the new Đồng Nai.
LEGACY_PROVINCES = ("70", "75")
NEW_PROVINCES = ("75",)
SHIPPED_PROVINCE = "70"  # the province whose communes.csv and admin_units.csv the parser reads
SERIES_START = date(2000, 1, 1)
LEGACY_END = date(2025, 6, 30)
REFORM = date(2025, 7, 1)
PROVINCE_START = {"70": date(1997, 1, 1), "75": date(1997, 1, 1)}
SRC_LEGACY = "vietnamadminunits admin_units_legacy (63-province register)"
SRC_NEW = "vietnamadminunits admin_units (34-province register, from 2025-07-01)"
SRC_CONVERT = "vietnamadminunits convert_address (CONVERT_2025)"
ASSUME_START = "valid_from: the library has no dates; assumed from the start of the series (2000-01-01)"
ASSUME_PROVINCE = {
    "70": "valid_from: the library has no dates; 1997-01-01, Sông Bé divided into Bình Phước and Bình Dương",
    "75": "valid_from: the library has no dates; 1997-01-01, the start the series shares with Bình Phước",
}
REFORM_SOURCE = (
    "Nghị quyết 202/2025/QH15 (provinces from 63 to 34); two-level local government from 2025-07-01"
)
# Type words of the library's keys (lower case, no diacritics, no spaces) and the type they stand for.
WARD_TYPES = {"thitran": "thị trấn", "phuong": "phường", "xa": "xã"}
DISTRICT_TYPES = {"thanhpho": "thành phố", "thixa": "thị xã", "huyen": "huyện", "quan": "quận"}


@dataclass(frozen=True)
class Unit:
    level: str  # province, district, commune
    code: str
    unit_type: str
    name: str
    parent_code: str
    province_code: str
    valid_from: date
    valid_to: date | None
    source: str
    assumption: str = ""

    def row(self) -> dict[str, str]:
        return {
            "level": self.level, "code": self.code, "unit_type": self.unit_type, "name": self.name,
            "parent_code": self.parent_code, "province_code": self.province_code,
            "valid_from": self.valid_from.isoformat(), "valid_to": self.valid_to.isoformat() if self.valid_to else "",
            "source": self.source, "assumption": self.assumption,
        }  # fmt: skip

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def _legacy_register() -> list[dict[str, str]]:
    from vietnamadminunits.database import get_data

    fields = ["provinceCode", "provinceShort", "districtCode", "districtShort", "districtType", "districtShortKey",
              "districtAlias", "wardCode", "wardShort", "wardType", "wardShortKey", "wardAlias"]  # fmt: skip
    return [r for r in get_data(fields, table="admin_units_legacy") if r["provinceCode"] in LEGACY_PROVINCES]


def _new_register() -> list[dict[str, str]]:
    from vietnamadminunits.database import get_data

    fields = ["provinceCode", "provinceShort", "wardCode", "wardShort", "wardType"]
    return [r for r in get_data(fields, table="admin_units") if r["provinceCode"] in NEW_PROVINCES]


def _changes() -> dict[tuple[str, str], dict[str, str]]:
    with (HERE / "admin_unit_changes.csv").open(encoding="utf-8", newline="") as fh:
        return {(r["province_code"], r["district_code"]): r for r in csv.DictReader(fh)}


def _former(
    alias_json: str | None, current_type: str, types: dict[str, str], names: dict[str, str]
) -> tuple[str, str]:
    """The (type, name) a unit had before a change, from the library's aliases: an alias made of another type
    word and a name the register knows ("thitranchonthanh" -> thị trấn Chơn Thành)."""
    found = set()
    for alias in json.loads(alias_json or "[]"):
        for word, kind in types.items():
            rest = alias.removeprefix(word)
            if rest != alias and kind != current_type and rest in names:
                found.add((kind, names[rest]))
    if len(found) != 1:
        raise ValueError(f"no single former name in the aliases {alias_json!r}: {sorted(found)}")
    return found.pop()


def _split(
    unit: Unit, change: date, former_type: str, former_name: str, source: str, assumption: str
) -> list[Unit]:
    before = replace(unit, unit_type=former_type, name=former_name, valid_to=change - timedelta(days=1))
    after = replace(unit, valid_from=change, source=f"{unit.source}; {source}", assumption=assumption)
    return [before, after]


def history() -> list[Unit]:
    """Every unit with the name and type it had in each period, in (level, province, code, valid_from) order."""
    legacy, changes = _legacy_register(), _changes()
    names = {r["wardShortKey"]: r["wardShort"] for r in legacy} | {
        r["districtShortKey"]: r["districtShort"] for r in legacy
    }
    units: list[Unit] = []
    for code in LEGACY_PROVINCES:
        name = next(r["provinceShort"] for r in legacy if r["provinceCode"] == code)
        units.append(Unit("province", code, "tỉnh", name, "", code, PROVINCE_START[code], LEGACY_END, SRC_LEGACY,
                          ASSUME_PROVINCE[code]))  # fmt: skip
    for code in NEW_PROVINCES:
        name = next(r["provinceShort"] for r in _new_register() if r["provinceCode"] == code)
        units.append(
            Unit("province", code, "tỉnh", name, "", code, REFORM, None, f"{SRC_NEW}; {REFORM_SOURCE}")
        )
    seen: set[str] = set()
    for r in legacy:
        p, d = r["provinceCode"], r["districtCode"]
        change = changes.get((p, d))
        district = Unit("district", d, r["districtType"].lower(), r["districtShort"], p, p, SERIES_START, LEGACY_END,
                        SRC_LEGACY, ASSUME_START)  # fmt: skip
        ward = Unit("commune", r["wardCode"], r["wardType"].lower(), r["wardShort"], d, p, SERIES_START, LEGACY_END,
                    SRC_LEGACY, ASSUME_START)  # fmt: skip
        if d not in seen:
            seen.add(d)
            units += (
                [district]
                if change is None
                else _dated(district, r["districtAlias"], DISTRICT_TYPES, names, change)
            )
        units += [ward] if change is None else _dated(ward, r["wardAlias"], WARD_TYPES, names, change)
    for r in _new_register():
        units.append(Unit("commune", r["wardCode"], r["wardType"].lower(), r["wardShort"], r["provinceCode"],
                          r["provinceCode"], REFORM, None, f"{SRC_NEW}; {REFORM_SOURCE}"))  # fmt: skip
    order = {"province": 0, "district": 1, "commune": 2}
    return sorted(
        units, key=lambda u: (order[u.level], u.valid_from >= REFORM, u.province_code, u.code, u.valid_from)
    )


def _dated(
    unit: Unit, aliases: str | None, types: dict[str, str], names: dict[str, str], change: dict[str, str]
) -> list[Unit]:
    """A unit of a district that changed on a known date: its former row and its current one, if it changed."""
    try:
        former_type, former_name = _former(aliases, unit.unit_type, types, names)
    except ValueError:
        return [unit]  # not renamed by the change (a xã that stayed a xã)
    return _split(unit, date.fromisoformat(change["effective_date"]), former_type, former_name, change["source"],
                  change["assumption"])  # fmt: skip


def crosswalk(units: Iterable[Unit]) -> list[dict[str, str]]:
    """Every legacy unit -> its 2025 successor: a commune the ward or commune ``convert_address`` names (for a
    commune divided between several, the library's default), a district or province the new province."""
    from vietnamadminunits import convert_address

    legacy = [u for u in units if u.valid_to == LEGACY_END]
    by_code = {(u.level, u.code): u for u in legacy}
    out = []
    for u in legacy:
        if u.level == "commune":
            d, p = by_code[("district", u.parent_code)], by_code[("province", u.province_code)]
            new = convert_address(f"{u.unit_type} {u.name}, {d.unit_type} {d.name}, tỉnh {p.name}")
            if str(new.OldAdminUnit.ward_code) != u.code or not new.ward_code:
                raise ValueError(f"the library did not convert {u.code} {u.name}")
            succ = ("commune", str(new.ward_code), str(new.ward_type).lower(), str(new.short_ward),
                    str(new.province_code))  # fmt: skip
            note = ""
        else:
            new = convert_address(f"tỉnh {by_code[('province', u.province_code)].name}")
            succ = (
                "province",
                str(new.province_code),
                "tỉnh",
                str(new.short_province),
                str(new.province_code),
            )
            note = "" if u.level == "province" else "the district as a whole lies in the new province only"
        out.append({
            "legacy_level": u.level, "legacy_code": u.code, "legacy_type": u.unit_type, "legacy_name": u.name,
            "legacy_province_code": u.province_code, "legacy_valid_to": LEGACY_END.isoformat(),
            "successor_level": succ[0], "successor_code": succ[1], "successor_type": succ[2],
            "successor_name": succ[3], "successor_province_code": succ[4], "valid_from": REFORM.isoformat(),
            "source": SRC_CONVERT, "note": note,
        })  # fmt: skip
    return out


def communes(units: Iterable[Unit]) -> list[dict[str, str]]:
    """The shipped province's commune register, one row per name a commune had (columns of communes.csv)."""
    return [
        {"province_code": u.province_code, "district_code": u.parent_code, "commune_code": u.code,
         "commune_name": u.name, "commune_type": u.unit_type, "valid_from": u.valid_from.isoformat(),
         "valid_to": u.valid_to.isoformat() if u.valid_to else "", "source": u.source}
        for u in units if u.level == "commune" and u.province_code == SHIPPED_PROVINCE and u.valid_from < REFORM
    ]  # fmt: skip


def districts(units: list[Unit]) -> list[dict[str, str]]:
    """The shipped province's districts, one row per span in which the district and its communes were the same
    (columns of admin_units.csv, read as ref.districts)."""
    changes = _changes()
    province = next(u for u in units if u.level == "province" and u.code == SHIPPED_PROVINCE)
    out = []
    for d in (u for u in units if u.level == "district" and u.province_code == SHIPPED_PROVINCE):
        mine = [
            u for u in units if u.level == "commune" and u.parent_code == d.code and u.valid_from < REFORM
        ]
        bounds = sorted({d.valid_from} | {u.valid_from for u in mine if d.valid_on(u.valid_from)})
        for i, start in enumerate(bounds):
            end = bounds[i + 1] - timedelta(days=1) if i + 1 < len(bounds) else d.valid_to
            here = [u for u in mine if u.valid_on(start)]
            change = changes.get((d.province_code, d.code))
            note = f"{change['change_en']} ({change['effective_date']})" if change else ""
            out.append({
                "province_code": d.province_code, "province_name": province.name, "district_code": d.code,
                "district_name": d.name, "district_type": d.unit_type, "commune_count": str(len(here)),
                "wards": str(sum(u.unit_type == "phường" for u in here)), "valid_from": start.isoformat(),
                "valid_to": end.isoformat() if end else "", "notes": note,
            })  # fmt: skip
    return out


def render(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def outputs() -> dict[str, str]:
    """File name -> the text this script writes for it."""
    units = history()
    return {
        "admin_unit_history.csv": render([u.row() for u in units]),
        "admin_unit_crosswalk.csv": render(crosswalk(units)),
        "communes.csv": render(communes(units)),
        "admin_units.csv": render(districts(units)),
    }


def main() -> None:
    for name, text in outputs().items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"{name}: {text.count(chr(10)) - 1} rows")


if __name__ == "__main__":
    main()
