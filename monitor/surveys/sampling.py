"""How many citizens to call and which: sample sizes and the stratified random draw (pure functions, no database).

Sizes are computed *per stratum*, as SIPAS sizes each unit it surveys: a stratum is one handling unit at one
level (the provincial centre and departments, or a locality), so every unit gets a figure of its own within the
margin asked for, and a unit with few dossiers has all of them drawn (the formulas never exceed N).

- Yamane (SIPAS's method): n = N / (1 + N·e²).
- Cochran with the finite-population correction: n0 = z²·p(1−p)/e² (z = 1.96, p = 0.5, the most cautious
  share), n = n0 / (1 + (n0 − 1)/N).
Both are rounded up.

The sizes can be capped by a call budget (calls a day × the days the calls may take): the total is then shared
out between strata in proportion to their sizes (largest remainders, so the total is exactly the cap).

Within a stratum the dossiers handled late and those on time are drawn separately ("parts"), late ones `oversample`
times as often as their share; each case carries weight = dossiers of its part / cases drawn from it, so a weighted
mean over the cases estimates the mean over the frame without bias (Horvitz–Thompson).
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

METHODS = ("yamane", "cochran")
Z_95 = 1.959963984540054  # two-sided 95 %
P_CAUTIOUS = 0.5           # the share that needs the largest sample
PARTS = ("late", "on_time")


def yamane(population: int, margin: float) -> int:
    """Yamane's n = N / (1 + N·e²), rounded up (1,000 dossiers at ±5 % → 286)."""
    if population <= 0:
        return 0
    return min(population, math.ceil(_clean(population / (1 + population * margin * margin))))


def cochran(population: int, margin: float, *, z: float = Z_95, p: float = P_CAUTIOUS) -> int:
    """Cochran's n0 = z²·p(1−p)/e² with the finite-population correction, rounded up (1,000 at ±5 % → 278)."""
    if population <= 0:
        return 0
    n0 = z * z * p * (1 - p) / (margin * margin)
    return min(population, math.ceil(_clean(n0 / (1 + (n0 - 1) / population))))


def _clean(value: float) -> float:
    """Float noise off before rounding up: 286.0000000001 is 286, not 287."""
    return round(value, 9)


def size(population: int, margin: float, method: str) -> int:
    """The sample size of one stratum by the method's formula."""
    return yamane(population, margin) if method == "yamane" else cochran(population, margin)


def apportion(sizes: dict, total: int) -> dict:
    """Share `total` between keys in proportion to `sizes` (largest remainders; ties by key order), never
    giving a key more than its own size. Used to bring the strata's sizes down to a call budget."""
    whole = sum(sizes.values())
    if total >= whole:
        return dict(sizes)
    quotas = {key: total * n / whole for key, n in sizes.items()}
    shares = {key: math.floor(q) for key, q in quotas.items()}
    left = total - sum(shares.values())
    for key in sorted(quotas, key=lambda k: (shares[k] - quotas[k], k))[:left]:
        shares[key] += 1
    return shares


Groups = dict  # (unit_id, level) → {"late": dossier ids, "on_time": dossier ids}: sequences in a stable order


def stratify(frame) -> Groups:
    """The strata of a frame given as (dossier_id, unit_id, level, late) in a stable order (by dossier id)."""
    groups: Groups = {}
    for dossier_id, unit_id, level, late in frame:
        groups.setdefault((unit_id, level), {"late": [], "on_time": []})["late" if late else "on_time"].append(dossier_id)
    return groups


def split_parts(n: int, late: int, on_time: int, oversample: float) -> tuple[int, int]:
    """Cases to draw from a stratum's late and on-time dossiers: n shared in proportion to late·f and on_time,
    each part given at least one case when it has dossiers and n allows (so no part goes unrepresented,
    which would bias the weighted results), never more than a part holds."""
    if late == 0 or on_time == 0:
        return (min(n, late), min(n, on_time))
    if n >= 2:
        from_late = round(n * late * oversample / (late * oversample + on_time))
        from_late = max(1, min(from_late, n - 1))
    else:
        from_late = n if late * oversample >= on_time else 0
    from_late = min(from_late, late)
    from_on_time = min(n - from_late, on_time)
    from_late = min(late, n - from_on_time)  # on-time part too small: the rest comes from the late part
    return (from_late, from_on_time)


def pick(members: Sequence[int], count: int, rng: random.Random, accept: Callable[[int], bool] | None = None
         ) -> tuple[list[int], int]:
    """`count` members drawn at random without replacement (a Fisher–Yates shuffle stopped after `count` steps),
    skipping those `accept` refuses, each replaced by the next one drawn; returns (drawn, refused).

    The shuffle is kept sparse (only the positions it moved), and a member is read only when drawn: `members` may
    be a sequence that reads a dossier from the database on demand, and a part of thousands gives a few cases."""
    size, moved, chosen, refused = len(members), {}, [], 0
    for i in range(size):
        if len(chosen) == count:
            break
        j = rng.randrange(i, size)
        drawn = moved.get(j, j)
        moved[j] = moved.get(i, i)  # position i is never looked at again: only j needs what was at i
        member = members[drawn]
        if accept is None or accept(member):
            chosen.append(member)
        else:
            refused += 1
    return chosen, refused


def draw(groups: Groups, *, seed: int, margin: float, method: str, cap: int | None = None, oversample: float = 1.0,
         accept: Callable[[int], bool] | None = None) -> tuple[list[dict], list[dict]]:
    """The stratified draw: (cases, strata).

    The members of each part (sequences: only the drawn ones are read) must be in a stable order (by dossier id,
    or by returned day then id as samples.frame gives them) for the draw to be reproducible: the same seed on the
    same frame draws the same cases. `accept` refuses a dossier only when it is drawn (the citizen's rules: no
    call within the no-repeat days, one case per number, the do-not-call list by keyed hash — too slow to check
    for every dossier of a large frame): the next one drawn takes its place, and the part's weight counts its dossiers still. A case is a dict with
    dossier_id, unit_id, level, stratum ("12:locality:late") and weight; a stratum (unit, level) is a dict with
    its frame size, its formula size, the size drawn after the cap and, per part, dossiers, cases and refused.
    """
    keys = sorted(groups)
    wanted = {key: size(len(groups[key]["late"]) + len(groups[key]["on_time"]), margin, method) for key in keys}
    sizes = apportion(wanted, cap) if cap is not None else wanted
    rng = random.Random(seed)
    cases, strata = [], []
    for key in keys:
        unit_id, level = key
        parts = groups[key]
        counts = split_parts(sizes[key], len(parts["late"]), len(parts["on_time"]), oversample)
        stratum = {"unit_id": unit_id, "level": level, "frame": len(parts["late"]) + len(parts["on_time"]),
                   "wanted": wanted[key], "size": 0, "parts": {}}
        for part, count in zip(PARTS, counts):
            members = parts[part]
            chosen, refused = pick(members, count, rng, accept) if count else ([], 0)
            stratum["parts"][part] = {"dossiers": len(members), "cases": len(chosen), "refused": refused}
            stratum["size"] += len(chosen)
            for dossier_id in sorted(chosen):
                cases.append({"dossier_id": dossier_id, "unit_id": unit_id, "level": level,
                              "stratum": f"{unit_id}:{level}:{part}", "weight": len(members) / len(chosen)})
        strata.append(stratum)
    return cases, strata
