"""Writing the appendix: every group in order with its current units, as XLSX or CSV (UTF-8 with BOM)."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from flask_babel import gettext

from registry.appendix.layout import (
    COLUMNS,
    DEMO_NOTE,
    HEADER_ROW,
    ORDER,
    SHARED_NOTE,
    TITLE,
    TemplateError,
    format_for,
)
from registry.cells import neutralise
from registry.clock import local_today_iso, to_local, utcnow
from registry.groups import list_groups
from registry.hotlines import HOURS, written_number
from registry.units import list_units


def sections(db, *, include_historical: bool = False, on: str | None = None) -> list[tuple[dict, list[dict]]]:
    """Every group in order with its units (current ones unless include_historical), as the appendix lists them.

    `on` is the local date "current" refers to (default: today's), the date the file's heading shows.
    """
    units = list_units(db, current_only=not include_historical, on=on)
    return [(g, [u for u in units if u["group_code"] == g["code"]]) for g in list_groups(db)]


def note_for(unit: dict) -> str:
    """The GHI CHÚ cell of a unit: its hours, a shared number's note, the demo mark."""
    if not unit.get("number"):
        return "Chưa đăng ký số"
    parts = [HOURS[unit["hours"]]]
    if unit.get("shared"):
        parts.append(f"{SHARED_NOTE}: {unit['shared_note']}" if unit.get("shared_note") else SHARED_NOTE)
    if unit.get("is_demo"):
        parts.append(DEMO_NOTE)
    return "; ".join(parts)


def table_rows(db, *, include_historical: bool = False, on: str | None = None) -> list[tuple[str, list[str]]]:
    """The body as (kind, cells) with kind 'section' or 'unit', cells in ORDER."""
    out = []
    for group, units in sections(db, include_historical=include_historical, on=on):
        out.append(("section", [group["code"], group["name"].upper(), "", "", ""]))
        for index, unit in enumerate(units, start=1):
            # The number with its extension ("0277 3851 555 máy lẻ 12"), as an import reads it back.
            out.append(("unit", [str(index), unit["name"], written_number(unit), note_for(unit), unit["code"]]))
    return out


def _date_line(now: datetime) -> str:
    day = to_local(now)
    return f"(Cập nhật đến ngày {day:%d} tháng {day:%m} năm {day:%Y})"


def export_csv(db, *, now: datetime | None = None, include_historical: bool = False) -> bytes:
    """The appendix as CSV, UTF-8 with BOM."""
    now = now or utcnow()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([TITLE, "", "", "", ""])
    writer.writerow([_date_line(now), "", "", "", ""])
    writer.writerow([])
    writer.writerow([COLUMNS[key] for key in ORDER])
    for _kind, cells in table_rows(db, include_historical=include_historical, on=local_today_iso(now)):
        writer.writerow([neutralise(c) for c in cells])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(db, *, now: datetime | None = None, include_historical: bool = False) -> bytes:
    """The appendix as a neat XLSX: bold centred headers, borders, widths, A4 landscape, header repeated."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.properties import PageSetupProperties

    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục"
    wb.properties.title = TITLE
    wb.properties.creator = "Hệ thống giám sát đường dây nóng tỉnh Đồng Tháp"
    last = chr(ord("A") + len(ORDER) - 1)
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(vertical="top", wrap_text=True)

    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = TITLE
    ws["A1"].font = Font(bold=True, size=13)
    ws["A1"].alignment = centre
    ws.row_dimensions[1].height = 36
    ws.merge_cells(f"A2:{last}2")
    now = now or utcnow()
    ws["A2"] = _date_line(now)
    ws["A2"].font = Font(italic=True)
    ws["A2"].alignment = centre

    for col, key in enumerate(ORDER, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=COLUMNS[key])
        cell.font = Font(bold=True)
        cell.alignment = centre
        cell.border = border
        cell.fill = PatternFill("solid", fgColor="E7E9EE")
    ws.row_dimensions[HEADER_ROW].height = 32

    row = HEADER_ROW
    for kind, cells in table_rows(db, include_historical=include_historical, on=local_today_iso(now)):
        row += 1
        for col, value in enumerate(cells, start=1):
            cell = ws.cell(row=row, column=col, value=value)
            cell.data_type = "s"  # text, always: a name starting with "=" must never become a formula
            cell.border = border
            cell.alignment = centre if col == 1 else wrap
            if kind == "section":
                cell.font = Font(bold=True)
                cell.fill = PatternFill("solid", fgColor="F3ECEC")

    for letter, width in zip("ABCDE", (6, 52, 24, 36, 16)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.oddFooter.center.text = "Trang &P / &N"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export_bytes(db, fmt: str, *, now: datetime | None = None, include_historical: bool = False) -> bytes:
    """The appendix in 'xlsx' or 'csv'."""
    if fmt == "xlsx":
        return export_xlsx(db, now=now, include_historical=include_historical)
    if fmt == "csv":
        return export_csv(db, now=now, include_historical=include_historical)
    raise TemplateError(gettext("Định dạng “%(fmt)s” không được hỗ trợ: chỉ xlsx hoặc csv.", fmt=fmt))


def export_file(db, path: str | Path, *, now: datetime | None = None, include_historical: bool = False) -> str:
    """Write the appendix to path, the format chosen by its extension; returns the format."""
    fmt = format_for(str(path))
    Path(path).write_bytes(export_bytes(db, fmt, now=now, include_historical=include_historical))
    return fmt
