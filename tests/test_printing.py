"""Every kind of workbook ictstat writes, printed through LibreOffice (headless) to PDF and read back.

The blank templates, a feedback copy of a filled VT-01 (and the list-only feedback of a file that could not be
opened) and the 2020 appendix export are converted in one ``soffice`` call; ``pdfinfo`` and ``pdftotext``
(poppler) read the PDFs. Checked: A4 and a fitted page on every sheet, how many pages each sheet prints on
(a form and its signature block on one page, one chart a page), and, from the workbooks themselves, that no
wrapped cell holds more text than its row's height shows. The overflow check uses its own estimate of the
text's width, not the writer's: a lower bound (narrower than the letters measured on these pages), so a row it
finds too short does overprint.

LibreOffice is a Debian package (``apt-get install libreoffice-calc poppler-utils fonts-liberation``); ``.ci/run``
installs it when it is missing. Without it the PDF tests are skipped, saying so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ictstat import printing, reference, xlsx
from ictstat.export import APPENDIX_SHEETS, export_appendix_workbook
from ictstat.export_charts import BLOCK_ROWS, CHARTS_SHEET
from ictstat.templates import get_template, latest_templates
from ictstat.templates.writer import FormData, write_form
from tasks.feedback import ISSUES_TITLE, write_feedback_workbook

TOOLS = ("soffice", "pdfinfo", "pdftotext")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
needs_libreoffice = pytest.mark.skipif(
    bool(MISSING),
    reason=f"{', '.join(MISSING)} not installed: apt-get install libreoffice-calc poppler-utils fonts-liberation",
)
DISTRICTS = reference.districts("70", date(2020, 12, 31))
SUBS, REV = "Thuê bao - BTS", "Doanh thu - Nộp NS"
# The estimate of this test: lower-case Vietnamese words of Times New Roman (Liberation Serif) measure 0.45 em a
# letter on the pages these tests print (pdftotext -bbox), a space 0.25 em; 0.40 em a character, spaces
# included, is narrower than any line of real text. A line is 1.15 em (the font's ascent and descent, 1.107 em).
AVERAGE_EM, BOLD_EM, LINE_EM = 0.40, 0.43, 1.15


@dataclass(frozen=True)
class Printed:
    workbook: Path
    pages: list[str]  # the text of each printed page, whitespace collapsed


@pytest.fixture(scope="module")
def workbooks(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every kind of workbook, by a short name: the templates, two feedback workbooks and the export."""
    out = tmp_path_factory.mktemp("print")
    found: dict[str, Path] = {}
    for t in latest_templates():
        communes = reference.communes(DISTRICTS[0].code, date(2020, 12, 31))
        found[t.form_code] = write_form(t, out / f"{t.file_stem}.xlsx", DISTRICTS, communes=communes)
    vt01 = get_template("VT-01")
    assert vt01 is not None
    rows = {d.code: {"subs_fixed": 100 + i, "subs_mobile": 1000 * (i + 1)} for i, d in enumerate(DISTRICTS)}
    data = FormData(
        cover={"reporter_code": "VNPT", "period": "12/2020", "prepared_by": "Nguyễn Văn An"},
        district_values={SUBS: rows},
        item_values={REV: {"revenue": 12345.5, "budget": 700}},
    )
    filled = write_form(vt01, out / "sent" / "vt01.xlsx", DISTRICTS, data)
    found["feedback"] = write_feedback_workbook(filled, "VNPT 12-2020.xlsx", "S0000007", ISSUES, out / "fb")
    found["feedback-list"] = write_feedback_workbook(None, "hong.xlsx", "S0000008", ISSUES[:1], out / "fb")
    found["export"] = export_appendix_workbook(demo_warehouse, 2020, out / "exports")
    return found


