"""Login, logout, invitations, and the role checks every route uses."""
import functools

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from registry import accounts
from registry.errors import RegistryError
from registry.web import get_db

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("Thư điện tử"), validators=[DataRequired(message=_l("Hãy nhập thư điện tử."))])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(message=_l("Hãy nhập mật khẩu."))])


class InviteForm(FlaskForm):
    password = PasswordField(
        _l("Mật khẩu mới"),
        validators=[Length(min=accounts.MIN_PASSWORD, message=_l("Mật khẩu phải có ít nhất %(min)d ký tự."))],
    )


def _fresh_session() -> None:
    """Start a new session (no fixation across sign-in/out) but keep the reader's language choice."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def load_user():
    """Put the signed-in account (or None) on g.user before each request."""
    user_id = session.get("user_id")
    g.user = accounts.find_user(get_db(), user_id) if user_id else None
    if user_id and g.user is None:
        _fresh_session()


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped


def inspector_required(view):
    """Only inspectors of Văn phòng UBND; anyone else signed in gets 403."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path))
        if g.user["role"] != "inspector":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def can_edit_unit(unit_id: int) -> bool:
    """Inspectors edit every unit; an agency editor only its own."""
    user = g.get("user")
    return bool(user) and (user["role"] == "inspector" or user["unit_id"] == unit_id)


def _safe_next(target: str | None) -> str | None:
    # Only same-site relative paths: an open redirect would let a phishing link borrow our login page.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def home_for(user) -> str:
    if user["role"] == "inspector":
        return url_for("registry.units")
    return url_for("registry.my_unit")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                get_db(), form.email.data, form.password.data, client=request.remote_addr or "?"
            )
        except RegistryError as exc:
            flash(exc.message, "error")
            return render_template("auth/login.html", form=form), 429 if exc.code == "throttled" else 401
        _fresh_session()
        session["user_id"] = user["id"]
        session.permanent = True
        flash(_("Đăng nhập thành công."), "ok")
        return redirect(_safe_next(request.args.get("next")) or home_for(user))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.route("/logout", methods=["POST"])
def logout():
    _fresh_session()
    flash(_("Đã đăng xuất."), "ok")
    return redirect(url_for("registry.directory"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token):
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = accounts.accept_invite(get_db(), token, form.password.data)
        except RegistryError as exc:
            flash(exc.message, "error")
            return render_template("auth/invite.html", form=form), 400
        _fresh_session()
        session["user_id"] = user["id"]
        flash(_("Đã đặt mật khẩu. Chào mừng!"), "ok")
        return redirect(home_for(user))
    return render_template("auth/invite.html", form=form), 400 if form.errors else 200


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code):
    if code in ("vi", "en"):
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")) or url_for("registry.directory"))
