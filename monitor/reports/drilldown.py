"""The attempts behind a figure: drill-down filters and their SQL, each attempt with its evidence.

The scope predicates (scopes.py) are the SQL twins of the tally's rules, so a drill-down lists exactly the
attempts its figure counts. The report pages read their attempt lists and evidence from here.
"""
from __future__ import annotations

from monitor.attempts.outcomes import FAILURES, OUTCOMES
from monitor.attempts.store import TESTS_ONLY
from monitor.reports.periods import Period
from monitor.reports.scopes import SCOPE_SQL, SCOPES
from monitor.scheduling.bands import BANDS
from registry.errors import UserError

ATTEMPTS_SQL = """
SELECT a.id, a.unit_id, a.number, a.planned_at, a.band, a.purpose, a.retest_of, a.dial_requested_at,
       a.placed_at, a.ringing_at, a.answered_at, a.ended_at, a.answer_seconds, a.duration_seconds,
       a.call_status, a.answered_by, a.sip_code, a.q850_cause, a.forwarded_from, a.transcript,
       a.speech_confidence, a.recording_url, a.outcome, a.outcome_detail, a.original_outcome, a.confirmed,
       a.error, a.outcome_basis, a.outcome_certain, u.code AS unit_code, u.name AS unit_name, u.group_code, h.hours,
       (SELECT count(*) FROM outcome_reviews r WHERE r.attempt_id = a.id) AS reviews,
       (SELECT d.status FROM disputes d WHERE d.attempt_id = a.id ORDER BY d.id DESC LIMIT 1) AS dispute_status,
       (SELECT d.id FROM disputes d WHERE d.attempt_id = a.id ORDER BY d.id DESC LIMIT 1) AS dispute_id,
       (SELECT r.outcome FROM attempts r WHERE r.retest_of = a.id AND r.state = 'ended'
         ORDER BY r.ended_at DESC LIMIT 1) AS retest_outcome
FROM attempts a JOIN units u ON u.id = a.unit_id LEFT JOIN hotlines h ON h.unit_id = a.unit_id
"""


class FilterError(UserError):
    """A drill-down filter that is not one of the known values; .message in Vietnamese, .field the filter."""

    def __init__(self, message: str, field: str | None = None, **kwargs):
        # The field may be given by position: every filter refusal names its filter.
        super().__init__(message, field=field, **kwargs)


def check_filters(*, outcome: str | None = None, band: str | None = None, scope: str = "counted",
                  confirmed: str | None = None) -> None:
    """Refuse unknown filter values with a message naming the field."""
    if outcome and outcome not in OUTCOMES and outcome != "failure":
        raise FilterError(f"Kết quả “{outcome}” không có trong danh sách kết quả cuộc gọi.", "outcome")
    if band and band not in BANDS:
        raise FilterError(f"Khung giờ “{band}” không có.", "band")
    if scope not in SCOPES:
        raise FilterError(f"Phạm vi “{scope}” không có (dùng: {', '.join(SCOPES)}).", "scope")
    if confirmed not in (None, "", "0", "1", "pending"):
        raise FilterError("Giá trị xác nhận phải là 1, 0 hoặc pending.", "confirmed")


def list_attempts(db, period: Period, *, unit_id: int | None = None, group: str | None = None,
                  outcome: str | None = None, band: str | None = None, scope: str = "counted",
                  confirmed: str | None = None, limit: int = 200, offset: int = 0) -> tuple[list[dict], int]:
    """The attempts behind a figure, oldest first, with their evidence; and how many there are in all.

    The scope predicates are the SQL twins of the tally rules above, so a drill-down lists exactly the
    attempts its figure counts (tests/test_metrics.py checks this).
    """
    check_filters(outcome=outcome, band=band, scope=scope, confirmed=confirmed)
    start, end = period.bounds()
    where = ["a.state = 'ended'", "a.planned_at >= ?", "a.planned_at < ?", SCOPE_SQL[scope]]
    params: list = [start, end]
    if unit_id is not None:
        where.append("a.unit_id = ?")
        params.append(unit_id)
    if group:
        where.append("u.group_code = ?")
        params.append(group)
    if outcome == "failure":
        where.append(f"a.outcome IN ({', '.join('?' * len(FAILURES))})")
        params.extend(FAILURES)
    elif outcome:
        where.append("a.outcome = ?")
        params.append(outcome)
    if band:
        where.append("a.band = ?")
        params.append(band)
    if confirmed == "pending":
        where.append("a.confirmed IS NULL")
    elif confirmed in ("0", "1"):
        where.append("a.confirmed = ?")
        params.append(int(confirmed))
    clause = " WHERE " + " AND ".join(where)
    total = db.execute(
        "SELECT count(*) FROM attempts a JOIN units u ON u.id = a.unit_id LEFT JOIN hotlines h ON h.unit_id = a.unit_id"
        + clause, params
    ).fetchone()[0]
    rows = db.execute_returning_dicts(
        ATTEMPTS_SQL + clause + " ORDER BY a.planned_at, a.id LIMIT ? OFFSET ?", params + [limit, offset]
    )
    return rows, total


def confirmed_failures(db, period: Period, unit_ids: list[int]) -> dict[int, list[dict]]:
    """The confirmed failures of these units in the period (the evidence references of the report)."""
    if not unit_ids:
        return {}
    start, end = period.bounds()
    out: dict[int, list[dict]] = {}
    # Chunks keep the statement under SQLite's parameter limit however many units failed; the report index
    # makes each chunk a seek per unit instead of a scan of the whole period.
    for i in range(0, len(unit_ids), 500):
        chunk = unit_ids[i:i + 500]
        cursor = db.execute(
            f"""SELECT a.id, a.unit_id, a.planned_at, a.ended_at, a.band, a.outcome, a.sip_code, a.number,
                       (SELECT r.id FROM attempts r WHERE r.retest_of = a.id AND r.state = 'ended'
                        ORDER BY r.ended_at DESC LIMIT 1) AS retest_id
                FROM attempts a INDEXED BY attempts_report LEFT JOIN hotlines h ON h.unit_id = a.unit_id
                WHERE a.unit_id IN ({', '.join('?' * len(chunk))}) AND a.state = 'ended'
                  AND a.planned_at >= ? AND a.planned_at < ? AND a.confirmed = 1 AND {SCOPE_SQL['counted']}
                  AND a.outcome != 'answered'
                ORDER BY a.unit_id, a.planned_at""",
            chunk + [start, end],
        )
        columns = [c[0] for c in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(columns, values))
            out.setdefault(row["unit_id"], []).append(row)
    return out




def attempt_evidence(db, attempt_id: int) -> dict | None:
    """One test call with its unit, reviews, dispute and retest (what a dispute page shows); None if unknown
    or a survey call (never disputed: it dialled a citizen, not the unit's hotline)."""
    rows = db.execute_returning_dicts(ATTEMPTS_SQL + f" WHERE a.id = ? AND {TESTS_ONLY}", [attempt_id])
    return rows[0] if rows else None
