"""The ``ictstat`` command line: demo data, templates, runs and a look at the result."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from ictstat.explain import FromCopy
from ictstat.messages import bilingual

if TYPE_CHECKING:
    from flows.reports import RunSummary
    from ictstat.settings import Settings
    from tasks.intake import Sighting

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    help="ictstat: the spreadsheets of a provincial ICT department, turned into a DuckDB warehouse of "
    "indicator tables.",
    no_args_is_help=True,
    add_completion=False,
    context_settings=HELP_OPTIONS,
)
# Wide enough for the appendix tables when the output is a file or a CI log rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 120)
APPENDICES = ("PL2", "PL3", "PL4", "PL5", "PL6")


def _version(value: bool) -> None:
    if value:
        from ictstat import __version__

        console.print(f"ictstat {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """ictstat: the spreadsheets of a provincial ICT department, turned into a DuckDB warehouse of indicator
    tables."""


def refuse(vi: str, en: str, code: int = 1) -> NoReturn:
    """Say why a command refuses (Vietnamese, then English) and exit non-zero."""
    console.print(Text(bilingual(vi, en), style="red"))
    raise typer.Exit(code)


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
    correction: Annotated[
        bool,
        typer.Option(
            help="Add VNPT's corrected December 2020 report to the demo inbox (the restatement and as-of "
            "examples of docs/analysts.md); then `ictstat run`."
        ),
    ] = False,
) -> None:
    """Write the demo inbox: 2019-2020 reports of every reporter, reproducing the 2020 report."""
    import tempfile

    from ictstat.demo import CORRECTED_FILE, WRITERS, sent_days, write_correction, write_demo_inbox
    from ictstat.demo.messy import rewrite_inbox
    from ictstat.settings import load_settings
    from tasks import receipts

    settings = load_settings()
    if correction:
        if not (settings.inbox / CORRECTED_FILE).exists():
            console.print(
                f"[red]Hộp thư chưa có báo cáo demo của VNPT / The inbox lacks VNPT's demo report "
                f"{escape(CORRECTED_FILE)}: run `ictstat demo-data` first.[/]"
            )
            raise typer.Exit(1)
        console.print(f"Đã ghi / Wrote {escape(str(write_correction(settings.inbox)))}")
        return
    if _has_files(settings.inbox) and not force:
        refuse(f"{settings.inbox} đã có tệp; thêm --force để vẫn ghi dữ liệu mẫu.",
               f"{settings.inbox} already holds files; use --force to write the demo anyway.")  # fmt: skip
    register = settings.home / receipts.RECEIPTS  # the days the demo's files were sent (not their mtimes)
    with _steps_progress(len(WRITERS) + messy) as step:
        if messy:
            with tempfile.TemporaryDirectory() as clean:
                days = sent_days(write_demo_inbox(Path(clean), seed, on_written=step))
                sources: dict[Path, Path] = {}
                written = rewrite_inbox(Path(clean), settings.inbox, seed=seed, sources=sources)
                receipts.write(register, settings.inbox, {w: days[sources[w]] for w in written})
                step("messy", len(written))
        else:
            written = write_demo_inbox(settings.inbox, seed, receipts_path=register, on_written=step)
    console.print(bilingual(f"Đã ghi {len(written)} tệp mẫu vào {settings.inbox}",
                            f"Wrote {len(written)} demo files under {settings.inbox}"))  # fmt: skip


@app.command()
def run(
    as_of: Annotated[
        str | None, typer.Option(help="Logical date YYYY-MM-DD (periods not over by then are refused).")
    ] = None,
) -> None:
    """Run the nightly flow once: intake, parse, validate, build and publish the warehouse."""
    from ictstat.settings import load_settings
    from tasks import ledger

    run_date = _logical_date(as_of)
    settings = load_settings()
    if as_of is not None:
        try:  # refused before anything starts: nothing is taken in, built or published
            ledger.refuse_earlier_logical_date(settings.ledger_dir, run_date)
        except ledger.EarlierThanPublished as exc:
            console.print(Text(str(exc), style="red"), soft_wrap=True)
            raise typer.Exit(2) from None
    if _nothing_new(settings, run_date):
        return
    from flows.nightly import nightly

    with prefect_server_needed():
        summary = nightly(as_of=run_date if as_of else None, kind="manual")
    print_run_outcome(summary)


def _logical_date(as_of: str | None) -> date:
    """The run's logical date: the one given (checked by :func:`_as_of_date`), else today on the province's
    clock."""
    from ictstat.periods import LOCAL_TZ

    return _as_of_date(as_of) or datetime.now(LOCAL_TZ).date()


def _nothing_new(settings: Settings, run_date: date) -> bool:
    """The nightly's "nothing new" decision taken before Prefect is started, when no Prefect server is
    configured: a temporary server would be started (seconds) only to be thrown away with the flow run's record.
    Recorded in the ledger (``audit.runs``) as the flow records it. With ``PREFECT_API_URL`` set, every run goes
    through the flow, so the server's UI shows it."""
    if os.environ.get("PREFECT_API_URL"):
        return False
    from tasks import ledger, unchanged
    from tasks.publish import WarehouseBusy, writer_lock

    try:
        with writer_lock(settings.lock_path, wait_seconds=0):
            found = unchanged.quick_unchanged(settings, run_date)
            if found is None:
                return False
            last, files_total = found
            run = ledger.run_record("", "manual")
            unchanged.record_unchanged(settings, run, last, files_total, run_date)
    except WarehouseBusy:
        return False  # another run is writing: the flow waits for it and decides after it
    console.print(
        f"Không có gì mới, kho dữ liệu giữ nguyên / Nothing new, warehouse unchanged: "
        f"[bold]{escape(str(settings.warehouse_path))}[/] ({run['files_total']} tệp / file(s); "
        f"như lần công bố / as published by {last['run_id']})."
    )
    return True


