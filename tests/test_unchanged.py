"""What a nightly run compares with the last publication before deciding there is nothing to change."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ictstat.settings import Settings
from tasks import intake, unchanged
from tests.conftest import make_home


def test_the_date_matters_only_through_month_ends_and_deadline_days():
    days = [10, 10, 15]
    same = [date(2026, 3, d) for d in (1, 5, 10)]
    assert len({unchanged.date_state(d, days) for d in same}) == 1
    assert unchanged.date_state(date(2026, 3, 11), days) != unchanged.date_state(date(2026, 3, 10), days)
    assert unchanged.date_state(date(2026, 3, 16), days) != unchanged.date_state(date(2026, 3, 15), days)
    assert unchanged.date_state(date(2026, 4, 1), days) != unchanged.date_state(date(2026, 3, 31), days)
    assert unchanged.date_state(date(2027, 3, 1), days) != unchanged.date_state(date(2026, 3, 1), days)


def one_file_home(root: Path) -> tuple[Settings, list[intake.Sighting]]:
    settings = make_home(root)
    (settings.inbox / "a.xlsx").write_bytes(b"first")
    sightings, _ = intake.intake(
        settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes
    )
    return settings, sightings


def test_the_key_changes_with_a_new_file_a_setting_or_the_reference_overlay(tmp_path, monkeypatch):
    monkeypatch.delenv("ICTSTAT_REFERENCE_DIR", raising=False)
    settings, sightings = one_file_home(tmp_path / "home")
    day = date(2026, 1, 2)
    key = unchanged.inputs_key(settings, sightings, day)
    assert unchanged.inputs_key(settings, sightings, date(2026, 1, 9)) == key
    (settings.inbox / "b.xlsx").write_bytes(b"second")
    more, new = intake.intake(settings.inbox, settings.archive, settings.ledger_dir, settings.max_file_bytes)
    assert len(new) == 1 and unchanged.inputs_key(settings, more, day) != key
    stricter = settings.model_copy(update={"max_sheets": 5})
    assert unchanged.inputs_key(stricter, sightings, day) != key
    overlay = tmp_path / "ref"
    overlay.mkdir()
    (overlay / "reporters.csv").write_text("reporter_code\nX\n", encoding="utf-8")
    monkeypatch.setenv("ICTSTAT_REFERENCE_DIR", str(overlay))
    assert unchanged.inputs_key(settings, sightings, day) != key


def test_no_publication_or_another_file_means_a_rebuild(tmp_path):
    settings = make_home(tmp_path / "home")
    assert unchanged.unchanged_since(settings, "k") is None
    from tasks import ledger

    settings.warehouse_path.write_bytes(b"published")
    stamp = unchanged.warehouse_stamp(settings.warehouse_path)
    ledger.record_run(settings.ledger_dir, {"run_id": "R1", "status": "published", "inputs_key": "k",
                                            "warehouse_stamp": stamp, "finished_at": "x"})  # fmt: skip
    ledger.record_run(settings.ledger_dir, {"run_id": "R2", "status": "unchanged", "inputs_key": "k"})
    assert unchanged.unchanged_since(settings, "k")["run_id"] == "R1"
    assert unchanged.unchanged_since(settings, "other") is None
    replaced = settings.warehouse_path.with_name("restored.duckdb")
    replaced.write_bytes(b"published")
    Path(replaced).replace(settings.warehouse_path)
    assert unchanged.unchanged_since(settings, "k") is None


def test_a_corrupt_copy_found_by_verify_archive_changes_the_key(tmp_path):
    from tasks import ledger

    settings, sightings = one_file_home(tmp_path / "home")
    day = date(2026, 1, 2)
    key = unchanged.inputs_key(settings, sightings, day)
    ledger.record_archive_check(settings.ledger_dir, "2026-01-02T00:00:00+00:00", [])  # a clean check
    assert unchanged.inputs_key(settings, sightings, day) == key
    bad = {
        "sha256": sightings[0].sha256,
        "submission_id": "S0000001",
        "archive_path": sightings[0].archive_path,
    }
    ledger.record_archive_check(settings.ledger_dir, "2026-01-09T00:00:00+00:00", [bad])
    assert unchanged.inputs_key(settings, sightings, day) != key
