"""Registry pages: public directory, agency self-service, inspectors' registry, groups, import and export."""
import functools

from flask import (
    Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for,
)
from flask_babel import gettext as _, lazy_gettext as _l
from werkzeug.routing import BuildError

from registry import accounts
from registry.web.auth import can_edit_unit, inspector_required, login_required
from registry.clock import iso, utcnow
from registry.errors import NotFound, RegistryError
from registry.web.forms import ContactForm, DetailsForm, FlagForm, GroupForm, ImportForm, InviteEditorForm, NewUnitForm, NumberForm, SharedForm
from registry.numbers import NumberError, parse_hotline
from registry.appendix import LOCAL, ImportRejected, TemplateError, export_bytes, import_bytes
from registry.units import HOURS, KINDS, clear_flag, count_units, create_group, create_unit, get_unit, history, last_change_times, list_groups, registry_summary, list_units, recent_changes, set_hotline, set_hotline_shared, set_shared, update_group, update_unit
from registry.web import get_db

bp = Blueprint("registry", __name__)

MAX_QUERY = 100
# Names of history fields as the pages show them (lazy: translated when a page is rendered).
FIELD_LABELS = {
    "unit": _l("Tạo đơn vị"),
    "number": _l("Số đường dây nóng"),
    "hours": _l("Thời gian trực"),
    "shared": _l("Dùng chung"),
    "flag": _l("Cờ không liên lạc được"),
    "name": _l("Tên"),
    "kind": _l("Loại đơn vị"),
    "group_code": _l("Nhóm"),
    "parent_id": _l("Đơn vị cấp trên"),
    "valid_from": _l("Hiệu lực từ"),
    "valid_to": _l("Hiệu lực đến"),
    "contact_name": _l("Người phụ trách"),
    "contact_email": _l("Thư điện tử liên hệ"),
    "address": _l("Địa chỉ"),
}
# Filters of the inspectors' list.
DIRECTORY_PAGE = 200
UNITS_PAGE = 100
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
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today() -> str:
    return iso(utcnow())[:10]


def _is_current(unit: dict, today: str) -> bool:
    return (unit["valid_from"] or "") <= today and (unit["valid_to"] is None or unit["valid_to"] >= today)


def _attach_error(form, exc: RegistryError, fields: dict | None = None) -> None:
    """Show a domain error next to the field it names, or above the form when it names none."""
    name = (fields or {}).get(exc.field, exc.field)
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def _form_errors(*forms) -> list[tuple[str, str]]:
    """(field id, message) of every error on the page, for the summary at the top."""
    out = []
    for form in forms:
        out += [("", message) for message in form.form_errors]
        for field in form:
            out += [(field.id, message) for message in field.errors]
    return out


# ---------------------------------------------------------------- public


@bp.route("/")
def directory():
    """Public directory: current units with their hotline, grouped as in the appendix, searchable, printable.

    Paged (DIRECTORY_PAGE rows) so a province-wide registry stays fast; ?all=1 gives the whole list to print.
    """
    db = get_db()
    query = request.args.get("q", "")[:MAX_QUERY].strip()
    group = request.args.get("group", "")[:16]
    groups = list_groups(db)
    if group not in {gr["code"] for gr in groups}:
        group = ""
    show_all = request.args.get("all") == "1"
    total = count_units(db, query=query, group=group, state="current")
    page, pages = _page(total, DIRECTORY_PAGE)
    units = list_units(
        db, query=query, group=group, current_only=True,
        limit=None if show_all else DIRECTORY_PAGE, offset=0 if show_all else (page - 1) * DIRECTORY_PAGE,
    )
    sections = [(gr, [u for u in units if u["group_code"] == gr["code"]]) for gr in groups]
    return render_template(
        "registry/directory.html", sections=[s for s in sections if s[1]], units=units, groups=groups,
        query=query, group=group, has_demo=any(u["is_demo"] for u in units), today=utcnow(), total=total,
        page=page, pages=1 if show_all else pages, show_all=show_all,
    )


