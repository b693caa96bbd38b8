"""Issue messages in Vietnamese and English, written for the clerk who has to fix the file.

Each rule has one template per language; placeholders are filled from the issue's context
(file, sheet, cell, value, expected...).
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "not_a_number": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): giá trị '{value}' không phải là số. Vui lòng nhập số, "
        "ví dụ 1.307.732 hoặc 226,5.",
        "Cell {cell} (sheet '{sheet}', column '{column}'): '{value}' is not a number. Enter a number such as "
        "1.307.732 or 226,5.",
    ),
    "fraction_in_integer": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): '{value}' có phần thập phân nhưng chỉ tiêu này là số đếm "
        "(số nguyên).",
        "Cell {cell} (sheet '{sheet}', column '{column}'): '{value}' has a fractional part but this is a count "
        "(whole number).",
    ),
    "date_in_number_cell": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): ô chứa ngày tháng '{value}', cần nhập số.",
        "Cell {cell} (sheet '{sheet}', column '{column}'): the cell holds a date '{value}'; a number is expected.",
    ),
    "ambiguous_separator": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): '{value}' được hiểu là {parsed} (dấu phẩy là dấu thập phân, "
        "dấu chấm phân cách hàng nghìn). Vui lòng kiểm tra lại.",
        "Cell {cell} (sheet '{sheet}', column '{column}'): '{value}' was read as {parsed} (comma = decimal mark, "
        "dot = thousands separator). Please check.",
    ),
    "blank_required": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): chưa nhập số liệu bắt buộc.",
        "Cell {cell} (sheet '{sheet}', column '{column}'): a required figure is blank.",
    ),
    "negative": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): giá trị {value} âm; chỉ tiêu này không được âm.",
        "Cell {cell} (sheet '{sheet}', column '{column}'): {value} is negative; this figure cannot be negative.",
    ),
    "unknown_district": (
        "Ô {cell} (sheet '{sheet}'): không nhận ra đơn vị hành chính '{value}' của tỉnh; dùng tên hoặc mã "
        "huyện/thị xã/thành phố trong biểu mẫu.",
        "Cell {cell} (sheet '{sheet}'): '{value}' is not a district-level unit of the province; use the names or "
        "codes printed in the template.",
    ),
    "duplicate_district": (
        "Ô {cell} (sheet '{sheet}'): đơn vị '{value}' xuất hiện nhiều lần.",
        "Cell {cell} (sheet '{sheet}'): district '{value}' appears more than once.",
    ),
    "unknown_commune": (
        "Ô {cell} (sheet '{sheet}'): không nhận ra xã, phường, thị trấn '{value}' của huyện; dùng tên in trong "
        "biểu mẫu.",
        "Cell {cell} (sheet '{sheet}'): '{value}' is not a commune of the district; use the names printed in the "
        "template.",
    ),
    "duplicate_commune": (
        "Ô {cell} (sheet '{sheet}'): xã '{value}' xuất hiện nhiều lần.",
        "Cell {cell} (sheet '{sheet}'): commune '{value}' appears more than once.",
    ),
    "missing_commune": (
        "Sheet '{sheet}': thiếu dòng của xã {value}.",
        "Sheet '{sheet}': the row for commune {value} is missing.",
    ),
    "above_max": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): giá trị {value} vượt quá mức cho phép {expected}.",
        "Cell {cell} (sheet '{sheet}', column '{column}'): {value} is above the allowed {expected}.",
    ),
    "missing_district": (
        "Sheet '{sheet}': thiếu dòng của đơn vị {value}.",
        "Sheet '{sheet}': the row for district {value} is missing.",
    ),
    "sum_overflow": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): với giá trị '{value}', tổng của cột vượt quá mọi số có thể "
        "tính được; số liệu của cột này không thể đúng, vui lòng kiểm tra lại.",
        "Cell {cell} (sheet '{sheet}', column '{column}'): with '{value}', the column's sum overflows every "
        "number that can be computed; the column's figures cannot be right, please check them.",
    ),
    "out_of_range": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): giá trị {value} nằm ngoài khoảng hợp lý của chỉ tiêu "
        "({expected}).",
        "Cell {cell} (sheet '{sheet}', column '{column}'): {value} is outside the plausible range of this figure "
        "({expected}).",
    ),
    "implausible_figure": (
        "Số liệu của tệp làm cho số liệu tổng hợp không hợp lý ({value}): không hữu hạn hoặc ngoài khoảng hợp lý "
        "của chỉ tiêu; tệp bị từ chối để không công bố số liệu sai. Vui lòng kiểm tra lại và gửi lại.",
        "The file's figures make a published figure absurd ({value}): not finite, or outside the indicator's "
        "plausible range; the file is rejected so that nothing absurd is published. Please check and resend it.",
    ),
    "parse_crash": (
        "Tệp '{file}' gây lỗi khi {stage_vi} ({value}); tệp bị từ chối, các tệp khác vẫn được xử lý. Hãy lưu lại "
        "bằng Excel (.xlsx) và gửi lại; nếu vẫn lỗi, báo cho quản trị hệ thống.",
        "The file '{file}' failed while {stage_en} ({value}); it is rejected and every other file goes on. Save "
        "it again in Excel (.xlsx) and resend it; if it fails again, tell the system's operator.",
    ),
    "total_mismatch": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): dòng tổng cộng ghi {value} nhưng tổng các dòng là {expected}.",
        "Cell {cell} (sheet '{sheet}', column '{column}'): the total row says {value} but the rows add up to "
        "{expected}.",
    ),
    "missing_item": (
        "Sheet '{sheet}': thiếu dòng chỉ tiêu '{column}'.",
        "Sheet '{sheet}': the line '{column}' is missing.",
    ),
    "missing_sheet": (
        "Không tìm thấy sheet '{sheet}' của biểu mẫu {value}.",
        "The sheet '{sheet}' of form {value} was not found.",
    ),
    "header_not_found": (
        "Sheet '{sheet}': không tìm thấy dòng tiêu đề cột (cần các cột: {expected}).",
        "Sheet '{sheet}': the column header row was not found (expected columns: {expected}).",
    ),
    "missing_column": (
        "Sheet '{sheet}': thiếu cột '{column}'.",
        "Sheet '{sheet}': the column '{column}' is missing.",
    ),
    "unknown_template": (
        "Không nhận ra biểu mẫu: trang bìa cần có ô 'Mã biểu mẫu' (ví dụ VT-01). Hãy dùng biểu mẫu do Sở phát hành.",
        "The form was not recognised: the cover needs a 'Mã biểu mẫu' (form code, e.g. VT-01) cell. Use the "
        "department's template.",
    ),
    "unknown_template_version": (
        "Biểu mẫu {value} phiên bản '{expected}' không được hỗ trợ.",
        "Form {value} version '{expected}' is not supported.",
    ),
    "unknown_reporter": (
        "Ô {cell} (sheet '{sheet}'): không nhận ra đơn vị báo cáo '{value}'.",
        "Cell {cell} (sheet '{sheet}'): the reporter '{value}' is not known.",
    ),
    "reporter_kind_mismatch": (
        "Ô {cell} (sheet '{sheet}'): đơn vị '{value}' không phải đối tượng báo cáo biểu mẫu {expected}.",
        "Cell {cell} (sheet '{sheet}'): '{value}' does not report on form {expected}.",
    ),
    "bad_period": (
        "Ô {cell} (sheet '{sheet}'): kỳ báo cáo '{value}' không hợp lệ; cần dạng {expected}.",
        "Cell {cell} (sheet '{sheet}'): the reporting period '{value}' is not valid; expected {expected}.",
    ),
    "period_out_of_range": (
        "Ô {cell} (sheet '{sheet}'): kỳ báo cáo '{value}' có năm {found} nằm ngoài khoảng cho phép ({expected}); "
        "năm phải có bốn chữ số, ví dụ 12/2020.",
        "Cell {cell} (sheet '{sheet}'): the reporting period '{value}' has the year {found}, outside the allowed "
        "{expected}; a year has four digits, e.g. 12/2020.",
    ),
    "future_period": (
        "Ô {cell} (sheet '{sheet}'): kỳ báo cáo {value} chưa kết thúc.",
        "Cell {cell} (sheet '{sheet}'): the reporting period {value} has not ended yet.",
    ),
    "unreadable": (
        "Không đọc được tệp: {value}. Hãy lưu lại bằng Excel (.xlsx) và gửi lại.",
        "The file could not be read: {value}. Save it again in Excel (.xlsx) and resend it.",
    ),
    "password_protected": (
        "Tệp được đặt mật khẩu nên không đọc được. Hãy bỏ mật khẩu (File > Info > Protect Workbook) rồi gửi lại.",
        "The file is password-protected and cannot be read. Remove the password (File > Info > Protect "
        "Workbook) and resend it.",
    ),
    "part_exceeds_whole": (
        "Ô {cell} (sheet '{sheet}', '{column}'): {value} lớn hơn tổng của nó '{expected}' ({whole}).",
        "Cell {cell} (sheet '{sheet}', '{column}'): {value} is larger than its whole '{expected}' ({whole}).",
    ),
    "unusual_jump": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): {value} thay đổi {change} so với kỳ trước ({expected}). "
        "Vui lòng kiểm tra lại.",
        "Cell {cell} (sheet '{sheet}', column '{column}'): {value} changed by {change} against the previous "
        "period ({expected}). Please check.",
    ),
    "blank_in_filled_column": (
        "Ô {cell} (sheet '{sheet}', cột '{column}'): ô trống trong khi các dòng khác của cột có số liệu.",
        "Cell {cell} (sheet '{sheet}', column '{column}'): blank while other rows of the column have figures.",
    ),
    "archive_corrupt": (
        "Bản lưu trữ của tệp ({value}) không còn khớp mã băm SHA-256 khi nhận (hỏng đĩa hoặc khôi phục sai); tệp "
        "không được nạp. Hãy khôi phục bản lưu trữ hoặc yêu cầu đơn vị gửi lại.",
        "The archived copy ({value}) no longer matches the SHA-256 it had when received (disk fault or bad "
        "restore); it was not loaded. Restore the archive copy or ask the reporter to resend.",
    ),
    "not_a_spreadsheet": (
        "Tệp không phải bảng tính Excel (.xlsx, .xlsm, .xls, .ods).",
        "The file is not a spreadsheet (.xlsx, .xlsm, .xls, .ods).",
    ),
    "too_large": (
        "Tệp quá lớn: {value} (giới hạn {expected}).",
        "The file is too large: {value} (limit {expected}).",
    ),
    # Why a whole file was refused before its cells were read (tasks/read.py): each names the sheet or part,
    # what was found and the limit, and what the clerk can do about it.
    "too_large_unpacked": (
        "Tệp quá lớn: khi giải nén chiếm {found_vi} byte (giới hạn {limit_vi} byte). Biểu mẫu chỉ cần vài trăm "
        "KB: hãy xóa hình ảnh và các sheet không thuộc biểu mẫu, lưu lại rồi gửi lại.",
        "The file is too large: {found} bytes unpacked (limit {limit} bytes). A form needs a few hundred KB: "
        "delete pictures and sheets that are not part of the form, save it and resend it.",
    ),
    "too_large_sheets": (
        "Tệp quá lớn: có {found_vi} sheet (giới hạn {limit_vi} sheet). Hãy xóa các sheet không thuộc biểu mẫu "
        "rồi gửi lại.",
        "The file is too large: {found} sheets (limit {limit} sheets). Delete the sheets that are not part of "
        "the form and resend it.",
    ),
    "too_large_rows": (
        "Tệp quá lớn: sheet '{sheet}' có ô dữ liệu đến dòng {found_vi} (giới hạn {limit_vi} dòng). Hãy xóa các "
        "dòng thừa bên dưới bảng (kể cả ô nằm rất xa bảng), lưu lại rồi gửi lại.",
        "The file is too large: sheet '{sheet}' has cells down to row {found} (limit {limit} rows). Delete the "
        "extra rows below the table (including any cell far below it), save it and resend it.",
    ),
    "too_large_cells": (
        "Tệp quá lớn: sheet '{sheet}' trải từ ô A1 đến ô {corner}, tức {found_vi} ô (giới hạn {limit_vi} ô). "
        "Hãy xóa các dòng và cột thừa ngoài bảng (kể cả ô nằm rất xa bảng), lưu lại rồi gửi lại.",
        "The file is too large: sheet '{sheet}' spans A1:{corner}, {found} cells (limit {limit} cells). Delete "
        "the extra rows and columns outside the table (including any cell far from it), save it and resend it.",
    ),
    "too_large_workbook": (
        "Tệp quá lớn: các sheet có tổng cộng {found_vi} ô (giới hạn {limit_vi} ô cho cả tệp). Hãy xóa các sheet "
        "không thuộc biểu mẫu rồi gửi lại.",
        "The file is too large: its sheets hold {found} cells in all (limit {limit} cells per file). Delete the "
        "sheets that are not part of the form and resend it.",
    ),
    "too_large_text": (
        "Tệp quá lớn: ô {cell} (sheet '{sheet}') chứa {found_vi} ký tự (giới hạn {limit_vi} ký tự). Hãy rút "
        "gọn nội dung ô rồi gửi lại.",
        "The file is too large: cell {cell} (sheet '{sheet}') holds {found} characters (limit {limit} "
        "characters). Shorten it and resend the file.",
    ),
    "corrupt_declared_count": (
        "Không đọc được tệp: phần {part} khai báo {found_vi} mục nhưng chỉ có chỗ cho tối đa {limit_vi} mục; "
        "tệp bị hỏng hoặc không do Excel tạo ra. Hãy mở bằng Excel, lưu lại (.xlsx) rồi gửi lại.",
        "The file could not be read: its part {part} declares {found} entries but has room for at most {limit}; "
        "the file is damaged or was not made by Excel. Open it in Excel, save it again (.xlsx) and resend it.",
    ),
    "corrupt_extent": (
        "Không đọc được tệp: sheet '{sheet}' khai báo vùng dữ liệu {found} vượt quá lưới ô của định dạng "
        "({limit}); tệp bị hỏng. Hãy mở bằng Excel, lưu lại (.xlsx) rồi gửi lại.",
        "The file could not be read: sheet '{sheet}' declares a used range {found} beyond the format's grid "
        "({limit}); the file is damaged. Open it in Excel, save it again (.xlsx) and resend it.",
    ),
    "overlapping_merges": (
        "Không đọc được tệp: các vùng gộp ô của sheet '{sheet}' chồng lên nhau ({found_vi} ô gộp trên một sheet "
        "chỉ có {limit_vi} ô); tệp bị hỏng. Hãy bỏ gộp ô (Unmerge) ở vùng đó, lưu lại bằng Excel rồi gửi lại.",
        "The file could not be read: the merged cells of sheet '{sheet}' overlap ({found} merged cells on a "
        "sheet of {limit} cells); the file is damaged. Unmerge them, save it again in Excel and resend it.",
    ),
    # Why intake held a file back this run (tasks/intake.py): retried next run, never archived meanwhile.
    "held_vanished": (
        "Tệp '{value}' đã biến mất khỏi thư mục nhận trước khi được đọc ({expected}); sẽ thử lại ở lần chạy sau.",
        "The file '{value}' disappeared from the inbox before it could be read ({expected}); retried next run.",
    ),
    "held_unreadable": (
        "Dịch vụ không có quyền đọc tệp '{value}' ({expected}); hãy cấp quyền đọc, tệp sẽ được nhận ở lần chạy "
        "sau.",
        "The service may not read the file '{value}' ({expected}); grant read access and it is taken in next "
        "run.",
    ),
    "held_folder_unreadable": (
        "Dịch vụ không có quyền mở thư mục '{value}' ({expected}); các tệp bên trong chưa được nhận. Hãy cấp "
        "quyền đọc thư mục.",
        "The service may not list the folder '{value}' ({expected}); the files in it were not taken in. Grant "
        "read access to the folder.",
    ),
    "held_not_a_file": (
        "'{value}' không phải là tệp thông thường mà là {kind_vi}; không được lưu trữ. Hãy đặt chính tệp "
        "bảng tính vào thư mục nhận.",
        "'{value}' is not a regular file but {kind_en}; it was not archived. Put the spreadsheet itself in "
        "the inbox.",
    ),
    "held_changing": (
        "Tệp '{value}' đang được ghi trong lúc đọc ({expected}); sẽ nhận lại ở lần chạy sau khi đã ghi xong.",
        "The file '{value}' was still being written while it was read ({expected}); it is taken in next run, "
        "once complete.",
    ),
    "held_failed": (
        "Không nhận được tệp '{value}' do lỗi ({expected}); sẽ thử lại ở lần chạy sau.",
        "The file '{value}' could not be taken in ({expected}); retried next run.",
    ),
    "parse_crashed": (
        "Tệp làm hỏng tiến trình đọc ({value}); tệp được cách ly với phiên bản bộ đọc này và không được nạp. "
        "Hãy báo cho kỹ thuật viên.",
        "The file crashed its parse worker ({value}); it is quarantined for this parser version and not "
        "loaded. Tell the engineers.",
    ),
    "quarantined": (
        "Đã cách ly bởi {value} lúc {expected}: {reason}. Tệp lưu trữ vẫn giữ nguyên; không được nạp cho đến "
        "khi được phục hồi (ictstat release).",
        "Quarantined by {value} at {expected}: {reason}. The archived copy is kept; it is not loaded until "
        "released (ictstat release).",
    ),
    "assemble_failed": (
        "Tệp '{value}' không xử lý được ({expected}); tệp bị từ chối, các tệp khác vẫn được nạp.",
        "The file '{value}' could not be processed ({expected}); it is rejected, the other files are loaded.",
    ),
    "duplicate_file": (
        "Tệp giống hệt tệp đã nhận trước đó ({value}); không tính lại.",
        "Byte-identical to a file already received ({value}); not counted again.",
    ),
    "superseded": (
        "Đã có bản gửi mới hơn cho cùng đơn vị và kỳ báo cáo ({value}).",
        "A newer submission for the same reporter and period replaced this one ({value}).",
    ),
}


def render(rule: str, **context: object) -> tuple[str, str]:
    """The (Vietnamese, English) message of a rule with its placeholders filled."""
    vi, en = MESSAGES[rule]

    class _Default(dict[str, object]):
        def __missing__(self, key: str) -> str:
            return "?"

    ctx = _Default({k: ("" if v is None else v) for k, v in context.items()})
    return vi.format_map(ctx), en.format_map(ctx)


# --- messages an operator reads (command line, logs, run states, artifacts) ------------------------------
# One convention everywhere: the whole Vietnamese sentence, then the whole English one, joined by " / ".
SEPARATOR = " / "
_PARAMETER_ERROR = ("Tham số không hợp lệ", "Invalid parameters")
# Prefect's own words when a run's parameters fail its validation (a form filled in by hand through the API)
_PREFECT_PARAMETER_ERROR = "Validation of flow parameters failed"


def bilingual(vi: str, en: str) -> str:
    """One message in both languages: Vietnamese first, then English."""
    return f"{vi}{SEPARATOR}{en}"


def parameter_error(vi: str, en: str) -> str:
    """The message of a run refused for its parameters (a typo to fix, not a failure to be alerted to)."""
    return bilingual(f"{_PARAMETER_ERROR[0]} — {vi}", f"{_PARAMETER_ERROR[1]} — {en}")


def is_parameter_error(message: str | None) -> bool:
    """Whether a run's state message says it was refused for its parameters (no failure notice is sent)."""
    text = message or ""
    return text.startswith(_PARAMETER_ERROR[0]) or _PREFECT_PARAMETER_ERROR in text