ISSUES = [
    {"sheet": SUBS, "cell": "E9", "column": "Thuê bao điện thoại di động", "value": "12a", "rule": "not_a_number",
     "severity": "error",
     "message_vi": "Ô E9 (sheet 'Thuê bao - BTS', cột 'Thuê bao điện thoại di động'): giá trị '12a' không phải là "
                   "số. Vui lòng nhập số, ví dụ 1.307.732 hoặc 226,5.",
     "message_en": "Cell E9 (sheet 'Thuê bao - BTS', column 'Thuê bao điện thoại di động'): '12a' is not a number. "
                   "Enter a number such as 1.307.732 or 226,5."},
    {"sheet": REV, "cell": "D6", "column": "Doanh thu dịch vụ viễn thông", "value": "", "rule": "blank_required",
     "severity": "error", "message_vi": "Ô D6 (sheet 'Doanh thu - Nộp NS', cột 'Doanh thu dịch vụ viễn thông'): "
                                       "chưa nhập số liệu bắt buộc.",
     "message_en": "Cell D6 (sheet 'Doanh thu - Nộp NS', column 'Doanh thu dịch vụ viễn thông'): a required "
                   "figure is blank."},
]  # fmt: skip


@pytest.fixture(scope="module")
def printed(workbooks: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Printed]:
    """All the workbooks converted to PDF in one LibreOffice call, with a profile of its own (a LibreOffice
    already running with the default profile would take the job and leave nothing here)."""
    if MISSING:
        pytest.skip(f"{', '.join(MISSING)} not installed")
    out = tmp_path_factory.mktemp("pdf")
    profile = (out / "profile").as_uri()
    command = ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf"]
    subprocess.run([*command, "--outdir", str(out), *map(str, workbooks.values())], check=True,
                   capture_output=True, timeout=600)  # fmt: skip
    result: dict[str, Printed] = {}
    for name, path in workbooks.items():
        pdf = out / f"{path.stem}.pdf"
        assert pdf.is_file(), f"LibreOffice made no PDF of {path.name}"
        text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True).stdout
        pages = [_collapse(page) for page in text.decode("utf-8").split("\f")]
        if pages and not pages[-1]:
            pages.pop()  # the form feed after the last page
        assert len(pages) == _page_count(pdf), name
        result[name] = Printed(path, pages)
    return result


def _page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    match = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    assert match is not None
    return int(match[1])


def _collapse(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def sheet_of_each_page(printed: Printed) -> list[str]:
    """The sheet each page belongs to: a page starts a sheet when it shows the sheet's first text (its title),
    and the pages after it (the header repeated, no title) belong to the same sheet."""
    wb = load_workbook(printed.workbook)
    markers = [(ws.title, _collapse(str(_first_text(ws)))[:40]) for ws in wb.worksheets]
    sheets: list[str] = []
    sheet = 0
    for page in printed.pages:
        for i in range(sheet, len(markers)):
            if markers[i][1] in page:
                sheet = i
                break
        sheets.append(markers[sheet][0])
    return sheets


def pages_per_sheet(printed: Printed) -> dict[str, int]:
    """How many pages each sheet printed on, in the workbook's order."""
    sheets = sheet_of_each_page(printed)
    return {name: sheets.count(name) for name in load_workbook(printed.workbook).sheetnames}


def _first_text(ws: Worksheet) -> object:
    return next(c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str))


@needs_libreoffice
def test_every_template_prints_each_sheet_on_one_page_with_its_signatures(printed):
    for template in latest_templates():
        done = printed[template.form_code]
        counts = pages_per_sheet(done)
        assert counts == dict.fromkeys(counts, 1), template.form_code  # cover and every data sheet: one page
        assert len(done.pages) == 1 + len(template.sheets)
        cover, *sheets = done.pages
        assert _collapse(template.title) in cover, "the title printed whole, on the cover's page"
        for page in sheets:
            assert "Tổng cộng" in page or "Số liệu" in page  # the data ...
            for line in (
                *printing.SIGNATURE_TITLES,
                "ngày …… tháng …… năm",
            ):  # ... and, on the same page, the
                assert line in page  # place and date line and both signatures


@needs_libreoffice
def test_the_vt01_revenue_figures_print_beside_their_labels(printed):
    """The revenue sheet on one page: label, unit and the value's cell together (they were on two pages)."""
    revenue = printed["VT-01"].pages[2]
    assert "DOANH THU, NỘP NGÂN SÁCH" in revenue
    for text in ("Doanh thu dịch vụ viễn thông", "triệu đồng", "Số liệu", "Thủ trưởng đơn vị"):
        assert text in revenue, text


