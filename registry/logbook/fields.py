"""The fields (lĩnh vực) an entry is filed under, each with its deadline in working days; inspectors set them.

The only writer of logbook_fields. A field's code is what entries keep; renaming a field or changing its
deadline changes no existing entry's deadline (a deadline is fixed when the entry is received).
"""
import re
from datetime import datetime

from flask_babel import gettext as _

from registry import clock
from registry import db as dbmod
from registry.errors import UserError

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
MAX_DAYS = 365
_COLUMNS = ("code", "name", "name_en", "deadline_days", "sort_order", "updated_at", "updated_by")


class FieldError(UserError):
    status = 400


def all_fields(db) -> list[dict]:
    """Every field in display order."""
    rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM logbook_fields ORDER BY sort_order, code").fetchall()
    return [dict(zip(_COLUMNS, row)) for row in rows]


def get(db, code: str) -> dict | None:
    row = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM logbook_fields WHERE code = ?", [code]).fetchone()
    return dict(zip(_COLUMNS, row)) if row else None


def _clean(name: str, name_en: str, days) -> tuple[str, str, int]:
    """The checked name, English name and deadline of a form, or a clear error naming the field."""
    name, name_en = (name or "").strip(), (name_en or "").strip()
    if not name:
        raise FieldError(_("Nhập tên lĩnh vực."), field="name")
    if len(name) > 200 or len(name_en) > 200:
        raise FieldError(_("Tên lĩnh vực quá dài (tối đa 200 ký tự)."), field="name")
    try:
        days = int(str(days).strip())
    except ValueError:
        raise FieldError(_("Thời hạn phải là một số ngày làm việc."), field="deadline_days") from None
    if not 0 <= days <= MAX_DAYS:
        raise FieldError(_("Thời hạn phải từ 0 đến %(max)d ngày làm việc.", max=MAX_DAYS), field="deadline_days")
    return name, name_en, days


def update(db, code: str, *, name: str, name_en: str = "", deadline_days, user_id: int | None,
           now: datetime) -> dict:
    """Rename a field or change its deadline (entries already received keep theirs)."""
    if get(db, code) is None:
        raise FieldError(_("Lĩnh vực không tồn tại: %(code)s", code=code), field="code", status=404)
    name, name_en, days = _clean(name, name_en, deadline_days)
    with dbmod.write_transaction(db):
        db.execute(
            "UPDATE logbook_fields SET name = ?, name_en = ?, deadline_days = ?, updated_at = ?, updated_by = ? "
            "WHERE code = ?",
            [name, name_en, days, clock.iso(now), user_id, code],
        )
    return get(db, code)


def add(db, code: str, *, name: str, name_en: str = "", deadline_days, user_id: int | None, now: datetime) -> dict:
    """Add a field, placed after the others."""
    code = (code or "").strip().lower()
    if not CODE_RE.match(code):
        raise FieldError(_("Mã lĩnh vực gồm chữ thường không dấu, số và dấu gạch ngang (tối đa 32 ký tự)."),
                         field="code")
    name, name_en, days = _clean(name, name_en, deadline_days)
    with dbmod.write_transaction(db):
        if get(db, code) is not None:
            raise FieldError(_("Mã lĩnh vực đã có: %(code)s", code=code), field="code", status=409)
        db.execute(
            "INSERT INTO logbook_fields (code, name, name_en, deadline_days, sort_order, updated_at, updated_by) "
            "VALUES (?, ?, ?, ?, (SELECT coalesce(max(sort_order), 0) + 1 FROM logbook_fields), ?, ?)",
            [code, name, name_en, days, clock.iso(now), user_id],
        )
    return get(db, code)
