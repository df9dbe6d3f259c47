"""The inspectors' registry list, one unit's page (its hotline, contact, details, editors) and a new unit.

Agency editors reach only their own unit's page; everything else here is for inspectors.
"""
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from registry import accounts, clock
from registry.errors import NotFound, RegistryError, UserError
from registry.groups import list_groups
from registry.history import last_change_times, unit_history
from registry.hotlines import (
    HOURS,
    clear_flag,
    number_ok,
    out_of_province,
    set_hotline,
    set_hotline_shared,
    set_shared,
    written_number,
)
from registry.number_approval import approval_required, last_rejection, pending_for_unit, propose_number
from registry.numbers import parse_hotline
from registry.registration import register_unit
from registry.units import (
    KINDS,
    count_units,
    get_unit,
    is_current,
    list_units,
    registry_summary,
    unit_code_for_id,
    unit_id_for_code,
    unit_names,
    update_unit,
)
from registry.web import get_db
from registry.web.auth import can_edit_unit, inspector_required, login_required
from registry.web.blueprint import MAX_QUERY, bp, form_errors, page_number
from registry.web.errors import form_error
from registry.web.forms import (
    ContactForm,
    DetailsForm,
    FlagForm,
    InviteEditorForm,
    NewUnitForm,
    NumberForm,
    SharedForm,
)
from registry.web.history import FIELD_LABELS, readable

UNITS_PAGE = 100
# Filters of the inspectors' list.
STATES = {
    "current": _l("Đang hoạt động"),
    "all": _l("Tất cả (kể cả đã hết hiệu lực)"),
    "missing": _l("Chưa có số"),
    "flagged": _l("Bị gắn cờ không liên lạc được"),
    "shared": _l("Số dùng chung"),
    "historical": _l("Đã hết hiệu lực"),
}
EDITOR_ACTIONS = ("number", "contact")
INSPECTOR_ACTIONS = ("details", "shared", "flag", "invite")


def _today() -> str:
    """Today's local date (YYYY-MM-DD), read through the one clock of registry.clock."""
    return clock.local_today_iso(clock.utcnow())


@bp.route("/my")
@login_required
def my_unit():
    """An agency editor's own unit page; inspectors go to the registry list."""
    if g.user["role"] == "inspector":
        return redirect(url_for("registry.units"))
    code = unit_code_for_id(get_db(), g.user["unit_id"])
    if not code:
        abort(404)
    return redirect(url_for("registry.unit", code=code))


@bp.route("/units")
@inspector_required
def units():
    """Every unit with its compliance: number registered and valid, shared, flagged, last change (paged)."""
    db = get_db()
    query = request.args.get("q", "")[:MAX_QUERY].strip()
    group = request.args.get("group", "")[:16]
    state = request.args.get("state", "current")
    state = state if state in STATES else "current"
    today = _today()
    total = count_units(db, query=query, group=group, state=state, on=today)
    page, pages = page_number(total, UNITS_PAGE)
    rows = list_units(db, query=query, group=group, state=state, on=today, limit=UNITS_PAGE,
                      offset=(page - 1) * UNITS_PAGE)
    # Re-reading each number under today's rules is the costly part: only for the rows on this page.
    province = current_app.config["PROVINCE_AREA_CODE"]
    rows = [dict(u, current=is_current(u, today), number_ok=number_ok(u),
                 out_of_province=out_of_province(u["number"], province)) for u in rows]
    return render_template(
        "registry/units.html", units=rows, groups=list_groups(db), query=query, group=group, state=state,
        states=STATES, last=last_change_times(db, [u["id"] for u in rows]), summary=registry_summary(db, today),
        hours=HOURS, total=total, page=page, pages=pages,
    )


def _unit_choices(db, form, unit: dict | None) -> None:
    """Fill the group and parent select boxes of a details form."""
    form.group_code.choices = [(gr["code"], f"{gr['code']}. {gr['name']}") for gr in list_groups(db)]
    others = unit_names(db)
    form.parent_code.choices = [("", _("— Không có —"))] + [
        (code, f"{name} ({code})") for code, name in others if not unit or code != unit["code"]
    ]


def _forms(db, unit: dict, inspector: bool) -> dict:
    """The unit page's forms, filled with the unit's current values."""
    forms = {
        "number": NumberForm(formdata=None, data={"number": written_number(unit), "hours": unit["hours"] or "24/7",
                                                  "number_shared_note": unit["shared_note"] or ""}),
        "contact": ContactForm(formdata=None, data={k: unit[k] for k in ("contact_name", "contact_email", "address")}),
    }
    if inspector:
        forms["details"] = DetailsForm(formdata=None, data={
            "name": unit["name"], "unit_code": unit["code"], "kind": unit["kind"], "group_code": unit["group_code"],
            "parent_code": unit["parent_code"] or "", "valid_from": unit["valid_from"] or "",
            "valid_to": unit["valid_to"] or ""})
        forms["shared"] = SharedForm(formdata=None, data={"shared": bool(unit["shared"]),
                                                          "shared_note": unit["shared_note"] or ""})
        forms["flag"] = FlagForm(formdata=None)
        forms["invite"] = InviteEditorForm(formdata=None)
    return forms


