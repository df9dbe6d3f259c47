"""The single hotline of each unit: registering or changing it, sharing a number between units, flags.

A unit has at most one hotline (one row of `hotlines`); a number belongs to one unit unless Văn phòng UBND
marks it as deliberately shared. Every change is written to the unit's history (registry.history).
"""
import functools
import sqlite3
from datetime import datetime

from flask_babel import gettext

from registry.clock import iso, utcnow
from registry.errors import NumberTaken, RegistryError
from registry.history import log_change
from registry.numbers import NumberError, parse_hotline

HOURS = {"24/7": "24/24 giờ", "office": "Giờ hành chính"}


def _parse(raw: str, hours: str | None):
    """The parsed number, after checking the hours; RegistryError naming the field otherwise."""
    try:
        parsed = parse_hotline(raw)
    except NumberError as exc:
        raise RegistryError(exc.message, field="number", code=exc.code) from exc
    if hours is not None and hours not in HOURS:
        raise RegistryError(gettext("Thời gian trực phải là 24/24 giờ hoặc giờ hành chính."), field="hours")
    return parsed


def set_hotline(
    db, unit_id: int, raw: str, *, actor: dict | None, reason: str = "", hours: str | None = None,
    is_demo: bool | None = None, now: datetime | None = None,
) -> dict:
    """Register or change the unit's one hotline (parsing the written form); logs old → new with the reason."""
    parsed = _parse(raw, hours)
    now = now or utcnow()
    old = db.execute_returning_dicts("SELECT * FROM hotlines WHERE unit_id = ?", [unit_id])
    old = old[0] if old else None
    row = {
        "unit_id": unit_id,
        "number": parsed.number,
        "kind": parsed.kind,
        "display": parsed.display,
        "raw": parsed.raw,
        "extension": parsed.extension,
        "hours": hours or (old["hours"] if old else "24/7"),
        "updated_at": iso(now),
        "updated_by": actor["id"] if actor else None,
    }
    if is_demo is not None:
        row["is_demo"] = int(is_demo)
    try:
        with db.atomic():
            if old:
                if old["number"] != parsed.number:
                    # A new number starts unflagged and unshared: the inspector's decisions were about the old one.
                    row.update(flagged_at=None, flag_reason=None, shared=0, shared_note="")
                db.table("hotlines").update(old["id"], row)
                if old["number"] != parsed.number:
                    log_change(db, unit_id, "number", old["display"], parsed.display, reason, actor, now)
                if old["hours"] != row["hours"]:
                    log_change(db, unit_id, "hours", HOURS[old["hours"]], HOURS[row["hours"]], reason, actor, now)
            else:
                db.table("hotlines").insert(row)
                log_change(db, unit_id, "number", None, parsed.display, reason, actor, now)
                if hours and hours != "24/7":
                    log_change(db, unit_id, "hours", None, HOURS[hours], reason, actor, now)
    except sqlite3.IntegrityError as exc:
        if "number_taken" in str(exc):
            holder = db.execute(
                "SELECT u.name FROM hotlines h JOIN units u ON u.id = h.unit_id WHERE h.number = ? AND h.unit_id != ?",
                [parsed.number, unit_id],
            ).fetchone()
            raise NumberTaken(
                gettext("Số %(number)s đã được đăng ký cho “%(unit)s”. Mỗi số chỉ thuộc một đơn vị, trừ khi Văn phòng UBND "
                        "xác nhận đây là số dùng chung.", number=parsed.display,
                        unit=holder[0] if holder else gettext("đơn vị khác"))
            ) from exc
        raise
    return row


