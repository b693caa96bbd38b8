"""Fill a workbook written once by ``write_form`` with other values, by rewriting cells in its sheet XML.

Writing a styled form with openpyxl costs 20-40 ms; a national inbox holds tens of thousands of them, all in
a few layouts. So each (form, province) layout is written once with ``write_form`` as a template, its value
cells ("slots") are cut out of the sheet XML, and every file is the template's XML with the slots rendered
and zipped again: a few milliseconds a file, and byte-for-byte the structure ``write_form`` produces
(openpyxl writes inline strings, so a cell's text lives in the sheet XML itself, not in sharedStrings).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

from ictstat.reference import District
from ictstat.templates.spec import Template
from ictstat.templates.writer import (
    DISTRICT_TABLE_HEADER_ROW,
    INDICATOR_LIST_HEADER_ROW,
    FormData,
    write_form,
)

# A cell as openpyxl writes it: <c r="D7" s="11" t="n"><v>387</v></c> or, blank, <c r="A6" s="10" t="n" />
_CELL = re.compile(r'<c r="(?P<ref>[A-Z]+\d+)"(?P<attrs>[^>]*?)\s*(?:/>|>(?P<body>.*?)</c>)', re.S)
_STYLE = re.compile(r'\ss="\d+"')

Value = int | float | str | None
COVER_FIRST_ROW = 8  # the writer's first label/value row on the cover sheet
TEMPLATE_STAMP = datetime(2020, 1, 1, 8, 0)  # fixed, so a template (and every file from it) is reproducible


@dataclass(frozen=True)
class _Sheet:
    """A sheet's XML cut at its slots: chunks[0], slot 0, chunks[1], slot 1, ..., chunks[-1]."""

    chunks: tuple[str, ...]
    slots: tuple[tuple[str, str], ...]  # (cell reference, style attribute) in document order

    def render(self, values: Mapping[str, Value]) -> str:
        parts: list[str] = []
        for chunk, (ref, style) in zip(self.chunks, self.slots, strict=False):
            parts.append(chunk)
            parts.append(_cell(ref, style, values.get(ref)))
        parts.append(self.chunks[-1])
        return "".join(parts)


def _cell(ref: str, style: str, value: Value) -> str:
    if value is None:
        return f'<c r="{ref}"{style} t="n" />'  # a styled blank, as openpyxl writes one
    if isinstance(value, str):
        return f'<c r="{ref}"{style} t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    if isinstance(value, bool):
        value = int(value)
    return f'<c r="{ref}"{style} t="n"><v>{value!r}</v></c>'


@dataclass(frozen=True)
class SlottedWorkbook:
    """A template workbook: its zip members, with the sheets holding slots kept as cut XML."""

    members: tuple[tuple[str, bytes], ...]  # every member in zip order; sheets with slots have b""
    sheets: Mapping[str, _Sheet]  # member name -> cut XML
    stamp: tuple[int, int, int, int, int, int]

    def render(self, values: Mapping[str, Mapping[str, Value]]) -> bytes:
        """The .xlsx bytes with ``values`` (member name -> cell reference -> value) in the slots."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in self.members:
                sheet = self.sheets.get(name)
                payload = sheet.render(values.get(name, {})).encode() if sheet else data
                entry = zipfile.ZipInfo(name, date_time=self.stamp)
                entry.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(entry, payload)
        return out.getvalue()

    def write(self, path: Path, values: Mapping[str, Mapping[str, Value]], saved_at: datetime) -> Path:
        """Write the rendered file and give it the time its clerk saved it (ictstat reads lateness from it)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.render(values))
        os.utime(path, (saved_at.timestamp(), saved_at.timestamp()))
        return path


def sheet_member(index: int) -> str:
    """The zip member of the index-th sheet (1-based) of a workbook openpyxl wrote."""
    return f"xl/worksheets/sheet{index}.xml"


