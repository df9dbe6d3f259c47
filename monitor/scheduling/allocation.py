"""Adaptive test plans: how many tests each unit gets in a week, and why (the reason is for inspectors only).

A test call costs money and occupies a line a citizen may need, so the week's tests go where they can change
a verdict. Each unit's evidence is its counted tests of the last WINDOW_WEEKS weeks (counted exactly as the
report counts them: no retests, no provider_error, no call held for review, no accepted dispute, office-hours
lines judged in office hours), summed up as the answer rate's 95 % Wilson interval:

- no evidence yet: the group's fixed number (N), as without adaptive planning;
- interval wholly above the standard (REPORT_MIN_ANSWER_RATE): the verdict is settled, so a RANDOM number
  of tests, drawn afresh every week between MIN_TESTS_PER_WEEK and 2 × MEAN_TESTS_CLEAR − MIN_TESTS_PER_WEEK
  (0, 1 or 2 by default, never above N): the unit can never tell that its week's tests are done, and the
  times stay stratified-random as for every unit;
- interval wholly below it: settled too, but a month's report judges a month's tests only, so the random
  number only if the month's guaranteed tests (the group's min_tests) at the top of the unit's interval
  would still lie wholly below; otherwise the group's N, so that each month's verdict keeps its evidence;
- interval across the standard with the rate at or above it: also the random number. A unit is rated
  "Chưa đạt" only on evidence against it (the interval below the standard, or a confirmed failure), so for
  a unit that answers, more calls cannot change its verdict; a failure among its tests moves it on;
- interval across the standard with the rate below it: more, up to MAX_TESTS_PER_WEEK (default 2 × N), when
  a month of that many tests at the rate seen could bring the interval wholly below: these are the calls that
  can settle whether the unit fails. Otherwise ("close": telling 88 % from 90 % takes hundreds of tests, which
  no month gives) the group's N.

Every calendar month each unit still gets its group's min_tests counted tests, so the monthly report never
says "Chưa đủ dữ liệu" because of the plan: in each week that lies wholly in a month, a unit whose month so far
(counted tests, and tests planned but not ended yet) plus N for each later whole week of the month would fall
short is topped up to what it lacks (month_due), never above N.

The whole never exceeds the groups' fixed total (the sum of N over the units): if the uncertain units would
take more, their extra tests are levelled down. The first plan of a week is stored in plan_allocations and
reused when the week is planned again, so replanning is idempotent. bench/allocation.py measures the result
against the fixed schedule on a simulated province.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from functools import cache
from typing import NamedTuple

from monitor.reports.intervals import wilson
from monitor.reports.scopes import SCOPE_SQL
from monitor.scheduling.bands import local_week_start
from monitor.settings import Settings
from registry.clock import iso, local_midnight_utc
from registry.db import write_transaction

WINDOW_WEEKS = 8
MONTH_WEEKS = 4  # the weeks a monthly report surely spans
# fixed: adaptive planning off · no_evidence: N · above / below: the interval settles it, a random number ·
# below_month: below, but the month's guaranteed tests would not show it, N ·
# leans_pass: uncertain but answering, a random number · leans_fail: uncertain and below the standard, more ·
# close: uncertain and below the standard, beyond what a month of tests can settle, N.
REASONS = ("fixed", "no_evidence", "above", "below", "below_month", "leans_pass", "leans_fail", "close")

# One grouped query for the whole province. It walks the hotlines and, for each, the window's range of the
# report's covering index (attempts_report: unit, time and every column read here), as the report's tally
# does, so neither the wide attempt rows nor the weeks outside the window are read.
EVIDENCE_SQL = f"""
SELECT h.unit_id, count(*), sum(a.outcome = 'answered')
FROM hotlines h CROSS JOIN attempts a INDEXED BY attempts_report
WHERE a.unit_id = h.unit_id AND a.state = 'ended' AND a.planned_at >= ? AND a.planned_at < ?
  AND {SCOPE_SQL['counted']}
GROUP BY h.unit_id
"""
# A month's tests so far: counted ones (the report's covering index), and scheduled ones not ended yet that
# would be counted (office-hours lines: in office hours), planned in the month before the week.
MONTH_SQL = EVIDENCE_SQL.replace("count(*), sum(a.outcome = 'answered')", "count(*)")
PENDING_SQL = """
SELECT a.unit_id, count(*)
FROM attempts a JOIN hotlines h ON h.unit_id = a.unit_id
WHERE a.state != 'ended' AND a.planned_at >= ? AND a.planned_at < ? AND a.purpose = 'scheduled'
  AND (h.hours IS NOT 'office' OR a.band = 'office')
