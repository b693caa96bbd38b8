"""Hostile workbooks made from real templates: each mutation takes a demo file and breaks it one way.

Every function is ``(rng, template) -> (bytes, file name)`` and deterministic for a seeded ``rng``. Cell-level
mutations go through openpyxl (what a clerk's Excel could save); package-level ones edit the zip and its XML
directly (what a broken writer, a bad transfer or an attacker produces). ``Template`` keeps a demo workbook
in the forms the project reads: .xlsx as openpyxl writes it (inline strings), the same with a shared-string
table (as Excel writes it), a legacy .xls and an .ods.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from faults import xmlparts as parts
from faults.texts import EXTREME_NUMBERS, NUMBER_TEXT, PERIOD_TEXT, WEIRD_TEXT
from ictstat.text import fold
from tasks.parse import TOTAL_WORDS


@dataclass
class Template:
    name: str
    xlsx: bytes
    shared: bytes  # the same workbook with a sharedStrings.xml table
    xls: bytes
    ods: bytes
    areas: list[tuple[str, int, int]]  # per sheet: title, rows, columns used
    grids: list[tuple[str, list[list[Any]]]]  # per sheet: title and cell values, row by row

    def __repr__(self) -> str:  # Hypothesis prints the strategies it draws from: not the bytes
        return f"Template({self.name!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # what Hypothesis's printer calls
        printer.text(repr(self))


def load_template(path: Path) -> Template:
    from ictstat.demo.messy import save_as_ods, save_as_xls

    wb = openpyxl.load_workbook(path)
    areas = [(ws.title, ws.max_row, ws.max_column) for ws in wb.worksheets]
    grids = [(ws.title, [list(row) for row in ws.iter_rows(values_only=True)]) for ws in wb.worksheets]
    buf: dict[str, bytes] = {}
    for ext, save in (("xls", save_as_xls), ("ods", save_as_ods)):
        out = path.parent / f".fuzz-template.{ext}"
        save(openpyxl.load_workbook(path), out)
        buf[ext] = out.read_bytes()
        out.unlink()
    data = path.read_bytes()
    return Template(path.stem, data, parts.to_shared_strings(data), buf["xls"], buf["ods"], areas, grids)


Mutation = Callable[[random.Random, Template], tuple[bytes, str]]


def _cells(rng: random.Random, t: Template, k: int) -> list[tuple[str, int, int]]:
    """``k`` random cells inside (or just outside) the used area of random sheets."""
    out = []
    for _ in range(k):
        title, rows, cols = rng.choice(t.areas)
        out.append((title, rng.randint(1, rows + 3), rng.randint(1, cols + 2)))
    return out


def with_cells(t: Template, edits: Sequence[tuple[str, int, int, Any]], as_text: bool = True) -> bytes:
    """The template with cells set through openpyxl; text stays text (as a clerk typing '=... gets) when asked."""
    wb = openpyxl.load_workbook(io.BytesIO(t.xlsx))
    for title, r, c, value in edits:
        cell = wb[title].cell(r, c)
        if type(cell).__name__ == "MergedCell":
            continue
        cell.value = value
        if as_text and isinstance(value, str):
            cell.data_type = "s"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def cell_values(rng: random.Random, t: Template) -> tuple[bytes, str]:
    pool: list[object] = [
        0,
        -1,
        10**15,
        -(10**18),
        2**63,
        1e308,
        -1e-308,
        float("nan"),
        float("inf"),
        -0.0,
        True,
        False,
        *NUMBER_TEXT,
        "=1+1",
        "=A1/0",
        "#DIV/0!",
        "",
        " ",
    ]
    edits = [(s, r, c, rng.choice(pool)) for s, r, c in _cells(rng, t, rng.randint(1, 30))]
    return with_cells(t, edits, as_text=rng.random() < 0.7), f"{t.name}_values.xlsx"


def huge_strings(rng: random.Random, t: Template) -> tuple[bytes, str]:
    length = rng.choice([32_766, 32_767, 32_768, 100_000, 1_000_000])
    text = "".join(rng.choice("ăâđêôơưẠ0123456789 ,.") for _ in range(64))
    edits = [(s, r, c, (text * (length // 64 + 1))[:length]) for s, r, c in _cells(rng, t, rng.randint(1, 3))]
    return with_cells(t, edits), f"{t.name}_huge.xlsx"


def odd_unicode(rng: random.Random, t: Template) -> tuple[bytes, str]:
    if rng.random() < 0.5:  # through openpyxl: every label and number retyped with odd characters
        edits = [
            (s, r, c, rng.choice(WEIRD_TEXT) + rng.choice(["", "1.234", " Bù Đăng"]))
            for s, r, c in _cells(rng, t, rng.randint(3, 40))
        ]
        return with_cells(t, edits), f"{t.name}_unicode.xlsx"
    # at the XML level: characters XML 1.0 forbids, as character references (lone surrogates, U+FFFE, NUL)
    ref = rng.choice(["&#xD800;", "&#xDFFF;", "&#xFFFE;", "&#x0;", "&#x1F;", "&#x110000;", "&#65535;"])
    return parts.edit(
        t.xlsx,
        r"xl/worksheets/sheet\d+\.xml",
        lambda d: d.replace(b"<t>", b"<t>" + ref.encode(), rng.randint(1, 20)),
    ), f"{t.name}_charref.xlsx"


def merged_ranges(rng: random.Random, t: Template) -> tuple[bytes, str]:
    kinds = [
        "A1:G9",
        "C3:A1",
        "B2:B2",
        "D7:F18",
        "A1:XFE1048577",
        "foo",
        "A0:B1",
        "A1:XFD1048576",
        f"A2:{get_column_letter(rng.randint(8, 16384))}{rng.randint(10, 20_000)}",
    ]
    ranges = [rng.choice(kinds) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.2:
        ranges += [
            f"{get_column_letter(c)}{r}:{get_column_letter(c)}{r + 1}"
            for r in range(1, 60, 2)
            for c in range(1, 30)
        ]
    extra = "".join(f'<mergeCell ref="{r}"/>' for r in ranges).encode()
    # half of them also carry an error, so that the run writes a feedback copy of them (openpyxl opens it)
    title, rows, _ = t.areas[min(1, len(t.areas) - 1)]
    base = t.xlsx if rng.random() < 0.5 else with_cells(t, [(title, min(rows, 8), 4, "12a")])
    return parts.edit(
        base, rng.choice(parts.sheet_members(base)), lambda d: parts.add_merges(d, extra)
    ), f"{t.name}_merged.xlsx"


def many_sheets(rng: random.Random, t: Template) -> tuple[bytes, str]:
    wb = openpyxl.load_workbook(io.BytesIO(t.xlsx))
    source = wb.worksheets[-1]
    for i in range(rng.choice([20, 99, 101, 150])):
        copy = wb.copy_worksheet(source)
        copy.title = rng.choice([f"S{i}", f"{source.title[:20]} ({i})", f"thuê bao - bts {i}"])
    if rng.random() < 0.5:  # a second sheet whose name folds to a real one's
        wb.create_sheet(re.sub("ê", "e\u0302", wb.worksheets[1].title)[:31])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), f"{t.name}_sheets.xlsx"


def deep_xml(rng: random.Random, t: Template) -> tuple[bytes, str]:
    depth = rng.choice([1_000, 50_000, 200_000])
    member = rng.choice([*parts.sheet_members(t.xlsx), "xl/workbook.xml", "xl/styles.xml"])
    return parts.edit(t.xlsx, re.escape(member), lambda d: parts.nest(d, depth, rng)), f"{t.name}_deep.xlsx"


def broken_shared_strings(rng: random.Random, t: Template) -> tuple[bytes, str]:
    how = rng.choice(list(parts.SST_BREAKS))
    return parts.SST_BREAKS[how](t.shared, rng), f"{t.name}_sst_{how}.xlsx"


def truncated_zip(rng: random.Random, t: Template) -> tuple[bytes, str]:
    data = rng.choice([t.xlsx, t.shared, t.ods])
    return data[: rng.randrange(0, len(data))], f"{t.name}_truncated.xlsx"


def lying_zip_sizes(rng: random.Random, t: Template) -> tuple[bytes, str]:
    members = parts.members(t.xlsx)
    victim = rng.choice([n for n in members if n.endswith(".xml")])
    declared = rng.choice([0, 1, 4_097, 9_999, 200 << 20, 2**32 - 1])
    return parts.pack_lying(members, victim, declared, rng), f"{t.name}_sizes.xlsx"


def entity_expansion(rng: random.Random, t: Template) -> tuple[bytes, str]:
    member = rng.choice(
        [*parts.sheet_members(t.shared), "xl/sharedStrings.xml", "xl/workbook.xml", "[Content_Types].xml"]
    )
    attack = rng.choice(list(parts.ENTITY_ATTACKS))
    return parts.edit(t.shared, re.escape(member), parts.ENTITY_ATTACKS[attack]), f"{t.name}_{attack}.xlsx"


def lying_dimension(rng: random.Random, t: Template) -> tuple[bytes, str]:
    """Cells far from A1 in a sheet whose ``<dimension>`` is missing or says A1 (a hand-written file can):
    beside the sheet's own cells, or alone in it (then nothing near A1 anchors calamine's range)."""
    row = rng.choice([rng.randint(100, 19_999), 20_001, 65_536, 1_048_576])
    col = get_column_letter(rng.choice([8, 200, 16_384]))
    alone = rng.random() < 0.5
    rows = range(max(1, row - rng.choice([0, 5, 500])), row + 1) if alone else range(row, row + 1)
    cells = b"".join(f'<row r="{r}"><c r="{col}{r}"><v>1</v></c></row>'.encode() for r in rows)
    dim = rng.choice([b"", b'<dimension ref="A1"/>'])
    return parts.edit(
        t.xlsx, rng.choice(parts.sheet_members(t.xlsx)), lambda d: parts.far_cell(d, cells, dim, alone)
    ), f"{t.name}_far{'_alone' if alone else ''}.xlsx"


def byte_flips(rng: random.Random, t: Template) -> tuple[bytes, str]:
    ext, data = rng.choice([("xlsx", t.xlsx), ("xlsx", t.shared), ("xls", t.xls), ("ods", t.ods)])
    flipped = bytearray(data)
    for _ in range(rng.randint(1, 20)):
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
    return bytes(flipped), f"{t.name}_flipped.{ext}"


def ods_repeat(rng: random.Random, t: Template) -> tuple[bytes, str]:
    rows, cols = rng.choice(
        [(1_000, 1_000), (30_000, 2), (2_000, 16_384), (6_000, 16_384), (1_048_576, 16_384)]
    )
    bomb = (
        f'<table:table-row table:number-rows-repeated="{rows}"><table:table-cell table:number-columns-repeated="'
        f'{cols}" office:value-type="float" office:value="1"/></table:table-row>'
    ).encode()
    return parts.edit(
        t.ods, "content.xml", lambda d: d.replace(b"</table:table>", bomb + b"</table:table>", 1)
    ), f"{t.name}_repeat.ods"


def xls_far_cell(rng: random.Random, t: Template) -> tuple[bytes, str]:
    """A legacy .xls whose data sheet holds one cell far down (BIFF8 allows 65,536 rows x 256 columns)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    cover = book.add_sheet("Thông tin chung")
    cover.write(0, 0, "Mã biểu mẫu")
    cover.write(0, 1, rng.choice(["VT-01", "BC-01", "VHTT-01"]))
    book.add_sheet("Thuê bao - BTS").write(rng.choice([20_001, 40_000, 65_535]), rng.choice([3, 255]), 1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), f"{t.name}_far.xls"


def _total_columns(t: Template) -> list[tuple[str, list[int], int, list[int]]]:
    """Per sheet with a total row: its title, the data rows above the total, the total row and the columns
    holding numbers (1-based, as openpyxl counts)."""
    out = []
    for title, grid in t.grids:
        total = next((r for r, row in enumerate(grid) if any(fold(v) in TOTAL_WORDS for v in row[:3])), None)
        if total is None:
            continue
        rows = [r for r in range(total) if any(isinstance(v, (int, float)) for v in grid[r][3:])]
        cols = sorted(
            {c for r in rows for c, v in enumerate(grid[r]) if c >= 3 and isinstance(v, (int, float))}
        )
        if rows and cols:
            out.append((title, [r + 1 for r in rows], total + 1, [c + 1 for c in cols]))
    return out


def extreme_column(rng: random.Random, t: Template) -> tuple[bytes, str]:
    """Extreme numbers in several cells of one column of a table with a total row (two of 1.7e308 overflow
    the column's sum), with the total kept, blanked or itself extreme: the sums the parser checks."""
    tables = _total_columns(t)
    if not tables:
        return cell_values(rng, t)
    title, rows, total_row, cols = rng.choice(tables)
    col = rng.choice(cols)
    picked = rng.sample(rows, k=min(len(rows), rng.randint(2, 6)))
    heavy = rng.random() < 0.5  # the case: the same largest value in every picked cell
    edits: list[tuple[str, int, int, Any]] = [
        (title, r, col, 1.7e308 if heavy else rng.choice(EXTREME_NUMBERS)) for r in picked
    ]
    total = rng.choice(["keep", None, 1.7e308, -1.7e308, "inf", "1e400", 3.4e38])
    if total != "keep":
        edits.append((title, total_row, col, total))
    return with_cells(t, edits, as_text=rng.random() < 0.3), f"{t.name}_extreme.xlsx"


def impossible_period(rng: random.Random, t: Template) -> tuple[bytes, str]:
    """The cover's period typed as nobody can report it: a year of fewer than four digits, year 0, months out
    of range, a date cell of year 1 or 9999, a number, an endless text."""
    from datetime import date, datetime

    title, grid = t.grids[0]
    where = next(
        (
            (r + 1, c + 2)
            for r, row in enumerate(grid)
            for c, v in enumerate(row[:-1])
            if fold(v).startswith("ky bao cao")
        ),
        (13, 2),
    )
    value = rng.choice([
        *PERIOD_TEXT, date(1, 1, 1), date(202, 12, 1), datetime(9999, 12, 31), date(2999, 12, 1), 0, -1, 2020.5,
        1e308, float("nan"), float("inf"), 2**63, 202, 20200,
    ])  # fmt: skip
    return with_cells(t, [(title, *where, value)], as_text=rng.random() < 0.5), f"{t.name}_period.xlsx"


MUTATIONS: dict[str, Mutation] = {
    "cell_values": cell_values,
    "huge_strings": huge_strings,
    "odd_unicode": odd_unicode,
    "merged_ranges": merged_ranges,
    "many_sheets": many_sheets,
    "deep_xml": deep_xml,
    "broken_shared_strings": broken_shared_strings,
    "truncated_zip": truncated_zip,
    "lying_zip_sizes": lying_zip_sizes,
    "entity_expansion": entity_expansion,
    "lying_dimension": lying_dimension,
    "byte_flips": byte_flips,
    "ods_repeat": ods_repeat,
    "xls_far_cell": xls_far_cell,
    "extreme_column": extreme_column,
    "impossible_period": impossible_period,
}
