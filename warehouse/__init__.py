"""The warehouse's SQL, one file per layer (``sql/NN_<layer>.sql``, run in name order), and its documentation
(``catalog.yml``: every schema, table and column in Vietnamese and English, written as ``COMMENT ON``).

Inputs reach SQL only as registered frames named ``in_*`` (parsed values, submissions, issues, runs,
reference tables): no value is ever pasted into SQL text.
"""

from importlib.resources import files
from pathlib import Path

SQL_DIR = Path(str(files("warehouse") / "sql"))
CATALOG = Path(str(files("warehouse") / "catalog.yml"))


def sql_files() -> list[Path]:
    return sorted(SQL_DIR.glob("*.sql"))
