"""Clean demo workbooks rewritten the way clerks really send them.

Each mess is a small function over an openpyxl workbook (or over a saved file, for format changes) so that
tests can apply one at a time and the demo inbox can be rewritten with a random mix of them. None of them
changes a figure: a messy inbox must publish exactly what the clean one does.
"""

from __future__ import annotations

import random
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path

import openpyxl
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from ictstat.text import fold

LETTERHEAD = ("TẬP ĐOÀN BƯU CHÍNH VIỄN THÔNG", "CHI NHÁNH BÌNH PHƯỚC", "Số: 123/BC-CN")


def _data_sheets(wb: Workbook) -> list[Worksheet]:
    return [ws for ws in wb.worksheets if fold(ws.title) != "thong tin chung"]


def _unmerge_all(ws: Worksheet) -> None:
    for rng in list(ws.merged_cells.ranges):
        ws.unmerge_cells(str(rng))


def letterhead(wb: Workbook) -> None:
    """Paste the branch's letterhead above every sheet."""
    for ws in wb.worksheets:
        _unmerge_all(ws)
        ws.insert_rows(1, len(LETTERHEAD) + 1)
        for i, text in enumerate(LETTERHEAD, start=1):
            ws.cell(i, 1, text)


def headers_without_diacritics(wb: Workbook) -> None:
    """Retype header labels without diacritics, in capitals, with a line break and double spaces."""
    for ws in _data_sheets(wb):
        for row in ws.iter_rows(max_row=12):
            for cell in row:
                if isinstance(cell.value, str) and len(cell.value) > 12 and not cell.value.isupper():
                    words = fold(cell.value).upper().split(" ")
                    cell.value = (
                        "  ".join(words[: len(words) // 2]) + "\n" + " ".join(words[len(words) // 2 :])
                    )


def decomposed_unicode(wb: Workbook) -> None:
    """Every text cell in NFD (as some Mac and web tools save it)."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and not cell.value.startswith("="):
                    cell.value = unicodedata.normalize("NFD", cell.value)


def numbers_as_text(wb: Workbook) -> None:
    """Type numbers as Vietnamese text ("1.294.026", "226,5"), some with spaces between groups."""
    for ws in _data_sheets(wb):
        for row in ws.iter_rows():
            for i, cell in enumerate(row):
                v = cell.value
                if isinstance(v, (int, float)) and not isinstance(v, bool) and (cell.column or 0) > 3:
                    if float(v).is_integer():
                        text = f"{int(v):,}".replace(",", " " if i % 2 else ".")
                    else:
                        text = f"{v:,.3f}".rstrip("0").rstrip(".").replace(",", " ").replace(".", ",")
                    cell.value = text


def blank_rows_and_signature(wb: Workbook) -> None:
    """A blank row inside the data, a note and a signature block below it."""
    for ws in _data_sheets(wb):
        _unmerge_all(ws)
        ws.insert_rows(9)
        last = ws.max_row + 2
        ws.cell(last, 1, "Ghi chú: số liệu đã được đối chiếu với hệ thống tính cước.")
        ws.cell(last + 2, 2, "Người lập biểu")
        ws.cell(last + 2, 5, "Thủ trưởng đơn vị")
        ws.cell(last + 5, 2, "Nguyễn Văn A")


def scratch_and_hidden_sheets(wb: Workbook) -> None:
    """A scratch sheet first, and a hidden stale copy of a data sheet."""
    scratch = wb.create_sheet("Sheet1", 0)
    scratch["A1"] = "nháp"
    scratch["B2"] = 12345
    source = _data_sheets(wb)[-1] if len(_data_sheets(wb)) > 1 else None
    if source is not None:
        copy = wb.copy_worksheet(source)
        copy.title = "cu (2)"
        for row in copy.iter_rows():
            for cell in row:
                if isinstance(cell.value, (int, float)) and (cell.column or 0) > 3:
                    cell.value = cell.value * 2  # stale figures that must not be read
        copy.sheet_state = "hidden"


WORKBOOK_MESSES: dict[str, Callable[[Workbook], None]] = {
    "letterhead": letterhead,
    "headers_without_diacritics": headers_without_diacritics,
    "decomposed_unicode": decomposed_unicode,
    "numbers_as_text": numbers_as_text,
    "blank_rows_and_signature": blank_rows_and_signature,
    "scratch_and_hidden_sheets": scratch_and_hidden_sheets,
}


def save_as_xls(wb: Workbook, path: Path) -> Path:
    """Save cell values as a legacy BIFF8 .xls (what an old office PC's Excel writes)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for ws in wb.worksheets:
        sheet = book.add_sheet(ws.title[:31])
        if ws.sheet_state != "visible":
            sheet.visibility = 1
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    value = cell.value if isinstance(cell.value, (int, float, str)) else str(cell.value)
                    sheet.write(cell.row - 1, cell.column - 1, value)
    book.save(str(path))
    return path


def save_as_ods(wb: Workbook, path: Path) -> Path:
    """Save cell values as OpenDocument (.ods), as LibreOffice users send it."""
    import pandas as pd

    with pd.ExcelWriter(path, engine="odf") as writer:
        for ws in wb.worksheets:
            rows = [[c.value for c in row] for row in ws.iter_rows()]
            pd.DataFrame(rows).to_excel(writer, sheet_name=ws.title, header=False, index=False)
    return path


def messy_copy(source: Path, target_dir: Path, rng: random.Random, name: str) -> Path:
    """A messy rewrite of one workbook: two or three messes, then maybe another format and a meaningless name."""
    wb = openpyxl.load_workbook(source)
    for key in rng.sample(sorted(WORKBOOK_MESSES), k=rng.randint(2, 3)):
        WORKBOOK_MESSES[key](wb)
    target_dir.mkdir(parents=True, exist_ok=True)
    fmt = rng.choices(["xlsx", "xls", "ods"], weights=[6, 3, 1])[0]
    path = target_dir / f"{name}.{fmt}"
    if fmt == "xls":
        return save_as_xls(wb, path)
    if fmt == "ods":
        return save_as_ods(wb, path)
    wb.save(path)
    return path


def rewrite_inbox(
    clean: Path, messy: Path, seed: int = 7, share: float = 1.0, sources: dict[Path, Path] | None = None
) -> list[Path]:
    """Rewrite ``share`` of a clean inbox's files messily into ``messy`` (the rest copied as they are), under
    names that mean nothing ("bao cao (3).xlsx"), in other folders, with a byte-identical copy here and there;
    ``sources`` (when given) is filled with each file written and the clean file it came from."""
    rng = random.Random(seed)
    written: list[Path] = []
    for i, path in enumerate(sorted(clean.rglob("*.xlsx"))):
        folder = messy / rng.choice(["email", "zalo", "usb/thang moi", "."])
        if rng.random() < share:
            written.append(messy_copy(path, folder, rng, f"bao cao ({i})"))
        else:
            folder.mkdir(parents=True, exist_ok=True)
            written.append(Path(shutil.copy(path, folder / f"BC {i}.xlsx")))
        if rng.random() < 0.05:  # sent twice
            written.append(
                Path(shutil.copy(written[-1], written[-1].with_name("Copy of " + written[-1].name)))
            )
        if sources is not None:
            sources.update({w: path for w in written if w not in sources})
    return written
