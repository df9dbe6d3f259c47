"""A unit's logbook beside its call results in the report: answered test calls logged, late and not logged
(monitor.logbook.match), its overdue entries (registry.logbook.deadlines) and its entries transferred more
than once (registry.logbook.transfers: the paper trail of callers sent around, "gọi lòng vòng")."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from monitor.logbook.match import answered_counts, matched
from monitor.settings import Settings
from registry.logbook.deadlines import overdue_count
from registry.logbook.transfers import transfer_counts


@dataclass
class UnitLogbook:
    """One unit's logbook figures for a period."""

    answered: int = 0  # answered test calls
    logged: int = 0  # ... written in the book in time
    late: int = 0  # ... written after settings.logbook_late_hours
    overdue: int = 0  # entries past their deadline
    transferred_repeatedly: int = 0  # entries of the period transferred more than once

    @property
    def not_logged(self) -> int:
        return self.answered - self.logged - self.late

    @property
    def logged_rate(self) -> float | None:
        """Share of answered test calls logged in time (None without an answered call)."""
        return self.logged / self.answered if self.answered else None

    @property
    def logged_text(self) -> str:
        """The report's "Ghi sổ" cell: logged / answered ("3/5"), or "–" without an answered call."""
        return f"{self.logged}/{self.answered}" if self.answered else "–"


@dataclass
class LogbookFigures:
    """Every unit's figures (unit id → UnitLogbook) and the answered calls found in a book (attempt id →
    logged or late; an answered call of the period not in `calls` was not logged)."""

    units: dict[int, UnitLogbook] = field(default_factory=dict)
    calls: dict[int, str] = field(default_factory=dict)

    def unit(self, unit_id: int) -> UnitLogbook:
        return self.units.get(unit_id) or UnitLogbook()

    def call_status(self, attempt_id: int) -> str:
        """An answered call of the period: logged, late or not_logged."""
        return self.calls.get(attempt_id, "not_logged")

    @property
    def total(self) -> UnitLogbook:
        total = UnitLogbook()
        for u in self.units.values():
            total.answered += u.answered
            total.logged += u.logged
            total.late += u.late
            total.overdue += u.overdue
            total.transferred_repeatedly += u.transferred_repeatedly
        return total


def period_figures(db, period, *, settings: Settings, today: date, unit_id: int | None = None,
                   answered: dict[int, int] | None = None) -> LogbookFigures:
    """The period's logbook figures for every unit (or one). The overdue count is taken on the period's last
    day, or today while the period runs.

    answered: unit id → its answered test calls of the period, when the caller has counted them already (the
    report, from its characters); read here otherwise."""
    # Counted, not listed: a month of 10,000 units holds some 200,000 answered calls, and only those found in
    # a book need their own row (monitor.logbook.match.matched reads the book's side).
    figures = LogbookFigures()
    if answered is None:
        answered = answered_counts(db, period, unit_id=unit_id)
    for uid, count in answered.items():
        if count:
            figures.units[uid] = UnitLogbook(answered=count)
    found = matched(db, period, settings=settings, unit_id=unit_id)
    for attempt_id, m in found.items():
        figures.calls[attempt_id] = m.status
        unit = figures.units.setdefault(m.unit_id, UnitLogbook())
        unit.logged += m.status == "logged"
        unit.late += m.status == "late"
    on = min(today, period.end)
    for uid, count in overdue_count(db, None if unit_id is None else [unit_id], today=on).items():
        figures.units.setdefault(uid, UnitLogbook()).overdue = count
    for uid, count in transfer_counts(db, period.start, period.end).items():
        if unit_id is None or uid == unit_id:
            figures.units.setdefault(uid, UnitLogbook()).transferred_repeatedly = count
    return figures
