"""Read a workbook into plain rows of cell values, with its sheets' visibility and merged ranges filled.

Calamine reads .xlsx, .xlsm, .xlsb, .xls (BIFF8) and .ods quickly and returns cached values for formulas. It also
trusts what a file declares: it reserves the shared-string count a file states, builds a dense grid from A1 to
the farthest cell, expands .ods repeated rows and columns, and an allocation that fails aborts the whole
process (no exception to catch). So before calamine sees a file, ``scan_workbook`` looks inside it cheaply
(streaming, a few regular expressions per part, well under a millisecond for a form): the zip's declared sizes,
the declared counts calamine would reserve, and how far each sheet's cells really reach, against the
configured limits. A file over a limit is refused with a reason the clerk can act on, in Vietnamese and English.
"""

from __future__ import annotations

import html
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from ictstat.messages import render

SPREADSHEET_EXTENSIONS = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Excel's own limit on a cell's text; longer text is not something a person typed into a form
MAX_STRING_LENGTH = 32_767
# The settings' defaults (ictstat.settings), for callers that do not pass limits
MAX_CELLS = 2_000_000
MAX_WORKBOOK_CELLS = 4_000_000
MAX_SHEETS = 100


class ReadError(Exception):
    """A file that cannot be read as a workbook; ``rule`` names the reason for the ledger.

    ``detail``/``expected`` are short English facts (kept for logs and tests); ``message`` names the template
    of ``ictstat.messages`` that explains it to the clerk, filled from ``context``."""

    def __init__(
        self, rule: str, detail: str = "", expected: str = "", *, message: str = "", **context: Any
    ) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail
        self.expected = expected
        self.message = message
        self.context = context

    def messages(self) -> tuple[str, str]:
        """The (Vietnamese, English) reason shown to the clerk."""
        if self.message:
            return render(self.message, **self.context)
        return render(self.rule, value=self.detail, expected=self.expected)


def _vi(n: int) -> str:
    return f"{n:,}".replace(",", ".")  # Vietnamese writes 65.536


def _over(message: str, detail: str, expected: str, found: int, limit: int, **context: Any) -> ReadError:
    """A ``too_large`` refusal: ``found`` against ``limit``, in both languages' number formats."""
    return ReadError("too_large", detail, expected, message=message, found=f"{found:,}", limit=f"{limit:,}",
                     found_vi=_vi(found), limit_vi=_vi(limit), **context)  # fmt: skip


def _corrupt(message: str, detail: str, found: int | str, limit: int | str, **context: Any) -> ReadError:
    f, lim = (f"{v:,}" if isinstance(v, int) else v for v in (found, limit))
    fv, lv = (_vi(v) if isinstance(v, int) else v for v in (found, limit))
    return ReadError("unreadable", detail, message=message, found=f, limit=lim, found_vi=fv, limit_vi=lv,
                     **context)  # fmt: skip


@dataclass
class RawSheet:
    name: str
    rows: list[list[Any]]  # rows[r][c] is the cell at row r+1, column c+1 ("" when empty)
    visible: bool = True
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    header_memo: dict[Any, Any] | None = None  # header rows already located in this sheet (tasks.parse)

    def cell(self, r: int, c: int) -> Any:
        """Zero-based access that tolerates ragged rows."""
        if 0 <= r < len(self.rows) and 0 <= c < len(self.rows[r]):
            return self.rows[r][c]
        return ""


@dataclass
class RawWorkbook:
    sheets: list[RawSheet]

    def sheet(self, name: str) -> RawSheet | None:
        return next((s for s in self.sheets if s.name == name), None)


def sniff_format(path: Path) -> str | None:
    """'zip' (xlsx, xlsm, ods, xlsb), 'ole' (legacy xls) or None when the bytes are not a spreadsheet."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head == _OLE_MAGIC:
        return "ole"
    return None


def _column_number(letters: bytes | str) -> int:
    n = 0
    for ch in letters.decode() if isinstance(letters, bytes) else letters:
        n = n * 26 + ord(ch.upper()) - 64
    return n


@lru_cache(maxsize=1024)  # a parse asks for the same few columns once per cell
def column_letters(n: int) -> str:
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out or "A"


@dataclass(frozen=True)
class Limits:
    """What one workbook may hold (``ictstat.settings``: ICTSTAT_MAX_*)."""

    max_unpacked_bytes: int
    max_rows: int
    max_cells: int = MAX_CELLS
    max_workbook_cells: int = MAX_WORKBOOK_CELLS
    max_sheets: int = MAX_SHEETS
    max_string_length: int = MAX_STRING_LENGTH


@dataclass
class SheetExtent:
    """How far a sheet's values reach, counted from A1 (what ``to_python`` builds), and its merged cells."""

    part: str  # where it was read: a zip member, or the sheet's position in a legacy file
    name: str  # the sheet's name when the part says it (ods, xls); else filled in when needed
    rows: int = 0  # the last row holding a value (1-based; 0: none)
    columns: int = 0
    merged_cells: int = 0  # cells covered by its merged ranges (openpyxl builds one object per cell)
    exact: bool = (
        True  # False: an upper bound (empty formatted cells counted), computed exactly if it matters
    )

    @property
    def cells(self) -> int:
        return self.rows * self.columns


