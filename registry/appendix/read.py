"""Reading an appendix file (XLSX or CSV, header found anywhere near the top) into rows of text cells."""
from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext, lazy_gettext

from registry.appendix.archive import check_xlsx, is_zip
from registry.appendix.layout import COLUMNS, FORMULA_START, HEADER_SCAN_ROWS, TemplateError, format_for
from registry.appendix.limits import LIMITS, LimitExceeded, Limits, check_file_size
from registry.text import fold


@dataclass
class Sheet:
    """The rows under the header as (row number, {column key: text}), the columns present and their titles."""

    titles: dict[str, str]
    present: set[str]
    rows: list[tuple[int, dict[str, str]]]


Cells = list[tuple[int, object]]  # a row's filled cells: (column number from 1, value)
# Recognises a header row: (column key → column number, column key → title), both empty when the row is none.
HeaderFinder = Callable[[Cells], tuple[dict[str, int], dict[str, str]]]
# Takes each row under the header as it is read (row number, {column key: text}) instead of keeping it.
RowSink = Callable[[int, dict[str, str]], None]


class NoHeader(TemplateError):
    """No row near the top of any sheet is a header row."""


def cell_text(value, key: str | None = None) -> str:
    """A cell as text (shared by every reader of a filled sheet); whole floats lose their '.0', numbers that lost a leading 0 get it back."""
    if value.__class__ is str:  # every cell of a CSV, most of an XLSX: the text rules at the end, at once
        text = unicodedata.normalize("NFC", value).strip()
        return text[1:] if text.startswith("'") and text[1:2] in FORMULA_START else text
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        # A spreadsheet stores 02773851234 typed into a number cell as 2773851234 (and 0912… as 912…).
        if key in ("number", "phone") and len(text) in (9, 10) and not text.startswith(("1800", "1900")):
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


def _header(cells: Cells) -> tuple[dict[str, int], dict[str, str]]:
    """Our columns a row names (key → column number) and their titles; empty unless name and number are there."""
    columns, titles = {}, {}
    for position, value in cells:
        key = _column_key(cell_text(value))
        if key and key not in columns:
            columns[key] = position
            titles[key] = " ".join(cell_text(value).split())
    return (columns, titles) if "name" in columns and "number" in columns else ({}, {})


def _table(rows: Iterable[tuple[int, Cells]], limits: Limits, sheet: str | None = None, header: HeaderFinder | None = None,
           sink: RowSink | None = None) -> tuple[Sheet | None, bool]:
    """The table under the first header row among the first HEADER_SCAN_ROWS, and whether any cell is filled.

    rows are (row number, its filled cells), streamed: only the columns of the header are kept, so memory
    grows with the rows of the table, never with the sheet's width or its empty stretches. Reading stops at
    the first row past the limit (LimitExceeded), and after the scanned rows when no header is among them.
    header recognises the header row (the appendix's by default); with sink, each row goes to it as it is read
    and none is kept (the Sheet's rows are then empty: a file of a million rows never sits in memory as cells).
    """
    columns: dict[str, int] = {}
    titles: dict[str, str] = {}
    body: list[tuple[int, dict[str, str]]] = []
    anything = False
    for number, cells in rows:
        if number > limits.rows:
            raise LimitExceeded(too_many_rows(limits, sheet), field="file")
        for position, value in cells:
            if position > limits.columns and cell_text(value):
                raise LimitExceeded(too_many_columns(number, position, limits, sheet), field="file")
        if not cells:
            continue  # an empty row costs nothing, wherever it is
        anything = True
        if not columns:
            if number > HEADER_SCAN_ROWS:
                return None, True
            columns, titles = (header or _header)(cells)
            continue
        values = dict(cells)
        row = {key: cell_text(values.get(position), key) for key, position in columns.items()}
        if any(row.values()):
            if sink is None:
                body.append((number, row))
            else:
                sink(number, row)
    if not columns:
        return None, anything
    return Sheet(titles={**COLUMNS, **titles}, present=set(columns), rows=body), True


def too_many_rows(limits: Limits, sheet: str | None) -> str:
    if sheet is None:
        return gettext("Tệp có hơn %(limit)s dòng: hãy xóa các dòng thừa hoặc chia thành nhiều tệp.", limit=limits.rows)
    return gettext("Trang tính “%(sheet)s” có hơn %(limit)s dòng: hãy xóa các dòng thừa (kể cả dòng trống có định "
                   "dạng) hoặc chia thành nhiều tệp.", sheet=sheet[:100], limit=limits.rows)


def too_many_columns(row: int, column: int, limits: Limits, sheet: str | None) -> str:
    if sheet is None:
        return gettext("Dòng %(row)s có dữ liệu ở cột thứ %(column)s, vượt giới hạn %(limit)s cột: hãy xóa các cột thừa.",
                       row=row, column=column, limit=limits.columns)
    cell = _column_letter(column) + str(row)
    return gettext("Ô %(cell)s của trang tính “%(sheet)s” có dữ liệu ở ngoài giới hạn %(limit)s cột: hãy xóa các "
                   "cột thừa.", cell=cell, sheet=sheet[:100], limit=limits.columns)


