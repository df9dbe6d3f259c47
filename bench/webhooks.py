"""Benchmark 1 — webhooks: the signed status callback (signature check + idempotent write) under gunicorn,
against a bare Flask endpoint returning 204 in the same gunicorn configuration, 50 concurrent clients.

Targets: throughput ratio ≥ 0.8; p99 latency ≤ 25 ms; no callback lost or applied twice (30 % of the
callbacks are sent twice on purpose; afterwards the stored events must be exactly the acknowledged unique keys,
and every call that got all its callbacks must have ended with the outcome in-order delivery gives).

    .venv/bin/python bench/webhooks.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import loadgen  # noqa: E402
from bench.common import (  # noqa: E402
    AUTH_TOKEN,
    PUBLIC_BASE,
    bench_config,
    connect,
    gunicorn,
    make_app,
    md_table,
    percentile,
    scratch,
    seed_units,
    summary,
    verdict,
    write_section,
)

CLIENTS = 50
DUPLICATES = 0.30
# 100 callbacks/s ≈ 15–25 calls/s each sending 4–7 callbacks: over ten times the default cap of 1 call/s.
PACED_RATE = 100.0
START = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)
# Scenarios whose status callbacks alone decide the outcome (the status endpoint is what is measured).
SCENARIOS = ("answered", "no_answer", "busy", "unreachable", "provider_error_canceled", "provider_error_sip")


def build_database(path: Path, calls: int) -> None:
    """A registry of 500 units and `calls` attempts in state dialing, each awaiting its callbacks."""
    make_app(path)
    db = connect(path)
    seed_units(db, 500)
    now = "2025-06-10T02:00:00.00Z"
    rows = [(1 + i % 500, f"+842773{i % 500:06d}", now, "office", "dialing", 1, now, now) for i in range(calls)]
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO attempts (unit_id, number, planned_at, band, state, state_rank, dial_requested_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()


def build_requests(calls: int, seed: int) -> tuple[list[loadgen.Request], dict]:
    """Every call's status callbacks, signed, 30 % sent twice, shuffled; and the script of each call."""
    from twilio.request_validator import RequestValidator

    from tests.twilio_double import callback_script

    validator = RequestValidator(AUTH_TOKEN)
    rng = random.Random(seed)
    requests, scripts = [], {}
    for attempt_id in range(1, calls + 1):
        scenario = SCENARIOS[attempt_id % len(SCENARIOS)]
        sid = f"CA{attempt_id:032x}"
        events = [(kind, params) for kind, params, _ in callback_script(scenario, sid, start=START) if kind == "status"]
        scripts[attempt_id] = events
        for _kind, params in events:
            path = f"/hooks/twilio/status/{attempt_id}"
            signature = validator.compute_signature(PUBLIC_BASE + path, params)
            req = loadgen.Request("POST", path, urlencode(params).encode(), {
                "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature,
            }, tag=(attempt_id, f"{sid}:{params['SequenceNumber']}"))
            requests.append(req)
            if rng.random() < DUPLICATES:
                requests.append(req)
    rng.shuffle(requests)
    return requests, scripts


def in_order_outcomes(path: Path, scripts: dict, attempt_ids: list[int]) -> dict[int, tuple]:
    """The final (state, outcome, answer_seconds) each call gets when its callbacks arrive once, in order."""
    from monitor.attempts import ingest_event

    db = connect(path)
    result = {}
    for attempt_id in attempt_ids:
        for _kind, params in scripts[attempt_id]:
            ingest_event(db, attempt_id, params, kind="status", dedupe_key=f"{params['CallSid']}:{params['SequenceNumber']}",
                         now=START)
        row = db.execute("SELECT state, outcome, answer_seconds FROM attempts WHERE id = ?", [attempt_id]).fetchone()
        result[attempt_id] = tuple(row)
    db.conn.close()
    return result