@dataclass
class WorkbookScan:
    unpacked_bytes: int = 0
    sheets: list[SheetExtent] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return sum(s.cells for s in self.sheets)

    @property
    def merged_cells(self) -> int:
        return sum(s.merged_cells for s in self.sheets)


def scan_workbook(path: Path, kind: str, limits: Limits, *, merges: bool = False) -> WorkbookScan:
    """Look inside a workbook without building it: raise ReadError when calamine would be asked for more than
    the limits allow, else return each sheet's extent.

    - zip packages: the sum of the members' declared sizes (a 200 KB file can unpack to 1.2 GB); the shared
      strings' declared ``uniqueCount`` (calamine reserves it: 4,294,967,295 is a 103 GB allocation); every
      worksheet's real extent from its cells' own addresses (a lone cell at XFD1048576 is a 17-billion-cell
      grid), for .xlsx/.xlsm and .xlsb; the repeated rows and columns of an .ods (expanded by calamine);
    - legacy .xls: the shared-string count, every sheet's declared dimensions and cells, found by following
      the compound file's own chains to the workbook stream.

    Every part is read as a stream in bounded chunks; nothing is decompressed beyond the declared sizes. With
    ``merges``, the cells covered by merged ranges are counted too (for openpyxl, which builds each of them).
    """
    scan = WorkbookScan()
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as zf:
                _scan_zip(zf, limits, scan, merges)
        elif kind == "ole":
            _scan_ole(path.read_bytes(), limits, scan)
    except zipfile.BadZipFile as exc:
        raise ReadError("unreadable", f"corrupt or truncated zip ({exc})") from exc
    except (OSError, zlib.error, EOFError, struct.error, ValueError) as exc:
        raise ReadError("unreadable", f"corrupt or truncated file ({_short(exc)})") from exc
    return scan


# --- zip packages: .xlsx, .xlsm, .xlsb, .ods -------------------------------------------------------------

CHUNK = 1 << 18  # bytes decompressed at a time
# Text between two tags longer than this is refused (the longest cell Excel allows is 32,767 characters,
# at most ~160 KB of escaped UTF-8): a scan never holds more than a chunk plus this.
MAX_SPAN = 4 << 20

_SHEET_PARTS = ("xl/worksheets/", "xl/dialogsheets/", "xl/macrosheets/")


def _normal(name: str) -> str:
    return name.replace("\\", "/").lower()


def _scan_zip(zf: zipfile.ZipFile, limits: Limits, scan: WorkbookScan, merges: bool) -> None:
    infos = zf.infolist()
    total = sum(info.file_size for info in infos)
    scan.unpacked_bytes = total
    if total > limits.max_unpacked_bytes:
        raise _over("too_large_unpacked", f"{total:,} bytes unpacked", f"{limits.max_unpacked_bytes:,} bytes",
                    total, limits.max_unpacked_bytes)  # fmt: skip
    # calamine finds parts by name (some versions ignore case; a name may even appear twice in a zip): every
    # member it could open is checked
    for info in (i for i in infos if _normal(i.filename) == "xl/sharedstrings.xml"):
        _check_shared_strings(zf, info)
    sheets = [
        i
        for i in infos
        if _normal(i.filename).startswith(_SHEET_PARTS) and "/_rels/" not in _normal(i.filename)
    ]
    _check_sheet_count(len(sheets), limits)
    for info in sheets:
        binary = _normal(info.filename).endswith(".bin")
        extent = _xlsb_sheet_extent(zf, info) if binary else _xml_sheet_extent(zf, info, limits, merges)
        _add(scan, extent, limits, zf)
    for info in (i for i in infos if _normal(i.filename) == "content.xml"):
        for extent in _ods_extents(zf, info, limits):
            _add(scan, extent, limits, zf)
        _check_sheet_count(len(scan.sheets), limits)


