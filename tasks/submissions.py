"""From ledger sightings to three frames: submissions (one row per file received), parsed values and issues.

Each distinct file (by sha256) is read and parsed once per run; later sightings of the same bytes are
duplicates and are never counted twice. A submission with any error-severity issue is rejected as a whole;
warnings are recorded and do not block. Supersession (a newer accepted file for the same reporter and period)
is decided in the warehouse (``warehouse/sql/30_audit.sql``), where its history stays queryable.
"""

from __future__ import annotations

import hashlib
import math
import mmap
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ictstat.messages import render
from ictstat.periods import Period, year_in_range
from tasks.intake import Held, Sighting, ends_torn
from tasks.parsefile import CELL_COLUMNS, ParseJob, crash_failure, file_cells

PARSER_VERSION = "1"

SUBMISSION_COLUMNS = [
    "submission_id", "seq", "sha256", "original_name", "relative_path", "size_bytes", "received_at", "file_modified_at",
    "archive_path", "template_id", "form_code", "template_version", "province_code", "reporter_code", "period",
    "prepared_by", "prepared_on", "intake_status", "reason_vi", "reason_en", "duplicate_of",
]  # fmt: skip
VALUE_COLUMNS = ["submission_id", "template_id", *CELL_COLUMNS]
ISSUE_COLUMNS = [
    "submission_id", "sheet", "cell", "column", "value", "rule", "severity", "message_vi", "message_en",
]  # fmt: skip


class ParsedBatch:
    """A run's three frames. The values (a row per parsed cell, a million at 20,000 workbooks) may live in a
    Parquet file instead of memory (``values_path``): the flow streams them there and DuckDB reads them from
    it; ``values`` loads them into a frame only when asked (tests, small homes)."""

    def __init__(
        self,
        submissions: pd.DataFrame,
        values: pd.DataFrame | None,
        issues: pd.DataFrame,
        values_path: Path | None = None,
    ) -> None:
        if values is None and values_path is None:
            raise ValueError("a batch needs its values, in memory or in a Parquet file")
        self.submissions = submissions
        self.issues = issues
        self.values_path = values_path
        self._values = values

    @property
    def values(self) -> pd.DataFrame:
        if self._values is None:
            assert self.values_path is not None
            self._values = pd.read_parquet(self.values_path)
        return self._values

    def replace(self, submissions: pd.DataFrame, issues: pd.DataFrame) -> ParsedBatch:
        return ParsedBatch(submissions, self._values, issues, self.values_path)


ParseMany = Callable[[list[Sighting]], list[dict[str, Any]]]


def split_cached(
    sightings: Sequence[Sighting],
    cache: ParseCache | None,
    reparse: Collection[str] = (),
    archive: Path | None = None,
) -> tuple[list[Sighting], list[str]]:
    """Split the distinct files into those to read and parse now and those whose parse the cache holds
    (by sha256; nothing is loaded).

    With ``archive``, a cached parse is used only while the archived copy still has its size: a truncated
    or missing copy is parsed again, which reports it (its full hash is checked then)."""
    todo: list[Sighting] = []
    cached: list[str] = []
    seen: set[str] = set()
    for s in sorted(sightings, key=lambda s: s.seq):
        if s.sha256 in seen:
            continue
        seen.add(s.sha256)
        hit = cache is not None and s.sha256 not in reparse and cache.has(s.sha256)
        if hit and archive is not None and s.archive_path:
            copy = archive / s.archive_path
            try:
                hit = copy.stat().st_size == s.size_bytes
            except OSError:
                hit = False
        if hit:
            cached.append(s.sha256)
        else:
            todo.append(s)
    return todo, cached


def to_parse(
    sightings: Sequence[Sighting],
    cache: ParseCache | None,
    reparse: Collection[str] = (),
    archive: Path | None = None,
) -> tuple[list[Sighting], dict[str, dict[str, Any]]]:
    """As :func:`split_cached`, with the cached parses loaded (a cache file that cannot be read is parsed again)."""
    todo, shas = split_cached(sightings, cache, reparse, archive)
    cached: dict[str, dict[str, Any]] = {}
    by_sha = {s.sha256: s for s in sightings}
    for sha in shas:
        parsed = cache.get(sha) if cache is not None else None
        if parsed is None:
            todo.append(by_sha[sha])
        else:
            cached[sha] = parsed
    return sorted(todo, key=lambda s: s.seq), cached


