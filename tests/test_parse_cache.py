"""The parse cache as the flow uses it: new files are parsed and validated once, in batches, and every later
run reads their parse and schema issues back one file at a time."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows import steps
from ictstat import reference
from ictstat.templates import get_template
from ictstat.templates.writer import FormData, write_form
from tasks import intake, submissions, validate
from tests.conftest import build_home, make_home

SUBS, REV = "Thuê bao - BTS", "Doanh thu - Nộp NS"
DISTRICTS = reference.districts("70", date(2020, 12, 31))


def vt01(path: Path, reporter: str, mobile_first: float) -> Path:
    template = get_template("VT-01")
    assert template is not None
    rows = {d.code: {"subs_fixed": 100 + i, "subs_mobile": 1000 * (i + 1), "subs_internet": 500 + i,
                     "bts_sites": 5} for i, d in enumerate(DISTRICTS)}  # fmt: skip
    rows[DISTRICTS[0].code]["subs_mobile"] = mobile_first
    data = FormData(
        cover={"reporter_code": reporter, "period": "12/2020", "prepared_by": "Nguyễn Văn An"},
        district_values={SUBS: rows},
        item_values={REV: {"revenue": 12345.5, "budget": 700, "spam_suspended": 3}},
    )
    return write_form(template, path, DISTRICTS, data)


@pytest.fixture
def home(tmp_path):
    settings = make_home(tmp_path / "home")
    vt01(settings.inbox / "vnpt.xlsx", "VNPT", 1000)
    vt01(settings.inbox / "viettel.xlsx", "VIETTEL", -5)  # a schema error (Pandera), not a parse error
    vt01(settings.inbox / "mobifone.xlsx", "MOBIFONE", 2000)
    return settings


def statuses(path: Path) -> dict[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return dict(con.execute("SELECT original_name, status FROM audit.submissions").fetchall())
    finally:
        con.close()


def negative_issues(path: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "SELECT original_name, cell FROM audit.validation_issues WHERE rule = 'negative'"
        ).fetchall()
    finally:
        con.close()


def test_schema_issues_are_found_once_and_come_back_from_the_cache(home, monkeypatch):
    monkeypatch.setattr(steps, "VALIDATE_BATCH", 2)  # two Pandera batches for three files
    path = build_home(home)
    expected = {"vnpt.xlsx": "accepted", "viettel.xlsx": "rejected", "mobifone.xlsx": "accepted"}
    assert statuses(path) == expected
    first = negative_issues(path)
    assert [name for name, _ in first] == ["viettel.xlsx"]

    def no_second_validation(*args, **kwargs):
        raise AssertionError("a cached file was validated again")

    monkeypatch.setattr(validate, "validate", no_second_validation)
    path = build_home(home)
    assert statuses(path) == expected and negative_issues(path) == first


def test_a_damaged_cache_file_is_parsed_and_validated_again(home):
    path = build_home(home)
    before = negative_issues(path)
    cache = submissions.ParseCache(home.cache_dir, home.province_code)
    sightings = intake.read_ledger(home.ledger_dir)
    damaged = next(s for s in sightings if s.original_name == "viettel.xlsx")
    cache._path(damaged.sha256).write_bytes(b'{"values": [')  # torn, as by a disk fault
    path = build_home(home)
    assert statuses(path)["viettel.xlsx"] == "rejected" and negative_issues(path) == before
    assert cache.get(damaged.sha256) is not None  # written again


def test_the_cache_fingerprint_covers_the_reference_overlay(tmp_path, monkeypatch):
    monkeypatch.delenv("ICTSTAT_REFERENCE_DIR", raising=False)
    shipped = submissions.parser_fingerprint("70")
    overlay = tmp_path / "ref"
    overlay.mkdir()
    (overlay / "reporters.csv").write_text("reporter_code\nNEW\n", encoding="utf-8")
    monkeypatch.setenv("ICTSTAT_REFERENCE_DIR", str(overlay))
    assert submissions.parser_fingerprint("70") != shipped


def test_parses_of_older_parser_code_are_removed_once(tmp_path):
    cache = submissions.ParseCache(tmp_path / "cache", "70")
    cache.put("ab" * 32, {"failure": ["x", "vi", "en"]})
    stale = tmp_path / "cache" / "cd" / f"{'cd' * 32}-0123456789abcdef.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}", encoding="utf-8")
    assert cache.prune_if_code_changed() == 1 and not stale.exists()
    assert cache.get("ab" * 32) == {"failure": ["x", "vi", "en"]}
    stale.write_text("{}", encoding="utf-8")
    assert cache.prune_if_code_changed() == 0  # the same code: no scan until the fingerprint changes


def test_a_cached_parse_assembles_to_the_same_cells_as_a_fresh_one(home, tmp_path):
    """The cache keeps a file's cells as a list per field; a run assembled from it (streamed to Parquet, as the
    flow does) holds every cell exactly as a run assembled from the parse itself."""
    sightings, _ = intake.intake(home.inbox, home.archive, home.ledger_dir, home.max_file_bytes)
    job = steps.parse_job(home)
    fresh = {s.sha256: p for s, p in zip(sightings, job(sightings), strict=True)}
    cache = submissions.ParseCache(home.cache_dir, home.province_code)
    for sha, parsed in fresh.items():
        cache.put(sha, parsed)
    stored = cache.get(sightings[0].sha256)
    assert stored is not None and "values" not in stored
    assert stored["value_columns"] == list(submissions.CELL_COLUMNS)
    assert len(stored["cells"]) == len(submissions.CELL_COLUMNS)
    assert all(len(column) == len(fresh[sightings[0].sha256]["values"]) for column in stored["cells"])

    expected = submissions.assemble(sightings, fresh, date(2026, 1, 1)).values
    from_cache = submissions.assemble(
        sightings,
        {s.sha256: cache.get(s.sha256) for s in sightings},
        date(2026, 1, 1),
        tmp_path / "v.parquet",
    ).values
    assert len(expected) == 3 * len(fresh[sightings[0].sha256]["values"]) > 0
    assert from_cache.astype(object).equals(expected.astype(object))
    vnpt = from_cache[
        (from_cache["measure"] == "subs_mobile") & (from_cache["district_code"] == DISTRICTS[0].code)
    ]
    names = {s.submission_id: s.original_name for s in sightings}
    by_file = {names[sid]: value for sid, value in zip(vnpt["submission_id"], vnpt["value"], strict=True)}
    assert by_file == {"vnpt.xlsx": 1000.0, "viettel.xlsx": -5.0, "mobifone.xlsx": 2000.0}
