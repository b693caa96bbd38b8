"""What the measurements say: derived figures, the targets of the issue, the sanity check, the printed table.

Times: ``wall`` is the measured call (the reading loop, or the flow call with its one flow-run start);
``excl. start`` removes one flow-run start (an empty flow run measured in the same process). Ratios and
targets use the latter. Memory: the peak of the measurement's process tree (pool workers included) and of its
main process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

console = Console(width=160)
GIB = 1024.0
ORDER = ("raw read fastexcel", "raw read calamine", "ictstat full run", "ictstat nothing new", "ictstat 1% new",
         "naive baseline", "ictstat full run (profiled)")  # fmt: skip


def seconds(m: dict[str, Any]) -> tuple[float | None, float | None]:
    """(wall, excluding one flow-run start) of a measurement, None where it did not finish."""
    if "seconds" in m:
        return m["seconds"], m["seconds"]
    if "flow_s" in m:
        scale = m["workbooks"] / m["files"] if m.get("extrapolated_from") else 1.0
        return m["flow_s"] * scale, m["body_s"] * scale
    return None, None


def step_memory(m: dict[str, Any]) -> dict[str, float]:
    """The highest tree RSS sampled while each step (task run) of a flow measurement ran, and between them."""
    samples, spans = m.get("memory") or [], m.get("task_spans") or []
    out: dict[str, float] = {}
    for t, rss in samples:
        name = next((n for n, a, b in spans if a <= t <= b), "between tasks")
        out[name] = max(out.get(name, 0.0), rss)
    return out


def derive(results: dict[str, dict[str, Any]], workbooks: int) -> dict[str, Any]:
    """Ratios and the issue's targets, from the measurements of one size."""
    for m in results.values():
        if m.get("task_spans"):
            m["step_peak_mb"] = step_memory(m)
        if m.get("steps") and "body_s" in m:  # Prefect's engine and the flow's own code between task bodies
            m["outside_tasks_s"] = round(m["body_s"] - sum(m["steps"].values()), 3)
    if "naive baseline" in results:
        results["naive baseline"]["workbooks"] = workbooks
    body = {name: seconds(m)[1] for name, m in results.items()}
    full, raw, naive = (
        body.get("ictstat full run"),
        body.get("raw read fastexcel"),
        body.get("naive baseline"),
    )
    full_ok = bool(results.get("ictstat full run", {}).get("ok"))
    nothing, one = body.get("ictstat nothing new"), body.get("ictstat 1% new")

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    out: dict[str, Any] = {
        "ictstat_over_raw": ratio(full, raw),
        "naive_over_ictstat": ratio(naive, full),
        "one_pct_over_full": ratio(one, full),
        "nothing_new_s": nothing,
        "full_peak_tree_mb": results.get("ictstat full run", {}).get("tree_peak_mb"),
        "full_run_ok": full_ok,
    }
    out["targets"] = {
        "full run <= 2x raw read (aim 1.5x)": _verdict(out["ictstat_over_raw"], 2.0, full_ok),
        ">= 20x faster than naive": _verdict(out["naive_over_ictstat"], 20.0, full_ok, at_least=True),
        "nothing new <= 1 s beyond a flow run": _verdict(nothing, 1.0, results.get("ictstat nothing new", {}).get("ok")),
        "1 % new <= 5 % of a full run": _verdict(out["one_pct_over_full"], 0.05, full_ok),
        "peak memory < 2 GB": _verdict(out["full_peak_tree_mb"], 2 * GIB, full_ok),
    }  # fmt: skip
    return out


def _verdict(value: float | None, limit: float, ok: Any, at_least: bool = False) -> str:
    if value is None or not ok:
        return "not measured (the run failed)" if value is not None else "not measured"
    met = value >= limit if at_least else value <= limit
    return f"{'met' if met else 'MISSED'} ({value:g})"


