"""Where a SIP call's recording lives and how the evidence page links to it (no SIP stack here).

Twilio keeps its recordings; a SIP call's is a WAV of ours, in the instance folder beside the database, named
after the attempt alone (`sip-recordings/<attempt id>.wav`): no path stored in the database or taken from a
request ever names a file, so nothing can lead the web app outside that folder. The attempt's recording_url
is LINK (our own route), which serves the file to the readers who may see the attempt.
"""
from __future__ import annotations

import re
from pathlib import Path

LINK = "/monitor/attempts/{attempt_id}/recording"
LINK_PATTERN = re.compile(r"/monitor/attempts/(\d{1,18})/recording")


def folder(database: str) -> Path:
    """The recordings' folder: beside the database, in the instance folder."""
    return Path(database).resolve().parent / "sip-recordings"


def path(database: str, attempt_id: int) -> Path:
    """The recording of one attempt (which may not exist)."""
    return folder(database) / f"{int(attempt_id)}.wav"


def capture_path(database: str, attempt_id: int) -> Path:
    """Where a call's audio is captured for answering-machine detection while recording is off: deleted as soon as
    the detection has run, never linked."""
    return folder(database) / f"{int(attempt_id)}.capture.wav"


def link(attempt_id: int) -> str:
    """The attempt's recording_url for a SIP recording."""
    return LINK.format(attempt_id=int(attempt_id))


def is_link(url: str) -> bool:
    """Whether a RecordingUrl is a SIP recording's link of ours."""
    return bool(LINK_PATTERN.fullmatch(url or ""))
