"""The blueprint "registry" its page modules add their views to, and what those pages share.

registry.web.pages imports every page module and hands the blueprint, with all its views, to the app.
"""
from flask import Blueprint, request

bp = Blueprint("registry", __name__)

MAX_QUERY = 100


def form_errors(*forms) -> list[tuple[str, str]]:
    """(field id, message) of every error on the page, for the summary at the top."""
    out = []
    for form in forms:
        out += [("", message) for message in form.form_errors]
        for field in form:
            out += [(field.id, message) for message in field.errors]
    return out


def page_number(total: int, size: int) -> tuple[int, int]:
    """The requested page number (clamped to what exists) and the number of pages."""
    pages = max(1, -(-total // size))
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    return min(max(page, 1), pages), pages
