"""AAPOR's outcome rates (Standard Definitions, telephone surveys) from the cases' final disposition groups.

Counts per group (monitor/surveys/dispositions.py): I complete, P partial, R refusal and break-off, NC
non-contact, O other, UH/UO unknown eligibility, NE not eligible. With e the estimated share of eligible cases
among those of unknown eligibility:

    RR1 = I / (I+P + R+NC+O + UH+UO)            RR2 = (I+P) / (same)
    RR3 = I / (I+P + R+NC+O + e(UH+UO))         RR4 = (I+P) / (same)
    RR5 = I / (I+P + R+NC+O)                    RR6 = (I+P) / (same)          (e = 0)
    COOP1 = I / (I+P+R+O)      REF1 = R / (I+P + R+NC+O + UH+UO)      CON1 = (I+P+R+O) / (same as REF1)

e is estimated as AAPOR suggests, by the proportional allocation ("CASRO") method: the eligible share among the
cases whose eligibility is known, (I+P+R+NC+O) / (I+P+R+NC+O+NE). Counts may be weighted (sums of the cases'
weights, when the sample over-sampled some dossiers): the formulas are the same. A rate whose denominator is
0 is None.
"""
from __future__ import annotations

from collections.abc import Mapping

RATE_KEYS = ("RR1", "RR2", "RR3", "RR4", "RR5", "RR6", "COOP1", "REF1", "CON1")


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def eligibility(counts: Mapping[str, float]) -> float | None:
    """e: the eligible share among cases of known eligibility (None when no case's eligibility is known)."""
    eligible = sum(counts.get(g, 0) for g in ("I", "P", "R", "NC", "O"))
    return _ratio(eligible, eligible + counts.get("NE", 0))


def rates(counts: Mapping[str, float], e: float | None = None) -> dict[str, float | None]:
    """Every rate of RATE_KEYS, plus "e" (the value used: given, or estimated by eligibility())."""
    c = {g: counts.get(g, 0) for g in ("I", "P", "R", "NC", "O", "UH", "UO", "NE")}
    if e is None:
        e = eligibility(c)
    unknown = c["UH"] + c["UO"]
    interviews = c["I"] + c["P"]
    known_eligible = interviews + c["R"] + c["NC"] + c["O"]
    everyone = known_eligible + unknown
    with_e = known_eligible + (e if e is not None else 1.0) * unknown  # e unknown: count every unknown (as RR1)
    return {
        "RR1": _ratio(c["I"], everyone), "RR2": _ratio(interviews, everyone),
        "RR3": _ratio(c["I"], with_e), "RR4": _ratio(interviews, with_e),
        "RR5": _ratio(c["I"], known_eligible), "RR6": _ratio(interviews, known_eligible),
        "COOP1": _ratio(c["I"], interviews + c["R"] + c["O"]),
        "REF1": _ratio(c["R"], everyone),
        "CON1": _ratio(interviews + c["R"] + c["O"], everyone),
        "e": e,
    }
