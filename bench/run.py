"""The benchmark: ictstat against the physical limit and a naive baseline, on the same synthetic files.

    python -m bench.run --workbooks 1000 20000

For each size, on one synthetic inbox (``bench.synthetic``, cached), each in a process of its own:

1. raw read: fastexcel reading every sheet of every file, one process (the practical limit), and the same
   with python-calamine (what ictstat's reader starts from);
2. ictstat full run: the real nightly flow on a fresh ``ICTSTAT_HOME``, ``ICTSTAT_REFERENCE_DIR`` on the overlay;
3. ictstat nightly with nothing new: the flow again on the same home;
4. ictstat with 1 % new files: corrected resubmissions added to the inbox, the flow again;
5. the naive baseline (``bench.naive``), on a subset when the size is above ``--skip-naive-above``,
   extrapolated linearly (and labelled so).

Results: a table (``bench.report``) and ``bench/results/<timestamp>-<workbooks>.json`` per size.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import report, synthetic
from bench.procs import prefect_server, run_child

# a run on a snapshot (--snapshot) writes its results into the checkout it was started from
RESULTS = Path(os.environ.get("BENCH_RESULTS") or Path(__file__).parent / "results")
AS_OF = "2026-01-01"  # every synthetic period is over by then


SOURCES = ("ictstat", "tasks", "flows", "schemas", "warehouse")


def code_state() -> dict[str, Any]:
    """Which code was measured: a hash of ictstat's own sources (it changes whenever they do, in a git checkout or
    a copy of one), and the commit and uncommitted changes when there is a checkout."""
    root = Path(__file__).parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    h = hashlib.sha256()
    for path in sorted(
        p for d in SOURCES for p in (root / d).rglob("*") if p.suffix in (".py", ".sql", ".csv", ".yml")
    ):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return {
        "source_sha256": h.hexdigest()[:16],
        "commit": git("rev-parse", "HEAD"),
        "changed_files": git("status", "--porcelain").splitlines(),
        "diff_sha256": hashlib.sha256(git("diff", "HEAD").encode()).hexdigest()[:16],
    }


def snapshot() -> Path:
    """A copy of the committed tree (``git archive HEAD``) to measure, so that edits made while a benchmark runs
    never reach it (an edited parser would also make every cached parse stale, and "nothing new" reparse all)."""
    root = Path(__file__).parent.parent
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    )
    target = synthetic.CACHE / "snapshots" / commit.stdout.strip()[:12]
    if not (target / "bench").exists():
        part = target.with_name(target.name + ".part")
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir(parents=True)
        tar = subprocess.run(["git", "archive", "HEAD"], cwd=root, capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            archive.extractall(part, filter="data")
        os.replace(part, target)
    if not (target / "bench" / ".cache").exists():  # generated inboxes are shared, not generated again
        (target / "bench" / ".cache").symlink_to(synthetic.CACHE.resolve(), target_is_directory=True)
    return target


def machine() -> dict[str, Any]:
    mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {"cpus": os.cpu_count(), "memory": mem.split(":")[1].strip(), "python": platform.python_version(),
            "platform": platform.platform()}  # fmt: skip


class Size:
    """The measurements of one size, in one run folder."""

    def __init__(self, args: argparse.Namespace, n: int, folder: Path, env: dict[str, str]) -> None:
        self.args, self.folder = args, folder
        try:
            self.scale = synthetic.plan(n, args.seed, args.layout)
        except ValueError as exc:
            raise SystemExit(f"--workbooks {n}: {exc}") from None
        self.inbox = synthetic.cached(self.scale)
        self.home = folder / "home"
        self.env = {**env, "ICTSTAT_HOME": str(self.home), "ICTSTAT_REFERENCE_DIR": str(self.inbox.reference)}
        if args.workers:
            self.env["ICTSTAT_WORKERS"] = str(args.workers)
        self.results: dict[str, dict[str, Any]] = {}

    def measure(self, name: str, spec: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
        slug = name.replace(" ", "_").replace("%", "pct")
        spec = {**spec, "result": str(self.folder / f"{slug}.json")}
        (self.folder / f"{slug}.spec.json").write_text(json.dumps(spec), encoding="utf-8")
        code = code_state()  # the code under measurement may change between measurements: recorded for each
        child = run_child(["-m", "bench.measure", str(self.folder / f"{slug}.spec.json")], env or self.env,
                          self.folder / f"{slug}.log", self.args.timeout)  # fmt: skip
        out: dict[str, Any] = {**child.__dict__, "code": code}
        if Path(spec["result"]).exists():
            out.update(json.loads(Path(spec["result"]).read_text(encoding="utf-8")))
        else:
            out.update(ok=False, error=f"no result (exit {child.returncode}); see {self.folder / slug}.log")
        self.results[name] = out
        return out

    def run(self) -> dict[str, Any]:
        files = str(self.inbox.inbox)
        self.measure("raw read fastexcel", {"kind": "raw-fastexcel", "inbox": files})
        self.measure("raw read calamine", {"kind": "raw-calamine", "inbox": files})
        link_tree(self.inbox.inbox, self.home / "inbox")
        ictstat = {"kind": "ictstat", "as_of": AS_OF}
        self.measure("ictstat full run", ictstat)
        self.measure("ictstat nothing new", ictstat)
        link_tree(self.inbox.extra, self.home / "inbox")
        self.measure("ictstat 1% new", ictstat)
        if not self.args.no_naive:
            limit = self.args.skip_naive_above if self.inbox.workbooks > self.args.skip_naive_above else None
            naive = self.measure("naive baseline", {"kind": "naive", "inbox": files, "limit": limit,
                                                    "database": str(self.folder / "naive.duckdb")})  # fmt: skip
            naive["extrapolated_from"] = limit
        if self.args.profile:
            self.profile()
        return self.summary()

    def profile(self) -> None:
        """The full run again on a fresh home under pyinstrument, parsing in the flow's own process (one
        worker) so that the parse shows in the profile; kept apart so the profiler never slows a timing."""
        home = self.folder / "profile-home"
        link_tree(self.inbox.inbox, home / "inbox")
        env = {**self.env, "ICTSTAT_HOME": str(home), "ICTSTAT_WORKERS": "1"}
        target = RESULTS / f"{self.folder.parent.name}-{self.inbox.workbooks}-profile.txt"
        spec = {"kind": "ictstat", "as_of": AS_OF, "profile": str(target), "profile_dir": str(self.folder)}
        self.measure("ictstat full run (profiled)", spec, env)

    def summary(self) -> dict[str, Any]:
        return {
            "workbooks": self.inbox.workbooks,
            "extra_workbooks": self.inbox.extra_workbooks,
            "scale": {
                "key": self.scale.key,
                "provinces": len(self.scale.provinces),
                "months": self.scale.months,
                "telecom": len(self.scale.telecom),
                "postal": len(self.scale.postal),
                "layout": self.args.layout,
                "generated_in_s": self.inbox.seconds,
            },
            "measurements": self.results,
            "derived": report.derive(self.results, self.inbox.workbooks),
            "sanity": report.sanity(
                self.folder / "naive.duckdb", self.home / "warehouse.duckdb", len(self.scale.telecom)
            ),
        }


def link_tree(src: Path, dst: Path) -> None:
    """Hard links of every file of ``src`` under ``dst``: an inbox in seconds, the cached one never touched
    (ictstat only reads its inbox; hard links keep each file's modification time)."""

    def link(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:  # another file system: copy
            shutil.copy2(a, b)

    if src.exists():
        shutil.copytree(src, dst, copy_function=link, dirs_exist_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="ictstat at national scale, against raw reading and a naive baseline"
    )
    parser.add_argument(
        "--workbooks", type=int, nargs="+", default=[1000], help="sizes, about this many files"
    )
    parser.add_argument("--layout", choices=synthetic.LAYOUTS, default="national")
    parser.add_argument("--skip-naive-above", type=int, default=2000, metavar="N",
                        help="above N files, run the naive baseline on the first N and extrapolate")  # fmt: skip
    parser.add_argument("--no-naive", action="store_true", help="leave the naive baseline out")
    parser.add_argument("--max-seconds", type=float, default=600,
                        help="stop growing once a size's full run takes longer than this")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=3600, help="kill a measurement after this long")
    parser.add_argument(
        "--profile", action="store_true", help="also profile the full run of the smallest size"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="ICTSTAT_WORKERS for the runs (default: ictstat's)"
    )
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--keep", action="store_true", help="keep the homes (archive, warehouse) of each size"
    )
    parser.add_argument("--snapshot", action="store_true",
                        help="measure a copy of the committed code (git archive HEAD), not the working tree")  # fmt: skip
    args = parser.parse_args(argv)
    if args.snapshot:
        rest = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--snapshot"]
        env = {**os.environ, "BENCH_RESULTS": str(RESULTS.resolve())}
        done = subprocess.run(
            [sys.executable, "-m", "bench.run", *rest], cwd=snapshot(), env=env, check=False
        )
        raise SystemExit(done.returncode)
    needed = ["fastexcel", *(["pyinstrument"] if args.profile else [])]
    if missing := [m for m in needed if importlib.util.find_spec(m) is None]:
        raise SystemExit(f"missing {', '.join(missing)}: install the bench group (uv sync --group bench)")
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    root = synthetic.CACHE / "runs" / stamp
    root.mkdir(parents=True)
    RESULTS.mkdir(exist_ok=True)
    context = {"started": stamp, "machine": machine(), "as_of": AS_OF}
    sizes = []
    with prefect_server(root / "prefect", root / "prefect-server.log") as env:
        for i, n in enumerate(sorted(args.workbooks)):
            folder = root / f"size-{n}"
            folder.mkdir()
            args.profile = args.profile and i == 0
            result = {**context, **Size(args, n, folder, env).run()}
            path = RESULTS / f"{stamp}-{result['workbooks']}.json"
            path.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
            sizes.append(result)
            report.print_size(result, path)
            if not args.keep:
                for home in (folder / "home", folder / "profile-home"):
                    shutil.rmtree(home, ignore_errors=True)
            full = result["measurements"]["ictstat full run"]
            if full.get("body_s", float("inf")) > args.max_seconds:
                report.console.print(
                    f"Stopping: the full run of {n} files took longer than {args.max_seconds:.0f} s."
                )
                break
    report.print_memory_growth(sizes)


if __name__ == "__main__":
    main()
