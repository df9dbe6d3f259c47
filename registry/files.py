"""Writing a file a command line produces (a report, an export) so that a failure never leaves half of it."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(target: Path, body: bytes, *, prefix: str = ".tmp-") -> None:
    """Write body to target through a temporary file beside it, renamed into place once complete."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=target.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
