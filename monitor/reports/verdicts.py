"""The verdict rules: whether a unit met the requirement over a period, and the league that ranks units.

These change with policy (the chairman's letter, the office's minimum answer rate), not with the counting.
The rule (wording.verdict_rule says it in Vietnamese in every report):
- no counted test: "untested"; fewer counted tests than the unit's group asks for (groups.min_tests):
  "insufficient" — too few calls to say either way;
- otherwise "fail" when at least one failure is upheld (confirmed by a retest or reviewed by an inspector),
  or when the whole 95 % interval of the answer rate lies below the minimum; "pass" in every other case.
  A low rate from unconfirmed failures alone fails nobody while the interval still reaches the minimum.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from monitor.reports import wording
from monitor.reports.tally import Tally, full_tally

DEFAULT_MIN_ANSWER_RATE = 0.9
DEFAULT_MIN_TESTS = 4  # the groups table's default (registry migration 3)
STATUSES = ("pass", "fail", "insufficient", "untested")


@dataclass
class UnitResult:
    """One unit's registry entry, its tally for the period, and whether it met the requirement."""

    unit: dict
    tally: Tally
    codes: str = ""  # the period's characters, chronological (for the unit page's band breakdown)
    status: str = "untested"  # pass | fail | insufficient | untested
    reasons: list = field(default_factory=list)
    rank: int | None = None  # in the league table of its group, 1 = worst
    previous: Tally | None = None

    @property
    def code(self) -> str:
        return self.unit["code"]

    @property
    def min_tests(self) -> int:
        """Counted tests the unit's group needs for a verdict."""
        value = self.unit.get("min_tests")
        return DEFAULT_MIN_TESTS if value is None else value

    @property
    def interval(self) -> tuple[float | None, float | None]:
        """The answer rate's 95 % interval (low, high)."""
        return self.tally.answer_interval

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


def judge(result: UnitResult, min_answer_rate: float, min_tests: int | None = None) -> None:
    """The verdict and its reasons (see the module's rule); min_tests defaults to the unit's group's."""
    tally = result.tally
    needed = result.min_tests if min_tests is None else min_tests
    result.reasons = []
    if not tally.counted:
        result.status = "untested"
        return
    if tally.counted < needed:
        result.status = "insufficient"
        result.reasons.append(wording.insufficient_reason(tally.counted, needed))
        return
    if tally.confirmed:
        result.reasons.append(wording.confirmed_reason(tally.confirmed))
    if tally.upheld > tally.confirmed:
        result.reasons.append(wording.reviewed_reason(tally.upheld - tally.confirmed))
    low, high = tally.answer_interval
    if high < min_answer_rate:
        result.reasons.append(wording.interval_reason(tally.answer_rate, low, high, min_answer_rate))
    result.status = "fail" if result.reasons else "pass"


def _rank_key(result: UnitResult):
    tally = result.tally
    # Worst first: lowest answer rate, then most confirmed failures, then the longest run; untested last.
    return (tally.counted == 0, tally.answer_rate if tally.counted else 2, -tally.confirmed, -tally.longest_run,
            -tally.failures, result.unit["name"].lower(), result.code)


def league(metrics) -> list[UnitResult]:
    """A PeriodMetrics' units worst first within each group (groups in their usual order); rank 1 = the group's worst."""
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

