"""Disk faults: a disk that fills up during a run, and archived files whose bytes rot afterwards.

A full disk is simulated two ways. A real small tmpfs holding the whole home (writes fail with ENOSPC, as on a
full disk; needs root and a kernel that lets this container mount) and, always, a file-size limit on the run's
process (RLIMIT_FSIZE with SIGXFSZ ignored: a write past it fails with EFBIG). Either way the run must fail
with a clear error, leave the publication byte-identical, and the next run (with room again) must succeed and
clear what the failed one left. An archived copy that no longer matches its sha256 must be reported by
``ictstat verify-archive`` and by the run, and its figures never loaded.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from faults import home as state
from faults.procs import PYTHON, Finished, Prefect, nightly_args, run_to_end

# The failure notice every failed run logs (flows.notify), and the part of it that names the cause.
_FAILED = re.compile(r"ended Failed: ([^\n]*)")
_CAUSE = re.compile(r"(Could not write[^\n]*|OSError[^\n]*|\[Errno[^\n]*)")
_DISK_FULL = ("File too large", "No space left on device")
_RUN_ID = re.compile(r"R\d{8}T\d{6}-[0-9a-f]{6}")


@dataclass
class FullDisk:
    how: str
    failed: Finished
    before: state.Publication
    after_failure: state.Publication
    left_after_failure: state.Leftovers
    recovery: Finished
    after: state.Publication
    accounting: state.Accounting
    left: state.Leftovers

    @property
    def error_line(self) -> str:
        """The cause as the run's failure notice states it, if it says the disk is full."""
        notice = _FAILED.search(self.failed.output)
        if notice is None or not any(s in notice.group(1) for s in _DISK_FULL):
            return ""
        cause = (m.group(1) if (m := _CAUSE.search(notice.group(1))) else notice.group(1))[:240]
        # without folders and run ids, so that the same failure reads the same in every run
        cause = _RUN_ID.sub("<run>", re.sub(r"""(["'])/[^"']*/([^"'/]*)""", r"\1\2", cause))
        return re.sub(r"[0-9a-f]{64}", "<sha256>", cause)

    def problems(self) -> list[str]:
        out = []
        if self.failed.returncode == 0:
            out.append(f"{self.how}: the run did not fail")
        elif not self.error_line:
            out.append(f"{self.how}: the failure does not say the disk is full: {self.failed.output[-300:]}")
        if self.after_failure.sha256 != self.before.sha256 or not self.after_failure.opens:
            out.append(f"{self.how}: the publication changed or no longer opens")
        if self.recovery.returncode != 0:
            out.append(
                f"the next run failed (exit {self.recovery.returncode}): {self.recovery.output[-300:]}"
            )
        return out + self.accounting.problems() + self.left.problems()

    def observed(self) -> str:
        left = self.left_after_failure
        kept = f"{len(left.build_files)} build file(s), {len(left.part_files)} .part left, cleared next run"
        return f"fails: “{self.error_line[:150]}”; publication kept; {kept}"


def file_size_limit(
    home: Path, prefect: Prefect, pool: state.DemoPool, log: Path, *, during: str = "build"
) -> FullDisk:
    """RLIMIT_FSIZE on the run: below the warehouse's size (``during='build'``) or below a new large file's
    size (``during='intake'``: the archive copy fails half-written)."""
    before = state.publication(home)
    pool.add(home / "inbox", 3)
    if during == "intake":
        big = home / "inbox" / "quet" / str(len(pool.given)) / "ban_quet_lon.xlsx"
        big.parent.mkdir(parents=True, exist_ok=True)
        # 3 MiB, not a workbook (archived, then rejected), different each time so that it is copied each time
        big.write_bytes(str(big).encode() + b"\x00ictstat" * (3 << 17))
        limit = 1 << 20
    else:
        limit = max(1 << 20, (home / "warehouse.duckdb").stat().st_size // 3)
    failed = run_to_end(nightly_args(fsize=limit), prefect.env(home), log)
    after_failure, left_after = state.publication(home), state.leftovers(home)
    recovery = run_to_end(nightly_args(), prefect.env(home), log)
    return FullDisk(
        f"file-size limit {limit >> 10} KiB during {during}",
        failed,
        before,
        after_failure,
        left_after,
        recovery,
        state.publication(home),
        state.accounting(home),
        state.leftovers(home),
    )


def tmpfs_works(probe: Path) -> bool:
    """Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN; not in most CI containers)."""
    probe.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)], capture_output=True)
    if done.returncode != 0:
        return False
    subprocess.run(["umount", str(probe)], check=True)
    return True


