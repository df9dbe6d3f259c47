"""Access logs without secrets: an invitation link's token is replaced before a log line is written.

The invitation link (/invite/<token>) is the only URL that carries a secret: whoever reads the log could
set the account's password. The view moves the token into the session at once; these hide it in the one
log line of that first request, for gunicorn (gunicorn.conf.py) and for Werkzeug's development server.
"""
import logging
import re

_INVITE = re.compile(r"(/invite/)[^\s?#\"/]+")
# The public API's second key to a logbook entry (registry/web/api_logbook.py): the phone's last 4 digits.
_LOOKUP_DIGITS = re.compile(r"([?&]lookup_digits=)[^\s&#\"]+")
HIDDEN = r"\1…"


def redact(text: str) -> str:
    """The text with every invitation token and lookup digits replaced by "…"."""
    return _LOOKUP_DIGITS.sub(HIDDEN, _INVITE.sub(HIDDEN, text))


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message (Werkzeug logs '"GET /invite/… HTTP/1.1" 302 -')."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = redact(message)
        if hidden != message:
            record.msg, record.args = hidden, ()  # no args: the message is not %-formatted again
        return True


def install(logger_name: str = "werkzeug") -> None:
    """Redact a logger's lines (once, however many apps are built in one process)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
