"""The 1022 surveys' results and questionnaire, for inspectors: the results page (rates, satisfaction, league,
comments, trend, charts) with its downloads, and the questionnaire editor (every save is a new version)."""
from __future__ import annotations

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from monitor.reports.periods import Period, PeriodError, from_args
from monitor.surveys import questionnaire, render, results
from monitor.surveys.dispositions import DISPOSITIONS
from monitor.surveys.rates import RATE_KEYS
from monitor.web import settings
from registry.clock import local_today, utcnow
from registry.web import get_db
from registry.web.auth import inspector_required

bp = Blueprint("survey_results", __name__, url_prefix="/surveys")
COMMENTS_ON_PAGE = 100  # every comment is in the downloads
SPARE_ROWS = 3  # empty rows the editor offers for new questions
KIND_LABELS = {"rating": _l("Chấm điểm 1–5"), "yes_no": _l("Có / không"), "text": _l("Ý kiến (văn bản)")}


class QuestionnaireForm(FlaskForm):
    """The title (the questions are the rows q-N-*, as many as the page shows); CSRF."""

    title = StringField(_l("Tiêu đề bộ câu hỏi"))


def _period() -> Period:
    """The period asked (?month=, ?quarter=, ?from=&to=), the current month by default."""
    if not any(request.args.get(k) for k in ("month", "quarter", "from", "to")):
        today = local_today(utcnow())
        return Period.month(today.year, today.month)
    return from_args(request.args, now=utcnow())


def _build(period: Period):
    return results.build(get_db(), period.start, period.end, min_completes=settings().survey_min_completes)


@bp.route("/results")
@inspector_required
def results_page():
    """The period's results: rates, satisfaction per element and level, league (worst first), comments, trend."""
    try:
        period = _period()
    except PeriodError as exc:
        return render_template("surveys/results.html", r=None, error=exc.message, period=None), 400
    found = _build(period)
    return render_template(
        "surveys/results.html", r=found, period=period, error=None, rate_keys=RATE_KEYS,
        units=render.unit_rows(found), levels=render.level_rows(found), elements=render.element_rows(found.province),
        element_chart=render.element_chart(found), trend_chart=render.trend_chart(found),
        comments=found.comments[:COMMENTS_ON_PAGE], formats=render.FORMATS,
        args={"from": period.start.isoformat(), "to": period.end.isoformat()},
        dispositions=DISPOSITIONS,
    )


@bp.route("/results/export")
@inspector_required
def results_export():
    """The results as a file: ?format=pdf|xlsx|csv|json and the period."""
    fmt = request.args.get("format", "")
    try:
        period = _period()
        if fmt not in render.FORMATS:
            raise PeriodError(_("Định dạng “%(format)s” không hỗ trợ: chọn PDF, XLSX, CSV hoặc JSON.", format=fmt[:20]),
                              "format")
    except PeriodError as exc:
        return render_template("surveys/results.html", r=None, error=exc.message, period=None), 400
    found = _build(period)
    body = render.render(found, fmt, generated_at=utcnow())
    return Response(body, mimetype=render.MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{render.file_stem(found)}.{fmt}"',
        "Cache-Control": "no-store",
    })


def _rows_from_form(count: int) -> list[dict]:
    """The questions typed in the editor's rows, in order; a row left wholly empty is no question."""
    rows = []
    for i in range(count):
        key = request.form.get(f"q-{i}-key", "").strip()
        text = request.form.get(f"q-{i}-text", "").strip()
        kind = request.form.get(f"q-{i}-kind", "").strip()
        element = request.form.get(f"q-{i}-element", "").strip()
        if not key and not text:
            continue
        rows.append({"key": key, "text": text, "kind": kind,
                     "element": int(element) if element in ("1", "2", "3", "4", "5") else element})
    return rows


@bp.route("/questionnaire", methods=["GET", "POST"])
@inspector_required
def questionnaire_page():
    """The versions, and the active one to edit: saving makes a new active version (cases keep theirs)."""
    db = get_db()
    current = questionnaire.active(db)
    form = QuestionnaireForm(data={"title": current["title"]} if request.method == "GET" else None)
    rows = current["questions"]
    error = None
    if request.method == "POST":
        typed = request.form.get("rows", "")
        count = int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 4 else 0
        count = min(count, questionnaire.MAX_QUESTIONS + SPARE_ROWS)
        rows = _rows_from_form(count)
        if form.validate_on_submit():
            try:
                saved = questionnaire.save_version(db, form.title.data or "", rows, user_id=g.user["id"], now=utcnow())
            except questionnaire.QuestionnaireError as exc:
                error = str(exc)
            else:
                flash(_("Đã lưu bộ câu hỏi phiên bản %(version)s.", version=saved["version"]), "ok")
                return redirect(url_for(".questionnaire_page"))
        else:
            error = _("Phiên làm việc đã hết hạn, hãy tải lại trang và thử lại.")
    shown = [*rows, *({"key": "", "text": "", "kind": "rating", "element": ""} for _i in range(SPARE_ROWS))]
    return render_template("surveys/questionnaire.html", form=form, rows=shown, current=current, error=error,
                           versions=questionnaire.versions(db), kinds=KIND_LABELS, elements=results.ELEMENTS,
                           max_questions=questionnaire.MAX_QUESTIONS), (400 if error else 200)
