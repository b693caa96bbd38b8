"""Vietnamese numbers as clerks type them, parsed with a reason when they cannot be.

Decisions (documented in docs/parsing.md and asserted in tests/test_numbers.py):

* Vietnamese convention first: ``.`` groups thousands and ``,`` marks decimals ("1.307.732", "226,5").
  International text ("1,307,732", "1,234.5") is recognised when it cannot be Vietnamese: several commas,
  or a comma before a dot.
* Spaces (also non-breaking and thin spaces) between digit groups are thousands separators ("13 706").
* An ambiguous single separator followed by exactly three digits ("1,234" or "1.234"):
  in an **integer** column it groups thousands (1234) — a count cannot have a fractional part;
  in a **decimal** column the Vietnamese reading wins ("1,234" = 1.234, "1.234" = 1234) and a warning
  asks the clerk to confirm.
* "-", "–", "x", "" and blanks mean "nothing reported" (value None): a blank, never a zero.
* "hơn 100" / "trên 100" -> 100 with qualifier ``more_than``; "khoảng 52.000" -> ``about``;
  "dưới 20" -> ``less_than``. Diacritics are optional.
* "98,64%" -> 98.64 (percentages are kept on the 0-100 scale).
* "(123)" and "-123" are negative; whether a negative is allowed is the schema's business.
* A fractional value in an integer column is an error, not a rounding.
* Only the ASCII digits 0-9 are digits. Text that Python's ``float()`` accepts but no clerk types as a figure
  ("inf", "nan", "Infinity", "1e400", "1_000", "１２３" in other scripts' digits) is not a number, and so is a
  figure too large for a float; an Excel number that is not finite (NaN, ±inf) is refused as well.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal

from ictstat.text import fold

Kind = Literal["int", "decimal"]

_BLANKS = {"", "-", "–", "—", "x", "X", "...", "..", "n/a", "N/A"}
_QUALIFIERS = (
    ("more_than", ("hon", "tren", "ngoai")),
    ("about", ("khoang", "gan", "xap xi", "uoc")),
    ("less_than", ("duoi",)),
)
_SPACE_CHARS = "\u00a0\u2007\u2009\u202f\u200b "
# ASCII digits only (re.ASCII): ``\d`` and ``str.isdigit`` also take other scripts' digits and superscripts,
# which ``float()`` then converts or chokes on. \Z, not $: "$" also matches before a trailing newline.
_DIGITS_ONLY = re.compile(r"^\d+\Z", re.ASCII)
_GROUPED = re.compile(r"^\d{1,3}(?:[.]\d{3})+\Z", re.ASCII)
_GROUPED_COMMA = re.compile(r"^\d{1,3}(?:,\d{3})+\Z", re.ASCII)
_CLERK_CHARS = re.compile(r"^[0-9.,]+\Z")  # what may remain once signs, qualifiers, % and spaces are gone


@dataclass(frozen=True)
class ParsedNumber:
    """Outcome of parsing one cell: a value (or None for blank), and why not when it failed."""

    value: float | None
    qualifier: str = "exact"
    is_percent: bool = False
    warning: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _fail(code: str) -> ParsedNumber:
    return ParsedNumber(None, error=code)


def parse_number(raw: object, kind: Kind = "decimal") -> ParsedNumber:
    """Parse a cell value (text or Excel number) into a float, following the rules of the module docstring."""
    if raw is None:
        return ParsedNumber(None)
    if isinstance(raw, bool):
        return _fail("not_a_number")
    if isinstance(raw, (datetime, date, time)):
        return _fail("date_in_number_cell")
    if isinstance(raw, (int, float)):
        try:
            value = float(raw)
        except OverflowError:  # a Python int beyond a float (10**400): no figure anyone reports
            return _fail("not_a_number")
        if not math.isfinite(value):
            return _fail("not_a_number")
        return _check_kind(ParsedNumber(value), kind)
    return _parse_text(str(raw), kind)


def _check_kind(p: ParsedNumber, kind: Kind) -> ParsedNumber:
    if kind == "int" and p.value is not None and not float(p.value).is_integer():
        # Excel stores 13706 as 13706.0; a real fraction in a count is a mistake to report.
        if abs(p.value - round(p.value)) < 1e-9:
            return ParsedNumber(float(round(p.value)), p.qualifier, p.is_percent, p.warning)
        return ParsedNumber(None, p.qualifier, p.is_percent, error="fraction_in_integer")
    return p


def _parse_text(text: str, kind: Kind) -> ParsedNumber:
    s = unicodedata.normalize("NFC", text).strip()
    for ch in _SPACE_CHARS:
        s = s.replace(ch, " ")
    s = s.strip()
    if s in _BLANKS:
        return ParsedNumber(None)

    qualifier = "exact"
    folded = fold(s)
    for name, words in _QUALIFIERS:
        for word in words:
            if folded.startswith(word + " ") or (
                folded.startswith(word) and folded[len(word) :][:1].isdigit()
            ):
                qualifier = name
                # Drop the word from the original text: count its letters in the folded form.
                s = _drop_leading_words(s, len(word.split()))
                break
        if qualifier != "exact":
            break

    is_percent = s.endswith("%")
    if is_percent:
        s = s[:-1].strip()

    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s[:1] in "-−":
        negative, s = True, s[1:].strip()
    elif s[:1] == "+":
        s = s[1:].strip()

    # Digit groups separated by single spaces: "13 706", "1 307 732".
    if re.fullmatch(r"\d{1,3}(?: \d{3})+(?:[.,]\d+)?", s, re.ASCII):
        s = s.replace(" ", "")
    # spaces left, letters, "_", "e", other scripts' digits: not a clerk's figure
    if not _CLERK_CHARS.match(s):
        return _fail("not_a_number")

    number, warning = _digits_to_float(s, kind)
    # 310 digits overflow a float: not a figure anyone reports
    if number is None or not math.isfinite(number):
        return _fail("not_a_number")
    if negative:
        number = -number
    return _check_kind(ParsedNumber(number, qualifier, is_percent, warning), kind)


def _drop_leading_words(s: str, n: int) -> str:
    parts = s.split(None, n)
    if len(parts) > n:
        return parts[n]
    # "hơn100": the word is glued to the digits.
    m = re.search(r"[\d(+−-]", s)
    return s[m.start() :] if m else ""


def _digits_to_float(s: str, kind: Kind) -> tuple[float | None, str | None]:
    if _DIGITS_ONLY.match(s):
        return float(s), None
    has_dot, has_comma = "." in s, "," in s
    if not has_dot and not has_comma:
        return None, None
    if has_dot and has_comma:
        # The separator that comes last is the decimal mark.
        if s.rfind(",") > s.rfind("."):
            whole, frac = s.rsplit(",", 1)
            thousands = "."
        else:
            whole, frac = s.rsplit(".", 1)
            thousands = ","
        if not _is_grouped(whole, thousands) or not _DIGITS_ONLY.match(frac):
            return None, None
        return float(whole.replace(thousands, "") + "." + frac), None
    sep = "." if has_dot else ","
    if s.count(sep) > 1:
        if (sep == "." and _GROUPED.match(s)) or (sep == "," and _GROUPED_COMMA.match(s)):
            return float(s.replace(sep, "")), None
        return None, None
    whole, frac = s.split(sep)
    if not _DIGITS_ONLY.match(whole) or not _DIGITS_ONLY.match(frac):
        return None, None
    if len(frac) != 3:
        # "226,5", "3.75": a group of thousands always has three digits, so this is a decimal mark.
        return float(f"{whole}.{frac}"), None
    # Exactly three digits after a single separator: thousands or decimals?
    if kind == "int":
        return float(whole + frac), None
    if sep == ",":
        return float(f"{whole}.{frac}"), "ambiguous_separator"
    return float(whole + frac), "ambiguous_separator"


def _is_grouped(whole: str, sep: str) -> bool:
    if _DIGITS_ONLY.match(whole):
        return True
    groups = whole.split(sep)
    return (
        bool(_DIGITS_ONLY.match(groups[0]))
        and 1 <= len(groups[0]) <= 3
        and all(len(g) == 3 and _DIGITS_ONLY.match(g) for g in groups[1:])
    )
