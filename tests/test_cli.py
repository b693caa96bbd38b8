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
    assert result.exit_code == 1, result.output
    assert "đã có tệp" in result.output and "already holds files" in result.output
    assert [p.name for p in (tmp_path / "inbox").iterdir()] == ["real.xlsx"]


def test_appendix_without_a_warehouse_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("ICTSTAT_HOME", str(tmp_path))
    result = runner.invoke(app, ["appendix"])
    assert result.exit_code == 1 and "ictstat run" in result.output
    assert "Chưa có kho dữ liệu" in result.output.replace("\n", " ")


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


# --- issue 16: one command line that refuses bad input before it touches anything ----------------------

import hashlib  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ictstat import __version__  # noqa: E402
from ictstat.cli import BackfillMode, backfill_main  # noqa: E402
from ictstat.periods import PERIOD_PATTERN, Period  # noqa: E402
from tasks import backfill as selection  # noqa: E402

ROOT = Path(__file__).parents[1]


def flat(text: str) -> str:
    """Console output without the line breaks rich adds at the terminal's width."""
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def demo_home(demo_warehouse, tmp_path, monkeypatch):
    """A copy of the demo home (archive, ledger, published warehouse) as ICTSTAT_HOME."""
    home = tmp_path / "home"
    shutil.copytree(demo_warehouse.parent, home)
    monkeypatch.setenv("ICTSTAT_HOME", str(home))
    return home


def fingerprint(home: Path) -> dict[str, str]:
    """Every file of a home by its sha256: what a refused or dry command must leave as it was."""
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file()
    }


def test_version_and_short_help():
    assert runner.invoke(app, ["--version"]).output.strip() == f"ictstat {__version__}"
    short = runner.invoke(app, ["-h"])
    assert short.exit_code == 0 and "backfill" in short.output and "indicators" in short.output
    assert runner.invoke(app, ["backfill", "-h"]).exit_code == 0


def test_indicators_lists_codes_with_both_names_and_units():
    result = runner.invoke(app, ["indicators"])
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    for part in ("TEL_REVENUE", "Doanh thu viễn thông", "Telecom revenue", "Tỷ đồng (billion VND)",
                 "TEL_SUBS_MOBILE"):  # fmt: skip
        assert part in text, part
    only = runner.invoke(app, ["indicators", "--domain", "postal"])
    assert "TEL_REVENUE" not in only.output and "POS_" in only.output
    bad = runner.invoke(app, ["indicators", "--domain", "nope"])
    assert bad.exit_code == 2 and "Không có lĩnh vực" in bad.output and "No domain" in flat(bad.output)


def test_appendix_refuses_an_unknown_appendix_or_a_year_without_figures(demo_home):
    before = fingerprint(demo_home)
    bad = runner.invoke(app, ["appendix", "--appendix", "PL9"])
    assert bad.exit_code == 2 and "Không có phụ lục 'PL9'" in bad.output and "No appendix 'PL9'" in bad.output
    empty = runner.invoke(app, ["appendix", "--year", "2021"])
    assert empty.exit_code == 1
    assert "năm 2021" in flat(empty.output) and "no appendix figures for 2021" in flat(empty.output)
    assert "2019, 2020" in empty.output
    ok = runner.invoke(app, ["appendix", "--appendix", "pl4"])
    assert ok.exit_code == 0 and "1.294.026" in ok.output
    assert fingerprint(demo_home) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["2020-12", "2020-01"], ["Khoảng kỳ bị đảo ngược: 2020-12 sau 2020-01", "The range is reversed"]),
        (["01/2020", "2020-12"], ["Từ kỳ '01/2020' không phải kỳ báo cáo", "is not a period"]),
        (["2020-01", "2020-13"], ["Đến kỳ '2020-13'", "To period '2020-13' is not a period"]),
        (["2020", "2020", "--reporter", "NOBODY"], ["không có đơn vị báo cáo NOBODY", "unknown reporter"]),
        (["2020", "2020", "--mode", "everything"], ["everything"]),
        (["2020-01", "2020-12", "--dryrun"], ["No such option: --dryrun"]),
        (["2020-01"], ["Missing argument 'TO'"]),
        (["--dry-run", "2020-01"], ["Missing argument 'TO'"]),
    ],
)
def test_backfill_refuses_bad_arguments_and_changes_nothing(demo_home, args, expected):
    before = fingerprint(demo_home)
    result = runner.invoke(app, ["backfill", *args])
    assert result.exit_code == 2, result.output
    text = flat(result.output)
    assert all(part in text for part in expected), text
    if args[0] == "2020-12":  # one message, Vietnamese first
        assert text.count("Khoảng kỳ bị đảo ngược") == 1 and text.index("Khoảng") < text.index("reversed")
    assert fingerprint(demo_home) == before


