"""The verdict rules: whether a unit met the requirement over a period, and the league that ranks units.

These change with policy (the chairman's letter, the office's minimum answer rate), not with the counting:
a unit fails with any confirmed failure or an answer rate below the minimum; a unit with no counted test
is untested, an honest verdict of its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from monitor.reports import wording
from monitor.reports.tally import Tally, full_tally

DEFAULT_MIN_ANSWER_RATE = 0.9
STATUSES = ("pass", "fail", "untested")


@dataclass
class UnitResult:
    """One unit's registry entry, its tally for the period, and whether it met the requirement."""

    unit: dict
    tally: Tally
    codes: str = ""  # the period's characters, chronological (for the unit page's band breakdown)
    status: str = "untested"  # pass | fail | untested
    reasons: list = field(default_factory=list)
    rank: int | None = None  # in the league table of its group, 1 = worst
    previous: Tally | None = None

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


def judge(result: UnitResult, min_answer_rate: float) -> None:
    """Pass or fail: a unit fails with any confirmed failure or an answer rate below the minimum."""
    tally = result.tally
    result.reasons = []
    if not tally.counted:
        result.status = "untested"
        return
    if tally.confirmed:
        result.reasons.append(wording.confirmed_reason(tally.confirmed))
    if tally.answer_rate < min_answer_rate:
        result.reasons.append(wording.rate_reason(tally.answer_rate, min_answer_rate))
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

