"""Zip and XML surgery on .xlsx/.ods packages, for the package-level mutations of ``faults.mutations``.

Byte-level on purpose: a hostile file is not something an XML library would write, so the edits are regular
expressions and hand-packed zip headers (for sizes that lie).
"""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile
import zlib
from collections.abc import Callable

INLINE = re.compile(rb'<c ([^>]*?)t="inlineStr"([^>]*)><is><t[^>]*>(.*?)</t></is></c>', re.S)
_ROOT = re.compile(rb"<([A-Za-z_][\w:.-]*)[\s>/]")


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info.filename) for info in zf.infolist()}


def pack(items: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in items.items():
            zf.writestr(name, data)
    return out.getvalue()


def edit(data: bytes, member: str, fn: Callable[[bytes], bytes]) -> bytes:
    """The package with every member whose name matches the regex ``member`` rewritten by ``fn``."""
    return pack({n: fn(d) if re.fullmatch(member, n) else d for n, d in members(data).items()})


def sheet_members(data: bytes) -> list[str]:
    return sorted(n for n in members(data) if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))


def to_shared_strings(data: bytes) -> bytes:
    """openpyxl writes text inline; Excel writes a shared-string table. Convert, so that table can be broken."""
    items = members(data)
    table: list[bytes] = []

    def shared(m: re.Match[bytes]) -> bytes:
        table.append(m.group(3))
        return b"<c " + m.group(1) + b't="s"' + m.group(2) + b"><v>%d</v></c>" % (len(table) - 1)

    for name in sheet_members(data):
        items[name] = INLINE.sub(shared, items[name])
    head = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    items["xl/sharedStrings.xml"] = (
        head
        + b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">'
        % (len(table), len(table))
        + b"".join(b"<si><t>" + t + b"</t></si>" for t in table)
        + b"</sst>"
    )
    items["xl/_rels/workbook.xml.rels"] = items["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
        b'Target="sharedStrings.xml" Id="rIdSST" /></Relationships>',
    )
    items["[Content_Types].xml"] = items["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sharedStrings+xml"/></Types>',
    )
    return pack(items)


def add_merges(sheet: bytes, extra: bytes) -> bytes:
    if b"</mergeCells>" in sheet:
        return sheet.replace(b"</mergeCells>", extra + b"</mergeCells>", 1)
    return sheet.replace(b"</sheetData>", b"</sheetData><mergeCells>" + extra + b"</mergeCells>", 1)


def nest(xml: bytes, depth: int, rng: random.Random) -> bytes:
    """``depth`` nested elements: in an extension list before the root's end, or inside a cell's text."""
    if b"<is><t>" in xml and rng.random() < 0.5:
        return xml.replace(b"<is><t>", b"<is>" + b"<r>" * depth + b"<t>", 1).replace(
            b"</t></is>", b"</t>" + b"</r>" * depth + b"</is>", 1
        )
    end = xml.rfind(b"</")
    return (
        xml[:end]
        + b'<extLst><ext uri="{x}">'
        + b"<x>" * depth
        + b"</x>" * depth
        + b"</ext></extLst>"
        + xml[end:]
    )


def far_cell(sheet: bytes, rows: bytes, dimension: bytes, alone: bool) -> bytes:
    """The sheet with ``rows`` added (or, ``alone``, instead of its own) and its dimension replaced."""
    sheet = re.sub(rb"<dimension [^>]*/>", dimension, sheet, count=1)
    if alone:
        return re.sub(
            rb"<sheetData>.*</sheetData>", b"<sheetData>" + rows + b"</sheetData>", sheet, count=1, flags=re.S
        )
    return sheet.replace(b"</sheetData>", rows + b"</sheetData>", 1)


