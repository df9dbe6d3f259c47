"""The composition root: builds the Flask app from both packages, their blueprints and CLI commands."""
import logging
import os
import sqlite3
from datetime import timedelta
from pathlib import Path

from flask import Flask, g, has_request_context, render_template, request, session
from flask_babel import Babel
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect

from monitor import schema as monitor_schema
from monitor.secret_key import instance_secret_key
from monitor.settings import Settings
from registry import schema as registry_schema
from registry.appendix.limits import LIMITS as FILE_LIMITS
from registry.db import connect, migrate
from registry.errors import UserError
from registry.i18n import compile_catalogs
from registry.web import access_log, close_db
from registry.web.converters import RowId
from registry.web.errors import database_unavailable, user_error, wants_json
from registry.web.proxies import trust_proxies

ROOT = Path(__file__).resolve().parent.parent
MIGRATION_SETS = [("registry", registry_schema.MIGRATIONS), ("monitor", monitor_schema.MIGRATIONS)]
log = logging.getLogger(__name__)

# Flask's own configuration (cookies, forms, uploads, translations). The application's settings — every one
# with its type, default and meaning — are monitor/settings.py; they are mirrored into app.config below.
FLASK_DEFAULTS = dict(
    SESSION_COOKIE_SECURE=True,
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
    PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
    WTF_CSRF_TIME_LIMIT=None,
    # The appendix's own limit speaks on the import page; the form's other fields get room on top of it.
    MAX_CONTENT_LENGTH=FILE_LIMITS.file_bytes + 64 * 1024,
    BABEL_DEFAULT_LOCALE="vi",
    BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "translations"),
)

# Strict: no inline script or style anywhere, so injected markup cannot run or restyle the page.
CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then FLASK_* environment variables, then the test config.

    The settings are parsed once (a wrong value raises SettingsError naming the variable, before anything
    is built), kept in app.extensions["settings"] and mirrored into app.config under their upper-case names.
    """
    settings = Settings.load(os.environ, test_config)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "registry" / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.url_map.converters["int"] = RowId  # before any route: an id beyond 64 bits is a 404, not a 500
    app.config.from_mapping(FLASK_DEFAULTS)
    app.config.from_prefixed_env()
    if test_config:
        app.config.from_mapping(test_config)
    settings = _ensure_secret_key(app, settings)
    app.extensions["settings"] = settings
    app.config.from_mapping(settings.as_config())  # typed values win over from_prefixed_env's guesses
    Path(settings.database).parent.mkdir(parents=True, exist_ok=True)

    compile_catalogs(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    Babel(app, locale_selector=_select_locale)
    csrf = CSRFProtect(app)

    from monitor import cli as monitor_cli
    from monitor.reports import cli as reports_cli
    from monitor.surveys import cli as surveys_cli
    from monitor.web import attempts as monitor_views
    from monitor.web import demo_mail, survey_import, survey_results, webhooks
    from monitor.web import reports as reports_views
    from monitor.web import review as review_views
    from monitor.web import surveys as survey_views
    from registry import cli as registry_cli
    from registry.web import api as registry_api
    from registry.web import api_logbook, auth
    from registry.web import pages as registry_views

    app.register_blueprint(auth.bp)
    app.register_blueprint(registry_views.bp)
    app.register_blueprint(registry_api.bp)
    app.register_blueprint(api_logbook.bp)
    app.register_blueprint(monitor_views.bp)
    app.register_blueprint(reports_views.bp)
    app.register_blueprint(review_views.bp)
    app.register_blueprint(survey_results.bp)
    app.register_blueprint(survey_import.bp)
    app.register_blueprint(survey_views.bp)
    app.register_blueprint(demo_mail.bp)
    app.register_blueprint(webhooks.bp)
    csrf.exempt(webhooks.bp)  # provider callbacks are authenticated by their signature instead
    registry_cli.register(app, migration_sets=MIGRATION_SETS)
    monitor_cli.register(app)
    reports_cli.register(app)
    surveys_cli.register(app)

    from monitor.web import filters as monitor_filters
    from registry.web import filters as registry_filters

    registry_filters.register(app)
    monitor_filters.register(app)
    app.before_request(auth.load_user)
    app.before_request(auth.operator_gate)
    app.teardown_appcontext(close_db)
    app.after_request(_security_headers)
    app.after_request(auth.no_store)
    # The client's address (login throttling) from X-Forwarded-For only when the proxy is trusted.
    app.wsgi_app = trust_proxies(app.wsgi_app, settings.trusted_proxy_hops())
    access_log.install("werkzeug")  # the development server's access log hides invitation tokens
    app.context_processor(_template_globals)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(UserError, user_error)  # a refusal no view handled: its page or JSON, never a 500
    app.register_error_handler(sqlite3.OperationalError, database_unavailable)  # busy or bad disk: 503
    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _error_page)
    return app


def init_db(app: Flask) -> list[str]:
    """Create or upgrade the database; returns the migrations applied (none on a second run)."""
    db = connect(app.extensions["settings"].database)
    try:
        return migrate(db, MIGRATION_SETS)
    finally:
        db.conn.close()


def _ensure_secret_key(app: Flask, settings: Settings) -> Settings:
    """The settings with a secret key: FLASK_SECRET_KEY, or the demo key kept in the instance folder."""
    # Secrets come from the environment (FLASK_SECRET_KEY). For the embedded demo only, a random key is
    # generated once into the instance folder so sessions survive restarts and both processes agree.
    if settings.secret_key:
        return settings
    return settings.with_values(secret_key=instance_secret_key(Path(app.instance_path)))  # safe when all start at once


def _select_locale():
    """The reader's language: the session's choice or ?lang=; Vietnamese by default and outside a request
    (CLI commands, the scheduler, e-mails), so gettext there returns the Vietnamese source text."""
    if not has_request_context():
        return "vi"
    lang = session.get("lang") or request.args.get("lang")
    return lang if lang in ("vi", "en") else "vi"


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def _template_globals():
    from flask import current_app

    settings = current_app.extensions["settings"]
    return {
        # The SIP demo's calls end at SIPp on this machine: as unreal as the simulator's, and said so.
        "simulated": settings.simulated or settings.sip_demo_province,
        "current_user": g.get("user"),
        "lang": _select_locale(),
    }


def _csrf_error(exc):
    return render_template("error.html", code=400, message=_("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ (CSRF). Hãy tải lại trang và thử lại.")), 400


_ERROR_MESSAGES = {
    400: _l("Yêu cầu không hợp lệ."),
    403: _l("Bạn không có quyền truy cập trang này."),
    404: _l("Không tìm thấy trang."),
    405: _l("Phương thức không được phép."),
    413: _l("Tệp quá lớn (tối đa 5 MB)."),
    429: _l("Quá nhiều yêu cầu, vui lòng thử lại sau."),
    500: _l("Lỗi hệ thống. Sự cố đã được ghi lại."),
}


def _error_page(exc):
    code = getattr(exc, "code", 500) or 500
    if wants_json():
        return {"error": str(_ERROR_MESSAGES.get(code) or _("Lỗi."))}, code
    return render_template("error.html", code=code, message=_ERROR_MESSAGES.get(code) or _("Lỗi.")), code
