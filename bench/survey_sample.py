"""Benchmark part of bench/surveys.py — drawing a month's sample from the imported frame of 1,000,000 dossiers
(monitor.surveys.samples.draw_sample: the frame read with the no-repeat exclusion, the stratified draw per unit
and level with late dossiers over-sampled, one case per number and the do-not-call list checked as dossiers are
drawn, the sample and its cases stored in one transaction), against the bare read of the month's rows it needs.

Target: drawing and storing a month's sample ≤ 1 s.
"""
from __future__ import annotations

import random
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.common import connect, fmt_s, fmt_summary, md_table, summary, verdict

NOW = datetime(2024, 12, 5, 3, 0, tzinfo=timezone.utc)
PERIOD = ("2024-11-01", "2024-11-30")
BUDGET, DAYS = 200, 20        # calls a day × days: a cap of 4,000 cases
DO_NOT_CALL = 2_000           # numbers on the do-not-call list, half of them in the frame
EARLIER_OPEN = 3_000          # cases of an earlier sample still waiting: their numbers are left out


def _bare(db) -> float:
    start = time.perf_counter()
    db.execute("SELECT id, unit_id, level, late, phone FROM dossiers WHERE erased_at IS NULL "
               "AND returned_on BETWEEN ? AND ? AND phone IS NOT NULL", PERIOD).fetchall()
    return time.perf_counter() - start


def bench_sample(context: dict) -> str:
    """Draw the month's sample from the frame the import part left (context["frame_db"])."""
    from monitor.surveys import privacy, samples

    app, repeat = context["app"], max(3, context["repeat"])
    path = Path(context["frame_db"]).with_name("sample.db")
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copy(context["frame_db"], path)
    db = connect(path)
    settings = app.extensions["settings"]
    rng = random.Random(12)
    with app.app_context():
        phones = [p for (p,) in db.execute("SELECT phone FROM dossiers WHERE phone IS NOT NULL LIMIT 200000")]
        for i in range(DO_NOT_CALL):
            number = rng.choice(phones) if i % 2 else f"09{rng.randrange(10**8):08d}"
            privacy.add_do_not_call(db, number, secret_key=settings.secret_key, now=NOW)
        # An earlier sample whose cases still wait: drawn over the first days of the month only.
        samples.draw_sample(db, samples.parse_options(PERIOD[0], "2024-11-02", seed="1", budget=str(EARLIER_OPEN),
                                                      days="1"), now=NOW, settings=settings)
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        frame_rows = db.execute("SELECT count(*) FROM dossiers WHERE returned_on BETWEEN ? AND ?",
                                PERIOD).fetchone()[0]
        options = samples.parse_options(*PERIOD, seed="2024", budget=str(BUDGET), days=str(DAYS),
                                        oversample_late="2")
        uncapped = samples.parse_options(*PERIOD, seed="2024", oversample_late="2")
        drawn, full, bare, last = [], [], [], None
        for _rep in range(repeat):
            bare.append(_bare(db))
            start = time.perf_counter()
            samples.draw_sample(db, uncapped, now=NOW, settings=settings, dry_run=True)
            full.append(time.perf_counter() - start)
            start = time.perf_counter()
            last = samples.draw_sample(db, options, now=NOW, settings=settings)
            drawn.append(time.perf_counter() - start)
            print(f"  sample of {last['size']:,} from {last['frame_size']:,}: {fmt_s(drawn[-1])} stored; "
                  f"uncapped (dry run) {fmt_s(full[-1])}; bare read {fmt_s(bare[-1])}")
    db.conn.close()
    stored = summary(drawn)["median"]
    table = md_table(("dossiers returned in the month", "frame (after exclusions)", "sample (cap 4,000)",
                      "draw + store", "uncapped draw (dry run)", "bare read of the month's rows"),
                     [(f"{frame_rows:,}", f"{last['frame_size']:,}", f"{last['size']:,}", fmt_summary(drawn),
                       fmt_summary(full), fmt_summary(bare))])
    return f"""### Drawing a month's sample

`monitor.surveys.samples.draw_sample` on the imported month ({frame_rows:,} dossiers): the frame read with
numbers called recently or waiting in an open case left out ({EARLIER_OPEN:,} cases of an earlier sample), strata per unit and level sized by Yamane at ±5 %, late dossiers over-sampled ×2, the total
capped at {BUDGET} calls a day × {DAYS} days; as dossiers are drawn, one case per number and {DO_NOT_CALL:,}
numbers on the do-not-call list checked by keyed hash; the sample and its cases stored in one transaction. Each repetition draws a new
sample (its cases then wait, so the next draw leaves them out, as it would in use). The uncapped draw sizes every
unit by the formula alone ({context['rows']:,} dossiers: tens of thousands of cases), not stored. Baseline: the
bare `SELECT` of the month's rows the draw reads. {repeat} repetitions, median (min–max).

{table}

| target | measured | |
|---|---|---|
| drawing and storing a month's sample ≤ 1 s | {fmt_s(stored)} ({stored / summary(bare)['median']:.1f}× the bare read) | {verdict(stored <= 1.0)} |
"""
