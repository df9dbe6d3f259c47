"""Deadlines counted as offices count them: working days per field, a pause while waiting for the citizen, and
the due-soon and overdue lists (per unit and province-wide) with their counts.

An entry's deadline (logbook_entries.deadline, a local date) is its received local date plus the field's
deadline_days working days (registry/logbook/calendar.py); a wait for the citizen adds the working days it
lasted (extended()). While an entry waits (state 'waiting') its clock is stopped: it is overdue only when it was
already late on the day it was paused, and it is never "due soon".
"""
from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from registry import clock
from registry.errors import UserError
from registry.logbook import calendar

PENDING = ("open", "waiting")
LIST_LIMIT = 50  # rows a page lists (the most urgent; the CLI lists all); the counts are always complete


class DeadlineError(UserError):
    status = 400


def _local_offset_modifier() -> str:
    # Asia/Ho_Chi_Minh has kept UTC+7 without daylight saving since 1975: one SQLite date() modifier converts a
    # stored UTC timestamp to its local date inside the query.
    offset = clock.LOCAL.utcoffset(datetime(2000, 1, 1))
    return f"{int(offset.total_seconds() // 60):+d} minutes"


PAUSED_LOCAL_DAY = f"date(e.paused_at, '{_local_offset_modifier()}')"
# Pending and late: open past its deadline, or waiting and already late the day the clock was stopped.
# "state IN ('open','waiting')" is written out so SQLite can use the partial index logbook_pending_deadline; every
# query names it (INDEXED BY): on a small table the planner would otherwise walk logbook_unit_received for GROUP BY.
_LATE = (f"e.state IN ('open','waiting') AND e.deadline < :today "
         f"AND (e.state = 'open' OR e.deadline < {PAUSED_LOCAL_DAY})")
_FROM = "FROM logbook_entries e INDEXED BY logbook_pending_deadline"
_SOON = "e.state IN ('open','waiting') AND e.deadline >= :today AND e.deadline <= :soon AND e.state = 'open'"


def field_days(db, field_code: str) -> int:
    """The field's deadline in working days, or a clear error for an unknown field."""
    row = db.execute("SELECT deadline_days FROM logbook_fields WHERE code = ?", [field_code]).fetchone()
    if row is None:
        raise DeadlineError(_("Lĩnh vực không tồn tại: %(code)s", code=field_code), field="field_code")
    return row[0]


def due_date(db, field_code: str | None, received: date) -> date | None:
    """The deadline of an entry received on that local date in that field (None when it has no field)."""
    if not field_code:
        return None
    return calendar.add_working_days(db, received, field_days(db, field_code))


def paused_working_days(db, paused_at: datetime, resumed_at: datetime) -> int:
    """The working days a wait for the citizen lasted: those after the paused local date up to the resume date.

    A pause and resume on the same day costs nothing; paused on Monday, resumed on Wednesday: two days.
    """
    return max(0, calendar.working_days_between(db, clock.local_today(paused_at), clock.local_today(resumed_at)))


def extended(db, deadline: date | None, paused_days: int) -> date | None:
    """The deadline moved on by the working days spent waiting for the citizen."""
    if deadline is None or paused_days <= 0:
        return deadline
    return calendar.add_working_days(db, deadline, paused_days)


def _unit_filter(unit_id: int | None) -> str:
    return "" if unit_id is None else " AND e.unit_id = :unit"


_ROW_SQL = """
    SELECT e.id, e.receipt_code, e.unit_id, u.code, u.name, e.received_at, e.channel, e.field_code,
           f.name, substr(e.content, 1, 160), e.deadline, e.state, e.paused_at
    FROM logbook_entries e INDEXED BY logbook_pending_deadline
    JOIN units u ON u.id = e.unit_id
    LEFT JOIN logbook_fields f ON f.code = e.field_code
    WHERE {where}
    ORDER BY e.deadline, e.id
    LIMIT :limit
"""
_COLUMNS = ("id", "receipt_code", "unit_id", "unit_code", "unit_name", "received_at", "channel", "field_code",
            "field_name", "content", "deadline", "state", "paused_at")


