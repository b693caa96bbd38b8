"""Folding of Vietnamese labels so that what a clerk typed can be matched to what a template expects.

"Thuê bao  điện thoại\ncố định", "THUE BAO DIEN THOAI CO DINH" and the NFD-decomposed form all fold to
"thue bao dien thoai co dinh".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w%/ ]+")


@lru_cache(maxsize=65536)
def fold(text: object) -> str:
    """Lower-case, strip diacritics (đ -> d), drop punctuation, collapse white space."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFD", str(text))
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn")
    s = s.replace("đ", "d").replace("Đ", "D").lower()
    s = _PUNCT.sub(" ", s)
    return _SPACES.sub(" ", s).strip()


def clean(text: object) -> str:
    """NFC-normalise and collapse white space, keeping diacritics (for display and storage)."""
    if text is None:
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", str(text))).strip()
