"""Prefect flows: they take parameters and sequence the steps of ``tasks``; no data work happens here.

Importing this package sets the Prefect defaults ictstat relies on (before Prefect itself is imported):
no analytics calls (this network has none), quiet ephemeral-server logs, and a temporary server that is given
time to start. Every entry point passes through here (``ictstat``, ``python -m flows.*``, a worker loading a
deployment). An explicit environment wins.

Why the start-up limit: without ``PREFECT_API_URL`` a flow runs against a temporary server that Prefect starts
in a subprocess and waits for, 20 s by default. Its first start on a fresh Prefect home also creates and migrates
its SQLite database; on a busy 2-core machine that took 19-29 s, so a newcomer's first ``make demo`` failed after
all the installing. A server that truly cannot start still fails, after ``EPHEMERAL_STARTUP_SECONDS``, with one
sentence from the command line (:func:`ictstat.cli.run`).
"""

import os

EPHEMERAL_STARTUP_SECONDS = 600

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_INTERNAL_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(EPHEMERAL_STARTUP_SECONDS))
if not os.environ.get("PREFECT_API_URL"):
    # the same temporary server answers slowly while the machine is busy (a request timed out after the default
    # 60 s during a first `make demo` beside two CPU-bound processes); a configured server keeps its default
    os.environ.setdefault("PREFECT_API_REQUEST_TIMEOUT", str(EPHEMERAL_STARTUP_SECONDS))
