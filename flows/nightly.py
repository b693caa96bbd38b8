"""The nightly flow: pick up whatever arrived, load it, rebuild the warehouse and publish it.

Run it with ``ictstat run``, ``python -m flows.nightly`` or as the ``nightly/nightly`` deployment (01:30 giờ Việt
Nam (Asia/Ho_Chi_Minh) every night). The logical date (which periods are over, which deadlines have passed) is the
scheduled time of the flow run in Asia/Ho_Chi_Minh, not the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from prefect import flow
from prefect.runtime import flow_run
from pydantic import Field, WithJsonSchema

from flows import steps
from flows.notify import notify_failure
from flows.pipeline import run_pipeline
from flows.reports import ending, state_message
from ictstat import reference
from ictstat.periods import LOCAL_TZ, check_logical_date
from ictstat.settings import load_settings


def logical_date(explicit: date | None = None) -> date:
    """The day the run stands for: an explicit date, else the flow run's scheduled time, else today (local)."""
    if (
        explicit is not None
    ):  # typed by a person (--as-of, the UI's form): within the years the register knows
        return check_logical_date(explicit, reference.first_year())
    scheduled = flow_run.scheduled_start_time
    when = scheduled if isinstance(scheduled, datetime) else datetime.now(UTC)
    return when.astimezone(LOCAL_TZ).date()


# Shown as one date field (a date picker) in the UI rather than a "date | None" switch. The schema keeps the
# default null, which the form cannot send as a date: a custom run from the form names its day (today for a
# run now), while scheduled runs and API calls without it take their scheduled day. (Prefect reads only a dict
# json_schema_extra, so the default cannot be dropped; a ["string", "null"] type shows no control at all.)
AsOf = Annotated[date | None, WithJsonSchema({"type": "string", "format": "date"})]


@flow(name="nightly", log_prints=False, on_failure=[notify_failure], on_crashed=[notify_failure])
def nightly(
    as_of: AsOf = Field(
        default=None,
        description="The day the run stands for (periods ending on or after it are refused as not yet over). "
        "In a custom run pick it (today for a run now); scheduled runs leave it empty and take their "
        "scheduled day.",
        json_schema_extra={"title": "Ngày tính / As of"},
    ),
    kind: Literal["nightly", "manual"] = Field(
        default="nightly",
        description="Recorded in audit.runs: nightly (the schedule) or manual (started by hand).",
        json_schema_extra={"title": "Loại lần chạy / Kind of run"},
    ),
) -> steps.RunSummary:
    """Ingest new files from the inbox, rebuild the warehouse from the archive and publish it.

    A run with nothing new to take in, on a day that changes no period's or deadline's state, leaves the
    published warehouse as it is (recorded as ``unchanged`` in audit.runs); a backfill always rebuilds. The
    run ends with a message saying what happened and which files were rejected.
    """
    settings = load_settings()
    summary = run_pipeline(
        settings, logical_date(as_of), kind, progress_key="nightly-progress", skip_if_unchanged=True
    )
    return ending(state_message(summary), summary)


if __name__ == "__main__":  # the same as `ictstat run`, with its arguments, fast path and messages
    from ictstat.cli import app

    app(["run", *__import__("sys").argv[1:]], prog_name="python -m flows.nightly")
