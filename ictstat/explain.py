"""Why a published figure has its value: the rule applied, every cell of the reporters' files that fed it and,
for a derived figure, its formula and inputs.

This module owns ``ictstat explain``: :func:`explain` reads ``mart.indicator_lineage`` and
``mart.indicator_inputs`` (built by ``warehouse/sql/90_lineage.sql``) from the published warehouse, read-only;
:func:`render` turns the answer into a rich table; :func:`explain_command` is the command the CLI registers.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ictstat.messages import bilingual
from ictstat.report import vn_number

if TYPE_CHECKING:  # duckdb is imported when a figure is explained, not when the CLI starts
    import duckdb

LEVELS = {"province": "tỉnh", "district": "huyện", "carrier": "doanh nghiệp"}
RULES_VI = {"sum": "cộng các ô", "last month of the period": "lấy số liệu tháng cuối kỳ"}
# Each level's mart, the column naming its figures, and how the figure's place is labelled.
_MARTS = {
    "province": ("mart.province_indicators", "province_code"),
    "district": ("mart.district_indicators", "district_code"),
    "carrier": ("mart.carrier_indicators", "carrier_code"),
}
_PLACE = {
    "province": "(SELECT any_value('tỉnh / province ' || p.province_code || ' ' || p.province_name) "
    "FROM ref.provinces p WHERE p.province_code = f.province_code)",
    "district": "'huyện / district ' || f.district_code || ' ' || coalesce(f.district_type || ' ' || "
    "f.district_name, '')",
    "carrier": "(SELECT any_value('doanh nghiệp / carrier ' || r.reporter_code || ' ' || r.name_vi) "
    "FROM ref.reporters r WHERE r.reporter_code = f.carrier_code AND r.province_code = f.province_code)",
}
# The cells of one figure in reading order, each with the commune or district its row is about.
_CELLS = (
    "SELECT l.submission_id, l.original_name, l.reporter_code, l.reported_period, "
    "coalesce(c.commune_name, d.district_name, ''), l.sheet, l.cell, l.raw_value, l.reported_value, "
    "l.reported_unit, l.value_in_unit, l.part_code, l.cell_indicator_code, l.cell_rule "
    "FROM mart.indicator_lineage l JOIN ref.periods p USING (period) "
    "LEFT JOIN ref.communes c ON c.commune_code = l.commune_code "
    "     AND p.end_date BETWEEN c.valid_from AND coalesce(c.valid_to, DATE '9999-12-31') "
    "LEFT JOIN ref.districts d ON d.district_code = l.cell_district_code "
    "     AND p.end_date BETWEEN d.valid_from AND coalesce(d.valid_to, DATE '9999-12-31') "
    "WHERE {where} "
    "ORDER BY l.part_code NULLS FIRST, l.reporter_code, l.reported_period, l.submission_id, l.sheet, "
    "CAST(regexp_extract(l.cell, '[0-9]+') AS INTEGER), length(l.cell), l.cell"
)


@dataclass(frozen=True)
class Cell:
    """One cell (for a count of reporters: one counted submission, without a cell) that fed the figure."""

    submission_id: str
    original_name: str
    reporter_code: str
    reported_period: str
    place: str  # commune or district of the cell's row, else ''
    sheet: str | None
    cell: str | None
    raw_value: str | None
    reported_value: float | None
    reported_unit: str | None
    value: float | None  # in the unit of the cell's own indicator
    part_code: str | None  # the input of a derived rule this cell feeds
    indicator_code: str  # the cell's own indicator
    rule: str  # sum, last month of the period, count of reporters


@dataclass(frozen=True)
class Input:
    """An input of a derived figure: a part indicator or a context value (area_km2, days_in_period, ...)."""

    name: str
    kind: str  # indicator | context
    value: float | None
    unit: str | None


@dataclass(frozen=True)
class Explanation:
    indicator_code: str
    name_vi: str
    name_en: str
    period: str
    level: str  # province | district | carrier
    where: str  # the province, district or carrier, named
    value: float
    unit: str
    unit_vi: str
    qualifier: str | None
    aggregation: str  # the rule applied, as in mart.indicator_lineage.aggregation
    method: str | None  # sum | formula | count_reporters for derived indicators
    expression: str | None
    cells: tuple[Cell, ...]
    inputs: tuple[Input, ...]

    def total(self, part: str | None = None) -> float:
        """The cells' values added up (those feeding one part of a derived rule, if given)."""
        return sum(c.value or 0.0 for c in self.cells if part is None or c.part_code == part)


