"""What an agency editor may see of its own unit's test calls: ended calls only, held calls without a draft.

Inspectors see every attempt as it is stored. An agency editor sees only the ended calls of its own unit;
a call held for review (outcome_certain = 0) is shown as "under review", without the outcome the rules
drafted, so that a unit never reads a result that an inspector has not yet confirmed.
"""
from __future__ import annotations

from monitor import disputes
from monitor.attempts.store import is_test
from monitor.logbook.figures import UnitLogbook, period_figures
from registry.clock import local_today

# What the rules drafted for a held call; an editor sees none of it until an inspector decides.
DRAFT_FIELDS = ("outcome", "outcome_detail", "outcome_basis", "confirmed", "original_outcome", "retest_outcome")


def is_inspector(user) -> bool:
    return bool(user) and user["role"] == "inspector"


def is_held(row: dict) -> bool:
    """A call that ended with an uncertain outcome, waiting for an inspector's review."""
    return row.get("state", "ended") == "ended" and row.get("outcome_certain") == 0


def visible_to(row: dict | None, user) -> bool:
    """Whether this user may see this attempt: inspectors always; an editor its own unit's ended test calls (a
    survey call dialled a citizen of the unit's dossiers: nothing the unit may read)."""
    if row is None or not user:
        return False
    if is_inspector(user):
        return True
    return (user["role"] == "agency" and user["unit_id"] == row["unit_id"] and row.get("state", "ended") == "ended"
            and is_test(row))


def for_reader(row: dict, user) -> dict:
    """The row as this reader may see it: for an editor, a held call loses its draft outcome and says held."""
    if is_inspector(user) or not is_held(row):
        return {**row, "held": False}
    return {**row, **{field: None for field in DRAFT_FIELDS if field in row}, "held": True}


def rows_for_reader(rows: list[dict], user, *, drop_held: bool = False) -> list[dict]:
    """Every row as this reader may see it; with drop_held, an editor's list leaves held calls out (a list
    filtered by outcome would otherwise tell the unit what the rules drafted)."""
    shown = [for_reader(row, user) for row in rows]
    return [row for row in shown if not row["held"]] if drop_held else shown


def can_contest(row: dict, user) -> bool:
    """The unit's editor may contest an ended, certain failure that has no dispute pending or accepted."""
    if row.get("held") or is_held(row):
        return False
    return disputes.can_dispute({**row, "state": "ended"}, user) and row.get("dispute_status") in (None, "rejected")


def logbook_for(user, db, period, unit_id: int, *, settings, now) -> UnitLogbook | None:
    """The unit's logbook figures for the period (test calls logged, late, not logged; overdue and transferred
    entries) for an inspector; None for anyone else: a unit must never learn which of its entries were test calls."""
    if not is_inspector(user):
        return None
    return period_figures(db, period, settings=settings, today=local_today(now), unit_id=unit_id).unit(unit_id)
