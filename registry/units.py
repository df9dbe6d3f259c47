"""Units, groups and each unit's single hotline, with every change written to the append-only history."""
import re
import sqlite3
from datetime import datetime

from registry.clock import iso, utcnow
from registry.errors import NotFound, NumberTaken, RegistryError
from registry.numbers import NumberError, parse_hotline
from registry.text import fold

KINDS = {
    "agency": "Cơ quan, đơn vị",
    "department": "Sở, ban, ngành",
    "district": "Cấp huyện",
    "commune": "Xã",
    "ward": "Phường",
    "vertical": "Cơ quan ngành dọc",
    "other": "Khác",
}
HOURS = {"24/7": "24/24 giờ", "office": "Giờ hành chính"}
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Unit fields an editor or inspector may change, and who may change them.
EDITOR_FIELDS = ("contact_name", "contact_email", "address")
INSPECTOR_FIELDS = ("name", "kind", "group_code", "parent_id", "valid_from", "valid_to") + EDITOR_FIELDS

UNIT_SELECT = """
SELECT u.*, g.name AS group_name, g.sort_order AS group_order,
       h.number, h.kind AS number_kind, h.display, h.raw, h.hours, h.shared, h.shared_note, h.is_demo,
       h.flagged_at, h.flag_reason, h.updated_at AS number_updated_at,
       p.code AS parent_code, p.name AS parent_name
FROM units u
JOIN groups g ON g.code = u.group_code
LEFT JOIN hotlines h ON h.unit_id = u.id
LEFT JOIN units p ON p.id = u.parent_id
"""


def list_groups(db) -> list[dict]:
    return db.execute_returning_dicts("SELECT * FROM groups ORDER BY sort_order, code")


# Registry list filters, in SQL so a page of 10,000 units fetches only the rows it shows.
_CURRENT = "((u.valid_from IS NULL OR u.valid_from <= ?) AND (u.valid_to IS NULL OR u.valid_to >= ?))"
STATE_FILTERS = {
    "all": ("", 0),
    "current": (_CURRENT, 2),
    "missing": (_CURRENT + " AND h.number IS NULL", 2),
    "flagged": ("h.flagged_at IS NOT NULL", 0),
    "shared": ("h.shared = 1", 0),
    "historical": ("NOT " + _CURRENT, 2),
}


def _unit_filters(query: str, group: str, state: str, day: str) -> tuple[list[str], list]:
    where, params = [], []
    if group:
        where.append("u.group_code = ?")
        params.append(group)
    if query:
        # name_fold is stored (schema triggers), so a search is a plain LIKE in SQLite, no Python per row.
        folded = f"%{fold(query.strip())}%"
        digits = re.sub(r"\D", "", query)
        clause = "(u.name_fold LIKE ? OR lower(u.code) LIKE ?"
        params += [folded, f"%{query.strip().lower()}%"]
        if len(digits) >= 3:
            clause += " OR replace(h.display, ' ', '') LIKE ? OR h.number LIKE ?"
            params += [f"%{digits}%", f"%{digits}%"]
        where.append(clause + ")")
    clause, day_params = STATE_FILTERS[state]
    if clause:
        where.append(clause)
        params += [day] * day_params
    return where, params