def explain(
    warehouse: Path,
    indicator: str,
    period: str,
    district: str | None = None,
    carrier: str | None = None,
    province: str | None = None,
) -> Explanation:
    """Trace one published figure: the province's by default, else one district's or one carrier's. The
    province needs naming only when the warehouse holds several that have the figure."""
    import duckdb

    if district and carrier:
        raise ValueError(
            "Chọn --district hoặc --carrier, không cả hai / give --district or --carrier, not both"
        )
    code, period = indicator.strip().upper(), period.strip().upper()
    level = "district" if district else "carrier" if carrier else "province"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        meta = con.execute(
            "SELECT name_vi, name_en, unit, unit_vi, d.method, d.expression, "
            "CASE WHEN i.aggregation = 'stock' THEN 'last month of the period' ELSE 'sum' END "
            "FROM ref.indicators i LEFT JOIN ref.derived_indicators d USING (indicator_code) "
            "WHERE indicator_code = ?",
            [code],
        ).fetchone()
        if meta is None:
            known = _column(con, "SELECT indicator_code FROM ref.indicators ORDER BY 1")
            raise ValueError(_unknown("chỉ tiêu", "indicator", code, _nearby(code, known)))
        table, key_column = _MARTS[level]
        key = (district or carrier or province or "").strip().upper()
        figures = con.execute(
            f"SELECT value, qualifier, {_PLACE[level]}, province_code FROM {table} f "
            f"WHERE indicator_code = ? AND period = ? AND (? = '' OR {key_column} = ?) "
            "AND (? = '' OR province_code = ?) ORDER BY province_code",
            [code, period, key, key, province or "", province or ""],
        ).fetchall()
        if not figures:
            raise ValueError(_no_figure(con, level, code, period, key))
        if len(figures) > 1:  # a carrier code or the province level, in a warehouse of several provinces
            listed = ", ".join(f[3] for f in figures)
            raise ValueError(
                f"Nhiều tỉnh có số liệu này ({listed}): chọn --province / "
                f"several provinces have this figure ({listed}): give --province"
            )
        value, qualifier, where, province_code = figures[0]
        # the figure's lineage and inputs: a district's or carrier's figure is named by district_code or
        # carrier_code, which are empty for the province's
        grain = "{t}level = ? AND {t}province_code = ? AND {t}indicator_code = ? AND {t}period = ?"
        grain += "" if level == "province" else f" AND {{t}}{key_column} = ?"
        args = [level, province_code, code, period, *([] if level == "province" else [key])]
        cells = con.execute(_CELLS.format(where=grain.format(t="l.")), args).fetchall()
        inputs = con.execute(
            "SELECT input_name, input_kind, input_value, input_unit FROM mart.indicator_inputs "
            f"WHERE {grain.format(t='')} ORDER BY input_order",
            args,
        ).fetchall()
    finally:
        con.close()
    name_vi, name_en, unit, unit_vi, method, expression, own_rule = meta
    rule = f"derived: {method} {expression}" if method else own_rule
    return Explanation(
        code, name_vi, name_en, period, level, where or key, value, unit, unit_vi, qualifier, rule, method,
        expression, tuple(Cell(*row) for row in cells), tuple(Input(*row) for row in inputs),
    )  # fmt: skip


def _no_figure(con: duckdb.DuckDBPyConnection, level: str, code: str, period: str, key: str) -> str:
    """What exists near what was asked: the indicator's periods, or the districts/carriers that have it."""
    table, key_column = _MARTS[level]
    periods = _column(con, f"SELECT DISTINCT period FROM {table} WHERE indicator_code = ? ORDER BY 1", code)
    if not periods:
        return f"Chỉ tiêu {code} không có số liệu cấp {LEVELS[level]} / {code} has no {level}-level figures"
    if period not in periods:
        return _unknown(f"kỳ của {code}", f"period of {code}", period, _nearby(period, periods))
    keys = _column(
        con, f"SELECT DISTINCT {key_column} FROM {table} WHERE indicator_code = ? AND period = ? ORDER BY 1",
        code, period,
    )  # fmt: skip
    return _unknown(f"{LEVELS[level]} có {code} kỳ {period}", f"{level} with {code} in {period}", key, keys)


def _column(con: duckdb.DuckDBPyConnection, sql: str, *params: str) -> list[str]:
    return [str(r[0]) for r in con.execute(sql, list(params)).fetchall()]


def _nearby(wanted: str, known: list[str]) -> list[str]:
    close = difflib.get_close_matches(wanted, known, n=8, cutoff=0.5)
    if close:
        return close
    same_start = [k for k in known if k[:4] == wanted[:4]]  # the same domain (TEL_, POS_) or the same year
    return same_start[:20] or known[:20]


def _unknown(what_vi: str, what_en: str, wanted: str, nearby: list[str]) -> str:
    listed = ", ".join(nearby) or "-"
    return f"Không có {what_vi} '{wanted}'. Gần đó: {listed} / No {what_en} '{wanted}'. Nearby: {listed}"


