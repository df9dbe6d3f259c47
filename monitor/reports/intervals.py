"""The 95 % interval of a rate (Wilson's score interval): where the true answer rate may lie, given few tests;
and the percentiles of the answer times.

Wilson's interval rather than the textbook p ± 1.96·√(p(1−p)/n): it stays inside 0..1 and is honest for the
small counts a month of tests gives a unit (8 answered of 10 → 49 %–94 %; 10 of 10 → 72 %–100 %, not 100 %–100 %).
"""
from __future__ import annotations

from math import sqrt

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile: two-sided 95 %


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float | None, float | None]:
    """(low, high) of the rate successes/trials; (None, None) without trials."""
    if trials <= 0:
        return None, None
    p = successes / trials
    z2n = z * z / trials
    centre = p + z2n / 2
    half = z * sqrt(p * (1 - p) / trials + z2n / (4 * trials))
    scale = 1 + z2n
    # All or none answered: the bound at the edge is exactly 0 or 1 (the formula gives it up to rounding).
    low = 0.0 if successes <= 0 else max(0.0, (centre - half) / scale)
    high = 1.0 if successes >= trials else min(1.0, (centre + half) / scale)
    return low, high


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
