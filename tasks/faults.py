"""Named stages of a run where a fault-injection test can stop it.

With ``ICTSTAT_FAULT_PAUSE=<stage>`` in the environment, a run reaching that stage writes
``$ICTSTAT_HOME/.fault-<stage>`` and sleeps (``ICTSTAT_FAULT_PAUSE_SECONDS``, default 60), so that a test can
kill the process at exactly that point and check what a power cut there would leave behind. Without the
variable this is a no-op; production never sets it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

STAGES = ("intake", "read", "parse", "validate", "build", "publish", "exports")


def checkpoint(stage: str, home: Path) -> None:
    assert stage in STAGES, stage
    if os.environ.get("ICTSTAT_FAULT_PAUSE") != stage:
        return
    (home / f".fault-{stage}").write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(float(os.environ.get("ICTSTAT_FAULT_PAUSE_SECONDS", "60")))