FORM_CLASSES = {"number": NumberForm, "contact": ContactForm, "details": DetailsForm, "shared": SharedForm,
                "flag": FlagForm, "invite": InviteEditorForm}
ANCHORS = {"number": "so-duong-day-nong", "contact": "lien-he", "details": "thong-tin", "shared": "dung-chung",
           "flag": "co", "invite": "bien-tap-vien"}


def _change_number(db, unit: dict, form: NumberForm, inspector: bool) -> str:
    raw, hours, reason = form.number.data or "", form.hours.data, (form.reason.data or "").strip()
    if hours not in HOURS:
        raise RegistryError(_("Hãy chọn thời gian trực: 24/24 giờ hoặc giờ hành chính."), field="hours")
    parsed = parse_hotline(raw)  # a NumberError names the number field itself
    share = inspector and form.number_shared.data
    # The extension is part of how the line is reached: a change of it alone is a change too.
    same_line = parsed.number == unit["number"] and parsed.extension == (unit["extension"] or "")
    if same_line and hours == unit["hours"] and (not share or unit["shared"]):
        return _("Không có thay đổi nào.")
    if parsed.number != unit["number"] and not reason:
        raise RegistryError(_("Hãy ghi lý do đổi số (ví dụ: “Chuyển sang tổng đài mới”)."), field="reason")
    if not inspector and not same_line and approval_required(db, unit["id"]):
        propose_number(db, unit["id"], raw, actor=g.user, reason=reason, hours=hours)
        message = _("Đã gửi đề nghị đổi sang số %(number)s. Số mới chờ thanh tra viên duyệt; danh bạ vẫn giữ số cũ "
                    "cho tới khi được duyệt.", number=parsed.display)
    elif share:
        set_hotline_shared(db, unit["id"], raw, form.number_shared_note.data or "", actor=g.user, reason=reason,
                           hours=hours)
        message = _("Đã lưu số đường dây nóng %(number)s.", number=parsed.display)
    else:
        set_hotline(db, unit["id"], raw, actor=g.user, reason=reason, hours=hours)
        message = _("Đã lưu số đường dây nóng %(number)s.", number=parsed.display)
    _warn_out_of_province(parsed.number)
    return message


def _warn_out_of_province(number: str | None) -> None:
    """Flash the warning for a landline outside the province (saved all the same)."""
    warning = out_of_province(number, current_app.config["PROVINCE_AREA_CODE"])
    if warning:
        flash(warning, "warn")


def _change_contact(db, unit: dict, form: ContactForm) -> str:
    data = {k: getattr(form, k).data or "" for k in ("contact_name", "contact_email", "address")}
    changed = update_unit(db, unit["id"], data, actor=g.user, reason=form.contact_reason.data or "")
    return _("Đã lưu thông tin liên hệ.") if changed else _("Không có thay đổi nào.")


def _change_details(db, unit: dict, form: DetailsForm) -> str:
    parent = form.parent_code.data or ""
    parent_id = None
    if parent:
        parent_id = unit_id_for_code(db, parent)
        if parent_id is None:
            raise RegistryError(_("Đơn vị cấp trên “%(code)s” không tồn tại.", code=parent), field="parent_id")
    data = {"code": (form.unit_code.data or "").strip() or unit["code"], "name": form.name.data, "kind": form.kind.data,
            "group_code": form.group_code.data,
            "parent_id": parent_id, "valid_from": form.valid_from.data or "", "valid_to": form.valid_to.data or ""}
    changed = update_unit(db, unit["id"], data, actor=g.user, reason=form.details_reason.data or "")
    return _("Đã lưu thông tin đơn vị.") if changed else _("Không có thay đổi nào.")


def _change_shared(db, unit: dict, form: SharedForm) -> str:
    shared, note = bool(form.shared.data), (form.shared_note.data or "").strip()
    if shared == bool(unit["shared"]) and note == (unit["shared_note"] or ""):
        return _("Không có thay đổi nào.")
    set_shared(db, unit["id"], shared, note if shared else "", actor=g.user)
    return _("Đã đánh dấu số dùng chung.") if shared else _("Đã bỏ đánh dấu dùng chung.")


def _clear_flag(db, unit: dict, form: FlagForm) -> str:
    if not unit["flagged_at"]:
        return _("Số này không bị gắn cờ.")
    clear_flag(db, unit["id"], actor=g.user, reason=form.flag_reason.data or "")
    return _("Đã gỡ cờ không liên lạc được.")


