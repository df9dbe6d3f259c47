"""The official report as an Excel workbook: summary, league table, failing units, the evidence (every call
of the failing and contested units), one sheet per group. A period with simulated calls says so in the
first row of every sheet and in its printed header and footer.

Every cell is written through _cell: text that a spreadsheet would read as a formula (a unit named "=…",
a transcript starting with "-") gets a leading apostrophe and is never a formula; numbers stay numbers.

The sheets' own headings and facts are the spreadsheet's fixed Vietnamese layout; the league columns,
labels and recommendations come from wording.py and labels.py in the locale the export is rendered in.
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from monitor import labels
from monitor.attempts.outcomes import FAILURES
from monitor.reports import tables, wording
from monitor.reports.tally import FAST_SECONDS
from monitor.scheduling.bands import BANDS, LOCAL
from monitor.surveys.render_xlsx import report_sheet
from registry.cells import neutralise

PERCENT = "0.0%"
SECONDS = "0.0"
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
THIN = Side(style="thin", color="9AA8B6")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
NOTICE_FONT = Font(bold=True, color="B00000", size=12)
NOTICE_FILL = PatternFill("solid", fgColor="FDE2E2")
EVIDENCE_SHEET = "Bằng chứng"
WIDTHS = {"name": 42, "number": 16, "hours": 15, "code": 12, "status": 14, "number_changed": 14}


def _cell(sheet, row: int, column: int, value=None):
    """The sheet's cell holding this value, neutralised (registry.cells): never a formula."""
    return sheet.cell(row=row, column=column, value=neutralise(value))


def _header(sheet, row: int, headings: list) -> None:
    for col, label in enumerate(headings, start=1):
        cell = _cell(sheet, row, col, str(label))
        cell.font, cell.fill, cell.border = BOLD, HEADER_FILL, BOX
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")


def _put(sheet, row: int, col: int, value, fmt: str | None = None, *, boxed: bool = True):
    cell = _cell(sheet, row, col, value)
    if boxed:
        cell.border = BOX
    if fmt:
        cell.number_format = fmt
    return cell


