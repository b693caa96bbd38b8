"""Read a workbook into plain rows of cell values, with its sheets' visibility and merged ranges filled.

Calamine reads .xlsx, .xlsm, .xlsb, .xls (BIFF8) and .ods quickly and returns cached values for formulas.
Before anything is unpacked, the zip's declared sizes are checked against the configured limit: a 200 KB
file can unpack to millions of rows.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

SPREADSHEET_EXTENSIONS = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class ReadError(Exception):
    """A file that cannot be read as a workbook; ``rule`` names the reason for the ledger."""

    def __init__(self, rule: str, detail: str = "", expected: str = "") -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail
        self.expected = expected


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


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="([A-Z]+)(\d+):?([A-Z]*)(\d*)"')
# Excel's own limit on a cell's text; longer text is not something a person typed into a form
MAX_STRING_LENGTH = 32_767


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.decode():
        n = n * 26 + ord(ch) - 64
    return n


def check_zip_before_reading(path: Path, max_unpacked: int, max_rows: int, max_cells: int = 2_000_000) -> int:
    """Check what a zip-based workbook declares before anything is unpacked.

    The sum of the members' declared sizes must stay under ``max_unpacked`` (a 200 KB file can unpack to
    1.2 GB), and every worksheet's declared dimension (``<dimension ref="A1:D8000000"/>``, in the first bytes of
    the sheet) under ``max_rows``. Returns the declared unpacked size.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(info.file_size for info in infos)
            if total > max_unpacked:
                raise ReadError("too_large", f"{total:,} bytes unpacked", f"{max_unpacked:,} bytes")
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with zf.open(info) as fh:
                        head = fh.read(4096)
                    m = _DIMENSION.search(head)
                    if m is None:
                        continue
                    sheet = info.filename.rsplit("/", 1)[-1]
                    last_col, last_row = m.group(3) or m.group(1), int(m.group(4) or m.group(2))
                    if last_row > max_rows:
                        raise ReadError(
                            "too_large", f"{sheet} declares {last_row:,} rows", f"{max_rows:,} rows"
                        )
                    if last_row * _column_number(last_col) > max_cells:
                        raise ReadError(
                            "too_large",
                            f"{sheet} declares {last_row * _column_number(last_col):,} cells",
                            f"{max_cells:,} cells",
                        )
    except zipfile.BadZipFile as exc:
        raise ReadError("unreadable", f"corrupt or truncated zip ({exc})") from exc
    except (OSError, zlib.error, EOFError) as exc:
        raise ReadError("unreadable", f"corrupt or truncated zip ({exc})") from exc
    return total


def is_encrypted_ole(path: Path) -> bool:
    """An .xlsx saved with a password is not a zip but an OLE container holding an "EncryptedPackage" stream;
    its directory names it in UTF-16. (A password-protected legacy .xls is refused by calamine itself.)"""
    with path.open("rb") as fh:
        data = fh.read(1 << 20)
    return "EncryptedPackage".encode("utf-16-le") in data


def read_workbook(
    path: Path,
    max_unpacked_bytes: int,
    max_rows: int,
    *,
    max_cells: int = 2_000_000,
    max_sheets: int = 100,
    max_string_length: int = MAX_STRING_LENGTH,
) -> RawWorkbook:
    """All sheets of a workbook as rows of values; raises ReadError with a reason a clerk can act on.

    Every limit is checked as early as it can be: zip sizes and declared dimensions before anything is
    unpacked, a sheet's size before its cells become Python objects, text lengths before parsing.
    """
    kind = sniff_format(path)
    if kind is None:
        raise ReadError("not_a_spreadsheet", path.suffix)
    if kind == "zip":
        check_zip_before_reading(path, max_unpacked_bytes, max_rows, max_cells)
    elif is_encrypted_ole(path):
        raise ReadError("password_protected")
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # calamine raises several error types, and a Rust panic is a BaseException
        raise ReadError("unreadable", _short(exc)) from exc
    sheets: list[RawSheet] = []
    try:
        visibility = {m.name: str(m.visible).endswith("Visible") for m in wb.sheets_metadata}
        if len(wb.sheet_names) > max_sheets:
            raise ReadError("too_large", f"{len(wb.sheet_names)} sheets", f"{max_sheets} sheets")
        for name in wb.sheet_names:
            sheet = wb.get_sheet_by_name(name)
            if sheet.height > max_rows:
                raise ReadError(
                    "too_large", f"sheet '{name}' has {sheet.height:,} rows", f"{max_rows:,} rows"
                )
            if sheet.height * sheet.width > max_cells:
                raise ReadError(
                    "too_large",
                    f"sheet '{name}' has {sheet.height * sheet.width:,} cells",
                    f"{max_cells:,} cells",
                )
            rows = [list(r) for r in sheet.to_python(skip_empty_area=False)]
            _check_text_lengths(name, rows, max_string_length)
            merged = list(sheet.merged_cell_ranges or [])
            _fill_merged(rows, merged)
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
                from openpyxl.utils import get_column_letter

                raise ReadError(
                    "too_large",
                    f"sheet '{sheet}', cell {get_column_letter(c + 1)}{r + 1} holds {len(value):,} characters",
                    f"{limit:,} characters",
                )


def _fill_merged(rows: list[list[Any]], merged: list[tuple[tuple[int, int], tuple[int, int]]]) -> None:
    """Copy a merged range's top-left value into its other cells, so a merged header reads on every column."""
    for (r0, c0), (r1, c1) in merged:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                if rows[r][c] == "":
                    rows[r][c] = value


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
