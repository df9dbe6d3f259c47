"""The single hotline of each unit: registering or changing it, sharing a number between units, flags.

A unit has at most one hotline (one row of `hotlines`); a number belongs to one unit unless Văn phòng UBND
marks it as deliberately shared. Every change is written to the unit's history (registry.history).
"""
import functools
import sqlite3
from datetime import datetime

from flask_babel import gettext

from registry.clock import iso, utcnow
from registry.db import write_transaction
from registry.errors import NumberTaken, RegistryError
from registry.history import log_change, log_changes
from registry.numbers import NumberError, area_code, parse_hotline

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
        with write_transaction(db):
            if old:
                if old["number"] != parsed.number:
                    # A new number starts unshared: the inspector's decision was about the old one.
                    row.update(shared=0, shared_note="")
                    carry_flag(db, unit_id, old, row, actor, now)
                db.table("hotlines").update(old["id"], row)
                if old["number"] != parsed.number:
                    log_change(db, unit_id, "number", old["display"], parsed.display, reason, actor, now)
                if (old["extension"] or "") != parsed.extension:
                    log_change(db, unit_id, "extension", old["extension"] or None, parsed.extension or None, reason,
                               actor, now)
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


def parse_number(raw: str, hours: str | None = None):
    """The parsed number as set_hotline would store it; RegistryError naming the field otherwise."""
    return _parse(raw, hours)


def carry_flag(db, unit_id: int, old: dict, row: dict, actor: dict | None, now: datetime) -> None:
    """Keep flags per number when the unit's number changes from old["number"] to row["number"].

    Only an inspector clears a flag (clear_flag): the old number's flag is kept aside, and a number the unit
    had before gets its flag back, so changing the number back and forth clears nothing. A number never
    flagged for this unit starts clean. Runs inside the caller's transaction; sets row's flag columns.
    """
    if old["flagged_at"]:
        db.execute(
            "INSERT INTO number_flags (unit_id, number, flagged_at, flag_reason) VALUES (?,?,?,?) "
            "ON CONFLICT(unit_id, number) DO UPDATE SET flagged_at = excluded.flagged_at, "
            "flag_reason = excluded.flag_reason",
            [unit_id, old["number"], old["flagged_at"], old["flag_reason"]],
        )
    kept = db.execute("SELECT flagged_at, flag_reason FROM number_flags WHERE unit_id = ? AND number = ?",
                      [unit_id, row["number"]]).fetchone()
    row.update(flagged_at=kept[0] if kept else None, flag_reason=kept[1] if kept else None)
    if kept:
        db.execute("DELETE FROM number_flags WHERE unit_id = ? AND number = ?", [unit_id, row["number"]])
        # Stored text, in the registry's language like every history entry.
        log_change(db, unit_id, "flag", None, kept[1], "Số này đã bị gắn cờ trước đây; cờ được giữ lại.", actor, now)


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
    with write_transaction(db):
        if old:
            if old["number"] != parsed.number:
                carry_flag(db, unit_id, old, row, actor, now)
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
        with write_transaction(db):
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
    with write_transaction(db):
        cur = db.execute(
            "UPDATE hotlines SET flagged_at = ?, flag_reason = ? WHERE unit_id = ? AND flagged_at IS NULL",
            [iso(now), reason, unit_id],
        )
        if cur.rowcount:
            log_change(db, unit_id, "flag", None, reason, reason, {"id": None, "email": actor_name}, now)


def clear_flag(db, unit_id: int, *, actor: dict, reason: str = "", now: datetime | None = None):
    """Inspector clears the flag of the unit's hotline (it has been checked); logged with the reason."""
    now = now or utcnow()
    with write_transaction(db):
        cur = db.execute("UPDATE hotlines SET flagged_at = NULL, flag_reason = NULL WHERE unit_id = ?", [unit_id])
        if cur.rowcount:
            log_change(db, unit_id, "flag", "1", None, reason or "Gỡ cờ", actor, now)


def written_number(unit: dict) -> str:
    """The unit's number as a person writes it, with its extension ("0277 3851 234 máy lẻ 12"), '' when none:
    what the number field shows, so that saving the form again keeps the extension."""
    display = unit.get("display") or ""
    # "máy lẻ" whatever the reader's language: it is what parse_hotline reads back.
    return f"{display} máy lẻ {unit['extension']}" if display and unit.get("extension") else display


def out_of_province(number: str | None, province_area_code: str) -> str | None:
    """A Vietnamese warning when a landline's area code is not the province's (saved anyway: a unit may
    really answer from elsewhere, but usually the code is mistyped or the number is another province's)."""
    code = area_code(number or "")
    province = (province_area_code or "").lstrip("0")
    if code is None or not province or code == province:
        return None
    return gettext("Lưu ý: số cố định này có mã vùng 0%(code)s, không phải mã vùng của tỉnh (0%(province)s). "
                   "Hãy kiểm tra lại số, hoặc xác nhận đơn vị thực sự dùng số ở tỉnh khác.", code=code, province=province)


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


def add_hotlines(db, rows: list[dict], *, actor: dict | None, reason: str, now: datetime) -> None:
    """Register the first hotline of many units at once (the appendix import, every row already checked).

    rows: unit_id, parsed (a numbers.Hotline), hours. One executemany for the hotlines and one for their
    history, the same rows set_hotline writes; the schema's triggers still refuse a number someone holds.
    Runs inside the caller's write transaction.
    """
    at, by = iso(now), actor["id"] if actor else None
    db.conn.executemany(
        "INSERT INTO hotlines (unit_id, number, kind, display, raw, extension, hours, updated_at, updated_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(r["unit_id"], r["parsed"].number, r["parsed"].kind, r["parsed"].display, r["parsed"].raw,
          r["parsed"].extension, r["hours"], at, by) for r in rows],
    )
    entries = [(r["unit_id"], "number", None, r["parsed"].display, reason) for r in rows]
    entries += [(r["unit_id"], "hours", None, HOURS[r["hours"]], reason) for r in rows if r["hours"] != "24/7"]
    log_changes(db, entries, actor, now)


def set_hours_many(db, rows: list[dict], *, actor: dict | None, reason: str, now: datetime) -> None:
    """Change the hours of many hotlines whose number stays (the appendix import): rows of unit_id, old, hours."""
    at, by = iso(now), actor["id"] if actor else None
    db.conn.executemany("UPDATE hotlines SET hours = ?, updated_at = ?, updated_by = ? WHERE unit_id = ?",
                        [(r["hours"], at, by, r["unit_id"]) for r in rows])
    log_changes(db, [(r["unit_id"], "hours", HOURS[r["old"]], HOURS[r["hours"]], reason) for r in rows], actor, now)