def parse_sightings(
    sightings: Sequence[Sighting],
    archive: Path,
    province_code: str,
    today: date,
    max_unpacked_bytes: int,
    max_rows: int,
    cache: ParseCache | None = None,
    reparse: Collection[str] = (),
    parse_many: ParseMany | None = None,
) -> ParsedBatch:
    """Read and parse every distinct file among the sightings; later copies become duplicates.

    A file's parse is taken from ``cache`` when it holds one for the same bytes and the same parser code,
    unless its sha256 is in ``reparse`` (a backfill after a change the fingerprint cannot see). The files left
    are parsed by ``parse_many`` (in this process by default; the flows fan them out to processes or Dask).
    """
    todo, parsed = to_parse(sightings, cache, reparse)
    job = ParseJob(archive, province_code, max_unpacked_bytes, max_rows)
    for s, result in zip(todo, (parse_many or job)(todo), strict=True):
        parsed[s.sha256] = result
        if cache is not None:
            cache.put(s.sha256, result)
    return assemble(sightings, parsed, today)


def assemble(
    sightings: Sequence[Sighting],
    parsed_by_sha: Mapping[str, dict[str, Any]],
    today: date,
    values_to: Path | None = None,
    held: Sequence[Held] = (),
    quarantined: Mapping[str, Mapping[str, Any]] | None = None,
) -> ParsedBatch:
    """The three frames of a run from every file's parse; later sightings of the same bytes are duplicates.

    Each distinct file's parse is looked up once, so ``parsed_by_sha`` may load it on demand (the flow reads
    them from the parse cache one at a time rather than holding every file's parse). With ``values_to`` the
    values are written to that Parquet file as they come, PART_CELLS at a time, and never held whole.

    Files in ``quarantined`` (sha256 -> the decision) are not looked up: they are ``quarantined`` with who decided
    and why. What intake ``held`` this run is a ``deferred`` row. A failure while one file's parse is taken in
    rejects that file, naming it, and the others go on."""
    first_of: dict[str, Sighting] = {}
    subs: list[dict[str, Any]] = []
    parts = _ValueParts(values_to)  # the cells, a list per column, made into Arrow every PART_CELLS
    issues: list[dict[str, Any]] = []
    quarantined = quarantined or {}
    for s in sorted(sightings, key=lambda s: s.seq):
        row = _base_row(s)
        if s.sha256 in first_of:
            original = first_of[s.sha256]
            vi, en = render("duplicate_file", value=f"{original.submission_id}, {original.relative_path}")
            row.update(
                intake_status="duplicate", reason_vi=vi, reason_en=en, duplicate_of=original.submission_id
            )
            subs.append(row)
            continue
        first_of[s.sha256] = s
        if s.sha256 in quarantined:
            vi, en = quarantine_reason(quarantined[s.sha256])
            row.update(intake_status="quarantined", reason_vi=vi, reason_en=en)
            subs.append(row)
            continue
        try:  # a bulkhead: whatever one file's parse makes this raise rejects that file, not the run
            parsed = parsed_by_sha[s.sha256]
            if "crash" in parsed:  # parsed again in this process and crashed: quarantined by the parse step
                vi, en = render("parse_crashed", value=parsed["crash"])
                row.update(intake_status="quarantined", reason_vi=vi, reason_en=en)
                subs.append(row)
                continue
            failure = parsed.get("failure")
            if failure is None:
                fields = {k: parsed[k] for k in CACHED_FIELDS}
                _check_period(fields["period"])
                own = [{"submission_id": s.submission_id, **i}
                       for i in [*parsed["issues"], *parsed.get("validation_issues", ()), *_future_issues(parsed, today)]]  # fmt: skip
                cells = _checked_cells(parsed)
        except Exception as exc:
            failure = crash_failure(s.relative_path, "assemble", exc)
        if failure is not None:
            rule, vi, en = failure
            row.update(intake_status="rejected", reason_vi=vi, reason_en=en)
            issues.append(_issue(s.submission_id, "", "", "", "", rule, "error", vi, en))
            subs.append(row)
            continue
        row.update(fields)
        parts.extend(s.submission_id, row["template_id"], cells)
        issues.extend(own)
        subs.append(row)
    subs.extend(_held_row(h) for h in held)
    frame = pd.DataFrame(subs, columns=SUBMISSION_COLUMNS)
    frame["seq"] = frame["seq"].astype("Int64")  # a held file has no sequence number yet
    frame["size_bytes"] = frame["size_bytes"].astype("Int64")
    return ParsedBatch(frame, parts.close(), pd.DataFrame(issues, columns=ISSUE_COLUMNS), values_to)


