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
from registry.logbook import history, redact
from registry.logbook.deadlines import due_date, extended, paused_working_days
from registry.logbook.entry_rules import EDITABLE, LIMITS, clean, lookup_code

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
    # The history can never be changed: the reporter's number written into a text (content, answer, reason) is
    # masked before it goes there, so it can be erased from the entry alone when its retention ends.
    phones = (entry.get("reporter_phone"), values.get("reporter_phone"))
    changes = history.changed(entry, values)
    texts = redact.mask_values({k: v for k, v in changes.items() if k not in history.PERSONAL}, phones)
    changes = {key: texts.get(key, change) for key, change in changes.items()  # personal ones: withheld by history
               if not (key in texts and isinstance(texts[key], tuple) and texts[key][0] == texts[key][1])}
    reason = redact.mask(reason, phones)
    values = dict(values, updated_at=iso(now))
    db.execute(f"UPDATE logbook_entries SET {', '.join(k + ' = ?' for k in values)} WHERE id = ?",
               [*values.values(), entry["id"]])
    history.record(db, entry["id"], action, user_id=user_id, now=now, changes=changes, reason=reason)
    return get(db, entry["id"])


EDITABLE_STATES = ("open", "waiting", "answered")
# Once answered, the received time and the field stay as they were: they set the deadline and whether the answer
# came in time, so changing them afterwards would rewrite the unit's on-time record. Closed and transferred entries
# are not corrected at all (closed: the case is finished and reported; transferred: the unit holding it now does).
FROZEN_WHEN_ANSWERED = ("received_at", "field_code")
PERSONAL = ("reporter_name", "reporter_phone")


def version(db, entry_id: int) -> int:
    """The entry's version: the id of its latest history event (every write of an entry appends one in the same
    transaction), 0 for none. An edit form carries it; a save made on an older version is refused."""
    return db.execute("SELECT max(id) FROM logbook_events WHERE entry_id = ?", [entry_id]).fetchone()[0] or 0


def _refuse_frozen(entry: dict, values: dict) -> None:
    if entry["state"] == "answered":
        for key in FROZEN_WHEN_ANSWERED:
            if key in values:
                raise RegistryError(gettext("Phiếu đã trả lời: thời điểm tiếp nhận và lĩnh vực giữ như lúc trả lời "
                                            "(chúng quyết định thời hạn và việc trả lời đúng hạn)."), field=key,
                                    status=409)
    if entry["from_entry_id"] and "received_at" in values:
        raise RegistryError(gettext("Thời điểm tiếp nhận do đơn vị tiếp nhận đầu tiên ghi; phiếu chuyển đến không "
                                    "sửa được thời điểm này."), field="received_at", status=409)
    if entry["phone_erased_at"] and any(values.get(key) for key in PERSONAL):
        raise RegistryError(gettext("Thông tin người phản ánh đã được xoá khi hết thời hạn lưu; không ghi lại được."),
                            field=next(key for key in PERSONAL if values.get(key)), status=409)


def _moved_deadline(db, entry: dict, values: dict) -> dict:
    """A corrected field or received day of an entry still being handled moves its deadline; the working days
    already waited for the citizen still count. A transferred-in copy's clock started at the hand-over."""
    if entry["state"] not in ("open", "waiting") or not {"field_code", "received_at"} & set(values):
        return {}
    start = entry["created_at"] if entry["from_entry_id"] else values.get("received_at", entry["received_at"])
    deadline = _deadline(db, values.get("field_code", entry["field_code"]), to_local(parse_iso(start)).date())
    if deadline and entry["paused_days"]:
        deadline = extended(db, date.fromisoformat(deadline), entry["paused_days"]).isoformat()
    return {"deadline": deadline} if deadline != entry["deadline"] else {}


def update(db, entry_id: int, data: dict, *, user_id, now: datetime, reason: str = "",
           version_seen: int | None = None) -> dict:
    """Correct an entry's details (EDITABLE, not its state) for a reason; the history keeps who, when, what changed
    old→new (personal values withheld) and why. version_seen: the version() the form was shown with; a save on an
    entry changed since is refused (409), so nobody overwrites a correction they never saw."""
    reason = (reason or "").strip()
    if not reason:
        raise RegistryError(gettext("Hãy ghi lý do sửa."), field="reason")
    with write_transaction(db):
        entry = _load(db, entry_id, EDITABLE_STATES, gettext("Phiếu đã đóng hoặc đã chuyển đi: không sửa được nữa."))
        if version_seen is not None and version_seen != version(db, entry_id):
            raise RegistryError(gettext("Phiếu vừa được thay đổi trong lúc bạn sửa. Biểu mẫu đã cập nhật theo phiếu "
                                        "hiện tại: hãy xem lại rồi sửa lại."), field="version", status=409)
        values = clean({k: v for k, v in data.items() if k in EDITABLE}, fields=_fields(db), now=now, partial=True)
        values = {key: value for key, value in values.items() if entry[key] != value}
        # lookup_digits stay as given on the receipt: the citizen already holds them.
        _refuse_frozen(entry, values)
        if not values:
            raise RegistryError(gettext("Chưa có thay đổi nào để lưu."))
        values.update(_moved_deadline(db, entry, values))
        return _set(db, entry, values, "updated", user_id=user_id, now=now, reason=reason)


def erase_personal(db, entry_ids: list[int], *, now: datetime) -> int:
    """Erase the reporter's name and phone from these entries (registry/logbook/retention.py chose them: their
    retention has ended), and the phone wherever staff wrote it into the content, answer or transfer reason; in one
    transaction, one history event per entry (what was erased, never the values). lookup_digits stay, so the
    citizen's lookup and the test-call match keep working. How many entries held something to erase."""
    erased = 0
    with write_transaction(db):
        for entry_id in entry_ids:
            entry = get(db, entry_id)
            if entry is None or not (entry["reporter_phone"] or entry["reporter_name"]):
                continue  # erased meanwhile (two runs at once), or nothing personal
            values = {"reporter_name": "", "reporter_phone": ""}
            for key in ("content", "answer", "transfer_reason"):
                masked = redact.mask(entry[key], [entry["reporter_phone"]])
                if masked != entry[key]:
                    values[key] = masked
            if entry["reporter_phone"]:
                values["phone_erased_at"] = iso(now)
            _set(db, entry, values, "erased", user_id=None, now=now)
            erased += 1
    return erased


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
                   changes={"from_unit": entry["unit_code"], "receipt_code": entry["receipt_code"]},
                   reason=redact.mask(reason, [entry["reporter_phone"]]))
    _set(db, entry, {"state": "transferred", "level": "transferred", "paused_at": None, "transferred_to": to_unit_id,
                     "transferred_at": iso(now), "transfer_reason": reason}, "transferred", user_id=user_id,
         now=now, reason=reason)
    return get(db, new_id)