@contextmanager
def prefect_server_needed() -> Iterator[None]:
    """Around a flow call: one sentence instead of Prefect's traceback when its temporary server cannot start."""
    try:
        yield
    except RuntimeError as exc:
        if "ephemeral Prefect API server" not in str(exc):
            raise
        _no_prefect_server()


def _no_prefect_server() -> NoReturn:
    from flows import EPHEMERAL_STARTUP_SECONDS

    limit = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(EPHEMERAL_STARTUP_SECONDS))
    console.print(
        f"[red]Máy chủ Prefect tạm thời không khởi động được trong {limit} giây / The temporary Prefect server "
        f"did not start within {limit} s.[/] Chạy một máy chủ riêng / Start one yourself: [bold]ictstat serve[/] "
        "(hoặc / or `prefect server start`), rồi / then [bold]export PREFECT_API_URL=http://127.0.0.1:4200/api[/] "
        "và chạy lại / and run again."
    )
    raise typer.Exit(1)


def _as_of_date(text: str | None) -> date | None:
    """``--as-of`` as a date within the years the register knows, or a clear refusal before any run starts."""
    if not text:
        return None
    from ictstat import reference
    from ictstat.periods import check_logical_date

    day = _usage_date(text)
    try:
        return check_logical_date(day, reference.first_year())
    except ValueError as exc:
        console.print(f"--as-of {text}: {exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from exc


@app.command()
def appendix(
    year: Annotated[int, typer.Option(help="Report year.")] = 2020,
    code: Annotated[
        str,
        typer.Option(
            "--appendix", help="PL2 (press), PL3 (postal), PL4 (telecom), PL5 (IT), PL6 (inspection) or all."
        ),
    ] = "all",
    from_copy: FromCopy = False,
) -> None:
    """Print the annual report's appendices from the published warehouse."""
    from ictstat import published
    from ictstat.report import appendix_years, print_appendix
    from ictstat.settings import load_settings

    settings = load_settings()
    warehouse = _published(settings.warehouse_path)
    if code.lower() != "all" and code.upper() not in APPENDICES:
        listed = ", ".join(APPENDICES)
        refuse(f"Không có phụ lục '{code}'; chọn {listed} hoặc all.",
               f"No appendix '{code}'; choose {listed} or all.", code=2)  # fmt: skip
    codes = list(APPENDICES) if code.lower() == "all" else [code.upper()]
    try:  # another program holding the file for writing: one sentence, or a copy taken now (--from-copy)
        with published.readable(warehouse, copy_if_held=from_copy) as usable:
            if usable != warehouse:
                console.print(Text(published.copy_notice(warehouse), style="yellow"))
            years = appendix_years(usable)
            if year not in years:
                listed = ", ".join(map(str, years)) or "-"
                refuse(f"Kho dữ liệu không có số liệu phụ lục năm {year}; các năm có: {listed}.",
                       f"The warehouse has no appendix figures for {year}; years with figures: {listed}.")  # fmt: skip
            for c in codes:
                print_appendix(usable, c, year, console)
    except (published.WarehouseHeld, published.SnapshotFailed) as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(1) from None


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
    appendix(year=2020, code="PL4", from_copy=False)
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
    to = reference.addressee(settings.province_code, day)  # Sở KH&CN from 2025-03-01
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
                                  reporter_codes=[r.code], communes=reference.communes(r.district_code, day),
                                  addressee=to)  # fmt: skip
                console.print(f"{t.template_id} ({r.name_vi}) -> {path}")
            continue
        path = write_form(t, folder / f"{t.file_stem}.xlsx", districts, reporter_codes=codes, addressee=to)
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
        refuse("Hãy nói cần xuất gì: --year 2020 cho sổ phụ lục, --parquet cho các bảng mart.",
               "Say what to export: --year 2020 for the appendix workbook, --parquet for the marts.", code=2)  # fmt: skip
    if year is not None:
        try:
            path = export_appendix_workbook(warehouse, year, settings.exports)
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
        console.print(bilingual(f"Sổ phụ lục: {path}", f"Appendix workbook: {path}"), highlight=False)
    if parquet:
        paths = export_parquet(warehouse, settings.exports)
        folder = paths[0].parent if paths else settings.exports
        console.print(bilingual(f"Parquet: {len(paths)} tệp trong {folder}", f"Parquet: {len(paths)} files in {folder}"),
                      highlight=False)  # fmt: skip


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
    console.print(bilingual(f"Từ điển dữ liệu: {path}", f"Data dictionary: {path}"), highlight=False)


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
def verify_archive(
    clear: Annotated[
        list[str] | None,
        typer.Option(
            "--clear",
            help="A finding checked by an operator (submission id S0000123 or sha256): not reported again while "
            "its copy stays as it is now. Repeat for several.",
        ),
    ] = None,
) -> None:
    """Re-hash every archived file; a copy that no longer matches is reported and will never be loaded."""
    from ictstat.settings import load_settings
    from tasks import ledger
    from tasks.intake import copy_hash
    from tasks.intake import verify_archive as verify
    from tasks.submissions import ParseCache

    settings = load_settings()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    cleared = []
    for key in clear or []:
        s = _sighting(settings.ledger_dir, key)
        copy = copy_hash(settings.archive / s.archive_path) if s.archive_path else "missing"
        cleared.append({"sha256": s.sha256, "submission_id": s.submission_id, "copy_sha256": copy,
                        "by": _os_user(), "at": now})  # fmt: skip
        console.print(
            f"Đã xóa cảnh báo của / Cleared the finding on {s.submission_id} {escape(s.relative_path)}",
            markup=True,
        )
    if cleared:
        ledger.record_archive_check(settings.ledger_dir, now, [], cleared)
    bad = verify(settings.archive, settings.ledger_dir, ledger.cleared_archive_findings(settings.ledger_dir))
    # in the ledger: the next nightly run sees a changed input and rebuilds, instead of "nothing new"
    ledger.record_archive_check(
        settings.ledger_dir,
        now,
        [{"sha256": s.sha256, "submission_id": s.submission_id, "archive_path": s.archive_path} for s in bad],
    )
    cache = ParseCache(settings.cache_dir, settings.province_code)
    for s in bad:
        cache.drop(s.sha256)  # the next run parses it again, finds it corrupt and rejects it
        console.print(
            f"[red]{s.submission_id} {escape(s.relative_path)}: archive copy {s.archive_path} is corrupt[/]"
        )  # a file name is shown as it is, never read as markup ("vnpt_T12 [bản sửa].xlsx")
    if bad:
        console.print(
            f"{len(bad)} corrupt archive file(s); the next run reports them in audit.submissions. Once checked: "
            "ictstat verify-archive --clear S0000123"
        )
        raise typer.Exit(1)
    console.print("Every archived file matches its sha256.")


