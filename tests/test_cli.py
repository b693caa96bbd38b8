"""The command line: its help lists the commands, and it writes templates and demo data."""

from __future__ import annotations

from typer.testing import CliRunner

from ictstat.cli import app

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "demo-data", "run", "templates", "appendix", "export", "docs"):
        assert command in result.output


def test_templates_writes_the_blank_forms(tmp_path, monkeypatch):
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    result = runner.invoke(app, ["templates"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "templates" / "bieu_mau_vt_01_v1.xlsx").exists()


def test_demo_data_refuses_to_write_over_an_inbox_that_has_files(tmp_path, monkeypatch):
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "real.xlsx").write_bytes(b"x")
    result = runner.invoke(app, ["demo-data"])
    assert result.exit_code == 0 and "already holds files" in result.output
    assert [p.name for p in (tmp_path / "inbox").iterdir()] == ["real.xlsx"]


def test_appendix_without_a_warehouse_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    result = runner.invoke(app, ["appendix"])
    assert result.exit_code == 1 and "ictstat run" in result.output


def test_export_and_docs_write_their_files(demo_warehouse, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    shutil.copy(demo_warehouse, tmp_path / "warehouse.duckdb")
    result = runner.invoke(app, ["export", "--year", "2020", "--parquet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "exports" / "phu_luc_2020.xlsx").exists()
    assert (tmp_path / "exports" / "parquet" / "province_indicators.parquet").exists()
    result = runner.invoke(app, ["docs"])
    assert result.exit_code == 0, result.output
    assert "mart.province_indicators" in (tmp_path / "exports" / "tu_dien_du_lieu.md").read_text(
        encoding="utf-8"
    )
    result = runner.invoke(app, ["export", "--year", "1999"])
    assert result.exit_code == 1 and "1999" in result.output
