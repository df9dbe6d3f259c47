"""Benchmark 3 — planning: a week's plan for 100,000 hotlines (monitor.planner.plan_week), against inserting
the very same rows with a bare executemany into the same table; at three sizes to show how the cost grows.

Targets: ≤ 2× the bare insert, and ≤ 5 s at 100,000 hotlines; peak memory stated (tracemalloc, own run).

    .venv/bin/python bench/planning.py [--quick]
"""
from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tracemalloc
from datetime import date, datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    CHARTS,
    connect,
    fmt_s,
    fmt_summary,
    md_table,
    scratch,
    summary,
    svg_chart,
    template_db,
    timed,
    verdict,
    write_section,
)

WEEK = date(2025, 6, 9)                                      # a Monday
NOW = datetime(2025, 6, 8, 10, 0, tzinfo=timezone.utc)       # the Sunday before: the whole week is ahead
SECRET_KEY = "bench-secret"  # salts the plan's rotation, as FLASK_SECRET_KEY does


def bench_settings():
    from monitor.settings import Settings

    return Settings(secret_key=SECRET_KEY)


def fresh_copy(template: Path, name: str) -> Path:
    path = template.with_name(name)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copy(template, path)
    return path


def run_plan(template: Path, seed: int) -> tuple[float, int, int]:
    """(seconds, attempts planned, attempts a second plan of the same week added — should be 0)."""
    from monitor.scheduling.planner import plan_week

    db = connect(fresh_copy(template, "plan.db"))
    seconds, planned = timed(plan_week, db, WEEK, now=NOW, rng=random.Random(seed), settings=bench_settings())
    again = plan_week(db, WEEK, now=NOW, rng=random.Random(seed + 100), settings=bench_settings())
    db.conn.close()
    return seconds, planned, again


def run_bare(template: Path, rows: list[tuple], cache_kib: int | None = None) -> float:
    """The same rows with a bare executemany in one transaction (optionally with a bigger page cache)."""
    from monitor.attempts.lifecycle import INSERT_PLANNED_SQL

    db = connect(fresh_copy(template, "bare.db"))
    if cache_kib:
        db.conn.execute(f"PRAGMA cache_size = -{cache_kib}")

    def insert():
        with db.atomic():
            db.conn.executemany(INSERT_PLANNED_SQL, rows)

    seconds, _ = timed(insert)
    count = db.execute("SELECT count(*) FROM attempts").fetchone()[0]
    db.conn.close()
    assert count == len(rows), (count, len(rows))
    return seconds


def peak_memory(template: Path) -> float:
    """Peak Python memory (MiB) of plan_week, traced in a run of its own (tracing slows it down)."""
    from monitor.scheduling.planner import plan_week

    db = connect(fresh_copy(template, "mem.db"))
    tracemalloc.start()
    plan_week(db, WEEK, now=NOW, rng=random.Random(7), settings=bench_settings())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.conn.close()
    return peak / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from monitor.scheduling.planner import plan_rows

    sizes = (1_000, 10_000, 30_000) if args.quick else (10_000, 30_000, 100_000)
    repeat = 1 if args.quick else args.repeat
    work = scratch("planning")
    results = {}
    for n in sizes:
        template = template_db(work, n)
        db = connect(template)
        rows = plan_rows(db, WEEK, now=NOW, rng=random.Random(0), settings=bench_settings())
        db.conn.close()
        plans, bares, cached, counts, again = [], [], [], set(), set()
        for rep in range(repeat):  # alternate so drift on a shared machine hits both alike
            seconds, planned, replanned = run_plan(template, seed=rep)
            plans.append(seconds)
            counts.add(planned)
            again.add(replanned)
            bares.append(run_bare(template, rows))
            cached.append(run_bare(template, rows, cache_kib=65536))
        results[n] = {"plan": plans, "bare": bares, "cached": cached, "rows": len(rows), "planned": counts, "again": again,
                      "memory": peak_memory(template)}
        print(f"{n:>7} hotlines, {len(rows):,} attempts: plan {fmt_summary(plans)}, bare insert {fmt_summary(bares)}, "
              f"peak {results[n]['memory']:.0f} MiB")
    write_report(results, repeat)


