"""Was each answered test call written in the unit's logbook? Logged, logged late or not logged.

A test call asks a scripted question (monitor/providers/script.py); the unit should record it like any
citizen's call. The match joins on call metadata only, never on anything written on the entry (nothing on an
entry says it was a test, so staff cannot treat test calls differently): the entry is the unit's own (not a
copy transferred in from another unit), its reporter's phone is one of our caller lines, and it was received
within settings.logbook_match_window_minutes of the moment the call was answered. An entry written
(created_at) more than settings.logbook_late_hours after the call is *late*. One entry matches at most one
call: the closest pairs in time are taken first. Nothing is stored: the match is read again whenever asked,
so an entry written today changes a past period's figures (late, not missing).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from monitor.settings import SIMULATED_CALLER, Settings
from registry.clock import parse_iso
from registry.numbers import normalize_digits

STATUSES = ("logged", "late", "not_logged")

# Answered tests of the period (every purpose: a retest or an inspector's call asks its question too), placed
# in [start, end) like the report's figures; "called" is when the unit picked up.
ANSWERED_SQL = """
SELECT a.id, a.unit_id, u.code AS unit_code, COALESCE(a.answered_at, a.placed_at, a.planned_at) AS called_at
FROM attempts a JOIN units u ON u.id = a.unit_id
WHERE a.state = 'ended' AND a.outcome = 'answered' AND a.planned_at >= :start AND a.planned_at < :end
  AND (:unit IS NULL OR a.unit_id = :unit)
ORDER BY called_at, a.id
"""
# Each answered test's candidate entries: the unit's own, received within the window (the book's
# (unit_id, received_at) index answers each call with a short range scan, however large the book).
CANDIDATES_SQL = """
SELECT a.id AS attempt_id, e.id AS entry_id, e.receipt_code, e.received_at, e.created_at, e.reporter_phone,
       e.lookup_digits, e.phone_erased_at
FROM attempts a
JOIN logbook_entries e ON e.unit_id = a.unit_id
    AND e.received_at >= strftime('%Y-%m-%dT%H:%M:%fZ', COALESCE(a.answered_at, a.placed_at, a.planned_at), :before)
    AND e.received_at <= strftime('%Y-%m-%dT%H:%M:%fZ', COALESCE(a.answered_at, a.placed_at, a.planned_at), :after)
WHERE a.state = 'ended' AND a.outcome = 'answered' AND a.planned_at >= :start AND a.planned_at < :end
  AND (:unit IS NULL OR a.unit_id = :unit) AND e.from_entry_id IS NULL
"""


@dataclass(frozen=True)
class CallMatch:
    """One answered test call and what its unit's book holds for it."""

    attempt_id: int
    unit_id: int
    unit_code: str
    called_at: str  # UTC ISO: when the unit answered
    status: str  # one of STATUSES
    entry_id: int | None = None
    receipt_code: str | None = None
    delay_hours: float | None = None  # from the call to the entry's writing

    def as_dict(self) -> dict:
        return {"attempt": self.attempt_id, "unit": self.unit_code, "called_at": self.called_at,
                "status": self.status, "entry": self.entry_id, "receipt_code": self.receipt_code,
                "delay_hours": None if self.delay_hours is None else round(self.delay_hours, 2)}


def line_key(number: str) -> str:
    """A phone number as national digits (+84 277… and 0277… alike), for comparing caller lines."""
    digits = normalize_digits(number or "").lstrip("+")
    if digits.startswith("0084"):
        digits = digits[2:]
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits


def caller_lines(settings: Settings) -> set[str]:
    """Every line our test calls show as the caller: the Twilio number, the simulator's, and any listed."""
    lines = [settings.twilio_from_number, SIMULATED_CALLER, *settings.logbook_caller_lines.split(",")]
    return {key for key in (line_key(line) for line in lines) if len(key) >= 4}


def _ours(row: dict, lines: set[str]) -> bool:
    """Whether the entry's reporter is one of our lines; after the phone's erasure, by its last four digits."""
    phone = line_key(row["reporter_phone"])
    if phone:
        return phone in lines
    return bool(row["phone_erased_at"]) and bool(row["lookup_digits"]) and any(
        line.endswith(row["lookup_digits"]) for line in lines)


def match_calls(db, period, *, settings: Settings, unit_id: int | None = None) -> list[CallMatch]:
    """Every answered test call of the period (optionally of one unit), in call order, with its match."""
    start, end = period.bounds()
    window = settings.logbook_match_window_minutes * 60
    params = {"start": start, "end": end, "unit": unit_id,
              "before": f"-{window:.3f} seconds", "after": f"+{window:.3f} seconds"}
    calls = [dict(zip(("id", "unit_id", "unit_code", "called_at"), row))
             for row in db.execute(ANSWERED_SQL, params).fetchall()]
    if not calls:
        return []
    lines = caller_lines(settings)
    names = ("attempt_id", "entry_id", "receipt_code", "received_at", "created_at", "reporter_phone",
             "lookup_digits", "phone_erased_at")
    candidates = [row for row in (dict(zip(names, r)) for r in db.execute(CANDIDATES_SQL, params).fetchall())
                  if _ours(row, lines)]
    called = {c["id"]: parse_iso(c["called_at"]) for c in calls}
    # The closest pairs first, so one entry answers at most one call and a call takes its nearest entry.
    candidates.sort(key=lambda r: (abs((parse_iso(r["received_at"]) - called[r["attempt_id"]]).total_seconds()),
                                   r["attempt_id"], r["entry_id"]))
    chosen: dict[int, dict] = {}
    used: set[int] = set()
    for row in candidates:
        if row["attempt_id"] in chosen or row["entry_id"] in used:
            continue
        chosen[row["attempt_id"]] = row
        used.add(row["entry_id"])
    late_after = timedelta(hours=settings.logbook_late_hours)
    out = []
    for call in calls:
        entry = chosen.get(call["id"])
        if entry is None:
            out.append(CallMatch(call["id"], call["unit_id"], call["unit_code"], call["called_at"], "not_logged"))
            continue
        delay = parse_iso(entry["created_at"]) - called[call["id"]]
        out.append(CallMatch(call["id"], call["unit_id"], call["unit_code"], call["called_at"],
                             "late" if delay > late_after else "logged", entry["entry_id"], entry["receipt_code"],
                             max(delay.total_seconds(), 0) / 3600))
    return out