def _usage_date(text: str) -> date:
    """A YYYY-MM-DD option, or one bilingual usage line and exit status 2 (never a traceback)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        console.print(
            f"[red]Ngày không hợp lệ: '{escape(text)}' (cần dạng YYYY-MM-DD, ví dụ 2021-03-31) / "
            f"Invalid date: '{escape(text)}' (expected YYYY-MM-DD, e.g. 2021-03-31)[/]",
            soft_wrap=True,
        )
        raise typer.Exit(2) from None


# --- what a run says, and the progress of long steps -------------------------------------------------------

DEMO_STEPS_VI = {"telecom": "doanh nghiệp viễn thông", "postal": "doanh nghiệp bưu chính",
                 "district": "phòng văn hóa - thông tin", "department": "Sở TT&TT", "messy": "bản lộn xộn"}  # fmt: skip


@contextmanager
def _steps_progress(total: int) -> Iterator[Callable[[str, int], None]]:
    """A rich progress bar over a few long steps; yields the callback that marks one step done."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(bilingual("Đang ghi dữ liệu mẫu", "Writing the demo inbox"), total=total)

        def done(step: str, files: int) -> None:
            label = bilingual(f"{DEMO_STEPS_VI.get(step, step)}: {files} tệp", f"{step}: {files} files")
            progress.update(task, advance=1, description=label)

        yield done


