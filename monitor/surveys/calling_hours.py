"""When a citizen may be called: the calling windows of a day (FLASK_SURVEY_CALL_HOURS, parsed by
monitor/settings.py; local time Asia/Ho_Chi_Minh), never on a Sunday or a public holiday.

A day is open when the working-day calendar (registry/logbook/calendar.py) declares it a working day (a make-up
Saturday), or when it is neither a Sunday nor a public holiday (holidays.VN: Tết, 2 September…) nor declared a day
off (the days the Government adds to a break). Saturdays are open: many citizens can only talk at the weekend.
"""
from __future__ import annotations

from datetime import date, datetime

from registry import clock
from registry.logbook import calendar

# The windows as settings.survey_call_windows() gives them: ("08:00", "11:30") pairs, [start, end) local time.
Window = tuple[str, str]


def day_open(day: date, cal: calendar.Calendar) -> bool:
    """May citizens be called on this local date at all (not a Sunday, not a public holiday)?"""
    if day in cal.declared:
        return cal.declared[day]
    if day in calendar.public_holidays(day.year):
        return False
    return day.weekday() != 6


def is_open(now: datetime, windows: list[Window], cal: calendar.Calendar) -> bool:
    """Is `now` (aware, any zone) inside a calling window of an open local day?"""
    local = clock.to_local(now)
    if not day_open(local.date(), cal):
        return False
    moment = local.strftime("%H:%M")  # "HH:MM" text compares as the time it names ("24:00" ends the day)
    return any(start <= moment < end for start, end in windows)


def load_calendar(db, now: datetime) -> calendar.Calendar:
    """The working-day calendar around `now` (its declared days read once)."""
    return calendar.load(db, clock.local_today(now))
