"""The warehouse's SQL, one file per layer (``sql/NN_<layer>.sql``, run in name order), and its documentation
(``catalog.yml``: every schema, table and column in Vietnamese and English, written as ``COMMENT ON``).
``STEPS`` lists the build in order.

Inputs reach SQL only as registered frames named ``in_*`` (parsed values, submissions, issues, runs,
reference tables): no value is ever pasted into SQL text.
"""

from importlib.resources import files
from pathlib import Path

SQL_DIR = Path(str(files("warehouse") / "sql"))
CATALOG = Path(str(files("warehouse") / "catalog.yml"))


# The build, in order: SQL files of sql/ and steps generated from the rule files of ictstat/refdata
# (see tasks/rules.py): derived indicators (sums at the finest grain, counts of reporters, province formulas)
# and reconciliation rules.
STEPS = [
    "10_reference.sql",
    "20_staging.sql",
    "30_audit.sql",
    "40_core.sql",
    "derived_sums",
    "45_province.sql",
    "derived_counts",
    "derived_formulas",
    "47_completeness.sql",
    "50_mart.sql",
    "reconciliation",
    "60_targets.sql",
    "70_tracking.sql",
    "80_history.sql",
    "90_lineage.sql",
]