def render(explanation: Explanation, max_rows: int | None = None) -> RenderableType:
    """A header (indicator, period, level, rule, result), the contributing cells, and a footer that adds the
    cells up to the result or shows the formula with its inputs."""
    e = explanation
    header = Text()
    header.append(f"{e.indicator_code} — {e.name_vi}", style="bold")
    header.append(f" ({e.name_en})\nKỳ / period: {e.period} · cấp / level: {e.where}\n")
    vi = RULES_VI.get(e.aggregation)
    header.append(f"Quy tắc / rule: {e.aggregation}{f' ({vi})' if vi else ''}\nKết quả / result: ")
    header.append(f"{_qualified(e.value, e.qualifier)} {e.unit_vi}", style="bold")
    header.append(f" ({e.unit})" if e.unit != e.unit_vi else "")
    converted = sorted({c.reported_unit for c in e.cells if c.reported_unit and c.reported_unit != e.unit})
    if converted and e.method != "formula":
        header.append(f"\nÔ báo cáo theo / cells reported in {', '.join(converted)} → {e.unit}")

    counted, derived = e.method == "count_reporters", any(c.part_code for c in e.cells)
    table = Table(header_style="bold")
    table.add_column("#", justify="right")
    # the file name in full (folded, not cut): it is what the clerk who sent it knows
    table.add_column("Tệp (mã) /\nfile (id)", overflow="fold", min_width=24)
    table.add_column("Đơn vị /\nreporter")
    table.add_column("Kỳ /\nreported")
    if derived:  # the indicator of each cell (the rule's part, or the part's own parts)
        table.add_column("Chỉ tiêu /\nindicator", overflow="fold")
    if not counted:
        for title in ["Địa bàn /\nplace", "Sheet", "Ô /\ncell", "Gốc /\nraw"]:
            table.add_column(title, justify="right" if title.startswith("Gốc") else "left")
        unit = "" if e.method == "formula" else f" ({e.unit})"  # a formula's parts keep their own units
        table.add_column(f"Giá trị /\nvalue{unit}", justify="right")
    shown = e.cells if max_rows is None else e.cells[:max_rows]
    for n, c in enumerate(shown, 1):
        row = [str(n), f"{c.original_name} ({c.submission_id})", c.reporter_code, c.reported_period]
        row += [c.indicator_code] if derived else []
        if not counted:
            row += [c.place, c.sheet or "", c.cell or "", c.raw_value or "", vn_number(c.value, 6)]
        # Text, not str: a file name, sheet or cell text like "vnpt_T12 [bản sửa].xlsx" or "[link=…]" is
        # shown verbatim, never read as Rich markup
        table.add_row(*(Text(v) for v in row))
    if len(shown) < len(e.cells):
        rest = len(e.cells) - len(shown)
        table.caption = f"… và {rest} dòng nữa / and {rest} more rows"
    return Group(header, table, _footer(e))


CONCISE_MAX_CELLS = 12  # beyond this many cells, a concise explanation shows one row per file