@needs_libreoffice
def test_a_feedback_copy_prints_the_list_then_each_sheet_on_one_page(printed):
    counts = pages_per_sheet(printed["feedback"])
    assert counts == {ISSUES_TITLE: 1, "Thông tin chung": 1, SUBS: 1, REV: 1}
    issues_page = printed["feedback"].pages[0]
    for issue in ISSUES:  # the guidance in both languages, every word of it on the list's page
        for word in (issue["message_vi"] + " " + issue["message_en"]).split():
            assert word in issues_page, word
    assert len(printed["feedback-list"].pages) == 1


@needs_libreoffice
def test_the_export_prints_each_appendix_on_one_page_and_one_chart_a_page(printed):
    counts = pages_per_sheet(printed["export"])
    assert {name: counts[name] for name in APPENDIX_SHEETS.values()} == dict.fromkeys(
        APPENDIX_SHEETS.values(), 1
    )
    wb = load_workbook(printed["export"].workbook)
    charts = wb[CHARTS_SHEET]
    blocks = range(1, charts.max_row + 1, BLOCK_ROWS)
    titles = [str(charts.cell(top, 1).value) for top in blocks if top > 1]
    assert counts[CHARTS_SHEET] == len(charts._charts) == 1 + len(titles)
    on_pages = sheet_of_each_page(printed["export"])
    first, *chart_pages = [
        p for p, s in zip(printed["export"].pages, on_pages, strict=True) if s == CHARTS_SHEET
    ]
    for page, title in zip(chart_pages, titles, strict=True):  # each further block starts a page of its own
        assert [t for t in titles if _collapse(t)[:40] in page] == [title]
    assert not any(_collapse(t)[:40] in first for t in titles)
    assert counts["Đối chiếu"] == 1 and 1 <= counts["Theo dõi kế hoạch"] <= 2
    for name in APPENDIX_SHEETS.values():  # the signatures under each appendix, on its page
        page = printed["export"].pages[on_pages.index(name)]
        assert all(title in page for title in printing.SIGNATURE_TITLES), name


def test_every_sheet_is_set_for_a4_fitted_to_the_page_width(workbooks):
    for name, path in workbooks.items():
        for ws in load_workbook(path).worksheets:
            setup = ws.page_setup
            where = f"{name}: {ws.title}"
            assert (int(setup.paperSize), setup.fitToWidth) == (printing.A4, 1), where
            assert ws.sheet_properties.pageSetUpPr.fitToPage, where
            assert setup.orientation in ("portrait", "landscape"), where
            assert setup.fitToHeight == 1 or ws.print_title_rows or ws.title == CHARTS_SHEET, where


def test_every_written_cell_is_set_in_times_new_roman(workbooks):
    for name, path in workbooks.items():
        for ws in load_workbook(path).worksheets:
            named = {c.font.name for row in ws.iter_rows() for c in row if c.value is not None}
            assert named == {printing.FONT_NAME}, f"{name}: {ws.title}"


def test_the_charts_name_their_font_too(workbooks):
    with zipfile.ZipFile(workbooks["export"]) as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 4
        for name in charts:
            xml = zf.read(name).decode("utf-8")
            assert f'typeface="{printing.FONT_NAME}"' in xml and "Calibri" not in xml, name


def test_a_clerks_own_sheets_come_back_on_a4_unless_they_chose_a_paper(tmp_path):
    """A workbook not made from a template: its unset sheet is fitted to A4, a sheet set for Letter stays so."""
    wb = Workbook()
    plain = wb.active
    assert plain is not None
    plain.title = "Số liệu"
    for column in range(1, 15):
        plain.cell(1, column, f"Cột {column}")
        plain.column_dimensions[get_column_letter(column)].width = 14
    letter = wb.create_sheet("In sẵn")
    letter["A1"] = "Mẫu của đơn vị"
    letter.page_setup.paperSize = letter.PAPERSIZE_LETTER
    sent = tmp_path / "sent.xlsx"
    wb.save(sent)
    issue = {**ISSUES[0], "sheet": "Số liệu", "cell": "B2"}
    copy = load_workbook(write_feedback_workbook(sent, "sent.xlsx", "S0000009", [issue], tmp_path / "fb"))
    setup = copy["Số liệu"].page_setup
    assert (int(setup.paperSize), setup.orientation, setup.fitToWidth) == (printing.A4, "landscape", 1)
    assert int(copy["In sẵn"].page_setup.paperSize) == int(letter.PAPERSIZE_LETTER)
    assert int(copy[ISSUES_TITLE].page_setup.paperSize) == printing.A4


