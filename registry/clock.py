"""Time helpers: every stored timestamp is ISO-8601 UTC text, every clock is injectable."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
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
