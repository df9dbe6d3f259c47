"""Reporting periods: a month, a quarter or any range of local dates (Asia/Ho_Chi_Minh), and their parsing."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from registry.clock import local_day_bounds, local_today
from registry.errors import UserError

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
MAX_DAYS = 400  # a custom range longer than a year plus a little is a typing mistake, not a report
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the years a period may be in


class PeriodError(UserError):
    """A period the user typed that cannot be read; .message says why, in Vietnamese, .field which input."""

    def __init__(self, message: str, field: str | None = None, **kwargs):
        # The field may be given by position: every period refusal names the input it is about.
        super().__init__(message, field=field, **kwargs)


@dataclass(frozen=True)
class Period:
    """Local dates start..end, both included; kind is month, quarter or custom."""

    start: date
    end: date
    kind: str = "custom"

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = date(year, month, 1)
        following = date(year + (month == 12), month % 12 + 1, 1)
        return cls(first, following - timedelta(days=1), "month")

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        first = date(year, 3 * quarter - 2, 1)
        last_month = cls.month(year, 3 * quarter)
        return cls(first, last_month.end, "quarter")

    @classmethod
    def between(cls, start: date, end: date) -> Period:
        """A range, recognised as a month or a quarter when it is exactly one."""
        if start.day == 1:
            month = cls.month(start.year, start.month)
            if month.end == end:
                return month
            if start.month % 3 == 1:
                quarter = cls.quarter(start.year, (start.month + 2) // 3)
                if quarter.end == end:
                    return quarter
        return cls(start, end, "custom")

    @classmethod
    def containing(cls, when: datetime) -> Period:
        """The local calendar month containing that instant."""
        day = local_today(when)
        return cls.month(day.year, day.month)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[str, str]:
        """The period as stored UTC text: [start, end) from local midnight to the local midnight after end."""
        return local_day_bounds(self.start)[0], local_day_bounds(self.end)[1]

    def previous(self) -> Period:
        """The period just before, of the same kind (previous month, previous quarter, or as many days)."""
        if self.kind == "month":
            before = self.start - timedelta(days=1)
            return Period.month(before.year, before.month)
        if self.kind == "quarter":
            before = self.start - timedelta(days=1)
            return Period.quarter(before.year, (before.month + 2) // 3)
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1), "custom")

    def months(self) -> list[Period]:
        """The calendar months this period touches, in order."""
        out, cursor = [], date(self.start.year, self.start.month, 1)
        while cursor <= self.end:
            out.append(Period.month(cursor.year, cursor.month))
            cursor = out[-1].end + timedelta(days=1)
        return out

    @property
    def key(self) -> str:
        """A short stable name: 2025-06, 2025-Q2 or 2025-06-01_2025-06-15 (file names, JSON)."""
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month + 2) // 3}"
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    @property
    def label(self) -> str:
        """Its name in the current locale: "tháng 6 năm 2025", "quý II năm 2025", "từ ngày 01/06/2025 đến ngày 15/06/2025"."""
        if self.kind == "month":
            return _("tháng %(month)s năm %(year)s", month=self.start.month, year=self.start.year)
        if self.kind == "quarter":
            return _("quý %(quarter)s năm %(year)s", quarter=ROMAN[(self.start.month + 2) // 3], year=self.start.year)
        return self.range_label

    @property
    def short_label(self) -> str:
        """Axis label: 6/2025, Q2/2025 or 01/06–15/06."""
        if self.kind == "month":
            return f"{self.start.month}/{self.start.year}"
        if self.kind == "quarter":
            return f"Q{(self.start.month + 2) // 3}/{self.start.year}"
        return f"{self.start:%d/%m}–{self.end:%d/%m}"

    @property
    def range_label(self) -> str:
        """"từ ngày 01/06/2025 đến ngày 30/06/2025" whatever the kind (the title of the official report)."""
        return _("từ ngày %(start)s đến ngày %(end)s", start=f"{self.start:%d/%m/%Y}", end=f"{self.end:%d/%m/%Y}")


DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
QUARTER_RE = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)


def parse_date(text: str, field: str, label: str) -> date:
    """A YYYY-MM-DD date, or PeriodError naming the field."""
    text = (text or "").strip()
    if not text:
        raise PeriodError(f"Hãy nhập {label} (dạng NNNN-TT-NN, ví dụ 2025-06-01).", field)
    if not DATE_RE.match(text):
        raise PeriodError(f"{label.capitalize()} “{text}” không đúng dạng NNNN-TT-NN (ví dụ 2025-06-01).", field)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{label.capitalize()} “{text}” không phải là một ngày có thật.", field) from None
    # The same years a month or a quarter may name: 0001 or 9999 would overflow the period before or after.
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise PeriodError(_("Năm phải từ %(first)s đến %(last)s.", first=FIRST_YEAR, last=LAST_YEAR), field)
    return day


def parse_range(start_text: str, end_text: str) -> Period:
    """From/to dates as typed (YYYY-MM-DD); refuses from > to and ranges over MAX_DAYS."""
    start = parse_date(start_text, "from", "ngày bắt đầu")
    end = parse_date(end_text, "to", "ngày kết thúc")
    if start > end:
        raise PeriodError(
            f"Ngày bắt đầu ({start:%d/%m/%Y}) phải trước hoặc bằng ngày kết thúc ({end:%d/%m/%Y}).", "from"
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodError(f"Khoảng thời gian quá dài: tối đa {MAX_DAYS} ngày.", "to")
    return Period.between(start, end)


def parse_month(text: str) -> Period:
    match = MONTH_RE.match((text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise PeriodError(f"Tháng “{text}” không đúng dạng NNNN-TT (ví dụ 2025-06).", "month")
    return Period.month(int(match.group(1)), int(match.group(2)))


def parse_quarter(text: str) -> Period:
    match = QUARTER_RE.match((text or "").strip())
    if not match or not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise PeriodError(f"Quý “{text}” không đúng dạng NNNN-QN (ví dụ 2025-Q2).", "quarter")
    return Period.quarter(int(match.group(1)), int(match.group(2)))


def from_args(args, *, now: datetime) -> Period:
    """The period a query string asks for: month=…, quarter=…, or from=…&to=…; default the current month."""
    if args.get("month"):
        return parse_month(args["month"])
    if args.get("quarter"):
        return parse_quarter(args["quarter"])
    if args.get("from") or args.get("to"):
        return parse_range(args.get("from", ""), args.get("to", ""))
    return Period.containing(now)
