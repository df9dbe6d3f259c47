"""The monthly province-wide summary of the logbooks: per unit, what was received, answered on time or late, what
is overdue and still open, what was transferred more than once, and the reports by field; as JSON, CSV, XLSX, PDF.

Figures are counted on the copy each unit holds: "received" is the entries received at the unit in the month
(transfers in included), "answered on time" the ones answered on the spot or on or before their deadline (local date; an entry answered on
the spot may be written in the book later, which is not lateness), "overdue
open" the unit's entries still open and past their deadline on the month's last day (today for the current month,
registry.logbook.deadlines.overdue_count), "transferred more than once" the entries the unit received first that
moved more than once (registry.logbook.transfers.transfer_counts).
"""
from __future__ import annotations

import csv
import io
import json
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext

from registry import letterhead
from registry.cells import neutralise
from registry.clock import LOCAL, iso, local_midnight_utc, local_today
from registry.errors import RegistryError
from registry.logbook.deadlines import overdue_count
from registry.logbook.transfers import transfer_counts
from registry.units import list_units

FORMATS = ("json", "csv", "xlsx", "pdf")
# (key, column title) of every format's table, in order.
COLUMNS = (("code", "Mã đơn vị"), ("name", "Tên đơn vị"), ("received", "Tiếp nhận"),
           ("answered_on_time", "Trả lời đúng hạn"), ("answered_late", "Trả lời quá hạn"),
           ("overdue_open", "Quá hạn chưa trả lời"), ("transferred_twice", "Chuyển quá một lần"))
TITLE = "TỔNG HỢP TÌNH HÌNH TIẾP NHẬN, XỬ LÝ PHẢN ÁNH QUA ĐƯỜNG DÂY NÓNG"


@dataclass
class Summary:
    """One month's summary: its local bounds, the fields in order, one row per current unit, the province's totals."""

    year: int
    month: int
    start: date
    end: date
    generated_at: datetime
    fields: list[dict]
    rows: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return gettext("Tháng %(month)02d/%(year)d", month=self.month, year=self.year)


def parse_month(text: str) -> tuple[int, int]:
    """(year, month) from 'YYYY-MM' or 'MM/YYYY'; RegistryError otherwise."""
    text = (text or "").strip()
    try:
        year, month = (int(p) for p in text.split("-")) if "-" in text else reversed([int(p) for p in text.split("/")])
        date(year, month, 1)
    except ValueError:
        raise RegistryError(gettext("Tháng “%(text)s” không hợp lệ: viết theo dạng NNNN-TT, ví dụ 2026-11.",
                                    text=text[:20]), field="month") from None
    if not 2000 <= year <= 2100:
        raise RegistryError(gettext("Năm phải trong khoảng 2000–2100."), field="month")
    return year, month


def _local_day(column: str) -> str:
    offset = LOCAL.utcoffset(datetime(2000, 1, 1))  # UTC+7 all year since 1975: one date() modifier is exact
    return f"date({column}, '{int(offset.total_seconds() // 60):+d} minutes')"


