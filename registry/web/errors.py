"""How the web answers a UserError: one handler for every request, one helper for forms shown again.

Domain code raises a UserError (registry.errors) and the web layer speaks it:
- user_error(), registered for UserError by the app, answers /api/ and /hooks/ with JSON
  {"error": message, "field": field} and every page with the error page, both with the error's status —
  so a refusal nobody handles is never a 500;
- form_error() is for the views that show their form again with the message next to the field it names;
- database_unavailable(), registered for sqlite3.OperationalError, answers a database that cannot write just
  now (another writer kept the lock past the busy timeout; a read-only, full or failing disk) with 503 and
  Retry-After and a message saying nothing was saved — the write transaction rolled back. Any other database
  error is a bug and stays a 500.
"""
import logging
import sqlite3

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from registry.db import unavailable
from registry.errors import UserError

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/hooks/")


def wants_json() -> bool:
    """Whether this request is answered in JSON (the API and the provider callbacks) rather than a page."""
    return request.path.startswith(JSON_PREFIXES)


def user_error(exc: UserError):
    """The answer to a UserError no view handled: JSON for machines, the error page for people."""
    if wants_json():
        return {"error": str(exc.message), "field": exc.field}, exc.status
    return render_template("error.html", code=exc.status, message=exc.message), exc.status


def form_error(form, exc: UserError, fields: dict | None = None, default: str | None = None) -> None:
    """Show exc.message next to the form field it names, or above the form when the form has no such field.

    fields maps an error's field to the form's own name for it (the domain says "parent_id", the form has
    "parent_code"); default is the form field that takes an error naming no field of this form.
    """
    name = (fields or {}).get(exc.field, exc.field)
    field = getattr(form, name, None) if name else None
    if not hasattr(field, "errors") and default:
        field = getattr(form, default, None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


# reason (registry.db.unavailable) → (message, seconds to wait before trying again)
UNAVAILABLE = {
    "busy": (_l("Hệ thống đang bận, vui lòng thử lại sau giây lát. Thay đổi của bạn chưa được lưu."), 5),
    "disk": (_l("Hệ thống tạm thời không lưu được dữ liệu (ổ đĩa đầy hoặc chỉ cho phép đọc). Thay đổi của bạn "
                "chưa được lưu; tra cứu danh bạ vẫn hoạt động bình thường. Vui lòng thử lại sau."), 60),
}


def database_unavailable(exc: sqlite3.OperationalError):
    """503 with Retry-After when the database cannot write just now; any other database error is re-raised (500)."""
    reason = unavailable(exc)
    if reason is None:
        raise exc
    # The operators must hear of a disk problem; a busy database is the normal price of a burst.
    (log.error if reason == "disk" else log.warning)("database unavailable (%s) for %s %s: %s",
                                                     reason, request.method, request.path, exc)
    message, retry_after = UNAVAILABLE[reason]
    headers = {"Retry-After": str(retry_after)}
    if wants_json():
        return {"error": str(message), "field": None}, 503, headers
    return render_template("error.html", code=503, message=message), 503, headers