def check_nothing_lost(path: Path, run: dict, scripts: dict, reference: Path) -> dict:
    """Stored events = acknowledged unique keys; complete calls end as in-order delivery says."""
    acked = {r.tag for r in run["results"] if 200 <= r.status < 300}
    db = connect(path)
    stored = db.execute("SELECT attempt_id, dedupe_key FROM call_events").fetchall()
    distinct = len({key for _, key in stored})
    complete = [a for a, events in scripts.items()
                if all((a, f"{p['CallSid']}:{p['SequenceNumber']}") in acked for _, p in events)]
    sample = complete[:300]
    rows = {a: tuple(db.execute("SELECT state, outcome, answer_seconds FROM attempts WHERE id = ?", [a]).fetchone())
            for a in sample}
    db.conn.close()
    expected = in_order_outcomes(reference, scripts, sample)
    return {
        "acked_unique": len(acked),
        "stored": len(stored),
        "lost": len(acked - {tuple(row) for row in stored}),
        "applied_twice": len(stored) - distinct,
        "complete_calls": len(complete),
        "checked_calls": len(sample),
        "mismatched": sum(1 for a in sample if rows[a] != expected[a]),
    }


def run_once(kind: str, template: Path, work: Path, requests, *, workers, threads, duration, rate=None) -> dict:
    """One measured run against a fresh copy of the database: kind 'webhook' (wsgi:app) or 'bare'."""
    db_path = work / f"{kind}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    shutil.copy(template, db_path)
    env = {"FLASK_" + k: str(v) for k, v in bench_config(db_path).items()}
    spec = {"webhook": "wsgi:app", "bare": "bench.bare_app:app"}[kind]
    with wal_sampler(db_path) as largest:
        run = _serve_and_load(spec, env, requests, workers, threads, duration, rate)
    run["db"] = db_path
    run["wal_max"] = largest[0]
    return run


@contextmanager
def wal_sampler(db_path: Path):
    """The largest size the database's WAL file reaches while the block runs (sampled every 20 ms)."""
    largest, done = [0], threading.Event()

    def sample():
        while not done.wait(0.02):
            try:
                largest[0] = max(largest[0], os.path.getsize(f"{db_path}-wal"))
            except FileNotFoundError:
                pass

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield largest
    finally:
        done.set()
        thread.join()