def quarantine_reason(decision: Mapping[str, Any]) -> tuple[str, str]:
    """Who withdrew a file, when and why, in Vietnamese and English."""
    return render(
        "quarantined", value=decision.get("by", "?"), expected=decision.get("at", "?"),
        reason=decision.get("reason", ""),
    )  # fmt: skip


def _held_row(h: Held) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SUBMISSION_COLUMNS)
    row.update(
        submission_id=h.held_id,
        original_name=h.relative_path.rsplit("/", 1)[-1],
        relative_path=h.relative_path,
        size_bytes=h.size_bytes if h.size_bytes >= 0 else None,
        received_at=h.seen_at,
        file_modified_at=(
            datetime.fromtimestamp(h.mtime_ns / 1e9, UTC).isoformat(timespec="seconds")
            if h.mtime_ns
            else None
        ),
        archive_path="",
        intake_status="deferred",
        reason_vi=h.reason_vi,
        reason_en=h.reason_en,
    )
    return row


CACHED_FIELDS = ("template_id", "form_code", "template_version", "province_code", "reporter_code", "period",
                 "prepared_by", "prepared_on")  # fmt: skip


PART_CELLS = 200_000  # cells held as Python lists before they become Arrow


VALUE_SCHEMA = pa.schema(
    [
        (c, pa.int64() if c == "excel_row" else pa.float64() if c == "value" else pa.string())
        for c in VALUE_COLUMNS
    ]
)


class _ValueParts:
    """The values of a run, a list per column, turned into Arrow a part at a time: frames in memory, or row
    groups of a Parquet file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.columns: list[list[Any]] = [[] for _ in VALUE_COLUMNS]
        self.frames: list[pd.DataFrame] = []
        self.writer = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(path, VALUE_SCHEMA)

    def extend(self, submission_id: str, template_id: str | None, cells: list[list[Any]]) -> None:
        """Add one file's cells (a list per field of CELL_COLUMNS, checked by :func:`_checked_cells`)."""
        n = len(cells[0])
        if not n:
            return
        self.columns[0].extend([submission_id] * n)
        self.columns[1].extend([template_id] * n)
        for column, values in zip(self.columns[2:], cells, strict=True):
            column.extend(values)
        if len(self.columns[0]) >= PART_CELLS:
            self._flush()

    def _flush(self) -> None:
        if not self.columns[0] and (self.writer is not None or self.frames):
            return
        if self.writer is None:
            self.frames.append(pd.DataFrame(dict(zip(VALUE_COLUMNS, self.columns, strict=True))))
        else:
            arrays = [pa.array(c, type=f.type) for c, f in zip(self.columns, VALUE_SCHEMA, strict=True)]
            self.writer.write_table(pa.Table.from_arrays(arrays, schema=VALUE_SCHEMA))
        self.columns = [[] for _ in VALUE_COLUMNS]

    def close(self) -> pd.DataFrame | None:
        self._flush()
        if self.writer is not None:
            self.writer.close()
            return None
        return pd.concat(self.frames, ignore_index=True) if len(self.frames) > 1 else self.frames[0]


def _checked_cells(parsed: Mapping[str, Any]) -> list[list[Any]]:
    """A file's cells, a list per field, checked whole before any is added to the run's columns (a damaged
    parse must not leave the columns of different lengths) and with every value a finite float or None."""
    cells = file_cells(parsed)
    if len(cells) != len(CELL_COLUMNS) or len({len(c) for c in cells}) > 1:
        raise ValueError("the parse's cell columns differ in length")
    values = cells[CELL_COLUMNS.index("value")]
    for v in values:
        if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v)):
            raise ValueError(f"a parsed value is not a finite number: {v!r}")
    return cells