def set_hotline_shared(
    db, unit_id: int, raw: str, note: str, *, actor: dict, reason: str = "", hours: str | None = None,
    is_demo: bool | None = None, now: datetime | None = None,
) -> dict:
    """Inspector registers a number as deliberately shared: every other unit holding it must be marked shared already."""
    note = (note or "").strip()
    if not note:
        raise RegistryError(gettext("Hãy ghi lý do số này được dùng chung."), field="shared_note")
    parsed = _parse(raw, hours)
    private = db.execute(
        "SELECT u.name FROM hotlines h JOIN units u ON u.id = h.unit_id WHERE h.number = ? AND h.unit_id != ? AND h.shared = 0",
        [parsed.number, unit_id],
    ).fetchall()
    if private:
        raise NumberTaken(
            gettext("Số %(number)s đang là số riêng của “%(unit)s”: hãy đánh dấu số đó là dùng chung ở đơn vị ấy trước.",
                    number=parsed.display, unit=private[0][0])
        )
    now = now or utcnow()
    old = db.execute_returning_dicts("SELECT * FROM hotlines WHERE unit_id = ?", [unit_id])
    old = old[0] if old else None
    row = {
        "unit_id": unit_id, "number": parsed.number, "kind": parsed.kind, "display": parsed.display, "raw": parsed.raw,
        "extension": parsed.extension,
        "hours": hours or (old["hours"] if old else "24/7"), "shared": 1, "shared_note": note,
        "updated_at": iso(now), "updated_by": actor["id"] if actor else None,
    }
    if is_demo is not None:
        row["is_demo"] = int(is_demo)
    with db.atomic():
        if old:
            if old["number"] != parsed.number:
                row.update(flagged_at=None, flag_reason=None)
            db.table("hotlines").update(old["id"], row)
            if old["number"] != parsed.number:
                log_change(db, unit_id, "number", old["display"], parsed.display, reason, actor, now)
            if old["hours"] != row["hours"]:
                log_change(db, unit_id, "hours", HOURS[old["hours"]], HOURS[row["hours"]], reason, actor, now)
            if not old["shared"] or old["number"] != parsed.number:
                log_change(db, unit_id, "shared", str(old["shared"]), "1", note, actor, now)
        else:
            db.table("hotlines").insert(row)
            log_change(db, unit_id, "number", None, parsed.display, reason, actor, now)
            if row["hours"] != "24/7":
                log_change(db, unit_id, "hours", None, HOURS[row["hours"]], reason, actor, now)
            log_change(db, unit_id, "shared", "0", "1", note, actor, now)
    return row


def set_shared(db, unit_id: int, shared: bool, note: str, *, actor: dict, now: datetime | None = None):
    """Inspector marks the unit's number as deliberately shared with other units (or not)."""
    if shared and not note.strip():
        raise RegistryError(gettext("Hãy ghi lý do số này được dùng chung."), field="shared_note")
    now = now or utcnow()
    old = db.execute("SELECT shared, display FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()
    if not old:
        raise RegistryError(gettext("Đơn vị chưa có số đường dây nóng."))
    try:
        with db.atomic():
            db.execute(
                "UPDATE hotlines SET shared = ?, shared_note = ? WHERE unit_id = ?",
                [int(shared), note.strip(), unit_id],
            )
            log_change(db, unit_id, "shared", str(old[0]), str(int(shared)), note, actor, now)
    except sqlite3.IntegrityError as exc:
        raise NumberTaken(
            gettext("Số %(number)s cũng đang được đơn vị khác dùng: hãy bỏ đánh dấu dùng chung ở các đơn vị đó trước.",
                    number=old[1])
        ) from exc


def flag_hotline(db, unit_id: int, reason: str, *, now: datetime | None = None, actor_name: str = "monitor"):
    """Flag the unit's hotline (e.g. unreachable in a test call) so the registry shows it needs attention."""
    now = now or utcnow()
    with db.atomic():
        cur = db.execute(
            "UPDATE hotlines SET flagged_at = ?, flag_reason = ? WHERE unit_id = ? AND flagged_at IS NULL",
            [iso(now), reason, unit_id],
        )
        if cur.rowcount:
            log_change(db, unit_id, "flag", None, reason, reason, {"id": None, "email": actor_name}, now)


def clear_flag(db, unit_id: int, *, actor: dict, reason: str = "", now: datetime | None = None):
    """Inspector clears the flag of the unit's hotline (it has been checked); logged with the reason."""
    now = now or utcnow()
    with db.atomic():
        cur = db.execute("UPDATE hotlines SET flagged_at = NULL, flag_reason = NULL WHERE unit_id = ?", [unit_id])
        if cur.rowcount:
            log_change(db, unit_id, "flag", "1", None, reason or "Gỡ cờ", actor, now)


def number_ok(unit: dict) -> bool | None:
    """Whether the stored number still reads as the same valid number under today's rules (None: no number)."""
    if not unit["number"]:
        return None
    return still_valid(unit["raw"] or unit["display"], unit["number"])


@functools.lru_cache(maxsize=65536)
def still_valid(written: str, number: str) -> bool:
    """Whether a number as written still parses to the stored number."""
    # The rules are code, constant for the life of the process: a re-read is only worth doing once.
    try:
        return parse_hotline(written).number == number
    except NumberError:
        return False
