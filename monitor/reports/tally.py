"""The tuned counting engine: one grouped query and string arithmetic give every unit's figures for a period.

What counts (the executable definition is monitor/reports/reference.py; the report's method section says
the same in Vietnamese):
- A *test* is an ended attempt whose purpose is `scheduled` or `manual`. Retests are not separate tests:
  they are the evidence that confirms (or not) the failure they repeat, so they only set `confirmed`. A survey
  call (purpose `survey`: a citizen dialled for the 1022 survey) is not read at all (store.TESTS_ONLY).
- Excluded, and counted by reason: `provider_error` (our side failed), calls held for review (outcome_certain
  = 0), attempts whose dispute an inspector accepted. The outcome is the effective one (after any review).
- An office-hours hotline is judged on its office-hours tests; its other tests are shown apart.
- A failure is machine, no_answer, busy, unreachable or redirected; *confirmed* when confirmed=1, *reviewed*
  when an inspector decided it (scopes.REVIEWED), *upheld* when either (what a failing verdict needs).

How one grouped query yields everything: each attempt becomes one character whose code point packs what
the metrics need (kind, outcome, band, confirmation, manual, tenths of a second to answer). The query
walks the units and, for each, the covering partial index attempts_report in (unit_id, planned_at) order,
so group_concat returns every unit's characters in chronological order without a sort. Python then works
on strings at C speed: sorting a unit's characters puts its answered tests in order of seconds to answer
(percentiles by index), a Counter of the rest gives the failures, and a regular expression over the
chronological string gives the longest run of failures. Groups and the province decode the Counter of
their joined strings once.

This module changes with performance; the rules it must agree with live in reference.py.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field

from monitor.attempts.outcomes import FAILURES
from monitor.attempts.store import TESTS_ONLY
from monitor.reports.intervals import percentile, wilson
from monitor.reports.scopes import ACCEPTED_DISPUTES, REVIEWED
from monitor.scheduling.bands import BANDS

FAST_SECONDS = 15  # about three rings: the share answered within this is reported
EXCLUSION_REASONS = ("provider_error", "held", "dispute_accepted")

# Character codes (one per attempt):
#   counted answered   ANSWERED + 16*tenths + 2*band + manual     (tenths 4095 = time unknown)
#   counted failure    FAILED + outcome + 7*band + 49*confirmation + 147*manual + 294*reviewed
#   not judged         RETEST + outcome, PROVIDER + manual, HELD + outcome, DISPUTED + outcome,
#                      OUT_OF_HOURS + outcome
# Tenths come first in the answered code, so code point order is seconds-to-answer order.
_OUTCOME_BY_INDEX = dict(enumerate(("answered", "machine", "no_answer", "busy", "unreachable", "redirected",
                                    "provider_error")))
_BAND_BY_INDEX = dict(enumerate(BANDS)) | {6: "other"}
_CONFIRMATION = {0: None, 1: 1, 2: 0}
FAILED, RETEST, PROVIDER, DISPUTED, OUT_OF_HOURS, HELD, ANSWERED = 0x100, 0x500, 0x580, 0x600, 0x680, 0x700, 0x10000
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
_R = f"(a.id IN {REVIEWED})"

# The one query the period's metrics need (benchmarked: see docs/BENCHMARKS.md). INDEXED BY makes a
# missing index an error instead of a silent full scan; NOT INDEXED on units keeps the outer loop in
# rowid order, so GROUP BY needs no sorter and each unit's characters stay in index (time) order. Survey calls
# are left out in the join: purpose is in the index, so the test costs no table read and the plan is unchanged.
CODES_SQL = f"""
SELECT u.id, group_concat(char(CASE
    WHEN a.purpose = 'retest' THEN {RETEST} + {_O}
    WHEN a.outcome = 'provider_error' THEN {PROVIDER} + {_M}
    WHEN a.outcome_certain IS 0 THEN {HELD} + {_O}
    WHEN a.outcome = 'answered' THEN CASE WHEN h.hours = 'office' AND a.band != 'office' THEN {OUT_OF_HOURS}
        ELSE {ANSWERED} + 2 * {_B} + {_M} + 16 * CASE
            WHEN a.answer_seconds BETWEEN 0 AND {(UNKNOWN_TENTHS - 2) / 10} THEN CAST(a.answer_seconds * 10 + 0.5 AS INTEGER)
            WHEN a.answer_seconds IS NULL THEN {UNKNOWN_TENTHS} ELSE {UNKNOWN_TENTHS - 1} END END
    WHEN a.id IN {ACCEPTED_DISPUTES} THEN {DISPUTED} + {_O}
    WHEN h.hours = 'office' AND a.band != 'office' THEN {OUT_OF_HOURS} + {_O}
    ELSE {FAILED} + {_O} + 7 * {_B} + 49 * {_C} + 147 * {_M} + 294 * {_R} END), '')
