"""The logbook's paper form on the web: a unit's book for a period downloaded as XLSX or PDF (its editors and
inspectors), a filled XLSX uploaded back (the unit's editors: all or nothing, every bad row listed), and the
monthly province-wide summary (inspectors)."""
from datetime import date

from flask import Response, abort, flash, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField

from registry import clock
from registry.appendix.check import ImportRejected
from registry.errors import UserError
from registry.logbook import paper, summary
from registry.logbook.paper.book import parse_day
from registry.units import get_unit
from registry.web import get_db
from registry.web.auth import inspector_required, login_required
from registry.web.blueprint import bp, form_errors
from registry.web.errors import form_error

MIME = {**paper.MIME, "csv": "text/csv; charset=utf-8", "json": "application/json"}


class BookUploadForm(FlaskForm):
    """Upload of a filled book (the XLSX of the export)."""

    file = FileField(_l("Sổ đã điền (XLSX)"), validators=[FileRequired(message=_l("Hãy chọn một tệp."))],
                     render_kw={"accept": ".xlsx"})
    dry_run = BooleanField(_l("Chỉ kiểm tra, không ghi gì"))


def _unit_for(code: str) -> tuple[dict, bool]:
    """The unit whose book is asked for and whether the reader is one of its editors; 403/404 otherwise."""
    unit = get_unit(get_db(), code)
    own = g.user["role"] == "agency" and g.user["unit_id"] == unit["id"]
    if g.user["role"] != "inspector" and not own:
        abort(403)
    return unit, own


def _month_bounds(today: date) -> tuple[date, date]:
    """The current month so far: the period the page offers first."""
    return today.replace(day=1), today


@bp.route("/units/<code>/logbook/paper", methods=["GET", "POST"])
@login_required
def logbook_paper(code):
    """The book on paper: download a period (XLSX to fill in, PDF to print), upload a filled XLSX (own unit)."""
    unit, own = _unit_for(code)
    form = BookUploadForm()
    result, rejected, status = None, None, 200
    if request.method == "POST":
        if not own:
            abort(403)  # inspectors read and export every book; only a unit's editors write it
        if form.validate_on_submit():
            upload = form.file.data
            try:
                result = paper.import_bytes(get_db(), upload.read(), upload.filename or "", user_id=g.user["id"],
                                            now=clock.utcnow(), unit=unit, dry_run=bool(form.dry_run.data))
            except ImportRejected as exc:
                rejected, status = exc, 400
            except UserError as exc:  # the file as a whole cannot be read, or is another unit's
                form_error(form, exc, default="file")
                status = 400
            else:
                flash(result.summary, "ok")
        else:
            status = 400
    start, end = _month_bounds(clock.local_today())
    return render_template("logbook/paper_page.html", unit=unit, form=form, can_write=own, result=result,
                           rejected=rejected, start=start, end=end,
                           errors=form_errors(form) if status == 400 and not rejected else []), status


@bp.route("/units/<code>/logbook/paper.<fmt>")
@login_required
def logbook_paper_download(code, fmt):
    """The unit's book from ?from= to ?to= (local dates) as XLSX or PDF, in the official layout."""
    if fmt not in paper.FORMATS:
        abort(404)
    unit, _own = _unit_for(code)
    start = parse_day(request.args.get("from", "")[:40], "from")
    end = parse_day(request.args.get("to", "")[:40], "to")
    data = paper.export_bytes(get_db(), unit, start, end, fmt, now=clock.utcnow())
    return Response(data, mimetype=MIME[fmt], headers={
        "Content-Disposition": f'attachment; filename="{paper.file_name(unit, start, end, fmt)}"'})


@bp.route("/logbook/summary")
@inspector_required
def logbook_summary():
    """The monthly province-wide summary of the logbooks, on the page and to download."""
    today = clock.local_today()
    text = request.args.get("month", "")[:20] or f"{today:%Y-%m}"
    year, month = summary.parse_month(text)
    found = summary.monthly(get_db(), year, month, now=clock.utcnow())
    return render_template("logbook/summary_page.html", s=found, month=f"{year:04d}-{month:02d}",
                           columns=summary.COLUMNS, formats=summary.FORMATS)


@bp.route("/logbook/summary.<fmt>")
@inspector_required
def logbook_summary_download(fmt):
    """The month's summary as PDF, XLSX, CSV or JSON (?month=YYYY-MM)."""
    if fmt not in summary.FORMATS:
        abort(404)
    year, month = summary.parse_month(request.args.get("month", "")[:20])
    data = summary.render(summary.monthly(get_db(), year, month, now=clock.utcnow()), fmt)
    name = f"tong-hop-so-theo-doi-{year:04d}-{month:02d}.{fmt}"
    return Response(data, mimetype=MIME[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})
