"""ictstat's Prefect deployments, served from one process: the nightly schedule and the backfill form.

This module owns the definition of the two *served* deployments (one machine, no work pool needed); the same
two deployments for a process work pool (workers on other machines) are declared in
``deployments/prefect.yaml``; ``python -m deployments.switch serve|pool`` moves them from one to the other
(serving refuses to start while they are attached to a work pool). ``ictstat serve`` starts a local Prefect
server and serves these; to serve them against a server that is already running::

    PREFECT_API_URL=http://127.0.0.1:4200/api python deployments/serve.py

* ``nightly/nightly`` runs every night at 01:30 giờ Việt Nam (Asia/Ho_Chi_Minh), as its description says; its logical date (which periods are
  over, which deadlines have passed) is the scheduled time of the flow run, so a late or retried run still
  stands for the night it was scheduled for.
* ``backfill/backfill`` has no schedule: an engineer starts it from the Prefect UI ("Run > Custom run"), whose
  form is generated from the flow's parameters.

One writer at a time. Each deployment has a concurrency limit of 1 with the ENQUEUE strategy: a second run of
the same deployment waits in the AwaitingConcurrencySlot state instead of failing. The limit is per
deployment, so it does not keep a backfill from starting while the nightly run is writing; what does is the
OS file lock (flock on ``$ICTSTAT_HOME/.ictstat.lock``) both flows hold from intake to publication: a backfill
waits for a running nightly (and the other way round) across deployments, work pools, machines sharing the
home folder, and runs started from the command line.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron

from deployments.switch import refuse_if_attached_to_a_pool
from flows.backfill import backfill
from flows.nightly import nightly
from ictstat import __version__

NIGHTLY_CRON = "30 1 * * *"
TIMEZONE = "Asia/Ho_Chi_Minh"
TAGS = ["ictstat"]
# The UI shows a cron schedule in UTC unless it is told otherwise: the description says the local time.
SCHEDULE_LABEL = "01:30 giờ Việt Nam (Asia/Ho_Chi_Minh)"
NIGHTLY_DESCRIPTION = (
    f"Hằng đêm lúc {SCHEDULE_LABEL}: nhận các tệp mới trong hộp thư, dựng lại kho dữ liệu từ kho lưu trữ và công "
    "bố. Ngày tính là thời điểm đã lên lịch. / "
    f"Every night at {SCHEDULE_LABEL}: take in the new files of the inbox, rebuild the warehouse from the "
    "archive and publish it. The logical date is the scheduled time."
)
BACKFILL_DESCRIPTION = (
    "Xử lý lại một khoảng kỳ báo cáo cho một số hoặc mọi đơn vị, rồi dựng lại và công bố kho dữ liệu. Bắt đầu "
    "bằng 'Custom run'; hãy thử 'Chạy thử' trước: không thay đổi gì và công bố danh sách tệp sẽ xử lý lại "
    "(artifact ictstat-backfill-preview). / "
    "Reprocess a range of reporting periods for some or all reporters, then rebuild and publish the warehouse. "
    "Start it with 'Custom run'; try 'Dry run' first: it changes nothing and publishes the list of files it "
    "would reprocess (artifact ictstat-backfill-preview)."
)


def one_writer() -> ConcurrencyLimitConfig:
    """One run of a deployment at a time; the next one queues (ENQUEUE) rather than being cancelled."""
    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def deployments() -> list[RunnerDeployment]:
    """The nightly and backfill deployments, as ``prefect.serve`` takes them."""
    # A module path rather than a file path as the entrypoint: the project is installed in its virtualenv, so
    # the flow runs the runner starts import the flows wherever `ictstat serve` was started from.
    return [
        _built(
            nightly.to_deployment(
                name="nightly",
                # to_deployment has no timezone argument: a cron string alone would be read in UTC
                schedules=[Cron(NIGHTLY_CRON, timezone=TIMEZONE)],
                concurrency_limit=one_writer(),
                description=NIGHTLY_DESCRIPTION,
                tags=TAGS,
                version=__version__,
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        ),
        _built(
            backfill.to_deployment(
                name="backfill",
                concurrency_limit=one_writer(),
                description=BACKFILL_DESCRIPTION,
                tags=TAGS,
                version=__version__,
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        ),
    ]


def _built(deployment: RunnerDeployment | Coroutine[Any, Any, RunnerDeployment]) -> RunnerDeployment:
    # to_deployment answers a coroutine when called from async code; from sync code, the deployment itself.
    assert isinstance(deployment, RunnerDeployment), "deployments() must be called from sync code"
    return deployment


def serve_deployments() -> None:
    """Serve both deployments until Ctrl-C or SIGTERM (the API is PREFECT_API_URL's)."""
    # Prefect pauses the schedule when serving stops and resumes it when serving starts again: the UI then shows
    # the nightly deployment as paused while nothing runs it, and the nights missed meanwhile are not caught up
    # one after the other on restart, which is right here because each night's run takes in everything that
    # arrived since the last one.
    # Serving a deployment that is attached to a work pool leaves it there (a worker would take its runs):
    # the switch between the variants is deployments/switch.py's.
    refuse_if_attached_to_a_pool()
    serve(*deployments(), pause_on_shutdown=True)


if __name__ == "__main__":
    serve_deployments()
