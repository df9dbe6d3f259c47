"""Units: the agencies, departments and communes of the registry, their fields, validity and listing.

A unit's hotline lives in registry.hotlines, its group in registry.groups, and every change to it in
registry.history. Whether a unit is current is a question about a local date (registry.clock).
"""
import re
from datetime import datetime

from flask_babel import gettext, lazy_gettext

from registry import lengths
from registry.clock import iso, local_today_iso, utcnow
from registry.db import write_transaction
from registry.errors import NotFound, RegistryError
from registry.groups import group_exists
from registry.history import log_change, log_changes
from registry.lengths import check_length
from registry.text import fold

# The kinds of unit and their labels, in the reader's language.
KINDS = {
    "agency": lazy_gettext("Cơ quan, đơn vị"),
    "department": lazy_gettext("Sở, ban, ngành"),
    "district": lazy_gettext("Cấp huyện"),
    "commune": lazy_gettext("Xã"),
    "ward": lazy_gettext("Phường"),
    "vertical": lazy_gettext("Cơ quan ngành dọc"),
    "other": lazy_gettext("Khác"),
}
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Unit fields an editor or inspector may change, and who may change them.
EDITOR_FIELDS = ("contact_name", "contact_email", "address")
INSPECTOR_FIELDS = ("code", "name", "kind", "group_code", "parent_id", "valid_from", "valid_to") + EDITOR_FIELDS

