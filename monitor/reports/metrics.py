"""Accountability metrics per unit, per group and per period, computed from the ended attempts.

What counts (the report's method section says the same in Vietnamese):
- A *test* is an ended attempt whose purpose is `scheduled` or `manual`. Retests are not separate tests:
  they are the evidence that confirms (or not) the failure they repeat, so they only set `confirmed`.
- Excluded, and counted by reason: `provider_error` (our side failed) and attempts whose dispute an
  inspector accepted. The outcome used is the effective one (`attempts.outcome`, after any review).
- An office-hours hotline is judged on its office-hours tests; its other tests are shown apart.
- A failure is machine, no_answer, busy, unreachable or redirected; a *confirmed* failure has confirmed=1.

How one grouped query yields everything: each attempt becomes one character whose code point packs what
the metrics need (kind, outcome, band, confirmation, manual, tenths of a second to answer). The query
walks the units and, for each, the covering partial index attempts_report in (unit_id, planned_at) order,
so group_concat returns every unit's characters in chronological order without a sort. Python then works
on strings at C speed: sorting a unit's characters puts its answered tests in order of seconds to answer
(percentiles by index), a Counter of the rest gives the failures, and a regular expression over the
chronological string gives the longest run of failures. Groups and the province decode the Counter of
their joined strings once.
"""
from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date

from monitor.scheduling.bands import BANDS
from monitor.attempts.outcomes import FAILURES, OUTCOMES
from monitor.reports.periods import Period

DEFAULT_MIN_ANSWER_RATE = 0.9
FAST_SECONDS = 15  # about three rings: the share answered within this is reported
EXCLUSION_REASONS = ("provider_error", "dispute_accepted")

# Character codes (one per attempt):
#   counted answered   ANSWERED + 16*tenths + 2*band + manual     (tenths 4095 = time unknown)
#   counted failure    FAILED + outcome + 7*band + 49*confirmation + 147*manual
#   not judged         RETEST + outcome, PROVIDER + manual, DISPUTED + outcome, OUT_OF_HOURS + outcome
# Tenths come first in the answered code, so code point order is seconds-to-answer order.
_OUTCOME_BY_INDEX = dict(enumerate(("answered", "machine", "no_answer", "busy", "unreachable", "redirected",
                                    "provider_error")))
_BAND_BY_INDEX = dict(enumerate(BANDS)) | {6: "other"}
_CONFIRMATION = {0: None, 1: 1, 2: 0}
FAILED, RETEST, PROVIDER, DISPUTED, OUT_OF_HOURS, ANSWERED = 0x100, 0x500, 0x580, 0x600, 0x680, 0x10000
UNKNOWN_TENTHS = 4095
_ANSWERED_CHAR = chr(ANSWERED)
_FAST_LIMIT_CHAR = chr(ANSWERED + 16 * (FAST_SECONDS * 10 + 1))
_UNKNOWN_CHAR = chr(ANSWERED + 16 * UNKNOWN_TENTHS)
_NOT_JUDGED_CHAR = chr(RETEST)

_O = ("CASE a.outcome WHEN 'answered' THEN 0 WHEN 'no_answer' THEN 2 WHEN 'machine' THEN 1 WHEN 'busy' THEN 3"
      " WHEN 'unreachable' THEN 4 WHEN 'redirected' THEN 5 ELSE 6 END")
_B = ("CASE a.band WHEN 'office' THEN 0 WHEN 'lunch' THEN 1 WHEN 'evening' THEN 2 WHEN 'night' THEN 3"
      " WHEN 'weekend' THEN 4 WHEN 'holiday' THEN 5 ELSE 6 END")
_C = "CASE a.confirmed WHEN 1 THEN 1 WHEN 0 THEN 2 ELSE 0 END"
_M = "(a.purpose = 'manual')"
ACCEPTED_DISPUTES = "(SELECT attempt_id FROM disputes WHERE status = 'accepted')"

