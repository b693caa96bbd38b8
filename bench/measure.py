"""One measurement, in a process of its own: ``python -m bench.measure <spec.json>`` (started by bench.run).

The spec says what to measure; the result (JSON) goes to the file the spec names. Kinds:

* ``raw-fastexcel``: every sheet of every file read by fastexcel into Arrow, one process: the practical limit;
* ``raw-calamine``: the same with python-calamine's ``to_python`` (what ictstat's reader starts from);
* ``ictstat``: the real nightly flow (``flows.nightly``), on the home and reference overlay in the environment;
* ``naive``: the tutorial baseline of ``bench.naive``.

Flow measurements first run an empty flow twice: the first pays the process's cold start (imports, client,
the server's first answers), the second is what one flow-run start costs. ``flow_s`` is the flow call;
``body_s`` is ``flow_s`` less one flow-run start.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow

PREFECT_ENGINE = r".*prefect/(task_engine|utilities/collections|utilities/engine/).*"


@flow(name="bench-empty")
def empty_flow() -> None:
    """Nothing: what starting a flow run costs."""


def workbooks(inbox: Path) -> list[Path]:
    return sorted(inbox.rglob("*.xlsx"))


def raw_fastexcel(spec: dict[str, Any]) -> dict[str, Any]:
    import fastexcel

    files = workbooks(Path(spec["inbox"]))
    sheets = rows = 0
    started = time.perf_counter()
    for path in files:
        reader = fastexcel.read_excel(path)
        for name in reader.sheet_names:
            sheet = reader.load_sheet(name, header_row=None)
            sheet.__arrow_c_array__()  # materialise every cell as Arrow, not only the sheet's dimensions
            sheets += 1
            rows += sheet.height
    return {"files": len(files), "sheets": sheets, "rows": rows, "seconds": time.perf_counter() - started}


def raw_calamine(spec: dict[str, Any]) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook

    files = workbooks(Path(spec["inbox"]))
    sheets = rows = 0
    started = time.perf_counter()
    for path in files:
        wb = CalamineWorkbook.from_path(str(path))
        for name in wb.sheet_names:
            rows += len(wb.get_sheet_by_name(name).to_python(skip_empty_area=False))
            sheets += 1
        wb.close()
    return {"files": len(files), "sheets": sheets, "rows": rows, "seconds": time.perf_counter() - started}


def _flow_starts() -> dict[str, float]:
    out = {}
    for name in ("empty_flow_cold_s", "empty_flow_s"):
        started = time.perf_counter()
        empty_flow()
        out[name] = time.perf_counter() - started
    return out


def _prefect_times(flow_run_id: Any) -> dict[str, Any]:
    """The flow run's and its task runs' own running times, as Prefect recorded them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    steps: dict[str, float] = {}
    spans = []  # when each task ran, to find each step's peak memory in the parent's samples
    for t in tasks:
        name = t.name.rsplit("-", 1)[0]
        steps[name] = round(steps.get(name, 0.0) + t.total_run_time.total_seconds(), 3)
        if t.start_time and t.end_time:
            spans.append((name, t.start_time.timestamp(), t.end_time.timestamp()))
    return {"prefect_run_s": run.total_run_time.total_seconds(), "steps": steps, "task_spans": spans}


def ictstat(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    from flows.nightly import nightly

    out: dict[str, Any] = {"import_s": time.perf_counter() - started, **_flow_starts()}
    profiler = None
    if spec.get("profile"):
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    started = time.perf_counter()
    state = nightly(as_of=date.fromisoformat(spec["as_of"]), kind="nightly", return_state=True)
    out["flow_s"] = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        target = Path(spec["profile"])
        # Prefect's own frames are hidden as library code by default; its handling of task parameters is not
        # incidental here, so the engine's frames are shown
        shown = {"show_regex": PREFECT_ENGINE, "filter_threshold": 0.005}
        text = profiler.output_text(unicode=True, color=False, processor_options=shown)
        target.write_text(text, encoding="utf-8")
        # the interactive page and the session (tens of MB) stay beside the run's logs, not in results/
        beside = Path(spec["profile_dir"]) / target.stem
        beside.with_suffix(".html").write_text(profiler.output_html(), encoding="utf-8")
        if profiler.last_session is not None:  # pyinstrument --load=<file> renders it again, any way
            profiler.last_session.save(str(beside.with_suffix(".pyisession")))
    out.update(_prefect_times(state.state_details.flow_run_id))
    out["ok"] = state.is_completed()
    if out["ok"]:
        summary = state.result()
        for key in ("files_total", "files_new", "accepted", "accepted_with_warnings", "rejected", "duplicates",
                    "superseded", "issues", "feedback_written"):  # fmt: skip
            out[key] = getattr(summary, key)
    else:
        out["error"] = str(state.message)[:600]
        # what the failed run got through: feedback workbooks are written for rejected files before the build
        feedback = Path(os.environ["ICTSTAT_HOME"]) / "feedback"
        out["feedback_files"] = sum(1 for _ in feedback.rglob("*.xlsx")) if feedback.exists() else 0
    return out


def naive(spec: dict[str, Any]) -> dict[str, Any]:
    from bench.naive import inbox_files, naive_load

    inbox, limit = Path(spec["inbox"]), spec.get("limit") or None
    files = inbox_files(inbox, limit)
    out: dict[str, Any] = _flow_starts()
    started = time.perf_counter()
    state = naive_load(inbox, Path(spec["database"]), limit, return_state=True)
    out["flow_s"] = time.perf_counter() - started
    out["ok"] = state.is_completed()
    out["files"] = len(files)
    out["figures"] = state.result() if out["ok"] else None
    if not out["ok"]:
        out["error"] = str(state.message)[:600]
    return out


KINDS = {"raw-fastexcel": raw_fastexcel, "raw-calamine": raw_calamine, "ictstat": ictstat, "naive": naive}


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    result = KINDS[spec["kind"]](spec)
    if "flow_s" in result:
        result["body_s"] = result["flow_s"] - result["empty_flow_s"]
    self_usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # pool workers, once they have ended
    result["maxrss_children_mb"] = round(children.ru_maxrss / 1024, 1)
    result["maxrss_self_mb"] = round(self_usage.ru_maxrss / 1024, 1)
    Path(spec["result"]).write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":  # the guard matters: ictstat's process pool spawns workers that import this module
    main()
