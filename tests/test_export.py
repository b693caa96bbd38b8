"""The appendix workbook and the Parquet export, read back as an analyst would: openpyxl and DuckDB."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, PieChart
from openpyxl.worksheet.worksheet import Worksheet

from ictstat import xlsx
from ictstat.export import APPENDIX_SHEETS, export_appendix_workbook, export_parquet, sql_path_literal
from tests.conftest import report_figures

SHEETS = [*APPENDIX_SHEETS.values(), "Biểu đồ", "Đối chiếu", "Theo dõi kế hoạch"]
HEADER_ROW = 4


@pytest.fixture(scope="module")
def exported(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_appendix_workbook(demo_warehouse, 2020, tmp_path_factory.mktemp("exports"))


@pytest.fixture(scope="module")
def workbook(exported: Path) -> Workbook:
    return load_workbook(exported)


def row_of(ws: Worksheet, label: str, column: int = 2) -> int:
    """The row whose cell in ``column`` holds ``label`` exactly (appendices: column B, the label)."""
    rows = [row for row in range(1, ws.max_row + 1) if ws.cell(row, column).value == label]
    assert len(rows) == 1, f"{label!r} found in rows {rows} of {ws.title}"
    return rows[0]


def test_the_workbook_is_named_by_year_and_holds_the_sheets_in_order(exported, workbook):
    assert exported.name == "phu_luc_2020.xlsx"
    assert workbook.sheetnames == SHEETS
    assert sorted(p.name for p in exported.parent.iterdir()) == ["phu_luc_2020.xlsx"]  # no temporary left


def test_each_appendix_has_its_title_notes_and_header(workbook):
    ws = workbook["PL4 Viễn thông"]
    assert ws["A1"].value == "Phụ lục 4: Số liệu hoạt động lĩnh vực viễn thông năm 2020"
    assert ws["A1"].font.bold
    assert "So sánh 2020/2019 (%) = năm 2020 / năm 2019 × 100" in ws["A2"].value
    assert "điểm phần trăm" in ws["A2"].value
    header = [c.value for c in ws[HEADER_ROW]][:7]
    assert header == [
        "STT",
        "Chỉ tiêu",
        "Đơn vị tính",
        "Năm 2019",
        "Năm 2020",
        "So sánh 2020/2019 (%)",
        "Ghi chú",
    ]
    assert all(c.font.bold and c.border.top.style == "thin" for c in ws[HEADER_ROW])
    assert workbook["PL2 Báo chí"]["A1"].value == "Phụ lục 2: Số liệu lĩnh vực báo chí, truyền thông năm 2020"


def test_telecom_figures_are_numbers_with_separator_formats(workbook):
    ws = workbook["PL4 Viễn thông"]
    mobile = row_of(ws, "- Thuê bao điện thoại di động")
    assert ws.cell(mobile, 1).value == "4.2"
    assert ws.cell(mobile, 3).value == "Thuê bao"
    assert ws.cell(mobile, 5).value == 1294026
    assert ws.cell(mobile, 5).data_type == "n"
    assert ws.cell(mobile, 5).number_format == "#,##0"
    assert ws.cell(mobile, 4).value == 1203745
    assert ws.cell(mobile, 6).value == pytest.approx(107.5, abs=0.05)  # the index, not the growth rate
    assert ws.cell(mobile, 6).number_format == "#,##0.0"
    fixed = ws.cell(row_of(ws, "- Thuê bao điện thoại cố định"), 6).value
    assert fixed == pytest.approx(81.0, abs=0.05)  # 16.921 -> 13.706

    revenue = row_of(ws, "Doanh thu dịch vụ viễn thông")
    assert ws.cell(revenue, 5).value == 1656
    assert ws.cell(revenue, 4).value == pytest.approx(1504.087)
    assert ws.cell(revenue, 4).number_format == "#,##0.00"  # shown as 1.504,09, as the report prints it
    assert ws.cell(revenue, 5).number_format == "#,##0.00"  # and 1.656,00: one indicator, one format
    assert ws.cell(revenue, 7).value is None  # complete: no note


def test_rates_compare_in_percentage_points(workbook):
    ws = workbook["PL5 CNTT"]
    dvc = row_of(ws, "- Tỷ lệ DVC trực tuyến mức 3, mức 4 (theo báo cáo)")
    assert (ws.cell(dvc, 4).value, ws.cell(dvc, 5).value) == (pytest.approx(53.5), pytest.approx(86.3))
    assert ws.cell(dvc, 6).value == "+32,8 điểm %"
    assert ws.cell(dvc, 4).number_format == ws.cell(dvc, 5).number_format == "#,##0.0"


def test_postal_revenue_keeps_its_decimal(workbook):
    ws = workbook["PL3 Bưu chính"]
    revenue = row_of(ws, "Doanh thu dịch vụ bưu chính")
    assert ws.cell(revenue, 5).value == pytest.approx(226.5)
    assert ws.cell(revenue, 5).number_format == "#,##0.00"  # 226,50 beside 221,19
    assert ws.cell(revenue, 4).number_format == "#,##0.00"
    assert ws.cell(revenue, 3).value == "Tỷ đồng"


def test_every_report_figure_in_the_appendices_matches_the_report(workbook, demo_db):
    figures = report_figures()
    lines = demo_db.execute(
        "SELECT appendix, label_vi, indicator_code FROM mart.appendix_lines "
        "WHERE report_year = 2020 AND indicator_code IS NOT NULL"
    ).fetchall()
    checked = 0
    for appendix, label, code in lines:
        if code not in figures:
            continue
        ws = workbook[APPENDIX_SHEETS[appendix]]
        value = ws.cell(row_of(ws, label), 5).value
        bound = float(figures[code]["value_2020"])
        if figures[code]["qualifier"] == "more_than":  # "hơn 100": the forms carry the real count
            assert value > bound, code
        elif figures[code]["qualifier"] == "about":
            assert value == pytest.approx(bound, rel=0.02), code
        else:
            assert value == pytest.approx(bound), code
        checked += 1
    assert checked >= 60


def test_section_headings_are_bold_without_figures(workbook):
    ws = workbook["PL2 Báo chí"]
    heading = row_of(ws, "Báo chí")
    assert heading == HEADER_ROW + 1
    assert ws.cell(heading, 1).value == "I"
    assert ws.cell(heading, 2).font.bold
    assert [ws.cell(heading, c).value for c in range(3, 8)] == [None] * 5
    assert not ws.cell(row_of(ws, "Cơ quan báo chí của tỉnh"), 2).font.bold


def test_labels_starting_with_a_dash_read_as_printed_and_stay_text(workbook):
    ws = workbook["PL4 Viễn thông"]
    cell = ws.cell(row_of(ws, "- Thuê bao điện thoại cố định"), 2)
    assert cell.value == "- Thuê bao điện thoại cố định"
    assert cell.data_type == "s"
    assert cell.quotePrefix  # Excel keeps it text even when the cell is edited
    indented = workbook["PL3 Bưu chính"].cell(row_of(workbook["PL3 Bưu chính"], "  + Đang hoạt động"), 2)
    assert indented.quotePrefix


def test_charts_sheet_draws_subscribers_shares_and_districts(workbook):
    ws = workbook["Biểu đồ"]
    charts = ws._charts
    assert [type(c) for c in charts] == [BarChart, PieChart, BarChart, BarChart]
    assert [len(c.series) for c in charts] == [3, 1, 2, 2]
    assert all(s.val.numRef.f.startswith("'Biểu đồ'!") for c in charts for s in c.series)

    years = {ws.cell(r, 1).value: r for r in range(1, 8) if ws.cell(r, 1).value in ("2019", "2020")}
    assert set(years) == {"2019", "2020"}
    assert [ws.cell(years["2020"], c).value for c in (2, 3, 4)] == [13706, 1294026, 849691]

    viettel = row_of(ws, "Viettel Bình Phước", column=1)
    assert ws.cell(viettel, 2).value == 710259
    assert ws.cell(viettel, 3).value == pytest.approx(100 * 710259 / 1294026, abs=0.01)
    assert len(charts[1].series[0].val.numRef.f.split(":")) == 2  # one range: the four mobile carriers
    lines = [c.value for c in ws["A"] if isinstance(c.value, str)]
    assert any(v.startswith("Đài truyền thanh cấp xã theo huyện") for v in lines)
    assert any(v.startswith("Tổng số điểm phục vụ bưu chính theo huyện") for v in lines)


def test_district_chart_data_add_up_to_the_province(workbook):
    ws = workbook["Biểu đồ"]
    title = next(c.row for c in ws["A"] if str(c.value).startswith("Tổng số điểm phục vụ bưu chính"))
    values = [ws.cell(r, 3).value for r in range(title + 2, title + 13)]
    assert len(values) == 11 and sum(values) == 156  # 11 districts, the province's 156 service points


def test_reconciliation_sheet_shows_the_online_service_rate_mismatch(workbook, demo_db):
    ws = workbook["Đối chiếu"]
    assert ws["A1"].value == "Đối chiếu số liệu năm 2020"
    rules = [ws.cell(r, 1).value for r in range(HEADER_ROW + 1, ws.max_row + 1)]
    expected = demo_db.execute("SELECT count(*) FROM mart.reconciliation WHERE period = '2020'").fetchone()
    assert len(rules) == expected[0]
    dvc = row_of(ws, "REC_DVC_RATE", column=1)
    statuses = [ws.cell(r, 3).value for r in range(HEADER_ROW + 1, ws.max_row + 1)]
    assert statuses == sorted(statuses, key=lambda s: s != "lệch")  # mismatches come first
    # the report's own contradictions: the department's 6.195 receivers against the districts' 6.589
    receivers = row_of(ws, "REC_SAT_RECEIVERS_SOURCES", column=1)
    assert [ws.cell(receivers, c).value for c in (3, 4, 5, 6)] == ["lệch", 6195, 6589, -394]
    assert ws.cell(dvc, 3).value == "lệch"
    assert ws.cell(dvc, 4).value == pytest.approx(86.3)
    assert ws.cell(dvc, 5).value == pytest.approx(83.75, abs=0.01)
    assert ws.cell(dvc, 3).fill.fgColor.rgb.endswith("F8CBAD")
    statuses = {ws.cell(r, 3).value for r in range(HEADER_ROW + 1, ws.max_row + 1)}
    assert statuses <= {"khớp", "lệch", "thiếu số liệu"}


def test_target_sheet_tracks_the_23_plan_targets(workbook):
    ws = workbook["Theo dõi kế hoạch"]
    codes = [ws.cell(r, 1).value for r in range(HEADER_ROW + 1, ws.max_row + 1)]
    assert len(codes) == 23 and len(set(codes)) == 23
    dvc = row_of(ws, "T25_DVC_L34_PCT", column=1)
    assert ws.cell(dvc, 2).value == 2025
    assert ws.cell(dvc, 2).number_format == "0"  # a year, not 2.025
    assert ws.cell(dvc, 9).value == pytest.approx(86.3)
    assert ws.cell(dvc, 11).value == "số liệu chưa khớp"  # 86,3 % fails REC_DVC_RATE
    assert ws.cell(dvc, 5).value == "%"
    note = ws.cell(row_of(ws, "T21_5G_SITES", column=1), 12).value
    assert note == "chưa có chỉ tiêu đếm trạm 5G; TEL_BTS_SITES đếm mọi trạm"
    statuses = {ws.cell(r, 11).value for r in range(HEADER_ROW + 1, ws.max_row + 1)}
    assert not statuses & {"met", "on track", "off track", "no data"}


def test_a_year_without_figures_is_refused_in_both_languages(demo_warehouse, tmp_path):
    with pytest.raises(ValueError, match=r"không có số liệu phụ lục năm 1999.*holds no appendix figures"):
        export_appendix_workbook(demo_warehouse, 1999, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["=1+1", '=HYPERLINK("http://x","y")', "+84", "-5", "@SUM(A1)", "\t=1"])
def test_text_that_looks_like_a_formula_is_written_as_text(tmp_path, text):
    wb = Workbook()
    ws = wb.create_sheet("Thử")
    xlsx.write_text(ws, 1, 1, text)
    xlsx.write_text(ws, 2, 1, "Thuê bao Internet")
    wb.save(tmp_path / "t.xlsx")
    reread = load_workbook(tmp_path / "t.xlsx")["Thử"]
    assert (reread["A1"].value, reread["A1"].data_type, reread["A1"].quotePrefix) == (text, "s", True)
    assert (reread["A2"].value, reread["A2"].quotePrefix) == ("Thuê bao Internet", False)


def test_injected_labels_never_become_formulas(demo_warehouse, tmp_path):
    """A warehouse whose labels and notes were typed by someone hostile still exports inert text."""
    warehouse = tmp_path / "hostile.duckdb"
    shutil.copy(demo_warehouse, warehouse)
    hostile = '=HYPERLINK("http://example.invalid","bấm vào đây")'
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE mart.appendix_lines SET label_vi = ? WHERE indicator_code = 'TEL_SUBS_MOBILE'", [hostile]
        )
        con.execute(
            "UPDATE mart.appendix_lines SET qualifier = 'more_than' WHERE indicator_code = 'TEL_SUBS_INTERNET'"
        )
        con.execute("UPDATE mart.reconciliation SET description_vi = '@cmd|x' WHERE rule_id = 'REC_DVC_RATE'")
        con.execute(
            "UPDATE mart.target_tracking SET measurement_note_vi = '+1+2' WHERE target_code = 'T21_5G_SITES'"
        )
    path = export_appendix_workbook(warehouse, 2020, tmp_path / "out")

    with zipfile.ZipFile(path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == len(SHEETS)
        assert not any(b"<f>" in archive.read(n) for n in sheets)  # not one formula in the workbook
    wb = load_workbook(path)
    pl4 = wb["PL4 Viễn thông"]
    label = pl4.cell(row_of(pl4, hostile), 2)
    assert (label.data_type, label.quotePrefix) == ("s", True)
    internet = row_of(pl4, "Thuê bao Internet")
    assert pl4.cell(internet, 5).value == 849691  # still a number
    assert pl4.cell(internet, 7).value == "hơn 849.691"
    checks = wb["Đối chiếu"]
    assert checks.cell(row_of(checks, "REC_DVC_RATE", column=1), 8).value == "@cmd|x"
    targets = wb["Theo dõi kế hoạch"]
    assert targets.cell(row_of(targets, "T21_5G_SITES", column=1), 12).quotePrefix


@pytest.mark.parametrize(
    ("value", "expected"), [(1294026, "#,##0"), (226.5, "#,##0.0"), (1504.087, "#,##0.00")]
)
def test_number_format_follows_the_figure(value, expected):
    assert xlsx.number_format_for(value) == expected


def test_parquet_holds_every_mart_table_and_view(demo_warehouse, demo_db, tmp_path):
    paths = export_parquet(demo_warehouse, tmp_path)
    names = demo_db.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'mart' "
        "UNION SELECT view_name FROM duckdb_views() WHERE schema_name = 'mart' AND NOT internal"
    ).fetchall()
    assert sorted(p.name for p in paths) == sorted(f"{n}.parquet" for (n,) in names)
    mart_objects = demo_db.execute(
        "SELECT count(*) FROM (SELECT table_name FROM duckdb_tables() WHERE schema_name = 'mart' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = 'mart')"
    ).fetchone()[0]
    assert len(paths) == mart_objects
    assert sorted((tmp_path / "parquet").iterdir()) == sorted(paths)  # no temporary files left behind
    reader = duckdb.connect()
    for path in paths:
        (in_file,) = reader.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone() or (None,)
        (in_mart,) = demo_db.execute(f'SELECT count(*) FROM mart."{path.stem}"').fetchone() or (None,)
        assert in_file == in_mart, path.name
    (value,) = reader.execute(
        "SELECT value FROM read_parquet(?) WHERE indicator_code = 'TEL_REVENUE' AND period = '2020'",
        [str(tmp_path / "parquet" / "province_indicators.parquet")],
    ).fetchone() or (None,)
    assert value == pytest.approx(1656)
    assert export_parquet(demo_warehouse, tmp_path) == paths  # a second export replaces the files


def test_paths_with_a_quote_are_refused(demo_warehouse, tmp_path):
    with pytest.raises(ValueError, match="quote"):
        sql_path_literal(tmp_path / "o'brien.parquet")
    with pytest.raises(ValueError, match="dấu nháy"):
        export_parquet(demo_warehouse, tmp_path / "o'brien")
    assert sql_path_literal(tmp_path / "x.parquet") == f"'{(tmp_path / 'x.parquet').resolve()}'"
