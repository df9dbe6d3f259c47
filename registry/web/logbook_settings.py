"""The inspectors' logbook settings: the fields with their deadlines in working days, and the calendar's declared
days (make-up working Saturdays, extra days off) beside the public holidays the holidays package gives."""
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from registry import clock
from registry.errors import UserError
from registry.logbook import calendar, fields
from registry.web import get_db
from registry.web.auth import inspector_required
from registry.web.blueprint import bp


def _fail(exc: UserError):
    return exc.status if 400 <= exc.status < 500 else 400, exc


@bp.route("/logbook/fields", methods=["GET", "POST"])
@inspector_required
def logbook_fields():
    """Every field: rename it, change its deadline; add a field."""
    db = get_db()
    status, error = 200, None
    if request.method == "POST":
        action = request.form.get("action", "")
        if action not in ("update", "add"):
            abort(400)
        form = request.form
        try:
            if action == "add":
                saved = fields.add(db, form.get("code", ""), name=form.get("name", ""), name_en=form.get("name_en", ""),
                                   deadline_days=form.get("deadline_days", ""), user_id=g.user["id"],
                                   now=clock.utcnow())
            else:
                saved = fields.update(db, form.get("code", ""), name=form.get("name", ""),
                                      name_en=form.get("name_en", ""), deadline_days=form.get("deadline_days", ""),
                                      user_id=g.user["id"], now=clock.utcnow())
        except UserError as exc:
            status, error = _fail(exc)
        else:
            flash(_("Đã lưu lĩnh vực %(name)s (%(days)d ngày làm việc).", name=saved["name"],
                    days=saved["deadline_days"]), "ok")
            return redirect(url_for("registry.logbook_fields"))
    return render_template("logbook/settings_fields.html", fields=fields.all_fields(db), error=error,
                           form=request.form if error else {}), status


def _year() -> int:
    raw = request.args.get("year", "")
    if not raw:
        return clock.local_today(clock.utcnow()).year
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        abort(404)
    return int(raw)


@bp.route("/logbook/calendar", methods=["GET", "POST"])
@inspector_required
def logbook_calendar():
    """A year's public holidays (from the holidays package) and declared days; declare or remove a day."""
    db = get_db()
    year = _year()
    status, error = 200, None
    if request.method == "POST":
        action = request.form.get("action", "")
        if action not in ("declare", "remove"):
            abort(400)
        try:
            day = calendar.parse_day(request.form.get("day", ""))
            if action == "declare":
                working = request.form.get("working", "")
                if working not in ("0", "1"):
                    raise calendar.CalendarError(_("Chọn ngày làm việc bù hoặc ngày nghỉ."), field="working")
                calendar.declare(db, day, working == "1", request.form.get("note", ""), user_id=g.user["id"],
                                 now=clock.utcnow())
                message = _("Đã khai báo ngày %(day)s.", day=day.isoformat())
            else:
                if not calendar.undeclare(db, day):
                    raise calendar.CalendarError(_("Ngày %(day)s chưa được khai báo.", day=day.isoformat()),
                                                 field="day")
                message = _("Đã bỏ khai báo ngày %(day)s.", day=day.isoformat())
        except UserError as exc:
            status, error = _fail(exc)
        else:
            flash(message, "ok")
            return redirect(url_for("registry.logbook_calendar", year=day.year))
    return render_template(
        "logbook/settings_calendar.html", year=year, holidays=calendar.public_holidays(year),
        workdays=calendar.package_workdays(year), declared=calendar.declared(db, year), error=error,
        form=request.form if error else {},
    ), status
