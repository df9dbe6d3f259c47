"""The surveys' results as an Excel workbook: the levels and province with each SIPAS element, the units (league
order), the anonymous comments and the trend. Every cell is neutralised (registry.cells): never a formula."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from monitor.reports import wording
from monitor.surveys.render import SHARE_KEYS, UNIT_COLUMNS, element_rows, level_rows, unit_rows
from monitor.surveys.results import LEVELS, Results
from registry.cells import neutralise

PERCENT = "0.0%"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")


def _put(sheet, row: int, col: int, value, fmt: str | None = None):
    cell = sheet.cell(row=row, column=col, value=neutralise(value))
    if fmt and value is not None:
        cell.number_format = fmt
    return cell


def _header(sheet, row: int, headings) -> None:
    for col, label in enumerate(headings, start=1):
        cell = _put(sheet, row, col, str(label))
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")


def _table(sheet, top: int, columns, rows) -> int:
    _header(sheet, top, [label for _, label in columns])
    for r, row in enumerate(rows, start=top + 1):
        for c, (key, _) in enumerate(columns, start=1):
            _put(sheet, r, c, row.get(key), PERCENT if key in SHARE_KEYS else None)
    for c, (key, label) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = 40 if key == "name" else max(10, min(18, len(label) // 2 + 4))
    sheet.row_dimensions[top].height = 48
    return top + len(rows) + 1


def workbook(results: Results) -> bytes:
    book = Workbook()
    summary = book.active
    summary.title = "Tổng hợp"
    _put(summary, 1, 1, wording.AUTHORITY + " – " + wording.OFFICE)
    _put(summary, 2, 1, "KẾT QUẢ KHẢO SÁT MỨC ĐỘ HÀI LÒNG (1022)").font = TITLE
    _put(summary, 3, 1, f"Hồ sơ trả kết quả từ {results.start:%d/%m/%Y} đến {results.end:%d/%m/%Y}")
    row = _table(summary, 5, UNIT_COLUMNS[2:], level_rows(results)) + 1
    _put(summary, row, 1, "Toàn tỉnh theo yếu tố SIPAS").font = BOLD
    _header(summary, row + 1, ["Yếu tố", "Số ý kiến", "Hài lòng (4–5)", "Khoảng tin cậy 95%: thấp",
                               "Khoảng tin cậy 95%: cao", "Không hài lòng (1–2)", "Điểm trung bình"])
    for r, e in enumerate(element_rows(results.province), start=row + 2):
        for c, (value, fmt) in enumerate([(f"{e['element']}. {e['label']}", None), (e["n"], None),
                                          (e["share"], PERCENT), (e["low"], PERCENT), (e["high"], PERCENT),
                                          (e["dissatisfied"], PERCENT), (e["mean"], "0.00")], start=1):
            _put(summary, r, c, value, fmt)
    units = book.create_sheet("Đơn vị")
    _table(units, 1, UNIT_COLUMNS, unit_rows(results))
    units.freeze_panes = "D2"
    comments = book.create_sheet("Ý kiến")
    _header(comments, 1, ["Đơn vị", "Cấp", "Ý kiến (ẩn danh)"])
    for r, c in enumerate(results.comments, start=2):
        _put(comments, r, 1, c["unit"])
        _put(comments, r, 2, str(LEVELS.get(c["level"], c["level"])))
        _put(comments, r, 3, c["text"]).alignment = Alignment(wrap_text=True, vertical="top")
    comments.column_dimensions["A"].width, comments.column_dimensions["C"].width = 40, 90
    trend = book.create_sheet("Xu hướng")
    _header(trend, 1, ["Tháng", "Số phiếu", "Hoàn thành", "Hài lòng chung", "Tỷ lệ trả lời RR1"])
    for r, t in enumerate(results.trend, start=2):
        for c, (value, fmt) in enumerate([(t["label"], None), (t["cases"], None), (t["completes"], None),
                                          (t["satisfied"], PERCENT), (t["RR1"], PERCENT)], start=1):
            _put(trend, r, c, value, fmt)
    book.properties.title = "Kết quả khảo sát mức độ hài lòng (1022)"
    book.properties.creator = wording.AUTHORITY + " – " + wording.OFFICE
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_sheet(sheet, results: Results | None, top: int = 0) -> None:
    """The monthly official report's sheet of the survey: one row per unit (league order), then the levels."""
    _put(sheet, top + 1, 1, "Khảo sát mức độ hài lòng (1022): hồ sơ trả kết quả trong kỳ").font = BOLD
    if results is None or not results.province.cases:
        _put(sheet, top + 2, 1, "Trong kỳ chưa có kết quả khảo sát.")
        return
    row = _table(sheet, top + 2, UNIT_COLUMNS, unit_rows(results)) + 1
    _table(sheet, row, UNIT_COLUMNS[2:], level_rows(results))
