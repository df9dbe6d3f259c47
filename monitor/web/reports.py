"""Accountability pages: the period report (league table, charts, downloads), the evidence behind every
figure, a unit's results with its disputes, the inspectors' dispute queue and the alerts sent.

Roles: inspectors see everything; an agency editor sees only its own unit's result pages (and may dispute
them); anyone else signed in gets 403, anonymous visitors the login page.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import DataRequired, Length

from monitor import alerts as alert_store
from monitor import disputes, labels
from monitor.attempts.outcomes import COUNTS_AGAINST, FAILURES, OUTCOMES
from monitor.reports import charts, figures, tables, wording
from monitor.reports.drilldown import FilterError, attempt_evidence, list_attempts
from monitor.reports.measure import period_metrics
from monitor.reports.periods import Period, PeriodError, from_args
from monitor.reports.render import FORMATS, MEDIA_TYPES, render, render_unit_file
from monitor.reports.report import build_report
from monitor.reports.summaries import attach_previous, summary
from monitor.reports.tally import Tally
from monitor.reports.unit_file import build_unit_file
from monitor.scheduling.bands import BANDS
from monitor.web import report_surveys, settings, unit_view
from registry.clock import local_today, utcnow
from registry.errors import NotFound
from registry.groups import group_exists, list_groups
from registry.units import get_unit, unit_code_for_id
from registry.web import filters, get_db
from registry.web.auth import inspector_required, login_required
from registry.web.errors import form_error

bp = Blueprint("reports", __name__, url_prefix="/reports")
PAGE_SIZE = 200
MAX_PAGE = 1_000_000
PERIOD_KEYS = ("month", "quarter", "from", "to")
LEAGUE_ROWS = 200  # per group on the page; the XLSX and CSV always hold every unit
# The labels of codes, in the reader's language (monitor/labels.py).
OUTCOME_LABELS, BAND_LABELS, SCOPE_LABELS = labels.OUTCOME, labels.BAND, labels.SCOPE
STATUS_LABELS, DISPUTE_LABELS = labels.VERDICT, labels.DISPUTE_STATUS


class DisputeForm(FlaskForm):
    explanation = TextAreaField(
        _l("Giải trình của đơn vị"),
        validators=[DataRequired(message=_l("Hãy ghi giải trình: vì sao kết quả này chưa đúng.")),
                    Length(max=disputes.MAX_TEXT, message=_l("Giải trình tối đa %(max)d ký tự."))],
    )


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Quyết định"), choices=[("accept", _l("Chấp nhận (cuộc gọi không tính vào kết quả)")),
                                   ("reject", _l("Không chấp nhận (giữ nguyên kết quả)"))],
        validators=[DataRequired(message=_l("Hãy chọn chấp nhận hoặc không chấp nhận."))],
    )
    reason = TextAreaField(
        _l("Lý do"),
        validators=[DataRequired(message=_l("Hãy ghi lý do quyết định.")),
                    Length(max=disputes.MAX_TEXT, message=_l("Lý do tối đa %(max)d ký tự."))],
    )


# ------------------------------------------------------------------------------------------------ helpers

def _period() -> Period:
    return from_args(request.args, now=utcnow())


def _period_args(period: Period) -> dict:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def _min_rate() -> float:
    return settings().report_min_answer_rate


def _group_arg(db) -> str | None:
    group = request.args.get("group", "").strip()[:16]
    if group and not group_exists(db, group):
        raise PeriodError(_("Không có nhóm “%(group)s”.", group=group), "group")
    return group or None


def _unit_or_404(db, code: str) -> dict:
    try:
        return get_unit(db, code[:40])
    except NotFound:
        abort(404)


def _own_unit_or_403(unit: dict) -> None:
    """Inspectors see every unit; an agency editor only its own."""
    if g.user["role"] != "inspector" and g.user["unit_id"] != unit["id"]:
        abort(403)


def _quarters(today: date, count: int = 8) -> list[Period]:
    out, period = [], Period.quarter(today.year, (today.month + 2) // 3)
    for _step in range(count):
        out.append(period)
        period = period.previous()
    return out


def _picker(period: Period | None) -> dict:
    """What the period forms need: the chosen period, recent quarters, the current month."""
    today = local_today(utcnow())
    return {"period": period, "quarters": _quarters(today), "this_month": f"{today:%Y-%m}"}


def _error_page(template: str, exc, **context):
    """The page again with the message saying what was wrong and where (400, nothing computed)."""
    return render_template(template, error=exc.message, picker=_picker(None), **context), 400


def _attempt_link_exists() -> bool:
    return "monitor.attempt" in current_app.view_functions


@bp.app_context_processor
def _report_helpers():
    # Figures on the pages follow the reader's locale (22,0 / 22.0); the exported documents keep their own.
    return {"percent": filters.percent, "points": tables.points,
            "seconds": lambda value: "–" if value is None else filters.decimal(value)}


# ----------------------------------------------------------------------------------------------- the report

@bp.route("/")
@inspector_required
def index():
    """The period report: summary, charts, groups, league table with drill-down links, downloads."""
    db = get_db()
    try:
        period = _period()
        group = _group_arg(db)
    except PeriodError as exc:
        return _error_page("reports/index.html", exc, report=None, groups=[])
    report = build_report(db, period, group=group, now=utcnow(), settings=settings())
    show_all = request.args.get("all") == "1"
    by_group = {}
    for result in report.league:
        by_group.setdefault(result.unit["group_code"], []).append(result)
    return render_template(
        "reports/index.html", report=report, period=period, group=group, by_group=by_group,
        show_all=show_all, league_rows=LEAGUE_ROWS, picker=_picker(period), args=_period_args(period),
        groups=[{"code": r["code"], "name": r["name"]} for r in list_groups(db)],
        band_chart=figures.band_chart(report), trend_chart=figures.trend_chart(report),
        group_rows=tables.group_rows(report), logbook_rows=tables.logbook_rows(report), method=tables.method(report),
        outcome_labels=OUTCOME_LABELS, bands=BANDS, band_labels=BAND_LABELS, status_labels=STATUS_LABELS,
        open_disputes=disputes.open_count(db), failures=FAILURES, error=None, survey=report_surveys.section(db, report),
    )


@bp.route("/export")
@inspector_required
def export():
    """The official report as a file: ?format=pdf|xlsx|csv|json plus the period (and optionally a group)."""
    db = get_db()
    fmt = request.args.get("format", "")
    try:
        period = _period()
        group = _group_arg(db)
        if fmt not in FORMATS:
            raise PeriodError(_("Định dạng “%(format)s” không hỗ trợ: chọn PDF, XLSX, CSV hoặc JSON.", format=fmt), "format")
    except PeriodError as exc:
        return _error_page("reports/index.html", exc, report=None, groups=[])
    report = build_report(db, period, group=group, now=utcnow(), settings=settings())
    body = render(report, fmt)  # in Vietnamese, whatever the page's language: it is the official document
    return Response(body, mimetype=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{report.file_stem}.{fmt}"',
        "Cache-Control": "no-store",
    })


# --------------------------------------------------------------------------------------------- drill-down

@bp.route("/attempts")
@login_required
def attempts():
    """The attempts behind a figure, with their evidence. Editors: only their own unit (unit=CODE)."""
    db = get_db()
    unit = None
    code = request.args.get("unit", "").strip()
    if code:
        unit = _unit_or_404(db, code)
        _own_unit_or_403(unit)
    elif g.user["role"] != "inspector":
        abort(403)
    filters = {key: request.args.get(key, "").strip()[:20] for key in ("outcome", "band", "confirmed")}
    scope = request.args.get("scope", "counted").strip()[:20] or "counted"
    try:
        period = _period()
        group = _group_arg(db)
        page = int(request.args.get("page", "1") or 1)
        if page < 1:
            raise ValueError
        page = min(page, MAX_PAGE)  # a page beyond any list is an empty page, not an offset SQLite cannot hold
    except PeriodError as exc:
        return _error_page("reports/attempts.html", exc, rows=[], total=0, unit=unit)
    except ValueError:
        exc = PeriodError(_("Số trang phải là số nguyên dương."), "page")
        return _error_page("reports/attempts.html", exc, rows=[], total=0, unit=unit)
    try:
        rows, total = list_attempts(
            db, period, unit_id=unit["id"] if unit else None, group=group, outcome=filters["outcome"] or None,
            band=filters["band"] or None, scope=scope, confirmed=filters["confirmed"] or None,
            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
        )
    except FilterError as exc:
        return _error_page("reports/attempts.html", exc, rows=[], total=0, unit=unit)
    query = {k: v for k, v in request.args.items() if k != "page"}
    # Held calls lose their draft outcome for a unit, and leave a list filtered by outcome altogether.
    shown = unit_view.rows_for_reader(rows, g.user, drop_held=bool(filters["outcome"] or filters["confirmed"]))
    rows, total = shown, total - (len(rows) - len(shown))
    return render_template(
        "reports/attempts.html", rows=rows, total=total, unit=unit, period=period, group=group, scope=scope,
        filters=filters, page=page, pages=max(1, -(-total // PAGE_SIZE)), query=query,
        scope_labels=SCOPE_LABELS, outcome_labels=OUTCOME_LABELS, counts_against=COUNTS_AGAINST,
        band_labels=BAND_LABELS, outcomes=OUTCOMES, bands=BANDS, attempt_links=_attempt_link_exists(),
        dispute_labels=DISPUTE_LABELS, picker=_picker(period), error=None,
        can_dispute=lambda a: unit_view.can_contest(a, g.user),
    )


@bp.route("/my")
@login_required
def my():
    """An agency editor's own results; inspectors go to the full report."""
    if g.user["role"] == "inspector":
        return redirect(url_for("reports.index"))
    code = unit_code_for_id(get_db(), g.user["unit_id"])
    if not code:
        abort(404)
    # Only the period is passed on: any other key (code=, _external=…) would clash with url_for's own arguments.
    period = {key: request.args[key][:40] for key in PERIOD_KEYS if request.args.get(key)}
    return redirect(url_for("reports.unit", code=code, **period))


