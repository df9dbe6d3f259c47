"""A period measured in full: every unit's tally and verdict, its group's and the province's figures."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from monitor.reports.periods import Period
from monitor.reports.tally import CODES_SQL, Tally, full_tally, unit_tally
from monitor.reports.verdicts import DEFAULT_MIN_ANSWER_RATE, DEFAULT_MIN_TESTS, UnitResult, judge, league

UNITS_SQL = """
SELECT u.id, u.code, u.name, u.kind, u.group_code, g.name AS group_name, g.sort_order AS group_order, g.min_tests,
       u.valid_from, u.valid_to, u.contact_name, u.contact_email,
       h.number, h.display, h.hours, h.shared, h.shared_note, h.flagged_at, h.flag_reason,
       h.updated_at AS number_updated_at
FROM units u JOIN groups g ON g.code = u.group_code LEFT JOIN hotlines h ON h.unit_id = u.id
WHERE (:group IS NULL OR u.group_code = :group)
ORDER BY g.sort_order, g.code, u.name COLLATE NOCASE, u.code
"""


@dataclass
class GroupResult:
    """A group's figures: its units, how many were tested, fail or lack data for a verdict, their joint tally."""

    code: str
    name: str
    tally: Tally = field(default_factory=Tally)
    units: int = 0
    tested: int = 0
    failing: int = 0
    insufficient: int = 0  # tested, but fewer counted tests than min_tests
    min_tests: int = DEFAULT_MIN_TESTS
    previous: Tally | None = None


@dataclass
class PeriodMetrics:
    """Everything measured over one period: units in registry order, groups, the province total."""

    period: Period
    group: str | None
    units: list[UnitResult]
    groups: list[GroupResult]
    total: Tally
    min_answer_rate: float

    def unit(self, code: str) -> UnitResult | None:
        return next((u for u in self.units if u.code == code), None)

    @property
    def min_tests(self) -> dict:
        """Group code → counted tests a unit of that group needs for a verdict."""
        return {g.code: g.min_tests for g in self.groups}

    @property
    def failing(self) -> list[UnitResult]:
        return [u for u in league(self) if u.status == "fail"]


def _overlaps(unit: dict, period: Period) -> bool:
    start, end = period.start.isoformat(), period.end.isoformat()
    return (not unit["valid_from"] or unit["valid_from"] <= end) and (not unit["valid_to"] or unit["valid_to"] >= start)


def codes_params(period: Period, group: str | None = None) -> dict:
    """The parameters of tally.CODES_SQL (and UNITS_SQL) for a period and group."""
    start, end = period.bounds()
    return {"start": start, "end": end, "group": group or None}


def period_metrics(db, period: Period, *, group: str | None = None,
                   min_answer_rate: float = DEFAULT_MIN_ANSWER_RATE,
                   codes: Callable[[], list] | None = None) -> PeriodMetrics:
    """The period's metrics for every unit (of one group, if given), its groups and the province.

    codes: the rows of tally.CODES_SQL for the same period and group, already being read (prefetch.start),
    waited for once the units are read; by default they are read here."""
    params = codes_params(period, group)
    cursor = db.execute(UNITS_SQL, params)
    columns = [c[0] for c in cursor.description]
    unit_rows = cursor.fetchall()
    codes = dict(codes() if codes is not None else db.execute(CODES_SQL, params).fetchall())
    units, groups, group_codes = [], {}, {}
    for row in unit_rows:
        unit = dict(zip(columns, row))
        unit_codes = codes.get(unit["id"], "")
        if not unit_codes and not _overlaps(unit, period):
            continue  # neither in force during the period nor tested in it
        result = UnitResult(unit, unit_tally(unit_codes), unit_codes)
        judge(result, min_answer_rate)
        units.append(result)
        summary = groups.get(unit["group_code"])
        if summary is None:
            summary = groups[unit["group_code"]] = GroupResult(unit["group_code"], unit["group_name"],
                                                               min_tests=result.min_tests)
            group_codes[unit["group_code"]] = []
        group_codes[unit["group_code"]].append(unit_codes)
        summary.units += 1
        if result.status != "untested":
            summary.tested += 1
            summary.failing += result.status == "fail"
            summary.insufficient += result.status == "insufficient"
            summary.tally.longest_run = max(summary.tally.longest_run, result.tally.longest_run)
    total = Tally()
    for code, summary in groups.items():
        longest = summary.tally.longest_run
        summary.tally = full_tally("".join(group_codes[code]))
        summary.tally.longest_run = longest
        total.add(summary.tally)
    return PeriodMetrics(period, group, units, list(groups.values()), total.finish(), min_answer_rate)
