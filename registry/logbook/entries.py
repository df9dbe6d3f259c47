"""The logbook's entries (phiếu) and their receipt codes: the only writer of logbook_entries and logbook_sequences.

A receipt code is the unit's prefix, the local date it was received and a sequence: "SYT-261201-007". The
sequence is taken from logbook_sequences inside the entry's own write transaction, so two entries never get the
same code, whichever process writes them. A transfer (registry/logbook/transfers.py) makes a copy at the other
unit under the same code; every change is appended to the history (registry/logbook/history.py).
"""
import re
from datetime import date, datetime

from flask_babel import gettext

from registry.clock import iso, local_today, parse_iso, to_local
from registry.db import write_transaction
from registry.errors import NotFound, RegistryError
from registry.logbook import history
from registry.logbook.deadlines import due_date, extended, paused_working_days
from registry.logbook.entry_rules import LIMITS, clean, lookup_code

PREFIX_LENGTH = 8
COLUMNS = ("id", "receipt_code", "unit_id", "received_at", "channel", "reporter_name", "reporter_phone",
           "lookup_digits", "field_code", "content", "dossier_code", "received_by", "level", "state", "deadline",
           "paused_at", "paused_days", "answer", "answered_at", "from_entry_id", "transferred_to", "transferred_at",
           "transfer_reason", "rating", "rated_at", "phone_erased_at", "created_at", "created_by", "updated_at")
SELECT = f"SELECT {', '.join('e.' + c for c in COLUMNS)}, u.code, u.name FROM logbook_entries e " \
         f"JOIN units u ON u.id = e.unit_id"


def _row(row) -> dict:
    return dict(zip(COLUMNS + ("unit_code", "unit_name"), row))


def receipt_prefix(unit_code: str, unit_id: int) -> str:
    """The receipt code's unit prefix: the unit code's letters and digits, upper case, at most 8 (readable over
    the phone). Two units with the same prefix share its daily sequence, so codes stay unique regardless."""
    prefix = re.sub(r"[^A-Z0-9]", "", (unit_code or "").upper().replace("Đ", "D"))[:PREFIX_LENGTH]
    return prefix or f"DV{unit_id}"


def _next_code(db, prefix: str, day: date) -> str:
    """The next receipt code of that prefix and local day (call inside the write transaction)."""
    key = day.isoformat()
    db.execute("INSERT INTO logbook_sequences (prefix, day, last) VALUES (?, ?, 1) "
               "ON CONFLICT (prefix, day) DO UPDATE SET last = last + 1", [prefix, key])
    last = db.execute("SELECT last FROM logbook_sequences WHERE prefix = ? AND day = ?", [prefix, key]).fetchone()[0]
    return f"{prefix}-{day:%y%m%d}-{last:03d}"


def _fields(db) -> set[str]:
    return {code for (code,) in db.execute("SELECT code FROM logbook_fields").fetchall()}


def field_names(db) -> list[tuple[str, str, str]]:
    """(code, Vietnamese name, English name) of every field, in the inspectors' order (the form's choices)."""
    return [tuple(r) for r in db.execute("SELECT code, name, name_en FROM logbook_fields ORDER BY sort_order, code")]


def _unit_code(db, unit_id: int) -> str:
    row = db.execute("SELECT code FROM units WHERE id = ?", [unit_id]).fetchone()
    if row is None:
        raise NotFound(gettext("Không có đơn vị này."), field="unit_id")
    return row[0]