def _invite(db, unit: dict, form: InviteEditorForm) -> str:
    token = accounts.invite_editor(db, form.invite_email.data, unit["id"], form.invite_name.data or "")
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("auth.accept_invite", token=token)


@bp.route("/units/<code>", methods=["GET", "POST"])
@login_required
def unit(code):
    """One unit: its hotline, contact and history; its editors and inspectors change them here."""
    db = get_db()
    try:
        row = get_unit(db, code)
    except NotFound:
        abort(404)
    if not can_edit_unit(row["id"]):
        abort(403)
    inspector = g.user["role"] == "inspector"
    forms = _forms(db, row, inspector)
    status, invite_link, active = 200, None, None
    if request.method == "POST":
        action = request.form.get("action", "")
        if action in INSPECTOR_ACTIONS and not inspector:
            abort(403)
        if action not in EDITOR_ACTIONS + INSPECTOR_ACTIONS:
            abort(400)
        active = action
        form = forms[action] = FORM_CLASSES[action]()
        if action == "details":
            _unit_choices(db, form, row)
        if form.validate_on_submit():
            try:
                if action == "number":
                    message = _change_number(db, row, form, inspector)
                elif action == "invite":
                    invite_link = _invite(db, row, form)
                    message = None
                else:
                    message = {"contact": _change_contact, "details": _change_details, "shared": _change_shared,
                               "flag": _clear_flag}[action](db, row, form)
            except UserError as exc:
                form_error(form, exc, {"email": "invite_email", "parent_id": "parent_code", "code": "unit_code",
                                          "shared_note": "number_shared_note" if action == "number" else "shared_note"})
            else:
                if message:
                    flash(message, "ok")
                    # By id: the details may have changed the unit's code, and so its address.
                    code = unit_code_for_id(db, row["id"]) or row["code"]
                    return redirect(url_for("registry.unit", code=code) + "#" + ANCHORS[action])
                forms[action] = InviteEditorForm(formdata=None)
                flash(_("Đã mời %(email)s. Gửi liên kết dưới đây cho người được mời; liên kết chỉ hiện một lần.",
                        email=form.invite_email.data), "ok")
        if invite_link is None:
            status = 400
    if "details" in forms and not forms["details"].group_code.choices:
        _unit_choices(db, forms["details"], row)
    try:
        attempts_url = url_for("monitor.unit_attempts", code=row["code"]) if inspector else None
    except BuildError:
        attempts_url = None
    return render_template(
        "registry/unit.html", unit=row, forms=forms, inspector=inspector, invite_link=invite_link,
        history=readable(db, unit_history(db, row["id"])), labels=FIELD_LABELS, hours=HOURS, kinds=KINDS,
        editors=accounts.unit_editors(db, row["id"]) if inspector else [], current=is_current(row, _today()),
        errors=form_errors(*forms.values()) if status == 400 else [], active=active, attempts_url=attempts_url,
        pending=pending_for_unit(db, row["id"]), rejected=last_rejection(db, row["id"]),
        out_of_province=out_of_province(row["number"], current_app.config["PROVINCE_AREA_CODE"]),
    ), status


@bp.route("/units/new", methods=["GET", "POST"])
@inspector_required
def unit_new():
    """Create a unit, optionally with its hotline, in one step."""
    db = get_db()
    form = NewUnitForm()
    _unit_choices(db, form, None)
    if not form.is_submitted():
        form.group_code.data = form.group_code.data or "A"
    if form.validate_on_submit():
        parent_id = None
        try:
            if form.parent_code.data:
                parent_id = unit_id_for_code(db, form.parent_code.data)
                if parent_id is None:
                    raise RegistryError(_("Đơn vị cấp trên không tồn tại."), field="parent_code")
            register_unit(db, {  # the unit and its number together, or neither
                "code": form.code.data, "name": form.name.data, "kind": form.kind.data,
                "group_code": form.group_code.data, "parent_id": parent_id,
                "valid_from": form.valid_from.data or "", "valid_to": form.valid_to.data or "",
                "contact_name": form.contact_name.data or "", "contact_email": form.contact_email.data or "",
                "address": form.address.data or "",
            }, form.number.data or "", form.hours.data, actor=g.user)
        except UserError as exc:
            form_error(form, exc, {"parent_id": "parent_code"})
        else:
            flash(_("Đã tạo đơn vị %(name)s.", name=form.name.data.strip()), "ok")
            _warn_out_of_province(get_unit(db, form.code.data.strip())["number"])
            return redirect(url_for("registry.unit", code=form.code.data.strip()))
    status = 400 if form.is_submitted() else 200
    return render_template("registry/unit_new.html", form=form,
                           errors=form_errors(form) if status == 400 else []), status
