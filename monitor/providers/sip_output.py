"""Where the SIP stack's own output goes while it starts (no SIP stack imported here)."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager


@contextmanager
def stdout_to_stderr():
    """The process's stdout (file descriptor 1) sent to stderr for the duration of the block.

    PJSIP prints its first lines to stdout before any log setting of ours applies, and stdout may carry a
    command's JSON (`monitor call --json`). Only while the stack starts: nothing else writes then.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
