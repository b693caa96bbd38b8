"""Serve ictstat's deployments from this process (one machine, no work pool needed).

    PREFECT_API_URL=http://127.0.0.1:4200/api python deployments/serve.py

``nightly/nightly`` runs at 01:30 every night, Asia/Ho_Chi_Minh time; its logical date is the scheduled time.
"""

from __future__ import annotations

from prefect import serve

from flows.nightly import nightly

NIGHTLY_CRON = "30 1 * * *"
TIMEZONE = "Asia/Ho_Chi_Minh"


def deployments() -> list:
    return [
        nightly.to_deployment(
            name="nightly",
            cron=NIGHTLY_CRON,
            timezone=TIMEZONE,
            description="Ingest new files, rebuild the warehouse from the archive and publish it.",
            tags=["ictstat"],
        )
    ]


if __name__ == "__main__":
    serve(*deployments())
