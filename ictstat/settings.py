"""One typed settings object, read from ``ICTSTAT_*`` environment variables when a run starts.

Nothing here is read at import time: flows and commands call :func:`load_settings` so that a deployment
picks up the environment of the worker that runs it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where a failed run's notice goes, and how long one notice may take in all (connect, send, answer).
WEBHOOK_URL_VARIABLE = "ICTSTAT_WEBHOOK_URL"
WEBHOOK_TIMEOUT_VARIABLE = "ICTSTAT_WEBHOOK_TIMEOUT"
DEFAULT_WEBHOOK_TIMEOUT = 10.0
MAX_WEBHOOK_TIMEOUT = 300.0
# Settings never echoed back in an error message: the webhook URL often carries a token or a password.
SECRET_FIELDS = frozenset({"webhook_url"})


class SettingsError(ValueError):
    """The environment holds a setting ictstat cannot use; the message names it (never a secret's value)."""


class Settings(BaseSettings):
    """Where ictstat keeps its files and the limits it enforces on what it reads."""

    # hide_input_in_errors: pydantic would otherwise quote the webhook URL (a secret) in its error text;
    # load_settings quotes the other values itself.
    model_config = SettingsConfigDict(env_prefix="ICTSTAT_", extra="ignore", hide_input_in_errors=True)

    home: Path = Field(
        default=Path("./data"),
        description="Folder holding inbox/, archive/, warehouse.duckdb, exports/ and feedback/.",
    )
    province_code: str = Field(
        default="70",
        description="GSO code of the province whose reports this deployment loads (70 = Bình Phước).",
    )
    storage_version: str = Field(
        default="v1.1.0",
        description="DuckDB storage format of the published file. The default, v1.1.0, opens in every DuckDB "
        "from 1.1 on (the DuckDB CLI and DBeaver/JDBC drivers of the 1.x line included); 'latest' writes the "
        "installed DuckDB's own format, which DuckDB < 2.0 cannot open.",
    )
    max_unpacked_bytes: int = Field(
        default=100 * 1024 * 1024,
        description="Largest declared unpacked size of a workbook (checked before reading it).",
    )
    max_rows_per_sheet: int = Field(default=20_000, description="Most rows read from one sheet.")
    max_cells_per_sheet: int = Field(
        default=2_000_000, description="Most cells (rows x columns) of one sheet."
    )
    max_cells_per_workbook: int = Field(
        default=4_000_000,
        description="Most cells (rows x columns, counted from A1) of all sheets of one workbook.",
    )
    max_sheets: int = Field(default=100, description="Most sheets in one workbook.")
    max_string_length: int = Field(
        default=32_767, description="Longest text in one cell (Excel's own limit)."
    )
    max_file_bytes: int = Field(
        default=50 * 1024 * 1024, description="Largest file accepted into the archive."
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="Processes that read and parse files in parallel on this machine (1: in the run's own process).",
    )
    dask_address: str | None = Field(
        default=None,
        description="Address of a Dask scheduler (tcp://host:8786): when set, parsing fans out to its workers "
        "(plain Dask tasks: the workers need the same code and the same absolute ICTSTAT_HOME, not the Prefect "
        "API); the warehouse build stays in the run's own process (one writer).",
    )
    dask_min_files: int = Field(
        default=500,
        description="Fewer files to parse than this are parsed on this machine even when a Dask scheduler is set "
        "(the same threshold as the local process pool: a cluster's round trips cost more than they save).",
    )
    dask_connect_seconds: float = Field(
        default=10.0, description="How long a run tries to reach the Dask scheduler before giving up on it."
    )
    dask_wait_seconds: float = Field(
        default=300.0,
        description="How long a run waits for a Dask worker (at the start, or when every worker is gone) before "
        "giving up on the cluster.",
    )
    dask_log_seconds: float = Field(
        default=30.0, description="How often a run waiting for Dask workers says so in its log."
    )
    dask_unavailable: Literal["local", "fail"] = Field(
        default="local",
        description="When the Dask cluster cannot be used (no scheduler, no worker, workers that cannot see the "
        "archive): 'local' parses the files left on this machine, 'fail' fails the run.",
    )
    reporting_calendar: Path | None = Field(
        default=None,
        description="A CSV replacing the shipped reporting calendar (which form each kind of reporter owes for "
        "which periods, and the deadline), same columns as ictstat/refdata/reporting_calendar.csv.",
    )
    webhook_url: SecretStr | None = Field(
        default=None,
        description="Where a failed or crashed run posts its summary (JSON): an http:// or https:// URL; "
        "user:password@ in it is sent as HTTP Basic authentication. Never logged.",
    )
    webhook_timeout: float = Field(
        default=DEFAULT_WEBHOOK_TIMEOUT,
        gt=0,
        le=MAX_WEBHOOK_TIMEOUT,
        description="Seconds one failure notice may take in all (connecting, sending, the answer); a webhook "
        "still busy then is given up, and the run ends.",
    )

    @field_validator("webhook_url")
    @classmethod
    def _usable_webhook(cls, value: SecretStr | None) -> SecretStr | None:
        problem = webhook_url_problem(value.get_secret_value()) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def ledger_dir(self) -> Path:
        return self.home / "archive" / "ledger"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache" / "parsed"

    @property
    def build_dir(self) -> Path:
        return self.home / ".build"

    @property
    def exports(self) -> Path:
        return self.home / "exports"

    @property
    def feedback(self) -> Path:
        return self.home / "feedback"

    @property
    def lock_path(self) -> Path:
        return self.home / ".ictstat.lock"

    def ensure_dirs(self) -> None:
        for d in (self.inbox, self.archive, self.ledger_dir, self.build_dir, self.exports, self.feedback):
            d.mkdir(parents=True, exist_ok=True)


def webhook_url_problem(url: str) -> str | None:
    """Why a webhook URL cannot be used (bilingual, without the URL itself), or None when it can.

    Credentials in the URL (``https://user:password@host/...``) are fine: they are sent as HTTP Basic."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return (
            f"{WEBHOOK_URL_VARIABLE} chứa khoảng trắng hoặc ký tự điều khiển / "
            f"{WEBHOOK_URL_VARIABLE} holds a space or a control character"
        )
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number in range raises here, not when the notice is due
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return (
            f"{WEBHOOK_URL_VARIABLE} không phải địa chỉ http:// hoặc https:// hợp lệ (tên máy, cổng) / "
            f"{WEBHOOK_URL_VARIABLE} is not a valid http:// or https:// URL (host, port)"
        )
    if parts.password is not None and not parts.username:
        return (
            f"{WEBHOOK_URL_VARIABLE} có mật khẩu nhưng thiếu tên đăng nhập / "
            f"{WEBHOOK_URL_VARIABLE} has a password but no user name"
        )
    return None


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment now (not at import), with explicit overrides on top.

    Raises :class:`SettingsError` naming each unusable variable, its value quoted unless it is a secret."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problem = settings_problem(exc, overrides)
    # raised outside the except block, so that the pydantic error (which holds the raw input) is not chained
    raise SettingsError(problem)


def settings_problem(exc: ValidationError, overrides: dict[str, object]) -> str:
    """One line per unusable setting: the variable, its value (not a secret's) and what is wrong."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = f"ICTSTAT_{field.upper()}" if field else "ICTSTAT_*"
        given = overrides[field] if field in overrides else os.environ.get(variable)
        shown = "" if field in SECRET_FIELDS or given is None else f" = {str(given)[:80]!r}"
        lines.append(f"{variable}{shown}: {error['msg']}")
    return "Thiết lập không hợp lệ / invalid settings: " + "; ".join(lines)
