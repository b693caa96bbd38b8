"""The data dictionary is written from the warehouse: every mart table and column, the indicators and their rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ictstat.dictionary import render_dictionary, write_data_dictionary


@pytest.fixture(scope="module")
def dictionary(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("docs") / "tu_dien_du_lieu.md"
    assert write_data_dictionary(demo_warehouse, out) == out
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # written atomically: no temporary left
    return out.read_text(encoding="utf-8")


def sections(text: str) -> dict[str, str]:
    """Each "### `schema.table` (kind)" section's text, by qualified name."""
    parts = re.split(r"^### `([\w.]+)` \((?:table|view)\)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_mart_table_view_and_column_is_described(dictionary, demo_db):
    by_table = sections(dictionary)
    columns = demo_db.execute(
        "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
        "WHERE schema_name = 'mart' ORDER BY table_name, column_index"
    ).fetchall()
    mart_objects = demo_db.execute(
        "SELECT count(*) FROM (SELECT table_name FROM duckdb_tables() WHERE schema_name = 'mart' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = 'mart')"
    ).fetchone()[0]
    assert len({t for t, *_ in columns}) == mart_objects >= 16  # tables and appendix views
    for table, column, data_type, comment in columns:
        section = by_table[f"mart.{table}"]
        assert f"| `{column}` | `{data_type}` | {comment} |" in section, f"mart.{table}.{column}"


def test_every_object_of_every_schema_has_a_section_with_its_comment(dictionary, demo_db):
    by_table = sections(dictionary)
    objects = demo_db.execute(
        "SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() "
        "UNION ALL SELECT schema_name || '.' || view_name, comment FROM duckdb_views() WHERE NOT internal"
    ).fetchall()
    assert set(by_table) == {name for name, _ in objects}
    for name, comment in objects:
        assert comment in by_table[name], name
    for schema in ("mart", "ref", "core", "audit", "staging"):
        assert f"## Schema `{schema}`" in dictionary
    assert dictionary.index("## Schema `mart`") < dictionary.index("## Schema `staging`")


def test_the_grain_is_read_from_the_comment(dictionary):
    by_table = sections(dictionary)
    assert (
        "**Khóa / Grain:** `indicator_code`, `period`, `province_code`, `carrier_code`"
        in by_table["mart.carrier_indicators"]
    )
    assert (
        "**Khóa / Grain:** `indicator_code`, `period`, `province_code`"
        in by_table["mart.province_indicators"]
    )
    assert "Grain" not in by_table["mart.reconciliation"]


def test_the_indicator_list_is_complete_with_its_stock_flow_rule(dictionary, demo_db):
    indicators = dictionary[dictionary.index("## Indicators / Chỉ tiêu") : dictionary.index("### Derived")]
    codes = demo_db.execute("SELECT indicator_code, aggregation FROM ref.indicators").fetchall()
    assert len(codes) >= 77
    rows = [line for line in indicators.splitlines() if re.match(r"\| `[A-Z0-9_]+` \| [a-z]+ \|", line)]
    assert len(rows) == len(codes)
    for code, aggregation in codes:
        (row,) = [r for r in rows if r.startswith(f"| `{code}` |")]
        assert f"| {aggregation} |" in row
    assert f"lists {len(codes)} indicators" in indicators
    assert "**stock** (*chỉ tiêu thời điểm*)" in indicators and "**last month**" in indicators
    assert "**flow** (*chỉ tiêu thời kỳ*)" in indicators and "**sum of its months**" in indicators
    mobile = next(r for r in rows if r.startswith("| `TEL_SUBS_MOBILE` |"))
    assert (
        "Thuê bao điện thoại di động" in mobile
        and "| stock |" in mobile
        and "VT-01 (telecom_carrier)" in mobile
    )


def test_derived_rules_are_listed_with_their_expressions(dictionary, demo_db):
    derived = dictionary[dictionary.index("### Derived indicators") :]
    rules = demo_db.execute(
        "SELECT indicator_code, method, expression FROM ref.derived_indicators"
    ).fetchall()
    assert len(rules) == 10
    for code, method, expression in rules:
        assert f"| `{code}` | {method} | `{expression}` |" in derived
    assert (
        "| `POS_SERVICE_RADIUS_KM` | formula | `round(sqrt(area_km2 / (pi() * POS_SERVICE_POINTS)), 2)` |"
        in derived
    )


def test_pipes_and_line_breaks_in_comments_cannot_break_a_table():
    text = render_dictionary(
        "w.duckdb",
        [("mart", "t", "table", "Bảng | with a pipe")],
        [("mart", "t", "c", "VARCHAR", "dòng một\ndòng hai | x")],
        [],
        [],
    )
    assert "| `c` | `VARCHAR` | dòng một dòng hai \\| x |" in text
    assert "Bảng \\| with a pipe" in text
    assert "lists 0 indicators" in text