def _check_sheet_count(n: int, limits: Limits) -> None:
    if n > limits.max_sheets:
        raise _over("too_large_sheets", f"{n} sheets", f"{limits.max_sheets} sheets", n, limits.max_sheets)


def _add(scan: WorkbookScan, extent: SheetExtent, limits: Limits, zf: zipfile.ZipFile | None = None) -> None:
    """Count a sheet in, refusing it (named as the workbook names it) if it is over a limit."""
    scan.sheets.append(extent)
    if extent.rows > limits.max_rows or extent.cells > limits.max_cells:
        if zf is not None and extent.name == extent.part:
            extent.name = _xlsx_sheet_names(zf).get(_normal(extent.part), extent.name)
        _check_extent(extent, limits)
    if scan.cells > limits.max_workbook_cells and zf is not None:  # exactly, before refusing
        for i, s in enumerate(scan.sheets):
            if not s.exact:
                scan.sheets[i] = _xml_sheet_extent_slowly(
                    zf, zf.getinfo(s.part), limits, merges=s.merged_cells > 0
                )
    if scan.cells > limits.max_workbook_cells:
        raise _over("too_large_workbook", f"{scan.cells:,} cells in all", f"{limits.max_workbook_cells:,} cells",
                    scan.cells, limits.max_workbook_cells)  # fmt: skip


def _check_extent(extent: SheetExtent, limits: Limits) -> None:
    name = extent.name
    if extent.rows > limits.max_rows:
        raise _over("too_large_rows", f"sheet '{name}' has cells down to row {extent.rows:,}",
                    f"{limits.max_rows:,} rows", extent.rows, limits.max_rows, sheet=name)  # fmt: skip
    if extent.cells > limits.max_cells:
        corner = f"{column_letters(extent.columns)}{extent.rows}"
        raise _over("too_large_cells", f"sheet '{name}' spans A1:{corner}, {extent.cells:,} cells",
                    f"{limits.max_cells:,} cells", extent.cells, limits.max_cells, sheet=name, corner=corner)  # fmt: skip


def _stream(zf: zipfile.ZipFile, info: zipfile.ZipInfo, first: int = CHUNK) -> Iterator[bytes]:
    with zf.open(info) as fh:
        chunk = fh.read(first)
        while chunk:
            yield chunk
            chunk = fh.read(CHUNK)


def _pieces(chunks: Iterable[bytes], part: str) -> Iterator[bytes]:
    """The stream cut just before a '<', so that no tag is split between two pieces."""
    carry = b""
    for chunk in chunks:
        buf = carry + chunk if carry else chunk
        cut = buf.rfind(b"<")
        if cut == -1:
            carry = buf
        else:
            if cut:
                yield buf[:cut]
            carry = buf[cut:]
        if len(carry) > MAX_SPAN:
            raise ReadError("too_large", f"{part} holds a tag or text of more than {MAX_SPAN:,} bytes",
                            f"{MAX_SPAN:,} bytes")  # fmt: skip
    if carry:
        yield carry


_PREFIX = rb"(?:[^\s<>/!?:=\"']+:)?"  # calamine matches xlsx elements by local name: any prefix goes
_SST = re.compile(rb"<" + _PREFIX + rb"sst(?=[\s/>])([^>]*)>")
_UNIQUE_COUNT = re.compile(rb"""(?:^|\s)uniqueCount\s*=\s*(["'])(.*?)\1""", re.S)
_SMALLEST_SI = len(b"<si/>")