def print_run_outcome(summary: RunSummary) -> None:
    """After ``ictstat run``: what happened, the counts, and each rejected file with its reason and the
    feedback workbook to send back."""
    from flows.reports import state_message

    console.print(Text(state_message(summary), style="bold"))
    accepted = summary.accepted + summary.accepted_with_warnings
    console.print(bilingual(
        f"Kho dữ liệu {summary.warehouse}: {summary.files_total} tệp, {summary.files_new} tệp mới; {accepted} "
        f"chấp nhận, {summary.rejected} bị từ chối, {summary.duplicates} trùng lặp, {summary.superseded} bị thay thế.",
        f"Warehouse {summary.warehouse}: {summary.files_total} file(s), {summary.files_new} new; {accepted} "
        f"accepted, {summary.rejected} rejected, {summary.duplicates} duplicate(s), {summary.superseded} superseded.",
    ), highlight=False)  # fmt: skip
    for f in summary.rejected_files:
        console.print(Text(f"  ✗ {f.label} ({f.file}, {f.submission_id})", style="red"))
        console.print(f"    {bilingual(f.reason_vi, f.reason_en)}", highlight=False, markup=False)
        if f.feedback:
            console.print(f"    {bilingual('Phản hồi', 'Feedback')}: {_relative(Path(f.feedback))}",
                          highlight=False, markup=False)  # fmt: skip
    if summary.deferred or summary.quarantined:
        console.print(bilingual(
            f"{summary.deferred} tệp giữ lại (thử lại lần chạy sau), {summary.quarantined} tệp cách ly",
            f"{summary.deferred} deferred (retried next run), {summary.quarantined} quarantined",
        ) + ": SELECT * FROM audit.submissions WHERE status IN ('deferred', 'quarantined') (docs/operations.md)",
            highlight=False, markup=False)  # fmt: skip


# --- ictstat indicators ---------------------------------------------------------------------------------


