"""The composition root: builds the Flask app from both packages, their blueprints and CLI commands."""
import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, g, render_template, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFError, CSRFProtect

from registry import schema as registry_schema
from registry.db import connect, migrate
from registry.i18n import compile_catalogs
from registry.web import close_db

from monitor import schema as monitor_schema

ROOT = Path(__file__).resolve().parent.parent
MIGRATION_SETS = [("registry", registry_schema.MIGRATIONS), ("monitor", monitor_schema.MIGRATIONS)]
log = logging.getLogger(__name__)

DEFAULTS = dict(
    DATABASE=str(ROOT / "instance" / "hotline.db"),
    CALL_PROVIDER="simulator",
    PUBLIC_BASE_URL="http://127.0.0.1:5000",
    TWILIO_API_BASE_URL="https://api.twilio.com",
    TWILIO_ACCOUNT_SID="",
    TWILIO_AUTH_TOKEN="",
    TWILIO_FROM_NUMBER="",
    TWILIO_VOICE="Google.vi-VN-Standard-A",
    TWILIO_RECORD=False,
    TWILIO_HTTP_TIMEOUT=10,
    RING_TIMEOUT=30,
    RETEST_DELAY_MINUTES=60,
    REPLACE_DELAY_MINUTES=15,  # a test lost on our side (provider_error) is replaced this much later
    MAX_REPLACEMENTS=3,  # ... at most this many times in a row
    SIMULATOR_SPEED=1.0,  # simulated calls' waiting compressed by this factor (the demo may use 5)
    SIMULATOR_FAIL_RATE=0.0,  # fraction of simulated create requests refused as unavailable (fault tests)
    CALLS_PER_SECOND=1.0,
    MAX_CONCURRENT_CALLS=2,
    CALLS_PER_LINE_PER_HOUR=20,
    CALLS_PER_LINE_PER_DAY=200,
    MIN_GAP_MINUTES=120,
    DEMO_MODE=False,  # scripts/start.sh: with the simulator, faster calls and one test per unit in the first minute
    TESTS_PER_WEEK=None,  # overrides groups.tests_per_week: a number, or a mapping group code → number
    LEASE_SECONDS=120,  # a claimed attempt not placed within this is reconciled (its dispatcher died)
    RECOVER_SECONDS=30,  # how often the scheduler settles expired leases, unknown creates and stale calls
    RECONCILE_AFTER_SECONDS=60,  # a create that timed out is looked up at the provider after this long
    STALE_CALL_SECONDS=900,  # a placed call with no final status after this long is looked up
    PROVIDER_RETRY_LIMIT=5,  # create requests refused as unavailable before the test ends as provider_error
    PROVIDER_RETRY_BACKOFF_SECONDS=30,  # first back-off after an unavailable provider, doubling each time
    DISPATCH_WORKERS=4,  # create requests in flight at once to a network provider (paced by CALLS_PER_SECOND)
    ALERT_AFTER_FAILURES=3,
    ALERTS_PER_UNIT_PER_DAY=1,
    ALERT_CHECK_MINUTES=5,  # how often the scheduler looks for runs of confirmed failures to alert on
    ALERTS_PER_RUN=20,  # alert e-mails per check_alerts() call, all units together (the rest are recorded suppressed)
    REPORT_MIN_ANSWER_RATE=0.9,  # below this answer rate a unit has not met the requirement
    REPORT_TREND_PERIODS=6,  # periods in the report's trend chart (months for a monthly report)
    REPORT_SIGNER_NAME="",  # printed under the signature block of the official report
    SMTP_HOST="",
    SMTP_PORT=25,
    SMTP_USER="",
    SMTP_PASSWORD="",
    SMTP_STARTTLS=False,
    MAIL_FROM="duongdaynong@localhost",
    INSPECTOR_EMAILS="",
    SESSION_COOKIE_SECURE=True,
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
    PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
    WTF_CSRF_TIME_LIMIT=None,
    MAX_CONTENT_LENGTH=5 * 1024 * 1024,
    BABEL_DEFAULT_LOCALE="vi",
    BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "translations"),
)

# Strict: no inline script or style anywhere, so injected markup cannot run or restyle the page.
CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then FLASK_* environment variables, then the test config."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "registry" / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env()
    if test_config:
        app.config.from_mapping(test_config)
    _ensure_secret_key(app)
    Path(app.config["DATABASE"]).parent.mkdir(parents=True, exist_ok=True)

    compile_catalogs(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    Babel(app, locale_selector=_select_locale)
    csrf = CSRFProtect(app)

    from registry.web import api as registry_api, auth
    from registry import cli as registry_cli
    from registry.web import pages as registry_views
    from monitor.reports import cli as reports_cli
    from monitor import cli as monitor_cli
    from monitor.web import attempts as monitor_views, webhooks, reports as reports_views

    app.register_blueprint(auth.bp)
    app.register_blueprint(registry_views.bp)
    app.register_blueprint(registry_api.bp)
    app.register_blueprint(monitor_views.bp)
    app.register_blueprint(reports_views.bp)
    app.register_blueprint(webhooks.bp)
    csrf.exempt(webhooks.bp)  # provider callbacks are authenticated by their signature instead
    registry_cli.register(app, migration_sets=MIGRATION_SETS)
    monitor_cli.register(app)
    reports_cli.register(app)

    from registry.web import filters as registry_filters
    from monitor.web import filters as monitor_filters

    registry_filters.register(app)
    monitor_filters.register(app)
    app.before_request(auth.load_user)
    app.teardown_appcontext(close_db)
    app.after_request(_security_headers)
    app.context_processor(_template_globals)
    app.register_error_handler(CSRFError, _csrf_error)
    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _error_page)
    return app


def init_db(app: Flask) -> list[str]:
    """Create or upgrade the database; returns the migrations applied (none on a second run)."""
    db = connect(app.config["DATABASE"])
    try:
        return migrate(db, MIGRATION_SETS)
    finally:
        db.conn.close()


def _ensure_secret_key(app: Flask) -> None:
    # Secrets come from the environment (FLASK_SECRET_KEY). For the embedded demo only, a random key is
    # generated once into the instance folder so sessions survive restarts and both processes agree.
    if app.config.get("SECRET_KEY"):
        return
    path = Path(app.instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        log.warning("FLASK_SECRET_KEY not set: generated a demo key in %s", path)
    app.config["SECRET_KEY"] = path.read_text().strip()


def _select_locale():
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

    return {
        "simulated": current_app.config["CALL_PROVIDER"] == "simulator",
        "current_user": g.get("user"),
        "lang": _select_locale(),
    }


def _csrf_error(exc):
    return render_template("error.html", code=400, message="Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ (CSRF). Hãy tải lại trang và thử lại."), 400


_ERROR_MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    403: "Bạn không có quyền truy cập trang này.",
    404: "Không tìm thấy trang.",
    405: "Phương thức không được phép.",
    413: "Tệp quá lớn (tối đa 5 MB).",
    429: "Quá nhiều yêu cầu, vui lòng thử lại sau.",
    500: "Lỗi hệ thống. Sự cố đã được ghi lại.",
}


def _error_page(exc):
    code = getattr(exc, "code", 500) or 500
    if request.path.startswith("/api/") or request.path.startswith("/hooks/"):
        return {"error": _ERROR_MESSAGES.get(code, "Lỗi.")}, code
    return render_template("error.html", code=code, message=_ERROR_MESSAGES.get(code, "Lỗi.")), code
