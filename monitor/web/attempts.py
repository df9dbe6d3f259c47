"""Inspector pages for test calls: recent attempts, one attempt's evidence and review, a unit's history, call now."""
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired

from registry.web.auth import inspector_required
from registry.clock import iso, parse_iso, utcnow
from registry.errors import RegistryError
from registry.units import get_unit
from registry.web import get_db

from monitor import attempts as attempts_mod
from monitor.attempts import outcomes
from monitor.scheduling.bands import classify as classify_band

bp = Blueprint("monitor", __name__, url_prefix="/monitor")
PAGE_SIZE = 100
STATES = {
    "planned": "Đã lên lịch",
    "dialing": "Đang quay số",
    "unknown": "Chờ đối soát",
    "placed": "Đã gọi",
    "ringing": "Đang đổ chuông",
    "answered": "Đã nhấc máy",
    "ended": "Đã kết thúc",
}
# The scheduler writes a heartbeat every few seconds; older than this and the page says it is not running.
HEARTBEAT_STALE = timedelta(seconds=90)

ATTEMPT_SELECT = """
SELECT a.*, u.code AS unit_code, u.name AS unit_name, h.display AS current_display, h.number AS current_number
FROM attempts a JOIN units u ON u.id = a.unit_id LEFT JOIN hotlines h ON h.unit_id = a.unit_id
"""


class ReviewForm(FlaskForm):
    outcome = SelectField("Kết quả đúng", choices=[(c, outcomes.LABELS_VI[c]) for c in outcomes.OUTCOMES])
    reason = TextAreaField("Lý do (bắt buộc)", validators=[DataRequired(message="Hãy ghi lý do thay đổi kết quả.")])


class CallNowForm(FlaskForm):
    pass


def _outcome_labels() -> dict:
    return outcomes.LABELS_EN if str(get_locale()) == "en" else outcomes.LABELS_VI


def scheduler_status(db) -> dict:
    """Whether the scheduler process has written a heartbeat recently."""
    row = db.execute("SELECT value, updated_at FROM scheduler_state WHERE key = 'heartbeat'").fetchone()
    if not row:
        return {"running": False, "seen": None}
    return {"running": utcnow() - parse_iso(row[1]) < HEARTBEAT_STALE, "seen": row[1]}


@bp.route("/attempts")
@inspector_required
def attempts():
    """Recent attempts, newest first, with filters; the page refreshes itself (no JavaScript)."""
    db = get_db()
    where, params = [], []
    unit = request.args.get("unit", "").strip()[:40]
    outcome = request.args.get("outcome", "")
    state = request.args.get("state", "")
    if unit:
        where.append("u.code = ?")
        params.append(unit)
    if outcome in outcomes.OUTCOMES:
        where.append("a.outcome = ?")
        params.append(outcome)
    if state in STATES:
        where.append("a.state = ?")
        params.append(state)
    else:
        # By default the list is what happened and what is happening; plans are listed apart, soonest first.
        where.append("a.state != 'planned'")
    sql = ATTEMPT_SELECT + " WHERE " + " AND ".join(where)
    if state == "planned":
        sql += " ORDER BY a.planned_at, a.id LIMIT ?"
    else:
        sql += " ORDER BY COALESCE(a.ended_at, a.dial_requested_at) DESC, a.id DESC LIMIT ?"
    rows = db.execute_returning_dicts(sql, params + [PAGE_SIZE])
    upcoming = db.execute_returning_dicts(
        ATTEMPT_SELECT + " WHERE a.state = 'planned' ORDER BY a.planned_at, a.id LIMIT 10"
    ) if not state and not unit and not outcome else []
    since = iso(utcnow() - timedelta(hours=24))
    summary = dict(
        db.execute(
            "SELECT outcome, count(*) FROM attempts WHERE state = 'ended' AND ended_at >= ? GROUP BY outcome", [since]
        ).fetchall()
    )
    in_flight = db.execute(
        "SELECT count(*) FROM attempts WHERE state NOT IN ('planned', 'ended')"
    ).fetchone()[0]
    planned = db.execute("SELECT count(*) FROM attempts WHERE state = 'planned'").fetchone()[0]
    return render_template(
        "monitor/attempts.html", attempts=rows, upcoming=upcoming, summary=summary, in_flight=in_flight, planned=planned,
        filters={"unit": unit, "outcome": outcome, "state": state}, states=STATES,
        scheduler=scheduler_status(db), outcome_labels=_outcome_labels(), counts_against=outcomes.COUNTS_AGAINST,
    )