def _prefix_counts(cal: calendar.Calendar, first: date, last: date) -> dict[date, int]:
    # Working days counted once over the span, so each row's distance is one subtraction.
    counts, total, day = {}, 0, first
    while day <= last:
        total += cal.is_working_day(day)
        counts[day] = total
        day += timedelta(days=1)
    return counts


def pending(db, *, unit_id: int | None = None, today: date, soon_days: int = 2, limit: int = LIST_LIMIT) -> dict:
    """The overdue and due-soon entries of a unit (or the whole province), most urgent first.

    {'overdue': [row…] (each with days_overdue, in working days, at least 1; up to the pause for an entry
    waiting for the citizen), 'due_soon': [row…] (each with
    days_left, 0 = due today), 'overdue_total', 'due_soon_total', 'today', 'soon_until'}. Rows carry no
    personal data (no reporter name or phone) and the first 160 characters of the content.
    """
    soon = calendar.add_working_days(db, today, soon_days)
    params = {"today": today.isoformat(), "soon": soon.isoformat(), "unit": unit_id, "limit": limit}
    where_unit = _unit_filter(unit_id)
    late_rows = db.execute(_ROW_SQL.format(where=_LATE + where_unit), params).fetchall()
    soon_rows = db.execute(_ROW_SQL.format(where=_SOON + where_unit), params).fetchall()
    overdue = [dict(zip(_COLUMNS, row)) for row in late_rows]
    due_soon = [dict(zip(_COLUMNS, row)) for row in soon_rows]
    first = min([date.fromisoformat(r["deadline"]) for r in overdue] + [today])
    cal = calendar.load(db, first, soon)
    counts = _prefix_counts(cal, first, soon)
    for row in overdue:
        # A late entry waiting for the citizen stopped its clock on the day it was paused.
        end = clock.local_today(clock.parse_iso(row["paused_at"])) if row["state"] == "waiting" else today
        row["days_overdue"] = max(1, counts[min(end, today)] - counts[date.fromisoformat(row["deadline"])])
    for row in due_soon:
        row["days_left"] = counts[date.fromisoformat(row["deadline"])] - counts[today]
    totals = counts_for(db, unit_id=unit_id, today=today, soon=soon)
    return {"overdue": overdue, "due_soon": due_soon, "overdue_total": totals["overdue"],
            "due_soon_total": totals["due_soon"], "today": today, "soon_until": soon}


def counts_for(db, *, unit_id: int | None, today: date, soon: date | None = None) -> dict:
    """{'overdue': n, 'due_soon': m} for a unit or the province (the menu's counts); soon defaults to 2 working days."""
    soon = soon or calendar.add_working_days(db, today, 2)
    params = {"today": today.isoformat(), "soon": soon.isoformat(), "unit": unit_id}
    where_unit = _unit_filter(unit_id)
    late = db.execute(f"SELECT count(*) {_FROM} WHERE {_LATE}{where_unit}", params).fetchone()[0]
    due = db.execute(f"SELECT count(*) {_FROM} WHERE {_SOON}{where_unit}", params).fetchone()[0]
    return {"overdue": late, "due_soon": due}


def overdue_count(db, unit_ids=None, *, today: date) -> dict[int, int]:
    """{unit_id: number of overdue entries} on that local date, units without any left out (the monthly report's
    figure beside the call results). One grouped query on the partial index logbook_pending_deadline."""
    params: dict = {"today": today.isoformat()}
    where = _LATE
    if unit_ids is not None:
        ids = sorted({int(u) for u in unit_ids})
        if not ids:
            return {}
        where += f" AND e.unit_id IN ({','.join(str(i) for i in ids)})"  # ints only: safe to inline
    rows = db.execute(f"SELECT e.unit_id, count(*) {_FROM} WHERE {where} GROUP BY e.unit_id",
                      params).fetchall()
    return {unit: count for unit, count in rows}
