"""The fuzz harness's worker: takes one file at a time through the production path and says how it ended.

Runs in its own (spawned) process so that a hang or a native crash (an abort in Rust code cannot be caught)
costs the harness one worker, not the campaign; it runs under an address-space limit so that unbounded memory
shows as a MemoryError or an abort here rather than as the machine's OOM killer. Its stderr goes to a file:
native panics print there, and the harness quotes it.

The path is the pipeline's own, file by file: archive by hash as intake does, ``parse_file`` with the limits of
the settings (the ``ParseJob`` ``flows.steps.parse_job`` builds), ``assemble``, the Pandera validation and
plausibility checks, ``decide_status``, then the feedback workbook writer the run calls for files with issues.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import time
import traceback
from datetime import UTC, date, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

LEAK_MARKERS = ("root:x:0:0", "/bin/bash", "/usr/sbin/nologin")  # /etc/passwd lines: an external entity read


def parse_job(settings: Any) -> Any:
    """The same ParseJob as ``flows.steps.parse_job`` (a test asserts they are equal) without importing Prefect,
    so that a restarted worker is ready in 2 s rather than 4."""
    from tasks.parsefile import ParseJob

    limits = (
        ("max_cells", settings.max_cells_per_sheet),
        ("max_workbook_cells", settings.max_cells_per_workbook),
        ("max_sheets", settings.max_sheets),
        ("max_string_length", settings.max_string_length),
    )
    return ParseJob(
        settings.archive,
        settings.province_code,
        settings.max_unpacked_bytes,
        settings.max_rows_per_sheet,
        limits,
    )


def vm_bytes() -> int:
    """This process's virtual size (what RLIMIT_AS counts)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM, the peak resident size
    except OSError:
        pass


def accepted_absurdity(batch: Any) -> str | None:
    """What an accepted file must never carry, said in words, or None: a value that is not finite or lies
    outside its indicator's range (in the indicator's unit), a column whose values add up to no finite number,
    a period whose year the register does not know (what issue 13 found published)."""
    import math

    from ictstat import reference
    from ictstat.periods import Period, year_in_range

    catalog = reference.indicators()
    sums: dict[str, float] = {}
    for v in batch.values.itertuples(index=False):
        if v.value is None or v.value != v.value:  # a blank (NaN in the frame: a parse never makes a NaN)
            continue
        if not math.isfinite(v.value):
            return f"a value that is not finite: {v.value} at {v.sheet}!{v.cell}"
        lo, hi = reference.indicator_range(v.indicator_code)
        factor = reference.unit_factor(v.unit, catalog.get(v.indicator_code, {}).get("unit", v.unit)) or 1.0
        x = v.value * factor
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            return f"{v.indicator_code} = {v.value} at {v.sheet}!{v.cell}, outside {lo}-{hi}"
        key = f"{v.sheet}|{v.measure}"
        sums[key] = sums.get(key, 0.0) + v.value
        if not math.isfinite(sums[key]):
            return f"a column whose sum overflows: {key}"
    for p in batch.submissions["period"].dropna():
        if not year_in_range(Period.parse(str(p)).year, reference.first_year(), None):
            return f"an impossible period {p}"
    return None


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve(conn: Connection, home: str, memory_mb: int, stderr_log: str) -> None:
    """Answer ``(path, name)`` requests with ``examine`` results until ``None`` arrives."""
    fd = os.open(stderr_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    from ictstat import reference
    from ictstat.settings import load_settings

    settings = load_settings(home=Path(home))
    settings.ensure_dirs()
    codes = [d.code for d in reference.all_districts() if d.province_code == settings.province_code]
    job = parse_job(settings)
    import tasks.feedback
    import tasks.validate  # imported before the limit is set: the limit is on top of what they take

    assert tasks.feedback and tasks.validate
    if memory_mb:
        limit = vm_bytes() + (memory_mb << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    conn.send(("ready", vm_bytes()))
    while (request := conn.recv()) is not None:
        conn.send(examine(Path(request[0]), request[1], settings, job, codes))


def _stage(name: str) -> str:
    """Say on stderr (a file the harness reads) which stage starts, so that a hang or a crash can be placed."""
    print(f"[stage] {name}", file=sys.stderr, flush=True)
    return name


def examine(path: Path, name: str, settings: Any, job: Any, codes: list[str]) -> dict[str, Any]:
    from tasks import build, submissions, validate
    from tasks.feedback import write_feedback
    from tasks.intake import Sighting, archive_name, sha256_of

    _reset_peak()
    began, stage = time.monotonic(), "archive"
    result: dict[str, Any] = {"outcome": "exception", "detail": ""}
    copy: Path | None = None
    try:
        sha, st = sha256_of(path), path.stat()
        rel = archive_name(sha, name) if st.st_size <= settings.max_file_bytes else ""
        if rel:
            copy = settings.archive / rel
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
        now = datetime.now(UTC).isoformat()
        s = Sighting(1, sha, name, name, st.st_size, st.st_mtime_ns, now, rel)
        stage = _stage("parse_file")
        parsed = job([s])[0]
        stage = _stage("validate")
        batch = submissions.assemble([s], {sha: parsed}, date.today())
        issues = validate.validate(batch.values, codes)
        issues += validate.plausibility_warnings(batch.values, batch.submissions)
        batch = submissions.decide_status(batch, issues)
        stage = _stage("feedback")
        write_feedback(batch.submissions, batch.issues, settings.archive, settings.feedback)
        status = str(batch.submissions.iloc[0]["intake_status"])
        reason = str(batch.submissions.iloc[0]["reason_en"] or "")
        text = repr(parsed)
        stage = _stage("build years")
        build.report_years(batch.submissions["period"], date.today())  # what the build reads of a period
        absurd = accepted_absurdity(batch) if status != "rejected" else None
        if any(m in text for m in LEAK_MARKERS):
            result = {
                "outcome": "exception",
                "detail": "an external entity was expanded: /etc/passwd in the parse",
            }
        elif (
            parsed.get("failure", [""])[0] == "parse_crash"
        ):  # the bulkhead held, but what it caught is a bug
            result = {"outcome": "exception", "detail": f"parse_crash: {parsed['failure'][2]}"[:300]}
        elif absurd is not None:
            result = {"outcome": "exception", "detail": f"accepted {absurd}"[:300]}
        elif status == "rejected":
            result = {"outcome": "issues", "detail": reason[:200]}
        else:
            result = {"outcome": "rows", "detail": f"{status}, {len(batch.values)} value(s)"}
        result.update(status=status, values=len(batch.values), issues=len(batch.issues))
    except MemoryError:
        result = {"outcome": "memory", "detail": f"MemoryError in {stage}"}
    except BaseException as exc:  # what escapes parse_file/validate/feedback is exactly what is looked for
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        result = {"outcome": "exception", "detail": f"{type(exc).__name__} in {stage} ({where}): {exc}"[:300]}
    finally:
        if copy is not None:
            copy.unlink(missing_ok=True)
        shutil.rmtree(settings.feedback, ignore_errors=True)
        settings.feedback.mkdir(parents=True, exist_ok=True)
    result.update(seconds=time.monotonic() - began, peak_mb=_peak_mb(), rss_mb=_rss_mb())
    return result
