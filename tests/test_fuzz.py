"""Hostile workbooks through ``parse_file``, validation and the feedback writer, in a worker that may die.

Every input must end as rows (accepted) or issues (rejected with a reason): never an exception escaping, a
hang or unbounded memory. The worker (``faults.fuzzworker``) runs under a 2.5 GiB address-space limit with a
per-input timeout, so a failure costs a worker, not the test run. The budget is fixed and seeded (Hypothesis
derandomized, mutations from named seeds), so CI tries the same inputs every time; the full campaign (hundreds
of inputs) is ``make reliability``. The bugs found there have their own tests below.
"""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faults import fuzz, fuzzworker, mutations
from faults import xmlparts as parts
from ictstat.settings import load_settings
from tasks.read import Limits, ReadError, SheetExtent, _check_extent, read_workbook, scan_workbook

MUST = ("rows", "issues")
MUTATED_PER_KIND = 3  # seeded inputs per mutation kind in CI (the campaign draws hundreds)


@pytest.fixture(scope="module")
def templates(demo_inbox):
    sources = [next(iter(sorted(demo_inbox.glob(p)))) for p in
               ("vien_thong/2020/12/*.xlsx", "buu_chinh/2020/*.xlsx", "phong_vhtt/2020/*.xlsx")]  # fmt: skip
    return [mutations.load_template(p) for p in sources]


@pytest.fixture(scope="module")
def examiner(tmp_path_factory):
    with fuzz.Examiner(tmp_path_factory.mktemp("fuzz"), timeout=8.0, memory_mb=2560) as ex:
        yield ex


@pytest.fixture(scope="module")
def labels(templates):
    return fuzz.template_labels(templates)


def test_the_worker_parses_with_the_pipelines_own_job(tmp_path):
    from flows.steps import parse_job

    settings = load_settings(home=tmp_path)
    assert fuzzworker.parse_job(settings) == parse_job(settings)


