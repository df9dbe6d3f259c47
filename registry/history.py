"""The append-only history of every unit (the `changes` table): its only writer, and its readers.

Nothing ever updates or deletes a row here; each change to a unit, its hotline or its flag adds one.
"""
from datetime import datetime

from registry.clock import iso


def log_change(db, unit_id: int, field: str, old, new, reason: str, actor: dict | None, now: datetime) -> None:
    """Append one change: field old → new, why, by whom (an account, or a named system actor), when.

    `actor` is an account row ({"id", "email"}), a system actor ({"id": None, "email": "monitor"}) or None
    ("hệ thống"). Runs inside the caller's transaction.
    """
    db.execute(
        "INSERT INTO changes (unit_id, at, user_id, actor, field, old, new, reason) VALUES (?,?,?,?,?,?,?,?)",
        [
            unit_id, iso(now), actor["id"] if actor else None,
            (actor.get("email") if actor else "") or "hệ thống",
            field, None if old is None else str(old), None if new is None else str(new), reason or "",
        ],
    )


def unit_history(db, unit_id: int) -> list[dict]:
    """Every change of one unit, newest first, with the e-mail of the account that made it."""
    return db.execute_returning_dicts(
        "SELECT c.*, u.email AS user_email FROM changes c LEFT JOIN users u ON u.id = c.user_id "
        "WHERE c.unit_id = ? ORDER BY c.at DESC, c.id DESC",
        [unit_id],
    )


def recent_changes(db, limit: int = 100) -> list[dict]:
    """The latest changes across every unit, newest first, with the unit's code and name."""
    return db.execute_returning_dicts(
        "SELECT c.*, un.code AS unit_code, un.name AS unit_name FROM changes c JOIN units un ON un.id = c.unit_id "
        "ORDER BY c.at DESC, c.id DESC LIMIT ?",
        [limit],
    )


def last_change_times(db, unit_ids=None) -> dict[int, str]:
    """Each unit's most recent history entry time, by unit id (only the given units when named)."""
    if unit_ids is None:
        return dict(db.execute("SELECT unit_id, max(at) FROM changes GROUP BY unit_id").fetchall())
    ids = list(unit_ids)
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return dict(db.execute(f"SELECT unit_id, max(at) FROM changes WHERE unit_id IN ({marks}) GROUP BY unit_id", ids).fetchall())
