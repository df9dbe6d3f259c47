"""The calls behind a verdict, for the documents: every counted call of the units that fail or are contested,
each with its retest, what was heard, the inspectors' decisions and the dispute; and whether a period's calls
were simulated.

A unit may fail on its answer rate with no failure yet confirmed by a retest, so the evidence is every call
the verdict counted, not only the confirmed failures; a contested call stays in the list (with its dispute)
even when an accepted dispute took it out of the figures.
"""
from __future__ import annotations

from monitor.attempts.store import TESTS_ONLY, tests_only
from monitor.reports.periods import Period
from monitor.reports.scopes import SCOPE_SQL

CHUNK = 500  # units per statement: keeps it under SQLite's parameter limit however many units fail

CALLS_SQL = """
SELECT a.id, a.unit_id, a.number, a.planned_at, COALESCE(a.dial_requested_at, a.planned_at) AS called_at,
       a.ended_at, a.band, a.purpose, a.outcome, a.outcome_detail, a.original_outcome, a.outcome_certain,
       a.confirmed, a.answer_seconds, a.sip_code, a.transcript, a.recording_url, a.provider,
       r.id AS retest_id, r.outcome AS retest_outcome
FROM attempts a LEFT JOIN hotlines h ON h.unit_id = a.unit_id
LEFT JOIN attempts r ON r.id = (SELECT x.id FROM attempts x WHERE x.retest_of = a.id AND x.state = 'ended'
                                ORDER BY x.ended_at DESC, x.id DESC LIMIT 1)
WHERE a.unit_id IN ({marks}) AND a.state = 'ended' AND a.planned_at >= ? AND a.planned_at < ?
  AND ({counted} OR ({tests} AND a.purpose != 'retest' AND a.id IN (SELECT attempt_id FROM disputes)))
ORDER BY a.unit_id, a.planned_at, a.id
"""

REVIEWS_SQL = """
SELECT r.attempt_id, r.at, r.old_outcome, r.new_outcome, r.reason, COALESCE(NULLIF(u.name, ''), u.email) AS by_name
FROM outcome_reviews r LEFT JOIN users u ON u.id = r.user_id
WHERE r.attempt_id IN ({marks}) ORDER BY r.attempt_id, r.at, r.id
"""

DISPUTES_SQL = """
SELECT d.attempt_id, d.id, d.status, d.opened_at, d.explanation, d.decided_at, d.decision_reason,
       COALESCE(NULLIF(u.name, ''), u.email) AS decided_by_name
FROM disputes d LEFT JOIN users u ON u.id = d.decided_by
WHERE d.attempt_id IN ({marks}) ORDER BY d.attempt_id, d.id
"""


def _rows(db, sql: str, params: list) -> list[dict]:
    cursor = db.execute(sql, params)
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, values)) for values in cursor.fetchall()]


def unit_calls(db, period: Period, unit_ids: list[int]) -> dict[int, list[dict]]:
    """Unit id → its counted (or contested) calls in the period, oldest first, each with `reviews` and `dispute`."""
    start, end = period.bounds()
    calls: list[dict] = []
    for i in range(0, len(unit_ids), CHUNK):
        chunk = list(unit_ids[i:i + CHUNK])
        sql = CALLS_SQL.format(marks=", ".join("?" * len(chunk)), counted=SCOPE_SQL["counted"], tests=TESTS_ONLY)
        calls.extend(_rows(db, sql, chunk + [start, end]))
    reviews: dict[int, list[dict]] = {}
    disputes: dict[int, dict] = {}
    ids = [c["id"] for c in calls]
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        marks = ", ".join("?" * len(chunk))
        for row in _rows(db, REVIEWS_SQL.format(marks=marks), chunk):
            reviews.setdefault(row["attempt_id"], []).append(row)
        for row in _rows(db, DISPUTES_SQL.format(marks=marks), chunk):
            disputes[row["attempt_id"]] = row  # ordered by id: the latest dispute wins
    out: dict[int, list[dict]] = {}
    for call in calls:
        call["reviews"] = reviews.get(call["id"], [])
        call["dispute"] = disputes.get(call["id"])
        out.setdefault(call["unit_id"], []).append(call)
    return out


def contested_unit_ids(db, period: Period, group: str | None = None) -> set[int]:
    """Units with a dispute (open or decided) on a call of the period."""
    start, end = period.bounds()
    sql = ("SELECT DISTINCT d.unit_id FROM disputes d JOIN attempts a ON a.id = d.attempt_id "
           f"JOIN units u ON u.id = d.unit_id WHERE a.planned_at >= ? AND a.planned_at < ? AND {TESTS_ONLY}")
    params: list = [start, end]
    if group:
        sql += " AND u.group_code = ?"
        params.append(group)
    return {row[0] for row in db.execute(sql, params).fetchall()}


def simulated(db, period: Period, unit_id: int | None = None) -> bool:
    """Whether any test call of the period (of this unit, if given) was placed by the simulator.

    The whole period is asked, not one group: a group's report beside a simulated province is a demo too.
    Survey calls do not count: the report is about the tests.
    """
    start, end = period.bounds()
    sql = ("SELECT 1 FROM attempts WHERE provider = 'simulator' AND planned_at >= ? AND planned_at < ? "
           f"AND {tests_only('attempts')}")
    params: list = [start, end]
    if unit_id is not None:
        sql += " AND unit_id = ?"
        params.append(unit_id)
    return db.execute(sql + " LIMIT 1", params).fetchone() is not None
