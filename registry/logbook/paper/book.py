"""A unit's book for a period as the paper form's rows: the entries read once, each turned into its cells."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext

from registry.clock import local_day_bounds, parse_iso, to_local
from registry.errors import RegistryError
from registry.logbook.paper.layout import CHANNELS, DOSSIER_LABEL, KEYS, LEVELS, STATES, reporter_cell, vietnamese

# A period's book is printed and signed: a year of a busy unit is a few thousand rows. Beyond this the export
# is refused with a message to choose a shorter period, rather than a file nobody can print.
MAX_ROWS = 50_000


@dataclass
class Book:
    """One unit's book for a period: the unit (id, code, name), the period's local dates, the rows' cells."""

    unit: dict
    start: date
    end: date
    rows: list[list[str]]


def _local(text: str | None, fmt: str) -> str:
    return to_local(parse_iso(text)).strftime(fmt) if text else ""


def parse_day(text: str, field: str) -> date:
    """A local date written YYYY-MM-DD or dd/mm/yyyy, between 2000 and 2100; RegistryError naming the field."""
    text = (text or "").strip()
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            found = date(year, month, day)
        else:
            found = date.fromisoformat(text)
    except ValueError:
        raise RegistryError(gettext("Ngày “%(text)s” không hợp lệ: viết theo dạng NNNN-TT-NN hoặc ngày/tháng/năm, "
                                    "ví dụ 2026-11-01.", text=text[:40]), field=field) from None
    if not 2000 <= found.year <= 2100:
        raise RegistryError(gettext("Năm phải trong khoảng 2000–2100."), field=field)
    return found


def _period(start: date, end: date) -> None:
    if end < start:
        raise RegistryError(gettext("Ngày kết thúc (%(end)s) trước ngày bắt đầu (%(start)s).",
                                    start=start.strftime("%d/%m/%Y"), end=end.strftime("%d/%m/%Y")), field="end")


def entries(db, unit_id: int, start: date, end: date) -> list[dict]:
    """The unit's entries received between two local dates (both included), oldest first, with the field's name."""
    _period(start, end)
    low, _ = local_day_bounds(start)
    _, high = local_day_bounds(end)
    found = list(db.query(
        """SELECT e.*, f.name AS field_name, t.name AS transferred_to_name
           FROM logbook_entries e
           LEFT JOIN logbook_fields f ON f.code = e.field_code
           LEFT JOIN units t ON t.id = e.transferred_to
           WHERE e.unit_id = ? AND e.received_at >= ? AND e.received_at < ?
           ORDER BY e.received_at, e.id LIMIT ?""", [unit_id, low, high, MAX_ROWS + 1]))
    if len(found) > MAX_ROWS:
        raise RegistryError(gettext("Sổ của đơn vị trong khoảng thời gian này có hơn %(limit)s phiếu: hãy chọn "
                                    "khoảng ngắn hơn.", limit=MAX_ROWS), field="start")
    return found


def note(entry: dict) -> str:
    """The Ghi chú cell: the dossier code, the state, where the entry was transferred and why."""
    parts = []
    if entry.get("dossier_code"):
        parts.append(f"{DOSSIER_LABEL} {entry['dossier_code']}")
    if entry.get("transferred_to_name"):
        parts.append(f"Chuyển: {entry['transferred_to_name']}"
                     + (f" ({entry['transfer_reason']})" if entry.get("transfer_reason") else ""))
    parts.append(vietnamese(STATES.get(entry["state"], entry["state"])))
    return "; ".join(parts)


def cells(index: int, entry: dict) -> list[str]:
    """One entry as the form's cells, in layout.KEYS order (the phone masked, times local)."""
    deadline = date.fromisoformat(entry["deadline"]).strftime("%d/%m/%Y") if entry.get("deadline") else ""
    values = {
        "stt": str(index),
        "receipt_code": entry["receipt_code"],
        "received_at": _local(entry["received_at"], "%d/%m/%Y %H:%M"),
        "channel": vietnamese(CHANNELS.get(entry["channel"], entry["channel"])),
        "reporter": reporter_cell(entry.get("reporter_name", ""), entry.get("reporter_phone", "")),
        "field": entry.get("field_name") or "",
        "content": entry["content"],
        "received_by": entry.get("received_by") or "",
        "level": vietnamese(LEVELS.get(entry["level"], entry["level"])),
        "deadline": deadline,
        "answer": entry.get("answer") or "",
        "answered_at": _local(entry.get("answered_at"), "%d/%m/%Y"),
        "note": note(entry),
    }
    return [values[key] for key in KEYS]


def load(db, unit: dict, start: date, end: date) -> Book:
    """The unit's book between two local dates, as rows of cells."""
    found = entries(db, unit["id"], start, end)
    return Book(unit=unit, start=start, end=end, rows=[cells(i, e) for i, e in enumerate(found, start=1)])


def period_line(start: date, end: date) -> str:
    """'Từ ngày 01/11/2026 đến ngày 30/11/2026'."""
    return f"Từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}"


def place_date(now: datetime) -> str:
    day = to_local(now)
    return f"ngày {day:%d} tháng {day:%m} năm {day:%Y}"