def _unit_and_period(code):
    """The unit (404 unknown, 403 not the reader's own) and the asked period, or the page saying what is wrong."""
    db = get_db()
    unit_row = _unit_or_404(db, code)
    _own_unit_or_403(unit_row)
    try:
        return db, unit_row, _period(), None
    except PeriodError as exc:
        return db, unit_row, None, _error_page("reports/unit.html", exc, unit=unit_row, result=None, rows=[])


@bp.route("/units/<code>")
@login_required
def unit(code):
    """One unit's results for the period: figures by band, registry compliance, every test with its evidence."""
    db, unit_row, period, refused = _unit_and_period(code)
    if refused:
        return refused
    current = period_metrics(db, period, group=unit_row["group_code"], min_answer_rate=_min_rate())
    attach_previous(current, summary(db, period.previous(), group=unit_row["group_code"]))
    result = current.unit(unit_row["code"])
    detailed = result.detailed() if result else Tally()
    rows, total = list_attempts(db, period, unit_id=unit_row["id"], scope="all", limit=1000)
    rows = unit_view.rows_for_reader(rows, g.user)
    chart = charts.bar_chart("unit-band-chart", wording.band_chart_title(period.label, unit_row["name"]),
                             figures.band_bars(detailed), target=current.min_answer_rate)
    return render_template(
        "reports/unit.html", unit=unit_row, result=result, tally=detailed, rows=rows, total=total,
        period=period, args=_period_args(period), chart=chart, picker=_picker(period), failures=FAILURES,
        outcome_labels=OUTCOME_LABELS, counts_against=COUNTS_AGAINST, band_labels=BAND_LABELS,
        status_labels=STATUS_LABELS, dispute_labels=DISPUTE_LABELS,
        attempt_links=_attempt_link_exists(), error=None, survey=report_surveys.unit_section(db, period, unit_row["id"], settings=settings()),
        can_dispute=lambda a: unit_view.can_contest(a, g.user),
        book=unit_view.logbook_for(g.user, db, period, unit_row["id"], settings=settings(), now=utcnow()),
    )


