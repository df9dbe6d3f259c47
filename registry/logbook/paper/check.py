"""Checking every row of a filled book before anything is written: the new entries, or every bad cell named.

A row with a Mã phiếu is already in the book (the export wrote it) and is left as it is; a row without one is a
new entry. The unit's codes and the fields are read once; each new row goes through entry_rules.clean, the same
check as the form, so the file and the page refuse the same things with the same words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext

from registry.appendix.check import RowError
from registry.clock import LOCAL, local_midnight, to_local
from registry.errors import RegistryError
from registry.logbook.entry_rules import clean
from registry.logbook.paper.layout import CHANNELS, DOSSIER_LABEL, LEVELS, TITLES, code_for, vietnamese
from registry.logbook.paper.read import Filled
from registry.text import fold

DATE_TIME = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2})[:h](\d{2}))?$")
# The name, then a phone at the end: "Nguyễn Văn A – 0912 345 678", "0912.345.678", "Trần B, +84 912 345 678".
PHONE_AT_END = re.compile(r"^(.*?)[\s,;–\-]*((?:\+?84|0)[\d .]{7,16}\d)$")
ANONYMOUS = ("an danh", "khong ro", "khong co")
# Which column a refusal of entry_rules.clean is about (its field name → our column key).
FIELD_COLUMN = {"received_at": "received_at", "channel": "channel", "reporter_name": "reporter",
                "reporter_phone": "reporter", "field_code": "field", "content": "content",
                "dossier_code": "note", "received_by": "received_by", "level": "level", "answer": "answer"}


@dataclass
class NewRow:
    """A new entry to create: the row it came from, the entry's data, and the answer's date on paper, if any."""

    row: int
    data: dict
    answered_at: datetime | None = None


@dataclass
class Plan:
    """What the file would do: the new entries, and how many rows are already in the book."""

    new: list[NewRow] = field(default_factory=list)
    known: int = 0


def parse_moment(text: str) -> datetime | None:
    """A local moment from 'dd/mm/yyyy hh:mm', 'dd/mm/yyyy' or a spreadsheet date cell (ISO); None if unreadable."""
    text = " ".join((text or "").split())
    match = DATE_TIME.match(text)
    try:
        if match:
            day, month, year, hour, minute = match.groups()
            return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=LOCAL)
        if re.match(r"^\d{4}-\d{2}-\d{2}", text):  # a date cell: openpyxl gives a naive local datetime
            moment = datetime.fromisoformat(text)
            return moment.replace(tzinfo=LOCAL) if moment.tzinfo is None else moment
    except ValueError:
        return None
    return None


def reporter(text: str) -> tuple[str, str]:
    """(name, phone) from the Người phản ánh cell; a masked phone (0912 ••• 678) is no phone."""
    text = (text or "").strip()
    if "•" in text:
        text = text.split("•")[0].rstrip(" 0123456789–-,")
    if fold(text) in ANONYMOUS:
        return "", ""
    match = PHONE_AT_END.match(text)
    if match:
        return match.group(1).strip(), match.group(2).strip()
    return text, ""


def dossier(note: str) -> str:
    """The dossier code written in Ghi chú as 'Mã hồ sơ: …' ('' when none)."""
    for part in (note or "").split(";"):
        if fold(part.strip()).startswith(fold(DOSSIER_LABEL)):
            return part.strip()[len(DOSSIER_LABEL):].strip()
    return ""


def _new_row(number: int, row: dict, fields: dict[str, str], now: datetime, errors: list[RowError]) -> NewRow | None:
    bad = len(errors)

    def refuse(key: str, reason: str) -> None:
        errors.append(RowError(number, TITLES[key], reason))

    received = parse_moment(row.get("received_at", ""))
    if received is None:
        refuse("received_at", gettext("cần ngày giờ tiếp nhận dạng ngày/tháng/năm giờ:phút, ví dụ 01/12/2026 08:30."))
    channel = code_for(CHANNELS, row.get("channel", "")) if row.get("channel") else "hotline"
    if channel is None:
        refuse("channel", gettext("“%(value)s” không phải kênh tiếp nhận; dùng một trong: %(allowed)s.",
                                  value=row["channel"][:60],
                                  allowed=", ".join(vietnamese(v) for v in CHANNELS.values())))
    field_code = None
    if row.get("field"):
        field_code = code_for(fields, row["field"])
        if field_code is None:
            refuse("field", gettext("“%(value)s” không phải lĩnh vực; dùng một trong: %(allowed)s.",
                                    value=row["field"][:60], allowed=", ".join(fields.values())))
    level = code_for(LEVELS, row.get("level", "")) if row.get("level") else "unit"
    if level is None or level == "transferred":
        refuse("level", gettext("dùng “%(on_spot)s” hoặc “%(unit)s”; phiếu chuyển đơn vị khác thì chuyển trên hệ "
                                "thống sau khi nhập.", on_spot=vietnamese(LEVELS["on_spot"]),
                                unit=vietnamese(LEVELS["unit"])))
    answered = None
    if row.get("answered_at"):
        answered = parse_moment(row["answered_at"])
        if answered is None:
            refuse("answered_at", gettext("cần ngày dạng ngày/tháng/năm, ví dụ 05/12/2026."))
        elif not row.get("answer"):
            refuse("answer", gettext("có ngày trả lời nhưng chưa ghi nội dung trả lời."))
        elif received and answered.date() < received.date():
            refuse("answered_at", gettext("ngày trả lời trước ngày tiếp nhận."))
        elif answered.date() > to_local(now).date():
            refuse("answered_at", gettext("ngày trả lời ở tương lai."))
    elif row.get("answer") and level == "unit":
        # Without its date an answer cannot be counted on time or late: the paper form has the column for it.
        refuse("answered_at", gettext("có nội dung trả lời nhưng chưa ghi ngày trả lời."))
    if not row.get("content", "").strip():
        refuse("content", gettext("Hãy ghi nội dung phản ánh."))
    name, phone = reporter(row.get("reporter", ""))
    data = {"received_at": received, "channel": channel, "reporter_name": name, "reporter_phone": phone,
            "field_code": field_code, "content": row.get("content", ""), "dossier_code": dossier(row.get("note", "")),
            "received_by": row.get("received_by", ""), "level": level, "answer": row.get("answer", "")}
    if len(errors) == bad:
        try:
            clean(data, fields=set(fields), now=now)
        except RegistryError as exc:
            refuse(FIELD_COLUMN.get(exc.field or "", "content"), exc.message)
    if len(errors) > bad:
        return None
    if answered is not None and level != "on_spot":
        # The day on paper, at the earliest the moment it was received: what the deadline is measured against.
        answered = max(local_midnight(answered.date()), received)
    return NewRow(number, data, answered if level != "on_spot" else None)


def plan(db, unit_id: int, filled: Filled, *, now: datetime) -> tuple[Plan, list[RowError]]:
    """The new entries of a filled book and the rows already in it; or every bad row (nothing to write then)."""
    known = {r[0] for r in db.execute("SELECT receipt_code FROM logbook_entries WHERE unit_id = ?", [unit_id])}
    fields = {r[0]: r[1] for r in db.execute("SELECT code, name FROM logbook_fields ORDER BY sort_order, code")}
    result, errors = Plan(), []
    for number, row in filled.rows:
        code = row.get("receipt_code", "").strip()
        if code:
            if code in known:
                result.known += 1
            else:
                errors.append(RowError(number, TITLES["receipt_code"], gettext(
                    "phiếu “%(code)s” không có trong sổ của đơn vị; dòng mới thì để trống cột này.", code=code[:40])))
            continue
        new = _new_row(number, row, fields, now, errors)
        if new:
            result.new.append(new)
    return result, errors

