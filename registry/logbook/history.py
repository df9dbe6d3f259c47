"""The logbook's append-only history: every change of an entry (who, when, what changed old→new, why).

The only writer of logbook_events; triggers in the schema refuse any UPDATE or DELETE of a row.
"""
import json
from datetime import datetime

from registry.clock import iso

# Personal data kept out of the history: the history can never be edited (triggers), so a phone number written
# here could not be erased after its retention. The event says that it changed, not what it was or became.
PERSONAL = frozenset({"reporter_phone", "reporter_name"})
WITHHELD = "•••"


def record(db, entry_id: int, action: str, *, user_id: int | None, now: datetime, changes: dict | None = None,
           reason: str = "") -> None:
    """Append one event; changes maps a column to (old, new) (or to a value for a fact without an old side);
    personal columns are recorded as changed, their values withheld."""
    detail = {key: (WITHHELD if key in PERSONAL else list(value) if isinstance(value, tuple) else value)
              for key, value in (changes or {}).items()}
    db.execute(
        "INSERT INTO logbook_events (entry_id, at, user_id, action, detail, reason) VALUES (?, ?, ?, ?, ?, ?)",
        [entry_id, iso(now), user_id, action, json.dumps(detail, ensure_ascii=False, default=str), reason or ""],
    )


def changed(old: dict, new: dict) -> dict:
    """{column: (old, new)} of the columns of new whose value differs from old."""
    return {key: (old.get(key), value) for key, value in new.items() if old.get(key) != value}


def events(db, entry_ids: list[int]) -> list[dict]:
    """The events of these entries (one unit's copy or a whole transfer chain), oldest first, with the unit and
    the author's e-mail; detail decoded."""
    if not entry_ids:
        return []
    marks = ",".join("?" * len(entry_ids))
    rows = db.execute(
        f"SELECT ev.id, ev.entry_id, ev.at, ev.user_id, ev.action, ev.detail, ev.reason, u.email AS author, "
        f"un.code AS unit_code, un.name AS unit_name FROM logbook_events ev "
        f"JOIN logbook_entries e ON e.id = ev.entry_id JOIN units un ON un.id = e.unit_id "
        f"LEFT JOIN users u ON u.id = ev.user_id WHERE ev.entry_id IN ({marks}) ORDER BY ev.at, ev.id",
        list(entry_ids),
    ).fetchall()
    keys = ("id", "entry_id", "at", "user_id", "action", "detail", "reason", "author", "unit_code", "unit_name")
    out = []
    for row in rows:
        item = dict(zip(keys, row))
        item["detail"] = json.loads(item["detail"] or "{}")
        out.append(item)
    return out
