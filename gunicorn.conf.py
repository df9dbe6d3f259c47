"""gunicorn's configuration (read from the project folder, and passed by scripts/start.sh): an access log
that never shows an invitation token (registry/web/access_log.py)."""
import sys
from pathlib import Path

from gunicorn.glogging import Logger

sys.path.insert(0, str(Path(__file__).resolve().parent))

from registry.web.access_log import redact  # noqa: E402  (needs the project folder on the path)


class RedactingLogger(Logger):
    """gunicorn's logger, with the invitation token hidden in every part of an access-log line."""

    def atoms(self, resp, req, environ, request_time):
        values = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in values.items()}


logger_class = RedactingLogger
