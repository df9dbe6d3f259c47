"""Import and export pages of the appendix (XLSX or CSV), for inspectors."""
from flask import Response, abort, flash, g, render_template, request
from flask_babel import gettext as _

from registry import clock
from registry.appendix import ImportRejected, export_bytes, import_bytes
from registry.errors import UserError
from registry.groups import list_groups
from registry.web import get_db
from registry.web.auth import inspector_required
from registry.web.blueprint import bp, form_errors
from registry.web.errors import form_error
from registry.web.forms import ImportForm

PLAN_ROWS_SHOWN = 1000  # per table of the plan: a province's whole list, not a 50,000-row page
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/registry/import", methods=["GET", "POST"])
@inspector_required
def import_file():
    """Upload the appendix (XLSX or CSV): all or nothing, every bad row listed."""
    form = ImportForm()
    db = get_db()
    # Files that follow the letter's template have section rows (A, B, C); a list without them needs a group.
    form.default_group.choices = [("", _("— Theo dòng mục A, B, C trong tệp —"))] + [
        (gr["code"], f"{gr['code']}. {gr['name']}") for gr in list_groups(db)]
    result, rejected, status = None, None, 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = import_bytes(db, upload.read(), upload.filename or "", actor=g.user,
                                  dry_run=bool(form.dry_run.data), now=clock.utcnow(),
                                  default_group=form.default_group.data or None)
        except ImportRejected as exc:
            rejected, status = exc, 400
        except UserError as exc:  # the file as a whole cannot be read
            form_error(form, exc, {"group": "default_group"}, default="file")
            status = 400
        else:
            flash(result.summary, "ok")
    elif form.is_submitted():
        status = 400
    return render_template("registry/import.html", form=form, result=result, rejected=rejected, plan_rows_shown=PLAN_ROWS_SHOWN,
                           errors=form_errors(form) if status == 400 and not rejected else []), status


@bp.route("/registry/export.<fmt>")
@inspector_required
def export(fmt):
    """Download the appendix as XLSX or CSV (?all=1: with units no longer current)."""
    if fmt not in ("xlsx", "csv"):
        abort(404)
    everything = request.args.get("all") == "1"
    # One instant for the file's name, its heading date and which units are current: they must agree.
    now = clock.utcnow()
    data = export_bytes(get_db(), fmt, now=now, include_historical=everything)
    name = f"duong-day-nong-dong-thap-{clock.local_today(now):%Y-%m-%d}.{fmt}"
    return Response(data, mimetype=XLSX_MIME if fmt == "xlsx" else "text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