def _page(total: int, size: int) -> tuple[int, int]:
    """The requested page number (clamped to what exists) and the number of pages."""
    pages = max(1, -(-total // size))
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    return min(max(page, 1), pages), pages


@bp.route("/my")
@login_required
def my_unit():
    if g.user["role"] == "inspector":
        return redirect(url_for("registry.units"))
    unit = get_db().execute("SELECT code FROM units WHERE id = ?", [g.user["unit_id"]]).fetchone()
    if not unit:
        abort(404)
    return redirect(url_for("registry.unit", code=unit[0]))


# ---------------------------------------------------------------- inspectors' registry


def _number_ok(unit: dict) -> bool | None:
    """Whether the stored number still reads as the same valid number under today's rules (None: no number)."""
    if not unit["number"]:
        return None
    return _still_valid(unit["raw"] or unit["display"], unit["number"])


@functools.lru_cache(maxsize=65536)
def _still_valid(written: str, number: str) -> bool:
    # The rules are code, constant for the life of the process: a re-read is only worth doing once.
    try:
        return parse_hotline(written).number == number
    except NumberError:
        return False


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
    page, pages = _page(total, UNITS_PAGE)
    rows = list_units(db, query=query, group=group, state=state, on=today, limit=UNITS_PAGE,
                      offset=(page - 1) * UNITS_PAGE)
    # Re-reading each number under today's rules is the costly part: only for the rows on this page.
    rows = [dict(u, current=_is_current(u, today), number_ok=_number_ok(u)) for u in rows]
    return render_template(
        "registry/units.html", units=rows, groups=list_groups(db), query=query, group=group, state=state,
        states=STATES, last=last_change_times(db, [u["id"] for u in rows]), summary=registry_summary(db, today),
        hours=HOURS, total=total, page=page, pages=pages,
    )


@bp.route("/changes")
@inspector_required
def changes():
    """The most recent changes across every unit."""
    db = get_db()
    return render_template(
        "registry/changes.html", changes=_readable(db, recent_changes(db, limit=300)), labels=FIELD_LABELS,
    )


def _readable(db, rows: list[dict]) -> list[dict]:
    """History rows with parent ids and flags written as people read them."""
    ids = {r[0]: r[1] for r in db.execute("SELECT id, code FROM units").fetchall()}
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
            return KINDS.get(value, value)
        if field == "group_code":
            return f"{value}. {groups[value]}" if value in groups else value
        return value

    out = []
    for r in rows:
        cleared = r["field"] == "flag" and r["new"] is None
        out.append(dict(r, old=show(r["field"], r["old"], "old"),
                        new=_("Đã gỡ cờ") if cleared else show(r["field"], r["new"], "new")))
    return out


# ---------------------------------------------------------------- one unit


def _unit_choices(db, form, unit: dict | None) -> None:
    """Fill the group and parent select boxes of a details form."""
    form.group_code.choices = [(gr["code"], f"{gr['code']}. {gr['name']}") for gr in list_groups(db)]
    others = db.execute("SELECT code, name FROM units ORDER BY name COLLATE NOCASE").fetchall()
    form.parent_code.choices = [("", _("— Không có —"))] + [
        (code, f"{name} ({code})") for code, name in others if not unit or code != unit["code"]
    ]


def _forms(db, unit: dict, inspector: bool) -> dict:
    """The unit page's forms, filled with the unit's current values."""
    forms = {
        "number": NumberForm(formdata=None, data={"number": unit["display"] or "", "hours": unit["hours"] or "24/7",
                                                  "number_shared_note": unit["shared_note"] or ""}),
        "contact": ContactForm(formdata=None, data={k: unit[k] for k in ("contact_name", "contact_email", "address")}),
    }
    if inspector:
        forms["details"] = DetailsForm(formdata=None, data={
            "name": unit["name"], "kind": unit["kind"], "group_code": unit["group_code"],
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
    try:
        parsed = parse_hotline(raw)
    except NumberError as exc:
        raise RegistryError(exc.message, field="number") from exc
    share = inspector and form.number_shared.data
    if parsed.number == unit["number"] and hours == unit["hours"] and (not share or unit["shared"]):
        return _("Không có thay đổi nào.")
    if parsed.number != unit["number"] and not reason:
        raise RegistryError(_("Hãy ghi lý do đổi số (ví dụ: “Chuyển sang tổng đài mới”)."), field="reason")
    if share:
        set_hotline_shared(db, unit["id"], raw, form.number_shared_note.data or "", actor=g.user, reason=reason,
                           hours=hours)
    else:
        set_hotline(db, unit["id"], raw, actor=g.user, reason=reason, hours=hours)
    return _("Đã lưu số đường dây nóng %(number)s.", number=parsed.display)


def _change_contact(db, unit: dict, form: ContactForm) -> str:
    data = {k: getattr(form, k).data or "" for k in ("contact_name", "contact_email", "address")}
    changed = update_unit(db, unit["id"], data, actor=g.user, reason=form.contact_reason.data or "")
    return _("Đã lưu thông tin liên hệ.") if changed else _("Không có thay đổi nào.")


def _change_details(db, unit: dict, form: DetailsForm) -> str:
    parent = form.parent_code.data or ""
    parent_id = None
    if parent:
        row = db.execute("SELECT id FROM units WHERE code = ?", [parent]).fetchone()
        if not row:
            raise RegistryError(_("Đơn vị cấp trên “%(code)s” không tồn tại.", code=parent), field="parent_id")
        parent_id = row[0]
    data = {"name": form.name.data, "kind": form.kind.data, "group_code": form.group_code.data,
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


def _editors(db, unit_id: int) -> list[dict]:
    return db.execute_returning_dicts(
        "SELECT email, name, active, password_hash IS NOT NULL AS activated, invite_expires_at, last_login_at "
        "FROM users WHERE unit_id = ? ORDER BY email", [unit_id])


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
            except RegistryError as exc:
                _attach_error(form, exc, {"email": "invite_email", "parent_id": "parent_code",
                                          "shared_note": "number_shared_note" if action == "number" else "shared_note"})
            else:
                if message:
                    flash(message, "ok")
                    return redirect(url_for("registry.unit", code=row["code"]) + "#" + ANCHORS[action])
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
        history=_readable(db, history(db, row["id"])), labels=FIELD_LABELS, hours=HOURS, kinds=KINDS,
        editors=_editors(db, row["id"]) if inspector else [], current=_is_current(row, _today()),
        errors=_form_errors(*forms.values()) if status == 400 else [], active=active, attempts_url=attempts_url,
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
                found = db.execute("SELECT id FROM units WHERE code = ?", [form.parent_code.data]).fetchone()
                if not found:
                    raise RegistryError(_("Đơn vị cấp trên không tồn tại."), field="parent_code")
                parent_id = found[0]
            with db.atomic():  # the unit and its number together, or neither
                unit_id = create_unit(db, {
                    "code": form.code.data, "name": form.name.data, "kind": form.kind.data,
                    "group_code": form.group_code.data, "parent_id": parent_id,
                    "valid_from": form.valid_from.data or "", "valid_to": form.valid_to.data or "",
                    "contact_name": form.contact_name.data or "", "contact_email": form.contact_email.data or "",
                    "address": form.address.data or "",
                }, actor=g.user)
                if (form.number.data or "").strip():
                    set_hotline(db, unit_id, form.number.data, actor=g.user, reason="Đăng ký khi tạo đơn vị",
                                hours=form.hours.data if form.hours.data in HOURS else None)
        except RegistryError as exc:
            _attach_error(form, exc, {"parent_id": "parent_code"})
        else:
            flash(_("Đã tạo đơn vị %(name)s.", name=form.name.data.strip()), "ok")
            return redirect(url_for("registry.unit", code=form.code.data.strip()))
    status = 400 if form.is_submitted() else 200
    return render_template("registry/unit_new.html", form=form,
                           errors=_form_errors(form) if status == 400 else []), status


# ---------------------------------------------------------------- groups


@bp.route("/groups", methods=["GET", "POST"])
@inspector_required
def groups():
    """The groups (sections A, B, C… of the appendix) and how often their hotlines are tested; add a group."""
    db = get_db()
    form = GroupForm()
    if form.validate_on_submit():
        data = {k: getattr(form, k).data or "" for k in ("code", "name", "name_en", "sort_order", "tests_per_week")}
        try:
            code = create_group(db, data)
        except RegistryError as exc:
            _attach_error(form, exc)
        else:
            flash(_("Đã thêm nhóm %(code)s.", code=code), "ok")
            return redirect(url_for("registry.groups"))
    elif not form.is_submitted():
        form.tests_per_week.data = "3"
        form.sort_order.data = str(max([gr["sort_order"] for gr in list_groups(db)] or [0]) + 1)
    counts = dict(db.execute("SELECT group_code, count(*) FROM units GROUP BY group_code").fetchall())
    status = 400 if form.is_submitted() else 200
    return render_template("registry/groups.html", groups=list_groups(db), counts=counts, form=form,
                           errors=_form_errors(form) if status == 400 else []), status


@bp.route("/groups/<code>", methods=["GET", "POST"])
@inspector_required
def group(code):
    """Rename a group, change its order or its weekly number of test calls."""
    db = get_db()
    found = [gr for gr in list_groups(db) if gr["code"] == code]
    if not found:
        abort(404)
    current = found[0]
    form = GroupForm(data={k: str(v) if isinstance(v, int) else v for k, v in current.items()})
    if form.validate_on_submit():
        try:
            changed = update_group(db, code, {k: getattr(form, k).data or "" for k in
                                              ("name", "name_en", "sort_order", "tests_per_week")})
        except RegistryError as exc:
            _attach_error(form, exc)
        else:
            flash(_("Đã lưu nhóm %(code)s.", code=code) if changed else _("Không có thay đổi nào."), "ok")
            return redirect(url_for("registry.groups"))
    status = 400 if form.is_submitted() else 200
    return render_template("registry/group.html", group=current, form=form,
                           errors=_form_errors(form) if status == 400 else []), status


# ---------------------------------------------------------------- import / export


@bp.route("/registry/import", methods=["GET", "POST"])
@inspector_required
def import_file():
    """Upload the appendix (XLSX or CSV): all or nothing, every bad row listed."""
    form = ImportForm()
    result, rejected, status = None, None, 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = import_bytes(get_db(), upload.read(), upload.filename or "", actor=g.user,
                                  dry_run=bool(form.dry_run.data))
        except ImportRejected as exc:
            rejected, status = exc, 400
        except TemplateError as exc:
            form.file.errors = [*form.file.errors, exc.message]
            status = 400
        else:
            flash(result.summary, "ok")
    elif form.is_submitted():
        status = 400
    return render_template("registry/import.html", form=form, result=result, rejected=rejected,
                           errors=_form_errors(form) if status == 400 and not rejected else []), status


@bp.route("/registry/export.<fmt>")
@inspector_required
def export(fmt):
    """Download the appendix as XLSX or CSV (?all=1: with units no longer current)."""
    if fmt not in ("xlsx", "csv"):
        abort(404)
    everything = request.args.get("all") == "1"
    data = export_bytes(get_db(), fmt, include_historical=everything)
    name = f"duong-day-nong-dong-thap-{utcnow().astimezone(LOCAL):%Y-%m-%d}.{fmt}"
    return Response(data, mimetype=XLSX_MIME if fmt == "xlsx" else "text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