def _serve_and_load(spec, env, requests, workers, threads, duration, rate) -> dict:
    with gunicorn(spec, workers=workers, threads=threads, env=env) as base:
        # warm every worker and its imports up on requests that are not measured (not counted either)
        loadgen.run(base, [loadgen.Request("POST", "/hooks/twilio/status/999999999", b"", {})] * 200,
                    clients=8, processes=1, duration=5)
        return loadgen.run(base, list(requests), clients=CLIENTS, processes=2, duration=duration, rate=rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (for trying the script out)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    duration = 3.0 if args.quick else 6.0
    repeat = 1 if args.quick else args.repeat
    calls = 4000 if args.quick else 9000

    work = scratch("webhooks")
    template = work / "template.db"
    build_database(template, calls)
    reference = work / "reference.db"
    shutil.copy(template, reference)
    requests, scripts = build_requests(calls, seed=1)
    print(f"{len(requests)} signed status callbacks for {calls} calls ({DUPLICATES:.0%} sent twice)")

    # 1. Tuning: the same short run for a few gunicorn configurations; the best goes on to the measurement.
    configs = [(2, 4), (1, 8), (2, 8), (4, 4)]
    tuning = []
    for workers, threads in configs:
        hook = run_once("webhook", template, work, requests, workers=workers, threads=threads, duration=duration / 2)
        tuning.append(((workers, threads), hook["throughput"], percentile(hook["latencies"], 99), hook["errors"]))
        print(f"  tuning workers={workers} threads={threads}: {hook['throughput']:.0f} req/s, "
              f"p99 {percentile(hook['latencies'], 99) * 1000:.1f} ms, errors {hook['errors']}")
    workers, threads = max(tuning, key=lambda t: t[1])[0]

    # 2. Saturation: 50 clients in a closed loop, the bare endpoint and the webhook, alternating.
    bare_tp, hook_tp, bare_p99, hook_p99, hook_p50, checks, statuses = [], [], [], [], [], [], set()
    wal_max = []  # the largest WAL file of each webhook run
    for rep in range(repeat):
        bare = run_once("bare", template, work, requests, workers=workers, threads=threads, duration=duration)
        hook = run_once("webhook", template, work, requests, workers=workers, threads=threads, duration=duration)
        bare_tp.append(bare["throughput"])
        hook_tp.append(hook["throughput"])
        bare_p99.append(percentile(bare["latencies"], 99))
        hook_p99.append(percentile(hook["latencies"], 99))
        hook_p50.append(percentile(hook["latencies"], 50))
        wal_max.append(hook["wal_max"])
        statuses |= set(hook["statuses"])
        checks.append(check_nothing_lost(hook["db"], hook, scripts, reference))
        print(f"  rep {rep + 1}: bare {bare['throughput']:.0f} req/s, webhook {hook['throughput']:.0f} req/s "
              f"(p99 {hook_p99[-1] * 1000:.1f} ms), check {checks[-1]}")

    # 3. Latency at a steady offered load (open loop, 50 clients): PACED_RATE callbacks per second.
    rate = PACED_RATE
    paced_p99, paced_p50, paced_bare_p99 = [], [], []
    for _ in range(repeat):
        # twice as long as the saturation runs: a p99 needs enough samples (1,200 a run) to mean something
        bare = run_once("bare", template, work, requests, workers=workers, threads=threads, duration=2 * duration, rate=rate)
        hook = run_once("webhook", template, work, requests, workers=workers, threads=threads, duration=2 * duration, rate=rate)
        paced_bare_p99.append(percentile(bare["latencies"], 99))
        paced_p99.append(percentile(hook["latencies"], 99))
        paced_p50.append(percentile(hook["latencies"], 50))
        wal_max.append(hook["wal_max"])
        statuses |= set(hook["statuses"])
        checks.append(check_nothing_lost(hook["db"], hook, scripts, reference))
        print(f"  paced {rate:.0f} req/s: webhook p50 {paced_p50[-1] * 1000:.1f} ms p99 {paced_p99[-1] * 1000:.1f} ms")


    write_report(tuning, (workers, threads), bare_tp, hook_tp, bare_p99, hook_p99, hook_p50, rate, paced_p50,
                 paced_p99, paced_bare_p99, checks, statuses, len(requests), calls, duration, wal_max)


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def write_report(tuning, best, bare_tp, hook_tp, bare_p99, hook_p99, hook_p50, rate, paced_p50, paced_p99,
                 paced_bare_p99, checks, statuses, n_requests, calls, duration, wal_max) -> None:
    ratio = [h / b for h, b in zip(hook_tp, bare_tp)]
    r, sat_p99, p99 = summary(ratio)["median"], summary(hook_p99)["median"], summary(paced_p99)["median"]
    lost = sum(c["lost"] for c in checks)
    twice = sum(c["applied_twice"] for c in checks)
    mismatched = sum(c["mismatched"] for c in checks)
    checked = sum(c["checked_calls"] for c in checks)
    no_5xx = not any(s >= 500 or s == 0 for s in statuses)

    def spread(values, fmt):
        s = summary(values)
        return f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})"

    rows = [
        ("bare Flask endpoint → 204, saturation", spread(bare_tp, lambda v: f"{v:,.0f}/s"), "—", spread(bare_p99, ms)),
        ("status callback (signature + write), saturation", spread(hook_tp, lambda v: f"{v:,.0f}/s"),
         spread(hook_p50, ms), spread(hook_p99, ms)),
        (f"status callback at a steady {rate:,.0f} req/s (open loop)", f"{rate:,.0f}/s offered", spread(paced_p50, ms),
         spread(paced_p99, ms)),
        (f"bare endpoint at the same {rate:,.0f} req/s", f"{rate:,.0f}/s offered", "—", spread(paced_bare_p99, ms)),
    ]
    tuning_rows = [(f"{w} × {t}", f"{tp:,.0f}/s", ms(p), e) for (w, t), tp, p, e in tuning]
    body = f"""## 1. Webhooks: signed status callbacks under gunicorn

Setup: `gunicorn wsgi:app` (gthread, keep-alive) against `bench/bare_app.py` (a Flask endpoint on the same path
that returns 204 and does nothing) in the same gunicorn configuration; {CLIENTS} concurrent keep-alive clients
(`bench/loadgen.py`: 2 processes × 25 threads of `http.client`, on the same 2 cores as the server). Each run sends
{n_requests:,} pre-signed status callbacks of {calls:,} calls ({DUPLICATES:.0%} of them twice, all shuffled) for
{duration:.0f} s against a fresh copy of the database; {len(bare_tp)} repetitions, median (min–max).

Tuning (one short run each, workers × threads; the best throughput is used below):

{md_table(("gunicorn workers × threads", "callbacks/s", "p99", "errors"), tuning_rows)}

Chosen: {best[0]} workers × {best[1]} threads.

{md_table(("what", "throughput", "p50", "p99"), rows)}

| target | measured | |
|---|---|---|
| throughput ratio ≥ 0.8 (webhook ÷ bare, saturation) | {r:.2f} ({min(ratio):.2f}–{max(ratio):.2f}) | {verdict(r >= 0.8)} |
| p99 ≤ 25 ms at saturation, 50 clients | {ms(sat_p99)} | {verdict(sat_p99 <= 0.025)} |
| p99 ≤ 25 ms at a steady {rate:,.0f} req/s | {ms(p99)} | {verdict(p99 <= 0.025)} |
| no callback lost | {lost} lost of {sum(c['acked_unique'] for c in checks):,} acknowledged unique callbacks | {verdict(lost == 0)} |
| none applied twice | {twice} duplicate rows (UNIQUE dedupe_key) | {verdict(twice == 0)} |
| same final state as in-order delivery | {checked - mismatched} of {checked} complete calls checked | {verdict(mismatched == 0)} |
| no 5xx, no connection error | statuses seen: {', '.join(map(str, sorted(statuses)))} | {verdict(no_5xx)} |
| WAL file bounded (checkpointed in the background) | at most {max(wal_max) / 2**20:.1f} MiB in any run | — |

{interpretation(r, sat_p99, p99, rate, summary(hook_tp)['median'], summary(bare_tp)['median'], summary(paced_bare_p99)['median'], wal_max)}

"""
    write_section("webhooks", body)


