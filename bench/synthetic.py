"""A deterministic synthetic inbox at any scale: provinces x reporters x months, in the real templates' layouts.

For each province (the first N of the pre-2025 register by GSO code, Bình Phước excepted: its shipped
reporters stay as they are), with its real districts and communes from ``ictstat.reference``:

* every telecom carrier sends VT-01 and every postal carrier BC-01, monthly;
* every district office sends VHTT-01 and the department STTTT-01, for every whole year covered;
* a ``reporters.csv`` overlay (for ``ICTSTAT_REFERENCE_DIR``) registers each of them in its province, and each
  cover names its province, so that ictstat attributes every file to the right one.

That is the ``national`` layout; ``one-province`` writes files of the same shapes in the home province alone, with
as many carriers as needed (see :func:`plan`).

Carrier files come from one template per (form, province) written by ``write_form`` and filled by rewriting
their sheet XML (``bench.xlsx_slots``); district office and department files, one or two per template, are
written by ``write_form`` itself. Provinces are written in parallel processes. Beside the inbox, ``extra/``
holds about 1 % more files, corrected resubmissions, for the "1 % new" measurement.

Generated inboxes are cached in ``bench/.cache/<scale key>/`` (a manifest, written last, marks one complete):

    python -m bench.synthetic --workbooks 20000
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import multiprocessing
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench.province_files import FIRST_YEAR, ProvinceJob, districts_of, province_names, write_province
from ictstat import reference

GENERATOR_VERSION = "1"
TELECOM = ("VNPT", "VIETTEL", "MOBIFONE", "VIETNAMOBILE", "FPT", "SCTV", "CMC")
POSTAL = (
    "VNPOST",
    "VIETTELPOST",
    "EMS",
    "GHN",
    "GHTK",
    "JTEXPRESS",
    "NINJAVAN",
    "BESTEXPRESS",
    "KERRY",
    "NETCO",
)
HOME_PROVINCE = "70"  # described in detail by the shipped reference data: not one of the synthetic ones
CACHE = Path(__file__).parent / ".cache"
EXTRA_SHARE = 0.01


@dataclass(frozen=True)
class Scale:
    """What to generate. ``months`` run from January of FIRST_YEAR; annual forms cover each whole year."""

    provinces: tuple[str, ...]
    telecom: tuple[str, ...] = TELECOM
    postal: tuple[str, ...] = POSTAL
    months: int = 12
    district_offices: bool = True
    department: bool = True
    seed: int = 2020
    extra_share: float = field(default=EXTRA_SHARE)

    @property
    def key(self) -> str:
        """A readable folder name, with a hash of everything that shapes the files."""
        digest = hashlib.sha256(json.dumps([asdict(self), GENERATOR_VERSION]).encode()).hexdigest()[:8]
        return f"{len(self.provinces)}p{self.provinces[0]}-{len(self.telecom)}t{len(self.postal)}q-{self.months}m-{digest}"

    @property
    def periods(self) -> list[tuple[int, int]]:
        return [(FIRST_YEAR + i // 12, i % 12 + 1) for i in range(self.months)]

    @property
    def whole_years(self) -> list[int]:
        return [FIRST_YEAR + i for i in range(self.months // 12)]

    def province_files(self, province: str) -> int:
        monthly = self.months * (len(self.telecom) + len(self.postal))
        offices = len(districts_of(province)) if self.district_offices else 0
        return monthly + len(self.whole_years) * (offices + int(self.department))

    @property
    def workbooks(self) -> int:
        return sum(self.province_files(p) for p in self.provinces)


def other_provinces() -> list[str]:
    """Every province of the pre-2025 register but the home one, by GSO code."""
    return sorted(
        r["province_code"] for r in reference.rows("provinces") if r["province_code"] != HOME_PROVINCE
    )


LAYOUTS = ("national", "one-province")
# Whole years from FIRST_YEAR to 2024: the forms report by district, and districts were abolished on 2025-07-01
# (Bình Phước joined Đồng Nai the same day); later months would be rejected, every file of them.
MAX_YEARS = 2024 - FIRST_YEAR + 1


def plan(workbooks: int, seed: int = 2020, layout: str = "national") -> Scale:
    """A scale of about ``workbooks`` files over whole years (one while the country's 13,600 files a year
    suffice, more beyond, up to :data:`MAX_YEARS`).

    ``national``: the country's 17 carriers, district offices and department in as many provinces as needed.
    ``one-province``: the home province (Bình Phước) with as many carriers as needed, each a reporter of its
    own, over the same years: the same files in shape (its 11 districts are the national average), in the one
    province a deployment validates today.
    """
    provinces = other_provinces()
    years = 1
    while years < MAX_YEARS and Scale(tuple(provinces), months=12 * years).workbooks < workbooks:
        years += 1
    if layout == "one-province":
        home = Scale((HOME_PROVINCE,), telecom=(), postal=(), months=12 * years, seed=seed)
        carriers = max(2, round((workbooks - home.workbooks) / home.months))
        telecom = round(carriers * len(TELECOM) / (len(TELECOM) + len(POSTAL)))
        return replace(
            home,
            telecom=tuple(f"VT{i:03d}" for i in range(1, telecom + 1)),
            postal=tuple(f"BC{i:03d}" for i in range(1, carriers - telecom + 1)),
        )
    largest = Scale(tuple(provinces), months=12 * years, seed=seed)
    if workbooks > largest.workbooks * 1.02:
        raise ValueError(
            f"the national layout holds at most {largest.workbooks:,} workbooks: the {len(provinces)} provinces of "
            f"the district register in force until 2025-06-30, {FIRST_YEAR}-{FIRST_YEAR + MAX_YEARS - 1}; "
            "use --layout one-province (more carriers) for more"
        )
    best = Scale(tuple(provinces[:1]), months=12 * years, seed=seed)
    for n in range(1, len(provinces) + 1):
        candidate = replace(best, provinces=tuple(provinces[:n]))
        if abs(candidate.workbooks - workbooks) < abs(best.workbooks - workbooks):
            best = candidate
        if candidate.workbooks >= workbooks:
            break
    return best


def shipped_reporters() -> list[dict[str, str]]:
    """ictstat's own reporters.csv (not an overlay the environment may already point at)."""
    with (reference.REFDATA / "reporters.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def reporter_rows(scale: Scale) -> list[dict[str, str]]:
    """The shipped reporters plus every synthetic one, in the columns of ictstat/refdata/reporters.csv."""
    rows = shipped_reporters()
    known = {(r["province_code"], r["reporter_code"]) for r in rows}
    names = province_names()
    for p in scale.provinces:
        name = names[p]
        mine = [(c, "telecom_carrier", "", f"{c} chi nhánh {name}") for c in scale.telecom]
        mine += [(c, "postal_carrier", "", f"{c} bưu cục {name}") for c in scale.postal]
        if scale.district_offices:
            mine += [
                (f"VHTT_{d.code}", "district", d.code, f"Phòng Văn hóa và Thông tin {d.name}")
                for d in districts_of(p)
            ]
        if scale.department:
            mine.append(("SO_TTTT", "department", "", f"Sở Thông tin và Truyền thông {name}"))
        for code, kind, district, name_vi in mine:
            if (p, code) in known:  # the home province's offices and department are shipped already
                continue
            rows.append({"reporter_code": code, "reporter_kind": kind, "province_code": p, "district_code": district,
                         "name_vi": name_vi, "name_en": name_vi, "valid_from": "2000-01-01", "valid_to": "2025-06-30"})  # fmt: skip
    return rows


def write_overlay(scale: Scale, folder: Path) -> Path:
    """``reporters.csv`` for ``ICTSTAT_REFERENCE_DIR``: every reporter, shipped and synthetic."""
    rows = reporter_rows(scale)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "reporters.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@dataclass(frozen=True)
class Inbox:
    """A generated inbox: ``inbox/`` (the files), ``extra/`` (1 % more), ``reference/`` (the overlay)."""

    root: Path
    workbooks: int
    extra_workbooks: int
    seconds: float

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def extra(self) -> Path:
        return self.root / "extra"

    @property
    def reference(self) -> Path:
        return self.root / "reference"


def generate(scale: Scale, root: Path, processes: int | None = None) -> Inbox:
    """Write the inbox of ``scale`` under ``root`` (emptied first) and its manifest, last."""
    started = time.perf_counter()
    shutil.rmtree(root, ignore_errors=True)
    write_overlay(scale, root / "reference")
    jobs = [ProvinceJob(scale, p, root / "inbox", root / "extra") for p in scale.provinces]
    workers = processes or min(os.cpu_count() or 1, len(jobs))
    if workers <= 1 or scale.workbooks < 300:
        counts = [write_province(j) for j in jobs]
    else:
        # spawn: no half-held lock of the parent (a benchmark run may have threads) reaches a worker
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            counts = pool.map(write_province, jobs, chunksize=1)
    files, extra = sum(c[0] for c in counts), sum(c[1] for c in counts)
    assert files == scale.workbooks, (files, scale.workbooks)
    inbox = Inbox(root, files, extra, round(time.perf_counter() - started, 2))
    manifest = {**asdict(inbox), "root": str(root), "scale": asdict(scale), "key": scale.key}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return inbox


def cached(scale: Scale, cache: Path = CACHE) -> Inbox:
    """The inbox of ``scale`` from the cache, generated first if the cache has no complete one."""
    root = cache / scale.key
    manifest = root / "manifest.json"
    if manifest.exists():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return Inbox(root, data["workbooks"], data["extra_workbooks"], data["seconds"])
    return generate(scale, root)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workbooks", type=int, default=1000, help="about how many files (default 1000)")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--layout", choices=LAYOUTS, default="national")
    args = parser.parse_args(argv)
    scale = plan(args.workbooks, args.seed, args.layout)
    inbox = cached(scale)
    print(
        f"{inbox.workbooks} workbooks (+{inbox.extra_workbooks} extra) in {inbox.root}, written in {inbox.seconds} s"
    )


if __name__ == "__main__":
    main()