def cut(xlsx: Path, slots: Mapping[str, Iterable[str]]) -> SlottedWorkbook:
    """Read a workbook ``write_form`` wrote and cut out the cells named in ``slots`` (member -> references).

    Every slot must be a cell the template wrote (a value or a styled blank): a layout change in the writer
    then fails here, loudly, rather than producing files with values in the wrong cells.
    """
    with zipfile.ZipFile(xlsx) as zf:
        infos = zf.infolist()
        raw = {i.filename: zf.read(i.filename) for i in infos}
    sheets: dict[str, _Sheet] = {}
    for member, refs in slots.items():
        wanted = set(refs)
        xml = raw[member].decode()
        chunks: list[str] = []
        found: list[tuple[str, str]] = []
        pos = 0
        for m in _CELL.finditer(xml):
            if m.group("ref") not in wanted:
                continue
            chunks.append(xml[pos : m.start()])
            style = _STYLE.search(m.group("attrs"))
            found.append((m.group("ref"), style.group(0) if style else ""))
            pos = m.end()
        chunks.append(xml[pos:])
        missing = wanted - {ref for ref, _ in found}
        if missing:
            raise ValueError(
                f"{xlsx.name}:{member} has no cell {sorted(missing)[:5]}: did the layout change?"
            )
        sheets[member] = _Sheet(tuple(chunks), tuple(found))
    members = tuple((i.filename, b"" if i.filename in sheets else raw[i.filename]) for i in infos)
    return SlottedWorkbook(members, sheets, infos[0].date_time)


# --- where write_form puts a form's values ------------------------------------------------------------


def form_slots(
    template: Template, districts: Sequence[District], data: FormData
) -> dict[str, dict[str, Value]]:
    """The cells ``write_form`` fills for ``data``, by sheet member and reference, with their values.

    Mirrors the writer's layout (cover labels in column A from row 8, district tables from two rows below
    their header, indicator lists in column D below theirs) through the writer's own constants.
    """
    out: dict[str, dict[str, Value]] = {}
    cover: dict[str, Value] = {}
    for i, f in enumerate(template.cover_fields):
        if f.key in data.cover:
            value = data.cover[f.key]
            cover[f"B{COVER_FIRST_ROW + i}"] = (
                value.strftime("%d/%m/%Y") if isinstance(value, date) else value
            )
    out[sheet_member(1)] = cover
    for j, spec in enumerate(template.sheets, start=2):
        cells: dict[str, Value] = {}
        if spec.layout == "district_table":
            first = DISTRICT_TABLE_HEADER_ROW + 2
            rows = data.district_values.get(spec.name, {})
            for k, m in enumerate(spec.measures):
                letter = get_column_letter(4 + k)
                column = [rows.get(d.code, {}).get(m.key) for d in districts]
                for i, value in enumerate(column):
                    cells[f"{letter}{first + i}"] = value
                numbers = [v for v in column if isinstance(v, (int, float))]
                cells[f"{letter}{first + len(districts)}"] = sum(numbers) if numbers else None
        elif spec.layout == "indicator_list":
            items = data.item_values.get(spec.name, {})
            for i, m in enumerate(spec.measures):
                cells[f"D{INDICATOR_LIST_HEADER_ROW + 1 + i}"] = items.get(m.key)
        else:  # commune tables differ per district: those forms are written by write_form itself
            raise ValueError(f"{template.template_id}: no slots for a {spec.layout}")
        out[sheet_member(j)] = cells
    return out


def compile_form(
    template: Template, districts: Sequence[District], data: FormData, folder: Path
) -> SlottedWorkbook:
    """Write ``template`` once with ``write_form`` (``data`` says which cells are slots) and cut its slots."""
    path = write_form(
        template, folder / f"{template.file_stem}.xlsx", districts, data, timestamp=TEMPLATE_STAMP
    )
    slotted = cut(
        path, {member: cells.keys() for member, cells in form_slots(template, districts, data).items()}
    )
    path.unlink()
    return slotted
