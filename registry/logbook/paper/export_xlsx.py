"""The unit's book for a period as an XLSX in the paper form: heading, table, signature block, A4 landscape."""
from __future__ import annotations

import io
from datetime import datetime

from registry.cells import neutralise
from registry.logbook.paper.book import Book, period_line, place_date
from registry.logbook.paper.layout import COLUMNS, SIGN_HINT, SIGN_HINT_HEAD, SIGNERS, TITLE, UNIT_CODE_LABEL

HEADER_ROW = 7  # unit and motto (2 rows), blank, title, period, blank, header
WIDTHS = (5, 16, 15, 12, 22, 18, 42, 16, 16, 11, 36, 11, 22)


def to_xlsx(book: Book, now: datetime) -> bytes:
    """The book as XLSX bytes, every cell text and neutralised (no formula can run when the file is opened)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    wb = Workbook()
    ws = wb.active
    ws.title = "Sổ theo dõi"
    wb.properties.title = f"{TITLE} – {book.unit['name']}"
    last = get_column_letter(len(COLUMNS))
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(vertical="top", wrap_text=True)
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)

    def line(row: int, first: str, end: str, text: str, **font) -> None:
        ws.merge_cells(f"{first}{row}:{end}{row}")
        cell = ws[f"{first}{row}"]
        cell.value = neutralise(text)
        cell.data_type = "s"
        cell.font = Font(**font)
        cell.alignment = centre

    line(1, "A", "F", book.unit["name"].upper(), bold=True)
    line(1, "G", last, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True)
    line(2, "A", "F", f"{UNIT_CODE_LABEL} {book.unit['code']}")
    line(2, "G", last, "Độc lập - Tự do - Hạnh phúc", bold=True)
    line(4, "A", last, TITLE, bold=True, size=13)
    line(5, "A", last, period_line(book.start, book.end), italic=True)
    ws.row_dimensions[4].height = 30

    for col, (_key, title) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=title)
        cell.font = Font(bold=True)
        cell.alignment = centre
        cell.border = border
        cell.fill = PatternFill("solid", fgColor="E7E9EE")
    row = HEADER_ROW
    for values in book.rows:
        row += 1
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=row, column=col, value=neutralise(value))
            cell.data_type = "s"  # text, always: content typed by people never becomes a formula
            cell.border = border
            cell.alignment = centre if col == 1 else wrap

    row += 2
    half = len(COLUMNS) // 2
    line(row, get_column_letter(half + 2), last, f"…, {place_date(now)}", italic=True)
    for offset, text, bold in ((1, SIGNERS, True), (2, (SIGN_HINT, SIGN_HINT_HEAD), False)):
        line(row + offset, "A", get_column_letter(half), text[0], bold=bold, italic=not bold)
        line(row + offset, get_column_letter(half + 2), last, text[1], bold=bold, italic=not bold)

    for col, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "Trang &P / &N"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
