"""ictstat: spreadsheets from a provincial ICT department's reporters, turned into a DuckDB warehouse.

The package holds what is shared by the Prefect flows (``flows``), the pipeline steps (``tasks``), the
Pandera schemas (``schemas``) and the warehouse SQL (``warehouse``): settings, reference data, periods,
the template registry, demo data and the command line.
"""

__version__ = "0.1.0"