FROM units u NOT INDEXED
LEFT JOIN hotlines h ON h.unit_id = u.id
CROSS JOIN attempts a INDEXED BY attempts_report
    ON a.unit_id = u.id AND a.state = 'ended' AND a.planned_at >= :start AND a.planned_at < :end AND {TESTS_ONLY}
WHERE (:group IS NULL OR u.group_code = :group)
GROUP BY u.id
"""


def _decode(code: int) -> tuple:
    """(kind, outcome, band, confirmed, manual, tenths, reviewed) of one character code."""
    if code >= ANSWERED:
        value = code - ANSWERED
        return "test", "answered", _BAND_BY_INDEX[(value >> 1) & 7], None, value & 1, value >> 4, 0
    if code >= HELD:
        return "held", _OUTCOME_BY_INDEX[code - HELD], None, None, 0, None, 0
    if code >= OUT_OF_HOURS:
        return "out_of_hours", _OUTCOME_BY_INDEX[code - OUT_OF_HOURS], None, None, 0, None, 0
    if code >= DISPUTED:
        return "dispute_accepted", _OUTCOME_BY_INDEX[code - DISPUTED], None, None, 0, None, 0
    if code >= PROVIDER:
        return "provider_error", "provider_error", None, None, code - PROVIDER, None, 0
    if code >= RETEST:
        return "retest", _OUTCOME_BY_INDEX[code - RETEST], None, None, 0, None, 0
    value = code - FAILED
    return ("test", _OUTCOME_BY_INDEX[value % 7], _BAND_BY_INDEX[value // 7 % 7], _CONFIRMATION[value // 49 % 3],
            value // 147 % 2, None, value // 294)


_SMALL = {code: _decode(code) for code in [
    *range(FAILED, FAILED + 588), *range(RETEST, RETEST + 7), PROVIDER, PROVIDER + 1,
    *range(DISPUTED, DISPUTED + 7), *range(OUT_OF_HOURS, OUT_OF_HOURS + 7), *range(HELD, HELD + 7),
]}
# A run of failures is a stretch of judged failures: characters not judged are removed first, so that a
# retest, an exclusion or an office-hours hotline's evening test neither extends nor breaks a run.
_NOT_JUDGED = re.compile(f"[{chr(RETEST)}-{chr(ANSWERED - 1)}]")
_FAILURE_RUN = re.compile(f"[{chr(FAILED)}-{chr(RETEST - 1)}]+")


# Every answered call, whatever its kind: a counted test, a retest, one held, disputed or out of hours.
_ANSWERED_ANY = re.compile(f"[{chr(ANSWERED)}-\U0010ffff{chr(RETEST)}{chr(DISPUTED)}{chr(OUT_OF_HOURS)}{chr(HELD)}]")


def answered_calls(codes: str) -> int:
    """How many of a unit's calls (its characters) were answered, whatever their kind."""
    return len(codes) - len(_ANSWERED_ANY.sub("", codes))


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
    reviewed: int = 0  # failures an inspector reviewed (and left failures)
    upheld: int = 0  # failures confirmed by a retest or reviewed by an inspector (each counted once)
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
    def answer_interval(self) -> tuple[float | None, float | None]:
        """The answer rate's 95 % interval (Wilson): (low, high), (None, None) when nothing was counted."""
        return wilson(self.answered, self.counted)

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

    def add(self, other: Tally) -> None:
        """Fold another full tally into this one (groups → province); call finish() after the last."""
        for name in ("made", "counted", "answered", "manual", "fast", "confirmed", "reviewed", "upheld",
                     "retest_passed", "unconfirmed", "out_of_hours", "out_of_hours_answered", "retests"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("outcomes", "band_tests", "band_answered", "excluded", "tenths"):
            mine = getattr(self, name)
            for key, n in getattr(other, name).items():
                _bump(mine, key, n)
        self.longest_run = max(self.longest_run, other.longest_run)

    def finish(self) -> Tally:
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
            "answer_rate_low": self.answer_interval[0],
            "answer_rate_high": self.answer_interval[1],
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
            "reviewed_failures": self.reviewed,
            "upheld_failures": self.upheld,
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
        kind, outcome, band, confirmed, manual, _, reviewed = _SMALL[ord(char)]
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
            tally.reviewed += n * reviewed
            tally.upheld += n if reviewed or confirmed == 1 else 0
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
        kind, outcome, _, confirmed, _, _, reviewed = _SMALL[ord(char)]
        if kind == "test":
            tally.counted += n
            tally.outcomes[outcome] = tally.outcomes.get(outcome, 0) + n
            if confirmed == 1:
                tally.confirmed += n
            elif confirmed == 0:
                tally.retest_passed += n
            else:
                tally.unconfirmed += n
            if reviewed or confirmed == 1:  # upheld: what a failing verdict needs
                tally.upheld += n
                tally.reviewed += n * reviewed
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
        _, _, band, _, manual, tenths, _ = _decode(code)
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