def test_python_m_flows_backfill_refuses_before_prefect_is_imported(tmp_path):
    home = tmp_path / "home"
    env = {**__import__("os").environ, "ICTSTAT_HOME": str(home)}
    for args, code in ((["2020-01", "2020-12", "--dryrun"], 2), (["2020-01"], 2), (["2020-12", "2020-01"], 2),
                       (["--help"], 0)):  # fmt: skip
        done = subprocess.run([sys.executable, "-m", "flows.backfill", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
    assert not home.exists()  # nothing was created, let alone run
    # what the module runs, in a fresh interpreter: refused without Prefect, the flows or DuckDB imported
    probe = (
        "import sys; from ictstat.cli import backfill_main; rc = backfill_main(['2020-13', '2020-12']); "
        "print(rc, 'prefect' in sys.modules, 'flows.pipeline' in sys.modules, 'duckdb' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "2 False False False", done.stdout + done.stderr


def test_backfill_main_parses_like_the_command(demo_home, capsys):
    assert backfill_main(["2020-01", "2020-12", "--bogus"]) == 2
    assert backfill_main(["2020-01", "2020-02", "--reporter", "vnpt", "--mode", "all", "--dry-run"]) == 0
    out = flat(capsys.readouterr().out)
    assert "2 tệp sẽ được xử lý lại" in out and "2 file(s) would be reprocessed" in out


def test_a_dry_run_prints_the_selected_files_key_columns_first_and_changes_nothing(demo_home):
    before = fingerprint(demo_home)
    result = runner.invoke(app, ["backfill", "2020-01", "2020-03", "--reporter", "VNPT", "--mode", "all",
                                 "--dry-run"])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.output
    rows = [line for line in text.splitlines() if line.startswith("│ VNPT ")]  # the reporter first
    assert len(rows) == 3 and all("VT-01" in r and "accepted" in r for r in rows)
    assert [re.search(r"20\d\d-0\d", r)[0] for r in rows] == ["2020-01", "2020-02", "2020-03"]
    assert all(re.search(r"│ [0-9a-f]{12} │$", r) for r in rows), rows  # the sha256 short and last
    assert not re.search(r"[0-9a-f]{20}", text)
    request = selection.parse_request("2020-01", "2020-03", ["VNPT"], "all")
    chosen = selection.select(request, demo_home / "archive" / "ledger", demo_home / "inbox",
                              demo_home / "warehouse.duckdb")  # fmt: skip
    assert list(selection.preview_rows(chosen)[0]) == [
        "đơn vị / reporter", "tên / name", "biểu mẫu / form", "kỳ / period", "trạng thái / status",
        "tệp / file", "mã / id", "sha256",
    ]  # fmt: skip
    assert "3 file(s) would be reprocessed" in flat(text)
    assert fingerprint(demo_home) == before


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A[0-9]{4}(-(H[0-9]|Q[0-9]|[0-9]{2}))?\Z") | st.text(max_size=9))
def test_the_form_pattern_and_the_flow_agree_on_what_a_period_is(text):
    """Whatever the form's pattern lets through, the flow reads back as the same period; what it refuses,
    the flow refuses too (a run created through the API bypasses the form)."""
    if re.fullmatch(PERIOD_PATTERN, text):
        assert str(Period.parse(text)) == text
        selection.parse_request(text, text, [], "all")
    elif text == text.strip() and text == text.upper():
        with pytest.raises(selection.BackfillError) as err:
            selection.parse_request(text, "2020", [], "all")
        assert str(err.value).startswith("Tham số không hợp lệ — Từ kỳ")


def test_the_command_line_modes_are_the_flows():
    assert tuple(m.value for m in BackfillMode) == selection.MODES


def test_explain_takes_district_names_and_is_concise_unless_asked(demo_home):
    by_code = runner.invoke(app, ["explain", "MEDIA_COMMUNE_STATIONS", "2020", "--district", "697"])
    assert by_code.exit_code == 0, by_code.output
    for name in ("Chơn Thành", "chon thanh", "H. Chơn Thành"):
        by_name = runner.invoke(app, ["explain", "MEDIA_COMMUNE_STATIONS", "2020", "--district", name])
        assert by_name.exit_code == 0 and by_name.output == by_code.output, name
    dong_xoai = runner.invoke(app, ["explain", "MEDIA_COMMUNE_STATIONS", "2020", "--district", "Dong Xoai"])
    assert dong_xoai.exit_code == 0 and "689" in dong_xoai.output  # Đồng Xoài
    unknown = runner.invoke(app, ["explain", "MEDIA_COMMUNE_STATIONS", "2020", "--district", "Hà Nội"])
    assert unknown.exit_code == 1 and "Không có huyện" in unknown.output

    concise = runner.invoke(app, ["explain", "TEL_SUBS_MOBILE", "2020"])
    every = runner.invoke(app, ["explain", "TEL_SUBS_MOBILE", "2020", "--all-cells"])
    assert concise.exit_code == every.exit_code == 0
    assert len(concise.output.splitlines()) < 20 < 44 < len(every.output.splitlines())
    assert "44 cells in 4 files; every cell: --all-cells" in flat(concise.output)
    for text in (concise.output, every.output):
        assert "Tổng 44 ô / sum of 44 cells: 1.294.026 = kết quả / result 1.294.026" in flat(text)
