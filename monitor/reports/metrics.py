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
so group_concat returns every unit's characters in chronological order without a sort. Python counts
them (collections.Counter runs in C), finds the longest run of failures with a regular expression and
reads the answer-time percentiles from the answered characters' tenths of a second.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from ..bands import BANDS
from ..outcomes import FAILURES, OUTCOMES
from .periods import Period

DEFAULT_MIN_ANSWER_RATE = 0.9
FAST_SECONDS = 15  # about three rings: the share answered within this is reported
EXCLUSION_REASONS = ("provider_error", "dispute_accepted")

# Character codes. Answered tests: ANSWERED + 8192*band + 4096*manual + tenths (4095 = time unknown).
# Failures: FAILED + outcome + 7*band + 49*confirmation + 147*manual. The rest only need counting.
_OUTCOME_INDEX = {"answered": 0, "machine": 1, "no_answer": 2, "busy": 3, "unreachable": 4, "redirected": 5,
                  "provider_error": 6}
_OUTCOME_BY_INDEX = {v: k for k, v in _OUTCOME_INDEX.items()}
_BAND_INDEX = {band: i for i, band in enumerate(BANDS)}  # anything else is index 6, "other"
_BAND_BY_INDEX = dict(enumerate(BANDS)) | {6: "other"}
_CONFIRMATION = {0: None, 1: 1, 2: 0}
FAILED, RETEST, PROVIDER, DISPUTED, ANSWERED = 0x100, 0x500, 0x580, 0x600, 0x10000
UNKNOWN_TENTHS = 4095

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
    WHEN a.id IN {ACCEPTED_DISPUTES} THEN {DISPUTED} + {_O}
    WHEN a.outcome = 'answered' THEN {ANSWERED} + 8192 * {_B} + 4096 * {_M}
         + ifnull(min(max(CAST(a.answer_seconds * 10 + 0.5 AS INTEGER), 0), {UNKNOWN_TENTHS - 1}), {UNKNOWN_TENTHS})
    ELSE {FAILED} + {_O} + 7 * {_B} + 49 * {_C} + 147 * {_M} END), '')
FROM units u NOT INDEXED
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


def _small_codes() -> dict[int, tuple]:
    """Decode table for every code below ANSWERED: (kind, outcome, band index, confirmed, manual)."""
    table = {}
    for o in range(7):
        table[RETEST + o] = ("retest", _OUTCOME_BY_INDEX[o], None, None, 0)
        table[DISPUTED + o] = ("dispute_accepted", _OUTCOME_BY_INDEX[o], None, None, 0)
        for b in range(7):
            for c in range(3):
                for m in range(2):
                    table[FAILED + o + 7 * b + 49 * c + 147 * m] = ("test", _OUTCOME_BY_INDEX[o], b, _CONFIRMATION[c], m)
    for m in range(2):
        table[PROVIDER + m] = ("provider_error", "provider_error", None, None, m)
    return table


_SMALL = _small_codes()


def _char_class(codes) -> str:
    return "".join(re.escape(chr(c)) for c in sorted(codes))


# A run of failures is a stretch of judged failures; tests not judged (retests, exclusions, an office-hours
# hotline's out-of-hours tests) are removed first, so they neither extend nor break a run.
_NOT_JUDGED = {
    "24/7": re.compile("[" + _char_class(range(RETEST, ANSWERED)) + "]"),
    "office": re.compile(
        "[" + _char_class(range(RETEST, ANSWERED))
        + _char_class(c for c, v in _SMALL.items() if v[0] == "test" and v[2] != 0)
        + f"{chr(ANSWERED + 8192)}-{chr(ANSWERED + 8192 * 7 - 1)}]"
    ),
}
_FAILURE_RUN = re.compile(f"[{chr(FAILED)}-{chr(RETEST - 1)}]+")


def percentile(counts: Counter, total: int, p: float) -> float | None:
    """The p-quantile (0..1) of values given as value → multiplicity, interpolating linearly between ranks.

    Same definition as statistics.quantiles(method='inclusive') and numpy's default: position p*(n-1).
    """
    if total <= 0:
        return None
    position = p * (total - 1)
    low_rank = int(position)
    wanted = (low_rank, min(low_rank + 1, total - 1))
    found: list = []
    seen = 0
    for value, n in sorted(counts.items()):
        seen += n
        while len(found) < 2 and wanted[len(found)] < seen:
            found.append(value)
        if len(found) == 2:
            break
    low, high = found
    return low + (high - low) * (position - low_rank)