@bp.route("/units/<code>/evidence.pdf")
@login_required
def unit_evidence(code):
    """The unit's evidence file for the period (PDF, in Vietnamese): its calls, their evidence, how to contest."""
    db, unit_row, period, refused = _unit_and_period(code)
    if refused:
        return refused
    # The logbook match is the inspectors' alone: a unit's editors must not learn which entries were test calls.
    unit_file = build_unit_file(db, period, unit_row["code"], now=utcnow(), settings=settings(),
                                logbook=g.user["role"] == "inspector")
    return Response(render_unit_file(unit_file), mimetype=MEDIA_TYPES["pdf"], headers={
        "Content-Disposition": f'attachment; filename="{unit_file.file_stem}.pdf"',
        "Cache-Control": "no-store",
    })


# -------------------------------------------------------------------------------------------------- disputes

def _attempt_evidence(db, attempt_id: int) -> dict:
    row = attempt_evidence(db, attempt_id)
    if row is None:
        abort(404)
    return row


@bp.route("/attempts/<int:attempt_id>/dispute", methods=["GET", "POST"])
@login_required
def open_dispute(attempt_id):
    """An agency editor contests a failed test of its own unit, with an explanation."""
    db = get_db()
    attempt = _attempt_evidence(db, attempt_id)
    if g.user["role"] != "agency" or g.user["unit_id"] != attempt["unit_id"]:
        abort(403)
    attempt = unit_view.for_reader(attempt, g.user)
    form = DisputeForm()
    status = 200
    if form.validate_on_submit():
        try:
            if attempt["held"]:
                raise disputes.DisputeError(_("Cuộc gọi này đang được thanh tra viên xem xét: hãy chờ kết quả xem xét."),
                                            field="explanation")
            disputes.open_dispute(db, attempt_id, g.user, form.explanation.data, now=utcnow())
        except disputes.DisputeError as exc:
            if exc.status == 403:
                abort(403)
            form_error(form, exc, default="explanation")
            status = exc.status if exc.status != 200 else 400
        else:
            flash(_("Đã gửi giải trình. Văn phòng UBND Tỉnh sẽ xem xét và trả lời trên hệ thống."), "ok")
            return redirect(url_for("monitor.attempt", attempt_id=attempt_id, _anchor="khieu-nai"))
    elif form.errors:
        status = 400
    return render_template(
        "reports/dispute_new.html", a=attempt, form=form, history=disputes.history(db, attempt_id),
        outcome_labels=OUTCOME_LABELS, counts_against=COUNTS_AGAINST, band_labels=BAND_LABELS,
        dispute_labels=DISPUTE_LABELS, allowed=unit_view.can_contest({**attempt, "dispute_status": None}, g.user),
    ), status


