"""Every table, view and column analysts can see carries a comment in Vietnamese and English."""

from __future__ import annotations


def test_every_table_and_view_has_a_comment(demo_db):
    missing = demo_db.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE comment IS NULL OR comment = '' "
        "UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views() "
        "WHERE NOT internal AND (comment IS NULL OR comment = '')"
    ).fetchall()
    assert missing == []


def test_every_column_has_a_comment(demo_db):
    missing = demo_db.execute(
        "SELECT c.schema_name || '.' || c.table_name || '.' || c.column_name FROM duckdb_columns() c "
        "WHERE NOT c.internal AND (c.comment IS NULL OR c.comment = '') ORDER BY 1"
    ).fetchall()
    assert missing == []


def test_comments_are_bilingual(demo_db):
    comment = demo_db.execute(
        "SELECT comment FROM duckdb_columns() WHERE schema_name = 'mart' AND table_name = 'province_indicators' "
        "AND column_name = 'yoy_change_pct'"
    ).fetchone()[0]
    assert (
        comment
        == "Tăng/giảm so với cùng kỳ năm trước (%) / Change against the same period a year earlier (%)"
    )