def monthly(db, year: int, month: int, *, now: datetime) -> Summary:
    """The summary of a month: three grouped queries and the deadlines' and transfers' own counts."""
    start, end = date(year, month, 1), date(year, month, monthrange(year, month)[1])
    low, high = iso(local_midnight_utc(start)), iso(local_midnight_utc(date.fromordinal(end.toordinal() + 1)))
    fields = [dict(zip(("code", "name"), r)) for r in
              db.execute("SELECT code, name FROM logbook_fields ORDER BY sort_order, code").fetchall()]
    counts = {unit: (received, on_time, late) for unit, received, on_time, late in db.execute(
        f"""SELECT unit_id, count(*),
                   sum(answered_at IS NOT NULL AND (level = 'on_spot' OR deadline IS NULL
                                                    OR {_local_day('answered_at')} <= deadline)),
                   sum(answered_at IS NOT NULL AND level != 'on_spot' AND deadline IS NOT NULL
                       AND {_local_day('answered_at')} > deadline)
            FROM logbook_entries WHERE received_at >= ? AND received_at < ? GROUP BY unit_id""", [low, high])}
    by_field: dict[int, dict[str, int]] = {}
    for unit, code, count in db.execute(
            "SELECT unit_id, coalesce(field_code, ''), count(*) FROM logbook_entries WHERE received_at >= ? "
            "AND received_at < ? GROUP BY unit_id, field_code", [low, high]):
        by_field.setdefault(unit, {})[code] = count
    overdue = overdue_count(db, today=min(end, local_today(now)))
    moved = transfer_counts(db, start, end)
    summary = Summary(year=year, month=month, start=start, end=end, generated_at=now, fields=fields)
    for unit in list_units(db, current_only=True, on=end.isoformat()):
        received, on_time, late = counts.get(unit["id"], (0, 0, 0))
        summary.rows.append({"code": unit["code"], "name": unit["name"], "group": unit["group_code"],
                             "received": received, "answered_on_time": on_time or 0, "answered_late": late or 0,
                             "overdue_open": overdue.get(unit["id"], 0), "transferred_twice": moved.get(unit["id"], 0),
                             "by_field": by_field.get(unit["id"], {})})
    summary.totals = {key: sum(r[key] for r in summary.rows) for key, _title in COLUMNS[2:]}
    summary.totals["by_field"] = {f["code"]: sum(r["by_field"].get(f["code"], 0) for r in summary.rows)
                                  for f in fields}
    return summary


def _table(summary: Summary) -> tuple[list[str], list[list]]:
    """The header and rows every tabular format writes: the columns, then one column per field."""
    header = [title for _key, title in COLUMNS] + [f["name"] for f in summary.fields]
    rows = [[r[key] for key, _title in COLUMNS] + [r["by_field"].get(f["code"], 0) for f in summary.fields]
            for r in summary.rows]
    rows.append(["", "Toàn tỉnh"] + [summary.totals[key] for key, _title in COLUMNS[2:]]
                + [summary.totals["by_field"][f["code"]] for f in summary.fields])
    return header, rows


def to_json(summary: Summary) -> bytes:
    """Machine-readable: codes stay codes, text stays raw."""
    return json.dumps({"year": summary.year, "month": summary.month, "start": summary.start.isoformat(),
                       "end": summary.end.isoformat(), "generated_at": iso(summary.generated_at),
                       "fields": summary.fields, "units": summary.rows, "totals": summary.totals},
                      ensure_ascii=False, indent=1).encode("utf-8")


def to_csv(summary: Summary) -> bytes:
    """UTF-8 with BOM (Excel opens it in Vietnamese), every text cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header, rows = _table(summary)
    writer.writerow(header)
    writer.writerows([[neutralise(c) for c in row] for row in rows])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(summary: Summary) -> bytes:
    """A titled sheet: bold header, numbers as numbers, text as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = summary.label.replace("/", "-")
    ws.append([TITLE])
    ws.append([summary.label])
    ws.append([])
    header, rows = _table(summary)
    ws.append(header)
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([neutralise(c) for c in row])
    for letter, width in (("A", 12), ("B", 40)):
        ws.column_dimensions[letter].width = width
    ws["A1"].font = Font(bold=True, size=13)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_pdf(summary: Summary) -> bytes:
    """A4 landscape in the official documents' letterhead and stylesheet."""
    from registry.logbook.paper.export_pdf import render_pdf

    header, rows = _table(summary)
    return render_pdf("summary.html", title=TITLE, summary=summary, header=header, rows=rows,
                      authority=letterhead.AUTHORITY, office=letterhead.OFFICE,
                      place_date=letterhead.place_date(summary.generated_at))


def render(summary: Summary, fmt: str) -> bytes:
    """The summary in one of FORMATS."""
    writers = {"json": to_json, "csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}
    if fmt not in writers:
        raise RegistryError(gettext("Định dạng “%(fmt)s” không được hỗ trợ: chỉ %(formats)s.", fmt=fmt[:10],
                                    formats=", ".join(FORMATS)), field="format")
    return writers[fmt](summary)