def _league_sheet(sheet, rows: list[dict], top: int = 0) -> None:
    columns = tables.LEAGUE_COLUMNS
    yes, no = wording.yes_no(True), wording.yes_no(False)
    _header(sheet, top + 1, [label for _, label in columns])
    for r, row in enumerate(rows, start=top + 2):
        for c, (key, _) in enumerate(columns, start=1):
            value = row[key]
            if isinstance(value, bool):
                value = yes if value else no
            fmt = PERCENT if key in tables.RATE_COLUMNS else SECONDS if key in ("median_seconds", "p90_seconds") else None
            if key == "change" and value is not None:
                value, fmt = value / 100, '+0.0%;-0.0%;0.0%'
            # No cell borders here: styling each of a large province's many thousand cells costs seconds in
            # openpyxl, and the frozen header with a filter reads well without them.
            _put(sheet, r, c, value, fmt, boxed=False)
    for c, (key, label) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = WIDTHS.get(key, max(10, min(18, len(str(label)) // 2 + 4)))
    sheet.row_dimensions[top + 1].height = 48
    sheet.freeze_panes = f"E{top + 2}"
    sheet.auto_filter.ref = f"A{top + 1}:{get_column_letter(len(columns))}{top + max(len(rows) + 1, 2)}"


def _summary_sheet(sheet, report, top: int = 0) -> None:
    m = tables.method(report)
    _cell(sheet, top + 1, 1, wording.AUTHORITY + " – " + wording.OFFICE)
    _cell(sheet, top + 2, 1, "BÁO CÁO " + report.title).font = TITLE
    _cell(sheet, top + 3, 1,
          f"Kỳ báo cáo: {report.period.range_label}; kỳ so sánh: {report.previous.range_label}")
    _cell(sheet, top + 4, 1, f"Lập lúc: {report.generated_at.astimezone(LOCAL):%H:%M ngày %d/%m/%Y}")
    facts = [
        ("Số cơ quan, đơn vị, địa phương", m["units"], None),
        ("Đã được gọi kiểm tra", m["units_tested"], None),
        ("Cuộc gọi kiểm tra đã thực hiện", m["tests_made"], None),
        ("Cuộc gọi được tính", m["tests_counted"], None),
        ("  trong đó do thanh tra viên gọi trực tiếp", m["manual_tests"], None),
        ("Cuộc gọi lại để xác nhận (không tính là lần kiểm tra)", m["retests"], None),
        ("Loại trừ: lỗi phía hệ thống gọi / nhà mạng", m["excluded"]["provider_error"], None),
        ("Loại trừ: giải trình của đơn vị được chấp nhận", m["excluded"]["dispute_accepted"], None),
        ("Cuộc gọi ngoài giờ đến đường dây trực giờ hành chính (thống kê riêng)", m["out_of_hours_tests"], None),
        ("Tỷ lệ có người nghe máy", report.total.answer_rate, PERCENT),
        (f"Nghe máy trong {FAST_SECONDS} giây", report.total.fast_rate, PERCENT),
        ("Trung vị số giây đến khi nghe máy", report.total.median_seconds, SECONDS),
        ("Phân vị 90 số giây đến khi nghe máy", report.total.p90_seconds, SECONDS),
        ("Lỗi đã được cuộc gọi lại xác nhận", report.total.confirmed, None),
        ("Đơn vị chưa đạt yêu cầu", len(report.failing), None),
        ("Mức tỷ lệ có người nghe tối thiểu", m["min_answer_rate"], PERCENT),
    ]
    row = top + 6
    _header(sheet, row, ["Chỉ tiêu", "Giá trị"])
    for label, value, fmt in facts:
        row += 1
        _put(sheet, row, 1, label)
        _put(sheet, row, 2, value, fmt)

    row += 2
    _cell(sheet, row, 1, "Kết quả theo nhóm").font = BOLD
    row += 1
    headings = ["Nhóm", "Tên nhóm", "Số đơn vị", "Đã kiểm tra", "Cuộc gọi được tính", "Có người nghe",
              "Tỷ lệ có người nghe", "Kỳ trước", "Thay đổi", f"Nghe trong {FAST_SECONDS} giây",
              "Trung vị (giây)", "Phân vị 90 (giây)", *[labels.outcome(c) for c in FAILURES], "Lỗi đã xác nhận",
              "Đơn vị chưa đạt"]
    _header(sheet, row, headings)
    for g in tables.group_rows(report):
        row += 1
        values = [(g["label"], None), (g["name"], None), (g["units"], None), (g["tested"], None),
                  (g["tests_counted"], None), (g["answered"], None), (g["answer_rate"], PERCENT),
                  (g["previous_answer_rate"], PERCENT), (g["change"], '+0.0%;-0.0%;0.0%'), (g["fast_rate"], PERCENT),
                  (g["median_seconds"], SECONDS), (g["p90_seconds"], SECONDS),
                  *[(g[c], None) for c in FAILURES], (g["confirmed_failures"], None), (g["failing_units"], None)]
        for col, (value, fmt) in enumerate(values, start=1):
            cell = _put(sheet, row, col, value, fmt)
            if g["total"]:
                cell.font = BOLD

    row += 2
    _cell(sheet, row, 1, "Tỷ lệ có người nghe máy theo khung giờ").font = BOLD
    row += 1
    _header(sheet, row, ["Khung giờ", "Cuộc gọi được tính", "Có người nghe", "Tỷ lệ"])
    for band in BANDS:
        row += 1
        info = m["bands"][band]
        for col, (value, fmt) in enumerate(
            [(labels.band(band), None), (info["tests"], None), (info["answered"], None), (info["rate"], PERCENT)], 1
        ):
            _put(sheet, row, col, value, fmt)

    row += 2
    _cell(sheet, row, 1, "Đề xuất, kiến nghị").font = BOLD
    for i, text in enumerate(report.recommendations, start=1):
        row += 1
        cell = _cell(sheet, row, 1, f"{i}. {text}")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=8)
        sheet.row_dimensions[row].height = 15 * max(1, len(text) // 120 + 1)
    sheet.column_dimensions["A"].width = 58
    sheet.column_dimensions["B"].width = 16
    for col in range(3, len(headings) + 1):
        sheet.column_dimensions[get_column_letter(col)].width = 13


def _failing_sheet(sheet, report, top: int = 0) -> None:
    headings = ["STT", "Nhóm", "Mã", "Tên đơn vị", "Số đường dây nóng", "Cuộc gọi được tính", "Có người nghe",
              "Tỷ lệ có người nghe", "Lỗi đã xác nhận", "Chuỗi lỗi dài nhất", "Lý do chưa đạt",
              "Bằng chứng: các lần không đạt (mã cuộc gọi, thời điểm, kết quả, cuộc gọi lại); mọi cuộc gọi ở trang "
              f"“{EVIDENCE_SHEET}”"]
    _header(sheet, top + 1, headings)
    for i, row in enumerate(tables.failing_rows(report), start=1):
        evidence = "\n".join(
            f"#{e['attempt']} {e['time']} {e['date']} ({e['band_label']}): {e['outcome_label']}"
            + (f", SIP {e['sip_code']}" if e["sip_code"] else "")
            + (f"; gọi lại {tables.retest_text(e)}" if e["retest_attempt"] else "")
            for e in row["evidence"] if e["outcome"] != "answered"
        )
        values = [(i, None), (row["group"], None), (row["code"], None), (row["name"], None), (row["number"], None),
                  (row["tests_counted"], None), (row["answered"], None), (row["answer_rate"], PERCENT),
                  (row["confirmed_failures"], None), (row["longest_run"], None), ("; ".join(row["reasons"]), None),
                  (evidence, None)]
        for col, (value, fmt) in enumerate(values, start=1):
            cell = _put(sheet, top + i + 1, col, value, fmt)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for col, width in enumerate([6, 7, 12, 40, 16, 12, 12, 12, 12, 12, 40, 60], start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.row_dimensions[top + 1].height = 32
    sheet.freeze_panes = f"E{top + 2}"
    if not report.failing:
        _cell(sheet, top + 2, 1, "Không có đơn vị nào chưa đạt yêu cầu trong kỳ.")


def _evidence_sheet(sheet, report, top: int = 0) -> None:
    """Every call cited for the failing and contested units, one row each (the PDF annex as a table)."""
    columns = tables.EVIDENCE_COLUMNS
    _header(sheet, top + 1, [label for _, label in columns])
    rows = tables.evidence_table(report)
    # Plain cells: a province's evidence runs to tens of thousands of rows, and styling each cell in openpyxl
    # costs more than writing it.
    for r, row in enumerate(rows, start=top + 2):
        for c, (key, _) in enumerate(columns, start=1):
            _cell(sheet, r, c, row[key])
    seconds_col = get_column_letter([key for key, _ in columns].index("answer_seconds") + 1)
    for r in range(top + 2, top + 2 + len(rows)):
        sheet[f"{seconds_col}{r}"].number_format = SECONDS
    for c, width in enumerate([12, 11, 16, 11, 7, 14, 18, 22, 12, 40, 40, 40], start=1):
        sheet.column_dimensions[get_column_letter(c)].width = width
    sheet.row_dimensions[top + 1].height = 32
    sheet.freeze_panes = f"C{top + 2}"
    sheet.auto_filter.ref = f"A{top + 1}:{get_column_letter(len(columns))}{top + max(len(rows) + 1, 2)}"
    if not rows:
        _cell(sheet, top + 2, 1, "Không có đơn vị nào chưa đạt yêu cầu hoặc có giải trình trong kỳ.")


def _mark_simulated(sheet) -> None:
    """The notice in the first row and in the printed header and footer of the sheet."""
    cell = _cell(sheet, 1, 1, tables.SIMULATED_NOTICE)
    cell.font, cell.fill = NOTICE_FONT, NOTICE_FILL
    for part in (sheet.oddHeader, sheet.evenHeader, sheet.firstHeader, sheet.oddFooter, sheet.evenFooter,
                 sheet.firstFooter):
        part.center.text = tables.SIMULATED_NOTICE


def to_xlsx(report) -> bytes:
    """The workbook's bytes: the summary first, then the league, the failing units and each group's league."""
    book = Workbook()
    top = 1 if report.simulated else 0  # the simulated notice takes the first row of every sheet
    _summary_sheet(book.active, report, top)
    book.active.title = "Tổng hợp"
    rows = tables.league_rows(report)
    _league_sheet(book.create_sheet("Xếp hạng"), rows, top)
    _failing_sheet(book.create_sheet("Chưa đạt"), report, top)
    _evidence_sheet(book.create_sheet(EVIDENCE_SHEET), report, top)
    for g in report.metrics.groups:
        _league_sheet(book.create_sheet(f"Nhóm {g.code}"[:31]), [r for r in rows if r["group"] == g.code], top)
    report_sheet(book.create_sheet("Khảo sát 1022"), report.surveys, top)  # the 1022 survey's figures per unit
    if report.simulated:
        for sheet in book.worksheets:
            _mark_simulated(sheet)
    book.properties.title = "BÁO CÁO " + report.title
    book.properties.creator = wording.AUTHORITY + " – " + wording.OFFICE
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
