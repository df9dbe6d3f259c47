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

from monitor.attempts.store import TESTS_ONLY
from monitor.settings import SIMULATED_CALLER, Settings
from registry.clock import iso, parse_iso
from registry.numbers import normalize_digits

STATUSES = ("logged", "late", "not_logged")

# Answered tests of the period (every test purpose: a retest or an inspector's call asks its question too; a
# survey call, answered by a citizen, is no test), placed in [start, end) like the report's figures; "called"
# is when the unit picked up.
ANSWERED_SQL = f"""
SELECT a.id, a.unit_id, u.code AS unit_code, COALESCE(a.answered_at, a.placed_at, a.planned_at) AS called_at
FROM attempts a JOIN units u ON u.id = a.unit_id
WHERE a.state = 'ended' AND a.outcome = 'answered' AND a.planned_at >= :start AND a.planned_at < :end AND {TESTS_ONLY}
  AND (:unit IS NULL OR a.unit_id = :unit)
ORDER BY called_at, a.id
"""
# The candidate pairs, driven by the book: entries that could be test calls (the unit's own, from one of our
# lines, received in the period widened by the window and by SLACK), each with the unit's answered tests
# placed near it. Entries from our lines are few, so this stays a short scan of the book's received_at index
# and, per entry, of the attempts_unit index, however many calls the period holds. {lines} and {digits} are
# filled with one named parameter per caller line, {tests} with store.TESTS_ONLY.
CANDIDATES_SQL = """
SELECT a.id AS attempt_id, a.unit_id, e.id AS entry_id, e.receipt_code, e.received_at, e.created_at,
       COALESCE(a.answered_at, a.placed_at, a.planned_at) AS called_at
FROM logbook_entries e
JOIN attempts a ON a.unit_id = e.unit_id
    AND a.planned_at >= max(:start, strftime('%Y-%m-%dT%H:%M:%fZ', e.received_at, :before, :slack))
    AND a.planned_at < :end
    AND a.planned_at <= strftime('%Y-%m-%dT%H:%M:%fZ', e.received_at, :after)
WHERE e.received_at >= :entries_from AND e.received_at <= :entries_to
  AND e.from_entry_id IS NULL AND (:unit IS NULL OR e.unit_id = :unit)
  AND (e.reporter_phone IN ({lines})
       OR (e.phone_erased_at IS NOT NULL AND COALESCE(e.reporter_phone, '') = '' AND e.lookup_digits IN ({digits})))
  AND a.state = 'ended' AND a.outcome = 'answered' AND {tests}
  AND COALESCE(a.answered_at, a.placed_at, a.planned_at)
      BETWEEN strftime('%Y-%m-%dT%H:%M:%fZ', e.received_at, :before)
          AND strftime('%Y-%m-%dT%H:%M:%fZ', e.received_at, :after)
"""
# How long after its planned time a test can be answered (the dispatcher dials within seconds; a scheduler
# that was down dials what is still due when it comes back). Only bounds the scan: the window decides.
SLACK = timedelta(days=1)
# Every unit's answered tests of the period, counted on the report's covering index.
ANSWERED_COUNT_SQL = f"""
SELECT a.unit_id, count(*)
FROM units u NOT INDEXED
CROSS JOIN attempts a INDEXED BY attempts_report
    ON a.unit_id = u.id AND a.state = 'ended' AND a.planned_at >= :start AND a.planned_at < :end
WHERE a.outcome = 'answered' AND {TESTS_ONLY} AND (:unit IS NULL OR u.id = :unit)
GROUP BY a.unit_id
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
    """Every line our test calls show as the caller: the Twilio number, the SIP line (SIP_CALLER_ID, as dialled
    domestically), the simulator's, and any listed. Each counts whenever set, as calls of a former provider stay."""
    lines = [settings.twilio_from_number, settings.sip_caller_id, SIMULATED_CALLER,
             *settings.logbook_caller_lines.split(",")]
    return {key for key in (line_key(line) for line in lines) if len(key) >= 4}