def _insert(db, unit_id: int, data: dict, *, user_id, now: datetime, fields: set[str]) -> dict:
    values = clean(data, fields=fields, now=now)
    received = to_local(parse_iso(values["received_at"])).date()
    code = _next_code(db, receipt_prefix(_unit_code(db, unit_id), unit_id), received)
    on_spot = values["level"] == "on_spot"
    row = dict(values, receipt_code=code, unit_id=unit_id, lookup_digits=lookup_code(values["reporter_phone"]),
               state="answered" if on_spot else "open", deadline=_deadline(db, values["field_code"], received),
               answered_at=iso(now) if on_spot else None, created_at=iso(now), created_by=user_id,
               updated_at=iso(now))
    names = list(row)
    cursor = db.execute(f"INSERT INTO logbook_entries ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                        [row[n] for n in names])
    entry_id = cursor.lastrowid
    history.record(db, entry_id, "created", user_id=user_id, now=now,
                   changes={"receipt_code": code, "state": row["state"], "level": row["level"]})
    return get(db, entry_id)


def _deadline(db, field_code: str | None, received: date) -> str | None:
    due = due_date(db, field_code, received)
    return due.isoformat() if due else None


def create(db, unit_id: int, data: dict, *, user_id: int | None, now: datetime) -> dict:
    """Record a new entry at the unit: its receipt code, lookup digits, deadline; the new row."""
    with write_transaction(db):
        return _insert(db, unit_id, data, user_id=user_id, now=now, fields=_fields(db))


def create_many(db, unit_id: int, rows: list[dict], *, user_id: int | None, now: datetime) -> list[str]:
    """Record many entries in one transaction (all or nothing); their receipt codes in order. A bad row is
    refused with its number (1-based) in the message."""
    fields = _fields(db)
    codes = []
    with write_transaction(db):
        for number, data in enumerate(rows, start=1):
            try:
                codes.append(_insert(db, unit_id, data, user_id=user_id, now=now, fields=fields)["receipt_code"])
            except RegistryError as exc:
                raise RegistryError(gettext("Dòng %(row)d: %(message)s", row=number, message=exc.message),
                                    field=exc.field) from exc
    return codes


def get(db, entry_id: int) -> dict | None:
    row = db.execute(f"{SELECT} WHERE e.id = ?", [entry_id]).fetchone()
    return _row(row) if row else None


def by_receipt(db, code: str) -> list[dict]:
    """Every unit's copy of a receipt code, in transfer order (the first unit first)."""
    return [_row(r) for r in db.execute(f"{SELECT} WHERE e.receipt_code = ? ORDER BY e.id", [code]).fetchall()]


def _book_filters(unit_id, start, end, state, field_code) -> tuple[str, list]:
    where, args = ["e.unit_id = ?"], [unit_id]
    if start:
        where.append("e.received_at >= ?")
        args.append(iso(_midnight(start)))
    if end:
        where.append("e.received_at < ?")
        args.append(iso(_midnight(date.fromordinal(end.toordinal() + 1))))
    if state:
        where.append("e.state = ?")
        args.append(state)
    if field_code:
        where.append("e.field_code = ?")
        args.append(field_code)
    return " AND ".join(where), args


def _midnight(day: date) -> datetime:
    from registry.clock import local_midnight_utc

    return local_midnight_utc(day)


def book(db, unit_id: int, *, start: date | None = None, end: date | None = None, state: str | None = None,
         field_code: str | None = None, limit: int = 50, offset: int = 0) -> list[dict]:
    """A unit's entries, newest first; start/end are local dates (inclusive)."""
    where, args = _book_filters(unit_id, start, end, state, field_code)
    return [_row(r) for r in db.execute(f"{SELECT} WHERE {where} ORDER BY e.received_at DESC, e.id DESC "
                                        f"LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()]


def count_book(db, unit_id: int, *, start=None, end=None, state=None, field_code=None) -> int:
    where, args = _book_filters(unit_id, start, end, state, field_code)
    return db.execute(f"SELECT count(*) FROM logbook_entries e WHERE {where}", args).fetchone()[0]


# ------------------------------------------------------------------------------------------ changes of state


def _load(db, entry_id: int, allowed: tuple[str, ...], message: str) -> dict:
    entry = get(db, entry_id)
    if entry is None:
        raise NotFound(gettext("Không có phiếu này."))
    if entry["state"] not in allowed:
        raise RegistryError(message, field="state", status=409)
    return entry


def _set(db, entry: dict, values: dict, action: str, *, user_id, now: datetime, reason: str = "") -> dict:
    if len(reason or "") > LIMITS["reason"]:
        raise RegistryError(gettext("Tối đa %(max)d ký tự.", max=LIMITS["reason"]), field="reason")
    changes = history.changed(entry, values)
    values = dict(values, updated_at=iso(now))
    db.execute(f"UPDATE logbook_entries SET {', '.join(k + ' = ?' for k in values)} WHERE id = ?",
               [*values.values(), entry["id"]])
    history.record(db, entry["id"], action, user_id=user_id, now=now, changes=changes, reason=reason)
    return get(db, entry["id"])


def update(db, entry_id: int, data: dict, *, user_id, now: datetime, reason: str = "") -> dict:
    """Correct an entry's details (not its state); the history keeps old and new."""
    with write_transaction(db):
        entry = _load(db, entry_id, ("open", "waiting", "answered"), gettext("Phiếu này không sửa được nữa."))
        values = clean(data, fields=_fields(db), now=now, partial=True)
        values.pop("level", None), values.pop("answer", None)
        # lookup_digits stay as given on the receipt: the citizen already holds them.
        return _set(db, entry, values, "updated", user_id=user_id, now=now, reason=reason)


def answer(db, entry_id: int, text: str, *, user_id, now: datetime) -> dict:
    """Record the answer given to the citizen: the entry is answered."""
    text = (text or "").strip()
    if not text:
        raise RegistryError(gettext("Hãy ghi nội dung trả lời."), field="answer")
    if len(text) > LIMITS["answer"]:
        raise RegistryError(gettext("Tối đa %(max)d ký tự.", max=LIMITS["answer"]), field="answer")
    with write_transaction(db):
        entry = _load(db, entry_id, ("open", "waiting"), gettext("Chỉ trả lời được phiếu đang xử lý."))
        values = {"answer": text, "answered_at": iso(now), "state": "answered"}
        if entry["state"] == "waiting":
            values.update(_resumed(db, entry, now))
        return _set(db, entry, values, "answered", user_id=user_id, now=now)


def pause(db, entry_id: int, reason: str, *, user_id, now: datetime) -> dict:
    """Stop the clock while waiting for the citizen (a document to add, a visit to arrange)."""
    if not (reason or "").strip():
        raise RegistryError(gettext("Hãy ghi lý do chờ công dân."), field="reason")
    with write_transaction(db):
        entry = _load(db, entry_id, ("open",), gettext("Chỉ tạm dừng được phiếu đang xử lý."))
        return _set(db, entry, {"state": "waiting", "paused_at": iso(now)}, "paused", user_id=user_id, now=now,
                    reason=reason.strip())


def _resumed(db, entry: dict, now: datetime) -> dict:
    """The columns of a paused entry whose clock starts again: the working days waited move the deadline."""
    waited = paused_working_days(db, parse_iso(entry["paused_at"]), now)
    values = {"state": "open", "paused_at": None, "paused_days": entry["paused_days"] + waited}
    if entry["deadline"] and waited:
        values["deadline"] = extended(db, date.fromisoformat(entry["deadline"]), waited).isoformat()
    return values


def resume(db, entry_id: int, *, user_id, now: datetime, reason: str = "") -> dict:
    """The citizen came back: the clock runs again and the deadline moves by the working days waited."""
    with write_transaction(db):
        entry = _load(db, entry_id, ("waiting",), gettext("Phiếu này không ở trạng thái chờ."))
        return _set(db, entry, _resumed(db, entry, now), "resumed", user_id=user_id, now=now, reason=reason)


def close(db, entry_id: int, *, user_id, now: datetime, reason: str = "") -> dict:
    """Close an answered entry (nothing more to do)."""
    with write_transaction(db):
        entry = _load(db, entry_id, ("answered",), gettext("Chỉ đóng được phiếu đã trả lời."))
        return _set(db, entry, {"state": "closed"}, "closed", user_id=user_id, now=now, reason=reason)


def rate(db, receipt_code: str, rating: int, now: datetime) -> None:
    """The citizen's rating (1–5) of the answer, on the copy that answered it."""
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise RegistryError(gettext("Đánh giá từ 1 đến 5."), field="rating")
    with write_transaction(db):
        copies = [e for e in by_receipt(db, receipt_code) if e["state"] in ("answered", "closed")]
        if not copies:
            raise RegistryError(gettext("Phiếu chưa được trả lời."), field="rating", status=409)
        _set(db, copies[-1], {"rating": rating, "rated_at": iso(now)}, "rated", user_id=None, now=now)


def hand_over(db, entry: dict, to_unit_id: int, reason: str, *, user_id, now: datetime) -> dict:
    """A transfer's two writes (call inside registry/logbook/transfers.py's transaction): the copy at the other
    unit under the same receipt code, its deadline counted again from today; the origin marked transferred."""
    copy = {key: entry[key] for key in ("receipt_code", "received_at", "channel", "reporter_name", "reporter_phone",
                                        "lookup_digits", "field_code", "content", "dossier_code", "received_by")}
    copy.update(unit_id=to_unit_id, from_entry_id=entry["id"], state="open", level="unit",
                deadline=_deadline(db, entry["field_code"], local_today(now)), created_at=iso(now),
                created_by=user_id, updated_at=iso(now))
    names = list(copy)
    new_id = db.execute(f"INSERT INTO logbook_entries ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                        [copy[n] for n in names]).lastrowid
    history.record(db, new_id, "received_transfer", user_id=user_id, now=now,
                   changes={"from_unit": entry["unit_code"], "receipt_code": entry["receipt_code"]}, reason=reason)
    _set(db, entry, {"state": "transferred", "level": "transferred", "paused_at": None, "transferred_to": to_unit_id,
                     "transferred_at": iso(now), "transfer_reason": reason}, "transferred", user_id=user_id,
         now=now, reason=reason)
    return get(db, new_id)