@bp.route("/attempts/<int:attempt_id>", methods=["GET", "POST"])
@inspector_required
def attempt(attempt_id):
    """One attempt's evidence: times, ring seconds, signalling, transcript, recording, events, reviews."""
    db = get_db()
    rows = db.execute_returning_dicts(ATTEMPT_SELECT + " WHERE a.id = ?", [attempt_id])
    if not rows:
        abort(404)
    row = rows[0]
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            attempts_mod.review_outcome(
                db, attempt_id, form.outcome.data, form.reason.data, user_id=g.user["id"], now=utcnow(),
                config=current_app.config,
            )
        except attempts_mod.AttemptError as exc:
            form.reason.errors = list(form.reason.errors) + [exc.message]
        else:
            flash("Đã ghi nhận kết quả xem xét.", "ok")
            return redirect(url_for("monitor.attempt", attempt_id=attempt_id))
    elif request.method == "GET" and row["outcome"]:
        form.outcome.data = row["outcome"]
    related = db.execute_returning_dicts(
        "SELECT id, purpose, state, outcome, planned_at, ended_at FROM attempts "
        "WHERE (retest_of = ? OR id = ?) AND id != ? ORDER BY id",
        [attempt_id, row["retest_of"] or 0, attempt_id],
    )
    disputes = db.execute_returning_dicts(
        "SELECT * FROM disputes WHERE attempt_id = ? ORDER BY opened_at", [attempt_id]
    )
    status = 400 if form.errors else 200
    return render_template(
        "monitor/attempt.html", a=row, events=attempts_mod.events(db, attempt_id),
        reviews=attempts_mod.reviews(db, attempt_id),
        related=related, disputes=disputes, form=form, outcome_labels=_outcome_labels(),
        counts_against=outcomes.COUNTS_AGAINST,
        refresh=row["state"] != "ended",
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
    rows = db.execute_returning_dicts(
        ATTEMPT_SELECT + " WHERE a.unit_id = ? AND (a.state != 'planned' OR a.purpose != 'scheduled') "
        "ORDER BY a.planned_at DESC, a.id DESC LIMIT 500",
        [unit["id"]],
    )
    upcoming = db.execute(
        "SELECT count(*) FROM attempts WHERE unit_id = ? AND state = 'planned'", [unit["id"]]
    ).fetchone()[0]
    return render_template(
        "monitor/unit.html", unit=unit, attempts=rows, upcoming=upcoming, form=CallNowForm(), states=STATES,
        scheduler=scheduler_status(db), outcome_labels=_outcome_labels(), counts_against=outcomes.COUNTS_AGAINST,
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
        flash("Đơn vị chưa có số đường dây nóng để gọi.", "error")
        return redirect(url_for("monitor.unit_attempts", code=code))
    now = utcnow()
    attempt_id = attempts_mod.create_attempt(
        db, unit_id=unit["id"], number=unit["number"], planned_at=now, band=classify_band(now),
        purpose="manual", now=now,
    )
    if not scheduler_status(db)["running"]:
        flash("Đã xếp lịch cuộc gọi, nhưng bộ lập lịch đang không chạy: cuộc gọi sẽ được thực hiện khi bộ lập lịch chạy lại.", "error")
    else:
        flash("Đã xếp cuộc gọi kiểm tra ngay; trang sẽ tự cập nhật kết quả.", "ok")
    return redirect(url_for("monitor.attempt", attempt_id=attempt_id))
