"""The operators' pages of the 1022 customer-care calls: the queue, and one case at a time with its script.

An operator (điện thoại viên) takes the next case ("Nhận cuộc gọi tiếp theo"), reads the script (who is calling
and why, consent first, then the questionnaire of the case), dials the number shown whole only here (its
opening logged by privacy.reveal), and records answers, disposition, note and appointment in one form; the
next case follows at once. Inspectors see the queue's state and invite operators; nobody else comes here.
"""
from datetime import datetime

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from monitor.surveys import answers, cases, dispositions, operator, privacy, questionnaire
from monitor.web import settings
from registry import accounts, clock, lengths
from registry.errors import UserError
from registry.web import get_db
from registry.web.auth import inspector_required, login_required, operator_required
from registry.web.errors import form_error
from registry.web.forms import TOO_LONG

bp = Blueprint("surveys", __name__, url_prefix="/surveys")
APPOINTMENT_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends, in local time
WHY_NONE = {
    "day_closed": _l("Hôm nay là Chủ nhật hoặc ngày lễ: không gọi cho người dân."),
    "outside_hours": _l("Ngoài giờ gọi cho người dân (%(hours)s)."),
    "empty": _l("Không còn phiếu nào cần gọi lúc này."),
}


class TakeForm(FlaskForm):
    """The button that claims the next case."""


class InviteOperatorForm(FlaskForm):
    """An inspector invites an operator of the 1022 switchboard."""

    email = StringField(_l("Thư điện tử của điện thoại viên"),
                        validators=[DataRequired(message=_l("Hãy nhập thư điện tử.")),
                                    Length(max=lengths.SHORT, message=TOO_LONG)],
                        render_kw={"type": "email", "autocomplete": "off"})
    name = StringField(_l("Họ tên"), validators=[Optional(), Length(max=lengths.SHORT, message=TOO_LONG)])


class CallForm(FlaskForm):
    """The call's result; the questions are added per questionnaire by call_form()."""

    disposition = SelectField(
        _l("Kết quả cuộc gọi"), validate_choice=False,  # record_call names an unknown code in Vietnamese
        choices=[("", _l("— Chọn kết quả —"))] + [(code, d.label) for code, d in dispositions.DISPOSITIONS.items()],
        validators=[DataRequired(message=_l("Hãy chọn kết quả cuộc gọi."))])
    appointment = StringField(_l("Hẹn gọi lại lúc (khi chọn “Hẹn gọi lại”)"), render_kw={"type": "datetime-local"},
                              validators=[Optional(), Length(max=40, message=TOO_LONG)])
    note = TextAreaField(_l("Ghi chú (không ghi họ tên, số điện thoại)"),
                         validators=[Optional(), Length(max=lengths.NOTE, message=TOO_LONG)])


def call_form(questions: list[dict], **kwargs) -> CallForm:
    """The call form with one field per question (q0, q1…: answers.parse reads them by position)."""
    class Form(CallForm):
        pass

    for n, q in enumerate(questions):
        label = f"{n + 1}. {q['text']}"
        if q["kind"] == "rating":
            choices = [(str(v), f"{v} — {questionnaire.RATING_LABELS[v]}") for v in (5, 4, 3, 2, 1)]
            field = RadioField(label, choices=choices, validate_choice=False, validators=[Optional()])
        elif q["kind"] == "yes_no":
            field = RadioField(label, choices=[(answers.YES, _l("Có")), (answers.NO, _l("Không"))],
                               validate_choice=False, validators=[Optional()])
        else:
            field = TextAreaField(label, validators=[Optional()])
        setattr(Form, f"q{n}", field)
    return Form(**kwargs)


@bp.route("/queue", methods=["GET"])
@login_required
def queue():
    """Operators: the case they hold, or the button for the next one. Inspectors: the queue's state."""
    db = get_db()
    now = clock.utcnow()
    role = g.user["role"]
    if role == "operator":
        held = cases.held_by(db, g.user["id"], now)
        why = operator.calling_time(db, now, settings())
        return render_template("surveys/queue.html", held=held, why=_why(why) if why else None, form=TakeForm())
    if role != "inspector":
        abort(403)
    return _inspector_page(InviteOperatorForm())


