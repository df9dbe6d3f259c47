"""The scheduler as a process: killed at random moments and restarted, it loses no test and dials none twice."""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from monitor import attempts
from monitor.app import create_app, init_db
from monitor.scheduling import scheduler
from monitor.settings import Settings
from registry.clock import iso, parse_iso, utcnow
from registry.db import connect

ROOT = Path(__file__).resolve().parent.parent
UNITS = 100
# Everything fast and unlimited except the pace, so a run dispatches the whole backlog in a few seconds and a
# restarted process settles what the killed one left (leases of 2 s, recovery every second).
PROCESS_ENV = {
    "FLASK_CALL_PROVIDER": "simulator",
    "FLASK_SIMULATOR_SPEED": "100",
    "FLASK_CALLS_PER_SECOND": "15",
    "FLASK_MAX_CONCURRENT_CALLS": "0",
    "FLASK_CALLS_PER_LINE_PER_HOUR": "0",
    "FLASK_CALLS_PER_LINE_PER_DAY": "0",
    "FLASK_MIN_GAP_MINUTES": "0",
    "FLASK_LEASE_SECONDS": "2",
    "FLASK_RECOVER_SECONDS": "1",
    "FLASK_RECONCILE_AFTER_SECONDS": "1",
    "FLASK_STALE_CALL_SECONDS": "3",
    # Simulated events carry realistic timestamps (up to a minute after the dial request, whatever the speed),
    # and retests/replacements are due that long after them: due at once instead, so the test ends quickly.
    "FLASK_RETEST_DELAY_MINUTES": "-2",
    "FLASK_REPLACE_DELAY_MINUTES": "-2",
    "FLASK_TESTS_PER_WEEK": "0",  # only the attempts the test creates
    "FLASK_DEMO_MODE": "false",
}


def make_database(path: Path, count: int = UNITS) -> list[int]:
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "process-test"})
    init_db(app)
    db = connect(str(path))
    now = utcnow()
    ids = []
    try:
        with db.atomic():
            for i in range(count):
                unit = db.execute("INSERT INTO units (code, name, group_code, created_at) VALUES (?,?,?,?)",
                                  [f"K{i}", f"Đơn vị {i}", "A", iso(now)]).lastrowid
                number = f"+84277{3100000 + i * 37:07d}"
                db.execute("INSERT INTO hotlines (unit_id, number, kind, display, hours, updated_at) VALUES (?,?,?,?,?,?)",
                           [unit, number, "landline", number, "24/7", iso(now)])
                ids.append(attempts.create_attempt(db, unit_id=unit, number=number, planned_at=now - timedelta(seconds=1),
                                                   band="office", now=now))
    finally:
        db.conn.close()
    return ids


# `flask --app wsgi monitor run`, with the simulator's place_call journalled first: one line per create request
# about to be made, synced before the request, so a request made by a process killed a moment later still counts.
JOURNALLED_RUN = """
import os, sys
from monitor.providers import simulator
place_call = simulator.SimulatorProvider.place_call
def journalled(self, attempt):
    with open(os.environ["DIAL_JOURNAL"], "a") as journal:
        journal.write(f"{attempt['id']}\\n")
        journal.flush()
        os.fsync(journal.fileno())
    return place_call(self, attempt)
simulator.SimulatorProvider.place_call = journalled
from flask.cli import main
sys.argv = ["flask", "--app", "wsgi", "monitor", "run"]
main()
"""


