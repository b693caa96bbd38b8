"""The nightly flow: pick up whatever arrived, load it, rebuild the warehouse and publish it.

Run it with ``ictstat run``, ``python -m flows.nightly`` or as the ``nightly/nightly`` deployment (01:30 every
night, Asia/Ho_Chi_Minh). The logical date (which periods are over, which deadlines have passed) is the
scheduled time of the flow run in Asia/Ho_Chi_Minh, not the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.runtime import flow_run

from flows import steps
from flows.notify import notify_failure
from flows.pipeline import run_pipeline
from ictstat import reference
from ictstat.periods import check_logical_date
from ictstat.settings import load_settings

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def logical_date(explicit: date | None = None) -> date:
    """The day the run stands for: an explicit date, else the flow run's scheduled time, else today (local)."""
    if (
        explicit is not None
    ):  # typed by a person (--as-of, the UI's form): within the years the register knows
        return check_logical_date(explicit, reference.first_year())
    scheduled = flow_run.scheduled_start_time
    when = scheduled if isinstance(scheduled, datetime) else datetime.now(UTC)
    return when.astimezone(LOCAL_TZ).date()


@flow(name="nightly", log_prints=False, on_failure=[notify_failure], on_crashed=[notify_failure])
def nightly(as_of: date | None = None, kind: str = "nightly") -> steps.RunSummary:
    """Ingest new files from the inbox, rebuild the warehouse from the archive and publish it.

    A run with nothing new to take in, on a day that changes no period's or deadline's state, leaves the
    published warehouse as it is (recorded as ``unchanged`` in audit.runs); a backfill always rebuilds.

    Args:
        as_of: the logical date of the run (periods ending on or after it are refused as not yet over);
            empty means the scheduled time of this run.
        kind: recorded in audit.runs (nightly, manual).
    """
    settings = load_settings()
    return run_pipeline(
        settings, logical_date(as_of), kind, progress_key="nightly-progress", skip_if_unchanged=True
    )


if __name__ == "__main__":
    nightly(kind="manual")
