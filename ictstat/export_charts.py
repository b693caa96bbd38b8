"""The "Biểu đồ" sheet of the appendix workbook: native Excel charts beside the small tables they draw.

Owned here: which figures are better seen than read (subscribers over the years, the carriers' shares of
mobile subscribers, district breakdowns of appendix lines) and how each chart is laid out. Each chart reads
its data from cells of the same sheet, so the numbers behind a chart are one glance away and can be checked.
The sheet prints one block per A4 page (portrait): the table, the chart below it across the page's width, and a
page break before the next block.
"""

from __future__ import annotations

import duckdb
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.chart._chart import ChartBase
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.text import RichText
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Font, Paragraph, ParagraphProperties
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from ictstat import printing, xlsx
from ictstat.printing import Page

CHARTS_SHEET = "Biểu đồ"
BLOCK_ROWS = (
    40  # rows from one block to the next: a title, up to 13 table rows, a 12 cm chart (about 24 rows)
)
COLUMN_WIDTHS = (34, 18, 18, 18)  # columns A-D: 528 pt in Times New Roman 12, as wide as a chart
CHART_WIDTH_CM, CHART_HEIGHT_CM = 18, 11  # a chart across an A4 page inside its margins

SUBSCRIBER_SERIES = {
    "TEL_SUBS_FIXED": "Điện thoại cố định",
    "TEL_SUBS_MOBILE": "Điện thoại di động",
    "TEL_SUBS_INTERNET": "Internet",
}
MARKET_SHARE_INDICATOR = "TEL_SUBS_MOBILE"
# Appendix lines whose district breakdown is worth a chart: where commune radio and postal service stand.
DISTRICT_CHARTS = ("MEDIA_COMMUNE_STATIONS", "POS_SERVICE_POINTS")

_SUBSCRIBERS_SQL = f"""
SELECT period, indicator_code, value FROM mart.province_indicators
WHERE period_kind = 'year' AND indicator_code IN ({", ".join("?" for _ in SUBSCRIBER_SERIES)})
ORDER BY period
"""
# A carrier's name from the reporter registry, its code when the registry does not know it.
_MARKET_SHARE_SQL = """
SELECT coalesce((SELECT r.name_vi FROM ref.reporters r WHERE r.reporter_code = c.carrier_code
                 ORDER BY r.valid_from DESC LIMIT 1), c.carrier_code) AS carrier, c.value
FROM mart.carrier_indicators c
WHERE c.indicator_code = ? AND c.period = ? AND c.value > 0
ORDER BY c.value DESC, c.carrier_code
"""
_DISTRICTS_SQL = """
SELECT huyen, nam_truoc, gia_tri, chi_tieu, don_vi_tinh FROM mart.appendix_districts
WHERE nam = ? AND indicator_code = ? ORDER BY ma_huyen
"""


def write_charts_sheet(ws: Worksheet, con: duckdb.DuckDBPyConnection, year: int) -> None:
    """Each chart in its own block of rows: a titled table in columns A-D, the chart to its right."""
    for width, column in zip(COLUMN_WIDTHS, "ABCD", strict=True):
        ws.column_dimensions[column].width = width
    subscribers = con.execute(_SUBSCRIBERS_SQL, list(SUBSCRIBER_SERIES)).fetchall()
    subscribers_chart(ws, 1, subscribers)
    shares = con.execute(_MARKET_SHARE_SQL, [MARKET_SHARE_INDICATOR, str(year)]).fetchall()
    market_share_chart(ws, 1 + BLOCK_ROWS, shares, year)
    for i, indicator in enumerate(DISTRICT_CHARTS, start=2):
        rows = con.execute(_DISTRICTS_SQL, [year, indicator]).fetchall()
        district_chart(ws, 1 + i * BLOCK_ROWS, rows, year)
    print_one_block_a_page(ws)


def print_one_block_a_page(ws: Worksheet) -> None:
    """Portrait A4, a page break before every block after the first, the print area over tables and charts."""
    printing.name_fonts(ws)
    printing.fit_row_heights(ws)
    last_block = (ws.max_row - 1) // BLOCK_ROWS
    for block in range(1, last_block + 1):
        ws.row_breaks.append(Break(id=block * BLOCK_ROWS))  # the break falls below this row
    printing.setup_page(ws, Page(landscape=False, pages_tall=0))
    ws.print_area = f"A1:{get_column_letter(len(COLUMN_WIDTHS))}{(last_block + 1) * BLOCK_ROWS}"


def subscribers_chart(ws: Worksheet, top: int, rows: list[tuple]) -> None:
    """Fixed, mobile and internet subscribers for every year in the warehouse: one series per kind."""
    title = "Thuê bao điện thoại và Internet theo năm (thuê bao)"
    by_year: dict[str, dict[str, float]] = {}
    for period, indicator, value in rows:
        by_year.setdefault(period, {})[indicator] = value
    if not _block_title(ws, top, title, bool(by_year)):
        return
    xlsx.write_header_cells(ws, top + 1, ["Năm", *SUBSCRIBER_SERIES.values()])
    for row, (period, values) in enumerate(by_year.items(), start=top + 2):
        xlsx.write_record(ws, row, [period, *(values.get(code) for code in SUBSCRIBER_SERIES)])
    last = top + 1 + len(by_year)
    chart = _bar_chart(title, "col", "Thuê bao")
    chart.add_data(Reference(ws, min_col=2, max_col=4, min_row=top + 1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 2, max_row=last))
    _name_fonts(chart)
    ws.add_chart(chart, _below(last))


