"""Reading a filled logbook XLSX: whose book it is (the unit's code above the table) and its rows as text cells.

The file is read by the appendix's reader (registry.appendix.read.read_sheet: the zip's container checked
before any XML, then the sheet streamed row by row within the same limits, so a zip bomb or two cells a
million rows apart are refused within milliseconds and never fill memory), with the book's own header row.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext

from registry.appendix.layout import TemplateError
from registry.appendix.limits import LIMITS, Limits
from registry.appendix.read import Cells, NoHeader, cell_text, read_sheet
from registry.logbook.paper.layout import UNIT_CODE_LABEL, closing_row, column_key, format_for
from registry.text import fold


@dataclass
class Filled:
    """A filled book: the unit code written above the table ('' if none), the columns found, the rows."""

    unit_code: str
    present: set[str]
    rows: list[tuple[int, dict[str, str]]]


NO_HEADER = lazy_gettext("Không tìm thấy dòng tiêu đề của sổ: cần các cột “Ngày giờ tiếp nhận”, “Kênh” và “Nội dung” như mẫu "
             "xuất từ hệ thống.")
REQUIRED = ("received_at", "channel", "content")


def _unit_code(cells: Cells) -> str:
    for _position, value in cells:
        text = cell_text(value)
        if fold(text).startswith(fold(UNIT_CODE_LABEL)):
            return text[len(UNIT_CODE_LABEL):].strip()
    return ""


def read_filled(data: bytes, filename: str, limits: Limits = LIMITS) -> Filled:
    """The unit code and rows of a filled book; TemplateError (LimitExceeded past the limits) when it is not one."""
    format_for(filename, ("xlsx",))
    unit_code = ""
    body: list[tuple[int, dict[str, str]]] = []

    def header(cells: Cells) -> tuple[dict[str, int], dict[str, str]]:
        # Every row above the table passes here: the unit's code is written on one of them.
        nonlocal unit_code
        unit_code = unit_code or _unit_code(cells)
        columns: dict[str, int] = {}
        for position, value in cells:
            key = column_key(cell_text(value))
            if key and key not in columns:
                columns[key] = position
        return (columns, {}) if all(key in columns for key in REQUIRED) else ({}, {})

    def row(number: int, cells: dict[str, str]) -> None:
        if closing_row(list(cells.values())):
            return  # the signature block under the table
        cells.pop("stt", None)
        if any(cells.values()):
            body.append((number, cells))

    try:
        sheet = read_sheet(data, filename, limits=limits, header=header, sink=row)
    except NoHeader:
        raise TemplateError(str(NO_HEADER), field="file") from None
    return Filled(unit_code=unit_code, present=sheet.present, rows=body)