def write_report(results: dict, repeat: int) -> None:
    largest = max(results)
    big = results[largest]
    plan, bare = summary(big["plan"])["median"], summary(big["bare"])["median"]
    ratio = plan / bare
    rows = []
    for n, r in sorted(results.items()):
        p, b = summary(r["plan"])["median"], summary(r["bare"])["median"]
        rows.append((f"{n:,}", f"{r['rows']:,}", fmt_summary(r["plan"]), fmt_summary(r["bare"]), f"{p / b:.2f}",
                     fmt_summary(r["cached"]), f"{r['rows'] / p:,.0f}/s", f"{r['memory']:.0f} MiB"))
    chart = svg_chart(CHARTS / "planning.svg", "Planning a week: seconds by number of hotlines", "hotlines",
                      "seconds", {"plan_week": [(n, summary(r["plan"])["median"]) for n, r in results.items()],
                                  "bare executemany": [(n, summary(r["bare"])["median"]) for n, r in results.items()]})
    per_row = [summary(r["plan"])["median"] / r["rows"] * 1e6 for _, r in sorted(results.items())]
    body = f"""## 3. Planning: a week's plan for {largest:,} hotlines

`monitor.planner.plan_week` (read the hotlines, draw each test's stratum and random second of the week, insert
with `INSERT OR IGNORE` in one transaction; with adaptive planning, on by default, it also runs the evidence
query — empty here, see section 6 for its cost with history — and stores each unit's allocation and reason in
`plan_allocations`, one row per unit and week) against the baseline: the very same rows inserted into the same
`attempts` table (same indexes) with a bare `executemany`, on a fresh copy of the database each time. Groups plan
3, 3 and 2 tests a week (the defaults), so {largest:,} hotlines make {big['rows']:,} attempts. {repeat} repetitions,
median (min–max); peak memory from `tracemalloc` in a separate run of `plan_week`.

{md_table(("hotlines", "attempts", "plan_week", "bare executemany", "ratio", "bare, 64 MiB cache", "rate", "peak memory"), rows)}

![planning cost by size]({chart})

| target | measured | |
|---|---|---|
| ≤ 2× the bare insert at {largest:,} hotlines | {ratio:.2f}× | {verdict(ratio <= 2)} |
| ≤ 5 s at {largest:,} hotlines | {fmt_s(plan)} | {verdict(plan <= 5)} |
| peak memory stated | {big['memory']:.0f} MiB (Python heap, tracemalloc); process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB | — |

**Reading.** The cost grows linearly: {', '.join(f'{x:.1f}' for x in per_row)} µs per attempt at the three sizes.
Nearly all of it is the insert itself: every row goes into `attempts` and four b-trees (the unique `plan_key`,
the unique `call_sid`, `attempts_due`, `attempts_unit`); the other indexes are partial and skip planned rows
(migration monitor:7 removed one unused index and made `attempts_ended` partial). `plan_week` already raises the page cache to 64 MiB for its transaction, which
is why it keeps up with the bare insert although it also draws every time; the bare insert given the same cache
(column "bare, 64 MiB cache") shows what is left: {fmt_s(summary(big['cached'])['median'])} for the rows alone, so
the time drawing costs {fmt_s(plan - summary(big['cached'])['median'])}. {five_seconds(plan, summary(big['cached'])['median'])}
Planning the same week a second time (as a
restarted scheduler does) added {', '.join(str(sorted(r['again'])) for _, r in sorted(results.items()))} attempts at
the three sizes (idempotent `plan_key`).
"""
    write_section("planning", body)


def five_seconds(plan: float, cached: float) -> str:
    if plan <= 5:
        return ""
    return (f"The 5 s target is missed by {plan - 5:.1f} s on this machine: the insert alone is {cached:.1f} s. What would "
            f"meet it: a unique index on `call_sid` that skips NULLs (a table rebuild), or a faster core; the planner "
            f"runs once an hour in the scheduler process and 100,000 hotlines is 400 times Đồng Tháp's registry.")


if __name__ == "__main__":
    main()
