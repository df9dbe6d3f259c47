"""Faults: the scheduler killed over and over with a failing provider, thousands of shuffled duplicated callbacks
sent concurrently to the production server, and a provider that fails or throttles a fifth of the requests.

The scheduler-process kill test here is the harsher sibling of tests/test_scheduler_process.py: three times the
attempts, more and shorter-lived processes, and the simulator refusing a fifth of the create requests.
"""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest

from monitor import attempts
from monitor.attempts.outcomes import FAILURES
from monitor.providers import make_provider
from monitor.scheduling.dispatch import claim_due, dial
from monitor.settings import Settings
from registry.clock import iso
from registry.db import connect

from .fakes import Sleeps, free_port, ingesting_sink
from .test_scheduler_process import JOURNALLED_RUN, PROCESS_ENV, make_database, unfinished
from .twilio_double import AUTH_TOKEN, SCENARIOS, callback_script, dedupe_key

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)
PUBLIC = "https://hotline.example.vn"

pytestmark = pytest.mark.slow  # kill loops, a gunicorn under load, retry storms


def evidence_of_a_call(db, attempt_id) -> bool:
    """Whether the provider reported anything about a real call for this attempt (a CallSid in its events)."""
    return any(json.loads(p).get("CallSid") for (p,) in
               db.execute("SELECT payload FROM call_events WHERE attempt_id = ?", [attempt_id]).fetchall())


# ------------------------------------------------------------------ the scheduler killed, the provider failing

# Each create request is journalled twice: "try" (synced) before asking the simulator, "fail" after it refused
# (nothing was created). A try without its fail may have created a call — there must be at most one per attempt.
FAILING_RUN = JOURNALLED_RUN.replace(
    """def journalled(self, attempt):
    with open(os.environ["DIAL_JOURNAL"], "a") as journal:
        journal.write(f"{attempt['id']}\\n")
        journal.flush()
        os.fsync(journal.fileno())
    return place_call(self, attempt)""",
    """def journalled(self, attempt):
    def note(what):
        with open(os.environ["DIAL_JOURNAL"], "a") as journal:
            journal.write(f"{os.getpid()} {what} {attempt['id']}\\n")
            journal.flush()
            os.fsync(journal.fileno())
    note("try")
    try:
        return place_call(self, attempt)
    except simulator.ProviderUnavailable:
        note("fail")
        raise""")
assert FAILING_RUN != JOURNALLED_RUN, "tests/test_scheduler_process.py changed its journal: update FAILING_RUN"
HARSH_ENV = {**PROCESS_ENV, "FLASK_SIMULATOR_FAIL_RATE": "0.2", "FLASK_CALLS_PER_SECOND": "60",
             "FLASK_PROVIDER_RETRY_BACKOFF_SECONDS": "0.05", "FLASK_PROVIDER_RETRY_LIMIT": "5"}


