"""Turn a read workbook into typed values with their cell addresses, and issues for what cannot be used.

Parsing is tolerant of where things are: the cover is found by its labels, each sheet by its name or by its
header row, columns by their (folded) labels in any order, data rows until a signature block. It is strict
about what things are: a number that is not a number, an unknown district or reporter, a period that is not
a period, a total that disagrees with its rows are issues with the cell they come from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from ictstat import reference
from ictstat.messages import render
from ictstat.periods import MAX_YEAR, Period, parse_reporting_period, year_in_range
from ictstat.templates import Template, all_templates, get_template
from ictstat.templates.spec import Measure, SheetSpec
from ictstat.text import clean, fold
from tasks.numbers import ParsedNumber, parse_number
from tasks.read import RawSheet, RawWorkbook, column_letters

Severity = Literal["error", "warning"]
HEADER_SEARCH_ROWS = 40
COVER_SEARCH_ROWS = 40
DISTRICT_LABELS = {
    "huyen thi xa thanh pho",
    "huyen/thi xa/thanh pho",
    "don vi hanh chinh",
    "dia ban",
    "ten don vi",
    "don vi",
    "huyen",
    "ten huyen",
    "huyen thi",
}
DISTRICT_CODE_LABELS = {"ma dvhc", "ma don vi hanh chinh", "ma huyen", "ma dia ban", "ma"}
COMMUNE_LABELS = {
    "xa phuong thi tran",
    "xa/phuong/thi tran",
    "ten xa",
    "ten xa phuong thi tran",
    "xa",
    "don vi",
    "ten don vi",
    "don vi hanh chinh",
    "dia ban",
}
COMMUNE_CODE_LABELS = {"ma xa", "ma dvhc", "ma don vi hanh chinh", "ma"}
ITEM_LABELS = {"chi tieu", "noi dung", "ten chi tieu"}
VALUE_LABELS = {
    "so lieu",
    "gia tri",
    "thuc hien",
    "so lieu trong thang",
    "ket qua",
    "so luong",
    "so lieu thang",
}
UNIT_LABELS = {"don vi tinh", "dvt"}
TOTAL_WORDS = ("tong cong", "tong so", "cong", "tong")
# Sheets ictstat itself adds to a feedback copy: a clerk who fixes and resends that copy must not have the
# list of issues read as data.
IGNORED_SHEETS = {"loi can sua"}
STOP_WORDS = (
    "nguoi lap bieu",
    "nguoi lap",
    "thu truong don vi",
    "thu truong",
    "ghi chu",
    "xac nhan",
    "ky ten",
)


def a1(r: int, c: int) -> str:
    """Zero-based row/column to an A1 address."""
    return f"{column_letters(c + 1)}{r + 1}"


@dataclass
class Issue:
    sheet: str
    cell: str
    column: str
    value: str
    rule: str
    severity: Severity
    message_vi: str
    message_en: str


@dataclass
class ParsedSubmission:
    template: Template | None = None
    province_code: str | None = None
    reporter_code: str | None = None
    period: Period | None = None
    period_cell: tuple[str, str] = ("", "")
    cover: dict[str, str] = field(default_factory=dict)
    values: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def add(
        self,
        rule: str,
        severity: Severity,
        sheet: str = "",
        cell: str = "",
        column: str = "",
        value: object = "",
        **extra: object,
    ) -> None:
        vi, en = render(rule, sheet=sheet, cell=cell, column=column, value=value, **extra)
        self.issues.append(Issue(sheet, cell, column, _text(value), rule, severity, vi, en))

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.issues)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean(value)[:500]


def parse_workbook(wb: RawWorkbook, province_code: str, today: date | None) -> ParsedSubmission:
    """Identify the form, read its cover and every sheet; never raises for bad content."""
    out = ParsedSubmission()
    cover, where = read_cover(wb)
    out.cover = {k: _text(v) for k, v in cover.items()}
    template = _identify(wb, cover, where, out)
    if template is None:
        return out
    out.template = template
    # the cover names the province (one deployment may serve several); the configured one otherwise
    province_code = reference.resolve_province(cover.get("province")) or province_code
    out.province_code = province_code
    _check_cover(template, cover, where, out, today)
    on = out.period.end_date if out.period else reference.last_valid_day(province_code)
    for spec in template.sheets:
        sheet = _find_sheet(wb, spec)
        if sheet is None:
            out.add("missing_sheet", "error", sheet=spec.name, value=template.form_code)
            continue
        if spec.layout == "district_table":
            _parse_unit_table(sheet, spec, _DistrictRows(province_code, on), out)
        elif spec.layout == "commune_table":
            district = _reporter_district(out)
            if district is not None:
                _parse_unit_table(sheet, spec, _CommuneRows(district, on), out)
        else:
            _parse_indicator_list(sheet, spec, _reporter_district(out), out)
    return out


def _reporter_district(out: ParsedSubmission) -> str | None:
    """The district a district office reports for (None for carriers and the department)."""
    reporter = reference.reporters().get((out.province_code or "", out.reporter_code or ""))
    return reporter.district_code if reporter else None


# --- cover -------------------------------------------------------------------------------------------


def read_cover(wb: RawWorkbook) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """Label/value pairs of the cover block, taken from the one sheet that holds the most of them.

    One sheet only: a data sheet's signature block also says "Người lập biểu", and must not be read as the
    cover's.
    """
    by_label = _cover_labels()
    best: tuple[int, dict[str, Any], dict[str, tuple[str, str]]] = (0, {}, {})
    ordered = sorted(wb.sheets, key=lambda s: (not s.visible, fold(s.name) != "thong tin chung"))
    for sheet in ordered:
        found: dict[str, Any] = {}
        where: dict[str, tuple[str, str]] = {}
        for r, row in enumerate(sheet.rows[:COVER_SEARCH_ROWS]):
            for c, cell in enumerate(row[:6]):
                if not isinstance(cell, str) or not cell.strip():
                    continue
                label, _, inline = cell.partition(":")
                for key in by_label.get(_cover_label(label), ()):
                    if key in found:
                        continue
                    value, vc = (inline.strip(), c) if inline.strip() else _right_of(row, c)
                    if value not in ("", None):
                        found[key] = value
                        where[key] = (sheet.name, a1(r, vc))
                    break
        score = len(found) + (10 if "form_code" in found else 0)
        if score > best[0]:
            best = (score, found, where)
    return best[1], best[2]


_COVER_LABELS: list[Any] = [None, {}]  # (the templates they were made from, the labels)


def _cover_labels() -> dict[str, tuple[str, ...]]:
    """Folded cover label or alias -> the fields it names, in the templates' order (one look-up per cell);
    made again when the template registry is (a new version registered)."""
    templates = all_templates()
    if _COVER_LABELS[0] is not templates:
        _COVER_LABELS[:] = [templates, _make_cover_labels(templates)]
    labels: dict[str, tuple[str, ...]] = _COVER_LABELS[1]
    return labels


def _make_cover_labels(templates: tuple[Template, ...]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    fields = {f.key: f for t in templates for f in t.cover_fields}
    for key, f in fields.items():
        for label in {fold(f.label), *(fold(a) for a in f.aliases)}:
            if label and key not in out.setdefault(label, []):
                out[label].append(key)
    return {label: tuple(keys) for label, keys in out.items()}


@lru_cache(maxsize=16384)
def _cover_label(text: str) -> str:
    """A cover cell's label as CoverField.matches folds it."""
    return fold(text).rstrip(":").strip()