def sanity(naive_db: Path, warehouse: Path, carriers: int, sample: int = 6) -> dict[str, Any]:
    """Mobile subscribers by province and month: the naive database against ictstat's mart, on a handful of
    (province, month) pairs whose every carrier file the naive run loaded."""
    if not naive_db.exists() or not warehouse.exists():
        return {"checked": 0, "note": "a database is missing"}
    from bench.naive import province_totals

    naive = {k: v for k, (v, n) in province_totals(naive_db).items() if n == carriers}
    keys = sorted(naive)[:: max(1, len(naive) // sample)][:sample]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = []
        for province, period in keys:
            got = con.execute(
                "SELECT value FROM mart.province_indicators WHERE indicator_code = 'TEL_SUBS_MOBILE' "
                "AND province_code = ? AND period = ?",
                [province, period],
            ).fetchone()
            rows.append({"province_code": province, "period": period, "naive": naive[(province, period)],
                         "ictstat": got[0] if got else None})  # fmt: skip
    finally:
        con.close()
    agree = all(r["naive"] == r["ictstat"] for r in rows) if rows else None
    return {"checked": len(rows), "agree": agree, "pairs": rows}


def _mb(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, (int, float)) else "—"


def _files(name: str, m: dict[str, Any], workbooks: int) -> str:
    if name.startswith("ictstat") and "files_new" in m:
        return f"{m['files_new']:,} new / {m['files_total']:,}"
    if name == "naive baseline" and m.get("extrapolated_from"):
        return f"{workbooks:,} (est. from {m['files']:,})"
    return f"{m.get('files', workbooks):,}"


def print_size(result: dict[str, Any], path: Path) -> None:
    """The table of one size, its ratios and targets, the sanity check."""
    n, ms = result["workbooks"], result["measurements"]
    sources = {m["code"]["source_sha256"] for m in ms.values() if m.get("code", {}).get("source_sha256")}
    if len(sources) > 1:  # a changed parser also makes every cached parse stale: "nothing new" reparses all
        console.print(
            f"[bold red]ictstat's code changed during these measurements:[/] {', '.join(sorted(sources))}"
        )
    s = result["scale"]
    table = Table(title=f"{n:,} workbooks ({s['provinces']} provinces x {s['telecom']}+{s['postal']} carriers x "
                        f"{s['months']} months, {s['layout']} layout)")  # fmt: skip
    for col in ("measurement", "files", "wall s", "excl. flow start s", "files/s", "peak MB (tree)",
                "peak MB (process)", "note"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("measurement", "note", "files") else "right")
    for name in ORDER:
        if name not in ms:
            continue
        m = ms[name]
        wall, body = seconds(m)
        rate = f"{n / body:,.0f}" if body and name not in ("ictstat nothing new", "ictstat 1% new") else "—"
        note = _note(name, m)
        table.add_row(name, _files(name, m, n), f"{wall:,.2f}" if wall is not None else "—",
                      f"{body:,.2f}" if body is not None else "—", rate, _mb(m.get("tree_peak_mb")),
                      _mb(m.get("maxrss_mb")), note)  # fmt: skip
    console.print(table)
    d = result["derived"]
    console.print(f"ictstat / raw read: {d['ictstat_over_raw']}   naive / ictstat: {d['naive_over_ictstat']}   "
                  f"1 % new / full: {d['one_pct_over_full']}")  # fmt: skip
    for target, verdict in d["targets"].items():
        console.print(f"  {target}: {verdict}")
    sanity_ = result["sanity"]
    console.print(f"sanity (mobile subscribers, naive vs ictstat): {sanity_.get('checked', 0)} pairs, "
                  f"agree={sanity_.get('agree')}  ->  {path}")  # fmt: skip


def _note(name: str, m: dict[str, Any]) -> str:
    if m.get("timed_out"):
        return "TIMED OUT"
    if m.get("ok") is False:
        error = " ".join(str(m.get("error", "")).split())
        feedback = f" ({m['feedback_files']:,} feedback workbooks)" if m.get("feedback_files") else ""
        return f"FAILED{feedback}: " + (error[:60] + "…" if len(error) > 60 else error)
    if name.startswith("ictstat") and "rejected" in m:
        accepted = m["accepted"] + m["accepted_with_warnings"]
        return f"{accepted:,} accepted, {m['rejected']:,} rejected, {m['superseded']:,} superseded"
    if name == "naive baseline" and m.get("extrapolated_from"):
        return f"extrapolated linearly from the first {m['files']:,} files"
    return ""


def print_memory_growth(sizes: list[dict[str, Any]]) -> None:
    if len(sizes) < 2:
        return
    first, last = sizes[0], sizes[-1]
    a, b = first["derived"]["full_peak_tree_mb"], last["derived"]["full_peak_tree_mb"]
    if a and b:
        console.print(f"Peak memory of the full run: {a:,.0f} MB at {first['workbooks']:,} files, {b:,.0f} MB at "
                      f"{last['workbooks']:,} ({b / a:.2f}x for {last['workbooks'] / first['workbooks']:.1f}x the files)")  # fmt: skip