GROUP BY a.unit_id
"""
STORED_SQL = ("SELECT unit_id, tests, base, reason, counted, answered, low, high FROM plan_allocations "
              "WHERE week = ?")
RECORD_SQL = ("INSERT OR IGNORE INTO plan_allocations (week, unit_id, tests, base, reason, counted, answered, low, "
              "high, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


class Allocation(NamedTuple):
    """One unit's tests for one week, and the evidence they were decided on (a tuple: a province has 100,000)."""

    tests: int
    base: int                      # the group's fixed number
    reason: str                    # REASONS
    counted: int = 0               # counted tests in the window
    answered: int = 0
    low: float | None = None       # the 95 % interval of the answer rate
    high: float | None = None


def limits(base: int, settings: Settings) -> tuple[int, int]:
    """(floor, cap) for a unit whose group plans `base` tests: never more than N at the floor, never below N at the cap."""
    floor = min(settings.min_tests_per_week, base)
    cap = max(settings.max_tests_per_week or 2 * base, base)
    return floor, cap


def clear_tests(draw: float, base: int, settings: Settings) -> int:
    """A settled unit's tests this week for a uniform draw in [0, 1): a whole number from the floor to
    2 × MEAN_TESTS_CLEAR − floor (mean MEAN_TESTS_CLEAR), never above N."""
    floor = min(settings.min_tests_per_week, base)
    top = min(base, max(floor, round(2 * settings.mean_tests_clear - floor)))
    return floor + min(int(draw * (top - floor + 1)), top - floor)


