"""The data dictionary of a warehouse, written as Markdown from the warehouse itself.

Owned here: turning what a built warehouse says about itself (the ``COMMENT``s on every table, view and column,
``ref.indicators`` and ``ref.derived_indicators``) into one document an analyst can read or print. Nothing
is taken from ``warehouse/catalog.yml`` directly: if a comment did not reach the file, the dictionary shows
that, which is what the analyst opening the file would see too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import duckdb

from ictstat.xlsx import save_atomically

# Analysts' tables first, then the layers they are built from (the build runs ref -> staging -> audit -> core).
SCHEMA_ORDER = ("mart", "ref", "core", "audit", "staging")

# The grain is stated in the English half of a comment: "... Key: indicator_code, period, carrier_code".
_GRAIN = re.compile(r"\bKey:\s*([\w, ]+)")

_OBJECTS_SQL = """
SELECT schema_name, table_name, 'table', comment FROM duckdb_tables()
WHERE database_name = current_database() AND NOT internal AND NOT temporary
UNION ALL
SELECT schema_name, view_name, 'view', comment FROM duckdb_views()
WHERE database_name = current_database() AND NOT internal AND NOT temporary
"""
_COLUMNS_SQL = """
SELECT schema_name, table_name, column_name, data_type, comment FROM duckdb_columns()
WHERE database_name = current_database() AND NOT internal
ORDER BY schema_name, table_name, column_index
"""
_INDICATORS_SQL = """
SELECT indicator_code, domain, name_vi, name_en, unit, unit_vi, aggregation, source_kind, source_form, derivation
FROM ref.indicators ORDER BY domain, indicator_code
"""
_DERIVED_SQL = "SELECT indicator_code, method, expression, note FROM ref.derived_indicators ORDER BY method, indicator_code"

STOCK_FLOW_RULE = """\
Each indicator has an aggregation rule, which decides how months add up to a quarter, a half and a year
(*cách cộng dồn*):

- **stock** (*chỉ tiêu thời điểm*): a count at a point in time (subscribers, BTS sites, service points).
  A quarter, half or year takes the value of its **last month**; months are never added up.
- **flow** (*chỉ tiêu thời kỳ*): an amount over time (revenue, budget payments, dossiers).
  A quarter, half or year is the **sum of its months**.
- **derived** (*chỉ tiêu tính toán*): computed in SQL from other indicators and reference data by a rule of
  `ref.derived_indicators` (below), never typed in.

An annual or six-month form feeds only its own period: a district office's annual figure is the year's
figure and is never added to its six-month one. Money reported in million VND is published in the
indicator's unit (billion VND).
"""


def write_data_dictionary(warehouse: Path, out: Path) -> Path:
    """Write the Markdown data dictionary of ``warehouse`` to ``out`` (atomically) and return ``out``."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        objects = con.execute(_OBJECTS_SQL).fetchall()
        columns = con.execute(_COLUMNS_SQL).fetchall()
        indicators = con.execute(_INDICATORS_SQL).fetchall()
        derived = con.execute(_DERIVED_SQL).fetchall()
    text = render_dictionary(warehouse.name, objects, columns, indicators, derived)
    return save_atomically(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def render_dictionary(
    warehouse_name: str,
    objects: list[tuple],
    columns: list[tuple],
    indicators: list[tuple],
    derived: list[tuple],
) -> str:
    by_table: dict[tuple[str, str], list[tuple]] = {}
    for schema, table, name, data_type, comment in columns:
        by_table.setdefault((schema, table), []).append((name, data_type, comment))
    schemas = sorted({o[0] for o in objects}, key=_schema_rank)
    lines = [
        "# Từ điển dữ liệu / Data dictionary",
        "",
        f"Generated from the warehouse `{warehouse_name}` itself: every table, view and column with its comment "
        "(Vietnamese / English). Open the warehouse read-only: "
        "`duckdb.connect(path, read_only=True)`.",
        "",
        "Contents: " + ", ".join(f"[`{s}`](#schema-{s})" for s in schemas) + ", [Indicators](#indicators).",
        "",
    ]
    for schema in schemas:
        lines += [f'<a id="schema-{schema}"></a>', "", f"## Schema `{schema}`", ""]
        for _, table, kind, comment in sorted(o for o in objects if o[0] == schema):
            lines += _table_section(schema, table, kind, comment, by_table.get((schema, table), []))
    lines += _indicator_section(indicators, derived)
    return "\n".join(lines).rstrip() + "\n"


def _table_section(
    schema: str, table: str, kind: str, comment: str | None, columns: list[tuple]
) -> list[str]:
    lines = [f"### `{schema}.{table}` ({kind})", "", _cell(comment) or "_No comment in the warehouse._", ""]
    grain = _GRAIN.search(comment or "")
    if grain:
        keys = ", ".join(f"`{k.strip()}`" for k in grain.group(1).split(",") if k.strip())
        lines += [f"**Khóa / Grain:** {keys}", ""]
    lines += _markdown_table(
        ["Column", "Type", "Description"], ([f"`{n}`", f"`{t}`", _cell(c)] for n, t, c in columns)
    )
    return [*lines, ""]


def _indicator_section(indicators: list[tuple], derived: list[tuple]) -> list[str]:
    counts: dict[str, int] = {}
    for row in indicators:
        counts[row[6]] = counts.get(row[6], 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    lines = [
        '<a id="indicators"></a>',
        "",
        "## Indicators / Chỉ tiêu",
        "",
        f"`ref.indicators` lists {len(indicators)} indicators ({summary}).",
        "",
        STOCK_FLOW_RULE,
    ]
    lines += _markdown_table(
        [
            "Code",
            "Domain",
            "Tên chỉ tiêu",
            "Name",
            "Unit / Đơn vị tính",
            "Aggregation",
            "Source",
            "Derivation",
        ],
        (_indicator_row(row) for row in indicators),
    )
    lines += [
        "",
        "### Derived indicators / Chỉ tiêu tính toán",
        "",
        "`sum`: the indicators added up at the finest grain (so every carrier, district and the province has "
        "it); `count_reporters`: reporters of that kind with a current submission in the period; `formula`: a "
        "province-level expression of indicator codes and `area_km2`, `days_in_period`, `communes_total`.",
        "",
    ]
    lines += _markdown_table(
        ["Code", "Method", "Expression", "Note"],
        (
            [f"`{code}`", method, f"`{_cell(expression)}`", _cell(note)]
            for code, method, expression, note in derived
        ),
    )
    return lines


def _indicator_row(row: tuple) -> list[str]:
    code, domain, name_vi, name_en, unit, unit_vi, aggregation, source_kind, source_form, derivation = row
    source = f"{source_form} ({source_kind})" if source_form else source_kind
    cells = [domain, name_vi, name_en, f"{unit} / {unit_vi}", aggregation, source, derivation]
    return [f"`{code}`", *(_cell(c) for c in cells)]


def _markdown_table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _cell(text: object) -> str:
    """Text for a Markdown table cell: one line, pipes escaped (a comment may legitimately contain one)."""
    if text is None:
        return ""
    return " ".join(str(text).split()).replace("|", "\\|")


def _schema_rank(schema: str) -> tuple[int, str]:
    return (SCHEMA_ORDER.index(schema) if schema in SCHEMA_ORDER else len(SCHEMA_ORDER), schema)