def _check_period(period: object) -> None:
    """A cached parse's period reads back as a period with a sane year (the parser makes no other; a damaged
    cache line could), so that nothing the build reads of it (its year, its first day) can fail."""
    if period is not None and not year_in_range(Period.parse(str(period)).year, 1000, None):
        raise ValueError(f"the parse's period {period!r} has no sane year")


def _future_issues(parsed: dict[str, Any], today: date) -> list[dict[str, Any]]:
    """The period must be over by the run's logical date (checked per run: it depends on the day, not the file)."""
    end = parsed.get("period_end")
    if not end or date.fromisoformat(end) < today:
        return []
    sheet, cell = parsed["period_cell"]
    vi, en = render("future_period", sheet=sheet, cell=cell, value=parsed["period"])
    return [{"sheet": sheet, "cell": cell, "column": "", "value": parsed["period"], "rule": "future_period",
             "severity": "error", "message_vi": vi, "message_en": en}]  # fmt: skip


LINE_OVERHEAD = 66  # bytes of a log line besides its JSON: the sha256, a space, the newline


class ParseCache:
    """Parsed (and validated) files on disk: one append-only log per parser fingerprint
    (``parses-<fingerprint>.log``), a line per parse: the file's sha256, a space and the parse as JSON, its cells
    a list per field (``cells``, in the order of ``value_columns``: :data:`CELL_COLUMNS`), which :func:`assemble`
    extends its columns with as they are.

    One log, not a file per parse: creating a file costs 0.3-0.8 ms of CPU on a busy machine (20,000 of them were
    a quarter of a full run's CPU at 20,000 workbooks), an append a hundredth of that. The newest line of a sha256
    is its parse (a backfill with ``reparse`` appends a new one); a line ``<sha256> null`` forgets it. A line torn
    by a crash, or damaged on disk, does not read back as JSON: its file is parsed again and appended anew.
    The run holding the writer lock is the only writer besides ``ictstat verify-archive``'s single-line appends.

    The fingerprint hashes the parser's own code, the templates and the reference data, so a change to any of
    them makes every cached parse stale by itself; a backfill with ``reparse`` ignores the cache for what it
    selects (for changes the fingerprint cannot see, such as an upgraded dependency).
    """

    def __init__(self, folder: Path, province_code: str) -> None:
        self.folder = folder
        self.fingerprint = parser_fingerprint(province_code)
        self.path = folder / f"parses-{self.fingerprint}.log"
        self._index: dict[str, tuple[int, int]] | None = None  # sha256 -> (offset, length) of its newest JSON
        self._dead = 0  # bytes of lines a newer line replaced
        self._reader: BinaryIO | None = None

    @property
    def index(self) -> dict[str, tuple[int, int]]:
        if self._index is None:
            self._index, self._dead = _scan_log(self.path)
        return self._index

    def get(self, sha: str) -> dict[str, Any] | None:
        where = self.index.get(sha)
        if where is None:
            return None
        try:
            if self._reader is None:
                self._reader = self.path.open("rb")  # kept open for the next look-up; see close()
            self._reader.seek(where[0])
            data: dict[str, Any] = orjson.loads(self._reader.read(where[1]))
        except (OSError, ValueError):
            return None  # damaged on disk: parse again
        return data

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def has(self, sha: str) -> bool:
        return sha in self.index

    def put(self, sha: str, parsed: dict[str, Any]) -> None:
        self.put_many({sha: parsed})

    def put_many(self, parses: Mapping[str, dict[str, Any]]) -> None:
        """Append the parses in one write (a cell per field list; a fresh parse's dicts are converted)."""
        if not parses:
            return
        options = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
        lines: list[tuple[str, bytes]] = []
        for sha, parsed in parses.items():
            if "values" in parsed:  # a dict per cell, as the parser makes them: kept as a list per field
                cells = file_cells(parsed)
                parsed = {k: v for k, v in parsed.items() if k != "values"}
                parsed.update(value_columns=CELL_COLUMNS, cells=cells)
            lines.append((sha, orjson.dumps(parsed, default=str, option=options)))
        self._append(lines)

    def drop(self, sha: str) -> None:
        """Forget a file's parse (its archived copy is corrupt): the next run parses it again."""
        self._append([(sha, b"null")])

    def _append(self, lines: Sequence[tuple[str, bytes]]) -> None:
        index = self._index  # kept up to date once read; a writer that never reads does not scan the log
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            offset = os.fstat(fd).st_size
            chunks: list[bytes] = []
            if ends_torn(self.path):
                chunks.append(b"\n")  # close a line torn by a crash, so it cannot swallow the next one
                offset += 1
            for sha, body in lines:
                head = sha.encode("ascii") + b" "
                if index is not None:
                    old = index.pop(sha, None)
                    if old is not None:
                        self._dead += old[1] + LINE_OVERHEAD
                    if body != b"null":
                        index[sha] = (offset + len(head), len(body))
                chunks += (head, body, b"\n")
                offset += len(head) + len(body) + 1
            os.write(fd, b"".join(chunks))
        finally:
            os.close(fd)

    def compact(self) -> bool:
        """Rewrite the log without the lines newer ones replaced, once they outweigh the live ones (after a
        backfill that reparsed most files). Returns whether it did."""
        index = self.index
        live = sum(length + LINE_OVERHEAD for _, length in index.values())
        if self._dead <= max(live, 16 << 20):
            return False
        tmp = self.path.with_name(self.path.name + ".compact")
        with self.path.open("rb") as src, tmp.open("wb") as out:
            for sha, (offset, length) in sorted(index.items(), key=lambda item: item[1][0]):
                src.seek(offset)
                out.write(sha.encode("ascii") + b" " + src.read(length) + b"\n")
        self.close()
        os.replace(tmp, self.path)
        self._index = None
        return True

    def prune_if_code_changed(self) -> int:
        """:meth:`prune` once after each change of fingerprint (noted in the cache folder)."""
        marker = self.folder / "fingerprint"
        try:
            if marker.read_text(encoding="utf-8").strip() == self.fingerprint:
                return 0
        except OSError:
            pass
        removed = self.prune()
        self.folder.mkdir(parents=True, exist_ok=True)
        marker.write_text(self.fingerprint + "\n", encoding="utf-8")
        return removed

    def prune(self) -> int:
        """Remove the parses made by other parser code (other fingerprints' logs, and the one-file-per-parse
        folders of earlier versions): they are never read again, and after a few code changes they would
        outweigh the archive. Returns how many files were removed."""
        if not self.folder.exists():
            return 0
        removed = 0
        for entry in os.scandir(self.folder):
            if entry.is_dir(follow_symlinks=False) and len(entry.name) == 2:  # an earlier version's layout
                for old in os.scandir(entry.path):
                    if old.name.endswith(".json"):
                        os.unlink(old.path)
                        removed += 1
            elif entry.name.startswith("parses-") and entry.path != str(self.path):
                os.unlink(entry.path)
                removed += 1
        return removed