def list_units(db, *, query: str = "", group: str = "", current_only: bool = False, on: str | None = None,
               state: str | None = None, limit: int | None = None, offset: int = 0):
    """Units with their hotline, ordered by group then name; query matches name, code or number.

    `stt` numbers each unit within its group among the matching ones, so a page can start mid-group.
    """
    state = state or ("current" if current_only else "all")
    where, params = _unit_filters(query, group, state, on or iso(utcnow())[:10])
    where_sql = " WHERE " + " AND ".join(where) if where else ""
    order = " ORDER BY g.sort_order, g.code, u.name COLLATE NOCASE, u.code"
    if limit is None:
        rows = db.execute_returning_dicts(UNIT_SELECT + where_sql + order, params)
        starts = {}
    else:
        # A page: sort only the ids, then fetch the full rows of that page (the joins run for 100 rows, not 10,000).
        ids = [r[0] for r in db.execute(
            "SELECT u.id FROM units u JOIN groups g ON g.code = u.group_code LEFT JOIN hotlines h ON h.unit_id = u.id"
            + where_sql + order + " LIMIT ? OFFSET ?", params + [limit, offset]).fetchall()]
        if not ids:
            return []
        rows = db.execute_returning_dicts(
            UNIT_SELECT + f" WHERE u.id IN ({','.join('?' * len(ids))})" + order, ids
        )
        # Where each group's block starts in the whole ordered list, so numbering continues across pages.
        counts = dict(db.execute(
            "SELECT u.group_code, count(*) FROM units u LEFT JOIN hotlines h ON h.unit_id = u.id"
            + where_sql + " GROUP BY u.group_code", params).fetchall())
        starts, seen = {}, 0
        for code, in db.execute("SELECT code FROM groups ORDER BY sort_order, code").fetchall():
            starts[code] = seen
            seen += counts.get(code, 0)
    position = {}
    for index, row in enumerate(rows, start=offset if limit is not None else 0):
        code = row["group_code"]
        if limit is not None:
            row["stt"] = index - starts.get(code, 0) + 1
        else:
            position[code] = position.get(code, 0) + 1
            row["stt"] = position[code]
    return rows


def count_units(db, *, query: str = "", group: str = "", state: str = "all", on: str | None = None) -> int:
    """How many units list_units would return without a limit."""
    where, params = _unit_filters(query, group, state, on or iso(utcnow())[:10])
    sql = "SELECT count(*) FROM units u LEFT JOIN hotlines h ON h.unit_id = u.id"
    return db.execute(sql + (" WHERE " + " AND ".join(where) if where else ""), params).fetchone()[0]


def registry_summary(db, on: str | None = None) -> dict:
    """Current units, and among them those without a number, flagged, or sharing their number."""
    day = on or iso(utcnow())[:10]
    row = db.execute(
        "SELECT count(*), sum(h.number IS NULL), sum(h.flagged_at IS NOT NULL), sum(coalesce(h.shared, 0)) "
        "FROM units u LEFT JOIN hotlines h ON h.unit_id = u.id WHERE " + _CURRENT,
        [day, day],
    ).fetchone()
    return {"current": row[0], "missing": row[1] or 0, "flagged": row[2] or 0, "shared": row[3] or 0}


def get_unit(db, code: str) -> dict:
    rows = db.execute_returning_dicts(UNIT_SELECT + " WHERE u.code = ?", [code])
    if not rows:
        raise NotFound(f"Không có đơn vị mã “{code}”.")
    return rows[0]


def get_unit_by_id(db, unit_id: int) -> dict:
    rows = db.execute_returning_dicts(UNIT_SELECT + " WHERE u.id = ?", [unit_id])
    if not rows:
        raise NotFound()
    return rows[0]


def _clean_unit_fields(db, data: dict, *, unit_id: int | None = None) -> dict:
    """Validate unit fields; raise RegistryError naming the field, in Vietnamese."""
    out = {}
    for key, value in data.items():
        out[key] = value.strip() if isinstance(value, str) else value
    if "name" in out and not out["name"]:
        raise RegistryError("Tên đơn vị không được để trống.", field="name")
    if "kind" in out and out["kind"] not in KINDS:
        raise RegistryError(f"Loại đơn vị “{out['kind']}” không hợp lệ.", field="kind")
    if "group_code" in out:
        if not db.execute("SELECT 1 FROM groups WHERE code = ?", [out["group_code"]]).fetchone():
            raise RegistryError(f"Không có nhóm “{out['group_code']}”.", field="group_code")
    for key in ("valid_from", "valid_to"):
        if key in out:
            out[key] = out[key] or None
            if out[key] and not DATE_RE.match(out[key]):
                raise RegistryError("Ngày phải viết theo dạng NNNN-TT-NN, ví dụ 2025-07-01.", field=key)
    if out.get("valid_from") and out.get("valid_to") and out["valid_to"] < out["valid_from"]:
        raise RegistryError("Ngày hết hiệu lực phải sau ngày bắt đầu.", field="valid_to")
    if out.get("contact_email"):
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", out["contact_email"]):
            raise RegistryError(f"Thư điện tử liên hệ không hợp lệ: “{out['contact_email']}”.", field="contact_email")
    if "parent_id" in out:
        out["parent_id"] = out["parent_id"] or None
        if out["parent_id"] is not None:
            if out["parent_id"] == unit_id:
                raise RegistryError("Một đơn vị không thể là đơn vị cấp trên của chính nó.", field="parent_id")
            if not db.execute("SELECT 1 FROM units WHERE id = ?", [out["parent_id"]]).fetchone():
                raise RegistryError("Đơn vị cấp trên không tồn tại.", field="parent_id")
    return out


