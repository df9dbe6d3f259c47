"""Weekly planning: each hotline's test calls (its group's N, or as allocation.py decides) at unpredictable
times, stratified over the bands of the week."""
import hashlib
import math
import random
from bisect import bisect_right
from datetime import date, datetime, timedelta, timezone

from monitor.attempts.lifecycle import insert_planned
from monitor.scheduling import allocation
from monitor.scheduling.bands import classify, local_week_start, week_intervals, week_monday
from monitor.settings import Settings
from registry.clock import iso, local_today_iso

# Strata a 24/7 hotline rotates through. Weekends and public holidays form one stratum ("offday") because
# both are the days nobody is in the office; the band stored on each attempt still tells them apart.
STRATA = ("office", "lunch", "evening", "night", "offday")
STRATUM_OF = {"office": "office", "lunch": "lunch", "evening": "evening", "night": "night",
              "weekend": "offday", "holiday": "offday"}
# An office-hours hotline is judged in office hours, but one test in five (rotation position 0) is placed
# outside them, in a random other stratum, and shown apart in reports: citizens call at those times too.
SECOND_SUFFIX = iso(datetime(2000, 1, 1, tzinfo=timezone.utc))[19:]  # what iso() puts after whole seconds

UNITS_SQL = """
SELECT u.id, u.group_code, g.tests_per_week, h.number, h.hours
FROM units u
JOIN groups g ON g.code = u.group_code
JOIN hotlines h ON h.unit_id = u.id
WHERE (u.valid_from IS NULL OR u.valid_from <= ?) AND (u.valid_to IS NULL OR u.valid_to >= ?)
ORDER BY u.id
"""


class _Pool:
    """The remaining time of one stratum in the week, for drawing uniformly random seconds from it."""

    def __init__(self, intervals: list[tuple[int, int, str]]):
        self.starts = [start for start, _, _ in intervals]
        self.bands = [band for _, _, band in intervals]
        self.cum, total = [], 0
        for start, end, _ in intervals:
            total += end - start
            self.cum.append(total)
        self.total = total


def stratum_pools(week_start: date, now: datetime) -> dict[str, _Pool]:
    """Per stratum, the part of the week still ahead of `now` (empty strata left out)."""
    floor = math.ceil(now.timestamp())
    grouped: dict[str, list] = {}
    for start, end, band in week_intervals(week_start):
        start, end = max(int(start), floor), int(end)
        if end > start:
            grouped.setdefault(STRATUM_OF[band], []).append((start, end, band))
    return {name: _Pool(parts) for name, parts in grouped.items()}


def _salt(settings: Settings) -> int:
    # Keyed by the deployment's secret so an agency cannot work out which band its next tests fall in.
    secret = settings.secret_key
    return int.from_bytes(hashlib.blake2b(secret.encode(), digest_size=8).digest(), "big")


def _stratum(position: int, hours: str, pools: dict, rng: random.Random) -> str:
    """The stratum at a rotation position: 24/7 lines take each in turn, office lines one in five outside."""
    if hours == "office":
        stratum = STRATA[1 + rng.randrange(len(STRATA) - 1)] if position % len(STRATA) == 0 else "office"
    else:
        stratum = STRATA[position % len(STRATA)]
    if stratum not in pools:  # e.g. planning on Saturday, or a week of Tết with no office hours left
        stratum = rng.choice(sorted(pools))
    return stratum


def _stamp_cache() -> dict:
    """Minute → ISO prefix, so whole-second times are formatted exactly as registry.clock.iso() writes them."""

    class Prefixes(dict):
        def __missing__(self, minute):
            value = self[minute] = iso(datetime.fromtimestamp(minute * 60, timezone.utc))[:17]
            return value

    return Prefixes()


def plan_rows(db, week_start: date, *, now: datetime, rng: random.Random, settings: Settings) -> list[tuple]:
    """The attempt rows (in lifecycle.INSERT_PLANNED_SQL's order) the week needs; nothing is written."""
    return _plan(db, week_monday(week_start), now=now, rng=rng, settings=settings)[0]


