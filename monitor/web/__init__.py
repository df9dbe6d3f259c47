"""Flask for the monitor: pages for test calls and reports, provider webhooks. No SQL here."""
from flask import current_app

from monitor.settings import Settings


def settings() -> Settings:
    """The running app's settings (parsed once by create_app)."""
    return current_app.extensions["settings"]
