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
from tasks import intake, parsefile, submissions, validate
from tasks.parse import parse_workbook
from tasks.read import read_workbook
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
    offset, length = cache.index[damaged.sha256]
    with cache.path.open("r+b") as log:  # a sector of the line zeroed, as by a disk fault
        log.seek(offset + length // 2)
        log.write(bytes(64))
    assert cache.get(damaged.sha256) is None
    path = build_home(home)
    assert statuses(path)["viettel.xlsx"] == "rejected" and negative_issues(path) == before
    again = submissions.ParseCache(home.cache_dir, home.province_code)
    assert again.get(damaged.sha256) is not None and again.index[damaged.sha256][0] > offset  # appended anew
    assert len(again.index) == 3


def test_a_line_torn_by_a_crash_is_closed_and_its_file_parsed_again(tmp_path):
    cache = submissions.ParseCache(tmp_path / "cache", "70")
    cache.put("ab" * 32, {"failure": ["x", "vi", "en"]})
    with cache.path.open("ab") as log:
        log.write(("cd" * 32 + ' {"failure": ["y", ').encode())  # the crash: no end, no newline
    reread = submissions.ParseCache(tmp_path / "cache", "70")
    assert reread.has("ab" * 32) and not reread.has("cd" * 32)
    reread.put("cd" * 32, {"failure": ["y", "vi", "en"]})
    reread.drop("ab" * 32)  # verify-archive found its copy corrupt
    last = submissions.ParseCache(tmp_path / "cache", "70")
    assert last.get("cd" * 32) == {"failure": ["y", "vi", "en"]} and not last.has("ab" * 32)
    lines = last.path.read_bytes().split(b"\n")
    assert [line[:4] for line in lines] == [b"abab", b"cdcd", b"cdcd", b"abab", b""]  # the torn line closed


def test_the_log_is_compacted_once_reparses_outweigh_the_live_parses(tmp_path):
    cache = submissions.ParseCache(tmp_path / "cache", "70")
    big = {"failure": ["x", "vi", "é" * 5_000_000]}  # 10 MB a line
    for _ in range(3):
        cache.put("ab" * 32, big)  # the first two are replaced: 20 MB dead, 10 MB live
    cache.put("cd" * 32, {"failure": ["y", "vi", "en"]})
    size = cache.path.stat().st_size
    assert submissions.ParseCache(tmp_path / "cache", "70").compact()
    after = submissions.ParseCache(tmp_path / "cache", "70")
    assert after.path.stat().st_size < size / 2
    assert after.get("ab" * 32) == big and after.get("cd" * 32) == {"failure": ["y", "vi", "en"]}
    assert not after.compact()


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
    stale = tmp_path / "cache" / "parses-0123456789abcdef.log"
    stale.write_text("{}", encoding="utf-8")
    earlier_layout = tmp_path / "cache" / "cd" / f"{'cd' * 32}-0123456789abcdef.json"
    earlier_layout.parent.mkdir(parents=True)
    earlier_layout.write_text("{}", encoding="utf-8")
    assert cache.prune_if_code_changed() == 2 and not stale.exists() and not earlier_layout.exists()
    assert cache.get("ab" * 32) == {"failure": ["x", "vi", "en"]}
    stale.write_text("{}", encoding="utf-8")
    assert cache.prune_if_code_changed() == 0  # the same code: no scan until the fingerprint changes


def test_a_cached_parse_assembles_to_the_same_cells_as_a_fresh_one(home, tmp_path):
    """A file's cells are a list per field, in the parse and in the cache; a run assembled from the cache
    (streamed to Parquet, as the flow does) holds every cell exactly as one assembled from the parses, and as one
    assembled from the parser's own dict per cell."""
    sightings, _ = intake.intake(home.inbox, home.archive, home.ledger_dir, home.max_file_bytes)
    job = steps.parse_job(home)
    fresh = {s.sha256: p for s, p in zip(sightings, job(sightings), strict=True)}
    cache = submissions.ParseCache(home.cache_dir, home.province_code)
    cache.put_many(fresh)
    stored = cache.get(sightings[0].sha256)
    assert stored is not None and "values" not in stored
    assert stored["value_columns"] == list(parsefile.CELL_COLUMNS)
    assert len(stored["cells"]) == len(parsefile.CELL_COLUMNS)
    assert stored["cells"] == fresh[sightings[0].sha256]["cells"]

    expected = submissions.assemble(sightings, fresh, date(2026, 1, 1)).values
    from_cache = submissions.assemble(
        sightings,
        {s.sha256: cache.get(s.sha256) for s in sightings},
        date(2026, 1, 1),
        tmp_path / "v.parquet",
    ).values
    assert len(expected) == 3 * len(stored["cells"][0]) > 0
    assert from_cache.astype(object).equals(expected.astype(object))
    workbook = read_workbook(home.archive / sightings[0].archive_path, home.max_unpacked_bytes, 1000)
    as_parsed = {**fresh[sightings[0].sha256], "values": parse_workbook(workbook, "70", None).values}
    del as_parsed["cells"]
    one = submissions.assemble(sightings[:1], {sightings[0].sha256: as_parsed}, date(2026, 1, 1)).values
    assert one.astype(object).equals(
        expected[expected["submission_id"] == sightings[0].submission_id].astype(object)
    )
    vnpt = from_cache[
        (from_cache["measure"] == "subs_mobile") & (from_cache["district_code"] == DISTRICTS[0].code)
    ]
    names = {s.submission_id: s.original_name for s in sightings}
    by_file = {names[sid]: value for sid, value in zip(vnpt["submission_id"], vnpt["value"], strict=True)}
    assert by_file == {"vnpt.xlsx": 1000.0, "viettel.xlsx": -5.0, "mobifone.xlsx": 2000.0}


def test_the_process_pool_parses_as_the_runs_own_process_does(home, monkeypatch):
    """The pool (spawned workers, the job pickled to them) fills the parse log with the same parses and issues
    as parsing in the run's own process."""
    sightings, _ = intake.intake(home.inbox, home.archive, home.ledger_dir, home.max_file_bytes)
    steps.read_and_parse_locally.fn(sightings, home, None)  # 3 files: in this process
    alone = submissions.ParseCache(home.cache_dir, home.province_code)
    expected = {s.sha256: alone.get(s.sha256) for s in sightings}
    alone.close()
    alone.path.unlink()
    monkeypatch.setattr(steps, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(steps, "CHUNK", 1)  # a chunk per file, over two workers
    settings = home.model_copy(update={"workers": 2})
    assert steps.read_and_parse_locally.fn(sightings, settings, None) == 3
    pooled = submissions.ParseCache(home.cache_dir, home.province_code)
    assert {s.sha256: pooled.get(s.sha256) for s in sightings} == expected
    assert any(
        issue["rule"] == "negative" for parse in expected.values() for issue in parse["validation_issues"]
    )


def test_parse_workers_start_without_the_runs_main_module(monkeypatch):
    """A spawned worker imports its parent's __main__ first (prefect.engine under a Prefect worker: seconds of
    imports in every worker); the pool starts its workers with none."""
    import sys
    import types
    from multiprocessing import spawn

    script = types.ModuleType("__main__")
    script.__file__ = "/opt/ictstat/bin/ictstat"
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert spawn.get_preparation_data("worker")["init_main_from_path"] == "/opt/ictstat/bin/ictstat"
    with steps.workers_without_main():
        data = spawn.get_preparation_data("worker")
        assert "init_main_from_path" not in data and "init_main_from_name" not in data
    assert sys.modules["__main__"] is script