def create_unit(db, data: dict, *, actor: dict | None = None, now: datetime | None = None) -> int:
    """Create a unit (inspectors and imports only); logs the creation in the history."""
    code = (data.get("code") or "").strip()
    if not CODE_RE.match(code):
        raise RegistryError(
            f"Mã đơn vị “{code}” không hợp lệ: dùng chữ không dấu, số, dấu chấm, gạch ngang (tối đa 40 ký tự).",
            field="code",
        )
    if db.execute("SELECT 1 FROM units WHERE code = ?", [code]).fetchone():
        raise RegistryError(f"Mã đơn vị “{code}” đã có.", field="code")
    fields = _clean_unit_fields(db, {k: v for k, v in data.items() if k in INSPECTOR_FIELDS})
    fields.setdefault("name", "")
    if not fields["name"]:
        raise RegistryError("Tên đơn vị không được để trống.", field="name")
    fields.setdefault("group_code", "A")
    now = now or utcnow()
    with db.atomic():
        unit_id = db.table("units").insert({"code": code, "created_at": iso(now), **fields}).last_pk
        _log(db, unit_id, "unit", None, fields["name"], "Tạo đơn vị", actor, now)
    return unit_id


def update_unit(db, unit_id: int, data: dict, *, actor: dict, reason: str = "", now: datetime | None = None):
    """Change unit fields allowed to the actor's role; each changed field goes into the history."""
    allowed = INSPECTOR_FIELDS if actor and actor["role"] == "inspector" else EDITOR_FIELDS
    unknown = set(data) - set(allowed)
    if unknown:
        raise RegistryError("Bạn không có quyền sửa trường này: " + ", ".join(sorted(unknown)) + ".")
    fields = _clean_unit_fields(db, data, unit_id=unit_id)
    current = db.execute_returning_dicts("SELECT * FROM units WHERE id = ?", [unit_id])
    if not current:
        raise NotFound()
    now = now or utcnow()
    changed = {k: v for k, v in fields.items() if (current[0][k] or None) != (v or None)}
    with db.atomic():
        if changed:
            db.table("units").update(unit_id, changed)
        for key, value in changed.items():
            _log(db, unit_id, key, current[0][key], value, reason, actor, now)
    return changed


