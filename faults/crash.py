"""Crash at any point: SIGKILL a real run at each named stage, then check what it left and that the next run heals.

A kill is the harshest stop a process can have (no ``finally``, no Prefect hook): what survives it survives a
power cut of the process, though not of the disk's cache (see ``torn_ledger`` for that). After each kill:
the previous publication must be untouched, byte for byte, and open; then a normal run must complete, leave no
build file, ``.part`` copy or held lock behind, and account for every file of the inbox exactly once per
sighting, in the ledger and in ``audit.submissions``.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from faults import home as state
from faults.procs import Prefect, group_alive, kill_group, nightly_args, run_to_end, start, wait_for_file
from tasks.intake import read_ledger

PAUSE = "600"  # the run sleeps at the checkpoint far longer than it takes us to kill it


@dataclass
class CrashResult:
    stage: str
    reached: bool
    group_gone: bool
    before: state.Publication
    after_kill: state.Publication
    left_after_kill: state.Leftovers
    recovery_rc: int
    recovery_output: str
    after: state.Publication
    accounting: state.Accounting
    left: state.Leftovers
    added: list[str] = field(default_factory=list)

    @property
    def removed_stale_build(self) -> bool:
        return "removed a build file left by an interrupted run" in self.recovery_output

    def problems(self) -> list[str]:
        k = Kill(
            self.stage, self.reached, self.group_gone, self.before, self.after_kill, self.left_after_kill, []
        )
        out = k.problems()
        if self.recovery_rc != 0:
            out.append(f"the next run failed (exit {self.recovery_rc}): {self.recovery_output[-400:]}")
        if not self.after.opens:
            out.append(f"the publication after recovery does not open: {self.after.error}")
        return out + self.accounting.problems() + self.left.problems()

    def observed(self) -> str:
        left = self.left_after_kill
        bits = [f"publication {'kept' if self.after_kill.sha256 == self.before.sha256 else 'replaced'}"]
        if left.build_files:
            bits.append("stale build file" + (" removed by the next run" if self.removed_stale_build else ""))
        if left.part_files or left.orphan_archive:
            bits.append(
                f"{len(left.part_files)} .part / {len(left.orphan_archive)} unledgered copies, healed"
            )
        return ", ".join(bits)


@dataclass
class Kill:
    """A run killed at a checkpoint, and what it left."""

    stage: str
    reached: bool
    group_gone: bool
    before: state.Publication
    after: state.Publication
    left: state.Leftovers
    added: list[str]

    def problems(self) -> list[str]:
        out = []
        if not self.reached:
            out.append(f"the run never reached the '{self.stage}' checkpoint")
        if not self.group_gone:
            out.append("processes of the killed run's group survived SIGKILL")
        if self.stage == "exports":  # the kill comes after the rename: the new publication is whole
            if self.after.sha256 == self.before.sha256 or not self.after.opens:
                out.append("killed during exports: the new publication is not in place or does not open")
        elif self.after.sha256 != self.before.sha256:
            out.append(
                f"the publication changed under the kill ({self.before.sha256} -> {self.after.sha256})"
            )
        if self.after.sha256 is not None and not self.after.opens:
            out.append(f"the publication left by the kill does not open: {self.after.error}")
        return out


def kill(
    stage: str,
    home: Path,
    prefect: Prefect,
    pool: state.DemoPool,
    log: Path,
    *,
    files: int = 3,
    duplicate: bool = False,
    junk: bool = False,
) -> Kill:
    """New files into the inbox, then a run SIGKILLed (with its whole process group) at ``stage``."""
    before = state.publication(home)
    added = pool.add(home / "inbox", files, duplicate=duplicate, junk=junk)
    marker = home / f".fault-{stage}"
    proc = start(
        nightly_args(), prefect.env(home, ICTSTAT_FAULT_PAUSE=stage, ICTSTAT_FAULT_PAUSE_SECONDS=PAUSE), log
    )
    reached = wait_for_file(marker, proc)
    kill_group(proc)
    gone = not group_alive(proc.pid)
    marker.unlink(missing_ok=True)
    return Kill(stage, reached, gone, before, state.publication(home), state.leftovers(home), added)


def kill_at(
    stage: str,
    home: Path,
    prefect: Prefect,
    pool: state.DemoPool,
    log: Path,
    *,
    files: int = 3,
    duplicate: bool = False,
    junk: bool = False,
    recovery_umask: int | None = None,
) -> CrashResult:
    """New files into the inbox, a run killed at ``stage``, then a normal run (under ``recovery_umask`` if
    given); everything observed on the way."""
    k = kill(stage, home, prefect, pool, log, files=files, duplicate=duplicate, junk=junk)
    return _recover(k, stage, home, prefect, log, recovery_umask)


def kill_inside_intake(
    home: Path, prefect: Prefect, pool: state.DemoPool, log: Path, rng: random.Random, big_mib: int = 24
) -> Kill:
    """A kill *inside* intake, at a random moment while it hashes and copies a large file.

    The 'intake' checkpoint comes before the first copy, so this one does not sleep there: it writes its
    marker and goes on, and the kill lands 0-600 ms later, in the middle of hashing, copying (a ``.part`` file),
    renaming or appending ledger lines.
    """
    before = state.publication(home)
    added = pool.add(home / "inbox", 2)
    big = home / "inbox" / "quet" / f"ban_quet_{len(pool.given)}.xlsx"
    big.parent.mkdir(parents=True, exist_ok=True)
    big.write_bytes(rng.randbytes(big_mib << 20))  # under ICTSTAT_MAX_FILE_BYTES: archived, then rejected
    added.append(big.relative_to(home / "inbox").as_posix())
    marker = home / ".fault-intake"
    proc = start(
        nightly_args(), prefect.env(home, ICTSTAT_FAULT_PAUSE="intake", ICTSTAT_FAULT_PAUSE_SECONDS="0"), log
    )
    reached = wait_for_file(marker, proc, timeout=300)
    time.sleep(rng.uniform(0.0, 0.6))
    kill_group(proc)
    gone = not group_alive(proc.pid)
    marker.unlink(missing_ok=True)
    return Kill(
        "intake (inside)", reached, gone, before, state.publication(home), state.leftovers(home), added
    )


def kill_in_intake(
    home: Path, prefect: Prefect, pool: state.DemoPool, log: Path, rng: random.Random, big_mib: int = 24
) -> CrashResult:
    """``kill_inside_intake``, then a normal run."""
    k = kill_inside_intake(home, prefect, pool, log, rng, big_mib)
    return _recover(k, k.stage, home, prefect, log)


@dataclass
class TornLedger:
    """A power cut while a ledger line was being appended, and the two runs after it."""

    torn_file: str
    id_before: str
    problems_after_first: list[str]
    problems_after_second: list[str]
    ids_after_second: dict[str, str]
    newer_file: str

    def problems(self) -> list[str]:
        # the torn half itself stays unreadable in the ledger, as designed; anything else is a problem
        out = [f"after the first run: {p}" for p in self.problems_after_first if "unreadable" not in p]
        out += [f"after the second run: {p}" for p in self.problems_after_second if "unreadable" not in p]
        moved, newer = self.ids_after_second.get(self.torn_file), self.ids_after_second.get(self.newer_file)
        if moved is None or newer is None:
            out.append(f"not recorded again: {self.torn_file if moved is None else self.newer_file}")
        elif (moved < newer) != (self.torn_file < self.newer_file):
            # its sighting never completed, so it arrives again with the newer file: one run's arrivals are
            # ordered by their path in the inbox (docs/design.md), and so must these two be
            out.append(f"{self.torn_file} ({moved}) and {self.newer_file} ({newer}) are not in path order")
        return out

    def observed(self) -> str:
        return (f"torn sighting {self.id_before} of {self.torn_file} recorded again as "
                f"{self.ids_after_second.get(self.torn_file)}, with the file that arrived after it")  # fmt: skip


def torn_ledger(home: Path, prefect: Prefect, pool: state.DemoPool, log: Path) -> TornLedger:
    """Tear the last ledger line in half (what a power cut during its append leaves), then run twice.

    The design says a torn line is skipped and its file simply seen again. Two runs follow: the first takes
    in a new file too (its line is appended right after the torn half), the second takes in nothing.
    """
    pool.add(home / "inbox", 1)
    run_to_end(nightly_args(), prefect.env(home), log)
    ledger = home / "archive" / "ledger" / "intake.jsonl"
    data = ledger.read_bytes()
    start_of_last = data.rstrip(b"\n").rfind(b"\n") + 1
    last = json.loads(data[start_of_last:])
    with ledger.open("r+b") as fh:  # keep half of the last line, without its newline
        fh.truncate(start_of_last + (len(data) - start_of_last) // 2)
        os.fsync(fh.fileno())
    newer = pool.add(home / "inbox", 1)[0]
    run_to_end(nightly_args(), prefect.env(home), log)
    first = state.accounting(home).problems()
    run_to_end(nightly_args(), prefect.env(home), log)
    second = state.accounting(home).problems()
    ids = {s.relative_path: s.submission_id for s in read_ledger(ledger.parent)}
    return TornLedger(last["relative_path"], f"S{last['seq']:07d}", first, second, ids, newer)


def _recover(
    k: Kill, stage: str, home: Path, prefect: Prefect, log: Path, umask: int | None = None
) -> CrashResult:
    """A normal run after the kill ``k``, and what both left behind."""
    recovery = run_to_end(nightly_args(umask=umask), prefect.env(home), log)
    return CrashResult(
        stage,
        k.reached,
        k.group_gone,
        k.before,
        k.after,
        k.left,
        recovery.returncode,
        recovery.output,
        state.publication(home),
        state.accounting(home),
        state.leftovers(home),
        k.added,
    )