def _right_of(row: list[Any], c: int) -> tuple[Any, int]:
    for j in range(c + 1, len(row)):
        if row[j] not in ("", None):
            return row[j], j
    return "", c


def _identify(
    wb: RawWorkbook, cover: dict[str, Any], where: dict[str, tuple[str, str]], out: ParsedSubmission
) -> Template | None:
    code = cover.get("form_code")
    if code:
        version_raw = cover.get("template_version")
        version = None
        if version_raw not in (None, ""):
            parsed = parse_number(version_raw, "int")
            version = int(parsed.value) if parsed.value is not None else -1
        template = get_template(str(code), version)
        if template is not None:
            return template
        sheet, cell = where.get("template_version", where["form_code"])
        if get_template(str(code)) is not None:
            out.add("unknown_template_version", "error", sheet, cell, value=code, expected=_text(version_raw))
            return None
    # No usable form code: recognise the form by its sheets' header rows.
    for template in sorted(all_templates(), key=lambda t: -t.version):
        if all(_find_sheet(wb, s) is not None for s in template.sheets):
            return template
    out.add("unknown_template", "error", *where.get("form_code", ("", "")), value=code or "")
    return None


def _check_cover(
    template: Template,
    cover: dict[str, Any],
    where: dict[str, tuple[str, str]],
    out: ParsedSubmission,
    today: date | None,
) -> None:
    sheet, cell = where.get("reporter_code", where.get("reporter_name", (template.cover_sheet, "")))
    raw_reporter = cover.get("reporter_code") or cover.get("reporter_name")
    province = out.province_code or ""
    reporter = reference.resolve_reporter(raw_reporter, province) or reference.resolve_reporter(
        cover.get("reporter_name"), province
    )
    if reporter is None:
        out.add("unknown_reporter", "error", sheet, cell, value=raw_reporter or "")
    elif reporter.kind != template.reporter_kind:
        out.add(
            "reporter_kind_mismatch", "error", sheet, cell, value=reporter.code, expected=template.form_code
        )
    else:
        out.reporter_code = reporter.code

    sheet, cell = where.get("period", (template.cover_sheet, ""))
    raw_period = cover.get("period")
    period = parse_reporting_period(raw_period)
    expected = {
        "month": "tháng/năm, ví dụ 12/2020",
        "half": "6 tháng đầu năm 2020",
        "year": "năm, ví dụ 2020",
    }
    if period is None or period.kind != template.frequency:
        out.add(
            "bad_period", "error", sheet, cell, value=raw_period or "", expected=expected[template.frequency]
        )
        return
    first = reference.first_year()
    if not year_in_range(period.year, first, None):
        # "12/0000", "12/0202": never a period of the warehouse (nor a date: year 0 does not exist); a period
        # after the logical date is check_not_future's (it depends on the run's day, not on the file)
        out.add("period_out_of_range", "error", sheet, cell, value=raw_period, found=period.year,
                expected=f"{first} – {MAX_YEAR}")  # fmt: skip
        return
    out.period = period
    out.period_cell = (sheet, cell)
    if today is not None:
        check_not_future(out, today)