# The one query the period's metrics need (benchmarked: see docs/BENCHMARKS.md). INDEXED BY makes a
# missing index an error instead of a silent full scan; NOT INDEXED on units keeps the outer loop in
# rowid order, so GROUP BY needs no sorter and each unit's characters stay in index (time) order.
CODES_SQL = f"""
SELECT u.id, group_concat(char(CASE
    WHEN a.purpose = 'retest' THEN {RETEST} + {_O}
    WHEN a.outcome = 'provider_error' THEN {PROVIDER} + {_M}
    WHEN a.outcome = 'answered' THEN CASE WHEN h.hours = 'office' AND a.band != 'office' THEN {OUT_OF_HOURS}
        ELSE {ANSWERED} + 2 * {_B} + {_M} + 16 * CASE
            WHEN a.answer_seconds BETWEEN 0 AND {(UNKNOWN_TENTHS - 2) / 10} THEN CAST(a.answer_seconds * 10 + 0.5 AS INTEGER)
            WHEN a.answer_seconds IS NULL THEN {UNKNOWN_TENTHS} ELSE {UNKNOWN_TENTHS - 1} END END
    WHEN a.id IN {ACCEPTED_DISPUTES} THEN {DISPUTED} + {_O}
    WHEN h.hours = 'office' AND a.band != 'office' THEN {OUT_OF_HOURS} + {_O}
    ELSE {FAILED} + {_O} + 7 * {_B} + 49 * {_C} + 147 * {_M} END), '')
FROM units u NOT INDEXED
LEFT JOIN hotlines h ON h.unit_id = u.id
CROSS JOIN attempts a INDEXED BY attempts_report
    ON a.unit_id = u.id AND a.state = 'ended' AND a.planned_at >= :start AND a.planned_at < :end
WHERE (:group IS NULL OR u.group_code = :group)
GROUP BY u.id
"""

UNITS_SQL = """
SELECT u.id, u.code, u.name, u.kind, u.group_code, g.name AS group_name, g.sort_order AS group_order,
       u.valid_from, u.valid_to, u.contact_name, u.contact_email,
       h.number, h.display, h.hours, h.shared, h.shared_note, h.flagged_at, h.flag_reason,
       h.updated_at AS number_updated_at
FROM units u JOIN groups g ON g.code = u.group_code LEFT JOIN hotlines h ON h.unit_id = u.id
WHERE (:group IS NULL OR u.group_code = :group)
ORDER BY g.sort_order, g.code, u.name COLLATE NOCASE, u.code
"""


