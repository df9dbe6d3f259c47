"""The citizen's lookup of a logbook entry (receipt code + 4 digits), its public state and answer, and the rating.

No sign-in: the receipt code and the digits are the key, sent by POST so they stay out of addresses, the browser's
history and access logs. What may be shown, and the throttle, are registry/logbook/public.py's.
"""
from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField

from registry import clock
from registry.errors import UserError
from registry.logbook import public
from registry.logbook.entry_rules import STATES
from registry.web import get_db
from registry.web.blueprint import bp, form_errors
from registry.web.errors import form_error


class LookupForm(FlaskForm):
    """The two keys printed on the receipt."""

    receipt_code = StringField(_l("Mã phiếu"), description=_l("Ví dụ: SYT-261201-007"))
    digits = StringField(_l("4 chữ số tra cứu"),
                         description=_l("4 số cuối của số điện thoại bạn đã báo, hoặc mã tra cứu được cấp khi "
                                        "bạn không để lại số điện thoại."))


class RatingForm(FlaskForm):
    """The citizen's one rating of the answer; the keys ride along so the rating is checked like a lookup."""

    code = HiddenField()
    key = HiddenField()
    rating = RadioField(_l("Bạn đánh giá câu trả lời thế nào?"), validate_choice=False, choices=[
        ("5", _l("5 — Rất hài lòng")), ("4", _l("4 — Hài lòng")), ("3", _l("3 — Bình thường")),
        ("2", _l("2 — Chưa hài lòng")), ("1", _l("1 — Không hài lòng"))])


def _page(form, entry=None, rating_form=None, status=200, headers=None, notice=None):
    body = render_template("logbook/lookup.html", form=form, entry=entry, rating_form=rating_form, states=STATES,
                           errors=form_errors(form, *([rating_form] if rating_form else [])), notice=notice)
    # no-store: the answer to one citizen's keys stays out of shared caches and the Back button of a shared computer
    return body, status, {"Cache-Control": "no-store", **(headers or {})}


def _rating_form(entry: dict, digits: str) -> RatingForm | None:
    if not entry["can_rate"]:
        return None
    return RatingForm(formdata=None, code=entry["receipt_code"], key=digits)


def _refused(form, exc: UserError):
    """The form again with the message; 429 with Retry-After when throttled."""
    form_error(form, exc)  # a wrong code or wrong digits name no field: the message is above the form
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, public.LookupThrottled) else None
    return _page(form, status=exc.status, headers=headers)


@bp.route("/lookup", methods=["GET", "POST"])
def lookup():
    """Public: the lookup form; on POST the entry's public view (or one neutral message)."""
    form = LookupForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _page(form, status=400 if form.errors else 200)
    try:
        code = public.receipt_code(form.receipt_code.data)
        digits = public.lookup_digits(form.digits.data)
        entry = public.find(get_db(), code, digits, client=request.remote_addr or "?", now=clock.utcnow())
    except UserError as exc:
        return _refused(form, exc)
    return _page(form, entry, _rating_form(entry, digits))


@bp.route("/lookup/rate", methods=["POST"])
def lookup_rate():
    """Public: the citizen rates the answer, once, with the same keys as the lookup."""
    rating_form = RatingForm()
    form = LookupForm(formdata=None, receipt_code=rating_form.code.data, digits=rating_form.key.data)
    if not rating_form.validate_on_submit():
        return _page(form, status=400)
    try:
        code = public.receipt_code(rating_form.code.data)
        digits = public.lookup_digits(rating_form.key.data)
    except UserError as exc:
        return _refused(form, exc)
    try:
        entry = public.rate(get_db(), code, digits, rating_form.rating.data, client=request.remote_addr or "?",
                            now=clock.utcnow())
    except UserError as exc:
        if exc.field != "rating":
            return _refused(form, exc)
        entry = public.view(code, public.copies(get_db(), code))  # the keys were right: rate() checked them
        form.form_errors.append(exc.message)
        return _page(form, entry, _rating_form(entry, digits), status=exc.status)
    return _page(form, entry, notice=_l("Cảm ơn bạn đã đánh giá."))
