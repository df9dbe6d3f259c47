"""Reads for the inspectors' pages: attempt lists with their unit, the dashboard's counts, related attempts.

The lists and counts are of test calls only (store.TESTS_ONLY): a survey call dials a citizen, whose number has
no place on the test-call pages. with_unit() alone reads any attempt: the evidence page masks a survey call's.
"""
from __future__ import annotations

from datetime import datetime

from monitor.attempts.outcomes import OUTCOMES
from monitor.attempts.store import NOT_TESTS, STATES, TESTS_ONLY, tests_only
from registry.clock import iso

ATTEMPT_SELECT = """
SELECT a.*, u.code AS unit_code, u.name AS unit_name, h.display AS current_display, h.number AS current_number
FROM attempts a JOIN units u ON u.id = a.unit_id LEFT JOIN hotlines h ON h.unit_id = a.unit_id
"""


def recent(db, *, unit: str = "", outcome: str = "", state: str = "", limit: int = 100) -> list[dict]:
    """Attempts with their unit, filtered by unit code, outcome and state (unknown values are no filter).

    Without a state, what happened and what is happening, newest first (plans are listed apart);
    with state 'planned', the plans, soonest first.
    """
    where, params = [TESTS_ONLY], []
    if unit:
        where.append("u.code = ?")
        params.append(unit)
    if outcome in OUTCOMES:
        where.append("a.outcome = ?")
        params.append(outcome)
    if state in STATES:
        where.append("a.state = ?")
        params.append(state)
    else:
        where.append("a.state != 'planned'")
    sql = ATTEMPT_SELECT + " WHERE " + " AND ".join(where)
    if state == "planned":
        sql += " ORDER BY a.planned_at, a.id LIMIT ?"
    else:
        sql += " ORDER BY COALESCE(a.ended_at, a.dial_requested_at) DESC, a.id DESC LIMIT ?"
    return db.execute_returning_dicts(sql, params + [limit])


def upcoming(db, limit: int = 10) -> list[dict]:
    """The next planned attempts with their unit, soonest first."""
    return db.execute_returning_dicts(
        ATTEMPT_SELECT + f" WHERE a.state = 'planned' AND {TESTS_ONLY} ORDER BY a.planned_at, a.id LIMIT ?", [limit]
    )


def outcome_counts(db, since: datetime) -> dict[str, int]:
    """Outcome → how many attempts ended with it since `since`, calls held for review apart (under 'held')."""
    counts: dict[str, int] = {}
    for outcome, certain, count in db.execute(
        "SELECT outcome, outcome_certain IS NOT 0, count(*) FROM attempts WHERE state = 'ended' AND ended_at >= ? "
        f"AND {tests_only('attempts')} GROUP BY 1, 2",
        [iso(since)],
    ).fetchall():
        key = outcome if certain else "held"
        counts[key] = counts.get(key, 0) + count
    return counts


HELD_ANY = "state = 'ended' AND outcome_certain = 0"  # the partial index attempts_held covers exactly these
HELD = f"a.state = 'ended' AND a.outcome_certain = 0 AND {TESTS_ONLY}"
IN_FLIGHT = "state IN ('dialing', 'unknown', 'placed', 'ringing', 'answered')"  # claimed and not yet ended


def _tests_count(db, condition: str) -> int:
    """How many test calls meet a condition on state (and certainty): every call's count on an index minus the
    other calls' on attempts_not_tests, so that no row is read however many tests a week plans."""
    return db.execute(
        f"SELECT (SELECT count(*) FROM attempts WHERE {condition}) "
        f"- (SELECT count(*) FROM attempts INDEXED BY attempts_not_tests WHERE {NOT_TESTS} AND {condition})"
    ).fetchone()[0]


def held_count(db) -> int:
    """How many calls wait for an inspector's decision (the review queue's length)."""
    return _tests_count(db, HELD_ANY)


def held_queue(db, limit: int = 20) -> list[dict]:
    """The calls held for review with their unit, oldest first (the order inspectors decide them in)."""
    return db.execute_returning_dicts(ATTEMPT_SELECT + f" WHERE {HELD} ORDER BY a.ended_at, a.id LIMIT ?", [limit])


def in_flight_count(db) -> int:
    """Attempts claimed and not yet ended (dialing, unknown, placed, ringing, answered)."""
    return _tests_count(db, IN_FLIGHT)


def planned_count(db, unit_id: int | None = None) -> int:
    """Planned attempts, of one unit or of all."""
    if unit_id is None:
        return _tests_count(db, "state = 'planned'")
    return db.execute(
        f"SELECT count(*) FROM attempts a WHERE unit_id = ? AND state = 'planned' AND {TESTS_ONLY}", [unit_id]
    ).fetchone()[0]


def with_unit(db, attempt_id: int) -> dict | None:
    """One attempt with its unit and the unit's current hotline, or None; a survey call too (its page masks it)."""
    rows = db.execute_returning_dicts(ATTEMPT_SELECT + " WHERE a.id = ?", [attempt_id])
    return rows[0] if rows else None


def related(db, attempt: dict) -> list[dict]:
    """The attempt's retests, or the original it retests (id, purpose, state, outcome, times)."""
    return db.execute_returning_dicts(
        "SELECT id, purpose, state, outcome, planned_at, ended_at FROM attempts "
        f"WHERE (retest_of = ? OR id = ?) AND id != ? AND {tests_only('attempts')} ORDER BY id",
        [attempt["id"], attempt["retest_of"] or 0, attempt["id"]],
    )


def unit_history(db, unit_id: int, limit: int = 500) -> list[dict]:
    """A unit's attempts, latest planned time first, without its scheduled tests still to come."""
    return db.execute_returning_dicts(
        ATTEMPT_SELECT + f" WHERE a.unit_id = ? AND (a.state != 'planned' OR a.purpose != 'scheduled') AND {TESTS_ONLY} "
        "ORDER BY a.planned_at DESC, a.id DESC LIMIT ?",
        [unit_id, limit],
    )