@dataclass
class Tally:
    """Counts for one unit, group or the whole province over a period, and the rates derived from them."""

    made: int = 0  # tests made (scheduled and manual, ended), before exclusions
    counted: int = 0  # tests that count: not excluded, and in hours the hotline is judged on
    answered: int = 0
    manual: int = 0  # of the counted tests, placed by an inspector ("call now")
    outcomes: Counter = field(default_factory=Counter)  # counted tests by outcome
    band_tests: Counter = field(default_factory=Counter)  # counted tests by band
    band_answered: Counter = field(default_factory=Counter)
    fast: int = 0  # answered within FAST_SECONDS
    confirmed: int = 0  # failures a retest confirmed
    retest_passed: int = 0  # failures whose retest was answered
    unconfirmed: int = 0  # failures not (yet) retested
    excluded: Counter = field(default_factory=Counter)  # reason → tests left out
    out_of_hours: int = 0  # office-hours hotlines tested outside office hours (shown apart)
    out_of_hours_answered: int = 0
    retests: int = 0
    tenths: Counter = field(default_factory=Counter)  # answered tests' seconds to answer, in tenths
    longest_run: int = 0  # longest run of consecutive failures (for a group: the worst unit's)

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

    def rate(self, outcome: str) -> float | None:
        return self.outcomes[outcome] / self.counted if self.counted else None

    def band_rate(self, band: str) -> float | None:
        tests = self.band_tests[band]
        return self.band_answered[band] / tests if tests else None

    @property
    def timed(self) -> int:
        return sum(self.tenths.values())

    @property
    def median_seconds(self) -> float | None:
        value = percentile(self.tenths, self.timed, 0.5)
        return None if value is None else value / 10

    @property
    def p90_seconds(self) -> float | None:
        value = percentile(self.tenths, self.timed, 0.9)
        return None if value is None else value / 10

    def add(self, other: "Tally") -> None:
        """Fold another tally into this one (unit → group → province)."""
        for name in ("made", "counted", "answered", "manual", "fast", "confirmed", "retest_passed", "unconfirmed",
                     "out_of_hours", "out_of_hours_answered", "retests"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("outcomes", "band_tests", "band_answered", "excluded", "tenths"):
            getattr(self, name).update(getattr(other, name))
        self.longest_run = max(self.longest_run, other.longest_run)

    def as_dict(self) -> dict:
        """Plain figures for JSON and templates (rates as fractions 0..1, None when nothing was counted)."""
        return {
            "tests_made": self.made,
            "tests_counted": self.counted,
            "manual_tests": self.manual,
            "answered": self.answered,
            "answer_rate": self.answer_rate,
            "answer_rate_by_band": {
                band: {"tests": self.band_tests[band], "answered": self.band_answered[band], "rate": self.band_rate(band)}
                for band in BANDS if self.band_tests[band]
            },
            "median_seconds_to_answer": self.median_seconds,
            "p90_seconds_to_answer": self.p90_seconds,
            f"answered_within_{FAST_SECONDS}s": self.fast,
            f"share_answered_within_{FAST_SECONDS}s": self.fast_rate,
            "outcomes": {code: self.outcomes[code] for code in FAILURES},
            "outcome_rates": {code: self.rate(code) for code in FAILURES},
            "failures": self.failures,
            "confirmed_failures": self.confirmed,
            "failures_retest_passed": self.retest_passed,
            "failures_unconfirmed": self.unconfirmed,
            "longest_failure_run": self.longest_run,
            "excluded": {reason: self.excluded[reason] for reason in EXCLUSION_REASONS},
            "retests": self.retests,
            "out_of_hours_tests": self.out_of_hours,
            "out_of_hours_answered": self.out_of_hours_answered,
        }


@dataclass
class UnitResult:
    """One unit's registry entry, its tally for the period, and whether it met the requirement."""

    unit: dict
    tally: Tally
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

    @property
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


def _tally_codes(codes: str, office_hours: bool) -> Tally:
    """Decode one unit's characters (chronological) into its tally."""
    tally = Tally()
    for char, n in Counter(codes).items():
        code = ord(char)
        if code >= ANSWERED:
            value = code - ANSWERED
            band, manual, tenths = _BAND_BY_INDEX[value >> 13], (value >> 12) & 1, value & 0xFFF
            tally.made += n
            if office_hours and band != "office":
                tally.out_of_hours += n
                tally.out_of_hours_answered += n
                continue
            tally.counted += n
            tally.answered += n
            tally.manual += n * manual
            tally.outcomes["answered"] += n
            tally.band_tests[band] += n
            tally.band_answered[band] += n
            if tenths != UNKNOWN_TENTHS:
                tally.tenths[tenths] += n
                if tenths <= FAST_SECONDS * 10:
                    tally.fast += n
            continue
        kind, outcome, band_index, confirmed, manual = _SMALL[code]
        if kind == "retest":
            tally.retests += n
            continue
        tally.made += n
        if kind != "test":
            tally.excluded[kind] += n
            continue
        band = _BAND_BY_INDEX[band_index]
        if office_hours and band != "office":
            tally.out_of_hours += n
            continue
        tally.counted += n
        tally.manual += n * manual
        tally.outcomes[outcome] += n
        tally.band_tests[band] += n
        if confirmed == 1:
            tally.confirmed += n
        elif confirmed == 0:
            tally.retest_passed += n
        else:
            tally.unconfirmed += n
    judged = _NOT_JUDGED["office" if office_hours else "24/7"].sub("", codes)
    tally.longest_run = max(map(len, _FAILURE_RUN.findall(judged)), default=0)
    return tally


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
    units, groups, total = [], {}, Tally()
    for row in cursor.fetchall():
        unit = dict(zip(columns, row))
        unit_codes = codes.get(unit["id"])
        if unit_codes is None and not _overlaps(unit, period):
            continue  # neither in force during the period nor tested in it
        result = UnitResult(unit, _tally_codes(unit_codes or "", unit["hours"] == "office"))
        judge(result, min_answer_rate)
        units.append(result)
        summary = groups.setdefault(unit["group_code"], GroupResult(unit["group_code"], unit["group_name"]))
        summary.tally.add(result.tally)
        summary.units += 1
        summary.tested += result.status != "untested"
        summary.failing += result.status == "fail"
        total.add(result.tally)
    return PeriodMetrics(period, group, units, list(groups.values()), total, min_answer_rate)


def attach_previous(current: PeriodMetrics, previous: PeriodMetrics) -> None:
    """Put each unit's and group's previous-period tally beside the current one (for ▲▼)."""
    before = {u.unit["id"]: u.tally for u in previous.units}
    for result in current.units:
        result.previous = before.get(result.unit["id"])
    before_groups = {g.code: g.tally for g in previous.groups}
    for summary in current.groups:
        summary.previous = before_groups.get(summary.code)


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


def trend(db, periods: list[Period], *, group: str | None = None, known: dict | None = None) -> list[dict]:
    """Per group and in total, the answer rate and confirmed failures of each period, oldest first.

    `known` maps period keys to PeriodMetrics already computed (the report's current and previous periods).
    """
    points = []
    for period in periods:
        metrics = (known or {}).get(period.key) or period_metrics(db, period, group=group)
        points.append({
            "period": period,
            "groups": {g.code: g.tally for g in metrics.groups},
            "names": {g.code: g.name for g in metrics.groups},
            "total": metrics.total,
        })
    return points


def trend_periods(period: Period, count: int) -> list[Period]:
    """The `count` periods of the same kind ending with this one (months for a month, quarters for a quarter)."""
    out = [period]
    while len(out) < count:
        out.insert(0, out[0].previous())
    return out


# ---------------------------------------------------------------------------------------------- drill-down

SCOPES = ("counted", "out_of_hours", "excluded", "retest", "all")
_JUDGED_SQL = "(h.hours IS NOT 'office' OR a.band = 'office')"
_DISPUTED_SQL = f"a.id IN {ACCEPTED_DISPUTES}"
_SCOPE_SQL = {
    "counted": f"a.purpose != 'retest' AND a.outcome != 'provider_error' AND NOT {_DISPUTED_SQL} AND {_JUDGED_SQL}",
    "out_of_hours": f"a.purpose != 'retest' AND a.outcome != 'provider_error' AND NOT {_DISPUTED_SQL} "
                    f"AND NOT {_JUDGED_SQL}",
    "excluded": f"a.purpose != 'retest' AND (a.outcome = 'provider_error' OR {_DISPUTED_SQL})",
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
    where = ["a.state = 'ended'", "a.planned_at >= ?", "a.planned_at < ?", _SCOPE_SQL[scope]]
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
    # Chunks keep the statement under SQLite's parameter limit however many units failed.
    for i in range(0, len(unit_ids), 500):
        chunk = unit_ids[i:i + 500]
        rows = db.execute_returning_dicts(
            f"""SELECT a.id, a.unit_id, a.planned_at, a.ended_at, a.band, a.outcome, a.sip_code, a.number,
                       (SELECT r.id FROM attempts r WHERE r.retest_of = a.id AND r.state = 'ended'
                        ORDER BY r.ended_at DESC LIMIT 1) AS retest_id
                FROM attempts a LEFT JOIN hotlines h ON h.unit_id = a.unit_id
                WHERE a.unit_id IN ({', '.join('?' * len(chunk))}) AND a.state = 'ended'
                  AND a.planned_at >= ? AND a.planned_at < ? AND a.confirmed = 1 AND {_SCOPE_SQL['counted']}
                  AND a.outcome != 'answered'
                ORDER BY a.unit_id, a.planned_at""",
            chunk + [start, end],
        )
        for row in rows:
            out.setdefault(row["unit_id"], []).append(row)
    return out


def local_date(value: date) -> str:
    return f"{value:%d/%m/%Y}"
