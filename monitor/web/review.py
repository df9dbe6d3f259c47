"""The review queue: calls the rules held for review, oldest first, one at a time with its evidence and a decision.

Inspectors only. A held call counts for nobody until it is decided here (or on its own attempt page); the
decision is monitor/attempts/review.py decide_held, after which the page shows the next held call.
"""
from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from monitor import labels
from monitor.attempts import outcomes, queries
from monitor.attempts import review as review_mod
from monitor.web import settings
from registry import lengths
from registry.clock import utcnow
from registry.errors import UserError
from registry.web import get_db
from registry.web.auth import inspector_required
from registry.web.errors import form_error
from registry.web.forms import TOO_LONG

bp = Blueprint("review", __name__, url_prefix="/monitor/review")
QUEUE_SHOWN = 20  # the held calls listed under the current one (the count in the menu is the whole queue)


class DecisionForm(FlaskForm):
    """One decision on a held call: the outcome the inspector finds, and why."""

    outcome = SelectField(
        _l("Kết quả đúng"),
        choices=[("", _l("— Chọn kết quả —"))] + [(c, labels.OUTCOME[c]) for c in outcomes.OUTCOMES],
        validators=[DataRequired(message=_l("Hãy chọn kết quả."))],
    )
    reason = TextAreaField(_l("Lý do (bắt buộc)"),
                           validators=[DataRequired(message=_l("Hãy ghi lý do của quyết định.")),
                                       Length(max=lengths.NOTE, message=TOO_LONG)])


@bp.app_context_processor
def review_count() -> dict:
    """The review queue's length for the menu, only on inspectors' pages (nobody else may see the queue)."""
    user = g.get("user")
    if not user or user["role"] != "inspector":
        return {}
    return {"review_count": queries.held_count(get_db())}


def _page(form: DecisionForm, status: int = 200, attempt_id: int | None = None):
    """The queue page; with attempt_id (a refused decision), that call stays the current one while still held."""
    db = get_db()
    held = queries.held_queue(db, QUEUE_SHOWN + 1)
    current = next((a for a in held if a["id"] == attempt_id), None) or (held[0] if held else None)
    held = [a for a in held if current is None or a["id"] != current["id"]]
    return render_template(
        "monitor/review.html", current=current, waiting=held[:QUEUE_SHOWN], total=queries.held_count(db), form=form,
        outcome_labels=labels.OUTCOME, counts_against=outcomes.COUNTS_AGAINST,
    ), status


@bp.route("", methods=["GET"])
@inspector_required
def queue():
    """The oldest held call with its evidence and the decision form; the rest of the queue below it."""
    return _page(DecisionForm())


@bp.route("/<int:attempt_id>", methods=["POST"])
@inspector_required
def decide(attempt_id):
    """Record the decision on one held call, then show the next one."""
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            review_mod.decide_held(get_db(), attempt_id, form.outcome.data, form.reason.data, user_id=g.user["id"],
                                   now=utcnow(), settings=settings())
        except UserError as exc:
            if exc.status != 409:
                form_error(form, exc, default="reason")
                return _page(form, 400, attempt_id)
            flash(exc.message, "error")  # decided meanwhile (another inspector): move on to the next
        else:
            flash(_("Đã ghi nhận quyết định cho lần gọi #%(id)s.", id=attempt_id), "ok")
        return redirect(url_for("review.queue"))
    return _page(form, 400, attempt_id)