@bp.route("/disputes")
@inspector_required
def dispute_list():
    """Open disputes first (longest waiting on top), then the decided ones."""
    status = request.args.get("status", "")
    if status and status not in disputes.STATUSES:
        return render_template("reports/disputes.html", rows=[], status="", labels=DISPUTE_LABELS,
                               outcome_labels=OUTCOME_LABELS, error=_("Trạng thái “%(status)s” không có.", status=status[:20])), 400
    return render_template(
        "reports/disputes.html", rows=disputes.list_disputes(get_db(), status=status or None), status=status,
        labels=DISPUTE_LABELS, outcome_labels=OUTCOME_LABELS,
    )


@bp.route("/disputes/<int:dispute_id>", methods=["GET", "POST"])
@login_required
def dispute(dispute_id):
    """A dispute with the attempt's evidence; inspectors decide it here (accept or reject, with a reason)."""
    db = get_db()
    try:
        row = disputes.get_dispute(db, dispute_id)
    except disputes.DisputeError:
        abort(404)
    if g.user["role"] != "inspector" and g.user["unit_id"] != row["unit_id"]:
        abort(403)
    form = DecisionForm()
    status = 200
    if request.method == "POST":
        if g.user["role"] != "inspector":
            abort(403)
        if form.validate_on_submit():
            try:
                disputes.decide_dispute(db, dispute_id, g.user, form.decision.data == "accept", form.reason.data,
                                        now=utcnow())
            except disputes.DisputeError as exc:
                form_error(form, exc, default="reason")
                status = exc.status
            else:
                flash(_("Đã ghi quyết định. Cuộc gọi không còn được tính vào kết quả.")
                      if form.decision.data == "accept" else _("Đã ghi quyết định."), "ok")
                return redirect(url_for("reports.dispute", dispute_id=dispute_id))
        else:
            status = 400
    return render_template(
        "reports/dispute.html", d=row, a=unit_view.for_reader(_attempt_evidence(db, row["attempt_id"]), g.user), form=form,
        history=disputes.history(db, row["attempt_id"]), labels=DISPUTE_LABELS,
        outcome_labels=OUTCOME_LABELS, counts_against=COUNTS_AGAINST, band_labels=BAND_LABELS,
        attempt_links=_attempt_link_exists(),
    ), status


@bp.route("/alerts")
@inspector_required
def alert_list():
    """Alerts e-mailed (or suppressed by a cap, or waiting for a retry after an SMTP failure)."""
    return render_template("reports/alerts.html", rows=alert_store.list_alerts(get_db()))