def test_no_wrapped_text_is_taller_than_its_row(workbooks):
    for name, path in workbooks.items():
        wb = load_workbook(path)
        for ws in wb.worksheets:
            for cell, width in wrapped_cells(ws):
                needed = lines_needed(str(cell.value), width, cell.font) * LINE_EM * _size(cell.font)
                height = ws.row_dimensions[cell.row].height
                where = f"{name}: {ws.title}!{cell.coordinate} {str(cell.value)[:40]!r}"
                assert height is not None, f"{where}: no row height written"
                assert height >= needed, f"{where}: {height} pt shows less than the {needed:.1f} pt it needs"


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(
    words=st.lists(st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyÁẢẠỆỌỲTHÔNG,.()%-0123456789", min_size=1,
                           max_size=14), min_size=1, max_size=40),
    width=st.integers(min_value=6, max_value=60),
    size=st.sampled_from([10, 11, 12, 14]),
    bold=st.booleans(),
)  # fmt: skip
def test_a_row_fitted_by_the_writers_shows_any_text(words, width, size, bold):
    """Whatever the text, column width and font: the height ``fit_row_heights`` writes shows it all."""
    wb = Workbook()
    printing.use_document_font(wb)
    ws = wb.active
    assert ws is not None
    ws.column_dimensions["B"].width = width
    cell = xlsx.write_text(ws, 3, 2, " ".join(words))
    cell.alignment = xlsx.WRAP
    cell.font = Font(name=printing.FONT_NAME, size=size, bold=bold)
    printing.fit_row_heights(ws)
    needed = lines_needed(str(cell.value), column_width_pt(ws, 2), cell.font) * LINE_EM * size
    assert ws.row_dimensions[3].height >= needed


def wrapped_cells(ws: Worksheet) -> list[tuple[Cell, float]]:
    """Text cells that wrap, with the width they wrap in (a one-row merged range: all its columns)."""
    spans = {
        (m.min_row, m.min_col): range(m.min_col, m.max_col + 1)
        for m in ws.merged_cells.ranges
        if m.min_row == m.max_row
    }
    out = []
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell, Cell) and isinstance(cell.value, str) and cell.alignment.wrap_text:
                columns = spans.get((cell.row, cell.column), range(cell.column, cell.column + 1))
                out.append((cell, sum(column_width_pt(ws, c) for c in columns)))
    return out


def column_width_pt(ws: Worksheet, column: int) -> float:
    """Width in points: characters of the default font's digit (Times New Roman 12: 6 pt; Calibri 11: 5.25)."""
    dimension = ws.column_dimensions.get(get_column_letter(column))
    width = dimension.width if dimension is not None and dimension.width else 8.43
    default = ws.parent._fonts[0]
    digit = 0.5 * default.sz if default.name == printing.FONT_NAME else 5.25
    return float(width) * digit


def lines_needed(text: str, width_pt: float, font) -> int:
    """Greedy word wrap at an average character width: lines the text takes (a long word is broken)."""
    per_line = max(int((width_pt - 6) / ((BOLD_EM if font.b else AVERAGE_EM) * _size(font))), 1)
    lines = 0
    for paragraph in text.split("\n"):
        lines += 1
        used = 0  # characters on the current line
        for word in paragraph.split(" "):
            wanted = len(word) if used == 0 else used + 1 + len(word)
            if wanted <= per_line:
                used = wanted
                continue
            if used:  # the word goes to the next line
                lines += 1
            rest = len(word)
            while rest > per_line:  # and a word longer than a line is broken
                lines += 1
                rest -= per_line
            used = rest
    return lines


def _size(font) -> float:
    return float(font.sz or 11)
