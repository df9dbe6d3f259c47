"""The attempts table as read: its states, the write transaction every writer of attempts takes, row reads.

planned(0) → dialing(1) → unknown(2) → placed(3) → ringing(4) → answered(5) → ended(6); state_rank holds the
number and never goes down (the one move back, dialing → planned when no call was created, is in lifecycle).
Nothing here writes a row: monitor/attempts/lifecycle.py does.
"""
from __future__ import annotations

import json

from flask_babel import gettext

from registry import db as registry_db
from registry.errors import UserError

STATES = ("planned", "dialing", "unknown", "placed", "ringing", "answered", "ended")
RANK = {state: rank for rank, state in enumerate(STATES)}
PURPOSES = ("scheduled", "retest", "manual", "survey")  # survey: an automated 1022 call (monitor/surveys/calls.py)
EVENT_KINDS = ("status", "amd", "gather", "recording", "reconcile", "sim")
# The purposes of test calls of a unit's hotline: all that reports, verdicts, summaries, the logbook match, alerts,
# allocation, the review queue, disputes and the test-call pages read. A 'survey' attempt dials a sampled citizen
# (attempts.number is the citizen's phone, unit_id the unit that handled the dossier): never a test of the hotline.
TEST_PURPOSES = ("scheduled", "retest", "manual")


def tests_only(alias: str = "a") -> str:
    """The SQL condition that keeps test calls only (no survey call) among the rows of `alias` (a table alias,
    or `attempts` itself). The test purposes are listed rather than 'survey' excluded, so that a kind of call
    added later stays out of every test figure until it is decided otherwise; purpose is a column of the
    report's covering index (attempts_report), so the report's queries read no table row for it."""
    return f"{alias}.purpose IN ({', '.join(repr(purpose) for purpose in TEST_PURPOSES)})"


TESTS_ONLY = tests_only()  # over `attempts a`, as most readers name it
# The other calls, as the partial index attempts_not_tests (monitor migration 15) names them: a count over it
# taken from a count over all calls gives the tests' count from two indexes, without reading a row.
NOT_TESTS = f"purpose NOT IN ({', '.join(repr(purpose) for purpose in TEST_PURPOSES)})"


def is_test(row: dict) -> bool:
    """Whether an attempts row is a test call of its unit's hotline (not a survey call)."""
    return row.get("purpose", "scheduled") in TEST_PURPOSES


class AttemptError(UserError):
    """A request about an attempt that cannot be honoured (unknown id, bad outcome…); .message is Vietnamese."""


# ------------------------------------------------------------------------------------- write transaction

# Every writer of attempts takes registry.db's write transaction (BEGIN IMMEDIATE after queueing on a thread lock
# and an flock, a savepoint when nested); re-exported here, where the attempts' writers have always found it.
write_transaction = registry_db.write_transaction


# ------------------------------------------------------------------------------------------------ reads


def dicts(db, sql: str, params=()) -> list[dict]:
    """Rows as dicts, straight from the connection (no savepoint around a plain read, unlike sqlite-utils)."""
    cursor = db.conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def row(db, attempt_id) -> dict:
    """The bare attempts row; AttemptError if there is none."""
    rows = dicts(db, "SELECT * FROM attempts WHERE id = ?", [attempt_id])
    if not rows:
        raise AttemptError(gettext("Không có lần gọi kiểm tra số %(id)s.", id=attempt_id))
    return rows[0]


def exists(db, attempt_id) -> bool:
    return db.execute("SELECT 1 FROM attempts WHERE id = ?", [attempt_id]).fetchone() is not None


def sid_free(db, call_sid: str, attempt_id: int) -> bool:
    """Whether no other attempt holds this provider call id."""
    return not db.execute("SELECT 1 FROM attempts WHERE call_sid = ? AND id != ?", [call_sid, attempt_id]).fetchone()


def get_attempt(db, attempt_id) -> dict:
    """The attempt row with its unit's code and name and the unit's current hotline (is_demo 1 if none)."""
    rows = db.execute_returning_dicts(
        """SELECT a.*, u.code AS unit_code, u.name AS unit_name,
                  h.number AS registered_number, COALESCE(h.is_demo, 1) AS is_demo
           FROM attempts a JOIN units u ON u.id = a.unit_id LEFT JOIN hotlines h ON h.unit_id = a.unit_id
           WHERE a.id = ?""",
        [attempt_id],
    )
    if not rows:
        raise AttemptError(gettext("Không có lần gọi kiểm tra số %(id)s.", id=attempt_id))
    return rows[0]


def stored_events(db, attempt_id) -> list[dict]:
    """The columns of an attempt's events that folding reads (payloads still JSON text)."""
    return dicts(
        db, "SELECT kind, dedupe_key, call_status, sequence, received_at, payload FROM call_events WHERE attempt_id = ?",
        [attempt_id],
    )


def events(db, attempt_id) -> list[dict]:
    """An attempt's stored provider events in arrival order, payloads decoded."""
    rows = db.execute_returning_dicts(
        "SELECT * FROM call_events WHERE attempt_id = ? ORDER BY id", [attempt_id]
    )
    for event in rows:
        event["params"] = json.loads(event["payload"])
    return rows


def reviews(db, attempt_id) -> list[dict]:
    """An attempt's review history, newest first."""
    return db.execute_returning_dicts(
        "SELECT r.*, u.email AS user_email FROM outcome_reviews r LEFT JOIN users u ON u.id = r.user_id "
        "WHERE r.attempt_id = ? ORDER BY r.at DESC, r.id DESC",
        [attempt_id],
    )
