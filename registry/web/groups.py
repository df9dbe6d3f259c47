"""The groups pages: sections A, B, C… of the appendix, their order, weekly number of test calls and the
counted tests a unit needs for a verdict."""
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from registry.errors import UserError
from registry.groups import create_group, list_groups, unit_counts, update_group
from registry.web import get_db
from registry.web.auth import inspector_required
from registry.web.blueprint import bp, form_errors
from registry.web.errors import form_error
from registry.web.forms import GroupForm


@bp.route("/groups", methods=["GET", "POST"])
@inspector_required
def groups():
    """The groups (sections A, B, C… of the appendix) and how often their hotlines are tested; add a group."""
    db = get_db()
    form = GroupForm()
    if form.validate_on_submit():
        data = {k: getattr(form, k).data or "" for k in ("code", "name", "name_en", "sort_order", "tests_per_week",
                                                          "min_tests")}
        try:
            code = create_group(db, data)
        except UserError as exc:
            form_error(form, exc)
        else:
            flash(_("Đã thêm nhóm %(code)s.", code=code), "ok")
            return redirect(url_for("registry.groups"))
    elif not form.is_submitted():
        form.tests_per_week.data = "3"
        form.min_tests.data = "4"
        form.sort_order.data = str(max([gr["sort_order"] for gr in list_groups(db)] or [0]) + 1)
    status = 400 if form.is_submitted() else 200
    return render_template("registry/groups.html", groups=list_groups(db), counts=unit_counts(db), form=form,
                           errors=form_errors(form) if status == 400 else []), status


@bp.route("/groups/<code>", methods=["GET", "POST"])
@inspector_required
def group(code):
    """Rename a group, change its order, its weekly number of test calls or its minimum for a verdict."""
    db = get_db()
    found = [gr for gr in list_groups(db) if gr["code"] == code]
    if not found:
        abort(404)
    current = found[0]
    form = GroupForm(data={k: str(v) if isinstance(v, int) else v for k, v in current.items()})
    if form.validate_on_submit():
        try:
            changed = update_group(db, code, {k: getattr(form, k).data or "" for k in
                                              ("name", "name_en", "sort_order", "tests_per_week", "min_tests")})
        except UserError as exc:
            form_error(form, exc)
        else:
            flash(_("Đã lưu nhóm %(code)s.", code=code) if changed else _("Không có thay đổi nào."), "ok")
            return redirect(url_for("registry.groups"))
    status = 400 if form.is_submitted() else 200
    return render_template("registry/group.html", group=current, form=form,
                           errors=form_errors(form) if status == 400 else []), status