def start_failing(path: Path) -> subprocess.Popen:
    env = {**os.environ, **HARSH_ENV, "FLASK_DATABASE": str(path), "FLASK_SECRET_KEY": "process-test",
           "DIAL_JOURNAL": str(path) + ".dials"}
    return subprocess.Popen([sys.executable, "-c", FAILING_RUN], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def possible_dials(path: Path) -> Counter:
    """Per attempt, the create requests that may have created a call (a try not followed by its fail)."""
    journal = Path(str(path) + ".dials")
    open_tries, possible = defaultdict(int), Counter()
    lines = journal.read_text().splitlines() if journal.exists() else []
    for line in lines:
        pid, what, attempt_id = line.split()
        if what == "try":
            open_tries[(pid, attempt_id)] += 1
            possible[int(attempt_id)] += 1
        elif open_tries[(pid, attempt_id)]:
            open_tries[(pid, attempt_id)] -= 1
            possible[int(attempt_id)] -= 1
    return +possible


def test_scheduler_killed_again_and_again_with_a_failing_provider_loses_nothing_and_charges_no_agency(tmp_path):
    path = tmp_path / "harsh.db"
    originals = make_database(path, 300)
    rng = random.Random()
    kills = 0
    deadline = time.monotonic() + 10
    while kills < 12 and time.monotonic() < deadline:
        process = start_failing(path)
        time.sleep(rng.uniform(0.5, 1.4))  # often while starting, recovering or mid-batch
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        kills += 1
    process = start_failing(path)
    deadline = time.monotonic() + 30
    while unfinished(path) and time.monotonic() < deadline:
        time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err[-3000:]
    assert kills >= 7

    db = connect(str(path))
    try:
        rows = {row["id"]: row for row in db.execute_returning_dicts("SELECT * FROM attempts")}
        # every attempt ends final: none lost, none left dialing or unknown
        assert set(originals) <= set(rows)
        assert [i for i, row in rows.items() if row["state"] != "ended" or row["outcome"] is None] == []
        # the provider refused about a fifth of the create requests: they were retried, never charged
        assert sum(row["dial_tries"] for row in rows.values()) > 10
        for attempt_id, row in rows.items():
            if row["outcome"] in FAILURES:
                assert evidence_of_a_call(db, attempt_id), row  # a failure is only ever a real call's result
            if row["outcome"] == "provider_error" and row["purpose"] == "scheduled":
                assert any(r["plan_key"] == f"replace:{attempt_id}" for r in rows.values()) or \
                    (row["plan_key"] or "").startswith("replace:"), row
        # no number dialled twice for one attempt
        dials = possible_dials(path)
        assert len(dials) > 200
        assert {a: n for a, n in dials.items() if n > 1} == {}
        sids = defaultdict(set)
        for attempt_id, payload in db.execute("SELECT attempt_id, payload FROM call_events").fetchall():
            sids[attempt_id].add(json.loads(payload).get("CallSid"))
        assert {a: s for a, s in sids.items() if len(s) > 1} == {}
    finally:
        db.conn.close()


# ------------------------------------------------------------- thousands of callbacks against gunicorn

CALLS = 440  # over 2,000 distinct callbacks across every scenario of tests/twilio_double.py


def dialing_attempts(db, count):
    number = db.execute("SELECT number FROM hotlines ORDER BY unit_id LIMIT 1").fetchone()[0]
    unit_id = db.execute("SELECT unit_id FROM hotlines ORDER BY unit_id LIMIT 1").fetchone()[0]
    ids = []
    with db.atomic():
        for _ in range(count):
            attempt_id = attempts.create_attempt(db, unit_id=unit_id, number=number, planned_at=NOW, band="office", now=NOW)
            db.execute("UPDATE attempts SET state = 'dialing', state_rank = 1, dial_requested_at = ? WHERE id = ?",
                       [iso(NOW), attempt_id])
            ids.append(attempt_id)
    return ids


def final_rows(path: Path) -> dict:
    """Every attempt (originals and the retests they planned) without the columns that record arrival times."""
    db = connect(str(path))
    try:
        rows = db.execute_returning_dicts("SELECT * FROM attempts ORDER BY id")
        extra = db.execute("SELECT attempt_id, dedupe_key FROM call_events ORDER BY dedupe_key").fetchall()
    finally:
        db.conn.close()
    # follow-ups (retests, replacements) are created in arrival order, so they are keyed by their plan_key
    return ({row["plan_key"] or row["id"]: {k: v for k, v in row.items() if k not in ("id", "created_at")}
             for row in rows}, sorted(map(tuple, extra)))


@pytest.fixture
def gunicorn_app(app, db, units, tmp_path):
    """The app served by gunicorn (2 workers × 4 threads, as scripts/start.sh runs it) on a free port."""
    port = free_port()
    env = {**os.environ, "FLASK_DATABASE": app.config["DATABASE"], "FLASK_SECRET_KEY": "test-secret",
           "FLASK_TWILIO_AUTH_TOKEN": AUTH_TOKEN, "FLASK_PUBLIC_BASE_URL": PUBLIC, "FLASK_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
           "FLASK_TWILIO_FROM_NUMBER": "+15005550006"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--threads", "4",
                                "--worker-class", "gthread", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                                "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(10)


def test_thousands_of_shuffled_duplicated_concurrent_callbacks_end_as_in_order_delivery(app, db, units, gunicorn_app,
                                                                                          tmp_path):
    from twilio.request_validator import RequestValidator

    ids = dialing_attempts(db, CALLS)
    reference = tmp_path / "in-order.db"
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(app.config["DATABASE"], reference)
    rng = random.Random(20250610)
    validator = RequestValidator(AUTH_TOKEN)
    scripts, sends = {}, []
    for n, attempt_id in enumerate(ids):
        script = callback_script(SCENARIOS[n % len(SCENARIOS)], f"CA{attempt_id:032x}", start=NOW + timedelta(minutes=n))
        scripts[attempt_id] = script
        for kind, params, query in script:
            path = f"/hooks/twilio/{kind}/{attempt_id}" + (f"?{query}" if query else "")
            request = (path, urlencode(params), validator.compute_signature(PUBLIC + path, params))
            sends.append(request)
            if rng.random() < 0.3:
                sends.append(request)
    unique = sum(len(s) for s in scripts.values())
    assert unique >= 2000
    rng.shuffle(sends)

    # in-order delivery, once each, on a second database
    ref = connect(str(reference))
    try:
        for attempt_id, script in scripts.items():
            for kind, params, query in script:
                extra = {"GatherStep": query.split("=", 1)[1]} if kind == "gather" else {}  # as the webhook adds it
                attempts.ingest_event(ref, attempt_id, {**params, **extra}, kind=kind,
                                      dedupe_key=dedupe_key(kind, params, query), now=NOW, config=app.extensions["settings"])
    finally:
        ref.conn.close()

    # shuffled, duplicated, 16 concurrent keep-alive clients
    statuses, lock = Counter(), threading.Lock()
    queue = list(reversed(sends))

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", gunicorn_app, timeout=30)
        while True:
            with lock:
                if not queue:
                    break
                path, body, signature = queue.pop()
            conn.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                           "X-Twilio-Signature": signature})
            response = conn.getresponse()
            response.read()
            with lock:
                statuses[response.status] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(statuses.values()) == len(sends)
    assert set(statuses) <= {200, 204}, statuses  # no 5xx, nothing refused

    got_rows, got_events = final_rows(Path(app.config["DATABASE"]))
    want_rows, want_events = final_rows(reference)
    assert len(got_events) == unique  # each event stored once, none lost
    assert got_events == want_events
    assert got_rows.keys() == want_rows.keys()  # the same retests planned
    different = {i: {k: (got_rows[i][k], want_rows[i][k]) for k in got_rows[i] if got_rows[i][k] != want_rows[i][k]}
                 for i in got_rows if got_rows[i] != want_rows[i]}
    assert different == {}
    outcomes = Counter(row["outcome"] for i, row in got_rows.items() if i in scripts)
    assert len(outcomes) >= 6 and sum(outcomes.values()) == CALLS