def _plan(db, monday: date, *, now: datetime, rng: random.Random, settings: Settings) -> tuple[list[tuple], dict]:
    """(the week's attempt rows, the allocations decided now and not stored yet)."""
    if now >= local_week_start(monday) + timedelta(days=7):
        return [], {}
    pools = stratum_pools(monday, now)
    if not pools:
        return [], {}
    # The rotation starts at a secret per-unit offset and moves on by n every week, so every stratum comes
    # round within ceil(5 / n) weeks while an agency cannot tell which bands its coming tests fall in.
    salt, rotation = _salt(settings), monday.toordinal() // 7
    prefixes, created, key = _stamp_cache(), iso(now), f"plan:{monday}:"
    sunday = (monday + timedelta(days=6)).isoformat()
    per_group: dict[str, int] = {}
    units = db.execute(UNITS_SQL, [sunday, monday.isoformat()]).fetchall()
    bases, minimums, office = {}, {}, set()
    group_min = dict(db.execute("SELECT code, min_tests FROM groups").fetchall())
    for unit_id, group_code, group_n, _, hours in units:
        n = per_group.get(group_code)
        if n is None:
            n = per_group[group_code] = settings.tests_per_week_for(group_code, group_n)
        bases[unit_id], minimums[unit_id] = n, group_min.get(group_code, 0)
        if hours == "office":
            office.add(unit_id)
    # How many tests each unit gets this week: the group's N, or adaptive (allocation.py), in grouped queries.
    allocations, new = allocation.for_week(db, monday, bases, settings=settings, minimums=minimums, office=office)
    # Rotation position → pool, where no random choice is involved (None: ask _stratum).
    fixed = {
        "24/7": [pools.get(name) for name in STRATA],
        "office": [None] + [pools.get("office")] * (len(STRATA) - 1),
    }
    random_, bisect_ = rng.random, bisect_right  # this loop runs for every hotline of the province
    rows = []
    append = rows.append
    # In the order of the plan keys ("plan:<monday>:<unit id>:<k>" sorts 1, 10, 100, 2…): the unique index on
    # plan_key then grows at its end instead of at random places, a tenth of the week's insert at 100,000 units.
    for unit_id, _, _, number, hours in sorted(units, key=_key_order):
        n = allocations[unit_id].tests
        base = ((unit_id * 2654435761) ^ salt) % len(STRATA) + rotation * n
        by_position = fixed.get(hours)
        for k in range(n):
            pool = by_position[(base + k) % len(STRATA)] if by_position else None
            if pool is None:
                pool = pools[_stratum(base + k, hours, pools, rng)]
            x = int(random_() * pool.total)
            i = bisect_(pool.cum, x)
            at = pool.starts[i] + x - (pool.cum[i - 1] if i else 0)
            minute, second = divmod(at, 60)
            append((unit_id, number, f"{prefixes[minute]}{second:02d}{SECOND_SUFFIX}", pool.bands[i],
                    f"{key}{unit_id}:{k}", created))
    return rows, new


def _key_order(unit: tuple) -> str:
    return str(unit[0])


def plan_week(db, week_start: date, *, now: datetime, rng: random.Random, settings: Settings) -> int:
    """Plan the week's tests for every current unit with a hotline; idempotent; returns how many were new.

    settings: TESTS_PER_WEEK may override the groups' own N; ADAPTIVE_PLANNING moves tests to where they can
    change a verdict (allocation.py); the secret key salts the rotation.
    """
    monday = week_monday(week_start)
    rows, new = _plan(db, monday, now=now, rng=rng, settings=settings)
    if new:  # stored first: a plan interrupted before its insert is completed with the same numbers
        allocation.record(db, monday, new, now)
    if not rows:
        return 0
    return insert_planned(db, rows)


def plan_due_soon(db, *, now: datetime, rng: random.Random, within_seconds: int = 60, key: str = "demo",
                  after_seconds: int = 0) -> int:
    """One attempt per unit with a hotline, due within `within_seconds` after the next `after_seconds`, spread
    out (the demo's rounds of tests)."""
    prefixes, created = _stamp_cache(), iso(now)
    start = math.ceil(now.timestamp()) + 2 + max(0, int(after_seconds))
    today = local_today_iso(now)
    rows = []
    for unit_id, _, _, number, _ in db.execute(UNITS_SQL, [today, today]):
        at = start + rng.randrange(max(1, within_seconds))
        band = classify(datetime.fromtimestamp(at, timezone.utc))
        minute, second = divmod(at, 60)
        rows.append((unit_id, number, f"{prefixes[minute]}{second:02d}{SECOND_SUFFIX}", band, f"{key}:{unit_id}", created))
    return insert_planned(db, rows)