@app.command()
def indicators(
    domain: Annotated[
        str | None, typer.Option(help="Only one domain (telecom, postal, press, it, inspection...).")
    ] = None,
) -> None:
    """List the indicator codes with their Vietnamese and English names and units."""
    from rich.table import Table

    from ictstat import reference

    rows = [r for r in reference.indicators().values() if domain is None or r["domain"] == domain.lower()]
    if not rows:
        domains = ", ".join(sorted({r["domain"] for r in reference.indicators().values()}))
        refuse(f"Không có lĩnh vực '{domain}'; các lĩnh vực: {domains}.",
               f"No domain '{domain}'; domains: {domains}.", code=2)  # fmt: skip
    table = Table(header_style="bold", title=bilingual("Chỉ tiêu", "Indicators"))
    for title in ("Mã / code", "Tên / name (vi)", "Name (en)", "Đơn vị / unit", "Lĩnh vực / domain"):
        table.add_column(title, overflow="fold")
    for r in rows:
        unit = r["unit_vi"] if r["unit_vi"] == r["unit"] else f"{r['unit_vi']} ({r['unit']})"
        table.add_row(r["indicator_code"], r["name_vi"], r["name_en"], unit, r["domain"])
    console.print(table)


# --- ictstat backfill (and python -m flows.backfill) ------------------------------------------------------


class BackfillMode(StrEnum):
    """As tasks.backfill.MODES, without importing it to start (the choices show in --help)."""

    missing = "missing"
    failed = "failed"
    all = "all"


def backfill_command(
    period_from: Annotated[
        str, typer.Argument(metavar="FROM", help="First period: 2020, 2020-H1, 2020-Q3, 2020-07.")
    ],
    period_to: Annotated[str, typer.Argument(metavar="TO", help="Last period (inclusive), same notation.")],
    mode: Annotated[
        BackfillMode,
        typer.Option(
            help="missing: periods without an accepted report; failed: rejected files; all: every file.",
        ),
    ] = BackfillMode.missing,
    reporter: Annotated[
        list[str] | None,
        typer.Option(
            "--reporter",
            metavar="CODE_OR_KIND",
            help="A reporter code (VNPT, VHTT_688) or kind (telecom_carrier, postal_carrier, district, "
            "department); repeat for several; none means every reporter.",
        ),
    ] = None,
    reparse: Annotated[
        bool, typer.Option("--reparse", help="Ignore cached parses of the selected files.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Change nothing: print the files the backfill would reprocess.")
    ] = False,
) -> None:
    """Reprocess a range of reporting periods: choose the files, reparse them, rebuild and publish."""
    from ictstat.settings import load_settings
    from tasks import backfill as selection  # no Prefect: a typo is refused at once

    try:
        request = selection.parse_request(period_from, period_to, reporter or [], mode.value)
    except selection.BackfillError as exc:
        refuse(exc.vi, exc.en, code=2)
    settings = load_settings()
    if dry_run:
        chosen = selection.select(request, settings.ledger_dir, settings.inbox, settings.warehouse_path)
        print_selection(request, chosen)
        return
    from flows.backfill import backfill

    state = backfill(
        period_from=str(request.period_from), period_to=str(request.period_to),
        reporters=list(request.reporters), mode=request.mode, reparse=reparse, return_state=True,
    )  # fmt: skip
    console.print(Text(str(state.message or state.name), style="bold" if state.is_completed() else "red"))
    if not state.is_completed():
        raise typer.Exit(1)
    done = state.result()
    console.print(bilingual(
        f"{done['selected']} tệp được chọn: {done['now_accepted']} nay được chấp nhận, {done['now_rejected']} "
        "vẫn bị từ chối.",
        f"{done['selected']} file(s) selected: {done['now_accepted']} now accepted, {done['now_rejected']} "
        "still rejected.",
    ), highlight=False)  # fmt: skip


app.command("backfill", context_settings=HELP_OPTIONS)(backfill_command)