# ----------------------------------------------------------- the provider failing a fifth of the time


def planned_attempts(db, count, *, spread_units=False):
    rows = db.execute("SELECT unit_id, number FROM hotlines ORDER BY unit_id").fetchall()
    ids = []
    for i in range(count):
        unit_id, number = rows[i % len(rows)] if spread_units else rows[0]
        ids.append(attempts.create_attempt(db, unit_id=unit_id, number=number, planned_at=NOW, band="office",
                                           plan_key=f"fault:{i}", now=NOW))
    return ids


def dispatch_until_settled(db, provider, settings, *, now=NOW, rounds=200):
    """Claim and dial until nothing is planned or in flight; time jumps ahead when nothing is due."""
    for _ in range(rounds):
        rows = claim_due(db, now=now, owner="fault-test", limit=10, lease_seconds=120, settings=settings)
        for row in rows:
            dial(db, provider, row, settings=settings, now=lambda now=now: now)
        left = db.execute("SELECT count(*) FROM attempts WHERE state != 'ended'").fetchone()[0]
        if not left:
            return now
        if not rows:
            now += timedelta(hours=2)  # retests, replacements and back-offs come due
    raise AssertionError("dispatch did not settle")


LIMITS_OFF = {"CALLS_PER_SECOND": 0, "MAX_CONCURRENT_CALLS": 0, "CALLS_PER_LINE_PER_HOUR": 0,
              "CALLS_PER_LINE_PER_DAY": 0, "MIN_GAP_MINUTES": 0, "PROVIDER_RETRY_BACKOFF_SECONDS": 1}


def test_twilio_throttling_a_fifth_of_requests_is_retried_with_back_off_and_creates_each_call_once(
        app, db, units, twilio):
    rng = random.Random(5)
    slept = Sleeps()
    settings = Settings.load({}, {**app.config, **LIMITS_OFF, "CALL_PROVIDER": "twilio",
                                  "TWILIO_API_BASE_URL": twilio.base_url})
    provider = make_provider(settings, None, sleep=slept)
    ids = planned_attempts(db, 40)
    injected = 0
    for n in range(40):
        # each request is refused with probability 1/5 (a 429, sometimes with Retry-After); one attempt meets
        # more refusals in a row than the provider's own tries and goes back to planned. (A 5xx on create is
        # never retried: it may have placed the call; tests/test_twilio_behaviour.py covers it.)
        faults = 5 if n == 10 else 0
        while faults < 5 and rng.random() < 0.2:
            faults += 1
        for _ in range(faults):
            twilio.fail_next(status=429, retry_after=rng.choice([None, 0, 1]))
            injected += 1
        rows = claim_due(db, now=NOW, owner="fault-test", limit=1, lease_seconds=120, settings=settings)
        assert rows
        dial(db, provider, rows[0], settings=settings, now=lambda: NOW)
    dispatch_until_settled_twilio(db, provider, settings)
    posts = [r for r in twilio.requests if r["method"] == "POST"]
    assert injected >= 8 and len(posts) == len(twilio.created) + injected
    # each attempt created exactly once, its own attempt id in the callback URL
    created_for = Counter(int(r["form"]["StatusCallback"][0].rsplit("/", 1)[1]) for r in twilio.created)
    assert set(created_for) == set(ids) and set(created_for.values()) == {1}
    rows = {row["id"]: row for row in db.execute_returning_dicts("SELECT * FROM attempts")}
    assert all(rows[i]["state"] == "placed" and rows[i]["call_sid"] for i in ids)
    assert {rows[i]["call_sid"] for i in ids} == {r["sid"] for r in twilio.created}
    gave_up = sum(row["dial_tries"] for row in rows.values())
    assert gave_up >= 1
    # every retry waited first; a request that gave up did not wait after its last try
    assert len(slept) == len(posts) - (len(twilio.created) + gave_up)
    assert all(s > 0 for s in slept)
    assert any(s >= 1 for s in slept)  # Retry-After: 1 honoured