@pytest.mark.parametrize("kind", fuzz.HYPOTHESIS_KINDS)
def test_generated_workbooks_end_as_rows_or_issues(kind, examiner, templates, labels):
    seen: list[str] = []

    @settings(max_examples=25, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(st.data())
    def check(data):
        content, name = fuzz.generate(kind, data, templates, labels)
        verdict = examiner.check(content, name, kind)
        assert verdict.outcome in MUST, verdict.detail
        seen.append(verdict.outcome)

    check()
    assert len(seen) >= 20 and set(seen) == set(MUST)  # both ends were reached, not only one


@pytest.mark.parametrize("kind", sorted(mutations.MUTATIONS))
def test_mutated_templates_end_as_rows_or_issues(kind, examiner, templates):
    for i in range(MUTATED_PER_KIND):
        rng = random.Random(f"test:{kind}:{i}")
        data, name = mutations.MUTATIONS[kind](rng, rng.choice(templates))
        verdict = examiner.check(data, name, kind)
        assert verdict.outcome in MUST, f"{name}: {verdict.detail}"
        assert verdict.peak_mb < 2560


def test_a_truncated_workbook_is_refused_as_unreadable(examiner, templates):
    verdict = examiner.check(templates[0].xlsx[: len(templates[0].xlsx) // 2], "nua_tep.xlsx")
    assert verdict.outcome == "issues" and "could not be read" in verdict.detail


@pytest.mark.parametrize("attack", sorted(parts.ENTITY_ATTACKS))
def test_entities_in_shared_strings_are_never_expanded(attack, examiner, templates):
    data = parts.edit(templates[0].shared, r"xl/sharedStrings\.xml", parts.ENTITY_ATTACKS[attack])
    verdict = examiner.check(data, f"{attack}.xlsx")
    assert verdict.outcome in MUST and verdict.peak_mb < 1024  # never expanded (nor /etc/passwd read: the
    if attack != "parameter":  # worker reports that as an exception); a reference in the text is refused
        assert verdict.outcome == "issues" and "unrecognized entity" in verdict.detail


def test_a_declared_unpacked_size_over_the_limit_is_refused_before_reading(examiner, templates):
    items = parts.members(templates[0].xlsx)
    data = parts.pack_lying(items, "xl/worksheets/sheet2.xml", 200 << 20, random.Random(1))
    verdict = examiner.check(data, "khai_lon.xlsx")
    assert (
        verdict.outcome == "issues" and "too large" in verdict.detail and "bytes unpacked" in verdict.detail
    )


def test_more_sheets_than_the_limit_are_refused(examiner, templates):
    wb = openpyxl.load_workbook(io.BytesIO(templates[0].xlsx))
    for i in range(100):
        wb.create_sheet(f"nháp {i}")
    out = io.BytesIO()
    wb.save(out)
    verdict = examiner.check(out.getvalue(), "nhieu_sheet.xlsx")
    assert verdict.outcome == "issues" and "103 sheets (limit 100 sheets)" in verdict.detail


# --- bugs found by the campaign: each test states what must happen ---------------------------------------


@pytest.mark.parametrize("kind", ["int", "decimal"])
def test_a_number_too_long_for_a_float_is_an_issue(kind):
    """400 digits overflow a float: once an OverflowError out of parse_file for a count, and infinity
    published for an amount. Either way it must be a not-a-number issue."""
    from tasks.numbers import parse_number

    parsed = parse_number("9" * 400, kind)
    assert parsed.value is None and parsed.error == "not_a_number"


def _far_cell_workbook(template: mutations.Template, ref: str, alone: bool = True) -> bytes:
    """The template's data sheet without its ``<dimension>``, with a cell at ``ref`` (alone: only that cell)."""
    row = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    cell = f'<row r="{row}"><c r="{ref}"><v>1</v></c></row>'.encode()
    return parts.edit(
        template.xlsx, r"xl/worksheets/sheet2\.xml", lambda d: parts.far_cell(d, cell, b"", alone=alone)
    )


def test_a_far_cell_beside_the_data_is_refused_within_memory(examiner, templates):
    verdict = examiner.check(_far_cell_workbook(templates[0], "XFD1048576", alone=False), "o_xa_2.xlsx")
    assert verdict.outcome == "issues" and "too large" in verdict.detail


def test_a_lone_cell_far_from_a1_is_refused_within_memory(examiner, templates):
    verdict = examiner.check(_far_cell_workbook(templates[0], "XFD19000"), "o_xa.xlsx")
    assert verdict.outcome == "issues" and "too large" in verdict.detail


def test_a_cell_in_the_last_row_and_column_is_refused(examiner, templates):
    """calamine panics on it (a BaseException, which once escaped read_workbook and failed the run)."""
    verdict = examiner.check(_far_cell_workbook(templates[0], "XFD1048576"), "o_cuoi.xlsx")
    assert verdict.outcome == "issues", verdict.detail


def test_a_huge_declared_shared_string_count_is_refused(examiner, templates):
    verdict = examiner.check(
        parts.SST_BREAKS["huge_count"](templates[0].shared, random.Random(0)), "sst.xlsx"
    )
    assert verdict.outcome == "issues", verdict.detail


def test_a_file_with_an_error_and_a_huge_merged_range_gets_its_feedback(examiner, templates):
    """openpyxl would build 327 million MergedCell objects to mark a copy: the clerk gets the list instead."""
    wb = openpyxl.load_workbook(io.BytesIO(templates[0].xlsx))
    wb.worksheets[1]["E9"] = "12a"
    out = io.BytesIO()
    wb.save(out)
    data = parts.edit(out.getvalue(), r"xl/worksheets/sheet2\.xml",
                      lambda d: parts.add_merges(d, b'<mergeCell ref="H30:XFD20000"/>'))  # fmt: skip
    verdict = examiner.check(data, "gop_o.xlsx")
    assert verdict.outcome == "issues", verdict.detail


def test_an_ods_with_repeated_cells_is_refused_within_memory(examiner, templates):
    bomb = (b'<table:table-row table:number-rows-repeated="6000"><table:table-cell table:number-columns-repeated='
            b'"16384" office:value-type="float" office:value="1"/></table:table-row>')  # fmt: skip
    data = parts.edit(
        templates[0].ods, "content.xml", lambda d: d.replace(b"</table:table>", bomb + b"</table:table>", 1)
    )
    verdict = examiner.check(data, "lap_lai.ods")
    assert verdict.outcome == "issues" and "too large" in verdict.detail


def test_a_legacy_xls_longer_than_the_row_limit_is_refused(tmp_path):
    """In this process: 65,536 rows of 4 columns are affordable; the limit must still refuse them."""
    import xlwt

    from tasks.read import ReadError, read_workbook

    book = xlwt.Workbook(encoding="utf-8")
    book.add_sheet("Thông tin chung").write(0, 0, "Mã biểu mẫu")
    book.add_sheet("Thuê bao - BTS").write(65_535, 3, 1)
    book.save(str(tmp_path / "dai.xls"))
    with pytest.raises(ReadError) as err:
        read_workbook(tmp_path / "dai.xls", 10**8, max_rows=20_000)
    assert err.value.rule == "too_large" and "down to row 65,536" in err.value.detail


def test_saved_inputs_are_valid_zips_or_not_as_intended(templates):
    """The mutations produce what they claim: a truncated zip is not a zip, a byte-flipped one still has
    its members' names (the corruption is inside)."""
    rng = random.Random(3)
    data, _ = mutations.truncated_zip(rng, templates[0])
    assert not zipfile.is_zipfile(io.BytesIO(data)) or len(data) < len(templates[0].xlsx)
    shared = parts.members(templates[0].shared)
    assert "xl/sharedStrings.xml" in shared and re.search(
        rb'<c r="A1"[^>]*t="s"', shared["xl/worksheets/sheet1.xml"]
    )


# --- the pre-read scan (tasks.read.scan_workbook): every way around it that calamine would still follow -------


def _sheet2(template: mutations.Template, fn) -> bytes:
    return parts.edit(template.xlsx, r"xl/worksheets/sheet2\.xml", fn)


@pytest.mark.parametrize(
    ("how", "cell"),
    [
        (
            "no address: placed after the previous cell of a far row",
            b'<row r="1048576"><c t="n"><v>1</v></c></row>',
        ),
        (
            "a namespace prefix calamine ignores",
            b'<x:row r="40000"><x:c r="XFD40000"><x:v>1</x:v></x:c></x:row>',
        ),
        ("the address after another attribute", b'<row r="40000"><c s="0" r="XFD40000"><v>1</v></c></row>'),
        ("a tab before the address", b'<row r="40000"><c\tr="XFD40000"><v>1</v></c></row>'),
    ],
)
def test_a_far_cell_written_unusually_is_still_found(how, cell, examiner, templates):
    data = _sheet2(templates[0], lambda d: d.replace(b"</sheetData>", cell + b"</sheetData>", 1))
    verdict = examiner.check(data, "o_xa_la.xlsx")
    assert verdict.outcome == "issues" and "too large" in verdict.detail, f"{how}: {verdict.detail}"
    assert verdict.peak_mb < 1024


def test_formatted_empty_cells_far_away_do_not_refuse_a_form(examiner, templates):
    """Borders drawn down to row 50,000 leave empty ``<c r=".." s=".."/>`` cells: calamine skips them, and so
    does the limit (the fast scan counts them, then the exact one does not)."""
    borders = b"".join(b'<row r="%d"><c r="G%d" s="1"/></row>' % (r, r) for r in range(30_000, 50_001, 5_000))
    verdict = examiner.check(
        _sheet2(templates[0], lambda d: d.replace(b"</sheetData>", borders + b"</sheetData>", 1)), "vien.xlsx"
    )
    assert verdict.outcome == "rows", verdict.detail


@pytest.mark.parametrize("count", ["&#52;&#50;&#57;&#52;&#57;&#54;&#55;&#50;&#57;&#53;", "+4294967295"])
def test_a_disguised_shared_string_count_is_refused(count, examiner, templates):
    data = parts.edit(
        templates[0].shared,
        r"xl/sharedStrings\.xml",
        lambda x: re.sub(rb'uniqueCount="\d+"', b'uniqueCount="' + count.encode() + b'"', x),
    )
    verdict = examiner.check(data, "sst_an.xlsx")
    assert verdict.outcome == "issues" and "declares" in verdict.detail, verdict.detail


def test_an_ods_with_trailing_empty_repeats_is_read(examiner, templates):
    """What LibreOffice writes after the last row: a million empty repeated rows and a thousand empty
    columns. Nothing there holds a value, so nothing is expanded and nothing is refused."""
    tail = (b'<table:table-row table:number-rows-repeated="1048553"><table:table-cell '
            b'table:number-columns-repeated="1024"/></table:table-row>')  # fmt: skip
    data = parts.edit(
        templates[0].ods, "content.xml", lambda d: d.replace(b"</table:table>", tail + b"</table:table>")
    )
    verdict = examiner.check(data, "libreoffice.ods")
    assert verdict.outcome == "rows", verdict.detail


def test_an_ods_value_after_a_long_empty_repeat_is_found(examiner, templates):
    """Empty repeats before a value are expanded by calamine: they count."""
    row = (b'<table:table-row table:number-rows-repeated="30000"><table:table-cell/></table:table-row>'
           b'<table:table-row><table:table-cell office:value-type="float" office:value="1"/></table:table-row>')  # fmt: skip
    data = parts.edit(
        templates[0].ods, "content.xml", lambda d: d.replace(b"</table:table>", row + b"</table:table>", 1)
    )
    verdict = examiner.check(data, "lap_lai_2.ods")
    assert verdict.outcome == "issues" and "down to row 30,0" in verdict.detail, verdict.detail


def _xls(tmp_path, sheets: dict[str, list[tuple[int, int, object]]]):
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for name, cells in sheets.items():
        ws = book.add_sheet(name)
        for r, c, v in cells:
            ws.write(r, c, v)
    path = tmp_path / "cu.xls"
    book.save(str(path))
    return path


def _patch_record(path, typ: int, fn) -> None:
    """Rewrite the body of the first BIFF record of ``typ`` in place, walking the records from the start of the
    workbook stream (xlwt writes it contiguously from the first sector)."""
    data = bytearray(path.read_bytes())
    at = 512
    while struct.unpack_from("<H", data, at)[0] != typ:
        at += 4 + struct.unpack_from("<H", data, at + 2)[0]
    size = struct.unpack_from("<H", data, at + 2)[0]
    data[at + 4 : at + 4 + size] = fn(bytes(data[at + 4 : at + 4 + size]))
    path.write_bytes(bytes(data))


def test_a_legacy_xls_with_lying_dimensions_is_refused(tmp_path, examiner):
    path = _xls(tmp_path, {"Thông tin chung": [(0, 0, "Mã biểu mẫu")], "Số liệu": [(3, 2, 1)]})
    _patch_record(path, 0x0200, lambda b: struct.pack("<IIHH", 0, 0xFFFFFFF0, 0, 0xFFF0) + b[12:])
    verdict = examiner.check(path.read_bytes(), "cu_kich_thuoc.xls")
    assert verdict.outcome == "issues" and "beyond the format's grid" in verdict.detail, verdict.detail


def test_a_legacy_xls_with_a_huge_string_count_is_refused(tmp_path, examiner):
    path = _xls(tmp_path, {"Thông tin chung": [(0, 0, "Mã biểu mẫu"), (1, 0, "VT-01")]})
    _patch_record(path, 0x00FC, lambda b: b[:4] + struct.pack("<i", 2_000_000_000) + b[8:])
    verdict = examiner.check(path.read_bytes(), "cu_chuoi.xls")
    assert verdict.outcome == "issues" and "declares" in verdict.detail, verdict.detail


def test_a_workbook_over_its_total_cell_limit_is_refused(tmp_path):
    """Each sheet under the per-sheet limit, all of them over the per-file one (calamine builds every sheet of
    an .xls or .ods at once)."""
    path = _xls(tmp_path, {f"S{i}": [(999, 99, i)] for i in range(3)})
    with pytest.raises(ReadError) as err:
        read_workbook(path, 10**8, 20_000, max_cells=200_000, max_workbook_cells=250_000)
    assert err.value.rule == "too_large" and "300,000 cells in all" in err.value.detail
    vi, en = err.value.messages()
    assert "300.000 ô (giới hạn 250.000 ô" in vi and "300,000 cells in all (limit 250,000 cells" in en


def test_overlapping_merged_ranges_are_refused_not_filled_for_hours(examiner, templates):
    merges = b"".join(
        b'<mergeCell ref="A1:G21"/>' if i % 2 else b'<mergeCell ref="A1:G20"/>' for i in range(20_000)
    )
    verdict = examiner.check(_sheet2(templates[0], lambda d: parts.add_merges(d, merges)), "gop_chong.xlsx")
    assert verdict.outcome == "issues" and "merged" in verdict.detail and verdict.seconds < 5, verdict.detail


def _biff12(typ: int, body: bytes) -> bytes:
    head = bytes([typ]) if typ < 0x80 else bytes([(typ & 0x7F) | 0x80, typ >> 7])
    return head + bytes([len(body)]) + body


def test_an_xlsb_cell_far_from_a1_is_found_before_reading(tmp_path):
    """The binary format too: a row header at row 1,048,576 and a number in its last column."""
    records = _biff12(0x00, struct.pack("<I", 1_048_575) + b"\0" * 8) + _biff12(
        0x05, struct.pack("<IIB", 16_383, 0, 0) + struct.pack("<d", 1.0)
    )
    path = tmp_path / "nhi_phan.xlsb"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/workbook.bin", b"")
        zf.writestr("xl/worksheets/sheet1.bin", records)
    with pytest.raises(ReadError) as err:
        scan_workbook(path, "zip", Limits(10**8, 20_000))
    assert err.value.rule == "too_large" and "down to row 1,048,576" in err.value.detail


def test_every_refusal_explains_itself_in_both_languages(examiner, templates):
    """The sheet as the clerk named it, what was found, the limit, what to do; numbers written as each
    language writes them."""
    verdict = examiner.check(_far_cell_workbook(templates[0], "XFD19000"), "o_xa.xlsx")
    assert verdict.detail.startswith(
        "The file is too large: sheet 'Thuê bao - BTS' spans A1:XFD19000, 311,296,000 cells (limit 2,000,000 "
        "cells). Delete the extra rows and columns"
    )
    with pytest.raises(ReadError) as err:
        _check_extent(SheetExtent("x", "Thuê bao - BTS", 19_000, 16_384), Limits(10**8, 20_000))
    vi, _ = err.value.messages()
    assert vi.startswith(
        "Tệp quá lớn: sheet 'Thuê bao - BTS' trải từ ô A1 đến ô XFD19000, tức 311.296.000 ô (giới hạn "
        "2.000.000 ô). Hãy xóa các dòng và cột thừa"
    )


def _compound_file(stream: bytes) -> bytes:
    """A minimal compound file (version 3) whose 'Workbook' stream is small enough for the mini stream."""
    free, end, fat_sector = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
    mini = stream + b"\0" * (-len(stream) % 64)
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\0" * 16, 0x3E, 3,
                         0xFFFE, 9, 6, b"\0" * 6, 0, 1, 1, 0, 4096, 2, 1, end, 0)  # fmt: skip
    header += struct.pack("<109I", 0, *[free] * 108)
    sectors = -(-len(mini) // 512)  # the mini stream's own sectors: 3, 4, ...
    fat = [fat_sector, end, end, *range(4, 3 + sectors), end]
    fat_bytes = struct.pack("<128I", *fat, *[free] * (128 - len(fat)))

    def entry(name: str, kind: int, start: int, size: int, child: int = free) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        # name, its length, type, colour (black), left, right and child siblings, class, state, two times
        head = struct.pack(
            "<64sHBBIII16sI16s", raw, len(raw), kind, 1, free, free, child, b"\0" * 16, 0, b"\0" * 16
        )
        return head + struct.pack("<IQ", start, size)

    root = entry("Root Entry", 5, 3, len(mini), child=1)
    directory = (root + entry("Workbook", 2, 0, len(stream))).ljust(512, b"\0")
    chain = [*range(1, len(mini) // 64), end]
    minifat = struct.pack("<128I", *chain, *[free] * (128 - len(chain)))
    return header + fat_bytes + directory + minifat + mini.ljust(sectors * 512, b"\0")


def _biff(typ: int, body: bytes) -> bytes:
    return struct.pack("<HH", typ, len(body)) + body


def test_a_small_legacy_workbook_is_scanned_through_the_mini_stream(tmp_path):
    """A .xls whose workbook stream is under 4 KB lives in the compound file's mini stream: the scan follows
    that chain too (checked against olefile), and finds the far cell."""
    import olefile

    globals_ = _biff(0x0809, struct.pack("<HH", 0x0600, 5) + b"\0" * 12)
    sheet_at = len(globals_) + len(_biff(0x0085, b"\0" * 10)) + len(_biff(0x000A, b""))
    bound = _biff(0x0085, struct.pack("<IBBBB", sheet_at, 0, 0, 2, 0) + b"S1")
    sheet = _biff(0x0809, struct.pack("<HH", 0x0600, 0x10) + b"\0" * 12) + _biff(
        0x0203, struct.pack("<HHHd", 29_999, 5, 0, 1.0)
    )
    stream = globals_ + bound + _biff(0x000A, b"") + sheet + _biff(0x000A, b"")
    path = tmp_path / "nho.xls"
    path.write_bytes(_compound_file(stream))
    assert olefile.OleFileIO(str(path)).openstream("Workbook").read()[: len(stream)] == stream
    with pytest.raises(ReadError) as err:
        scan_workbook(path, "ole", Limits(10**8, 20_000))
    assert err.value.rule == "too_large" and "sheet 'S1' has cells down to row 30,000" in err.value.detail


def test_formatted_empty_cells_count_exactly_before_a_workbook_is_refused(tmp_path):
    """The fast scan counts empty formatted cells as an upper bound; before the per-file limit refuses a
    workbook, its sheets are counted exactly (a bordered but empty area holds nothing)."""
    from openpyxl.styles import Border, Side

    wb = openpyxl.Workbook()
    for i in range(3):
        ws = wb.active if i == 0 else wb.create_sheet(f"S{i}")
        ws["A1"] = i
        ws["Z1000"].border = Border(top=Side(style="thin"))
    wb.save(tmp_path / "vien.xlsx")
    limits = Limits(10**8, 20_000, max_cells=30_000, max_workbook_cells=50_000)
    scan = scan_workbook(tmp_path / "vien.xlsx", "zip", limits)  # 3 x 26,000 cells at first sight
    assert scan.cells <= 50_000 and [s.cells for s in scan.sheets if s.exact] == [1, 1]
    assert [s.name for s in read_workbook(tmp_path / "vien.xlsx", 10**8, 20_000, max_cells=30_000,
                                          max_workbook_cells=50_000).sheets] == ["Sheet", "S1", "S2"]  # fmt: skip