def check_not_future(out: ParsedSubmission, today: date) -> None:
    """A period that has not ended by the run's logical date cannot be reported yet. Kept apart from parsing
    because it depends on the day of the run, not on the file (parsed results are cached per file)."""
    if out.period is not None and out.period.end_date >= today:
        sheet, cell = out.period_cell
        out.add("future_period", "error", sheet, cell, value=str(out.period))


# --- sheets --------------------------------------------------------------------------------------------


def _find_sheet(wb: RawWorkbook, spec: SheetSpec) -> RawSheet | None:
    """The sheet holding this part of the form: by name first, then by its header row; visible sheets before
    hidden ones (a hidden sheet is often last month's copy or a scratch sheet)."""
    names = {fold(spec.name), *(fold(a) for a in spec.aliases)}
    candidates = [s for s in wb.sheets if fold(s.name) not in IGNORED_SHEETS]
    ordered = sorted(candidates, key=lambda s: (fold(s.name) not in names, not s.visible))
    for sheet in ordered:
        if _locate_header(sheet, spec) is not None:
            return sheet
    return None


@dataclass
class _Header:
    row: int  # zero-based index of the last header row
    measure_cols: dict[str, int]
    label_col: int  # district name or item label
    code_col: int | None = None
    value_col: int | None = None  # indicator lists