def _scan_log(path: Path) -> tuple[dict[str, tuple[int, int]], int]:
    """Where each sha256's newest parse is in the log, and how many bytes older lines take."""
    index: dict[str, tuple[int, int]] = {}
    dead = 0
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return index, dead
    with fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return index, dead
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as log:
            pos, size = 0, len(log)
            while pos < size:
                end = log.find(b"\n", pos)
                if end < 0:
                    break  # a last line torn by a crash: its file is parsed again
                if end - pos > 65 and log[pos + 64] == 0x20:
                    sha = log[pos : pos + 64].decode("ascii", "replace")
                    old = index.pop(sha, None)
                    if old is not None:
                        dead += old[1] + LINE_OVERHEAD
                    if log[pos + 65 : end] != b"null":
                        index[sha] = (pos + 65, end - pos - 65)
                pos = end + 1
    return index, dead


def parser_fingerprint(province_code: str) -> str:
    """A short hash of everything a file's parse and validation depend on besides its bytes: the code, the
    templates, the shipped reference data and the overlay of ``ICTSTAT_REFERENCE_DIR``."""
    return _fingerprint(province_code, os.environ.get("ICTSTAT_REFERENCE_DIR") or "")


@lru_cache(maxsize=8)
def _fingerprint(province_code: str, overlay: str) -> str:
    import ictstat
    import schemas
    import tasks

    roots = [Path(ictstat.__file__).parent, Path(tasks.__file__).parent, Path(schemas.__file__).parent]
    files = sorted(
        [*roots[0].glob("templates/**/*.py"), *roots[0].glob("refdata/*.csv"), *roots[2].glob("*.py"),
         *(roots[0] / n for n in ("text.py", "periods.py", "reference.py", "messages.py")),
         *(roots[1] / n for n in ("read.py", "parse.py", "parsefile.py", "numbers.py", "submissions.py", "validate.py"))]
    )  # fmt: skip
    h = hashlib.sha256(f"{PARSER_VERSION}|{province_code}|{_vau_version()}".encode())
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    if overlay:  # the deployment's own reference data (reporters, districts) decides what a file is
        for f in sorted(Path(overlay).glob("*.csv")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _vau_version() -> str:
    from importlib.metadata import version

    return version("vietnamadminunits")


def _base_row(s: Sighting) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SUBMISSION_COLUMNS)
    row.update(
        submission_id=s.submission_id,
        seq=s.seq,
        sha256=s.sha256,
        original_name=s.original_name,
        relative_path=s.relative_path,
        size_bytes=s.size_bytes,
        received_at=s.received_at,
        file_modified_at=datetime.fromtimestamp(s.mtime_ns / 1e9, UTC).isoformat(timespec="seconds"),
        archive_path=s.archive_path,
    )
    return row


