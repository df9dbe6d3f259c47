"""The attempts table as read: its states, the write transaction every writer of attempts takes, row reads.

planned(0) → dialing(1) → unknown(2) → placed(3) → ringing(4) → answered(5) → ended(6); state_rank holds the
number and never goes down (the one move back, dialing → planned when no call was created, is in lifecycle).
Nothing here writes a row: monitor/attempts/lifecycle.py does.
"""
from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager

from flask_babel import gettext

from registry.errors import UserError

try:
    import fcntl
except ImportError:  # not on POSIX: SQLite's own locking alone still keeps writes correct
    fcntl = None

STATES = ("planned", "dialing", "unknown", "placed", "ringing", "answered", "ended")
RANK = {state: rank for rank, state in enumerate(STATES)}
PURPOSES = ("scheduled", "retest", "manual")
EVENT_KINDS = ("status", "amd", "gather", "recording", "reconcile", "sim")


class AttemptError(UserError):
    """A request about an attempt that cannot be honoured (unknown id, bad outcome…); .message is Vietnamese."""


# ------------------------------------------------------------------------------------- write transaction


_PROCESS_WRITER = threading.Lock()
_LOCK_FILES: dict[str, int] = {}


def _lock_file(db) -> int | None:
    """A file descriptor to flock beside the database file (None for in-memory databases or no fcntl)."""
    if fcntl is None:
        return None
    path = getattr(db, "_attempts_db_path", None)
    if path is None:
        path = db._attempts_db_path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    if not path:
        return None
    key = f"{os.getpid()}:{path}"  # a forked worker opens its own: an inherited descriptor would not exclude
    fd = _LOCK_FILES.get(key)
    if fd is None:
        try:
            fd = _LOCK_FILES[key] = os.open(path + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # read-only directory: SQLite's own locking is enough for correctness
            _LOCK_FILES[key] = -1
            return None
    return fd if fd >= 0 else None


@contextmanager
def write_transaction(db):
    """A write transaction taken at once (BEGIN IMMEDIATE), or a savepoint inside the caller's transaction.

    IMMEDIATE because a read-then-write transaction in WAL mode fails at once with SQLITE_BUSY when another
    process wrote in between; taking the write lock first makes it wait instead.
    Writers of attempts first queue on a thread lock and an flock (web workers, scheduler): a blocked
    writer is woken the moment the lock is free, where SQLite's busy handler would sleep 1, 2, 5, 10… ms
    between tries — under a burst of callbacks that sleeping, not the work, was most of the latency.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    with _PROCESS_WRITER:
        fd = _lock_file(db)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.conn.in_transaction:
                    db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)


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
