"""The demo's mailbox: the alert e-mails the local mail catcher (monitor/mailcatcher.py) received.

Demo mode only (a 404 otherwise), inspectors only: it shows that alerts really go out by e-mail, without a
mail server. The messages are read from the catcher's folder, not from the database.
"""
from flask import Blueprint, abort, render_template

from monitor.mailcatcher import read_messages
from monitor.web import settings
from registry.web.auth import inspector_required

bp = Blueprint("demo_mail", __name__, url_prefix="/demo/mail")
SHOWN = 100


@bp.app_context_processor
def demo_mailbox() -> dict:
    """Whether the menu links to the demo's mailbox (demo mode with the simulator)."""
    return {"demo_mailbox": settings().demo_active}


@bp.route("")
@inspector_required
def mailbox():
    """The caught messages, newest first, each with its recipients, subject and text."""
    if not settings().demo_active:
        abort(404)
    messages = read_messages(settings().mail_catcher_folder, SHOWN)
    return render_template("monitor/demo_mail.html", messages=messages, folder=settings().mail_catcher_folder)
