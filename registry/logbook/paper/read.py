"""Reading a filled logbook XLSX: whose book it is (the unit's code above the table) and its rows as text cells.

The file is checked and read exactly as the appendix is (registry/appendix/archive.py, limits.py, read.py): the
zip's container before any XML, then the sheet streamed row by row within the same bounds, so a zip bomb or
two cells a million rows apart are refused within milliseconds and never fill memory.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from flask_babel import gettext, lazy_gettext

from registry.appendix.archive import check_xlsx
from registry.appendix.layout import TemplateError
from registry.appendix.limits import LIMITS, LimitExceeded, Limits, check_file_size
from registry.appendix.read import _cell_text, _check_dimension, _unreadable, _xlsx_rows, too_many_rows
from registry.logbook.paper.layout import HEADER_SCAN_ROWS, UNIT_CODE_LABEL, closing_row, column_key, format_for
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


def _unit_code(cells) -> str:
    for _position, value in cells:
        text = _cell_text(value)
        if fold(text).startswith(fold(UNIT_CODE_LABEL)):
            return text[len(UNIT_CODE_LABEL):].strip()
    return ""


def _table(rows, limits: Limits, sheet: str) -> Filled | None:
    """The book under the first header row near the top; None when the sheet has none."""
    columns: dict[str, int] = {}
    unit_code = ""
    body: list[tuple[int, dict[str, str]]] = []
    for number, cells in rows:
        if number > limits.rows:
            raise LimitExceeded(too_many_rows(limits, sheet), field="file")
        if not cells:
            continue
        if not columns:
            if number > HEADER_SCAN_ROWS:
                return None
            unit_code = unit_code or _unit_code(cells)
            found = {}
            for position, value in cells:
                key = column_key(_cell_text(value))
                if key and key not in found and position <= limits.columns:
                    found[key] = position
            if all(key in found for key in REQUIRED):
                columns = found
            continue
        if closing_row([_cell_text(value) for _position, value in cells]):
            continue
        values = dict(cells)
        row = {key: _cell_text(values.get(position)) for key, position in columns.items()}
        row.pop("stt", None)
        if any(row.values()):
            body.append((number, row))
    if not columns:
        return None
    return Filled(unit_code=unit_code, present=set(columns), rows=body)


def read_filled(data: bytes, filename: str, limits: Limits = LIMITS) -> Filled:
    """The unit code and rows of a filled book; TemplateError (LimitExceeded past the limits) when it is not one."""
    format_for(filename, ("xlsx",))
    if not data:
        raise TemplateError(gettext("Tệp rỗng."), field="file")
    check_file_size(len(data), limits)
    check_xlsx(data, limits)  # nothing is inflated or parsed before the container passes
    import openpyxl

    if not openpyxl.DEFUSEDXML:  # without defusedxml an XML entity in the file could expand to gigabytes
        raise TemplateError(gettext("Máy chủ thiếu hoặc đang tắt defusedxml nên không đọc tệp XLSX một cách an toàn "
                                    "được: hãy báo quản trị viên."), field="file")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) for a damaged file
        raise _unreadable(exc) from exc
    try:
        for worksheet in workbook.worksheets:
            _check_dimension(worksheet, limits)
            found = _table(_xlsx_rows(workbook, worksheet), limits, worksheet.title)
            if found:
                return found
    except TemplateError:
        raise
    except Exception as exc:  # a damaged sheet: bad XML, a cell reference that is not one…
        raise _unreadable(exc) from exc
    finally:
        workbook.close()
    raise TemplateError(str(NO_HEADER), field="file")