UNIT_SELECT = """
SELECT u.*, g.name AS group_name, g.sort_order AS group_order,
       h.number, h.kind AS number_kind, h.display, h.raw, h.extension, h.hours, h.shared, h.shared_note, h.is_demo,
       h.flagged_at, h.flag_reason, h.updated_at AS number_updated_at,
       p.code AS parent_code, p.name AS parent_name
FROM units u
JOIN groups g ON g.code = u.group_code
LEFT JOIN hotlines h ON h.unit_id = u.id
LEFT JOIN units p ON p.id = u.parent_id
"""


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
    `on` is the local date (YYYY-MM-DD) that "current" refers to; by default today's (registry.clock).
    """
    state = state or ("current" if current_only else "all")
    where, params = _unit_filters(query, group, state, on or local_today_iso())
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
    where, params = _unit_filters(query, group, state, on or local_today_iso())
    sql = "SELECT count(*) FROM units u LEFT JOIN hotlines h ON h.unit_id = u.id"
    return db.execute(sql + (" WHERE " + " AND ".join(where) if where else ""), params).fetchone()[0]


def registry_summary(db, on: str | None = None) -> dict:
    """Current units, and among them those without a number, flagged, or sharing their number."""
    day = on or local_today_iso()
    row = db.execute(
        "SELECT count(*), sum(h.number IS NULL), sum(h.flagged_at IS NOT NULL), sum(coalesce(h.shared, 0)) "
        "FROM units u LEFT JOIN hotlines h ON h.unit_id = u.id WHERE " + _CURRENT,
        [day, day],
    ).fetchone()
    return {"current": row[0], "missing": row[1] or 0, "flagged": row[2] or 0, "shared": row[3] or 0}


def get_unit(db, code: str) -> dict:
    """One unit with its hotline and group by code; NotFound otherwise."""
    rows = db.execute_returning_dicts(UNIT_SELECT + " WHERE u.code = ?", [code])
    if not rows:
        raise NotFound(gettext("Không có đơn vị mã “%(code)s”.", code=code))
    return rows[0]


def get_unit_by_id(db, unit_id: int) -> dict:
    """One unit with its hotline and group by id; NotFound otherwise."""
    rows = db.execute_returning_dicts(UNIT_SELECT + " WHERE u.id = ?", [unit_id])
    if not rows:
        raise NotFound()
    return rows[0]


def _clean_unit_fields(db, data: dict, *, unit_id: int | None = None) -> dict:
    """Validate unit fields; raise RegistryError naming the field, in Vietnamese."""
    out = {}
    for key, value in data.items():
        out[key] = value.strip() if isinstance(value, str) else value
    if "code" in out:
        # A code made by an import may be replaced by the official one; links and accounts follow the unit's id.
        if not CODE_RE.match(out["code"] or ""):
            raise RegistryError(gettext("Mã đơn vị “%(code)s” không hợp lệ: dùng chữ không dấu, số, dấu chấm, gạch ngang "
                                        "(tối đa 40 ký tự).", code=out["code"]), field="code")
        # Case aside, so that a file's MÃ ĐƠN VỊ never finds two units.
        if db.execute("SELECT 1 FROM units WHERE upper(code) = upper(?) AND id IS NOT ?", [out["code"], unit_id]).fetchone():
            raise RegistryError(gettext("Mã đơn vị “%(code)s” đã có.", code=out["code"]), field="code")
    if "name" in out and not out["name"]:
        raise RegistryError(gettext("Tên đơn vị không được để trống."), field="name")
    for key, limit in (("name", lengths.NAME), ("contact_name", lengths.SHORT), ("contact_email", lengths.SHORT),
                       ("address", lengths.ADDRESS)):
        check_length(out.get(key), limit, key)
    if "kind" in out and out["kind"] not in KINDS:
        raise RegistryError(gettext("Loại đơn vị “%(kind)s” không hợp lệ.", kind=out['kind']), field="kind")
    if "group_code" in out and not group_exists(db, out["group_code"]):
        raise RegistryError(gettext("Không có nhóm “%(group_code)s”.", group_code=out['group_code']), field="group_code")
    for key in ("valid_from", "valid_to"):
        if key in out:
            out[key] = out[key] or None
            if out[key] and not DATE_RE.match(out[key]):
                raise RegistryError(gettext("Ngày phải viết theo dạng NNNN-TT-NN, ví dụ 2025-07-01."), field=key)
    if out.get("valid_from") and out.get("valid_to") and out["valid_to"] < out["valid_from"]:
        raise RegistryError(gettext("Ngày hết hiệu lực phải sau ngày bắt đầu."), field="valid_to")
    if out.get("contact_email") and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", out["contact_email"]):
        raise RegistryError(gettext("Thư điện tử liên hệ không hợp lệ: “%(contact_email)s”.", contact_email=out['contact_email']), field="contact_email")
    if "parent_id" in out:
        out["parent_id"] = out["parent_id"] or None
        if out["parent_id"] is not None:
            if out["parent_id"] == unit_id:
                raise RegistryError(gettext("Một đơn vị không thể là đơn vị cấp trên của chính nó."), field="parent_id")
            if not db.execute("SELECT 1 FROM units WHERE id = ?", [out["parent_id"]]).fetchone():
                raise RegistryError(gettext("Đơn vị cấp trên không tồn tại."), field="parent_id")
    return out


def create_unit(db, data: dict, *, actor: dict | None = None, now: datetime | None = None) -> int:
    """Create a unit (inspectors and imports only); logs the creation in the history."""
    code = (data.get("code") or "").strip()
    if not CODE_RE.match(code):
        raise RegistryError(
            gettext("Mã đơn vị “%(code)s” không hợp lệ: dùng chữ không dấu, số, dấu chấm, gạch ngang (tối đa 40 ký tự).",
                    code=code),
            field="code",
        )
    if db.execute("SELECT 1 FROM units WHERE code = ?", [code]).fetchone():
        raise RegistryError(gettext("Mã đơn vị “%(code)s” đã có.", code=code), field="code")
    fields = _clean_unit_fields(db, {k: v for k, v in data.items() if k in INSPECTOR_FIELDS})
    fields.setdefault("name", "")
    if not fields["name"]:
        raise RegistryError(gettext("Tên đơn vị không được để trống."), field="name")
    fields.setdefault("group_code", "A")
    now = now or utcnow()
    with write_transaction(db):
        unit_id = db.table("units").insert({"code": code, "created_at": iso(now), **fields}).last_pk
        log_change(db, unit_id, "unit", None, fields["name"], "Tạo đơn vị", actor, now)
    return unit_id


def update_unit(db, unit_id: int, data: dict, *, actor: dict, reason: str = "", now: datetime | None = None):
    """Change unit fields allowed to the actor's role; each changed field goes into the history."""
    allowed = INSPECTOR_FIELDS if actor and actor["role"] == "inspector" else EDITOR_FIELDS
    unknown = set(data) - set(allowed)
    if unknown:
        raise RegistryError(gettext("Bạn không có quyền sửa trường này: %(fields)s.", fields=", ".join(sorted(unknown))))
    fields = _clean_unit_fields(db, data, unit_id=unit_id)
    current = db.execute_returning_dicts("SELECT * FROM units WHERE id = ?", [unit_id])
    if not current:
        raise NotFound()
    now = now or utcnow()
    changed = {k: v for k, v in fields.items() if (current[0][k] or None) != (v or None)}
    with write_transaction(db):
        if changed:
            db.table("units").update(unit_id, changed)
        for key, value in changed.items():
            log_change(db, unit_id, key, current[0][key], value, reason, actor, now)
    return changed


