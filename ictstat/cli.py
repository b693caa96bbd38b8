"""The ``ictstat`` command line: demo data, templates, runs and a look at the result."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

app = typer.Typer(
    help="ictstat: the spreadsheets of a provincial ICT department, turned into a DuckDB warehouse of "
    "indicator tables.",
    no_args_is_help=True,
    add_completion=False,
)
# Wide enough for the appendix tables when the output is a file or a CI log rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 120)


def _register_explain() -> None:
    from ictstat.explain import explain_command  # imports duckdb only when a figure is explained

    app.command("explain")(explain_command)


_register_explain()


@app.command("demo-data")
def demo_data(
    force: Annotated[bool, typer.Option(help="Write even if the inbox already holds files.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the demo generator (same seed, same bytes).")] = 2020,
    messy: Annotated[
        bool,
        typer.Option(
            help="Write the files as clerks send them: letterheads, retyped headers, numbers as text, .xls and "
            ".ods, meaningless names, copies sent twice. The figures stay the same."
        ),
    ] = False,
) -> None:
    """Write the demo inbox: 2019-2020 reports of every reporter, reproducing the 2020 report."""
    import tempfile

    from ictstat.demo import sent_days, write_demo_inbox
    from ictstat.demo.messy import rewrite_inbox
    from ictstat.settings import load_settings
    from tasks import receipts

    settings = load_settings()
    if _has_files(settings.inbox) and not force:
        console.print(
            f"[yellow]{settings.inbox} already holds files; use --force to write the demo anyway.[/]"
        )
        raise typer.Exit(0)
    register = settings.home / receipts.RECEIPTS  # the days the demo's files were sent (not their mtimes)
    if messy:
        with tempfile.TemporaryDirectory() as clean:
            days = sent_days(write_demo_inbox(Path(clean), seed))
            sources: dict[Path, Path] = {}
            written = rewrite_inbox(Path(clean), settings.inbox, seed=seed, sources=sources)
            receipts.write(register, settings.inbox, {w: days[sources[w]] for w in written})
    else:
        written = write_demo_inbox(settings.inbox, seed, receipts_path=register)
    console.print(f"Wrote {len(written)} demo files under {settings.inbox}")


@app.command()
def run(
    as_of: Annotated[
        str | None, typer.Option(help="Logical date YYYY-MM-DD (periods not over by then are refused).")
    ] = None,
) -> None:
    """Run the nightly flow once: intake, parse, validate, build and publish the warehouse."""
    from ictstat.settings import load_settings
    from tasks import ledger

    run_date = _usage_date(as_of) if as_of else None
    if run_date is not None:
        try:  # refused before the flow starts: nothing is taken in, built or published
            ledger.refuse_earlier_logical_date(load_settings().ledger_dir, run_date)
        except ledger.EarlierThanPublished as exc:
            console.print(f"[red]{exc}[/]", soft_wrap=True)
            raise typer.Exit(2) from None
    from flows.nightly import nightly

    summary = nightly(as_of=run_date, kind="manual")
    verb = "Published" if summary.status == "published" else "Nothing new, unchanged:"
    console.print(
        f"{verb} [bold]{summary.warehouse}[/]: {summary.files_total} file(s), {summary.files_new} new; "
        f"{summary.accepted + summary.accepted_with_warnings} accepted, {summary.rejected} rejected, "
        f"{summary.duplicates} duplicate(s), {summary.superseded} superseded."
    )
    if summary.rejected:
        console.print("Reasons: [bold]SELECT * FROM audit.submissions WHERE status = 'rejected'[/]")


@app.command()
def appendix(
    year: Annotated[int, typer.Option(help="Report year.")] = 2020,
    code: Annotated[
        str,
        typer.Option(
            "--appendix", help="PL2 (press), PL3 (postal), PL4 (telecom), PL5 (IT), PL6 (inspection) or all."
        ),
    ] = "all",
) -> None:
    """Print the annual report's appendices from the published warehouse."""
    from ictstat.report import print_appendix
    from ictstat.settings import load_settings

    settings = load_settings()
    if not settings.warehouse_path.exists():
        console.print(f"[red]No warehouse at {settings.warehouse_path}; run `ictstat run` first.[/]")
        raise typer.Exit(1)
    codes = ["PL2", "PL3", "PL4", "PL5", "PL6"] if code.lower() == "all" else [code.upper()]
    for c in codes:
        print_appendix(settings.warehouse_path, c, year, console)


@app.command()
def demo() -> None:
    """The whole job on the demo data: write the demo inbox if it is empty, run, print Phụ lục 4."""
    from ictstat.demo import DEMO_LOGICAL_DATE
    from ictstat.settings import load_settings
    from tasks import ledger

    settings = load_settings()
    if not _has_files(settings.inbox):
        demo_data(force=False, seed=2020, messy=False)
    # the demo's own logical date, so its statuses are the same on any day; a later publication stays
    last = ledger.last_logical_date(settings.ledger_dir)
    if last is None or last <= DEMO_LOGICAL_DATE:
        run(as_of=DEMO_LOGICAL_DATE.isoformat())
    appendix(year=2020, code="PL4")
    console.print("The other appendices: [bold]ictstat appendix --appendix all[/] (PL2 to PL6).")
    path = settings.warehouse_path
    console.print(f"\nWarehouse: [bold]{path.resolve()}[/]")
    venv_cli = Path(sys.executable).parent / "duckdb"
    cli = str(venv_cli) if venv_cli.exists() else (shutil.which("duckdb") or "duckdb")
    console.print(f"Open it read-only:  {_relative(Path(cli))} -readonly {_relative(path)}")
    console.print("  then e.g.  SELECT * FROM mart.province_indicators WHERE period = '2020';")