def interpretation(ratio, sat_p99, p99, rate, hook, bare, bare_p99, wal_max) -> str:
    lines = ["**Reading.** "]
    if ratio < 0.8:
        lines.append(
            f"The ratio target is missed: the bare endpoint does no work at all, while each callback checks an "
            f"HMAC-SHA1 signature and runs one `BEGIN IMMEDIATE` SQLite transaction on its thread's connection (insert the "
            f"event, re-read the attempt's events, fold, update). SQLite admits one writer at a time, so the write "
            f"part does not scale with workers, and on 2 cores the load generator takes CPU from both servers alike. "
            f"{hook:,.0f} callbacks/s is still far above what a provider sends: at a cap of 1 call/s (the default) "
            f"a call produces 4–8 callbacks, i.e. under 10/s, so the headroom is more than {hook / 10:,.0f}×. "
            f"What would close the gap: answering 204 before the write (a queue, as Twilio allows) — which gives up "
            f"the guarantee that an acknowledged callback is stored — or a server-class machine; neither is worth "
            f"it at this load. ")
    else:
        lines.append("The signed, idempotent write costs little next to the HTTP handling itself. ")
    if sat_p99 > 0.025:
        lines.append(
            f"At saturation the latency is queueing: with 50 clients in a closed loop, Little's law gives a mean "
            f"latency of 50 ÷ throughput ({50 / hook * 1000:.0f} ms at {hook:,.0f}/s); the bare endpoint queues too "
            f"at its own rate. ")
    lines.append(
        f"At a steady {rate:,.0f} callbacks/s (about {rate / 10:,.0f}× what the default cap of 1 call/s produces) "
        f"the p99 is {p99 * 1000:.1f} ms, " + ("within" if p99 <= 0.025 else "above") + " the 25 ms target; the bare "
        f"endpoint's p99 at the same rate, {bare_p99 * 1000:.1f} ms, is the floor this shared machine and the Python "
        f"load generator set. No callback checkpoints the WAL: SQLite's automatic checkpoint, which used to run "
        f"inside the COMMIT that took the log past 1,000 pages (copying it into the database and syncing it on the "
        f"request's time, with the write queue held, and `fsync` is slow on this disk), is off on every connection "
        f"(`wal_autocheckpoint = 0`), and a background thread in each process (`registry/wal.py`) runs a PASSIVE "
        f"checkpoint every half second when the log has changed, beside the writers; once the log holds 1,000 "
        f"frames it copies the last few in the writers' queue, so that the next writer starts the log over. The WAL "
        f"file stayed under {max(wal_max) / 2**20:.1f} MiB in every run (it is cut back to 16 MiB when it starts "
        f"over). Before that change (same machine, earlier run): p99 131.6 ms at saturation and 11.7 ms at 100/s, "
        f"829 callbacks/s.")
    return "".join(lines)


if __name__ == "__main__":
    main()