def render_concise(explanation: Explanation) -> RenderableType:
    """The explanation in a screenful: every cell when there are few, else one row per file that fed the
    figure (its cells counted and added up); ``render`` shows every cell."""
    e = explanation
    if len(e.cells) <= CONCISE_MAX_CELLS or e.method == "count_reporters":
        return render(e)
    full = render(e, max_rows=0)
    assert isinstance(full, Group)
    header, _, footer = full.renderables
    derived = any(c.part_code for c in e.cells)
    groups: dict[tuple[str, str], list[Cell]] = {}
    for c in e.cells:
        groups.setdefault((c.part_code or "", c.submission_id), []).append(c)
    table = Table(header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("Tệp (mã) /\nfile (id)", overflow="fold", min_width=24)
    table.add_column("Đơn vị /\nreporter")
    table.add_column("Kỳ /\nreported")
    if derived:
        table.add_column("Phần /\npart", overflow="fold")
    table.add_column("Số ô /\ncells", justify="right")
    unit = "" if e.method == "formula" else f" ({e.unit})"
    table.add_column(f"Cộng /\nsubtotal{unit}", justify="right")
    for n, ((part, _), cells) in enumerate(groups.items(), 1):
        c = cells[0]
        row = [str(n), f"{c.original_name} ({c.submission_id})", c.reporter_code, c.reported_period]
        row += [part] if derived else []
        row += [str(len(cells)), vn_number(sum(x.value or 0.0 for x in cells), 6)]
        table.add_row(*row)
    table.caption = (
        f"{len(e.cells)} ô trong {len(groups)} tệp; xem từng ô: --all-cells / "
        f"{len(e.cells)} cells in {len(groups)} files; every cell: --all-cells"
    )
    return Group(header, table, footer)


def _qualified(value: float | None, qualifier: str | None) -> str:
    prefix = {"more_than": "hơn ", "about": "khoảng ", "less_than": "dưới "}.get(qualifier or "", "")
    return prefix + vn_number(value, 6)


def _footer(e: Explanation) -> Text:
    text = Text()
    result = vn_number(e.value, 6)
    if e.method == "count_reporters":
        reporters = len({c.reporter_code for c in e.cells})
        text.append(
            f"Số đơn vị báo cáo khác nhau / distinct reporters ({e.expression}): {reporters} "
            f"= kết quả / result {result} ({len(e.cells)} bản báo cáo / submissions)"
        )
        return text
    if e.method == "formula":
        text.append(f"Công thức / formula: {e.expression}\n", style="bold")
        given = ", ".join(f"{i.name} = {vn_number(i.value, 6)}" for i in e.inputs)
        text.append(f"với / with {given} → {result}")
        for i in e.inputs:
            if i.kind == "indicator":
                n = sum(1 for c in e.cells if c.part_code == i.name)
                text.append(f"\n{i.name}: tổng {n} ô / sum of {n} cells = {vn_number(e.total(i.name), 6)}")
        return text
    if e.method == "sum":
        parts = " + ".join(f"{i.name} {vn_number(i.value, 6)}" for i in e.inputs if i.value is not None)
        text.append(f"{parts} = {result}\n", style="bold")
    total = e.total()
    holds = abs(total - e.value) <= 1e-6 * max(1.0, abs(e.value))
    text.append(
        f"Tổng {len(e.cells)} ô / sum of {len(e.cells)} cells: {vn_number(total, 6)} "
        f"{'=' if holds else '≠'} kết quả / result {result}",
        style=None if holds else "bold red",
    )
    return text


# The option of every command that reads the published file (explain, appendix): one text, one behaviour.
FromCopy = Annotated[
    bool,
    typer.Option(
        "--from-copy",
        help="When another program holds the warehouse open for writing, read a copy of it taken now.",
    ),
]


def explain_command(
    indicator: Annotated[
        str, typer.Argument(help="Indicator code, e.g. TEL_SUBS_MOBILE (see ref.indicators).")
    ],
    period: Annotated[str, typer.Argument(help="Period: 2020, 2020-H1, 2020-Q3 or 2020-07.")],
    district: Annotated[
        str | None,
        typer.Option(
            "--district",
            metavar="CODE|NAME",
            help='A district\'s figure: GSO code (688) or name, with or without diacritics ("Chơn Thành", '
            '"Dong Xoai").',
        ),
    ] = None,
    carrier: Annotated[
        str | None, typer.Option("--carrier", metavar="CODE", help="A carrier's figure (e.g. VNPT).")
    ] = None,
    province: Annotated[
        str | None,
        typer.Option("--province", metavar="CODE", help="Only when the warehouse holds several provinces."),
    ] = None,
    from_copy: FromCopy = False,
    all_cells: Annotated[
        bool, typer.Option("--all-cells", help="Every cell that fed the figure (default: one row per file).")
    ] = False,
) -> None:
    """Show where a published figure comes from: the rule applied and every cell of the files that fed it."""
    from ictstat import published
    from ictstat.settings import load_settings

    console = Console(width=None if sys.stdout.isatty() else 160)
    settings = load_settings()
    path = settings.warehouse_path
    if not path.exists():
        console.print(Text(no_warehouse(path), style="red"))
        raise typer.Exit(1)
    try:
        code = district_code(district, period, province or settings.province_code) if district else None
        with published.readable(path, copy_if_held=from_copy) as usable:
            if usable != path:
                console.print(Text(published.copy_notice(path), style="yellow"))
            explanation = explain(usable, indicator, period, code, carrier, province)
    except (ValueError, published.WarehouseHeld, published.SnapshotFailed) as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(1) from None
    console.print(render(explanation) if all_cells else render_concise(explanation), highlight=False)


def no_warehouse(path: Path) -> str:
    return bilingual(f"Chưa có kho dữ liệu tại {path}; hãy chạy `ictstat run` trước.",
                     f"No warehouse at {path}; run `ictstat run` first.")  # fmt: skip


def district_code(text: str, period: str, province_code: str) -> str:
    """A district named as a clerk would ("Chơn Thành", "Dong Xoai", "TX Bình Long") or by its GSO code, as
    the code of the district that existed at the end of the period; what cannot be resolved is passed on, and
    the explanation then lists the districts that have the figure."""
    from ictstat import reference
    from ictstat.periods import Period

    try:
        day = Period.parse(period).end_date
    except ValueError:
        return text
    found = reference.resolve_district(text, province_code, day)
    return found.code if found is not None else text
