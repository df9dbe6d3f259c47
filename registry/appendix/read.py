"""Reading an appendix file (XLSX or CSV, header found anywhere near the top) into rows of text cells."""
from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext, lazy_gettext

from registry.appendix.layout import COLUMNS, FORMULA_START, HEADER_SCAN_ROWS, TemplateError, format_for
from registry.text import fold


@dataclass
class Sheet:
    """The rows under the header as (row number, {column key: text}), the columns present and their titles."""

    titles: dict[str, str]
    present: set[str]
    rows: list[tuple[int, dict[str, str]]]


def _cell_text(value, key: str | None = None) -> str:
    """A cell as text; whole floats lose their '.0', numbers that lost a leading 0 get it back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        # A spreadsheet stores 02773851234 typed into a number cell as 2773851234 (and 0912… as 912…).
        if key == "number" and len(text) in (9, 10) and not text.startswith(("1800", "1900")):
            text = "0" + text
        return text
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value)).strip()
    if text.startswith("'") and text[1:2] in FORMULA_START:
        text = text[1:]
    return text


def _column_key(title: str) -> str | None:
    """Which of our columns a header cell names, compared without accents or case."""
    t = " ".join(fold(title).split())
    if t in ("stt", "so tt", "so thu tu", "tt"):
        return "stt"
    if "dien thoai" in t or "duong day nong" in t:
        return "number"
    if t.startswith("ten") and ("co quan" in t or "don vi" in t or "dia phuong" in t):
        return "name"
    if "ghi chu" in t:
        return "note"
    if t in ("ma", "ma dv", "ma co quan") or t.startswith("ma don vi"):
        return "code"
    return None


def _sheet_from_rows(rows: list[tuple[int, list]]) -> Sheet | None:
    """The table under the first header row among rows, or None when there is none."""
    for index, (_number, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns, titles = {}, {}
        for position, value in enumerate(cells):
            key = _column_key(_cell_text(value))
            if key and key not in columns:
                columns[key] = position
                titles[key] = " ".join(_cell_text(value).split())
        if "name" in columns and "number" in columns:
            body = [
                (number, {k: _cell_text(row[pos] if pos < len(row) else None, k) for k, pos in columns.items()})
                for number, row in rows[index + 1:]
            ]
            return Sheet(titles={**COLUMNS, **titles}, present=set(columns), rows=body)
    return None


NO_HEADER = lazy_gettext(
    "Không tìm thấy dòng tiêu đề của bảng: cần các cột “TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG” và "
    "“SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG” (có thể thêm STT, GHI CHÚ, MÃ ĐƠN VỊ) như mẫu phụ lục."
)
EMPTY = lazy_gettext("Tệp không có dữ liệu.")


def _read_xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) for a damaged file
        raise TemplateError(gettext(
            "Không đọc được tệp XLSX (tệp hỏng hoặc không phải bảng tính Excel). Hãy mở và lưu lại bằng Excel."
        )) from exc
    anything = False
    for worksheet in workbook.worksheets:
        rows = [(n, list(cells)) for n, cells in enumerate(worksheet.iter_rows(values_only=True), start=1)]
        anything = anything or any(c not in (None, "") for _n, cells in rows for c in cells)
        found = _sheet_from_rows(rows)
        if found:
            return found
    raise TemplateError(str(NO_HEADER if anything else EMPTY))


def _read_csv(data: bytes) -> Sheet:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1258", errors="replace")  # the Vietnamese Windows code page of older exports
    if "\x00" in text:
        raise TemplateError(gettext("Tệp không phải là tệp CSV (có dữ liệu nhị phân). Hãy chọn tệp .xlsx hoặc .csv."))
    if not text.strip(" \r\n\t,;"):
        raise TemplateError(str(EMPTY))
    # The separator depends on the spreadsheet's language settings: the right one is the one giving a header.
    for delimiter in (",", ";", "\t"):
        try:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            rows = list(enumerate(reader, start=1))
        except csv.Error as exc:
            raise TemplateError(gettext("Không đọc được tệp CSV: %(exc)s.", exc=exc)) from exc
        found = _sheet_from_rows(rows)
        if found:
            return found
    raise TemplateError(str(NO_HEADER))


def read_sheet(data: bytes, filename: str) -> Sheet:
    """The header and rows of an appendix file; TemplateError when it is not one."""
    fmt = format_for(filename)
    if not data:
        raise TemplateError(gettext("Tệp rỗng."))
    is_zip = data[:4] == b"PK\x03\x04" and zipfile.is_zipfile(io.BytesIO(data))
    if fmt == "xlsx" and not is_zip:
        raise TemplateError(gettext("Tệp không phải là bảng tính XLSX hợp lệ."))
    if fmt == "csv" and is_zip:
        raise TemplateError(gettext("Tệp này là bảng tính XLSX nhưng có đuôi .csv: hãy đổi đuôi thành .xlsx."))
    return _read_xlsx(data) if fmt == "xlsx" else _read_csv(data)
