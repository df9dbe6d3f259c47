"""Benchmark part of bench/surveys.py — drawing a month's sample from the imported frame of 1,000,000 dossiers
(monitor.surveys.samples.draw_sample: the frame counted per day, unit, level and lateness, the stratified draw per
unit and level with late dossiers over-sampled, the no-repeat rule, one case per number and the do-not-call list
checked as dossiers are drawn, the sample and its cases stored in one transaction), against two baselines in the same run: the bare read
of the month's rows (what the draw read before it counted through the dossiers_frame index) and the bare count of
the month's frame through that index (the least an exact draw can read: every stratum's size).

Target: drawing and storing a month's sample ≤ 1 s.

Runs as a part of bench/surveys.py, or alone on the frame that script left (its import.db, copied and migrated):

    .venv/bin/python bench/survey_sample.py [--frame bench/out/surveys/import.db] [--repeat 7]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    DOC,
    OUT,
    connect,
    fmt_s,
    fmt_summary,
    machine_line,
    make_app,
    md_table,
    scratch,
    summary,
    verdict,
)

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


def _bare_count(db) -> float:
    from monitor.surveys.samples import IN_FRAME

    start = time.perf_counter()
    db.execute(f"SELECT count(*) FROM dossiers INDEXED BY dossiers_frame WHERE returned_on BETWEEN ? AND ? "
               f"AND {IN_FRAME}", PERIOD).fetchone()
    return time.perf_counter() - start


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


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
        drawn, full, bare, counted, last = [], [], [], [], None
        load_before = _load()
        for _rep in range(repeat):  # interleaved, so drift on a shared machine hits each alike
            bare.append(_bare(db))
            counted.append(_bare_count(db))
            start = time.perf_counter()
            samples.draw_sample(db, uncapped, now=NOW, settings=settings, dry_run=True)
            full.append(time.perf_counter() - start)
            start = time.perf_counter()
            last = samples.draw_sample(db, options, now=NOW, settings=settings)
            drawn.append(time.perf_counter() - start)
            print(f"  sample of {last['size']:,} from {last['frame_size']:,}: {fmt_s(drawn[-1])} stored; "
                  f"uncapped (dry run) {fmt_s(full[-1])}; bare read {fmt_s(bare[-1])}; "
                  f"bare count {fmt_s(counted[-1])}")
        load_after = _load()
    db.conn.close()
    stored = summary(drawn)["median"]
    table = md_table(("dossiers returned in the month", "frame (with a number)", "sample (cap 4,000)",
                      "draw + store", "uncapped draw (dry run)", "bare read of the month's rows",
                      "bare count of the month's frame"),
                     [(f"{frame_rows:,}", f"{last['frame_size']:,}", f"{last['size']:,}", fmt_summary(drawn),
                       fmt_summary(full), fmt_summary(bare), fmt_summary(counted))])
    return f"""### Drawing a month's sample

`monitor.surveys.samples.draw_sample` on the imported month ({frame_rows:,} dossiers): strata per unit and level
sized by Yamane at ±5 %, late dossiers over-sampled ×2, the total capped at {BUDGET} calls a day × {DAYS} days;
checked on each dossier drawn (a refused one replaced by the next drawn): its number not called recently nor
waiting in an open case ({EARLIER_OPEN:,} cases of an earlier sample, then every earlier repetition's), one case
per number, and not among {DO_NOT_CALL:,} numbers on the do-not-call list (keyed hash); the sample and its cases
stored in one transaction. The draw reads the frame's counts per returned day, unit, level and lateness from the
`dossiers_frame` index (no row of the table), then only the ids and numbers of the dossiers it draws. Each
repetition draws a new sample (its cases then wait, as they would in use). The uncapped draw sizes every unit
by the formula alone (tens of thousands of cases), not stored.
Baselines, in the same run: the bare `SELECT` of the month's rows (what the draw read before), and the bare
`count(*)` of the month's frame through the index (the least an exact draw reads: every stratum's size).
{repeat} repetitions, interleaved, median (min–max); load average {load_before} before, {load_after} after.

{table}

| target | measured | |
|---|---|---|
| drawing and storing a month's sample ≤ 1 s | {fmt_s(stored)} ({stored / summary(bare)['median']:.2f}× the bare read, {stored / summary(counted)['median']:.1f}× the bare count) | {verdict(stored <= 1.0)} |
{"" if stored <= 1.0 else MISSED}"""


MISSED = """
Missed at this load (above): every figure of the run grows with it, the baselines too; the ratio to the bare read
is the one that holds. What is left of the draw is the pass over the month's index entries that counts every
stratum by day (a few times the bare count: the grouping), then a seek and a few dozen index entries per dossier
drawn, its number's checks, and the insert of the cases; counts kept by the import per day and stratum would take
the pass away.
"""


SUBSECTION = re.compile(r"### Drawing a month's sample\n.*?(?=\n_Measured |\n<!-- /bench:surveys -->)", re.S)


def main() -> None:
    """This part alone, on the frame bench/surveys.py imported: its subsection of docs/BENCHMARKS.md rewritten
    (with its own date and machine line), the import's figures left as they are."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frame", type=Path, default=OUT / "surveys" / "import.db")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    work = scratch("survey-sample")
    path = work / "frame.db"
    shutil.copy(args.frame, path)
    app = make_app(path)  # migrates the copy: the frame's index is built if the import predates it
    rows = connect(path).execute("SELECT count(*) FROM dossiers").fetchone()[0]
    block = bench_sample({"app": app, "frame_db": path, "repeat": args.repeat, "rows": rows})
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = f"{block.rstrip()}\n\n_This part measured {stamp} on: {machine_line()}._\n"
    text = DOC.read_text()
    if not SUBSECTION.search(text):
        raise SystemExit("docs/BENCHMARKS.md has no drawing subsection in its surveys section: run bench/surveys.py")
    text = SUBSECTION.sub(lambda _m: block, text, count=1)
    target = next(line for line in block.splitlines() if line.startswith("| drawing and storing"))
    cells = [c.strip() for c in target.strip("|").split("|")]
    text = re.sub(r"^\| The 1022 surveys \| drawing and storing a month's sample.*$",
                  lambda _m: f"| The 1022 surveys | {cells[0]} | {cells[1]} | {cells[-1]} |", text, count=1, flags=re.M)
    DOC.write_text(text)  # this subsection and its line in the summary of the targets
    print(block)


if __name__ == "__main__":
    main()