def keyed_draws(secret: str, week: date) -> Callable[[int], float]:
    """unit id → a uniform number in [0, 1) fixed by the deployment's secret, the week and the unit: the
    same week planned again draws the same, and an agency cannot work it out."""
    key = hashlib.blake2b(secret.encode(), digest_size=32).digest()

    def draw(unit_id: int) -> float:
        digest = hashlib.blake2b(f"{week.isoformat()}:{unit_id}".encode(), key=key, digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2 ** 64

    return draw


def month_weeks(week: date) -> tuple[date, int] | None:
    """(first day of the month, whole weeks of that month after this one) for a week lying wholly in one
    month; None for a week across two months (its tests fall on either side, so it guarantees neither)."""
    sunday = week + timedelta(days=6)
    if sunday.month != week.month:
        return None
    after, monday = 0, week + timedelta(days=7)
    while (monday + timedelta(days=6)).month == week.month:
        after, monday = after + 1, monday + timedelta(days=7)
    return week.replace(day=1), after


def month_due(need: int, so_far: int, base: int, weeks_after: int, office: bool = False) -> int:
    """Tests to plan this week so the month reaches `need` counted tests, if each later whole week of the
    month gives its N (never above N). An office-hours line has one test in five placed outside office
    hours, not counted: of k tests in a row at least k − ceil(k / 5) are counted."""
    per_week = base - (-(-base // 5) if office else 0)
    short = max(0, need - so_far - per_week * weeks_after)
    if office and short:
        short += -(-short // 4)
    return min(short, base)


@cache
def _no_evidence(base: int) -> Allocation:
    return Allocation(base, base, "no_evidence")


def decide(counted: int, answered: int, base: int, *, settings: Settings, draw: float = 0.5,
           month_min: int = 0) -> Allocation:
    """One unit's tests for the week from its counted and answered tests in the window (before the budget);
    draw: the unit's uniform number for the week; month_min: the counted tests its month is sure to get."""
    if counted <= 0:
        return _no_evidence(base)
    floor, cap = limits(base, settings)
    low, high = wilson(answered, counted)
    standard = settings.report_min_answer_rate
    if low >= standard:
        reason, tests = "above", clear_tests(draw, base, settings)
    elif high < standard:
        month = max(month_min, MONTH_WEEKS * floor)
        # At the top of its interval (the least it may be failing by), so the month's report keeps its proof.
        if month and wilson(round(high * month), month)[1] < standard:
            reason, tests = "below", clear_tests(draw, base, settings)
        else:
            reason, tests = "below_month", base
    elif answered >= standard * counted:
        reason, tests = "leans_pass", clear_tests(draw, base, settings)
    else:
        # More tests only where a month of them could bring the interval wholly below the standard at the
        # rate seen so far; a rate just under the standard needs hundreds of tests, which no month gives.
        more = counted + MONTH_WEEKS * cap
        if wilson(round(answered / counted * more), more)[1] < standard:
            reason, tests = "leans_fail", cap
        else:
            reason, tests = "close", base
    return Allocation(tests, base, reason, counted, answered, low, high)


def allocate(units: Iterable[tuple], settings: Settings, draw: Callable[[int], float] | None = None) -> dict[int, Allocation]:
    """unit id → Allocation for (unit id, base, counted, answered[, month_min, due]) rows, `due` being the
    tests the month still needs this week (month_due); the total stays within the sum of bases."""
    plan = {}
    for unit_id, base, counted, answered, *month in units:
        month_min, due = month or (0, 0)
        a = decide(counted, answered, base, settings=settings, draw=draw(unit_id) if draw else 0.5,
                   month_min=month_min)
        plan[unit_id] = a._replace(tests=max(a.tests, min(due, a.base))) if due > a.tests else a
    budget = sum(a.base for a in plan.values())
    total = sum(a.tests for a in plan.values())
    if total <= budget:
        return plan
    # Level the uncertain units' extra tests down to what the budget leaves: each gets min(cap, level) but at
    # least its base; the remainder goes one each to the units whose interval reaches lowest (most at stake).
    extra = sorted((a.high, unit_id) for unit_id, a in plan.items() if a.tests > a.base)
    room = budget - sum(a.tests for a in plan.values() if a.tests <= a.base)
    level = max(plan[u].tests for _, u in extra)
    while level > 0 and sum(max(min(plan[u].tests, level), plan[u].base) for _, u in extra) > room:
        level -= 1
    given = {u: max(min(plan[u].tests, level), plan[u].base) for _, u in extra}
    spare = room - sum(given.values())
    for _, u in extra:
        if spare <= 0:
            break
        if given[u] < plan[u].tests:
            given[u] += 1
            spare -= 1
    for u, tests in given.items():
        plan[u] = plan[u]._replace(tests=tests)
    return plan


def evidence(db, week: date) -> dict[int, tuple[int, int]]:
    """unit id → (counted, answered) over the WINDOW_WEEKS weeks before the week (one grouped query)."""
    start = local_week_start(week)
    rows = db.execute(EVIDENCE_SQL, [iso(start - timedelta(weeks=WINDOW_WEEKS)), iso(start)])
    return {unit_id: (counted, answered or 0) for unit_id, counted, answered in rows}


def month_so_far(db, week: date) -> tuple[dict[int, int], int] | None:
    """(unit id → tests of the week's month so far, whole weeks of the month after this one), or None for a
    week across two months (month_weeks)."""
    month = month_weeks(week)
    if month is None:
        return None
    first, after = month
    bounds = [iso(local_midnight_utc(first)), iso(local_week_start(week))]
    so_far = dict(db.execute(MONTH_SQL, bounds).fetchall())
    for unit_id, pending in db.execute(PENDING_SQL, bounds):
        so_far[unit_id] = so_far.get(unit_id, 0) + pending
    return so_far, after


def for_week(db, week: date, bases: dict[int, int], *, settings: Settings, minimums: dict[int, int] | None = None,
             office: frozenset[int] | set[int] = frozenset()) -> tuple[dict[int, Allocation], dict[int, Allocation]]:
    """(every unit's allocation, the ones not stored yet) for the week; `bases`: unit id → the group's N;
    `minimums`: unit id → its group's min_tests a month; `office`: the units whose line keeps office hours.

    Units already planned this week keep their stored allocation; the others are decided now, within their
    own groups' total. Nothing is written (record() does).
    """
    if not settings.adaptive_planning:
        return {u: Allocation(base, base, "fixed") for u, base in bases.items()}, {}
    stored = {row[0]: Allocation._make(row[1:]) for row in db.execute(STORED_SQL, [week.isoformat()]) if row[0] in bases}
    missing = [u for u in bases if u not in stored]
    if not missing:
        return stored, {}
    seen, minimums = evidence(db, week), minimums or {}
    month = month_so_far(db, week) if minimums else None
    so_far, after = month or ({}, 0)

    def due(u: int) -> int:
        if month is None or not minimums.get(u):
            return 0
        return month_due(minimums[u], so_far.get(u, 0), bases[u], after, u in office)

    rows = ((u, bases[u], *seen.get(u, (0, 0)), minimums.get(u, 0), due(u)) for u in missing)
    new = allocate(rows, settings, keyed_draws(settings.secret_key, week))
    return {**stored, **new}, new


def record(db, week: date, allocations: dict[int, Allocation], now: datetime) -> None:
    """Store the week's new allocations (a unit and week already stored keeps its first one)."""
    created, key = iso(now), week.isoformat()
    with write_transaction(db):
        db.conn.executemany(RECORD_SQL, [(key, u, *a, created) for u, a in allocations.items()])


def for_unit(db, unit_id: int, limit: int = 8) -> list[dict]:
    """A unit's latest weekly allocations, newest first (the inspector's unit page)."""
    return db.execute_returning_dicts(
        "SELECT week, tests, base, reason, counted, answered, low, high FROM plan_allocations "
        "WHERE unit_id = ? ORDER BY week DESC LIMIT ?", [unit_id, limit])
