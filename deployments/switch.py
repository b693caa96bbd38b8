"""The one way to move ictstat's two deployments between their variants: served (``ictstat serve``) and the
process work pool (``deployments/prefect.yaml``).

This module owns the switch. Both variants register deployments of the same names (``nightly/nightly``,
``backfill/backfill``), and Prefect updates a deployment in place: re-serving a work-pool deployment leaves it
attached to the pool (a running ``prefect worker`` then takes its runs away from ``ictstat serve``), and
stopping ``ictstat serve`` pauses the nightly schedule. So::

    python -m deployments.switch serve   # delete the work-pool variant; then start `ictstat serve`
    python -m deployments.switch pool    # after `ictstat serve` is stopped: deploy prefect.yaml, resume both

``ictstat serve`` refuses to start while a deployment of the same name is attached to a work pool
(:func:`refuse_if_attached_to_a_pool`), and ``pool`` refuses while a runner still serves them (not paused,
polled in the last minute). Both read ``PREFECT_API_URL``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client

NAMES = ("nightly/nightly", "backfill/backfill")
CHECKOUT = Path(__file__).resolve().parents[1]
SERVED_RECENTLY = timedelta(seconds=60)  # a runner polls every few seconds; a minute of silence: it is gone


class SwitchRefused(RuntimeError):
    pass


def current() -> dict[str, Any]:
    """The registered deployments of ictstat's names, by name (absent ones left out)."""
    out = {}
    with get_client(sync_client=True) as client:
        for name in NAMES:
            try:
                out[name] = client.read_deployment_by_name(name)
            except Exception:  # ObjectNotFound: not registered
                continue
    return out


def refuse_if_attached_to_a_pool() -> None:
    """Called by ``deployments/serve.py`` before serving: serving a work-pool deployment would leave it there."""
    pooled = {n: d.work_pool_name for n, d in current().items() if d.work_pool_name}
    if pooled:
        raise SwitchRefused(
            f"Các deployment {sorted(pooled)} đang gắn với work pool {sorted(set(pooled.values()))}: chạy "
            "'python -m deployments.switch serve' trước. / The deployments "
            f"{sorted(pooled)} are attached to the work pool(s) {sorted(set(pooled.values()))}: run "
            "'python -m deployments.switch serve' first."
        )


def to_serve() -> list[str]:
    """Delete the work-pool variant (the served one is registered by ``ictstat serve`` when it starts)."""
    deleted = []
    with get_client(sync_client=True) as client:
        for name, deployment in current().items():
            if deployment.work_pool_name:
                client.delete_deployment(deployment.id)
                deleted.append(name)
    return deleted


def to_pool(prefect_file: Path = CHECKOUT / "deployments" / "prefect.yaml") -> list[str]:
    """Register the work-pool variant from ``prefect.yaml`` and make sure neither deployment stays paused."""
    now = datetime.now(UTC)
    # `ictstat serve` pauses its deployments when it stops; served, unpaused and polled lately: still serving
    served = [
        n for n, d in current().items()
        if not d.work_pool_name and not d.paused and d.last_polled is not None
        and now - d.last_polled < SERVED_RECENTLY
    ]  # fmt: skip
    if served:
        raise SwitchRefused(
            f"Một tiến trình 'ictstat serve' vẫn đang phục vụ {served}: dừng nó trước. / An 'ictstat serve' still "
            f"serves {served} (polled within {SERVED_RECENTLY.seconds} s): stop it first."
        )
    env = {**os.environ, "PREFECT_CLI_PROMPT": "false"}
    prefect = str(Path(sys.executable).with_name("prefect"))
    subprocess.run(
        [prefect, "deploy", "--all", "--prefect-file", str(prefect_file)], cwd=CHECKOUT, env=env, check=True
    )
    resumed = []
    with get_client(sync_client=True) as client:
        for name, deployment in current().items():
            if deployment.paused:  # paused when `ictstat serve` stopped
                client.resume_deployment(deployment.id)
                resumed.append(name)
    return resumed


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in (["serve"], ["pool"]):
        print("usage: python -m deployments.switch serve|pool", file=sys.stderr)
        return 2
    try:
        if args == ["serve"]:
            print(f"deleted the work-pool deployments: {to_serve() or 'none'}; now start `ictstat serve`")
        else:
            print(f"work-pool deployments registered; resumed: {to_pool() or 'none was paused'}")
    except SwitchRefused as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