def set_hotline(
    db, unit_id: int, raw: str, *, actor: dict | None, reason: str = "", hours: str | None = None,
    is_demo: bool | None = None, now: datetime | None = None,
) -> dict:
    """Register or change the unit's one hotline (parsing the written form); logs old → new with the reason."""
    try:
        parsed = parse_hotline(raw)
    except NumberError as exc:
        raise RegistryError(exc.message, field="number", code=exc.code) from exc
    if hours is not None and hours not in HOURS:
        raise RegistryError("Thời gian trực phải là 24/24 giờ hoặc giờ hành chính.", field="hours")
    now = now or utcnow()
    old = db.execute_returning_dicts("SELECT * FROM hotlines WHERE unit_id = ?", [unit_id])
    old = old[0] if old else None
    row = {
        "unit_id": unit_id,
        "number": parsed.number,
        "kind": parsed.kind,
        "display": parsed.display,
        "raw": parsed.raw,
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
                    _log(db, unit_id, "number", old["display"], parsed.display, reason, actor, now)
                if old["hours"] != row["hours"]:
                    _log(db, unit_id, "hours", HOURS[old["hours"]], HOURS[row["hours"]], reason, actor, now)
            else:
                db.table("hotlines").insert(row)
                _log(db, unit_id, "number", None, parsed.display, reason, actor, now)
                if hours and hours != "24/7":
                    _log(db, unit_id, "hours", None, HOURS[hours], reason, actor, now)
    except sqlite3.IntegrityError as exc:
        if "number_taken" in str(exc):
            holder = db.execute(
                "SELECT u.name FROM hotlines h JOIN units u ON u.id = h.unit_id WHERE h.number = ? AND h.unit_id != ?",
                [parsed.number, unit_id],
            ).fetchone()
            raise NumberTaken(
                f"Số {parsed.display} đã được đăng ký cho “{holder[0] if holder else 'đơn vị khác'}”. "
                "Mỗi số chỉ thuộc một đơn vị, trừ khi Văn phòng UBND xác nhận đây là số dùng chung."
            ) from exc
        raise
    return row


def set_shared(db, unit_id: int, shared: bool, note: str, *, actor: dict, now: datetime | None = None):
    """Inspector marks the unit's number as deliberately shared with other units (or not)."""
    if shared and not note.strip():
        raise RegistryError("Hãy ghi lý do số này được dùng chung.", field="shared_note")
    now = now or utcnow()
    old = db.execute("SELECT shared, display FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()
    if not old:
        raise RegistryError("Đơn vị chưa có số đường dây nóng.")
    try:
        with db.atomic():
            db.execute(
                "UPDATE hotlines SET shared = ?, shared_note = ? WHERE unit_id = ?",
                [int(shared), note.strip(), unit_id],
            )
            _log(db, unit_id, "shared", str(old[0]), str(int(shared)), note, actor, now)
    except sqlite3.IntegrityError as exc:
        raise NumberTaken(
            f"Số {old[1]} cũng đang được đơn vị khác dùng: hãy bỏ đánh dấu dùng chung ở các đơn vị đó trước."
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
            db.execute(
                "INSERT INTO changes (unit_id, at, user_id, actor, field, old, new, reason) VALUES (?,?,?,?,?,?,?,?)",
                [unit_id, iso(now), None, actor_name, "flag", None, reason, reason],
            )


def clear_flag(db, unit_id: int, *, actor: dict, reason: str = "", now: datetime | None = None):
    now = now or utcnow()
    with db.atomic():
        cur = db.execute("UPDATE hotlines SET flagged_at = NULL, flag_reason = NULL WHERE unit_id = ?", [unit_id])
        if cur.rowcount:
            _log(db, unit_id, "flag", "1", None, reason or "Gỡ cờ", actor, now)


def _log(db, unit_id, field, old, new, reason, actor, now):
    db.execute(
        "INSERT INTO changes (unit_id, at, user_id, actor, field, old, new, reason) VALUES (?,?,?,?,?,?,?,?)",
        [
            unit_id, iso(now), actor["id"] if actor else None,
            (actor.get("email") if actor else "") or "hệ thống",
            field, None if old is None else str(old), None if new is None else str(new), reason or "",
        ],
    )


def history(db, unit_id: int) -> list[dict]:
    return db.execute_returning_dicts(
        "SELECT c.*, u.email AS user_email FROM changes c LEFT JOIN users u ON u.id = c.user_id "
        "WHERE c.unit_id = ? ORDER BY c.at DESC, c.id DESC",
        [unit_id],
    )


def recent_changes(db, limit: int = 100) -> list[dict]:
    return db.execute_returning_dicts(
        "SELECT c.*, un.code AS unit_code, un.name AS unit_name FROM changes c JOIN units un ON un.id = c.unit_id "
        "ORDER BY c.at DESC, c.id DESC LIMIT ?",
        [limit],
    )


GROUP_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$")


def _clean_group_fields(data: dict) -> dict:
    """Validate group fields; raise RegistryError naming the field, in Vietnamese."""
    out = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    if "name" in out and not out["name"]:
        raise RegistryError("Tên nhóm không được để trống.", field="name")
    for key, low, high, label in (("sort_order", -1000, 1000, "Thứ tự"), ("tests_per_week", 0, 100, "Số lần gọi kiểm tra mỗi tuần")):
        if key in out:
            try:
                out[key] = int(str(out[key]).strip())
            except ValueError:
                raise RegistryError(f"{label} phải là một số nguyên.", field=key) from None
            if not low <= out[key] <= high:
                raise RegistryError(f"{label} phải từ {low} đến {high}.", field=key)
    return out


def create_group(db, data: dict) -> str:
    """Add a group (a section of the appendix, e.g. A / B / C); returns its code."""
    code = (data.get("code") or "").strip()
    if not GROUP_CODE_RE.match(code):
        raise RegistryError(
            f"Mã nhóm “{code}” không hợp lệ: dùng chữ không dấu, số, dấu chấm, gạch ngang (tối đa 16 ký tự).",
            field="code",
        )
    if db.execute("SELECT 1 FROM groups WHERE code = ? COLLATE NOCASE", [code]).fetchone():
        raise RegistryError(f"Mã nhóm “{code}” đã có.", field="code")
    fields = _clean_group_fields({k: v for k, v in data.items() if k in ("name", "name_en", "sort_order", "tests_per_week")})
    if not fields.get("name"):
        raise RegistryError("Tên nhóm không được để trống.", field="name")
    if "sort_order" not in fields:  # a new group goes last unless told otherwise
        fields["sort_order"] = db.execute("SELECT coalesce(max(sort_order), 0) + 1 FROM groups").fetchone()[0]
    db.table("groups").insert({"code": code, **fields})
    return code


def update_group(db, code: str, data: dict) -> dict:
    """Rename a group or change its order or weekly test count; returns the fields that changed."""
    rows = db.execute_returning_dicts("SELECT * FROM groups WHERE code = ?", [code])
    if not rows:
        raise NotFound(f"Không có nhóm “{code}”.")
    fields = _clean_group_fields({k: v for k, v in data.items() if k in ("name", "name_en", "sort_order", "tests_per_week")})
    changed = {k: v for k, v in fields.items() if rows[0][k] != v}
    if changed:
        db.table("groups").update(code, changed)
    return changed


def set_hotline_shared(
    db, unit_id: int, raw: str, note: str, *, actor: dict, reason: str = "", hours: str | None = None,
    is_demo: bool | None = None, now: datetime | None = None,
) -> dict:
    """Inspector registers a number as deliberately shared: every other unit holding it must be marked shared already."""
    note = (note or "").strip()
    if not note:
        raise RegistryError("Hãy ghi lý do số này được dùng chung.", field="shared_note")
    try:
        parsed = parse_hotline(raw)
    except NumberError as exc:
        raise RegistryError(exc.message, field="number", code=exc.code) from exc
    if hours is not None and hours not in HOURS:
        raise RegistryError("Thời gian trực phải là 24/24 giờ hoặc giờ hành chính.", field="hours")
    private = db.execute(
        "SELECT u.name FROM hotlines h JOIN units u ON u.id = h.unit_id WHERE h.number = ? AND h.unit_id != ? AND h.shared = 0",
        [parsed.number, unit_id],
    ).fetchall()
    if private:
        raise NumberTaken(
            f"Số {parsed.display} đang là số riêng của “{private[0][0]}”: hãy đánh dấu số đó là dùng chung ở đơn vị ấy trước."
        )
    now = now or utcnow()
    old = db.execute_returning_dicts("SELECT * FROM hotlines WHERE unit_id = ?", [unit_id])
    old = old[0] if old else None
    row = {
        "unit_id": unit_id, "number": parsed.number, "kind": parsed.kind, "display": parsed.display, "raw": parsed.raw,
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
                _log(db, unit_id, "number", old["display"], parsed.display, reason, actor, now)
            if old["hours"] != row["hours"]:
                _log(db, unit_id, "hours", HOURS[old["hours"]], HOURS[row["hours"]], reason, actor, now)
            if not old["shared"] or old["number"] != parsed.number:
                _log(db, unit_id, "shared", str(old["shared"]), "1", note, actor, now)
        else:
            db.table("hotlines").insert(row)
            _log(db, unit_id, "number", None, parsed.display, reason, actor, now)
            if row["hours"] != "24/7":
                _log(db, unit_id, "hours", None, HOURS[row["hours"]], reason, actor, now)
            _log(db, unit_id, "shared", "0", "1", note, actor, now)
    return row


def last_change_times(db, unit_ids=None) -> dict[int, str]:
    """Each unit's most recent history entry time, by unit id (only the given units when named)."""
    if unit_ids is None:
        return dict(db.execute("SELECT unit_id, max(at) FROM changes GROUP BY unit_id").fetchall())
    ids = list(unit_ids)
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return dict(db.execute(f"SELECT unit_id, max(at) FROM changes WHERE unit_id IN ({marks}) GROUP BY unit_id", ids).fetchall())