@lru_cache(maxsize=65536, typed=True)
def _folded_labels(top: object, below: object) -> tuple[str, ...]:
    """What a header cell may say, folded: its own text, the row below (two-row headers) or both joined.
    From the two cells' values: header texts repeat from file to file, so each pair is folded once."""
    a, b = clean(top), clean(below)
    return tuple(fold(x) for x in (a, b, f"{a} {b}".strip()) if x)


def _locate_header(sheet: RawSheet, spec: SheetSpec) -> _Header | None:
    """The header row of ``spec`` in ``sheet`` (remembered for the sheet: it is asked for more than once)."""
    key = (id(sheet), f"{spec.name}|{spec.layout}|{id(spec)}")
    if sheet.header_memo is not None and key in sheet.header_memo:
        return sheet.header_memo[key]
    found = _find_header(sheet, spec)
    if sheet.header_memo is None:
        sheet.header_memo = {}
    sheet.header_memo[key] = found
    return found


def _find_header(sheet: RawSheet, spec: SheetSpec) -> _Header | None:
    best: _Header | None = None
    for r in range(min(HEADER_SEARCH_ROWS, len(sheet.rows))):
        row = sheet.rows[r]
        if spec.layout in ("district_table", "commune_table"):
            unit_labels, code_labels = (
                (DISTRICT_LABELS, DISTRICT_CODE_LABELS)
                if spec.layout == "district_table"
                else (COMMUNE_LABELS, COMMUNE_CODE_LABELS)
            )
            cols: dict[str, int] = {}
            label_col = code_col = None
            by_label = spec.measure_by_label
            for c in range(len(row)):
                top, below = row[c], sheet.cell(r + 1, c)
                if not (isinstance(top, str) and top) and not (isinstance(below, str) and below):
                    continue  # a header says something in words: blanks and figures are not labels
                folded = _folded_labels(top, below)
                if label_col is None and unit_labels.intersection(folded):
                    label_col = c
                    continue
                if code_col is None and code_labels.intersection(folded):
                    code_col = c
                    continue
                for f in folded:
                    m = by_label.get(f)
                    if m is not None and m.key not in cols:
                        cols[m.key] = c
                        break
            if label_col is not None and cols and (best is None or len(cols) > len(best.measure_cols)):
                best = _Header(_last_header_row(sheet, r, cols), cols, label_col, code_col)
        else:
            folded_row = [fold(x) for x in row]
            if not any(f in ITEM_LABELS for f in folded_row):
                continue
            label_col = next(c for c, f in enumerate(folded_row) if f in ITEM_LABELS)
            value_col = next((c for c, f in enumerate(folded_row) if f in VALUE_LABELS), None)
            if value_col is None:
                unit_col = next((c for c, f in enumerate(folded_row) if f in UNIT_LABELS), label_col)
                value_col = max(label_col, unit_col) + 1
            items = _item_rows(sheet, r, label_col, spec)
            if items and (best is None or len(items) > len(best.measure_cols)):
                best = _Header(r, items, label_col, value_col=value_col)
    return best


def _last_header_row(sheet: RawSheet, r: int, cols: dict[str, int]) -> int:
    """A header may continue on the next row (units, or the lower half of a two-row header)."""
    below = [sheet.cell(r + 1, c) for c in cols.values()]
    if all(isinstance(v, str) for v in below) and any(v.strip() for v in below):
        return r + 1
    return r


def _item_rows(sheet: RawSheet, header_row: int, label_col: int, spec: SheetSpec) -> dict[str, int]:
    found: dict[str, int] = {}
    for r in range(header_row + 1, len(sheet.rows)):
        label = sheet.cell(r, label_col)
        for m in spec.measures:
            if m.key not in found and m.matches(label):
                found[m.key] = r
    return found


def _is_stop_row(row: list[Any]) -> bool:
    return any(isinstance(v, str) and fold(v).startswith(STOP_WORDS) for v in row)


