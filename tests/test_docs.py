"""The docs cannot drift: every SQL query, Python snippet and ``ictstat`` command in README.md and docs/*.md
runs against the demo home they describe, and every result table shown under a query is what it returns.

The home is the one the docs assume: ``data/`` beside the reader, the demo published once, then VNPT's
corrected December 2020 report (``ictstat demo-data --correction``) published as a second run.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ictstat.demo import write_correction
from tests.conftest import AS_OF, make_home

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# commands a reader runs that this test does not: they start servers, run flows or write the inbox, and have
# tests of their own (test_first_run, test_cli, test_prefect_server, test_e2e_flow)
NOT_RUN_HERE = {"serve", "run", "demo", "demo-data", "backfill"}


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    lang: str
    text: str
    shown: str | None  # the plain block right after it: what the docs say it prints

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}"


def blocks() -> list[Block]:
    found: list[Block] = []
    for doc in DOCS:
        lines = doc.read_text(encoding="utf-8").splitlines()
        fenced: list[tuple[int, str, str]] = []
        i = 0
        while i < len(lines):
            opening = re.match(r"^\s*```(\w*)\s*$", lines[i])
            if opening:
                end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
                body = "\n".join(
                    line.strip() if opening.group(1) == "sql" else line for line in lines[i + 1 : end]
                )
                fenced.append((i + 1, opening.group(1), body))
                i = end
            i += 1
        for k, (line, lang, body) in enumerate(fenced):
            following = fenced[k + 1] if k + 1 < len(fenced) else None
            shown = following[2] if following and following[1] == "" and following[0] - line < 40 else None
            found.append(Block(doc.relative_to(ROOT).as_posix(), line, lang, body, shown))
    return found


SQL = [b for b in blocks() if b.lang == "sql"]
PYTHON = [b for b in blocks() if b.lang == "python"]


def commands() -> list[tuple[str, list[str]]]:
    """Every ``ictstat`` command in a shell block or in a README table cell, optional parts ([...]) dropped and
    each one also tried alone."""
    found: list[tuple[str, list[str]]] = []
    texts = [(str(b), b.text) for b in blocks() if b.lang in ("sh", "bash", "shell")]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    texts += [("README.md table", m) for m in re.findall(r"^\| `([^`]*)`", readme, flags=re.M)]
    for where, text in texts:
        for raw in text.splitlines():
            line = raw.split("#")[0].strip()
            line = re.sub(r"^(\.venv/bin/)?ictstat\b", "ictstat", line)
            if not line.startswith("ictstat ") or line.split()[1] in NOT_RUN_HERE:
                continue
            optional = re.findall(r"\[([^\]]*)\]", line)
            base = re.sub(r"\s*\[[^\]]*\]", "", line)
            for variant in [base, *(f"{base} {o}" for o in optional if "…" not in o and "..." not in o)]:
                found.append((where, shlex.split(variant)[1:]))
    return found


@pytest.fixture(scope="module")
def docs_home(prefect_harness, demo_inbox, tmp_path_factory) -> Path:
    """A folder whose ``data/`` is the docs' home, made as a reader makes it: the demo published by the nightly
    flow, then VNPT's correction (``ictstat demo-data --correction``) published by a second run."""
    from flows.nightly import nightly

    reader = tmp_path_factory.mktemp("reader")
    settings = make_home(reader / "data", demo_inbox)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ICTSTAT_HOME", str(settings.home))
        nightly(as_of=AS_OF)
        write_correction(settings.inbox)
        nightly(as_of=AS_OF)
    return reader


def shown_table(text: str) -> tuple[list[str], list[list[str]]] | None:
    """Column names and rows of a DuckDB box table as the docs print it, or None when the block is no table."""
    lines = [line for line in text.splitlines() if line.startswith(("│", "├", "┌", "└"))]
    if not lines or not lines[0].startswith("┌"):
        return None
    cells = [[c.strip() for c in line.strip("│").split("│")] for line in lines if line.startswith("│")]
    split = next(i for i, line in enumerate(lines) if line.startswith("├"))
    header_lines = sum(1 for line in lines[:split] if line.startswith("│"))
    return cells[0], cells[header_lines:]


RUN_ID = re.compile(r"^R\d{8}T\d{6}-[0-9a-f]{6}$")


def same(shown: str, value: object) -> bool:
    """A shown cell against a returned value; when and by which run a figure was published differ from one home
    to the next, so a timestamp or a run id matches any of its kind."""
    if isinstance(value, datetime):
        return bool(re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}", shown))
    if RUN_ID.match(shown):
        return isinstance(value, str) and value.startswith("R")
    if shown.endswith("…"):
        return str(value).startswith(shown[:-1])
    if value is None:
        return shown == "NULL"
    if isinstance(value, dict):  # a MAP, as DuckDB prints it
        return shown == "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return shown == str(value).lower()
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return math.isclose(float(shown.replace(",", "")), float(value), rel_tol=1e-9, abs_tol=1e-9)
        except ValueError:
            return False
    return shown == str(value)


@pytest.mark.parametrize("block", SQL, ids=str)
def test_every_query_in_the_docs_runs_and_returns_what_they_show(block, docs_home, monkeypatch):
    monkeypatch.chdir(docs_home)
    if "ATTACH" in block.text:  # a scratch database of the analyst's own
        con = duckdb.connect(str(docs_home / "analyst.duckdb"))
    else:
        con = duckdb.connect("data/warehouse.duckdb", read_only=True)
    try:
        statements = [s for s in block.text.split(";") if s.strip()]
        for statement in statements[:-1]:
            con.execute(statement)
        cursor = con.execute(statements[-1])
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    finally:
        con.close()
    table = shown_table(block.shown or "")
    if table is None:
        return
    header, shown_rows = table
    assert header == columns, f"{block}: the docs show columns {header}, the query returns {columns}"
    if any("·" in c or c == "…" for r in shown_rows for c in r):
        return  # a table the docs cut short
    assert len(shown_rows) == len(rows), f"{block}: {len(shown_rows)} rows shown, {len(rows)} returned"
    for shown_row, row in zip(shown_rows, rows, strict=True):
        assert all(same(s, v) for s, v in zip(shown_row, row, strict=True)), f"{block}: {shown_row} != {row}"


@pytest.mark.parametrize("block", PYTHON, ids=str)
def test_every_python_snippet_in_the_docs_runs(block, docs_home, monkeypatch):
    monkeypatch.chdir(docs_home)
    exec(compile(block.text, str(block), "exec"), {})


COMMANDS = commands()


@pytest.mark.parametrize("args", [c[1] for c in COMMANDS], ids=[f"{w}: {' '.join(a)}" for w, a in COMMANDS])
def test_every_command_in_the_docs_runs(args, docs_home):
    environ = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_PROFILE")}
    environ.update(ICTSTAT_HOME=str(docs_home / "data"), COLUMNS="160")
    done = subprocess.run(
        [sys.executable, "-c", "from ictstat.cli import app; app()", *args],
        cwd=docs_home, env=environ, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"ictstat {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr


def test_the_docs_hold_queries_and_commands_to_check():
    assert len(SQL) >= 10 and PYTHON and len(COMMANDS) >= 8
