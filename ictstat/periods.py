"""Reporting periods as strings: ``2020`` (year), ``2020-H1``, ``2020-Q3``, ``2020-07`` (month).

Months are the grain of monthly reports; quarters, halves and years are rolled up from them following each
indicator's stock/flow rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from ictstat.text import fold

# The province's clock: a run's logical date, deadlines and the nightly schedule are read in it.
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# The same notation as one regular expression, for forms that refuse a bad period before any run exists
# (the Prefect UI shows it as the field's pattern).
PERIOD_PATTERN = r"^[1-9][0-9]{3}(-H[12]|-Q[1-4]|-(0[1-9]|1[0-2]))?$"  # a year 1000-9999, as Period.parse
_PATTERNS = {
    "year": re.compile(r"^(\d{4})$"),
    "half": re.compile(r"^(\d{4})-H([12])$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
}


MIN_YEAR = 1000  # a year has four digits; 0000-0999 are typos ("12/0202"), and date(0, ...) does not exist
MAX_YEAR = 9999


@dataclass(frozen=True, order=True)
class Period:
    """A calendar period; ``first_month`` and ``last_month`` bound it (inclusive)."""

    year: int
    kind: str  # year | half | quarter | month
    number: int  # 1 for a year, 1-2 halves, 1-4 quarters, 1-12 months

    @classmethod
    def parse(cls, text: str) -> Period:
        s = str(text).strip().upper()
        for kind, pat in _PATTERNS.items():
            m = pat.match(s)
            if m:
                year = int(m.group(1))
                if year < MIN_YEAR:  # "0202-12" is 2020 with its digits slipped, not the year 202
                    break
                number = int(m.group(2)) if kind != "year" else 1
                if kind == "month" and not 1 <= number <= 12:
                    break
                return cls(year, kind, number)
        raise ValueError(
            f"'{text}' không phải kỳ báo cáo; dùng 2020, 2020-H1, 2020-Q3 hoặc 2020-07 "
            f"/ '{text}' is not a period; use 2020, 2020-H1, 2020-Q3 or 2020-07"
        )

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(year, "month", month)

    @property
    def first_month(self) -> int:
        return {"year": 1, "half": 6 * (self.number - 1) + 1, "quarter": 3 * (self.number - 1) + 1}.get(
            self.kind, self.number
        )

    @property
    def last_month(self) -> int:
        return {"year": 12, "half": 6 * self.number, "quarter": 3 * self.number}.get(self.kind, self.number)

    @property
    def n_months(self) -> int:
        return self.last_month - self.first_month + 1

    @property
    def end_date(self) -> date:
        if self.last_month == 12:
            return date(self.year, 12, 31)
        return date.fromordinal(date(self.year, self.last_month + 1, 1).toordinal() - 1)

    def months(self) -> list[Period]:
        return [Period.month(self.year, m) for m in range(self.first_month, self.last_month + 1)]

    def __str__(self) -> str:
        # four digits always: whatever slices a period string (int(p[:4])) reads the year it was made from
        if self.kind == "year":
            return f"{self.year:04d}"
        if self.kind == "half":
            return f"{self.year:04d}-H{self.number}"
        if self.kind == "quarter":
            return f"{self.year:04d}-Q{self.number}"
        return f"{self.year:04d}-{self.number:02d}"


def rollups(month: Period) -> list[Period]:
    """The periods a month belongs to: itself, its quarter, its half and its year."""
    assert month.kind == "month"
    m = month.number
    return [
        month,
        Period(month.year, "quarter", (m - 1) // 3 + 1),
        Period(month.year, "half", (m - 1) // 6 + 1),
        Period(month.year, "year", 1),
    ]


_MONTH_YEAR = re.compile(r"(?:thang\s*)?\b(\d{1,2})(?:\s*/\s*|\s+nam\s+|\s+)(\d{4})\b")
_YEAR_MONTH = re.compile(r"^(\d{4})(?:\s*/\s*|\s+)(\d{1,2})$")
_HALF = re.compile(r"(6 thang dau nam|6 thang cuoi nam|6 thang)\D*(\d{4})")
_YEAR = re.compile(r"^(?:nam\s*)?(\d{4})$")


def parse_reporting_period(value: object) -> Period | None:
    """Read the period a clerk wrote on a cover sheet.

    Accepts "12/2020", "Tháng 12 năm 2020", "tháng 12/2020", "2020-12", a date cell (its month), "Năm 2020",
    "6 tháng đầu năm 2020". Returns None when nothing period-like is found.
    """
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return Period.month(value.year, value.month)
    # compared as it is, never converted first: float(10**400) raises, and NaN or inf have no year
    if isinstance(value, (int, float)) and 1900 < value < 2200 and value == int(value):
        return Period(int(value), "year", 1)
    s = fold(value).replace(" / ", "/")
    try:
        return Period.parse(str(value))
    except ValueError:
        pass
    if m := _YEAR_MONTH.match(s):
        month = int(m.group(2))
        return Period.month(int(m.group(1)), month) if 1 <= month <= 12 else None
    if m := _HALF.search(s):
        return Period(int(m.group(2)), "half", 2 if "cuoi" in m.group(1) else 1)
    if m := _MONTH_YEAR.search(s):
        month = int(m.group(1))
        return Period.month(int(m.group(2)), month) if 1 <= month <= 12 else None
    if m := _YEAR.match(s):
        return Period(int(m.group(1)), "year", 1)
    return None


def year_in_range(year: int, first_year: int, today: date | None) -> bool:
    """A period's year is sane: four digits, not before the first year the register knows, not after the
    logical date's year (whether the period itself is over is :func:`tasks.parse.check_not_future`'s business)."""
    last = today.year if today is not None else MAX_YEAR
    return max(MIN_YEAR, first_year) <= year <= min(MAX_YEAR, last)


def check_logical_date(day: date, first_year: int) -> date:
    """A run's logical date (``--as-of``) within the years the register knows and a year after today: a typo
    such as 0202-12-31 would otherwise refuse nothing as future and build periods for eighteen centuries."""
    last = date.today().year + 1
    if not first_year <= day.year <= last:
        raise ValueError(
            f"Ngày logic {day.isoformat()} nằm ngoài khoảng {first_year}-{last} mà danh mục biết "
            f"/ the logical date {day.isoformat()} is outside {first_year}-{last}, the years the register knows"
        )
    return day
