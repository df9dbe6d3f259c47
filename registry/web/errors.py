"""How the web answers a UserError: one handler for every request, one helper for forms shown again.

Domain code raises a UserError (registry.errors) and the web layer speaks it:
- user_error(), registered for UserError by the app, answers /api/ and /hooks/ with JSON
  {"error": message, "field": field} and every page with the error page, both with the error's status —
  so a refusal nobody handles is never a 500;
- form_error() is for the views that show their form again with the message next to the field it names.
"""
from flask import render_template, request

from registry.errors import UserError

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
