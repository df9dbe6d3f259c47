"""The history of units as people read it: field names, parent codes, flags; the recent changes page."""
from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from registry.groups import list_groups
from registry.history import recent_changes
from registry.units import KINDS, unit_codes
from registry.web import get_db
from registry.web.auth import inspector_required
from registry.web.blueprint import bp

# Names of history fields as the pages show them (lazy: translated when a page is rendered).
FIELD_LABELS = {
    "unit": _l("Tạo đơn vị"),
    "number": _l("Số đường dây nóng"),
    "hours": _l("Thời gian trực"),
    "shared": _l("Dùng chung"),
    "flag": _l("Cờ không liên lạc được"),
    "name": _l("Tên"),
    "code": _l("Mã đơn vị"),
    "kind": _l("Loại đơn vị"),
    "group_code": _l("Nhóm"),
    "parent_id": _l("Đơn vị cấp trên"),
    "valid_from": _l("Hiệu lực từ"),
    "valid_to": _l("Hiệu lực đến"),
    "contact_name": _l("Người phụ trách"),
    "contact_email": _l("Thư điện tử liên hệ"),
    "address": _l("Địa chỉ"),
    "extension": _l("Máy lẻ"),
    "number_proposed": _l("Đề nghị đổi số (chờ duyệt)"),
    "number_approved": _l("Duyệt số mới"),
    "number_rejected": _l("Từ chối số mới"),
}


def readable(db, rows: list[dict]) -> list[dict]:
    """History rows with parent ids and flags written as people read them."""
    ids = unit_codes(db)
    groups = {gr["code"]: gr["name"] for gr in list_groups(db)}

    def show(field, value, side):
        if value is None:
            return ""
        if field == "parent_id":
            return ids.get(int(value), value) if str(value).isdigit() else value
        if field == "shared":
            return _("Có") if value == "1" else _("Không")
        if field == "flag" and side == "old":
            return _("Có cờ")
        if field == "kind":
            return str(KINDS.get(value, value))
        if field == "group_code":
            return f"{value}. {groups[value]}" if value in groups else value
        return value

    out = []
    for r in rows:
        cleared = r["field"] == "flag" and r["new"] is None
        out.append(dict(r, old=show(r["field"], r["old"], "old"),
                        new=_("Đã gỡ cờ") if cleared else show(r["field"], r["new"], "new")))
    return out


@bp.route("/changes")
@inspector_required
def changes():
    """The most recent changes across every unit."""
    db = get_db()
    return render_template(
        "registry/changes.html", changes=readable(db, recent_changes(db, limit=300)), labels=FIELD_LABELS,
    )
