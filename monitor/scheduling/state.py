"""The scheduler's small shared state (table scheduler_state): heartbeat, stop time, plan counts, alert checks.

The one writer of scheduler_state. Keys in use: 'heartbeat' (JSON: owner, pid, started_at, provider; the
inspectors' pages read it to tell whether the scheduler runs), 'stopped', 'planned:<monday>', and the
alerts' last check (monitor/alerts.py's STATE_KEY).
"""
from __future__ import annotations

from datetime import datetime

from registry.clock import iso

HEARTBEAT = "heartbeat"


def set_state(db, key: str, value: str, now: datetime) -> None:
    """Store `value` under `key`, stamped `now` (replacing what was there)."""
    db.execute(
        "INSERT INTO scheduler_state (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, value, iso(now)],
    )


def get_state(db, key: str) -> tuple[str, str] | None:
    """(value, updated_at) stored under `key`, or None."""
    row = db.execute("SELECT value, updated_at FROM scheduler_state WHERE key = ?", [key]).fetchone()
    return (row[0], row[1]) if row else None


def clear_state(db, key: str) -> None:
    """Remove `key` (a clean stop removes the heartbeat at once)."""
    db.execute("DELETE FROM scheduler_state WHERE key = ?", [key])


def heartbeat(db) -> tuple[str, str] | None:
    """The scheduler's last heartbeat: (its JSON value, when it was written), or None if there is none."""
    return get_state(db, HEARTBEAT)
