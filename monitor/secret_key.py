"""The demo's secret key kept in the instance folder, when FLASK_SECRET_KEY is not set.

On a first start the web workers and the scheduler may all find the folder empty at once. Each writes a
complete key to a private temporary file and links it into place: link() fails when the name exists, so
exactly one key wins, nobody ever reads a half-written file, and everyone then reads the winner.
"""
from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

from monitor.settings import SettingsError

log = logging.getLogger(__name__)
FILE_NAME = "secret_key"


def instance_secret_key(folder: Path) -> str:
    """The key stored in folder/secret_key, created (mode 0600) if there is none yet."""
    path = Path(folder) / FILE_NAME
    key = _read(path)
    if key is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{FILE_NAME}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(temporary, path)
                log.warning("FLASK_SECRET_KEY not set: generated a demo key in %s", path)
            except FileExistsError:  # another process won the race: its key is the one
                pass
        finally:
            os.unlink(temporary)
        key = _read(path)
    if not key:
        # Left by an older version that crashed between creating the file and writing it; start-up messages
        # are plain Vietnamese, like monitor/settings.py's.
        raise SettingsError(f"Tệp khóa bí mật {path} bị rỗng: hãy xóa tệp này để hệ thống tạo lại, "
                            "hoặc đặt FLASK_SECRET_KEY.", field="SECRET_KEY")
    return key


def _read(path: Path) -> str | None:
    """The stripped content of the key file, or None when there is no such file."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
