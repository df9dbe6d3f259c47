"""Login, logout, invitations, and the role checks every route uses."""
import functools
import unicodedata
from urllib.parse import unquote, urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from registry import accounts, sessions
from registry.clock import utcnow
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


def _sign_in(user) -> None:
    """A new session for this account, recorded on the server (registry.sessions) and named in the cookie."""
    _fresh_session()
    session["sid"] = sessions.start(get_db(), user["id"], utcnow(), current_app.permanent_session_lifetime)
    session.permanent = True


def load_user():
    """Put the signed-in account (or None) on g.user before each request."""
    token = session.get("sid")
    g.user = sessions.user_for(get_db(), token, utcnow()) if token else None
    if token and g.user is None:  # ended by logout or a new password, expired, or the account closed
        _fresh_session()


def no_store(response):
    """Signed-in pages and the sign-in pages are kept by no browser or proxy cache (a shared office computer's
    Back button must not show them after logout); static files hold nothing personal and stay cacheable."""
    if request.endpoint != "static" and (g.get("user") is not None or request.blueprint == bp.name):
        response.headers["Cache-Control"] = "no-store"
    return response


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


def operator_required(view):
    """Only the 1022 switchboard's operators (điện thoại viên); anyone else signed in gets 403."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path))
        if g.user["role"] != "operator":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


# What an operator may open besides the survey pages: the sign-in pages and what every citizen may read.
OPERATOR_BLUEPRINTS = ("auth", "surveys", "api", "api_logbook")
OPERATOR_ENDPOINTS = ("static", "registry.directory", "registry.lookup", "registry.lookup_rate")


def operator_gate():
    """Operators see only the survey queue pages and their account: any other page answers them 403 (the
    agencies' and inspectors' pages were written for accounts with a unit, or with every unit)."""
    user = g.get("user")
    if not user or user["role"] != "operator" or request.endpoint is None:  # None: a 404 or 405 follows
        return None
    if request.blueprint in OPERATOR_BLUEPRINTS or request.endpoint in OPERATOR_ENDPOINTS:
        return None
    abort(403)


def can_edit_unit(unit_id: int) -> bool:
    """Inspectors edit every unit; an agency editor only its own."""
    user = g.get("user")
    return bool(user) and (user["role"] == "inspector" or user["unit_id"] == unit_id)


def safe_next(target) -> str | None:
    """target when it is a path on this site, else None.

    An open redirect would let a phishing link borrow our login page. Browsers drop tabs and line breaks
    from a URL and read a backslash as a slash ("/%09/evil.example", decoded, is "//evil.example": another
    site), so the path must start with one "/" and hold no control or invisible character, line separator or
    backslash, also once percent-decoded (and twice: a value may have been encoded once more on its way).
    """
    if not isinstance(target, str) or not target.startswith("/") or len(target) > 2000:
        return None
    forms = [target, unquote(target)]
    forms.append(unquote(forms[-1]))
    for form in forms:
        if form.startswith("//") or "\\" in form or any(_unsafe(ch) for ch in form):
            return None
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return None
    return target


def _unsafe(ch: str) -> bool:
    # C*: control (tab, CR, LF…), format (invisible), surrogate, private and unassigned; Zl/Zp: line breaks.
    category = unicodedata.category(ch)
    return category[0] == "C" or category in ("Zl", "Zp")


def home_for(user) -> str:
    if user["role"] == "inspector":
        return url_for("registry.units")
    if user["role"] == "operator":
        return url_for("surveys.queue")
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
            return render_template("auth/login.html", form=form), exc.status
        _sign_in(user)
        flash(_("Đăng nhập thành công."), "ok")
        return redirect(safe_next(request.args.get("next")) or home_for(user))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.route("/logout", methods=["POST"])
def logout():
    sessions.end(get_db(), session.get("sid"))  # a copy of the cookie stops working too
    _fresh_session()
    flash(_("Đã đăng xuất."), "ok")
    return redirect(url_for("registry.directory"))


@bp.route("/invite/<token>")
def accept_invite(token):
    """The invitation link: its token moves into the session at once and the browser goes on to /invite, so
    the token is not left in the address bar, the history, or a later page's access-log line or Referer
    (gunicorn.conf.py hides it in this request's own log line)."""
    session["invite"] = token[:200]
    return redirect(url_for("auth.invite"))


@bp.route("/invite", methods=["GET", "POST"])
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = accounts.accept_invite(get_db(), session.get("invite") or "", form.password.data)
        except RegistryError as exc:
            flash(exc.message, "error")
            return render_template("auth/invite.html", form=form), 400
        _sign_in(user)
        flash(_("Đã đặt mật khẩu. Chào mừng!"), "ok")
        return redirect(home_for(user))
    return render_template("auth/invite.html", form=form), 400 if form.errors else 200


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code):
    if code in ("vi", "en"):
        session["lang"] = code
    return redirect(safe_next(request.form.get("next")) or url_for("registry.directory"))
