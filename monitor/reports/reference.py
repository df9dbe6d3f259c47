"""The definition of a unit's figures and verdict, written the slow and obvious way: one attempt row at a time.

This is the executable specification the tuned engine (tally.py, verdicts.py) must agree with;
tests/test_metrics.py runs both over random months and compares every figure and the verdict. Change a rule
here first, then make the engine agree. Nothing in the application calls this module: it is kept plain on
purpose, never optimised.

The rules:
- a test is an ended attempt whose purpose is `scheduled` or `manual` (retests only confirm what they repeat;
  a survey call dials a citizen, not the unit's hotline, and is no test at all);
- a test is left out, and counted by reason, when its outcome is `provider_error` (our side failed), when it
  is held for review (outcome_certain = 0) or when its dispute was accepted, in that order of precedence;
- an office-hours hotline is judged on its office-hours tests; its other tests are counted apart;
- a counted test is answered or a failure; a failure is confirmed when its retest failed too (confirmed=1),
  reviewed when an inspector decided it, upheld when either;
- the answer-time figures are the median and the 90th percentile (inclusive quantiles) of the answered
  tests' seconds to answer, in tenths of a second (halves rounded up);
- a run is a stretch of counted failures in planned-time order, which tests left out neither extend nor break;
- the verdict: no counted test → untested; fewer than min_tests → insufficient; an upheld failure, or a 95 %
  Wilson interval whose upper bound is below the standard → fail; otherwise pass.
"""
from __future__ import annotations

import math
import statistics
from typing import NamedTuple


class ReferenceTally(NamedTuple):
    counted: int
    answered: int
    confirmed: int
    out_of_hours: int
    longest_run: int
    median_seconds: float | None
    p90_seconds: float | None
    excluded: dict
    reviewed: int
    upheld: int


def reference_tally(rows, office: bool) -> ReferenceTally:
    """A unit's figures from its ended attempt rows of the period.

    rows: dicts with planned_at, purpose, outcome, band, answer_seconds, confirmed, outcome_certain,
    `disputed` (True when an inspector accepted the unit's dispute of that attempt) and `reviewed` (True when
    an inspector reviewed its outcome); office: the hotline keeps office hours only.
    """
    counted = answered = confirmed = out = reviewed = upheld = 0
    excluded = {}
    times, run, longest = [], 0, 0
    for r in sorted(rows, key=lambda r: r["planned_at"]):
        if r["purpose"] not in ("scheduled", "manual"):
            continue
        if r["outcome"] == "provider_error":
            reason = "provider_error"
        elif r.get("outcome_certain") == 0:
            reason = "held"
        elif r["disputed"]:
            reason = "dispute_accepted"
        else:
            reason = None
        if reason:
            excluded[reason] = excluded.get(reason, 0) + 1
            continue
        if office and r["band"] != "office":
            out += 1
            continue
        counted += 1
        if r["outcome"] == "answered":
            answered += 1
            times.append(math.floor(r["answer_seconds"] * 10 + 0.5) / 10)  # tenths, halves rounded up
            run = 0
        else:
            confirmed += r["confirmed"] == 1
            reviewed += bool(r.get("reviewed"))
            upheld += r["confirmed"] == 1 or bool(r.get("reviewed"))
            run += 1
            longest = max(longest, run)
    times.sort()
    q = statistics.quantiles(times, n=10, method="inclusive") if len(times) > 1 else None
    median = statistics.median(times) if times else None
    p90 = q[8] if q else (times[0] if times else None)
    return ReferenceTally(counted, answered, confirmed, out, longest, median, p90, excluded, reviewed, upheld)


def reference_interval(answered: int, counted: int) -> tuple[float, float]:
    """Wilson's 95 % score interval, straight from the textbook formula."""
    z = statistics.NormalDist().inv_cdf(0.975)
    p = answered / counted
    centre = (p + z * z / (2 * counted)) / (1 + z * z / counted)
    half = z / (1 + z * z / counted) * math.sqrt(p * (1 - p) / counted + z * z / (4 * counted * counted))
    return centre - half, centre + half


def reference_verdict(tally: ReferenceTally, min_tests: int, standard: float) -> str:
    """untested, insufficient, fail or pass, by the rule in this module's docstring."""
    if tally.counted == 0:
        return "untested"
    if tally.counted < min_tests:
        return "insufficient"
    if tally.upheld:
        return "fail"
    if reference_interval(tally.answered, tally.counted)[1] < standard:
        return "fail"
    return "pass"
