"""Jinja filters for every page: numbers, decimals, percentages, dates and times in the reader's locale
(Vietnamese `1.234`, `22,0`, `01/12/2026`; English `1,234`, `22.0`, `1 Dec 2026`), local time
Asia/Ho_Chi_Minh, and phone numbers in their written form.

Exports (CSV, JSON, XLSX) never go through these: they keep codes, ISO dates and dot decimals.
"""
from __future__ import annotations

from datetime import date as _date
from datetime import datetime as _datetime

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal, format_percent
from flask import has_request_context
from flask_babel import get_locale

from registry.clock import LOCAL, parse_iso
from registry.numbers import NumberError, display_number

# Explicit patterns: Babel's own short Vietnamese date is "1/12/26", but officials write dd/mm/yyyy.
DATE = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}
DATETIME = {"vi": "dd/MM/yyyy HH:mm", "en": "d MMM yyyy, HH:mm"}
TIME = "HH:mm"
EMPTY = "—"


def _locale() -> str:
    """The reader's language; Vietnamese outside a request (CLI, scheduler, tests of plain functions)."""
    locale = get_locale() if has_request_context() else None
    return "en" if locale is not None and locale.language == "en" else "vi"


def _instant(value) -> _datetime | None:
    """Stored UTC text (or an aware datetime) → an aware datetime in local time; None for nothing."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, _datetime) else parse_iso(str(value))
    return moment.astimezone(LOCAL)


def number(value) -> str:
    """A whole number with the locale's grouping: 1.234 / 1,234."""
    if value is None or value == "":
        return EMPTY
    return format_decimal(value, "#,##0", locale=_locale())


def decimal(value, digits: int = 1) -> str:
    """A decimal with `digits` places: 22,0 / 22.0."""
    if value is None or value == "":
        return EMPTY
    pattern = "#,##0." + "0" * digits if digits > 0 else "#,##0"
    return format_decimal(value, pattern, locale=_locale())


def percent(value, digits: int = 0) -> str:
    """A fraction as a percentage: 0.923 → 92,3% / 92.3%."""
    if value is None or value == "":
        return "–"
    pattern = "#,##0." + "0" * digits + "%" if digits > 0 else "#,##0%"
    return format_percent(value, pattern, locale=_locale())


def date(value) -> str:
    """A calendar date (a date, ISO date text, or a stored UTC timestamp taken in local time)."""
    if value is None or value == "":
        return ""
    try:
        if isinstance(value, _date) and not isinstance(value, _datetime):
            day = value
        elif isinstance(value, str) and len(value) == 10:
            day = _date.fromisoformat(value)
        else:
            day = _instant(value).date()
    except ValueError:
        return str(value)
    return format_date(day, DATE[_locale()], locale=_locale())


def datetime(value, seconds: bool = True) -> str:
    """A stored UTC timestamp in local time, with or without seconds."""
    try:
        moment = _instant(value)
    except ValueError:
        return str(value)
    if moment is None:
        return ""
    pattern = DATETIME[_locale()] + (":ss" if seconds else "")
    return format_datetime(moment, pattern, locale=_locale())


def time(value, seconds: bool = True) -> str:
    """The local time of day of a stored UTC timestamp."""
    try:
        moment = _instant(value)
    except ValueError:
        return str(value)
    if moment is None:
        return ""
    return format_time(moment, TIME + (":ss" if seconds else ""), locale=_locale())


def group_name(group) -> str:
    """A group's name in the reader's language: its English name on English pages when it has one."""
    english = group.get("name_en") if hasattr(group, "get") else None
    return english if english and _locale() == "en" else group["name"]


def phone(value: str | None) -> str:
    """A stored number in its written form (falls back to the stored text)."""
    if not value:
        return ""
    try:
        return display_number(value)
    except NumberError:
        return value


def register(app) -> None:
    for name, fn in {"number": number, "decimal": decimal, "percent": percent, "date": date,
                     "datetime": datetime, "time": time, "phone": phone, "group_name": group_name}.items():
        app.add_template_filter(fn, name)
