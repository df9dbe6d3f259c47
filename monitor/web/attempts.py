"""Inspector pages for test calls: recent attempts, one attempt's evidence and review, a unit's history, call now."""
from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from monitor import attempts as attempts_mod
from monitor import labels
from monitor.attempts import outcomes, queries
from monitor.attempts.store import is_test
from monitor.disputes import history as dispute_history
from monitor.providers import sip_recordings
from monitor.scheduling import allocation
from monitor.scheduling import state as scheduler_state
from monitor.scheduling.bands import classify as classify_band
from monitor.web import settings, survey_call_view, unit_view
from registry import lengths
from registry.clock import parse_iso, to_local, utcnow
from registry.errors import RegistryError, UserError
from registry.units import get_unit
from registry.web import get_db
from registry.web.auth import inspector_required, login_required
from registry.web.errors import form_error
from registry.web.forms import TOO_LONG

bp = Blueprint("monitor", __name__, url_prefix="/monitor")
PAGE_SIZE = 100
STATES = labels.ATTEMPT_STATE
# The scheduler writes a heartbeat every few seconds; older than this and the page says it is not running.
HEARTBEAT_STALE = timedelta(seconds=90)

class ReviewForm(FlaskForm):
    outcome = SelectField(_l("Kết quả đúng"), choices=[(c, labels.OUTCOME[c]) for c in outcomes.OUTCOMES])
    reason = TextAreaField(_l("Lý do (bắt buộc)"), validators=[DataRequired(message=_l("Hãy ghi lý do thay đổi kết quả.")),
                                                             Length(max=lengths.NOTE, message=TOO_LONG)])


class CallNowForm(FlaskForm):
    pass


def scheduler_status(db) -> dict:
    """Whether the scheduler process has written a heartbeat recently."""
    beat = scheduler_state.heartbeat(db)
    if not beat:
        return {"running": False, "seen": None}
    return {"running": utcnow() - parse_iso(beat[1]) < HEARTBEAT_STALE, "seen": beat[1]}


@bp.route("/attempts")
@inspector_required
def attempts():
    """Recent attempts, newest first, with filters; it reloads itself only when the reader turns that on."""
    db = get_db()
    unit = request.args.get("unit", "").strip()[:40]
    outcome = request.args.get("outcome", "")
    state = request.args.get("state", "")
    # By default the list is what happened and what is happening; plans are listed apart, soonest first.
    rows = queries.recent(db, unit=unit, outcome=outcome, state=state, limit=PAGE_SIZE)
    upcoming = queries.upcoming(db, 10) if not state and not unit and not outcome else []
    summary = queries.outcome_counts(db, utcnow() - timedelta(hours=24))
    in_flight = queries.in_flight_count(db)
    planned = queries.planned_count(db)
    return render_template(
        "monitor/attempts.html", attempts=rows, upcoming=upcoming, summary=summary, in_flight=in_flight, planned=planned,
        filters={"unit": unit, "outcome": outcome, "state": state}, states=STATES,
        scheduler=scheduler_status(db), outcome_labels=labels.OUTCOME, counts_against=outcomes.COUNTS_AGAINST,
        refresh=refresh_links(),
    )


def refresh_links() -> dict:
    """This page's reload link and its automatic-update switch (?auto=1), keeping its filters.

    A page never reloads itself unasked: a reload in the middle of reading or typing takes a screen reader back
    to the top and loses what was typed (WCAG 2.2.1). Automatic updating is off until the reader turns it on
    and is turned off by the link beside the notice; without JavaScript (the CSP forbids it) it is a meta refresh.
    """
    args = {**(request.view_args or {}), **request.args.to_dict()}
    auto = args.pop("auto", None) == "1"
    return {"auto": auto, "reload": url_for(request.endpoint, **args, **({"auto": 1} if auto else {})),
            "on": url_for(request.endpoint, **args, auto=1), "off": url_for(request.endpoint, **args)}


@bp.route("/attempts/<int:attempt_id>", methods=["GET", "POST"])
@login_required
def attempt(attempt_id):
    """One attempt's evidence: times, ring seconds, signalling, transcript, recording, events, reviews.

    Inspectors review it here; an agency editor sees its own unit's ended calls (404 for any other id).
    """
    db = get_db()
    if g.user["role"] != "inspector" and request.method != "GET":
        abort(403)
    row = queries.with_unit(db, attempt_id)
    if not unit_view.visible_to(row, g.user):
        abort(404)  # the same answer for another unit's call and for none: ids reveal nothing
    if not is_test(row):
        return survey_attempt(db, row)
    if g.user["role"] != "inspector":
        return unit_attempt(db, row)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            attempts_mod.review_outcome(
                db, attempt_id, form.outcome.data, form.reason.data, user_id=g.user["id"], now=utcnow(),
                settings=settings(),
            )
        except UserError as exc:
            form_error(form, exc, default="reason")
        else:
            flash(_("Đã ghi nhận kết quả xem xét."), "ok")
            return redirect(url_for("monitor.attempt", attempt_id=attempt_id))
    elif request.method == "GET" and row["outcome"]:
        form.outcome.data = row["outcome"]
    related = queries.related(db, row)
    disputes = dispute_history(db, attempt_id)
    status = 400 if form.errors else 200
    return render_template(
        "monitor/attempt.html", a=row, events=attempts_mod.events(db, attempt_id),
        reviews=attempts_mod.reviews(db, attempt_id),
        related=related, disputes=disputes, form=form, outcome_labels=labels.OUTCOME,
        counts_against=outcomes.COUNTS_AGAINST,
        pending=row["state"] != "ended", refresh=refresh_links(),
    ), status