def pack_lying(items: dict[str, bytes], victim: str, declared: int, rng: random.Random) -> bytes:
    """A zip whose headers declare ``declared`` unpacked bytes for ``victim`` (in the local header, the central
    directory or both), every other field true."""
    where = rng.choice(["both", "local", "central"])
    out, central = bytearray(), bytearray()
    for name, data in items.items():
        packed = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = packed.compress(data) + packed.flush()
        crc, size, encoded = zlib.crc32(data) & 0xFFFFFFFF, len(data), name.encode()
        local_size = declared if name == victim and where != "central" else size
        central_size = declared if name == victim and where != "local" else size
        offset = len(out)
        out += (
            struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(body), local_size, len(encoded), 0
            )
            + encoded
            + body
        )
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(body),
                central_size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(items), len(items), len(central), len(out), 0)
    return bytes(out + central + end)


def _doctype(xml: bytes, subset: bytes, ref: bytes) -> bytes:
    """Declare ``subset`` in a DOCTYPE before the root element and use ``ref`` in text or an attribute."""
    body_at = xml.find(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    root = _ROOT.search(xml, body_at)
    if root is None:
        return xml
    xml = xml[: root.start()] + b"<!DOCTYPE " + root.group(1) + b" [" + subset + b"]>" + xml[root.start() :]
    for marker in (b"<t>", b"<v>", b' name="', b' ContentType="'):
        if marker in xml:
            return xml.replace(marker, marker + ref, 1)
    return xml


def _laughs(xml: bytes) -> bytes:
    subset = b'<!ENTITY a0 "ha">' + b"".join(
        b'<!ENTITY a%d "%s">' % (i, b"&a%d;" % (i - 1) * 10) for i in range(1, 10)
    )
    return _doctype(xml, subset, b"&a9;")


ENTITY_ATTACKS: dict[str, Callable[[bytes], bytes]] = {
    "billion_laughs": _laughs,
    "quadratic": lambda x: _doctype(x, b'<!ENTITY q "' + b"q" * 100_000 + b'">', b"&q;" * 5_000),
    "external_file": lambda x: _doctype(x, b'<!ENTITY e SYSTEM "file:///etc/passwd">', b"&e;"),
    "external_url": lambda x: _doctype(x, b'<!ENTITY e SYSTEM "http://127.0.0.1:9/x">', b"&e;"),
    "parameter": lambda x: _doctype(x, b'<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;', b""),
}


def _sst(fn: Callable[[bytes], bytes]) -> Callable[[bytes, random.Random], bytes]:
    return lambda data, rng: edit(data, re.escape("xl/sharedStrings.xml"), fn)


def _sheets(fn: Callable[[bytes], bytes]) -> Callable[[bytes, random.Random], bytes]:
    return lambda data, rng: edit(data, r"xl/worksheets/sheet\d+\.xml", fn)


SST_BREAKS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "truncated": lambda d, rng: edit(
        d, re.escape("xl/sharedStrings.xml"), lambda x: x[: rng.randrange(len(x))]
    ),
    "empty": _sst(lambda x: b""),
    "missing": lambda d, rng: pack({n: b for n, b in members(d).items() if n != "xl/sharedStrings.xml"}),
    "index_out_of_range": _sheets(lambda x: re.sub(rb't="s"><v>\d+', b't="s"><v>999999', x, count=3)),
    "negative_index": _sheets(lambda x: re.sub(rb't="s"><v>', b't="s"><v>-', x, count=3)),
    "text_index": _sheets(lambda x: re.sub(rb't="s"><v>\d+', b't="s"><v>abc', x, count=3)),
    "huge_count": _sst(lambda x: re.sub(rb'uniqueCount="\d+"', b'uniqueCount="4294967295"', x)),
    "small_count": _sst(lambda x: re.sub(rb'(unique)?[cC]ount="\d+"', b'count="1"', x)),
    "bad_utf8": _sst(lambda x: x.replace(b"<t>", b"<t>\xc3\x28\xff", 2)),
    "unclosed": _sst(lambda x: x.replace(b"</si>", b"", 3)),
    "junk_after_root": _sst(lambda x: x + b"<sst><si><t>again</t></si></sst>"),
    "rich_runs": _sst(lambda x: x.replace(b"<si><t>", b"<si><r><rPr><b/></rPr><t>x</t></r><t>", 5)),
}
