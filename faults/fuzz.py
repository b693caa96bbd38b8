"""The fuzz harness: hostile workbooks through the production path, one at a time, in a worker that may die.

``Examiner`` owns one ``faults.fuzzworker`` process: it hands it a file, waits at most ``timeout`` seconds, and
classifies the end: *rows* or *issues* (what must happen), *exception*, *memory*, *hang* (no answer in time:
the worker is killed and replaced) or *crash* (the worker died: an abort in native code, a kill by the OOM
killer). Inputs come from ``faults.mutations`` (seeded) and from two Hypothesis strategies: cell edits of real
templates and workbooks made from scratch out of the templates' own labels (so they get past form
recognition and into the parser's deeper paths). Every bad input is kept on disk to be replayed.
"""

from __future__ import annotations

import io
import multiprocessing
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
from hypothesis import HealthCheck, Phase, given, reject, seed, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from faults import fuzzworker
from faults.mutations import MUTATIONS, Template, with_cells
from faults.report import BAD_OUTCOMES, FuzzKind
from faults.texts import EXTREME_NUMBERS, NUMBER_TEXT, PERIOD_TEXT, WEIRD_TEXT

HYPOTHESIS_KINDS = ("hypothesis_cells", "hypothesis_workbook", "hypothesis_column")
RESTART_ABOVE_MB = (
    600.0  # resident size after an input above which the worker is replaced (it starts at ~150)
)
# Failures already understood (see the findings of docs/reliability.md): a test meeting one calls xfail.
KNOWN_BUGS = {
    r"memory allocation of \d+ bytes failed": "calamine allocates what a hostile file declares or implies (read.py)",
    r"hang in feedback|MemoryError in feedback": "openpyxl materialises every cell of a huge merged range (feedback.py)",
}


@dataclass
class Verdict:
    outcome: str
    seconds: float
    peak_mb: float
    detail: str

    @property
    def bad(self) -> bool:
        return self.outcome in BAD_OUTCOMES


def known_bug(verdict: Verdict) -> str | None:
    return next((why for pattern, why in KNOWN_BUGS.items() if re.search(pattern, verdict.detail)), None)


class Examiner:
    """One worker process, replaced whenever it hangs or dies."""

    def __init__(self, work: Path, timeout: float = 20.0, memory_mb: int = 2560) -> None:
        self.work, self.timeout, self.memory_mb = work, timeout, memory_mb
        self.kept = work / "failing-inputs"
        self.stderr = work / "worker-stderr.log"
        self.context = multiprocessing.get_context("spawn")
        self.proc: Any = None
        self.conn: Any = None
        self.restarts = 0
        work.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Examiner:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        parent, child = self.context.Pipe()
        args = (child, str(self.work / "home"), self.memory_mb, str(self.stderr))
        self.proc = self.context.Process(target=fuzzworker.serve, args=args, daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent
        if not parent.poll(180) or parent.recv()[0] != "ready":
            raise RuntimeError(f"the fuzz worker did not start: {self._stderr_tail(0)}")

    def close(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            try:
                self.conn.send(None)
                self.proc.join(10)
            except OSError:
                pass
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()
        self.proc = None

    def _stderr_tail(self, offset: int) -> str:
        try:
            with self.stderr.open("rb") as fh:
                fh.seek(offset)
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        skip = (" ", "stack backtrace", "note:", "[stage]")
        lines = [x for x in text.splitlines() if x.strip() and not x.startswith(skip)]
        return " / ".join(lines[-3:])[-300:]

    def _last_stage(self, offset: int) -> str:
        stages = re.findall(r"\[stage\] (\w+)", self._stderr_tail_raw(offset))
        return stages[-1] if stages else "archive"

    def _stderr_tail_raw(self, offset: int) -> str:
        with self.stderr.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    def check(self, data: bytes, name: str, kind: str = "") -> Verdict:
        path = self.work / "input.bin"
        path.write_bytes(data)
        offset = self.stderr.stat().st_size if self.stderr.exists() else 0
        self.conn.send((str(path), name))
        answered = self.conn.poll(self.timeout)
        if answered:
            try:
                r = self.conn.recv()
                verdict = Verdict(r["outcome"], r["seconds"], r["peak_mb"], r["detail"])
                # A heap left large (a MemoryError, or an input that took gigabytes and kept them) would fail
                # or inflate the peak of every input after it: start afresh.
                if verdict.outcome == "memory" or r.get("rss_mb", 0.0) > RESTART_ABOVE_MB:
                    self.close()
                    self._start()
                return self._keep(verdict, data, name, kind)
            except (EOFError, OSError):
                pass
        if self.proc.is_alive() and not answered:
            self.proc.kill()
        self.proc.join()
        stage, tail = self._last_stage(offset), self._stderr_tail(offset)
        code = self.proc.exitcode
        if answered or code not in (-9, None):
            verdict = Verdict("crash", 0.0, 0.0, f"worker died (exit {code}) in {stage}: {tail}")
        else:
            verdict = Verdict(
                "hang", self.timeout, 0.0, f"hang in {stage}: no answer within {self.timeout:.0f} s"
            )
        self.restarts += 1
        self._start()
        return self._keep(verdict, data, name, kind)

    def _keep(self, verdict: Verdict, data: bytes, name: str, kind: str) -> Verdict:
        if verdict.bad:
            self.kept.mkdir(parents=True, exist_ok=True)
            n = len(list(self.kept.iterdir()))
            safe = re.sub(r"[^\w.-]", "_", name)[-60:]
            (self.kept / f"{n:03d}-{kind}-{safe}").write_bytes(data)
        return verdict


# --- Hypothesis -------------------------------------------------------------------------------------------------

FLOATS = st.floats(allow_nan=True, allow_infinity=True)
VALUES = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    FLOATS,
    st.booleans(),
    st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)),
    st.text(max_size=120).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),
    st.sampled_from(NUMBER_TEXT + WEIRD_TEXT),
    st.sampled_from(EXTREME_NUMBERS + PERIOD_TEXT),
    st.floats(allow_subnormal=True, min_value=-1e-300, max_value=1e-300),
    st.none(),
)