def insert_units(db, rows: list[dict], *, actor: dict | None, now: datetime) -> dict[str, int]:
    """Create many checked units at once (the appendix import): rows of code, name, kind, group_code.

    One executemany for the units, one for their "Tạo đơn vị" history rows; returns the new ids by code.
    Runs inside the caller's write transaction (so the ids above the old maximum are these rows).
    """
    if not rows:
        return {}
    last, at = db.execute("SELECT coalesce(max(id), 0) FROM units").fetchone()[0], iso(now)
    db.conn.executemany(
        "INSERT INTO units (code, name, kind, group_code, created_at) VALUES (?, ?, ?, ?, ?)",
        [(r["code"], r["name"], r["kind"], r["group_code"], at) for r in rows],
    )
    ids = dict(db.execute("SELECT code, id FROM units WHERE id > ?", [last]).fetchall())
    log_changes(db, [(ids[r["code"]], "unit", None, r["name"], "Tạo đơn vị") for r in rows], actor, now)
    return ids


def rename_units(db, rows: list[dict], *, actor: dict | None, reason: str, now: datetime) -> None:
    """Give many units a new name and/or group at once (the appendix import, already checked).

    rows: unit (the unit's current row), name, group_code. One executemany, each changed field in the history.
    """
    db.conn.executemany("UPDATE units SET name = ?, group_code = ? WHERE id = ?",
                        [(r["name"], r["group_code"], r["unit"]["id"]) for r in rows])
    log_changes(db, [(r["unit"]["id"], key, r["unit"][key], r[key], reason)
                     for r in rows for key in ("name", "group_code") if r[key] != r["unit"][key]], actor, now)


def is_current(unit: dict, day: str) -> bool:
    """Whether a unit is in force on a local date (YYYY-MM-DD): valid_from ≤ day ≤ valid_to, both optional."""
    return (unit["valid_from"] or "") <= day and (unit["valid_to"] is None or unit["valid_to"] >= day)


def unit_id_for_code(db, code: str) -> int | None:
    """The id of the unit with this code, or None."""
    row = db.execute("SELECT id FROM units WHERE code = ?", [code]).fetchone()
    return row[0] if row else None


def unit_code_for_id(db, unit_id: int | None) -> str | None:
    """The code of the unit with this id, or None."""
    row = db.execute("SELECT code FROM units WHERE id = ?", [unit_id]).fetchone()
    return row[0] if row else None


def unit_codes(db) -> dict[int, str]:
    """Every unit's code by id (to show parent ids in the history as codes)."""
    return dict(db.execute("SELECT id, code FROM units").fetchall())


def unit_names(db) -> list[tuple[str, str]]:
    """(code, name) of every unit, by name (the choices of a parent unit)."""
    return [tuple(r) for r in db.execute("SELECT code, name FROM units ORDER BY name COLLATE NOCASE").fetchall()]