def _is_total(text: object) -> bool:
    f = fold(text)
    return f in TOTAL_WORDS or f.startswith(("tong cong", "tong so", "cong "))


@dataclass(frozen=True)
class _Unit:
    code: str
    name: str
    district_code: str
    commune_code: str | None = None


class _DistrictRows:
    """Rows of a district table: the district-level units of the province."""

    unknown_rule, duplicate_rule, missing_rule = "unknown_district", "duplicate_district", "missing_district"

    def __init__(self, province_code: str, on: date) -> None:
        self.province_code, self.on = province_code, on

    def resolve(self, text: object) -> _Unit | None:
        d = reference.resolve_district(text, self.province_code, self.on)
        return _Unit(d.code, d.name, d.code) if d else None

    def expected(self) -> list[_Unit]:
        return [_Unit(d.code, d.name, d.code) for d in reference.districts(self.province_code, self.on)]


class _CommuneRows:
    """Rows of a commune table: the communes of the reporting district office's district."""

    unknown_rule, duplicate_rule, missing_rule = "unknown_commune", "duplicate_commune", "missing_commune"

    def __init__(self, district_code: str, on: date) -> None:
        self.district_code, self.on = district_code, on

    def resolve(self, text: object) -> _Unit | None:
        c = reference.resolve_commune(text, self.district_code, self.on)
        return _Unit(c.code, c.full_name, c.district_code, c.code) if c else None

    def expected(self) -> list[_Unit]:
        return [
            _Unit(c.code, c.full_name, c.district_code, c.code)
            for c in reference.communes(self.district_code, self.on)
        ]


def _parse_unit_table(
    sheet: RawSheet, spec: SheetSpec, units: _DistrictRows | _CommuneRows, out: ParsedSubmission
) -> None:
    """One row per administrative unit, one column per measure, a total row checked against the rows."""
    header = _locate_header(sheet, spec)
    assert header is not None  # _find_sheet only returns sheets whose header was found
    for m in spec.measures:
        if m.key not in header.measure_cols and m.required:
            out.add("missing_column", "error", sheet.name, column=m.label)
    seen: dict[str, str] = {}
    sums: dict[str, float] = {k: 0.0 for k in header.measure_cols}
    unreadable: set[str] = set()  # columns with a cell that did not parse: their total proves nothing
    totals: dict[str, tuple[int, Any]] = {}
    blanks: dict[str, list[str]] = {k: [] for k in header.measure_cols}
    filled: dict[str, int] = dict.fromkeys(header.measure_cols, 0)
    for r in range(header.row + 1, len(sheet.rows)):
        row = sheet.rows[r]
        if _is_stop_row(row):
            break
        name = sheet.cell(r, header.label_col)
        code = sheet.cell(r, header.code_col) if header.code_col is not None else ""
        cells = {k: sheet.cell(r, c) for k, c in header.measure_cols.items()}
        if _is_total(name) or (name in ("", None) and _is_total(code)):
            totals = {k: (r, v) for k, v in cells.items()}
            continue
        if all(v in ("", None) for v in (name, code, *cells.values())):
            continue  # a blank row inside the data
        if name in ("", None) and code in ("", None):
            continue  # column numbering "(1) (2) (3)" or a stray note without a unit
        unit = units.resolve(code) if code not in ("", None) else None
        if unit is None:
            unit = units.resolve(name)
        if unit is None:
            c = header.label_col if name not in ("", None) else (header.code_col or header.label_col)
            out.add(units.unknown_rule, "error", sheet.name, a1(r, c), value=name or code)
            continue
        if unit.code in seen:
            out.add(units.duplicate_rule, "error", sheet.name, a1(r, header.label_col), value=unit.name)
            continue
        seen[unit.code] = a1(r, header.label_col)
        for key, raw in cells.items():
            measure = spec.measure(key)
            c = header.measure_cols[key]
            parsed = _parse_cell(raw, measure, sheet.name, a1(r, c), out)
            if parsed is None:
                unreadable.add(key)
                continue
            before = sums[key]
            sums[key] += parsed.value or 0.0
            if math.isfinite(before) and not math.isfinite(sums[key]):
                # two cells of 1.7e308: each a float, their sum is not; the file is wrong at this cell
                out.add("sum_overflow", "error", sheet.name, a1(r, c), measure.label, raw)
            if parsed.value is None:
                blanks[key].append(a1(r, c))
            else:
                filled[key] += 1
            out.values.append(
                _value_row(
                    sheet.name, spec, r, c, unit.district_code, measure, raw, parsed, unit.commune_code
                )
            )
    if isinstance(units, _DistrictRows):
        # A carrier leaves a whole column blank for a service it does not offer; a column blank in a few
        # districts only is more likely an omission.
        for key, blank_cells in blanks.items():
            m = spec.measure(key)
            if filled[key] and not m.required:
                for cell in blank_cells:
                    out.add("blank_in_filled_column", "warning", sheet.name, cell, m.label)
    if seen:
        for u in units.expected():
            if u.code not in seen:
                out.add(units.missing_rule, "warning", sheet.name, value=f"{u.code} {u.name}")
    for key, (r, raw) in totals.items():
        measure = spec.measure(key)
        parsed = parse_number(raw, measure.kind)
        if parsed.value is None or key in unreadable or not math.isfinite(sums[key]):
            continue  # a total left blank (or a formula without a cached value, or rows that overflow) checks nothing
        tolerance = 0.5 if measure.kind == "int" else 0.01
        if abs(parsed.value - sums[key]) > tolerance:
            out.add(
                "total_mismatch",
                "error",
                sheet.name,
                a1(r, header.measure_cols[key]),
                measure.label,
                _text(raw),
                expected=_fmt(sums[key]),
            )