def _check_shared_strings(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """calamine reserves room for the declared ``uniqueCount`` before reading a string: a count the part
    cannot possibly hold (each ``<si>`` takes 5 bytes at least) is a damaged or hostile file."""
    for piece in _pieces(_stream(zf, info, first=4096), info.filename):
        m = _SST.search(piece)
        if m is None:
            continue
        attr = _UNIQUE_COUNT.search(m.group(1))
        number = (
            re.fullmatch(r"\+?([0-9]+)", html.unescape(attr.group(2).decode("utf-8", "replace")))
            if attr
            else None
        )
        room = info.file_size // _SMALLEST_SI
        if number is not None and (len(number[1]) > 18 or int(number[1]) > room):
            found = int(number[1]) if len(number[1]) < 40 else f"{number[1][:20]}..."
            raise _corrupt("corrupt_declared_count", f"{info.filename} declares uniqueCount {number[1][:40]}",
                           found, room, part=info.filename)  # fmt: skip
        return


# Every cell tag, and the same with its address written first: what Excel, LibreOffice and openpyxl all write
# (two regular expressions with a literal prefix: the fast path). When the counts differ, or a prefixed
# element could be a cell, the slow path follows calamine's own rules tag by tag.
_C_TAG = re.compile(rb"<c[\s/>]")
_C_REF = re.compile(rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,11})"')
_PREFIXED_C = re.compile(rb":c[\s/>]")  # <x:c ...>: calamine takes any prefix
_MERGE = re.compile(rb"<" + _PREFIX + rb"mergeCell\s[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
_TOKEN = re.compile(rb"<(/?)" + _PREFIX + rb"(row|c)(?=[\s/>])([^>]*)>")
_ATTR_R = re.compile(rb"""(?:^|\s)r\s*=\s*(["'])(.*?)\1""", re.S)
_CELL_REF = re.compile(rb"^\$?([A-Za-z]{1,7})\$?([0-9]{1,12})$")
_FAR = 10**12  # a position no sheet can reach: stands for an address too long to be real


def _xml_sheet_extent(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, merges: bool
) -> SheetExtent:
    """The extent of every cell tag, empty ones (``<c r="Z900" s="3"/>``, a border) included: an upper bound,
    exact enough for a form. Only a sheet over a limit is read again, exactly, before it is refused."""
    extent = SheetExtent(info.filename, info.filename, exact=False)
    for piece in _pieces(_stream(zf, info), info.filename):
        refs = _C_REF.findall(piece)
        if len(refs) != len(_C_TAG.findall(piece)) or _PREFIXED_C.search(piece):
            return _xml_sheet_extent_slowly(zf, info, limits, merges)
        if refs:
            letters, digits = zip(*refs, strict=True)
            extent.rows = max(extent.rows, max(map(int, set(digits))))
            extent.columns = max(extent.columns, max(map(_column_number, set(letters))))
            if extent.rows > limits.max_rows or extent.cells > limits.max_cells:
                return _xml_sheet_extent_slowly(zf, info, limits, merges)
        if merges and b"mergeCell" in piece:
            extent.merged_cells += sum(map(_merged_area, _MERGE.findall(piece)))
    return extent


def _position(ref: bytes) -> tuple[int, int] | None:
    """(row, column), 1-based, of an A1 address; None when calamine could not read it either."""
    m = _CELL_REF.match(ref.strip())
    if m is None:
        return None
    letters, digits = m.groups()
    return (int(digits) if len(digits) < 10 else _FAR), (
        _column_number(letters) if len(letters) < 4 else _FAR
    )


def _merged_area(ref: bytes) -> int:
    first, _, last = ref.partition(b":")
    a, b = _position(first), _position(last or first)
    if a is None or b is None:
        return 0
    return (abs(b[0] - a[0]) + 1) * (abs(b[1] - a[1]) + 1)


def _xml_sheet_extent_slowly(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, merges: bool
) -> SheetExtent:
    """Follow calamine's positions tag by tag: a cell without ``r`` sits after the previous cell of its row, a
    row without ``r`` after the previous row. Where calamine's reading of an empty element is uncertain, the
    larger position is taken, so the extent found is never smaller than the one calamine builds."""
    extent = SheetExtent(info.filename, info.filename)
    row = col = 0  # calamine's next position, 0-based
    for piece in _pieces(_stream(zf, info), info.filename):
        for m in _TOKEN.finditer(piece):
            closing, name, attrs = m.group(1), m.group(2), m.group(3)
            empty = attrs.endswith(b"/")
            if closing:
                if name == b"row":
                    row, col = row + 1, 0
                continue
            r = _ATTR_R.search(attrs)
            value = r.group(2).strip() if r is not None else b""
            if name == b"row":
                at = (max(0, int(value) - 1) if len(value) < 10 else _FAR) if value.isdigit() else None
                if empty:
                    row = max(row, at + 1 if at is not None else row + 1)
                elif at is not None:
                    row = at
                continue
            pos = _position(value) if value else None
            here = (pos[0] - 1, pos[1] - 1) if pos is not None else (row, col)
            if empty:
                col = max(col, here[1] + 1)
                continue
            col = here[1] + 1
            extent.rows = max(extent.rows, here[0] + 1)
            extent.columns = max(extent.columns, here[1] + 1)
        if merges:
            extent.merged_cells += sum(map(_merged_area, _MERGE.findall(piece)))
        if extent.rows > limits.max_rows or extent.cells > limits.max_cells:
            break
    return extent


_WB_SHEET = re.compile(rb"<" + _PREFIX + rb"sheet\s([^>]*)>")
_REL = re.compile(rb"<" + _PREFIX + rb"Relationship\s([^>]*)>")


def _attr(attrs: bytes, name: bytes) -> str | None:
    m = re.search(rb"(?:^|\s)" + re.escape(name) + rb"""\s*=\s*(["'])(.*?)\1""", attrs, re.S)
    return html.unescape(m.group(2).decode("utf-8", "replace")) if m else None


def _xlsx_sheet_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name by (normalised) part name, from workbook.xml and its relationships; {} if they are unclear."""
    try:
        names = {_normal(n): n for n in zf.namelist()}
        book = names.get("xl/workbook.xml") or names.get("xl/workbook.bin")
        rels = names.get("xl/_rels/workbook.xml.rels") or names.get("xl/_rels/workbook.bin.rels")
        if book is None or rels is None or book.endswith(".bin"):
            return {}
        targets = {}
        for m in _REL.finditer(zf.read(rels)[: 4 << 20]):
            rid, target = _attr(m.group(1), b"Id"), _attr(m.group(1), b"Target")
            if rid and target:
                target = target.lstrip("/")
                targets[rid] = _normal(target if target.lower().startswith("xl/") else f"xl/{target}")
        out = {}
        for m in _WB_SHEET.finditer(zf.read(book)[: 4 << 20]):
            attrs = m.group(1)
            rid = next((_attr(attrs, k) for k in (b"r:id", b"relationships:id") if _attr(attrs, k)), None)
            name = _attr(attrs, b"name")
            if rid in targets and name:
                out[targets[rid]] = name
        return out
    except (KeyError, OSError, zipfile.BadZipFile, zlib.error):
        return {}


# .ods: calamine matches the "table:" prefix literally; it expands a repeated row or cell that holds something
# (and the empty ones before it), so what counts is where the last value is once repeats are counted.
_ODS_TOKEN = re.compile(rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*)>")
_ODS_ROWS = re.compile(rb"""table:number-rows-repeated\s*=\s*["']\s*([0-9]+)""")
_ODS_COLUMNS = re.compile(rb"""table:number-columns-repeated\s*=\s*["']\s*([0-9]+)""")
_ODS_NAME = re.compile(rb"""table:name\s*=\s*(["'])(.*?)\1""", re.S)
_ODS_VALUE = re.compile(rb"office:[a-z-]*value|table:formula")


def _ods_extents(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> Iterator[SheetExtent]:
    depth = 0
    extent: SheetExtent | None = None
    rows_so_far = repeat = col = width = 0
    for piece in _pieces(_stream(zf, info), info.filename):
        for m in _ODS_TOKEN.finditer(piece):
            closing, name, attrs = m.group(1), m.group(2), m.group(3)
            empty = attrs.endswith(b"/")
            if name == b"table":
                if closing:
                    depth -= 1
                    if depth == 0 and extent is not None:
                        yield extent
                        extent = None
                elif not empty:
                    depth += 1
                    if depth == 1:
                        n = _ODS_NAME.search(attrs)
                        label = html.unescape(n.group(2).decode("utf-8", "replace")) if n else "?"
                        extent = SheetExtent(f"{info.filename}#{label}", label)
                        rows_so_far = 0
                continue
            if extent is None or depth != 1:
                continue
            if name == b"table-row":
                if closing or empty:
                    if not closing:  # <table:table-row .../>: an empty row
                        repeat = _repeats(_ODS_ROWS, attrs)
                        width = 0
                    rows_so_far += repeat
                    if width:
                        extent.rows = rows_so_far
                        extent.columns = max(extent.columns, width)
                        if extent.rows > limits.max_rows or extent.cells > limits.max_cells:
                            yield extent  # refused there: no need to read on
                            return
                else:
                    repeat, col, width = _repeats(_ODS_ROWS, attrs), 0, 0
                continue
            if not closing:  # a cell (or a covered cell, which calamine reads as a cell)
                col += _repeats(_ODS_COLUMNS, attrs)
                if _ODS_VALUE.search(attrs):
                    width = col
    if extent is not None:
        yield extent


def _repeats(pattern: re.Pattern[bytes], attrs: bytes) -> int:
    m = pattern.search(attrs)
    if m is None:
        return 1
    digits = m.group(1)
    return int(digits) if len(digits) < 13 else _FAR


def _xlsb_sheet_extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> SheetExtent:
    """An .xlsb worksheet's records: a row header sets the row, a cell record starts with its column."""
    extent = SheetExtent(info.filename, info.filename)
    row = 0
    data = zf.read(info)  # under the declared-size limit already; binary records are not split by tags
    at, end = 0, len(data)
    while at < end:
        typ = data[at]
        at += 1
        if typ & 0x80:
            if at >= end:
                break
            typ = (typ & 0x7F) | ((data[at] & 0x7F) << 7)
            at += 1
        size = shift = 0
        for _ in range(4):
            if at >= end:
                return extent
            b = data[at]
            at += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        body = data[at : at + size]
        at += size
        if typ == 0x0000 and len(body) >= 4:  # BrtRowHdr
            row = int.from_bytes(body[:4], "little")
        elif 0x0002 <= typ <= 0x000A and len(body) >= 4:  # cells holding a value (blank ones are skipped)
            column = int.from_bytes(body[:4], "little")
            extent.rows = max(extent.rows, row + 1)
            extent.columns = max(extent.columns, column + 1)
        elif typ == 0x0092:  # BrtEndSheetData
            break
    return extent


# --- legacy .xls: a compound file holding a BIFF8 (or BIFF5) workbook stream ------------------------------

_FREE, _END = 0xFFFFFFFF, 0xFFFFFFFE
# cell records (type -> position of the last column's u16, None: the same as the first's)
_BIFF_CELLS = {0x0203: None, 0x0204: None, 0x0205: None, 0x027E: None, 0x00FD: None, 0x00D6: None,
               0x0006: None, 0x00BD: -2}  # fmt: skip
_BIFF_ROWS, _BIFF_COLUMNS = 65_536, 256


def _scan_ole(data: bytes, limits: Limits, scan: WorkbookScan) -> None:
    stream = _workbook_stream(data)
    if stream is None:
        return  # not a workbook (an encrypted .xlsx, another document): calamine refuses it
    sheets: list[tuple[int, str]] = []
    pos = 0
    while pos + 4 <= len(stream):
        typ, size = struct.unpack_from("<HH", stream, pos)
        body = stream[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if typ == 0x002F and len(body) >= 2 and body[:2] != b"\0\0":  # FilePass
            raise ReadError("password_protected")
        if typ == 0x0085 and len(body) >= 8:  # BoundSheet8: where the sheet's records start, and its name
            sheets.append((struct.unpack_from("<I", body)[0], _biff_short_string(body[6:])))
        elif typ == 0x00FC and len(body) >= 8:  # SST: calamine reserves the declared count of strings
            unique = struct.unpack_from("<i", body, 4)[0]
            room = len(stream) // 3  # a string takes 3 bytes at least
            if unique > room:
                raise _corrupt("corrupt_declared_count", f"SST declares {unique:,} strings", unique, room,
                               part="SST (Workbook)")  # fmt: skip
        elif typ == 0x000A:  # EOF of the globals
            break
    _check_sheet_count(len(sheets), limits)
    seen: dict[int, SheetExtent] = {}
    for i, (start, name) in enumerate(sheets):
        if start not in seen:
            seen[start] = _biff_sheet_extent(stream, start, f"sheet {i + 1}", name)
        found = seen[start]
        _add(scan, SheetExtent(found.part, name, found.rows, found.columns, found.merged_cells), limits)


def _biff_sheet_extent(stream: bytes, start: int, part: str, name: str) -> SheetExtent:
    extent = SheetExtent(part, name)
    pos = start
    while pos >= 0 and pos + 4 <= len(stream):
        typ, size = struct.unpack_from("<HH", stream, pos)
        body = stream[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if typ == 0x000A:  # EOF
            break
        if typ in _BIFF_CELLS and len(body) >= 4:
            row, first = struct.unpack_from("<HH", body)
            last = struct.unpack_from("<H", body, len(body) - 2)[0] if _BIFF_CELLS[typ] else first
            extent.rows = max(extent.rows, row + 1)
            extent.columns = max(extent.columns, first + 1, last + 1)
        elif typ == 0x0200 and len(body) in (10, 14):  # Dimensions: calamine reserves rows x columns
            if len(body) == 14:
                rf, rl, cf, cl = struct.unpack_from("<IIHH", body)
            else:
                rf, rl, cf, cl = struct.unpack_from("<HHHH", body)
            if rl >= 1 and cl >= 1 and (rl > _BIFF_ROWS or cl > _BIFF_COLUMNS or rf > rl or cf > cl):
                raise _corrupt("corrupt_extent", f"sheet '{name}' declares rows {rf}-{rl}, columns {cf}-{cl}",
                               f"{rl:,} x {cl:,}", f"{_BIFF_ROWS:,} x {_BIFF_COLUMNS}", sheet=name)  # fmt: skip
        elif typ == 0x00E5 and len(body) >= 2:  # MergeCells
            count = struct.unpack_from("<H", body)[0]
            for k in range(min(count, (len(body) - 2) // 8)):
                r0, r1, c0, c1 = struct.unpack_from("<HHHH", body, 2 + 8 * k)
                extent.merged_cells += (abs(r1 - r0) + 1) * (abs(c1 - c0) + 1)
    return extent


def _biff_short_string(body: bytes) -> str:
    """A BoundSheet8 name: a length byte, (BIFF8) a flags byte, then Latin-1 or UTF-16 characters."""
    if len(body) < 2:
        return "?"
    n, wide = body[0], body[1] & 1
    raw = body[2 : 2 + n * (2 if wide else 1)]
    return raw.decode("utf-16-le" if wide else "latin-1", "replace") or "?"


def _workbook_stream(data: bytes) -> bytes | None:
    """The 'Workbook' (or BIFF5 'Book') stream of a compound file, following its FAT or mini-FAT chains.

    Every chain is bounded by the number of sectors in the file, so a loop or a lie ends as ``ValueError``
    (refused as unreadable), never as a hang."""
    if len(data) < 512 or not data.startswith(_OLE_MAGIC):
        raise ValueError("not a compound file")
    shift, mini_shift = struct.unpack_from("<HH", data, 30)
    if shift not in (9, 12) or mini_shift != 6:
        raise ValueError("bad sector size")
    size = 1 << shift
    n_fat, first_dir, _, cutoff, first_minifat, n_minifat, first_difat, n_difat = struct.unpack_from(
        "<IIIIIIII", data, 44
    )
    n_sectors = max(0, -(-(len(data) - size) // size))  # a last sector cut short still counts

    def sector(i: int) -> bytes:
        if i >= n_sectors:
            raise ValueError(f"sector {i} beyond the file")
        return data[(i + 1) * size : (i + 2) * size]

    difat = list(struct.unpack_from("<109I", data, 76))
    nxt, hops = first_difat, 0
    while nxt not in (_FREE, _END) and hops <= n_sectors and n_difat:
        words = struct.unpack(f"<{size // 4}I", sector(nxt))
        difat += words[:-1]
        nxt, hops = words[-1], hops + 1
    fat_sectors = [s for s in difat if s not in (_FREE, _END)][:n_fat]
    fat = b"".join(sector(s) for s in fat_sectors)
    fat_words = struct.unpack(f"<{len(fat) // 4}I", fat)

    def chain(first: int, table: tuple[int, ...], limit: int) -> list[int]:
        out: list[int] = []
        i = first
        while i not in (_FREE, _END):
            if i >= len(table) or len(out) > limit:
                raise ValueError("broken or looping sector chain")
            out.append(i)
            i = table[i]
        return out

    directory = b"".join(sector(s) for s in chain(first_dir, fat_words, n_sectors))
    entries = []
    for off in range(0, len(directory) - 127, 128):
        e = directory[off : off + 128]
        name_len = min(struct.unpack_from("<H", e, 64)[0], 64)
        name = e[: max(0, name_len - 2)].decode("utf-16-le", "replace")
        kind = e[66]
        start, length = struct.unpack_from("<IQ", e, 116)
        entries.append((name, kind, start, length if shift == 12 else length & 0xFFFFFFFF))
    if not entries:
        raise ValueError("no directory")
    streams = {name.lower(): (start, length) for name, kind, start, length in entries if kind == 2}
    found = streams.get("workbook") or streams.get("book")
    if found is None:
        return None
    start, length = found
    if length > len(data) * 64:
        raise ValueError("stream longer than the file")
    if length >= cutoff:
        body = b"".join(sector(s) for s in chain(start, fat_words, n_sectors))
    else:
        root_start = entries[0][2]
        ministream = b"".join(sector(s) for s in chain(root_start, fat_words, n_sectors))
        minifat = (
            b"".join(sector(s) for s in chain(first_minifat, fat_words, n_sectors)) if n_minifat else b""
        )
        minifat_words = struct.unpack(f"<{len(minifat) // 4}I", minifat)
        body = b"".join(
            ministream[i * 64 : (i + 1) * 64] for i in chain(start, minifat_words, len(ministream) // 64)
        )
    return body[:length]


def is_encrypted_ole(path: Path) -> bool:
    """An .xlsx saved with a password is not a zip but an OLE container holding an "EncryptedPackage" stream;
    its directory names it in UTF-16. (A password-protected legacy .xls has a FilePass record instead.)"""
    with path.open("rb") as fh:
        data = fh.read(1 << 20)
    return "EncryptedPackage".encode("utf-16-le") in data


# --- reading -------------------------------------------------------------------------------------------------


def read_workbook(
    path: Path,
    max_unpacked_bytes: int,
    max_rows: int,
    *,
    max_cells: int = MAX_CELLS,
    max_workbook_cells: int = MAX_WORKBOOK_CELLS,
    max_sheets: int = MAX_SHEETS,
    max_string_length: int = MAX_STRING_LENGTH,
) -> RawWorkbook:
    """All sheets of a workbook as rows of values; raises ReadError with a reason a clerk can act on.

    Every limit is checked as early as it can be: what the file declares and how far its cells reach before
    calamine unpacks anything (``scan_workbook``), each sheet's extent from A1 again before its cells become
    Python objects, text lengths before parsing.
    """
    limits = Limits(
        max_unpacked_bytes, max_rows, max_cells, max_workbook_cells, max_sheets, max_string_length
    )
    kind = sniff_format(path)
    if kind is None:
        raise ReadError("not_a_spreadsheet", path.suffix)
    if kind == "ole" and is_encrypted_ole(path):
        raise ReadError("password_protected")
    scan_workbook(path, kind, limits)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # calamine raises several error types, and a Rust panic is a BaseException
        raise ReadError("unreadable", _short(exc)) from exc
    sheets: list[RawSheet] = []
    total = 0
    try:
        visibility = {m.name: str(m.visible).endswith("Visible") for m in wb.sheets_metadata}
        _check_sheet_count(len(wb.sheet_names), limits)
        for name in wb.sheet_names:
            sheet = wb.get_sheet_by_name(name)
            # to_python pads from A1 to the sheet's end: that, not calamine's trimmed height x width, is the size
            end = sheet.end
            extent = SheetExtent(name, name, *((end[0] + 1, end[1] + 1) if end else (0, 0)))
            _check_extent(extent, limits)
            total += extent.cells
            if total > max_workbook_cells:
                raise _over("too_large_workbook", f"{total:,} cells in all", f"{max_workbook_cells:,} cells",
                            total, max_workbook_cells)  # fmt: skip
            rows = [list(r) for r in sheet.to_python(skip_empty_area=False)]
            _check_text_lengths(name, rows, max_string_length)
            merged = list(sheet.merged_cell_ranges or [])
            _fill_merged(name, rows, merged)
            sheets.append(RawSheet(name, rows, visibility.get(name, True), merged))
    except (ReadError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust panic inside calamine is a BaseException, not an Exception
        raise ReadError("unreadable", _short(exc)) from exc
    finally:
        wb.close()
    return RawWorkbook(sheets)


def _check_text_lengths(sheet: str, rows: list[list[Any]], limit: int) -> None:
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str) and len(value) > limit:
                cell = f"{column_letters(c + 1)}{r + 1}"
                raise _over("too_large_text", f"sheet '{sheet}', cell {cell} holds {len(value):,} characters",
                            f"{limit:,} characters", len(value), limit, sheet=sheet, cell=cell)  # fmt: skip


def _fill_merged(
    sheet: str, rows: list[list[Any]], merged: list[tuple[tuple[int, int], tuple[int, int]]]
) -> None:
    """Copy a merged range's top-left value into its other cells, so a merged header reads on every column.

    Ranges are clipped to the sheet. Merged ranges never overlap in a file Excel wrote, so together they cover
    at most the sheet's cells: more than that (thousands of overlapping ranges) is refused, not filled cell by
    cell for hours."""
    grid = sum(len(row) for row in rows)
    covered = 0
    for (r0, c0), (r1, c1) in dict.fromkeys(merged):  # the same range twice is harmless: once is enough
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        r_end, c_end = min(r1, len(rows) - 1), min(c1, len(rows[r0]) - 1)
        covered += max(0, r_end - r0 + 1) * max(0, c_end - c0 + 1)
        if covered > grid:
            raise _corrupt("overlapping_merges", f"sheet '{sheet}': merged ranges cover {covered:,} cells",
                           covered, grid, sheet=sheet)  # fmt: skip
        value = rows[r0][c0]
        for r in range(r0, r_end + 1):
            row = rows[r]
            for c in range(c0, min(c_end, len(row) - 1) + 1):
                if row[c] == "":
                    row[c] = value


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
