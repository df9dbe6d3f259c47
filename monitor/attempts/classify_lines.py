"""The classification rules as a tool: one JSON line of evidence in, one JSON-ready result out.

`monitor classify` reads these lines so that inspectors (and tests) can see what the current rules make of any
text, and the benchmark reads the labelled corpus the same way. A line holds `transcript`, `registered` (the
unit's registered number, in any form), `call_status`, `answered_by` and, optionally, `sip_code`; other keys
(a corpus line's `label` and `reason`) are ignored.
"""
from __future__ import annotations

import json

from flask_babel import gettext

from monitor.attempts.outcomes import FINAL_STATUSES, Classification, classify
from monitor.attempts.store import AttemptError

REQUIRED = ("transcript", "registered", "call_status", "answered_by")


class LineError(AttemptError):
    """A line that cannot be classified; .message says why, in Vietnamese."""


def evidence(line: str) -> dict:
    """The evidence of one JSON line, checked; LineError names what is wrong."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise LineError(gettext("Không đọc được JSON: %(error)s.", error=str(exc))) from None
    if not isinstance(data, dict):
        raise LineError(gettext("Mỗi dòng phải là một đối tượng JSON."))
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise LineError(gettext("Thiếu trường: %(fields)s.", fields=", ".join(missing)))
    for key in REQUIRED:
        if data[key] is not None and not isinstance(data[key], str):
            raise LineError(gettext("Trường “%(field)s” phải là chuỗi.", field=key))
    if data["call_status"] not in FINAL_STATUSES:
        raise LineError(gettext("Trạng thái cuộc gọi “%(status)s” không hợp lệ; dùng một trong: %(allowed)s.",
                                status=data["call_status"], allowed=", ".join(FINAL_STATUSES)))
    sip = data.get("sip_code")
    if sip not in (None, ""):
        try:
            sip = int(sip)
        except (TypeError, ValueError):
            raise LineError(gettext("Mã SIP “%(code)s” không phải là số.", code=sip)) from None
        if isinstance(data["sip_code"], bool) or not 100 <= sip <= 699:
            raise LineError(gettext("Mã SIP “%(code)s” không hợp lệ (100–699).", code=data["sip_code"]))
    return {
        "transcript": data["transcript"] or "",
        "registered": data["registered"] or "",
        "call_status": data["call_status"],
        "answered_by": data["answered_by"] or None,
        "sip_code": None if sip in (None, "") else sip,
    }


def run(found: dict) -> Classification:
    """The current rules' classification of this evidence."""
    return classify(found, found["registered"])


def result(found: Classification) -> dict:
    """The output line: outcome, review (True when held for an inspector), reason (the detail) and basis."""
    return {"outcome": found.outcome, "review": not found.certain, "reason": found.detail, "basis": found.basis}


def classify_line(line: str) -> dict:
    """One JSON line of evidence → its result (LineError when the line is not valid)."""
    return result(run(evidence(line)))
