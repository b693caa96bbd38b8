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
]
# fmt: on
