"""The operator's queue, as rules on plain values: which case may be offered, which comes first, and what a
call's disposition does to its case. No database here (cases.py reads and writes; this module decides).

A case is offered when it is open, nobody else holds an unexpired claim on it, its retry delay has passed
(next_at), and its citizen may be called (a phone, not on the do-not-call list: the caller's `can_call`).
Appointments come first once their time has come, then the case waiting longest (never tried before any
retry: next_at NULL sorts first), then the oldest case.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from monitor.surveys import dispositions
from registry.clock import iso

CLAIM = timedelta(minutes=10)  # how long an offered case stays the operator's own before another may take it
KEEPS_ANSWERS = ("complete", "partial", "break_off")  # dispositions whose call may have asked questions


def offerable(case: dict, now: datetime, user_id: int) -> bool:
    """May this case be offered to this operator now (ignoring the citizen's phone, checked by the caller)?"""
    at = iso(now)
    if case["state"] != "open" or case.get("mode", "operator") != "operator":
        return False
    if case["claimed_by"] not in (None, user_id) and (case["claimed_until"] or "") > at:
        return False
    return case["next_at"] is None or case["next_at"] <= at


def order_key(case: dict, now: datetime) -> tuple:
    """Sort key: due appointments first (earliest first), then the longest waiting, then the oldest case."""
    at = iso(now)
    appointment = case["appointment_at"]
    due = appointment is not None and appointment <= at
    return (0 if due else 1, appointment if due else "", case["next_at"] or "", case["id"])


def choose(candidates: list[dict], now: datetime, user_id: int, can_call) -> dict | None:
    """The case to offer next among candidates, or None; can_call(case) says whether its citizen may be called."""
    for case in sorted((c for c in candidates if offerable(c, now, user_id)), key=lambda c: order_key(c, now)):
        if can_call(case):
            return case
    return None


def after_call(disposition: str, tries_before: int, now: datetime, appointment_at: datetime | None = None) -> dict:
    """What a call's disposition does to its case: tries, state, next_at, appointment_at, closed_at (ISO text).

    A final disposition closes the case; any other offers it again after its retry delay (an appointment: at the
    citizen's chosen time), until dispositions.MAX_TRIES calls have been made, when the last disposition stands.
    """
    rule = dispositions.get(disposition)
    tries = tries_before + 1
    closed = rule.final or tries >= dispositions.MAX_TRIES
    if closed:
        return {"tries": tries, "state": "closed", "next_at": None, "appointment_at": None, "closed_at": iso(now)}
    if disposition == "appointment":
        return {"tries": tries, "state": "open", "next_at": iso(appointment_at), "appointment_at": iso(appointment_at),
                "closed_at": None}
    return {"tries": tries, "state": "open", "next_at": iso(now + rule.retry), "appointment_at": None,
            "closed_at": None}