def _inspector_page(form: InviteOperatorForm, invite_link: str | None = None, status: int = 200):
    state = cases.queue_state(get_db(), clock.utcnow())
    return render_template("surveys/queue_state.html", state=state, labels=dispositions.DISPOSITIONS, form=form,
                           invite_link=invite_link, hours=settings().survey_call_hours), status


def _why(code: str) -> str:
    return str(WHY_NONE[code]) % {"hours": settings().survey_call_hours}


@bp.route("/queue", methods=["POST"])
@operator_required
def take():
    """Claim the next case (or the one already held) and open it."""
    if not TakeForm().validate_on_submit():
        abort(400)
    return _to_next_case()


def _to_next_case():
    case, why = operator.next_case(get_db(), g.user["id"], clock.utcnow(), settings())
    if case is None:
        flash(_why(why), "warn")
        return redirect(url_for("surveys.queue"))
    return redirect(url_for("surveys.case", case_id=case["id"]))


@bp.route("/operators", methods=["POST"])
@inspector_required
def invite_operator():
    """Create an operator account and show its one-time link to set a password."""
    form = InviteOperatorForm()
    if form.validate_on_submit():
        try:
            token = accounts.invite_operator(get_db(), form.email.data, form.name.data or "")
        except UserError as exc:
            form_error(form, exc, default="email")
        else:
            flash(_("Đã mời %(email)s. Gửi liên kết dưới đây cho người được mời; liên kết chỉ hiện một lần.",
                    email=form.email.data), "ok")
            link = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("auth.accept_invite", token=token)
            return _inspector_page(InviteOperatorForm(formdata=None), invite_link=link)
    return _inspector_page(form, status=400)


@bp.route("/cases/<int:case_id>", methods=["GET", "POST"])
@operator_required
def case(case_id):
    """The current case: script, dossier, the number (its opening logged), and the one form for the call."""
    db = get_db()
    now = clock.utcnow()
    row = cases.get_case(db, case_id)
    if row is None:
        abort(404)
    held = (row["claimed_until"] or "") > clock.iso(now)
    mine = row["claimed_by"] == g.user["id"] and held
    # A form sent just after the claim expired is still taken, unless someone else has the case meanwhile.
    free = mine or request.method == "POST" and (row["claimed_by"] in (None, g.user["id"]) or not held)
    if row["state"] != "open" or not free:
        flash(_("Phiếu này không còn do bạn giữ; hãy nhận cuộc gọi tiếp theo."), "warn")
        return redirect(url_for("surveys.queue"))
    survey = questionnaire.by_id(db, row["questionnaire_id"])
    form = call_form(survey["questions"])
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                appointment = _appointment(form.appointment.data)
                changed = operator.record_call(
                    db, case_id, g.user, disposition=form.disposition.data, note=form.note.data or "",
                    given=request.form, appointment_at=appointment, now=now, settings=settings())
            except UserError as exc:
                form_error(form, exc, default="disposition")
            else:
                flash(_("Đã ghi kết quả cuộc gọi phiếu #%(id)s: %(label)s.", id=case_id,
                        label=dispositions.get(changed["disposition"]).label), "ok")
                return _to_next_case()
        status = 400
    elif answers.for_case(db, case_id):  # a partial interview called back: its answers so far
        form = call_form(survey["questions"], data=answers.as_form_values(survey["questions"],
                                                                          answers.for_case(db, case_id)))
    phone = privacy.reveal(db, row["dossier_id"], g.user, _("Cuộc gọi khảo sát phiếu #%(id)s", id=case_id), now)
    return render_template("surveys/case.html", case=row, phone=phone, survey=survey, form=form,
                           history=cases.contacts(db, case_id), labels=dispositions.DISPOSITIONS,
                           fields=[form[f"q{n}"] for n in range(len(survey["questions"]))]), status


def _appointment(text: str | None) -> datetime | None:
    """The appointment typed in local time, as an aware datetime (None when blank)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        local = datetime.strptime(text[:16], APPOINTMENT_FORMAT)
    except ValueError:
        raise cases.CaseError(_("Thời điểm hẹn không hợp lệ (ngày và giờ, ví dụ 2026-03-02 09:30)."),
                              field="appointment") from None
    return local.replace(tzinfo=clock.LOCAL)
