"""Working days on the Vietnamese calendar: weekends, public holidays and Tết, and the declared exceptions.

A day is a working day when the calendar_days table says so (a declared make-up Saturday, or a day off the
Government added to the Tết break); otherwise it is off on a public holiday of the `holidays` package
(holidays.VN, which knows Tết from the lunar calendar and the observed days), a working day on a make-up
Saturday the package knows, and otherwise Monday to Friday. This module is the only writer of calendar_days.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays
from flask_babel import gettext as _

from registry import clock
from registry import db as dbmod
from registry.errors import UserError

# A deadline never spans more than a few years (deadline_days ≤ 365 working days, plus a pause).
MAX_SPAN_DAYS = 3 * 366


class CalendarError(UserError):
    status = 400


@lru_cache(maxsize=32)
def _package_year(year: int) -> tuple[dict, frozenset]:
    # Built once per year: a holidays lookup in a loop over days would rebuild the year's table each time.
    table = holidays.VN(years=year)
    return dict(table), frozenset(d for d in getattr(table, "weekend_workdays", ()) if d.year == year)


def public_holidays(year: int) -> dict[date, str]:
    """The public holidays (and Tết) of a year as the holidays package gives them: {date: English name}."""
    return dict(sorted(_package_year(year)[0].items()))


def package_workdays(year: int) -> list[date]:
    """The make-up working Saturdays the holidays package knows for a year."""
    return sorted(_package_year(year)[1])


def _rule(day: date) -> bool:
    """The package's rule for a day, before the declared exceptions."""
    holidays_of_year, workdays = _package_year(day.year)
    if day in holidays_of_year:
        return False
    if day in workdays:
        return True
    return day.weekday() < 5


@dataclass(frozen=True)
class Calendar:
    """The working days of a span of years, loaded once (one query) for loops over many dates."""

    declared: dict  # date -> bool (working)

    def is_working_day(self, day: date) -> bool:
        if day in self.declared:
            return self.declared[day]
        return _rule(day)

    def next_working_day(self, day: date) -> date:
        """The day itself when it is a working day, else the first working day after it."""
        for _step in range(MAX_SPAN_DAYS):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise CalendarError(_("Không tìm thấy ngày làm việc nào trong lịch."))

    def add_working_days(self, start: date, n: int) -> date:
        """start moved to a working day (a day off counts from the next one), then n working days on."""
        day = self.next_working_day(start)
        for _step in range(n):
            day = self.next_working_day(day + timedelta(days=1))
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """How many working days are in (a, b]; negative when b is before a."""
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        day = a + timedelta(days=1)
        while day <= b:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count


def load(db, first: date, last: date | None = None) -> Calendar:
    """The calendar for the years from first to last (declared days read in one query)."""
    last = last or first
    start_year, end_year = min(first, last).year, max(first, last).year + 1  # a deadline may run into next year
    rows = db.execute(
        "SELECT day, working FROM calendar_days WHERE day >= ? AND day < ?",
        [f"{start_year:04d}-01-01", f"{end_year + 1:04d}-01-01"],
    ).fetchall()
    return Calendar({date.fromisoformat(day): bool(working) for day, working in rows})


def is_working_day(db, day: date) -> bool:
    """Is that local date a working day (declared exception, else holidays, make-up days, weekends)?"""
    return load(db, day).is_working_day(day)


def add_working_days(db, start: date, n: int) -> date:
    """The date n working days after start; a start on a day off counts from the next working day (n = 0: that day)."""
    return load(db, start, start + timedelta(days=2 * n + 14)).add_working_days(start, n)


def working_days_between(db, a: date, b: date) -> int:
    """The number of working days in (a, b] (negative when b is before a)."""
    return load(db, a, b).working_days_between(a, b)


# ------------------------------------------------------------------------------------ declared days (inspectors)

def declared(db, year: int) -> list[dict]:
    """The declared exceptions of a year, oldest day first."""
    rows = db.execute(
        "SELECT day, working, note, updated_at, updated_by FROM calendar_days WHERE day >= ? AND day < ? ORDER BY day",
        [f"{year:04d}-01-01", f"{year + 1:04d}-01-01"],
    ).fetchall()
    return [dict(zip(("day", "working", "note", "updated_at", "updated_by"), row)) for row in rows]


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date from a form, or a clear error."""
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        raise CalendarError(_("Ngày không hợp lệ (định dạng YYYY-MM-DD)."), field="day") from None
    if not 2000 <= day.year <= 2100:
        raise CalendarError(_("Năm phải trong khoảng 2000–2100."), field="day")
    return day


def declare(db, day: date, working: bool, note: str, *, user_id: int | None, now: datetime) -> None:
    """Declare a day a working day (make-up Saturday) or a day off (an extra day of the Tết break)."""
    note = (note or "").strip()
    if len(note) > 200:
        raise CalendarError(_("Ghi chú quá dài (tối đa 200 ký tự)."), field="note")
    with dbmod.write_transaction(db):
        db.execute(
            "INSERT INTO calendar_days (day, working, note, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(day) DO UPDATE SET working = excluded.working, note = excluded.note, "
            "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            [day.isoformat(), int(bool(working)), note, clock.iso(now), user_id],
        )


def undeclare(db, day: date) -> bool:
    """Remove a declared exception (the day follows the usual rule again); False when there was none."""
    with dbmod.write_transaction(db):
        cursor = db.execute("DELETE FROM calendar_days WHERE day = ?", [day.isoformat()])
    return cursor.rowcount > 0
