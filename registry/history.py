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


# The entries that tell inspectors an agency changed, or asked to change, its number.
AGENCY_NUMBER_FIELDS = ("number", "extension", "number_proposed")


def agency_number_changes(db, limit: int = 100) -> list[dict]:
    """The latest number changes and proposals made by agency editors, newest first, with the unit."""
    marks = ",".join("?" * len(AGENCY_NUMBER_FIELDS))
    return db.execute_returning_dicts(
        "SELECT c.*, un.code AS unit_code, un.name AS unit_name FROM changes c JOIN units un ON un.id = c.unit_id "
        f"JOIN users us ON us.id = c.user_id WHERE us.role = 'agency' AND c.field IN ({marks}) "
        "ORDER BY c.at DESC, c.id DESC LIMIT ?",
        [*AGENCY_NUMBER_FIELDS, limit],
    )


def log_changes(db, entries, actor: dict | None, now: datetime) -> None:
    """Append many changes at once (one executemany): entries are (unit_id, field, old, new, reason).

    Same rows as log_change, by the same actor at the same time; runs inside the caller's transaction.
    """
    at, user_id = iso(now), actor["id"] if actor else None
    name = (actor.get("email") if actor else "") or "hệ thống"
    db.conn.executemany(
        "INSERT INTO changes (unit_id, at, user_id, actor, field, old, new, reason) VALUES (?,?,?,?,?,?,?,?)",
        ((unit_id, at, user_id, name, field, None if old is None else str(old), None if new is None else str(new),
          reason or "") for unit_id, field, old, new, reason in entries),
    )
