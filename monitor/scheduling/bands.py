"""Time bands of the week in Đồng Tháp's local time: office, lunch, evening, night, weekend, holiday."""
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

# The one local calendar of the system (registry/clock.py); LOCAL and to_local stay importable from here.
from registry.clock import LOCAL, local_midnight_utc, to_local  # noqa: F401

BANDS = ("office", "lunch", "evening", "night", "weekend", "holiday")
# Their labels, in the reader's language, are in monitor/labels.py (BAND).
# Weekday hours (local). Everything from 22:00 to 07:00 is night.
OFFICE = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
LUNCH = (time(11, 30), time(13, 30))
EVENING = (time(17, 0), time(22, 0))
# Every boundary above falls on a full or half hour, so a week is exactly 336 half-hour slots of one band.
SLOT_MINUTES = 30


@lru_cache(maxsize=64)
def _holidays(year: int) -> dict:
    # holidays.VN knows Tết (from the lunar calendar) and the observed/substituted days of each year.
    return dict(holidays.VN(years=year))


def holiday_name(day: date) -> str | None:
    """The public holiday on that local date (e.g. Tết), or None."""
    return _holidays(day.year).get(day)


def classify(when: datetime) -> str:
    """The band of an instant: holiday, then weekend, then office | lunch | evening | night by the clock."""
    local = to_local(when)
    day = local.date()
    if holiday_name(day):
        return "holiday"
    if day.weekday() >= 5:
        return "weekend"
    clock = local.time()
    if any(start <= clock < end for start, end in OFFICE):
        return "office"
    if LUNCH[0] <= clock < LUNCH[1]:
        return "lunch"
    if EVENING[0] <= clock < EVENING[1]:
        return "evening"
    return "night"


def is_office_hours(when: datetime) -> bool:
    return classify(when) == "office"


def week_monday(day: date) -> date:
    """The Monday of the week containing that date (weeks run Monday 00:00 to Monday 00:00 local)."""
    return day - timedelta(days=day.weekday())


def local_week_start(week_start: date) -> datetime:
    """Monday 00:00 local time of that week, as an aware UTC datetime."""
    return local_midnight_utc(week_monday(week_start))


def week_intervals(week_start: date) -> list[tuple[float, float, str]]:
    """The week cut into maximal (start_epoch, end_epoch, band) intervals, in order."""
    start = local_week_start(week_start)
    out: list[list] = []
    for slot in range(7 * 24 * 60 // SLOT_MINUTES):
        at = start + timedelta(minutes=slot * SLOT_MINUTES)
        band = classify(at)
        begin = at.timestamp()
        if out and out[-1][2] == band:
            out[-1][1] = begin + SLOT_MINUTES * 60
        else:
            out.append([begin, begin + SLOT_MINUTES * 60, band])
    return [tuple(row) for row in out]
