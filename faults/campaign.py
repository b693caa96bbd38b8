"""The campaign's sections: each runs its checks ``runs`` times in a home of its own and returns its trials.

Homes are separate so that one section's leftovers (a rotted archive copy, a torn ledger line) never count
against another's checks. Every home starts the way a real one does: a few demo files and one clean run.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from faults import concurrency, crash, disk, exposure, fuzz, injection, mutations
from faults import home as state
from faults.procs import Prefect, nightly_args, run_to_end
from faults.report import FuzzKind, Trial
from tasks.faults import STAGES

FIGURE_MARTS = ("province_indicators", "district_indicators", "carrier_indicators", "reconciliation",
                "appendix_lines", "appendix_district_lines", "target_tracking")  # fmt: skip


@dataclass
class Context:
    work: Path
    demo: Path  # a complete demo inbox, the source of every file sent in
    prefect: Prefect
    runs: int
    seed: int

    def home(self, name: str, files: int = 4) -> tuple[Path, state.DemoPool]:
        """A new home with ``files`` demo files and one clean publication; its pool hands out the rest."""
        home = self.work / name
        shutil.rmtree(home, ignore_errors=True)
        (home / "inbox").mkdir(parents=True)
        pool = state.DemoPool(self.demo, seed=f"{self.seed}:{name}")  # each home its own order
        pool.add(home / "inbox", files)
        done = run_to_end(nightly_args(), self.prefect.env(home), self.work / f"{name}.log")
        if done.returncode:
            raise RuntimeError(f"the first run of {name} failed: {done.output[-500:]}")
        return home, pool


def crashes(ctx: Context) -> list[Trial]:
    log = ctx.work / "crash.log"
    first = Trial("Crash at any point", "SIGKILL of the very first run, at 'publish' (no publication yet)")
    home = ctx.work / "crash-first"
    (home / "inbox").mkdir(parents=True)
    r = crash.kill_at("publish", home, ctx.prefect, state.DemoPool(ctx.demo), log)
    first.record(r.problems() if r.after_kill.sha256 is None else ["a warehouse appeared from a killed first run"],
                 "no warehouse until the next run publishes one")  # fmt: skip
    trials = [first]
    home, pool = ctx.home("crash-home")
    for stage in STAGES:
        trial = Trial("Crash at any point", f"SIGKILL at checkpoint '{stage}'")
        for i in range(ctx.runs):
            r = crash.kill_at(stage, home, ctx.prefect, pool, log, duplicate=i % 2 == 0, junk=i % 3 == 0)
            trial.record(r.problems(), r.observed())
        trials.append(trial)
    inside = Trial("Crash at any point", "SIGKILL inside intake, 0-600 ms into copying a 24 MiB file")
    rng = random.Random(ctx.seed)
    for _ in range(ctx.runs):
        r = crash.kill_in_intake(home, ctx.prefect, pool, log, rng)
        inside.record(r.problems(), r.observed())
    trials.append(inside)
    same = Trial(
        "Crash at any point", "after every kill above: figures equal one clean run of the same inbox"
    )
    clean = ctx.work / "crash-clean"
    shutil.rmtree(clean, ignore_errors=True)
    shutil.copytree(home / "inbox", clean / "inbox")
    run_to_end(nightly_args(), ctx.prefect.env(clean), log)
    differing = [
        m
        for m in state.differing_marts(home / "warehouse.duckdb", clean / "warehouse.duckdb")
        if m in FIGURE_MARTS
    ]
    same.record(
        [f"marts differ: {differing}"] if differing else [], f"{len(FIGURE_MARTS)} figure marts equal"
    )
    torn = Trial("Crash at any point", "power cut while a ledger line is appended (last line torn), two runs")
    t = crash.torn_ledger(home, ctx.prefect, pool, log)
    torn.record(t.problems(), t.observed())
    return [*trials, same, torn]


def races(ctx: Context) -> list[Trial]:
    trial = Trial(
        "Concurrency", "nightly + backfill 2019..2020 started together (processes), 2 analysts querying"
    )
    # a fresh home each time: the serial replay must go through the home's whole history
    for i in range(max(1, ctx.runs // 2)):
        home, pool = ctx.home(f"race-home-{i}", files=5)
        r = concurrency.race(home, ctx.prefect, pool, ctx.work)
        trial.record(r.problems(), r.observed())
    served = Trial(
        "Concurrency",
        "nightly + backfill deployment runs created together through the API (`ictstat serve`), 2 analysts",
    )
    for i in range(max(1, ctx.runs // 2)):
        home, pool = ctx.home(f"served-race-home-{i}", files=5)
        r = concurrency.served_race(home, ctx.prefect, pool, ctx.work)
        served.record(r.problems(), r.observed())
    threads = Trial("Concurrency", "nightly + backfill in two threads of one process (prefect_test_harness)")
    result = concurrency.threads_race(home, ctx.prefect, pool, ctx.work)
    problems = [f"{k}: {v}" for k, v in result.items() if isinstance(v, dict) and v.get("ok") is False]
    if result.get("returncode") or sorted(result.get("files_new", {}).values())[:1] != [0]:
        problems.append(f"exit {result.get('returncode')}, new files per run {result.get('files_new')}")
    threads.record(problems + state.accounting(home).problems(), "both flows completed, one after the other")
    return [trial, served, threads]


def disks(ctx: Context) -> list[Trial]:
    home, pool = ctx.home("disk-home", files=5)
    log = ctx.work / "disk.log"
    trials = []
    for during in ("build", "intake"):
        trial = Trial("Disk faults", f"disk full during {during} (RLIMIT_FSIZE, writes fail with EFBIG)")
        for _ in range(ctx.runs):
            r = disk.file_size_limit(home, ctx.prefect, pool, log, during=during)
            trial.record(r.problems(), r.observed())
        trials.append(trial)
    tmpfs = Trial("Disk faults", "disk full during build (the home on a small tmpfs, ENOSPC)")
    if disk.tmpfs_works(ctx.work / "tmpfs-probe"):
        for _ in range(max(1, ctx.runs // 2)):
            r = disk.full_tmpfs(home, ctx.prefect, pool, ctx.work)
            tmpfs.record(r.problems(), r.observed())
    else:
        tmpfs.observed.append("mount -t tmpfs is not permitted here; covered by the file-size limit above")
    rot = Trial("Disk faults", "archived copies rotted (same size), truncated, deleted; verify-archive, runs")
    r2 = disk.archive_rot(home, ctx.prefect, log)
    cached = (
        "a same-size rot is served from the parse cache until verify-archive runs"
        if r2.accepted_from_cache
        else ""
    )
    rot.record(
        r2.problems(),
        f"verify-archive exit {r2.verify.returncode}; all 3 rejected, 0 values loaded; {cached}",
    )
    return [*trials, tmpfs, rot]


def fuzzing(ctx: Context, examples: int) -> list[FuzzKind]:
    sources = [next(iter(sorted(ctx.demo.glob(pattern)))) for pattern in
               ("vien_thong/2020/12/*.xlsx", "buu_chinh/2020/*.xlsx", "phong_vhtt/2020/*.xlsx", "so_tttt/*2020*.xlsx")]  # fmt: skip
    templates = [mutations.load_template(p) for p in sources]
    per_kind = max(2, examples // (len(mutations.MUTATIONS) + len(fuzz.HYPOTHESIS_KINDS)))
    with fuzz.Examiner(ctx.work / "fuzz") as examiner:
        return fuzz.campaign(examiner, templates, per_kind, ctx.seed)


def injections(ctx: Context) -> list[Trial]:
    home = ctx.work / "injection-home"
    shutil.rmtree(home, ignore_errors=True)
    (home / "inbox").mkdir(parents=True)
    sources = sorted(ctx.demo.glob("vien_thong/2020/*/*.xlsx"))
    r = injection.inject(home, ctx.prefect, sources, ctx.work)
    trial = Trial("Injection", "SQL text and =+-@ openers in cells, sheet names and file names; symlink out")
    trial.record(r.problems(), f"{len(r.verbatim)} texts and {len(r.names_stored)} names stored verbatim, "
                 f"{len(r.feedback)} feedback files, 0 formulas of them, export ok")  # fmt: skip
    direct = Trial("Injection", "every hostile text through xlsx.write_record and feedback._put, saved")
    found = injection.write_text_roundtrip(ctx.work / "roundtrip.xlsx")
    direct.record([f"formulas written: {found}"] if found else [], "no <f> element")
    trials = [trial, direct]
    for kind, what in (("fifo", "a FIFO in the inbox"), ("zero", "a symlink to /dev/zero in the inbox")):
        t = Trial("Injection", what)
        hung, after = injection.special_entry(home, ctx.prefect, ctx.work, kind, timeout=60)
        problems = (
            [f"the run hung (killed after {hung.seconds:.0f} s, holding the writer lock)"]
            if hung.returncode == -9
            else []
        )
        if after.returncode:
            problems.append(f"the next run failed (exit {after.returncode})")
        t.record(problems, "the next run, once it was removed, succeeded" if not after.returncode else "")
        trials.append(t)
    return trials


def exposures(ctx: Context) -> list[Trial]:
    s = exposure.serve_binds_loopback(ctx.work)
    serve = Trial("Exposure", "`ictstat serve`: where its Prefect server listens")
    option = "a --host option exists" if s.help_mentions_host else "no --host option"
    serve.record(
        s.problems(), f"listens on {', '.join(s.addresses)} only; refused on the LAN address; {option}"
    )
    home, pool = ctx.home("exposure-home", files=3)
    w = exposure.webhook_secret(home, ctx.prefect, ctx.work)
    hook = Trial("Exposure", "ICTSTAT_WEBHOOK_URL: failed run, good run, failed run with the webhook down")
    hook.record(w.problems(), f"{len(w.posts)} notice(s) received; token in no log, API record or file")
    m = exposure.file_modes(home, ctx.prefect, lambda: pool.add(home / "inbox", 1), ctx.work / "modes.log")
    modes = Trial("Exposure", "published warehouse mode under umask 077 and 000")
    modes.record(m.problems(), ", ".join(f"umask {u}: {mode}" for u, mode in m.warehouse.items()))
    if m.others_writable:
        modes.observed.append(
            f"under umask 000 also world-writable: {len(m.others_writable)} archive/cache/export files"
        )
    return [serve, hook, modes]
