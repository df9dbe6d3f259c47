"""The definition of a unit's figures, written the slow and obvious way: one attempt row at a time.

This is the executable specification the tuned engine (tally.py) must agree with; tests/test_metrics.py
runs both over random months and compares every figure. Change a rule here first, then make the engine
agree. Nothing in the application calls this module: it is kept plain on purpose, never optimised.

The rules:
- a test is an ended attempt whose purpose is not `retest` (retests only confirm what they repeat);
- a test is left out when its outcome is `provider_error` (our side failed) or its dispute was accepted;
- an office-hours hotline is judged on its office-hours tests; its other tests are counted apart;
- a counted test is answered or a failure; a failure is confirmed when its retest failed too (confirmed=1);
- the answer-time figures are the median and the 90th percentile (inclusive quantiles) of the answered
  tests' seconds to answer, in tenths of a second;
- a run is a stretch of counted failures in planned-time order, which tests left out neither extend nor break.
"""
from __future__ import annotations

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


def reference_tally(rows, office: bool) -> ReferenceTally:
    """A unit's figures from its ended attempt rows of the period.

    rows: dicts with planned_at, purpose, outcome, band, answer_seconds, confirmed and `disputed` (True when
    an inspector accepted the unit's dispute of that attempt); office: the hotline keeps office hours only.
    """
    counted = answered = confirmed = out = 0
    times, run, longest = [], 0, 0
    for r in sorted(rows, key=lambda r: r["planned_at"]):
        if r["purpose"] == "retest" or r["outcome"] == "provider_error" or r["disputed"]:
            continue
        if office and r["band"] != "office":
            out += 1
            continue
        counted += 1
        if r["outcome"] == "answered":
            answered += 1
            times.append(round(r["answer_seconds"] * 10) / 10)
            run = 0
        else:
            confirmed += r["confirmed"] == 1
            run += 1
            longest = max(longest, run)
    times.sort()
    q = statistics.quantiles(times, n=10, method="inclusive") if len(times) > 1 else None
    median = statistics.median(times) if times else None
    p90 = q[8] if q else (times[0] if times else None)
    return ReferenceTally(counted, answered, confirmed, out, longest, median, p90)