@dataclass(frozen=True)
class Match:
    """An answered test call's entry in the book."""

    unit_id: int
    entry_id: int
    receipt_code: str
    status: str  # logged | late
    delay_hours: float


def matched(db, period, *, settings: Settings, unit_id: int | None = None) -> dict[int, Match]:
    """Attempt id → its entry, for the answered test calls of the period that the book holds (the others,
    answered in the period, are not logged)."""
    start, end = period.bounds()
    window = settings.logbook_match_window_minutes * 60
    ours = caller_lines(settings)
    digits = sorted({line[-4:] for line in ours})
    # As the book stores them (national digits), and as an older entry may hold them (84…).
    lines = sorted(ours | {"84" + line[1:] for line in ours if line.startswith("0")})
    params = {"start": start, "end": end, "unit": unit_id,
              "before": f"-{window:.3f} seconds", "after": f"+{window:.3f} seconds",
              "slack": f"-{SLACK.total_seconds():.0f} seconds",
              "entries_from": iso(parse_iso(start) - timedelta(seconds=window)),
              "entries_to": iso(parse_iso(end) + SLACK + timedelta(seconds=window))}
    params.update({f"line{i}": line for i, line in enumerate(lines)})
    params.update({f"digits{i}": d for i, d in enumerate(digits)})
    sql = CANDIDATES_SQL.format(lines=", ".join(f":line{i}" for i in range(len(lines))),
                                digits=", ".join(f":digits{i}" for i in range(len(digits))), tests=TESTS_ONLY)
    rows = db.execute(sql, params).fetchall()
    candidates = [dict(zip(("attempt_id", "unit_id", "entry_id", "receipt_code", "received_at", "created_at", "called_at"), r))
                  for r in rows]
    called = {r["attempt_id"]: parse_iso(r["called_at"]) for r in candidates}
    # The closest pairs first, so one entry answers at most one call and a call takes its nearest entry.
    candidates.sort(key=lambda r: (abs((parse_iso(r["received_at"]) - called[r["attempt_id"]]).total_seconds()),
                                   r["attempt_id"], r["entry_id"]))
    late_after = timedelta(hours=settings.logbook_late_hours)
    chosen: dict[int, Match] = {}
    used: set[int] = set()
    for row in candidates:
        if row["attempt_id"] in chosen or row["entry_id"] in used:
            continue
        used.add(row["entry_id"])
        delay = parse_iso(row["created_at"]) - called[row["attempt_id"]]
        chosen[row["attempt_id"]] = Match(row["unit_id"], row["entry_id"], row["receipt_code"],
                                          "late" if delay > late_after else "logged",
                                          max(delay.total_seconds(), 0) / 3600)
    return chosen


def answered_counts(db, period, *, unit_id: int | None = None) -> dict[int, int]:
    """Unit id → its answered test calls of the period (every purpose), as match_calls lists them."""
    start, end = period.bounds()
    return dict(db.execute(ANSWERED_COUNT_SQL, {"start": start, "end": end, "unit": unit_id}).fetchall())


def match_calls(db, period, *, settings: Settings, unit_id: int | None = None) -> list[CallMatch]:
    """Every answered test call of the period (optionally of one unit), in call order, with its match."""
    start, end = period.bounds()
    calls = db.execute(ANSWERED_SQL, {"start": start, "end": end, "unit": unit_id}).fetchall()
    if not calls:
        return []
    found = matched(db, period, settings=settings, unit_id=unit_id)
    out = []
    for attempt_id, unit, code, called_at in calls:
        m = found.get(attempt_id)
        if m is None:
            out.append(CallMatch(attempt_id, unit, code, called_at, "not_logged"))
        else:
            out.append(CallMatch(attempt_id, unit, code, called_at, m.status, m.entry_id, m.receipt_code,
                                 m.delay_hours))
    return out