@contextlib.contextmanager
def tmpfs(mount_point: Path, size: int) -> Iterator[Path]:
    mount_point.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def full_tmpfs(home: Path, prefect: Prefect, pool: state.DemoPool, work: Path) -> FullDisk:
    """A copy of ``home`` on a tmpfs with room for the files to take in but not for a new warehouse; then the
    tmpfs is grown (an operator freeing space) and the next run must succeed."""
    used = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    size = (used + (home / "warehouse.duckdb").stat().st_size // 3 + (1 << 20)) // 4096 * 4096
    log = work / "tmpfs-runs.log"
    with tmpfs(work / "tmpfs", size) as mount:
        small = mount / "home"
        shutil.copytree(home, small, symlinks=True)  # copy2: modification times kept, so nothing is new
        before = state.publication(small)
        pool.add(small / "inbox", 3)
        failed = run_to_end(nightly_args(), prefect.env(small), log)
        after_failure, left_after = state.publication(small), state.leftovers(small)
        subprocess.run(["mount", "-o", f"remount,size={size * 4}", str(mount)], check=True)
        recovery = run_to_end(nightly_args(), prefect.env(small), log)
        return FullDisk(
            f"tmpfs of {size >> 20} MiB",
            failed,
            before,
            after_failure,
            left_after,
            recovery,
            state.publication(small),
            state.accounting(small),
            state.leftovers(small),
        )


@dataclass
class Rot:
    """What became of three accepted files whose archived copies rotted (same size), shrank and vanished."""

    accepted_from_cache: (
        bool  # same-size rot before verify-archive: the cached parse still stands (by design)
    )
    verify: Finished
    statuses: dict[str, tuple[str, str, int]]  # how -> (status, reason_en, values loaded)
    sub_ids: dict[str, str]

    def problems(self) -> list[str]:
        out = []
        if self.verify.returncode != 1 or "is corrupt" not in self.verify.output:
            out.append(f"verify-archive did not report the rotted copy: exit {self.verify.returncode}")
        elif self.sub_ids["rotted"] not in self.verify.output:
            out.append("verify-archive did not name the rotted submission")
        for how, (status, reason, loaded) in self.statuses.items():
            if status != "rejected" or "no longer matches" not in reason or loaded:
                out.append(f"{how} copy: status {status}, {loaded} value(s) loaded, reason {reason[:80]!r}")
        return out


def archive_rot(home: Path, prefect: Prefect, log: Path) -> Rot:
    """Rot one copy (same size), then shrink one and delete one; runs and ``verify-archive`` in between."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT submission_id, archive_path FROM audit.submissions WHERE status = 'accepted' "
            "AND archive_path LIKE '%.xlsx' ORDER BY submission_id LIMIT 3"
        ).fetchall()
    finally:
        con.close()
    ids = dict(zip(("rotted", "truncated", "deleted"), rows, strict=True))
    copy = {how: home / "archive" / path for how, (_, path) in ids.items()}
    data = bytearray(copy["rotted"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy["rotted"].write_bytes(bytes(data))
    run_to_end(nightly_args(), prefect.env(home), log)
    cached = _status(home, ids["rotted"][0])[0].startswith("accepted")
    verify = run_to_end([PYTHON, "-m", "ictstat.cli", "verify-archive"], prefect.env(home), log)
    copy["truncated"].write_bytes(copy["truncated"].read_bytes()[:-100])
    copy["deleted"].unlink()
    run_to_end(nightly_args(), prefect.env(home), log)
    statuses = {how: _status(home, sid) for how, (sid, _) in ids.items()}
    return Rot(cached, verify, statuses, {how: sid for how, (sid, _) in ids.items()})


def _status(home: Path, submission_id: str) -> tuple[str, str, int]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        status, reason = con.execute(
            "SELECT status, coalesce(reason_en, '') FROM audit.submissions WHERE submission_id = ?",
            [submission_id],
        ).fetchone() or ("missing", "")
        (loaded,) = con.execute(
            "SELECT count(*) FROM core.fct_reported_values WHERE submission_id = ?", [submission_id]
        ).fetchone() or (0,)
    finally:
        con.close()
    return str(status), str(reason), int(loaded)