def _column_letter(column: int) -> str:
    """A column's letters as a spreadsheet shows them: 1 → A, 28 → AB."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


NO_HEADER = lazy_gettext(
    "Không tìm thấy dòng tiêu đề của bảng: cần các cột “TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG” và "
    "“SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG” (có thể thêm STT, GHI CHÚ, MÃ ĐƠN VỊ) như mẫu phụ lục."
)
EMPTY = lazy_gettext("Tệp không có dữ liệu.")
UNREADABLE_XLSX = lazy_gettext(
    "Không đọc được tệp XLSX (tệp hỏng hoặc không phải bảng tính Excel). Hãy mở và lưu lại bằng Excel."
)
XML_ENTITIES = lazy_gettext(
    "Tệp XLSX có khai báo thực thể XML (DTD), điều mà Excel không bao giờ ghi: tệp không được nhập. "
    "Hãy mở và lưu lại bằng Excel."
)


def _read_xlsx(data: bytes, limits: Limits, header: HeaderFinder | None, sink: RowSink | None) -> Sheet:
    check_xlsx(data, limits)  # the container first: nothing is inflated or parsed before it passes
    import openpyxl

    if not openpyxl.DEFUSEDXML:  # without defusedxml an XML entity in the file could expand to gigabytes
        raise TemplateError(gettext("Máy chủ thiếu hoặc đang tắt defusedxml nên không đọc tệp XLSX một cách an toàn "
                                    "được: hãy báo quản trị viên, hoặc nhập tệp .csv."))
    try:
        # read_only streams each sheet's XML; data_only gives a formula's stored value, never evaluates it
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) for a damaged file
        raise _unreadable(exc) from exc
    try:
        anything = False
        for worksheet in workbook.worksheets:
            _check_dimension(worksheet, limits)
            found, filled = _table(_xlsx_rows(workbook, worksheet), limits, worksheet.title, header, sink)
            anything = anything or filled
            if found:
                return found
    except TemplateError:
        raise
    except Exception as exc:  # a damaged sheet: bad XML, a cell reference that is not one…
        raise _unreadable(exc) from exc
    finally:
        workbook.close()
    if anything:
        raise NoHeader(str(NO_HEADER))
    raise TemplateError(str(EMPTY))


def _unreadable(exc: BaseException) -> TemplateError:
    """The refusal of a workbook openpyxl could not read: entity declarations said as such, the rest as damage."""
    from defusedxml import DefusedXmlException

    seen = exc
    while seen is not None:  # openpyxl wraps what defusedxml raised in a ValueError of its own
        if isinstance(seen, DefusedXmlException):
            return TemplateError(str(XML_ENTITIES), field="file")
        seen = seen.__cause__ or seen.__context__
    return TemplateError(str(UNREADABLE_XLSX), field="file")


def _check_dimension(worksheet, limits: Limits) -> None:
    """LimitExceeded when a sheet says its cells span more rows or columns than the limits."""
    rows, columns = worksheet.max_row or 0, worksheet.max_column or 0
    if rows > limits.rows or columns > limits.columns:
        raise LimitExceeded(gettext(
            "Trang tính “%(sheet)s” khai báo vùng dữ liệu %(rows)s dòng × %(columns)s cột, vượt giới hạn "
            "%(max_rows)s dòng × %(max_columns)s cột. Hãy xóa các dòng, cột thừa (kể cả ô trống có định dạng) "
            "rồi lưu lại.", sheet=worksheet.title[:100], rows=rows, columns=columns, max_rows=limits.rows,
            max_columns=limits.columns), field="file")


def _xlsx_rows(workbook, worksheet) -> Iterator[tuple[int, Cells]]:
    """A read-only sheet's rows as they are in its XML: (row number, filled cells), nothing padded.

    openpyxl's own iter_rows fills every gap with empty rows and every row to the widest column, which is
    what turned two cells at A1 and XFD1048576 into gigabytes; its row parser, used here, does not.
    """
    from openpyxl.worksheet._reader import WorkSheetParser

    with worksheet._get_source() as source:
        parser = WorkSheetParser(source, worksheet._shared_strings, data_only=True, epoch=workbook.epoch,
                                 date_formats=workbook._date_formats, timedelta_formats=workbook._timedelta_formats)
        for number, cells in parser.parse():
            yield number, [(cell["column"], cell["value"]) for cell in cells if cell["value"] not in (None, "")]


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, Cells]]:
    for number, fields in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
        yield number, [(position, value) for position, value in enumerate(fields, start=1) if value]


def _read_csv(data: bytes, limits: Limits, header: HeaderFinder | None, sink: RowSink | None) -> Sheet:
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
            found, _filled = _table(_csv_rows(text, delimiter), limits, None, header, sink)
        except csv.Error as exc:
            raise TemplateError(gettext("Không đọc được tệp CSV: %(exc)s.", exc=exc)) from exc
        if found:
            return found
    raise NoHeader(str(NO_HEADER))


def read_sheet(data: bytes, filename: str, *, limits: Limits | None = None, header: HeaderFinder | None = None,
               sink: RowSink | None = None) -> Sheet:
    """The header and rows of an appendix file; TemplateError (LimitExceeded past the limits) when it is not one.

    Other tables read the same way (the one-stop system's dossiers, monitor/surveys/frame.py) pass their own
    limits, header finder (NoHeader when no row is one) and row sink.
    """
    fmt = format_for(filename)
    limits = limits or LIMITS  # read at each call, not bound once at import: the tests lower it
    if not data:
        raise TemplateError(gettext("Tệp rỗng."))
    check_file_size(len(data), limits)
    zipped = is_zip(data)
    if fmt == "csv" and zipped:
        raise TemplateError(gettext("Tệp này là bảng tính XLSX nhưng có đuôi .csv: hãy đổi đuôi thành .xlsx."))
    if fmt == "xlsx":
        return _read_xlsx(data, limits, header, sink)
    return _read_csv(data, limits, header, sink)
