"""A parse job whose worker a named file takes down, for the quarantine tests: kept in a module of its own that
imports only the parse worker's code, so that the processes spawned to parse it start as fast as real workers."""

from __future__ import annotations

import os
import signal
from typing import Any

from tasks.intake import Sighting
from tasks.parsefile import ParseJob


class PoisonJob(ParseJob):
    """The production parse, except that a file whose name says ``poison`` takes its worker down: by an
    exception (``poison-raise``) or by the process dying outright (``poison-kill``, SIGKILL)."""

    def parse(self, s: Sighting) -> dict[str, Any]:
        if "poison-kill" in s.relative_path:
            os.kill(os.getpid(), signal.SIGKILL)
        if "poison-raise" in s.relative_path:
            raise OverflowError("(34, 'Numerical result out of range')")
        return super().parse(s)
