"""Text a clerk's workbook can hold that a parser must survive: odd Unicode and numbers typed every way.

Shared by the mutations (``faults.mutations``) and the Hypothesis strategies (``faults.fuzz``).
"""

# fmt: off
WEIRD_TEXT = [
    "\u202eVIETTEL",                       # right-to-left override before a reporter code
    "VNPT\u200b",                          # zero-width space after it
    "\ufeff12/2020",                       # a byte-order mark before a period
    "Thu\u0302\u0300 bao",                  # decomposed (NFD) Vietnamese
    "a" + "\u0301" * 200,                  # a combining sequence 200 marks long
    "١٢٣٤", "１２３４",                      # Arabic-Indic and full-width digits
    "1\u202f234\u00a0567", "12٫5",          # narrow and no-break spaces as separators, Arabic decimal mark
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # a joined emoji sequence
    "\ue000\uf8ff", "\ufffd\ufffd",         # private use, replacement characters
    "\\ud800",                             # text that looks like a lone surrogate
    "ＭÃ BIỂU MẪU", "Mã biểu mẫu\u200d",    # a cover label in full-width letters, with a zero-width joiner
    "\u2028\u2029", "\u200f١٢\u200e",       # line/paragraph separators, bidi marks around digits
    "ǅ", "ß" * 50, "İ",                    # letters whose case mapping changes their length
]
NUMBER_TEXT = [
    "1.294.026", "1,294,026", "226,5", "1e308", "-0", "NaN", "inf", "1/0", "hơn 100", "0x1F", "12a", "٣",
    "(1.234)", "1.2.3", "  ", "--5", "1_000", "10%", "∞", "9" * 400,
    "Infinity", "-inf", " NaN ", "1e400", "+inf", "1.7e308", "1.²³⁴", "٣,٥",
]
# Numbers at a float's edges: the largest (two of them overflow a sum), subnormals, -0, 2^63 (past int64),
# and the text Python's float() accepts, which no clerk types
EXTREME_NUMBERS = [
    1.7e308, -1.7e308, 1.7976931348623157e308, 5e-324, -5e-324, 2.2250738585072014e-308, -0.0, 2**63,
    -(2**63), 2**64, 1e300, 1e15 + 0.5, "inf", "nan", "1e400", "Infinity", "1_000", " NaN ", "-inf",
]
# Cover periods nobody can report: years of fewer than four digits (typos of 2020), zero, far future or past,
# months out of range, and the date and number cells a period can be typed as
PERIOD_TEXT = [
    "12/0000", "12/0202", "Tháng 12 năm 0202", "0202-12", "Năm 0000", "6 tháng đầu năm 0020", "13/2020",
    "00/2020", "12/99999", "12/1899", "12/9999", "Tháng 12 năm 2O20", "12/2020\u200b", "2020-00", "-12/2020",
    "12/" + "2" * 300,
]
# fmt: on