@app.command()
def templates(
    out: Annotated[
        Path | None, typer.Option(help="Folder to write into (default: $ICTSTAT_HOME/templates).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Date whose district list the forms print (default: latest valid).")
    ] = None,
) -> None:
    """Write every blank reporting template (.xlsx) for reporters to fill in."""
    from ictstat import reference
    from ictstat.settings import load_settings
    from ictstat.templates import latest_templates
    from ictstat.templates.writer import write_form

    settings = load_settings()
    folder = out or settings.home / "templates"
    day = _usage_date(as_of) if as_of else reference.last_valid_day(settings.province_code)
    districts = reference.districts(settings.province_code, day)
    for t in latest_templates():
        reporters = [
            r for r in reference.reporters().values() if r.kind == t.reporter_kind and r.active_on(day)
        ]
        codes = sorted(r.code for r in reporters)
        if any(s.layout == "commune_table" for s in t.sheets):
            # one form per district office, its communes printed in
            for r in sorted(reporters, key=lambda r: r.code):
                assert r.district_code is not None
                path = write_form(t, folder / f"{t.file_stem}_{r.district_code}.xlsx", districts,
                                  reporter_codes=[r.code], communes=reference.communes(r.district_code, day))  # fmt: skip
                console.print(f"{t.template_id} ({r.name_vi}) -> {path}")
            continue
        path = write_form(t, folder / f"{t.file_stem}.xlsx", districts, reporter_codes=codes)
        console.print(f"{t.template_id}: {t.title} -> {path}")


@app.command()
def export(
    year: Annotated[int | None, typer.Option(help="Report year of the appendix workbook.")] = None,
    parquet: Annotated[
        bool, typer.Option("--parquet", help="Also write every mart table as Parquet.")
    ] = False,
) -> None:
    """Write the appendix workbook (Phụ lục 2-6, charts, reconciliation, targets) and optionally Parquet."""
    from ictstat.export import export_appendix_workbook, export_parquet
    from ictstat.settings import load_settings

    settings = load_settings()
    warehouse = _published(settings.warehouse_path)
    if year is None and not parquet:
        console.print(
            "[red]Say what to export: --year 2020 for the appendix workbook, --parquet for the marts.[/]"
        )
        raise typer.Exit(2)
    if year is not None:
        try:
            path = export_appendix_workbook(warehouse, year, settings.exports)
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
        console.print(f"Appendix workbook: {path}")
    if parquet:
        paths = export_parquet(warehouse, settings.exports)
        console.print(f"Parquet: {len(paths)} files in {paths[0].parent if paths else settings.exports}")


@app.command()
def docs(
    out: Annotated[
        Path | None, typer.Option(help="Markdown file to write (default: $ICTSTAT_HOME/exports/).")
    ] = None,
) -> None:
    """Write the data dictionary (Markdown), generated from the published warehouse itself."""
    from ictstat.dictionary import write_data_dictionary
    from ictstat.settings import load_settings

    settings = load_settings()
    warehouse = _published(settings.warehouse_path)
    path = write_data_dictionary(warehouse, out or settings.exports / "tu_dien_du_lieu.md")
    console.print(f"Data dictionary: {path}")


@app.command()
def serve(
    port: Annotated[
        int, typer.Option(help="Port of the local Prefect server and its UI (127.0.0.1 only).")
    ] = 4200,
) -> None:
    """Serve the nightly schedule and the backfill form, with a local Prefect server unless PREFECT_API_URL is set."""
    from ictstat.serve import serve_locally

    raise typer.Exit(serve_locally(port=port))


@app.command("verify-archive")
def verify_archive() -> None:
    """Re-hash every archived file; a copy that no longer matches is reported and will never be loaded."""
    from ictstat.settings import load_settings
    from tasks import ledger
    from tasks.intake import verify_archive as verify
    from tasks.submissions import ParseCache

    settings = load_settings()
    bad = verify(settings.archive, settings.ledger_dir)
    # in the ledger: the next nightly run sees a changed input and rebuilds, instead of "nothing new"
    ledger.record_archive_check(
        settings.ledger_dir,
        datetime.now(UTC).isoformat(timespec="seconds"),
        [{"sha256": s.sha256, "submission_id": s.submission_id, "archive_path": s.archive_path} for s in bad],
    )
    cache = ParseCache(settings.cache_dir, settings.province_code)
    for s in bad:
        cache.drop(s.sha256)  # the next run parses it again, finds it corrupt and rejects it
        console.print(
            f"[red]{s.submission_id} {s.relative_path}: archive copy {s.archive_path} is corrupt[/]"
        )
    if bad:
        console.print(f"{len(bad)} corrupt archive file(s); the next run reports them in audit.submissions.")
        raise typer.Exit(1)
    console.print("Every archived file matches its sha256.")


def _usage_date(text: str) -> date:
    """A YYYY-MM-DD option, or one bilingual usage line and exit status 2 (never a traceback)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        console.print(
            f"[red]Ngày không hợp lệ: '{text}' (cần dạng YYYY-MM-DD, ví dụ 2021-03-31) / "
            f"Invalid date: '{text}' (expected YYYY-MM-DD, e.g. 2021-03-31)[/]",
            soft_wrap=True,
        )
        raise typer.Exit(2) from None


def _published(path: Path) -> Path:
    if not path.exists():
        console.print(f"[red]No warehouse at {path}; run `ictstat run` first.[/]")
        raise typer.Exit(1)
    return path


def _relative(path: Path) -> str:
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _has_files(folder: Path) -> bool:
    return folder.exists() and any(p.is_file() for p in folder.rglob("*"))


if __name__ == "__main__":
    app()