def market_share_chart(ws: Worksheet, top: int, rows: list[tuple], year: int) -> None:
    """Each carrier's share of mobile subscribers at the end of the year."""
    title = f"Thị phần thuê bao điện thoại di động năm {year}"
    if not _block_title(ws, top, title, bool(rows)):
        return
    total = sum(value for _, value in rows)
    xlsx.write_header_cells(ws, top + 1, ["Doanh nghiệp", "Thuê bao di động", "Thị phần (%)"])
    for row, (carrier, value) in enumerate(rows, start=top + 2):
        share = round(100 * value / total, 2)
        xlsx.write_record(ws, row, [carrier, value, share], formats=[None, None, xlsx.TWO_DECIMALS])
    last = top + 1 + len(rows)
    chart = PieChart()
    chart.title = title
    chart.add_data(Reference(ws, min_col=2, min_row=top + 1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 2, max_row=last))
    chart.dataLabels = DataLabelList()
    chart.dataLabels.showPercent = True
    # only the share: a label repeating the carrier and its count overprints its neighbours
    chart.dataLabels.showVal = chart.dataLabels.showCatName = chart.dataLabels.showSerName = False
    chart.dataLabels.showLegendKey = False
    chart.width, chart.height = CHART_WIDTH_CM, CHART_HEIGHT_CM
    _name_fonts(chart)
    ws.add_chart(chart, _below(last))


def district_chart(ws: Worksheet, top: int, rows: list[tuple], year: int) -> None:
    """An appendix line by district, the previous year beside the report year."""
    if not rows:
        return  # a line without a district breakdown that year: no block rather than an empty chart
    label, unit = rows[0][3], rows[0][4]
    title = f"{label.lstrip('-+ ')} theo huyện, thị xã, thành phố ({unit.lower()})"
    _block_title(ws, top, title, True)
    xlsx.write_header_cells(ws, top + 1, ["Huyện, thị xã, thành phố", f"Năm {year - 1}", f"Năm {year}"])
    for row, (district, previous, value, _, _) in enumerate(rows, start=top + 2):
        xlsx.write_record(ws, row, [district, previous, value])
    last = top + 1 + len(rows)
    chart = _bar_chart(title, "bar", unit)
    chart.add_data(Reference(ws, min_col=2, max_col=3, min_row=top + 1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 2, max_row=last))
    chart.height = CHART_HEIGHT_CM + 2  # eleven districts need the room
    _name_fonts(chart)
    ws.add_chart(chart, _below(last))


def _name_fonts(chart: ChartBase) -> None:
    """Times New Roman for the chart's title, axes, legend and labels, as for the cells around it."""
    _set_title_font(chart.title, _text_properties(14, bold=True))
    body = RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=_text_properties(10)), endParaRPr=None)])
    for axis in (getattr(chart, "x_axis", None), getattr(chart, "y_axis", None)):
        if axis is not None:
            axis.txPr = body
            _set_title_font(axis.title, _text_properties(10, bold=True))
    if chart.legend is not None:
        chart.legend.txPr = body
    labels = getattr(chart, "dataLabels", None)
    if labels is not None:
        labels.txPr = body


def _set_title_font(title: Title | None, font: CharacterProperties) -> None:
    if title is None or title.tx is None or title.tx.rich is None:
        return
    for paragraph in title.tx.rich.p:
        paragraph.pPr = ParagraphProperties(defRPr=font)
        for run in paragraph.r or []:
            run.rPr = font


def _text_properties(size: int, bold: bool = False) -> CharacterProperties:
    font = Font(typeface=printing.FONT_NAME)
    return CharacterProperties(latin=font, cs=font, sz=size * 100, b=bold)


def _below(last_row: int) -> str:
    """Where a chart goes: column A, one row below its table."""
    return f"A{last_row + 2}"


def _block_title(ws: Worksheet, top: int, title: str, has_data: bool) -> bool:
    xlsx.write_text(ws, top, 1, title).font = xlsx.BOLD
    if not has_data:
        xlsx.write_text(ws, top + 1, 1, "Không có số liệu / No data").font = xlsx.NOTE
    return has_data


def _bar_chart(title: str, direction: str, axis_title: str) -> BarChart:
    chart = BarChart()
    chart.type = direction  # "col": vertical bars; "bar": horizontal, for long category names
    chart.title = title
    chart.y_axis.title = axis_title
    chart.y_axis.number_format = xlsx.INTEGER
    # openpyxl 3.1 marks axes as deleted unless told otherwise, and recent Excel then hides them.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.width, chart.height = CHART_WIDTH_CM, CHART_HEIGHT_CM
    return chart