def _decode(code: int) -> tuple:
    """(kind, outcome, band, confirmed, manual, tenths) of one character code."""
    if code >= ANSWERED:
        value = code - ANSWERED
        return "test", "answered", _BAND_BY_INDEX[(value >> 1) & 7], None, value & 1, value >> 4
    if code >= OUT_OF_HOURS:
        return "out_of_hours", _OUTCOME_BY_INDEX[code - OUT_OF_HOURS], None, None, 0, None
    if code >= DISPUTED:
        return "dispute_accepted", _OUTCOME_BY_INDEX[code - DISPUTED], None, None, 0, None
    if code >= PROVIDER:
        return "provider_error", "provider_error", None, None, code - PROVIDER, None
    if code >= RETEST:
        return "retest", _OUTCOME_BY_INDEX[code - RETEST], None, None, 0, None
    value = code - FAILED
    return ("test", _OUTCOME_BY_INDEX[value % 7], _BAND_BY_INDEX[value // 7 % 7], _CONFIRMATION[value // 49 % 3],
            value // 147, None)


_SMALL = {code: _decode(code) for code in [
    *range(FAILED, FAILED + 294), *range(RETEST, RETEST + 7), PROVIDER, PROVIDER + 1,
    *range(DISPUTED, DISPUTED + 7), *range(OUT_OF_HOURS, OUT_OF_HOURS + 7),
]}
# A run of failures is a stretch of judged failures: characters not judged are removed first, so that a
# retest, an exclusion or an office-hours hotline's evening test neither extends nor breaks a run.
_NOT_JUDGED = re.compile(f"[{chr(RETEST)}-{chr(ANSWERED - 1)}]")
_FAILURE_RUN = re.compile(f"[{chr(FAILED)}-{chr(RETEST - 1)}]+")


def percentile(values, p: float) -> float | None:
    """The p-quantile (0..1) of a sorted sequence, interpolating linearly between ranks.

    Same definition as statistics.quantiles(method='inclusive') and numpy's default: position p*(n-1).
    """
    if not len(values):
        return None
    position = p * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def _unit_seconds(chars: list, start: int, stop: int) -> tuple[float | None, float | None]:
    """Median and 90th percentile in seconds of the answered characters chars[start:stop] (sorted).

    Reads only the ranks the percentiles need: this runs once per unit, ten thousand times per report.
    """
    n = stop - start
    if not n:
        return None, None
    out = []
    for p in (0.5, 0.9):
        position = p * (n - 1)
        low = int(position)
        a = (ord(chars[start + low]) - ANSWERED) >> 4
        b = (ord(chars[start + min(low + 1, n - 1)]) - ANSWERED) >> 4
        out.append((a + (b - a) * (position - low)) / 10)
    return out[0], out[1]


class _CountedValues:
    """Values given as value → multiplicity, seen as the sorted sequence they stand for."""

    def __init__(self, counts: dict):
        self.values = sorted(counts)
        self.ends, total = [], 0
        for value in self.values:
            total += counts[value]
            self.ends.append(total)

    def __len__(self):
        return self.ends[-1] if self.ends else 0

    def __getitem__(self, rank: int):
        return self.values[bisect_right(self.ends, rank)]


def _seconds(tenths) -> tuple[float | None, float | None]:
    """Median and 90th percentile, in seconds, of a sorted sequence of tenths."""
    median, p90 = percentile(tenths, 0.5), percentile(tenths, 0.9)
    return (None if median is None else median / 10), (None if p90 is None else p90 / 10)


def _bump(counts: dict, key, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


@dataclass
class Tally:
    """Counts for one unit, group or the whole province over a period, and the rates derived from them.

    Plain dicts rather than Counters: ten thousand unit tallies are built per report.
    """

    made: int = 0  # tests made (scheduled and manual, ended), before exclusions
    counted: int = 0  # tests that count: not excluded, and in hours the hotline is judged on
    answered: int = 0
    manual: int = 0  # of the counted tests, placed by an inspector ("call now")
    outcomes: dict = field(default_factory=dict)  # counted tests by outcome
    band_tests: dict = field(default_factory=dict)  # counted tests by band (groups, province, unit pages)
    band_answered: dict = field(default_factory=dict)
    fast: int = 0  # answered within FAST_SECONDS
    confirmed: int = 0  # failures a retest confirmed
    retest_passed: int = 0  # failures whose retest was answered
    unconfirmed: int = 0  # failures not (yet) retested
    excluded: dict = field(default_factory=dict)  # reason → tests left out
    out_of_hours: int = 0  # office-hours hotlines tested outside office hours (shown apart)
    out_of_hours_answered: int = 0
    retests: int = 0
    tenths: dict = field(default_factory=dict)  # seconds to answer in tenths → tests (groups, province)
    median_seconds: float | None = None
    p90_seconds: float | None = None
    longest_run: int = 0  # longest run of consecutive failures (for a group: its worst unit's)

    @property
    def failures(self) -> int:
        return self.counted - self.answered

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.counted if self.counted else None

    @property
    def fast_rate(self) -> float | None:
        """Share of counted tests answered by a person within FAST_SECONDS."""
        return self.fast / self.counted if self.counted else None

    @property
    def out_of_hours_rate(self) -> float | None:
        return self.out_of_hours_answered / self.out_of_hours if self.out_of_hours else None

    def count(self, outcome: str) -> int:
        return self.outcomes.get(outcome, 0)

    def rate(self, outcome: str) -> float | None:
        return self.outcomes.get(outcome, 0) / self.counted if self.counted else None

    def band_rate(self, band: str) -> float | None:
        tests = self.band_tests.get(band, 0)
        return self.band_answered.get(band, 0) / tests if tests else None

    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    def add(self, other: "Tally") -> None:
        """Fold another full tally into this one (groups → province); call finish() after the last."""
        for name in ("made", "counted", "answered", "manual", "fast", "confirmed", "retest_passed", "unconfirmed",
                     "out_of_hours", "out_of_hours_answered", "retests"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("outcomes", "band_tests", "band_answered", "excluded", "tenths"):
            mine = getattr(self, name)
            for key, n in getattr(other, name).items():
                _bump(mine, key, n)
        self.longest_run = max(self.longest_run, other.longest_run)

    def finish(self) -> "Tally":
        """Compute the percentiles from the answer times collected."""
        self.median_seconds, self.p90_seconds = _seconds(_CountedValues(self.tenths))
        return self

    def as_dict(self) -> dict:
        """Plain figures for JSON and templates (rates as fractions 0..1, None when nothing was counted)."""
        return {
            "tests_made": self.made,
            "tests_counted": self.counted,
            "manual_tests": self.manual,
            "answered": self.answered,
            "answer_rate": self.answer_rate,
            "answer_rate_by_band": {
                band: {"tests": self.band_tests[band], "answered": self.band_answered.get(band, 0),
                       "rate": self.band_rate(band)}
                for band in BANDS if self.band_tests.get(band)
            },
            "median_seconds_to_answer": self.median_seconds,
            "p90_seconds_to_answer": self.p90_seconds,
            f"answered_within_{FAST_SECONDS}s": self.fast,
            f"share_answered_within_{FAST_SECONDS}s": self.fast_rate,
            "outcomes": {code: self.count(code) for code in FAILURES},
            "outcome_rates": {code: self.rate(code) for code in FAILURES},
            "failures": self.failures,
            "confirmed_failures": self.confirmed,
            "failures_retest_passed": self.retest_passed,
            "failures_unconfirmed": self.unconfirmed,
            "longest_failure_run": self.longest_run,
            "excluded": {reason: self.excluded.get(reason, 0) for reason in EXCLUSION_REASONS},
            "retests": self.retests,
            "out_of_hours_tests": self.out_of_hours,
            "out_of_hours_answered": self.out_of_hours_answered,
        }


def _count_small(tally: Tally, counts, *, bands: bool) -> None:
    """Add the characters below ANSWERED (failures and everything not judged) to a tally."""
    for char, n in counts.items():
        kind, outcome, band, confirmed, manual, _ = _SMALL[ord(char)]
        if kind == "retest":
            tally.retests += n
            continue
        tally.made += n
        if kind == "out_of_hours":
            tally.out_of_hours += n
            if outcome == "answered":
                tally.out_of_hours_answered += n
        elif kind != "test":
            _bump(tally.excluded, kind, n)
        else:
            tally.counted += n
            _bump(tally.outcomes, outcome, n)
            if confirmed == 1:
                tally.confirmed += n
            elif confirmed == 0:
                tally.retest_passed += n
            else:
                tally.unconfirmed += n
            if bands:
                tally.manual += n * manual
                _bump(tally.band_tests, band, n)


def unit_tally(codes: str) -> Tally:
    """One unit's tally from its chronological characters (no band breakdown: see full_tally).

    Runs ten thousand times per report, hence the inlined loop: sorted characters put equal codes side by
    side (each run counted with a bisect) and the answered ones last, in order of seconds to answer.
    """
    tally = Tally()
    if not codes:
        return tally
    chars = sorted(codes)
    first_answered = bisect_left(chars, _ANSWERED_CHAR)
    i = 0
    while i < first_answered:
        char = chars[i]
        j = bisect_right(chars, char, i, first_answered)
        n = j - i
        i = j
        kind, outcome, _, confirmed, _, _ = _SMALL[ord(char)]
        if kind == "test":
            tally.counted += n
            tally.outcomes[outcome] = tally.outcomes.get(outcome, 0) + n
            if confirmed == 1:
                tally.confirmed += n
            elif confirmed == 0:
                tally.retest_passed += n
            else:
                tally.unconfirmed += n
        elif kind == "retest":
            tally.retests += n
            continue
        elif kind == "out_of_hours":
            tally.out_of_hours += n
            if outcome == "answered":
                tally.out_of_hours_answered += n
        else:
            tally.excluded[kind] = tally.excluded.get(kind, 0) + n
        tally.made += n
    answered = len(chars) - first_answered
    if answered:
        tally.made += answered
        tally.counted += answered
        tally.answered = answered
        tally.outcomes["answered"] = answered
        tally.fast = bisect_left(chars, _FAST_LIMIT_CHAR, first_answered) - first_answered
        timed_end = bisect_left(chars, _UNKNOWN_CHAR, first_answered)
        tally.median_seconds, tally.p90_seconds = _unit_seconds(chars, first_answered, timed_end)
    if first_answered and chars[0] < _NOT_JUDGED_CHAR:  # some judged failure: look for the longest run
        tally.longest_run = max(map(len, _FAILURE_RUN.findall(_NOT_JUDGED.sub("", codes))))
    return tally


def full_tally(codes: str) -> Tally:
    """A tally with the band breakdown and every answer time, from characters in any order (no runs)."""
    tally = Tally()
    small = {}
    for char, n in Counter(codes).items():
        code = ord(char)
        if code < ANSWERED:
            small[char] = n
            continue
        _, _, band, _, manual, tenths = _decode(code)
        tally.made += n
        tally.counted += n
        tally.answered += n
        tally.manual += n * manual
        _bump(tally.band_tests, band, n)
        _bump(tally.band_answered, band, n)
        if tenths != UNKNOWN_TENTHS:
            _bump(tally.tenths, tenths, n)
            if tenths <= FAST_SECONDS * 10:
                tally.fast += n
    if tally.answered:
        tally.outcomes["answered"] = tally.answered
    _count_small(tally, small, bands=True)
    return tally.finish()


@dataclass
class UnitResult:
    """One unit's registry entry, its tally for the period, and whether it met the requirement."""

    unit: dict
    tally: Tally
    codes: str = ""  # the period's characters, chronological (for the unit page's band breakdown)
    status: str = "untested"  # pass | fail | untested
    reasons: list = field(default_factory=list)
    rank: int | None = None  # in the league table of its group, 1 = worst
    previous: "Tally | None" = None

    @property
    def code(self) -> str:
        return self.unit["code"]

    @property
    def office_hours(self) -> bool:
        return self.unit.get("hours") == "office"

    def detailed(self) -> Tally:
        """The unit's tally with its band breakdown (computed on demand: the league table does not need it)."""
        tally = full_tally(self.codes)
        tally.longest_run = self.tally.longest_run
        return tally

    @cached_property
    def compliance(self) -> dict:
        """Registry compliance: exactly one registered number, not flagged unreachable, when last changed."""
        has_number = bool(self.unit.get("number"))
        flagged = bool(self.unit.get("flagged_at"))
        return {
            "has_number": has_number,
            "flagged": flagged,
            "flag_reason": self.unit.get("flag_reason") or "",
            "shared": bool(self.unit.get("shared")),
            "last_changed": self.unit.get("number_updated_at"),
            "ok": has_number and not flagged,
        }


@dataclass
class GroupResult:
    code: str
    name: str
    tally: Tally = field(default_factory=Tally)
    units: int = 0
    tested: int = 0
    failing: int = 0
    previous: "Tally | None" = None


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
    def failing(self) -> list[UnitResult]:
        return [u for u in league(self) if u.status == "fail"]


def _overlaps(unit: dict, period: Period) -> bool:
    start, end = period.start.isoformat(), period.end.isoformat()
    return (not unit["valid_from"] or unit["valid_from"] <= end) and (not unit["valid_to"] or unit["valid_to"] >= start)


def judge(result: UnitResult, min_answer_rate: float) -> None:
    """Pass or fail: a unit fails with any confirmed failure or an answer rate below the minimum."""
    tally = result.tally
    result.reasons = []
    if not tally.counted:
        result.status = "untested"
        return
    if tally.confirmed:
        result.reasons.append(f"{tally.confirmed} lỗi đã được cuộc gọi lại xác nhận")
    if tally.answer_rate < min_answer_rate:
        result.reasons.append(f"tỷ lệ có người nghe máy {tally.answer_rate:.0%} thấp hơn mức {min_answer_rate:.0%}")
    result.status = "fail" if result.reasons else "pass"


def period_metrics(db, period: Period, *, group: str | None = None,
                   min_answer_rate: float = DEFAULT_MIN_ANSWER_RATE) -> PeriodMetrics:
    """The period's metrics for every unit (of one group, if given), its groups and the province."""
    start, end = period.bounds()
    params = {"start": start, "end": end, "group": group or None}
    codes = dict(db.execute(CODES_SQL, params).fetchall())
    cursor = db.execute(UNITS_SQL, params)
    columns = [c[0] for c in cursor.description]
    units, groups, group_codes = [], {}, {}
    for row in cursor.fetchall():
        unit = dict(zip(columns, row))
        unit_codes = codes.get(unit["id"], "")
        if not unit_codes and not _overlaps(unit, period):
            continue  # neither in force during the period nor tested in it
        result = UnitResult(unit, unit_tally(unit_codes), unit_codes)
        judge(result, min_answer_rate)
        units.append(result)
        summary = groups.get(unit["group_code"])
        if summary is None:
            summary = groups[unit["group_code"]] = GroupResult(unit["group_code"], unit["group_name"])
            group_codes[unit["group_code"]] = []
        group_codes[unit["group_code"]].append(unit_codes)
        summary.units += 1
        if result.status != "untested":
            summary.tested += 1
            summary.failing += result.status == "fail"
            summary.tally.longest_run = max(summary.tally.longest_run, result.tally.longest_run)
    total = Tally()
    for code, summary in groups.items():
        longest = summary.tally.longest_run
        summary.tally = full_tally("".join(group_codes[code]))
        summary.tally.longest_run = longest
        total.add(summary.tally)
    return PeriodMetrics(period, group, units, list(groups.values()), total.finish(), min_answer_rate)


# The previous period and the trend need only counted, answered and confirmed per unit: a lighter query
# (plain sums, no characters) over the same index, with the drill-down's own "counted" predicate.
LIGHT_SQL = """
SELECT u.id, u.group_code, count(*), sum(a.outcome = 'answered'), sum(a.confirmed IS 1 AND a.outcome != 'answered')
FROM units u NOT INDEXED
LEFT JOIN hotlines h ON h.unit_id = u.id
CROSS JOIN attempts a INDEXED BY attempts_report
    ON a.unit_id = u.id AND a.state = 'ended' AND a.planned_at >= :start AND a.planned_at < :end
WHERE {counted} AND (:group IS NULL OR u.group_code = :group)
GROUP BY u.id
"""


@dataclass
class Summary:
    """Counted tests, answered and confirmed failures of a period: what the previous period and trend show."""

    period: Period
    units: dict  # unit id → Tally (counted, answered, confirmed only)
    groups: dict  # group code → Tally
    total: Tally


def summary(db, period: Period, *, group: str | None = None) -> Summary:
    """A period's light figures per unit, per group and in total (one grouped query of plain sums)."""
    start, end = period.bounds()
    units, groups, total = {}, {}, Tally()
    sql = LIGHT_SQL.format(counted=SCOPE_SQL["counted"])
    for unit_id, group_code, counted, answered, confirmed in db.execute(
        sql, {"start": start, "end": end, "group": group or None}
    ).fetchall():
        tally = Tally(counted=counted, answered=answered, confirmed=confirmed)
        units[unit_id] = tally
        for bucket in (groups.setdefault(group_code, Tally()), total):
            bucket.counted += counted
            bucket.answered += answered
            bucket.confirmed += confirmed
    return Summary(period, units, groups, total)


def summary_of(metrics: PeriodMetrics) -> Summary:
    """The light figures of a period already measured in full."""
    return Summary(metrics.period, {u.unit["id"]: u.tally for u in metrics.units if u.tally.counted},
                   {g.code: g.tally for g in metrics.groups}, metrics.total)


def attach_previous(current: PeriodMetrics, previous: Summary) -> None:
    """Put each unit's and group's previous-period figures beside the current ones (for ▲▼)."""
    for result in current.units:
        result.previous = previous.units.get(result.unit["id"])
    for group_result in current.groups:
        group_result.previous = previous.groups.get(group_result.code)


def _rank_key(result: UnitResult):
    tally = result.tally
    # Worst first: lowest answer rate, then most confirmed failures, then the longest run; untested last.
    return (tally.counted == 0, tally.answer_rate if tally.counted else 2, -tally.confirmed, -tally.longest_run,
            -tally.failures, result.unit["name"].lower(), result.code)


def league(metrics: PeriodMetrics) -> list[UnitResult]:
    """Units worst first within each group (groups in their usual order); rank 1 = the group's worst."""
    ordered = []
    for summary in metrics.groups:
        members = sorted((u for u in metrics.units if u.unit["group_code"] == summary.code), key=_rank_key)
        for rank, result in enumerate(members, start=1):
            result.rank = rank if result.tally.counted else None
        ordered.extend(members)
    return ordered


def delta(current: float | None, previous: float | None) -> tuple[str, float | None]:
    """Direction of change as text (▲ up, ▼ down, = same, – no comparison) and the difference."""
    if current is None or previous is None:
        return "–", None
    diff = current - previous
    if abs(diff) < 1e-9:
        return "=", 0.0
    return ("▲" if diff > 0 else "▼"), diff


# Closed periods' summaries are kept in memory, each with a stamp of everything that could still change its
# figures: the ended attempts planned in it (a late end or a retest adds one), the latest review (an
# override), the disputes decided and the registry history (hours, groups). The stamp costs one count over
# the attempts_due index (~25 ms for a month of 10,000 units) where the summary costs a scan of every row.
CLOSED_AFTER_DAYS = 2
_MEMO: dict = {}
_MEMO_SIZE = 128


def _stamp(db, period: Period) -> tuple:
    start, end = period.bounds()
    return (
        db.execute("SELECT count(*) FROM attempts WHERE state = 'ended' AND planned_at >= ? AND planned_at < ?",
                   [start, end]).fetchone()[0],
        db.execute("SELECT max(id) FROM outcome_reviews").fetchone()[0],
        tuple(db.execute("SELECT max(id), count(decided_at), max(decided_at) FROM disputes").fetchone()),
        db.execute("SELECT max(id) FROM changes").fetchone()[0],
    )


def _database_key(db) -> str:
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] if row else ""


def closed_summary(db, period: Period, *, group: str | None, today: date) -> Summary:
    """summary(), remembered for a period closed for CLOSED_AFTER_DAYS while its stamp is unchanged."""
    if (today - period.end).days <= CLOSED_AFTER_DAYS:
        return summary(db, period, group=group)
    key = (_database_key(db), period.key, group)
    stamp = _stamp(db, period)
    cached = _MEMO.get(key)
    if cached and cached[0] == stamp:
        return cached[1]
    result = _stored_summary(db, period, group, stamp)
    if result is None:
        result = summary(db, period, group=group)
        _store_summary(db, period, group, stamp, result)
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = (stamp, result)
    return result


def _stored_summary(db, period: Period, group: str | None, stamp: tuple) -> Summary | None:
    """The summary kept in the database for this period, if it was computed under the same stamp."""
    row = db.execute("SELECT stamp, data FROM report_summaries WHERE period_key = ? AND grp = ?",
                     [period.key, group or ""]).fetchone()
    if not row or row[0] != json.dumps(stamp):
        return None
    data = json.loads(row[1])
    units = {unit_id: Tally(counted=c, answered=a, confirmed=f) for unit_id, c, a, f in data["units"]}
    groups = {code: Tally(counted=c, answered=a, confirmed=f) for code, (c, a, f) in data["groups"].items()}
    c, a, f = data["total"]
    return Summary(period, units, groups, Tally(counted=c, answered=a, confirmed=f))


def _store_summary(db, period: Period, group: str | None, stamp: tuple, result: Summary) -> None:
    data = {
        "units": [[unit_id, t.counted, t.answered, t.confirmed] for unit_id, t in result.units.items()],
        "groups": {code: [t.counted, t.answered, t.confirmed] for code, t in result.groups.items()},
        "total": [result.total.counted, result.total.answered, result.total.confirmed],
    }
    db.execute(
        "INSERT INTO report_summaries (period_key, grp, stamp, data) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(period_key, grp) DO UPDATE SET stamp = excluded.stamp, data = excluded.data",
        [period.key, group or "", json.dumps(stamp), json.dumps(data)],
    )


def trend(db, periods: list[Period], *, group: str | None = None, known: list[Summary] = (),
          today: date | None = None) -> list[Summary]:
    """The light figures of each period, oldest first; `known` are summaries already computed (reused).

    With `today` (local date), periods closed for some days come from closed_summary()'s memory.
    """
    by_key = {item.period.key: item for item in known}
    out = []
    for period in periods:
        if period.key in by_key:
            out.append(by_key[period.key])
        elif today is not None:
            out.append(closed_summary(db, period, group=group, today=today))
        else:
            out.append(summary(db, period, group=group))
    return out


def trend_periods(period: Period, count: int) -> list[Period]:
    """The `count` periods of the same kind ending with this one (months for a month, quarters for a quarter)."""
    out = [period]
    while len(out) < count:
        out.insert(0, out[0].previous())
    return out


# ---------------------------------------------------------------------------------------------- drill-down

SCOPES = ("counted", "out_of_hours", "excluded", "retest", "all")
# The SQL twins of CODES_SQL's classification: a drill-down lists exactly the attempts its figure counts
# (tests/test_metrics.py checks that they agree). An accepted dispute takes a failure out of every figure,
# the out-of-hours ones included; answered tests are never disputed.
_JUDGED = "(h.hours IS NOT 'office' OR a.band = 'office')"
_DISPUTED_FAILURE = f"(a.outcome != 'answered' AND a.id IN {ACCEPTED_DISPUTES})"
SCOPE_SQL = {
    "counted": f"a.purpose != 'retest' AND a.outcome != 'provider_error' AND {_JUDGED} AND NOT {_DISPUTED_FAILURE}",
    "out_of_hours": f"a.purpose != 'retest' AND a.outcome != 'provider_error' AND NOT {_JUDGED} "
                    f"AND NOT {_DISPUTED_FAILURE}",
    "excluded": f"a.purpose != 'retest' AND (a.outcome = 'provider_error' OR {_DISPUTED_FAILURE})",
    "retest": "a.purpose = 'retest'",
    "all": "1",
}

ATTEMPTS_SQL = """
SELECT a.id, a.unit_id, a.number, a.planned_at, a.band, a.purpose, a.retest_of, a.dial_requested_at,
       a.placed_at, a.ringing_at, a.answered_at, a.ended_at, a.answer_seconds, a.duration_seconds,
       a.call_status, a.answered_by, a.sip_code, a.q850_cause, a.forwarded_from, a.transcript,
       a.speech_confidence, a.recording_url, a.outcome, a.outcome_detail, a.original_outcome, a.confirmed,
       a.error, u.code AS unit_code, u.name AS unit_name, u.group_code, h.hours,
       (SELECT count(*) FROM outcome_reviews r WHERE r.attempt_id = a.id) AS reviews,
       (SELECT d.status FROM disputes d WHERE d.attempt_id = a.id ORDER BY d.id DESC LIMIT 1) AS dispute_status,
       (SELECT d.id FROM disputes d WHERE d.attempt_id = a.id ORDER BY d.id DESC LIMIT 1) AS dispute_id,
       (SELECT r.outcome FROM attempts r WHERE r.retest_of = a.id AND r.state = 'ended'
         ORDER BY r.ended_at DESC LIMIT 1) AS retest_outcome
FROM attempts a JOIN units u ON u.id = a.unit_id LEFT JOIN hotlines h ON h.unit_id = a.unit_id
"""


class FilterError(ValueError):
    """A drill-down filter that is not one of the known values; .message in Vietnamese."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


def check_filters(*, outcome: str | None = None, band: str | None = None, scope: str = "counted",
                  confirmed: str | None = None) -> None:
    """Refuse unknown filter values with a message naming the field."""
    if outcome and outcome not in OUTCOMES and outcome != "failure":
        raise FilterError(f"Kết quả “{outcome}” không có trong danh sách kết quả cuộc gọi.", "outcome")
    if band and band not in BANDS:
        raise FilterError(f"Khung giờ “{band}” không có.", "band")
    if scope not in SCOPES:
        raise FilterError(f"Phạm vi “{scope}” không có (dùng: {', '.join(SCOPES)}).", "scope")
    if confirmed not in (None, "", "0", "1", "pending"):
        raise FilterError("Giá trị xác nhận phải là 1, 0 hoặc pending.", "confirmed")


def list_attempts(db, period: Period, *, unit_id: int | None = None, group: str | None = None,
                  outcome: str | None = None, band: str | None = None, scope: str = "counted",
                  confirmed: str | None = None, limit: int = 200, offset: int = 0) -> tuple[list[dict], int]:
    """The attempts behind a figure, oldest first, with their evidence; and how many there are in all.

    The scope predicates are the SQL twins of the tally rules above, so a drill-down lists exactly the
    attempts its figure counts (tests/test_metrics.py checks this).
    """
    check_filters(outcome=outcome, band=band, scope=scope, confirmed=confirmed)
    start, end = period.bounds()
    where = ["a.state = 'ended'", "a.planned_at >= ?", "a.planned_at < ?", SCOPE_SQL[scope]]
    params: list = [start, end]
    if unit_id is not None:
        where.append("a.unit_id = ?")
        params.append(unit_id)
    if group:
        where.append("u.group_code = ?")
        params.append(group)
    if outcome == "failure":
        where.append(f"a.outcome IN ({', '.join('?' * len(FAILURES))})")
        params.extend(FAILURES)
    elif outcome:
        where.append("a.outcome = ?")
        params.append(outcome)
    if band:
        where.append("a.band = ?")
        params.append(band)
    if confirmed == "pending":
        where.append("a.confirmed IS NULL")
    elif confirmed in ("0", "1"):
        where.append("a.confirmed = ?")
        params.append(int(confirmed))
    clause = " WHERE " + " AND ".join(where)
    total = db.execute(
        "SELECT count(*) FROM attempts a JOIN units u ON u.id = a.unit_id LEFT JOIN hotlines h ON h.unit_id = a.unit_id"
        + clause, params
    ).fetchone()[0]
    rows = db.execute_returning_dicts(
        ATTEMPTS_SQL + clause + " ORDER BY a.planned_at, a.id LIMIT ? OFFSET ?", params + [limit, offset]
    )
    return rows, total


def confirmed_failures(db, period: Period, unit_ids: list[int]) -> dict[int, list[dict]]:
    """The confirmed failures of these units in the period (the evidence references of the report)."""
    if not unit_ids:
        return {}
    start, end = period.bounds()
    out: dict[int, list[dict]] = {}
    # Chunks keep the statement under SQLite's parameter limit however many units failed; the report index
    # makes each chunk a seek per unit instead of a scan of the whole period.
    for i in range(0, len(unit_ids), 500):
        chunk = unit_ids[i:i + 500]
        cursor = db.execute(
            f"""SELECT a.id, a.unit_id, a.planned_at, a.ended_at, a.band, a.outcome, a.sip_code, a.number,
                       (SELECT r.id FROM attempts r WHERE r.retest_of = a.id AND r.state = 'ended'
                        ORDER BY r.ended_at DESC LIMIT 1) AS retest_id
                FROM attempts a INDEXED BY attempts_report LEFT JOIN hotlines h ON h.unit_id = a.unit_id
                WHERE a.unit_id IN ({', '.join('?' * len(chunk))}) AND a.state = 'ended'
                  AND a.planned_at >= ? AND a.planned_at < ? AND a.confirmed = 1 AND {SCOPE_SQL['counted']}
                  AND a.outcome != 'answered'
                ORDER BY a.unit_id, a.planned_at""",
            chunk + [start, end],
        )
        columns = [c[0] for c in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(columns, values))
            out.setdefault(row["unit_id"], []).append(row)
    return out


def local_date(value: date) -> str:
    return f"{value:%d/%m/%Y}"