def start(path: Path) -> subprocess.Popen:
    env = {**os.environ, **PROCESS_ENV, "FLASK_DATABASE": str(path), "FLASK_SECRET_KEY": "process-test",
           "DIAL_JOURNAL": str(path) + ".dials"}
    return subprocess.Popen([sys.executable, "-c", JOURNALLED_RUN], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def dial_requests(path: Path) -> Counter:
    journal = Path(str(path) + ".dials")
    return Counter(int(line) for line in journal.read_text().split()) if journal.exists() else Counter()


def unfinished(path: Path) -> int:
    db = connect(str(path))
    try:
        return db.execute("SELECT COUNT(*) FROM attempts WHERE state != 'ended'").fetchone()[0]
    finally:
        db.conn.close()


@pytest.mark.slow
def test_killed_at_random_moments_and_restarted_the_scheduler_loses_no_test_and_dials_none_twice(tmp_path):
    path = tmp_path / "process.db"
    originals = make_database(path)
    rng = random.Random()
    for _ in range(5):
        process = start(path)
        time.sleep(rng.uniform(0.8, 2.5))  # sometimes while starting up, mostly mid-dispatch or mid-call
        process.kill()
        process.wait(10)
    process = start(path)
    deadline = time.monotonic() + 25
    while unfinished(path) and time.monotonic() < deadline:
        time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Bộ lập lịch đang chạy" in out and "Bộ lập lịch đã dừng." in out

    db = connect(str(path))
    try:
        rows = db.execute_returning_dicts("SELECT * FROM attempts ORDER BY id")
        events = db.execute_returning_dicts("SELECT attempt_id, payload FROM call_events")
        heartbeat = db.execute("SELECT 1 FROM scheduler_state WHERE key = 'heartbeat'").fetchone()
    finally:
        db.conn.close()
    by_id = {row["id"]: row for row in rows}
    # none lost: every test the scheduler was given, and every retest or replacement it made, has ended
    assert set(originals) <= set(by_id)
    assert [row["id"] for row in rows if row["state"] != "ended" or row["outcome"] is None] == []
    # a test lost on our side (the killed process's simulator took its call with it) was replaced
    for row in rows:
        if row["outcome"] == "provider_error" and row["purpose"] == "scheduled" and not (row["plan_key"] or "").startswith("replace:"):
            assert any(r["plan_key"] == f"replace:{row['id']}" for r in rows), row
    # no number dialled twice for one test: the journal has at most one create request per attempt…
    requests = dial_requests(path)
    assert len(requests) > UNITS / 2
    assert {attempt_id: n for attempt_id, n in requests.items() if n > 1} == {}
    assert all(by_id[attempt_id]["dial_requested_at"] for attempt_id in requests)
    # …and, as the provider saw it, every place_call got its own CallSid while an attempt's events carry one
    sids = defaultdict(set)
    for event in events:
        sids[event["attempt_id"]].add(json.loads(event["payload"]).get("CallSid"))
    assert {attempt_id: s for attempt_id, s in sids.items() if len(s) > 1} == {}
    for attempt_id, seen in sids.items():
        assert by_id[attempt_id]["call_sid"] in seen | {None}
    assert heartbeat is None  # a clean stop says so at once


@pytest.mark.slow
def test_sigterm_while_calls_are_in_flight_leaves_nothing_dialing(tmp_path):
    path = tmp_path / "term.db"
    make_database(path, 60)
    process = start(path)
    deadline = time.monotonic() + 20
    while unfinished(path) == 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    db = connect(str(path))
    try:
        states = dict(db.execute("SELECT state, COUNT(*) FROM attempts GROUP BY state").fetchall())
    finally:
        db.conn.close()
    # sent requests finished and the simulator played their calls out; unsent claims went back to planned
    assert set(states) <= {"planned", "ended"} and states.get("ended", 0) > 0


def test_the_scheduler_in_demo_mode_seeds_one_test_per_unit_due_within_a_minute_and_beats(tmp_path):
    path = tmp_path / "demo.db"
    make_database(path, 0)
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "x"})
    db = connect(str(path))
    from registry.hotlines import set_hotline
    from registry.units import create_unit

    for i in range(6):
        set_hotline(db, create_unit(db, {"code": f"DM{i}", "name": f"Đơn vị mẫu {i}"}), f"0277 3900 {200 + i}",
                    actor=None, is_demo=True)
    settings = Settings.load({}, {**app.config, "DEMO_MODE": True, "TESTS_PER_WEEK": 0, "SIMULATOR_SPEED": 1.0})
    stop = threading.Event()
    seen = {}
    thread = threading.Thread(target=lambda: seen.update(code=scheduler.run(settings, stop_event=stop,
                                                                         on_started=lambda info: seen.update(info))))
    started = utcnow()
    thread.start()
    deadline = time.monotonic() + 15
    while "settings" not in seen and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert seen["settings"].simulator_speed == scheduler.DEMO_SPEED
        seeded = db.execute_returning_dicts("SELECT * FROM attempts WHERE plan_key LIKE 'demo:%'")
        assert len(seeded) == 6
        assert all(started < parse_iso(row["planned_at"]) <= started + timedelta(seconds=65) for row in seeded)
        beat = db.execute("SELECT value FROM scheduler_state WHERE key = 'heartbeat'").fetchone()
        assert json.loads(beat[0])["provider"] == "simulator"
    finally:
        stop.set()
        thread.join(30)
    assert seen["code"] == 0
    assert db.execute("SELECT 1 FROM scheduler_state WHERE key = 'heartbeat'").fetchone() is None
    db.conn.close()


@pytest.mark.parametrize("provider, demo", [("simulator", False), ("twilio", True)])
def test_outside_demo_mode_or_with_a_real_provider_nothing_is_seeded_or_sped_up(provider, demo):
    config = {"DEMO_MODE": demo, "CALL_PROVIDER": provider, "SIMULATOR_SPEED": 1.0, "CALLS_PER_SECOND": 1.0,
              "MAX_CONCURRENT_CALLS": 2, "CALLS_PER_LINE_PER_HOUR": 20, "CALLS_PER_LINE_PER_DAY": 200}
    settings = Settings.load({}, config)
    assert not settings.demo_active
    assert scheduler.effective_settings(settings) == settings


def test_the_scheduler_refuses_a_database_that_was_not_upgraded(tmp_path):
    path = tmp_path / "old.db"
    connect(str(path)).conn.close()
    with pytest.raises(scheduler.SchedulerError) as error:
        scheduler.run(Settings(database=str(path)), stop_event=threading.Event())
    assert "init-db" in error.value.message
