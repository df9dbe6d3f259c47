"""Jinja filters for the registry's pages: local time, phone numbers."""
from zoneinfo import ZoneInfo

from registry.clock import parse_iso
from registry.numbers import NumberError, display_number

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def localtime(value: str | None, fmt: str = "%d/%m/%Y %H:%M:%S") -> str:
    """Stored UTC text → Vietnamese local time as officials write it (dd/mm/yyyy)."""
    if not value:
        return ""
    try:
        return parse_iso(value).astimezone(LOCAL).strftime(fmt)
    except ValueError:
        return value


def phone(value: str | None) -> str:
    """A stored number in its written form (falls back to the stored text)."""
    if not value:
        return ""
    try:
        return display_number(value)
    except NumberError:
        return value


def register(app) -> None:
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(phone, "phone")
