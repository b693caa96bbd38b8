"""Prefect flows: they take parameters and sequence the steps of ``tasks``; no data work happens here.

Importing this package sets the Prefect defaults ictstat relies on (before Prefect itself is imported):
no analytics calls (this network has none) and quiet ephemeral-server logs. An explicit environment wins.
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_INTERNAL_LEVEL", "ERROR")