def _issue(*fields: Any) -> dict[str, Any]:
    return dict(zip(ISSUE_COLUMNS, fields, strict=True))


def decide_status(batch: ParsedBatch, validation_issues: Iterable[dict[str, Any]]) -> ParsedBatch:
    """Add the validation issues and set each parsed submission's status: rejected, accepted(_with_warnings)."""
    issues = pd.concat(
        [batch.issues, pd.DataFrame(list(validation_issues), columns=ISSUE_COLUMNS)], ignore_index=True
    )
    subs = batch.submissions.copy()
    pending = subs["intake_status"].isna()
    errors = issues[issues["severity"] == "error"].groupby("submission_id")
    warnings = issues[issues["severity"] == "warning"].groupby("submission_id").size()
    n_errors = errors.size()
    first_error = errors.first()
    for idx in subs.index[pending]:
        sid = subs.at[idx, "submission_id"]
        if sid in n_errors.index:
            n = int(n_errors[sid])
            msg_vi, msg_en = first_error.loc[sid, "message_vi"], first_error.loc[sid, "message_en"]
            subs.at[idx, "intake_status"] = "rejected"
            subs.at[idx, "reason_vi"] = f"{n} lỗi; lỗi đầu tiên: {msg_vi}"
            subs.at[idx, "reason_en"] = f"{n} error(s); first: {msg_en}"
        elif sid in warnings.index:
            n = int(warnings[sid])
            subs.at[idx, "intake_status"] = "accepted_with_warnings"
            subs.at[idx, "reason_vi"] = f"Chấp nhận, có {n} cảnh báo"
            subs.at[idx, "reason_en"] = f"Accepted with {n} warning(s)"
        else:
            subs.at[idx, "intake_status"] = "accepted"
    return batch.replace(subs, issues)


def reject_after_build(batch: ParsedBatch, ids: Collection[str], figures: str) -> ParsedBatch:
    """Reject submissions the build found behind a figure that must not be published (not finite, or outside
    its indicator's range once summed): a bulkhead for the build, so that the run publishes without them."""
    vi, en = render("implausible_figure", value=figures)
    subs = batch.submissions.copy()
    hit = subs["submission_id"].isin(list(ids)) & subs["intake_status"].isin(
        ["accepted", "accepted_with_warnings"]
    )
    subs.loc[hit, ["intake_status", "reason_vi", "reason_en"]] = ["rejected", vi, en]
    new = pd.DataFrame(
        [
            _issue(sid, "", "", "", figures, "implausible_figure", "error", vi, en)
            for sid in subs.loc[hit, "submission_id"]
        ],
        columns=ISSUE_COLUMNS,
    )
    return batch.replace(subs, pd.concat([batch.issues, new], ignore_index=True))