def print_selection(request: Any, chosen: Any) -> None:
    """A dry run's answer: the files a backfill would reprocess, as a table (key columns first)."""
    from rich.table import Table

    from tasks.backfill import preview_rows

    rows = preview_rows(chosen)
    reporters = ", ".join(request.reporters)
    table = Table(header_style="bold", title=bilingual(
        f"Chạy thử {request.period_from}..{request.period_to}, chế độ {request.mode}, đơn vị {reporters or 'tất cả'}",
        f"Dry run {request.period_from}..{request.period_to}, mode {request.mode}, reporters {reporters or 'all'}",
    ))  # fmt: skip
    # the codes, the id and the short sha256 stay whole; the file's path folds, and the reporter's name gives way
    widths = {"tệp / file": 24, "mã / id": 8, "sha256": 12, "kỳ / period": 7, "biểu mẫu / form": 7}
    for column in rows[0] if rows else ("tệp / file",):
        table.add_column(
            column.replace(" / ", " /\n"),  # two short header lines leave the width to the values
            overflow="fold",
            min_width=widths.get(column),
            max_width=14 if column in ("tên / name", "trạng thái / status") else None,
        )
    for row in rows:
        table.add_row(*row.values())
    console.print(table)
    n, new = len(chosen.reparse), len(chosen.new_in_inbox)
    console.print(bilingual(f"{n} tệp sẽ được xử lý lại, {new} tệp mới trong hộp thư; không thay đổi gì.",
                            f"{n} file(s) would be reprocessed, {new} new in the inbox; nothing was changed."),
                  highlight=False)  # fmt: skip


def backfill_main(argv: list[str] | None = None) -> int:
    """``python -m flows.backfill``: the backfill command alone, with the same parsing and exit codes."""
    alone = typer.Typer(add_completion=False, context_settings=HELP_OPTIONS)
    alone.command()(backfill_command)
    try:
        alone(args=argv, prog_name="python -m flows.backfill")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _published(path: Path) -> Path:
    if not path.exists():
        refuse(f"Chưa có kho dữ liệu tại {path}; hãy chạy `ictstat run` trước.",
               f"No warehouse at {path}; run `ictstat run` first.")  # fmt: skip
    return path


def _relative(path: Path) -> str:
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _has_files(folder: Path) -> bool:
    return folder.exists() and any(p.is_file() for p in folder.rglob("*"))


def _os_user() -> str:
    """Who is at the keyboard, as the operating system knows them (recorded with every decision)."""
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def _sighting(ledger_dir: Path, key: str) -> Sighting:
    """The sighting a submission id (S0000123) or a sha256 names; exits with a message when none does."""
    from tasks.intake import read_ledger

    key = key.strip()
    found = [s for s in read_ledger(ledger_dir) if key in (s.submission_id, s.sha256)]
    if not found:
        console.print(f"[red]Không có bản gửi / No submission {escape(key)} in the ledger.[/]")
        raise typer.Exit(2)
    return found[0]


def _decide(submission: str, action: str, reason: str) -> None:
    """Append an operator's quarantine or release to the ledger; the archived copy is never touched."""
    from ictstat.settings import load_settings
    from tasks import ledger

    settings = load_settings()
    s = _sighting(settings.ledger_dir, submission)
    decision = {"action": action, "sha256": s.sha256, "submission_id": s.submission_id, "by": _os_user(),
                "at": datetime.now(UTC).isoformat(timespec="seconds"), "reason": reason}  # fmt: skip
    ledger.record_quarantine(settings.ledger_dir, decision)
    verb = "Đã cách ly / Quarantined" if action == "quarantine" else "Đã phục hồi / Released"
    console.print(f"{verb} {s.submission_id} {escape(s.relative_path)} (sha256 {s.sha256[:12]}…)")
    console.print("Áp dụng từ lần chạy sau / Takes effect at the next run (ictstat run).")


@app.command()
def quarantine(
    submission: Annotated[str, typer.Argument(help="Submission id (S0000123) or sha256 of the file.")],
    reason: Annotated[str, typer.Option(help="Why, for audit.submissions.")],
) -> None:
    """Withdraw a submission from parsing and the build (its archived copy is kept): it shows as quarantined."""
    if not reason.strip():
        console.print('[red]Cần lý do / A reason is required: --reason "…"[/]')
        raise typer.Exit(2)
    _decide(submission, "quarantine", reason.strip())


@app.command()
def release(
    submission: Annotated[str, typer.Argument(help="Submission id (S0000123) or sha256 of the file.")],
    reason: Annotated[str, typer.Option(help="Why, for the ledger.")] = "",
) -> None:
    """Reinstate a quarantined submission (an operator's or an automatic quarantine): parsed again next run."""
    _decide(submission, "release", reason.strip())


if __name__ == "__main__":
    app()
