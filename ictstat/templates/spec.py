"""The shape of a reporting template, as data.

Two sheet layouts cover the department's forms:

* ``district_table``: one row per district-level unit (code, name) and one column per measure, closed by a
  total row ("Tổng cộng") that is checked against the rows;
* ``commune_table``: the same for the communes (xã, phường, thị trấn) of the reporting district office;
* ``indicator_list``: one row per measure ("Chỉ tiêu", unit, value), as in the revenue part of a report.

Every form starts with a cover sheet of label/value pairs (form code, version, reporter, period, who prepared
it and when). Labels are matched after folding (case, diacritics, spacing ignored), so a clerk's retyped
header still matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from ictstat.text import fold

Kind = Literal["int", "decimal"]
Layout = Literal["district_table", "commune_table", "indicator_list"]
Frequency = Literal["month", "half", "year"]


@dataclass(frozen=True)
class Measure:
    """One reported figure: a column of a district table or a line of an indicator list."""

    key: str  # stable name used in frames and lineage, e.g. "subs_fixed"
    label: str  # Vietnamese label printed on the form
    indicator: str  # warehouse indicator code it feeds
    unit: str  # the unit the reporter writes in (converted to the indicator's unit in SQL)
    unit_vi: str
    kind: Kind = "int"
    required: bool = True
    min_value: float | None = 0
    max_value: float | None = None
    aliases: tuple[str, ...] = ()

    @cached_property
    def folded_labels(self) -> frozenset[str]:
        """The label and its aliases, folded once (matching runs for every header cell of every file)."""
        return frozenset({fold(self.label), *(fold(a) for a in self.aliases)})

    def matches(self, text: object) -> bool:
        f = fold(text)
        return bool(f) and f in self.folded_labels


@dataclass(frozen=True)
class PartOfWhole:
    """Figures of one row whose sum may not exceed another figure of the row (e.g. certificates issued to
    individuals and to organisations, against all certificates issued)."""

    parts: tuple[str, ...]
    whole: str


@dataclass(frozen=True)
class SheetSpec:
    name: str  # sheet name in the template
    title: str  # title printed above the table
    layout: Layout
    measures: tuple[Measure, ...]
    note: str = ""
    aliases: tuple[str, ...] = ()  # other sheet names this sheet has had
    parts_of_whole: tuple[PartOfWhole, ...] = ()

    def measure(self, key: str) -> Measure:
        return self.measures_by_key[key]

    @cached_property
    def measures_by_key(self) -> dict[str, Measure]:
        return {m.key: m for m in self.measures}

    @cached_property
    def measure_by_label(self) -> dict[str, Measure]:
        """Folded label or alias -> measure, for matching a header cell in one lookup."""
        return {label: m for m in self.measures for label in m.folded_labels if label}


@dataclass(frozen=True)
class CoverField:
    key: str
    label: str
    aliases: tuple[str, ...] = ()
    help: str = ""

    def matches(self, text: object) -> bool:
        f = fold(text).rstrip(":").strip()
        return bool(f) and f in {fold(self.label), *(fold(a) for a in self.aliases)}


COVER_SHEET = "Thông tin chung"
COVER_FIELDS: tuple[CoverField, ...] = (
    CoverField("form_code", "Mã biểu mẫu", ("Biểu mẫu", "Mẫu số", "Biểu số")),
    CoverField("template_version", "Phiên bản biểu mẫu", ("Phiên bản",)),
    CoverField(
        "reporter_code",
        "Mã đơn vị báo cáo",
        ("Mã doanh nghiệp", "Mã đơn vị"),
        "Mã do Sở cấp, ví dụ VNPT, VIETTEL",
    ),
    CoverField("reporter_name", "Tên đơn vị báo cáo", ("Tên doanh nghiệp", "Đơn vị báo cáo", "Tên đơn vị")),
    CoverField("province", "Tỉnh/thành phố", ("Tỉnh", "Tỉnh thành phố")),
    CoverField("period", "Kỳ báo cáo", ("Kỳ báo cáo tháng năm", "Tháng báo cáo"), "Ví dụ: 12/2020"),
    CoverField("prepared_by", "Người lập biểu", ("Người lập", "Người báo cáo")),
    CoverField("phone", "Điện thoại liên hệ", ("Điện thoại", "Số điện thoại")),
    CoverField("prepared_on", "Ngày lập báo cáo", ("Ngày lập", "Ngày báo cáo")),
)


@dataclass(frozen=True)
class Template:
    """One version of one form."""

    form_code: str  # printed on the cover, e.g. "VT-01"
    version: int
    reporter_kind: str  # telecom_carrier, postal_carrier, district, department
    frequency: Frequency
    title: str  # title of the report, in Vietnamese
    title_en: str
    sheets: tuple[SheetSpec, ...]
    deadline_note: str = ""
    cover_sheet: str = COVER_SHEET
    cover_fields: tuple[CoverField, ...] = field(default=COVER_FIELDS)

    @property
    def template_id(self) -> str:
        return f"{self.form_code}.v{self.version}"

    @property
    def file_stem(self) -> str:
        return f"bieu_mau_{self.form_code.lower().replace('-', '_')}_v{self.version}"

    def all_measures(self) -> list[tuple[SheetSpec, Measure]]:
        return [(s, m) for s in self.sheets for m in s.measures]
