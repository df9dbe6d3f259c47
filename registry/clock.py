"""Time helpers: every stored timestamp is ISO-8601 UTC text, every clock is injectable.

The one local calendar lives here too. Đồng Tháp keeps Asia/Ho_Chi_Minh time (UTC+7, no daylight saving),
and every "today", every period bound and every "is this unit current" check is a date of that calendar:
between 00:00 and 07:00 local time the UTC date is still yesterday's, so taking it would make the
directory, the reports and the planner disagree.
"""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (views read the clock only through this function)."""
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    """Format a datetime as the ISO-8601 UTC text stored in the database (second precision)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def parse_iso(text: str) -> datetime:
    """Parse stored ISO text back into an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def now_iso() -> str:
    return iso(utcnow())


def to_local(when: datetime) -> datetime:
    """An aware datetime in local time (naive datetimes are taken as UTC, like every stored timestamp)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(LOCAL)


def local_today(now: datetime | None = None) -> date:
    """The local calendar date of an instant (of the current time when none is given)."""
    return to_local(now if now is not None else utcnow()).date()


def local_today_iso(now: datetime | None = None) -> str:
    """local_today() as YYYY-MM-DD, the form of the units' valid_from / valid_to columns."""
    return local_today(now).isoformat()


def local_midnight(day: date) -> datetime:
    """00:00 local time at the start of that date, as an aware local datetime."""
    return datetime.combine(day, time(0), tzinfo=LOCAL)


def local_midnight_utc(day: date) -> datetime:
    """00:00 local time at the start of that date, as an aware UTC datetime."""
    return local_midnight(day).astimezone(timezone.utc)


def local_day_bounds(day: date) -> tuple[str, str]:
    """That local date as stored UTC text: [its local midnight, the next local midnight)."""
    return iso(local_midnight_utc(day)), iso(local_midnight_utc(day + timedelta(days=1)))