@st.composite
def cell_edits(draw: st.DrawFn, template: Template) -> list[tuple[str, int, int, object]]:
    edits = []
    for _ in range(draw(st.integers(1, 25))):
        title, rows, cols = draw(st.sampled_from(template.areas))
        edits.append((title, draw(st.integers(1, rows + 3)), draw(st.integers(1, cols + 2)), draw(VALUES)))
    return edits


EXTREMES = st.one_of(
    st.integers(min_value=0, max_value=10**4),  # first: what Hypothesis starts from is a plausible figure
    st.sampled_from(EXTREME_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.integers(min_value=2**62, max_value=2**64),
)
PERIODS = st.one_of(
    st.sampled_from(PERIOD_TEXT),
    st.builds(lambda m, y: f"{m}/{y:04d}", st.integers(0, 13), st.integers(0, 9999)),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.integers(min_value=-(2**64), max_value=2**64),
    FLOATS,
)


@st.composite
def column_edits(draw: st.DrawFn, template: Template) -> list[tuple[str, int, int, object]]:
    """Several cells of one column of a table with a total row set to extreme numbers, the total kept, blanked
    or extreme too, and sometimes the cover's period made impossible: the combinations that overflow sums."""
    from faults.mutations import _total_columns

    tables = _total_columns(template)
    edits: list[tuple[str, int, int, object]] = []
    if tables:
        title, rows, total_row, cols = draw(st.sampled_from(tables))
        col = draw(st.sampled_from(cols))
        for r in draw(st.lists(st.sampled_from(rows), max_size=6, unique=True)):
            edits.append((title, r, col, draw(EXTREMES)))
        total = draw(st.one_of(st.just("keep"), st.none(), st.sampled_from(EXTREME_NUMBERS), FLOATS))
        if total != "keep":
            edits.append((title, total_row, col, total))
    if draw(st.booleans()):
        title, grid = template.grids[0]
        for r, row in enumerate(grid):
            for c, v in enumerate(row[:-1]):
                if isinstance(v, str) and v.strip().lower().startswith("kỳ báo cáo"):
                    edits.append((title, r + 1, c + 2, draw(PERIODS)))
    return edits


@st.composite
def scratch_workbook(draw: st.DrawFn, template: Template, labels: Sequence[str]) -> bytes:
    """A new workbook (no styles, merges or protection) written row by row from a template's sheets: sheets
    dropped, reordered or renamed, rows dropped or repeated, cells replaced by labels and ``VALUES``. Built on
    a real form, it usually gets past form recognition into the parser's deeper paths."""
    wb = openpyxl.Workbook()
    wb.remove(wb.worksheets[0])
    cells = st.one_of(st.sampled_from(labels), VALUES)
    # indices, not the grids themselves: Hypothesis would print kilobytes of repr
    order = [i for i in draw(st.permutations(range(len(template.grids)))) if draw(st.integers(0, 5)) < 5]
    order += draw(st.lists(st.integers(0, len(template.grids) - 1), max_size=2))  # a sheet sent twice
    for title, grid in (template.grids[i] for i in order):
        if draw(st.integers(0, 4)) == 4:  # hypothesis starts from 0: keep by default
            title = draw(st.one_of(st.sampled_from(labels), st.text(min_size=1, max_size=31)))
        try:
            ws = wb.create_sheet(ILLEGAL_CHARACTERS_RE.sub("", title)[:31] or "S")
        except ValueError:
            reject()
        for row in grid:
            for _ in range(draw(st.sampled_from([1, 1, 1, 1, 0, 2]))):
                ws.append([draw(cells) if draw(st.integers(0, 9)) == 9 else v for v in row])
        for _ in range(draw(st.integers(0, 3))):
            ws.append(draw(st.lists(cells, max_size=8)))
    if not wb.worksheets:  # every sheet dropped: what Excel saves then is one blank sheet
        wb.create_sheet("Sheet1")
    out = io.BytesIO()
    try:
        wb.save(out)
    except (ValueError, TypeError, OverflowError):
        reject()  # openpyxl refuses the value: not an input a clerk's Excel could have written
    return out.getvalue()


class Labels(tuple[str, ...]):
    """The templates' texts, with a short repr (Hypothesis prints the arguments of its strategies)."""

    def __repr__(self) -> str:
        return f"<{len(self)} template labels>"


def template_labels(templates: Sequence[Template]) -> Labels:
    return Labels(
        sorted({c for t in templates for _, g in t.grids for row in g for c in row if isinstance(c, str)})
    )


def generate(
    kind: str, data: st.DataObject, templates: Sequence[Template], labels: Sequence[str]
) -> tuple[bytes, str]:
    t = data.draw(st.sampled_from(list(templates)))
    if kind == "hypothesis_workbook":
        return data.draw(scratch_workbook(t, labels)), f"{t.name}_scratch.xlsx"
    edits, suffix = (column_edits(t), "column") if kind == "hypothesis_column" else (cell_edits(t), "hyp")
    try:
        return with_cells(t, data.draw(edits), as_text=data.draw(st.booleans())), f"{t.name}_{suffix}.xlsx"
    except (ValueError, TypeError, OverflowError):
        reject()
        raise


def run_hypothesis(
    kind: str, examples: int, templates: Sequence[Template], record: Callable[[bytes, str], None], seed_: int
) -> None:
    """Draw ``examples`` inputs of ``kind`` and hand each to ``record`` (no shrinking: counts are wanted)."""
    labels = template_labels(templates)

    @seed(seed_)
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.data())
    def explore(data: st.DataObject) -> None:
        record(*generate(kind, data, templates, labels))

    explore()


def campaign(
    examiner: Examiner, templates: Sequence[Template], per_kind: int, seed_: int = 2020
) -> list[FuzzKind]:
    """``per_kind`` inputs of every mutation and Hypothesis kind; the outcome counts per kind."""
    found: list[FuzzKind] = []
    for kind, mutate in MUTATIONS.items():
        counts = FuzzKind(kind)
        for i in range(per_kind):
            rng = random.Random(f"{seed_}:{kind}:{i}")
            data, name = mutate(rng, rng.choice(list(templates)))
            v = examiner.check(data, name, kind)
            counts.add(v.outcome, v.seconds, v.peak_mb, f"{name}: {v.detail}")
        found.append(counts)
    for kind in HYPOTHESIS_KINDS:
        counts = FuzzKind(kind)

        def record(data: bytes, name: str, counts: FuzzKind = counts, kind: str = kind) -> None:
            v = examiner.check(data, name, kind)
            counts.add(v.outcome, v.seconds, v.peak_mb, f"{name}: {v.detail}")

        run_hypothesis(kind, per_kind, templates, record, seed_)
        found.append(counts)
    return found