def _parse_indicator_list(
    sheet: RawSheet, spec: SheetSpec, district_code: str | None, out: ParsedSubmission
) -> None:
    header = _locate_header(sheet, spec)
    assert header is not None and header.value_col is not None
    for m in spec.measures:
        r = header.measure_cols.get(m.key)
        if r is None:
            if m.required:
                out.add("missing_item", "error", sheet.name, column=m.label)
            continue
        c = header.value_col
        raw = sheet.cell(r, c)
        parsed = _parse_cell(raw, m, sheet.name, a1(r, c), out)
        if parsed is not None:
            out.values.append(_value_row(sheet.name, spec, r, c, district_code, m, raw, parsed))


def _parse_cell(raw: Any, m: Measure, sheet: str, cell: str, out: ParsedSubmission) -> ParsedNumber | None:
    parsed = parse_number(raw, m.kind)
    if parsed.error:
        out.add(parsed.error, "error", sheet, cell, m.label, raw)
        return None
    if parsed.warning:
        out.add(parsed.warning, "warning", sheet, cell, m.label, raw, parsed=_fmt(parsed.value or 0))
    return parsed


def _value_row(
    sheet: str,
    spec: SheetSpec,
    r: int,
    c: int,
    district: str | None,
    m: Measure,
    raw: Any,
    parsed: ParsedNumber,
    commune: str | None = None,
) -> dict[str, Any]:
    """One parsed cell; a blank cell is kept with value None so that a required blank can name its cell."""
    return {
        "sheet": sheet,
        "sheet_spec": spec.name,
        "cell": a1(r, c),
        "excel_row": r + 1,
        "district_code": district,
        "commune_code": commune,
        "measure": m.key,
        "indicator_code": m.indicator,
        "unit": m.unit,
        "raw_value": _text(raw),
        "value": parsed.value,
        "qualifier": parsed.qualifier,
    }


def _fmt(x: float) -> str:
    """A number the Vietnamese way: 1.307.732 or 226,5 (a non-finite one as Python writes it, never a crash)."""
    if not math.isfinite(x):
        return str(x)
    if float(x).is_integer():
        return f"{int(x):,}".replace(",", ".")
    whole, frac = f"{x:,.3f}".rstrip("0").split(".")
    return whole.replace(",", ".") + "," + frac