@bp.route("/units/<code>", methods=["GET"])
@inspector_required
def unit_attempts(code):
    """A unit's test-call history with evidence, and the "call now" button."""
    db = get_db()
    try:
        unit = get_unit(db, code)
    except RegistryError:
        abort(404)
    rows = queries.unit_history(db, unit["id"], 500)
    upcoming = queries.planned_count(db, unit["id"])
    # Why the planner gave the unit its tests: inspectors only (an agency must not learn when it is tested less).
    plans = allocation.for_unit(db, unit["id"]) if g.user["role"] == "inspector" else []
    return render_template(
        "monitor/unit.html", unit=unit, attempts=rows, upcoming=upcoming, form=CallNowForm(), states=STATES,
        scheduler=scheduler_status(db), outcome_labels=labels.OUTCOME, counts_against=outcomes.COUNTS_AGAINST,
        plans=plans, plan_reasons=labels.PLAN_REASON, window_weeks=allocation.WINDOW_WEEKS,
    )


@bp.route("/units/<code>/call", methods=["POST"])
@inspector_required
def call_now(code):
    """Queue a manual test call due now; the scheduler process dials it (the web app never dials)."""
    db = get_db()
    form = CallNowForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        unit = get_unit(db, code)
    except RegistryError:
        abort(404)
    if not unit["number"]:
        flash(_("Đơn vị chưa có số đường dây nóng để gọi."), "error")
        return redirect(url_for("monitor.unit_attempts", code=code))
    now = utcnow()
    attempt_id = attempts_mod.create_attempt(
        db, unit_id=unit["id"], number=unit["number"], planned_at=now, band=classify_band(now),
        purpose="manual", now=now,
    )
    if not scheduler_status(db)["running"]:
        flash(_("Đã xếp lịch cuộc gọi, nhưng bộ lập lịch đang không chạy: cuộc gọi sẽ được thực hiện khi bộ lập lịch chạy lại."), "error")
    else:
        flash(_("Đã xếp cuộc gọi kiểm tra ngay; trang sẽ tự cập nhật kết quả."), "ok")
    return redirect(url_for("monitor.attempt", attempt_id=attempt_id))


@bp.route("/attempts/<int:attempt_id>/recording")
@login_required
def recording(attempt_id):
    """A SIP call's recording (a WAV of ours), to whoever may read the call's evidence; 404 for anyone else.

    The file is named by the attempt's id alone (sip_recordings.path), never by anything stored or asked for.
    """
    row = queries.with_unit(get_db(), attempt_id)
    if not unit_view.visible_to(row, g.user) or row["recording_url"] != sip_recordings.link(attempt_id):
        abort(404)
    path = sip_recordings.path(settings().database, attempt_id)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="audio/wav", conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"  # a citizen-facing official's voice: no shared caches
    return response


def survey_attempt(db, row: dict):
    """An automated survey call, for inspectors (visible_to): read only, the citizen's number masked."""
    if request.method != "GET":
        abort(404)  # nothing to review or contest: it tested no hotline
    return render_template(
        "monitor/attempt_survey.html", a=survey_call_view.masked_call(row),
        events=survey_call_view.masked_events(attempts_mod.events(db, row["id"]), row["number"]),
        outcome_labels=labels.OUTCOME, counts_against={}, pending=row["state"] != "ended", refresh=refresh_links(),
    )


def unit_attempt(db, row: dict):
    """The evidence of one call as its unit's editor sees it, with the way to contest it."""
    history = dispute_history(db, row["id"])
    shown = unit_view.for_reader(row, g.user)
    shown["dispute_status"] = history[-1]["status"] if history else None
    # Whole rows (a handful of retests at most), so that a held retest is masked like any other held call.
    related = [unit_view.for_reader(full, g.user) for full in (queries.with_unit(db, r["id"]) for r in queries.related(db, row))
               if unit_view.visible_to(full, g.user)]
    return render_template(
        "monitor/attempt_unit.html", a=shown, reviews=attempts_mod.reviews(db, row["id"]), related=related,
        disputes=history, can_contest=unit_view.can_contest(shown, g.user), outcome_labels=labels.OUTCOME,
        counts_against=outcomes.COUNTS_AGAINST, month=f"{to_local(parse_iso(row['planned_at'])):%Y-%m}",
    )
