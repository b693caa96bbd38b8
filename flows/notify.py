"""Failure notifications: a flow-run state hook (``on_failure`` and ``on_crashed`` of both flows).

A hook rather than a Prefect automation because it works the same with or without a Prefect server (an
automation needs one, and a block holding the URL). The summary is logged; when ``ICTSTAT_WEBHOOK_URL`` is
set it is also posted there as JSON. The URL is a secret (it often carries a token): it is never logged, and a
failed post is reported without it.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

from ictstat.messages import is_parameter_error
from ictstat.settings import load_settings

logger = logging.getLogger("ictstat.notify")


def failure_summary(flow: Any, flow_run: Any, state: Any) -> dict[str, Any]:
    message = getattr(state, "message", "") or ""
    return {
        "text": f"ictstat: flow run '{flow_run.name}' of '{flow.name}' ended {state.name}: {message[:500]}",
        "flow": flow.name,
        "flow_run": flow_run.name,
        "flow_run_id": str(flow_run.id),
        "state": state.name,
        "message": message[:2000],
        "parameters": {k: str(v)[:200] for k, v in (flow_run.parameters or {}).items()},
    }


def post_json(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


def notify_failure(flow: Any, flow_run: Any, state: Any) -> None:
    if is_parameter_error(getattr(state, "message", None)):
        return  # a typo in a form is answered by the run's own message, not by an alert
    summary = failure_summary(flow, flow_run, state)
    logger.error(summary["text"])
    webhook = load_settings().webhook_url
    if webhook is None:
        return
    try:
        post_json(webhook.get_secret_value(), summary)
    except Exception as exc:  # a notification must never hide the failure it reports
        logger.error(
            "the failure notification could not be posted to the configured webhook: %s", type(exc).__name__
        )
