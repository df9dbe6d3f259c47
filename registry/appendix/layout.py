"""The appendix's layout: its title, its columns and their order, the GHI CHÚ wording, the file formats.

See registry.appendix for the whole template as the office writes and reads it.
"""
from pathlib import Path

from flask_babel import gettext

from registry.cells import FORMULA_START  # noqa: F401 (re-exported: cells that start like a formula)
from registry.errors import RegistryError

TITLE = "DANH SÁCH SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG DO CƠ QUAN, ĐƠN VỊ VÀ ĐỊA PHƯƠNG QUẢN LÝ"
COLUMNS = {
    "stt": "STT",
    "name": "TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG",
    "number": "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG",
    "note": "GHI CHÚ",
    "code": "MÃ ĐƠN VỊ",
}
ORDER = ("stt", "name", "number", "note", "code")
HEADER_ROW = 4  # title, date line, blank line, header
FORMATS = ("xlsx", "csv")
HEADER_SCAN_ROWS = 50
DEMO_NOTE = "Số mẫu (không có thật)"
SHARED_NOTE = "Số dùng chung"


class TemplateError(RegistryError):
    """The file as a whole cannot be read: wrong format, empty, no header row."""


def format_for(filename: str) -> str:
    """'xlsx' or 'csv' from a file name's extension; TemplateError for anything else."""
    ext = Path(filename or "").suffix.lower().lstrip(".")
    if ext in FORMATS:
        return ext
    if ext == "xls":
        raise TemplateError(gettext("Định dạng .xls (Excel 97–2003) không được hỗ trợ: hãy lưu tệp dưới dạng .xlsx."))
    if not ext:
        raise TemplateError(gettext("Tên tệp phải có đuôi .xlsx hoặc .csv."))
    raise TemplateError(gettext("Chỉ hỗ trợ tệp .xlsx hoặc .csv (tệp “%(name)s” có đuôi “.%(ext)s”).", name=Path(filename).name, ext=ext))