def dispatch_until_settled_twilio(db, provider, settings):
    """Attempts sent back to planned by an unavailable provider are claimed again (their back-off passed)."""
    later = NOW
    for _ in range(20):
        if not db.execute("SELECT count(*) FROM attempts WHERE state = 'planned'").fetchone()[0]:
            return
        later += timedelta(minutes=30)
        for row in claim_due(db, now=later, owner="fault-test", limit=10, lease_seconds=120, settings=settings):
            dial(db, provider, row, settings=settings, now=lambda later=later: later)


def test_simulator_failing_a_fifth_of_creates_through_dispatch_loses_nothing_and_never_charges_an_agency(
        app, db, units):
    from registry.hotlines import set_hotline
    from registry.units import create_unit

    for i in range(10):
        set_hotline(db, create_unit(db, {"code": f"F{i}", "name": f"Đơn vị {i}", "group_code": "C"}),
                    f"0277 3860 {100 + i}", actor=None)
    clock = {"now": NOW}
    settings = Settings.load({}, {**app.config, **LIMITS_OFF, "SIMULATOR_FAIL_RATE": 0.2, "PROVIDER_RETRY_LIMIT": 3,
                                  "RETEST_DELAY_MINUTES": 30, "REPLACE_DELAY_MINUTES": 15})

    sink = ingesting_sink(db, now=lambda: clock["now"], config=settings)
    provider = make_provider(settings, sink, synchronous=True, seed=11, clock=lambda: clock["now"])
    ids = planned_attempts(db, 120, spread_units=True)
    now = NOW
    for _ in range(300):
        clock["now"] = now
        rows = claim_due(db, now=now, owner="fault-test", limit=20, lease_seconds=120, settings=settings)
        for row in rows:
            dial(db, provider, row, settings=settings, now=lambda: clock["now"])
        if not db.execute("SELECT count(*) FROM attempts WHERE state != 'ended'").fetchone()[0]:
            break
        if not rows:
            now += timedelta(minutes=20)
    rows = {row["id"]: row for row in db.execute_returning_dicts("SELECT * FROM attempts")}
    # none lost: every attempt (and every retest and replacement) ended with an outcome
    assert set(ids) <= set(rows)
    assert [i for i, row in rows.items() if row["state"] != "ended"] == []
    # the simulator refused about a fifth: retried, and three refusals in a row end as provider_error
    tries = Counter(row["dial_tries"] for row in rows.values())
    assert sum(n * k for k, n in tries.items()) > 15
    gave_up = [row for row in rows.values() if row["dial_tries"] >= 3]
    assert all(row["outcome"] == "provider_error" for row in gave_up)
    # …and are replaced by a new test, so no scheduled test is lost
    for row in gave_up:
        if row["purpose"] == "scheduled":
            assert any(r["plan_key"] == f"replace:{row['id']}" for r in rows.values())
    # never charged: every outcome that counts against an agency comes from a call that really happened
    for attempt_id, row in rows.items():
        if row["outcome"] in FAILURES:
            assert evidence_of_a_call(db, attempt_id) and row["call_sid"], row
    # one successful create request per attempt at most
    placed = Counter(attempt_id for attempt_id, _ in provider.placed)
    assert set(placed.values()) == {1}
    # the reports leave provider errors out and say so
    from monitor.reports.measure import period_metrics
    from monitor.reports.periods import Period

    metrics = period_metrics(db, Period.month(NOW.year, NOW.month))
    tests = [row for row in rows.values() if row["purpose"] != "retest"]
    provider_errors = sum(1 for row in tests if row["outcome"] == "provider_error")
    assert metrics.total.excluded["provider_error"] == provider_errors > 0
    assert metrics.total.made == len(tests)
    # calls held for review (the simulator's half-heard ones) are left out too, under their own reason
    held = sum(1 for row in tests if row["outcome"] != "provider_error" and row["outcome_certain"] == 0)
    assert metrics.total.excluded.get("held", 0) == held
    assert metrics.total.counted == len(tests) - provider_errors - held
    assert sum(metrics.total.outcomes.values()) == metrics.total.counted
    assert metrics.total.outcomes.get("provider_error", 0) == 0
