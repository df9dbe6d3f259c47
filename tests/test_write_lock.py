"""Writers wait their turn: editors' saves against a storm of signed callbacks and scheduler writes, 0 failures.

The storm runs in another process (as gunicorn's other workers and the scheduler do), on the same SQLite file;
the editors save from threads of this one. A save that lost the race for the write lock used to answer 500
"database is locked"; now every writer takes the lock up front and waits, and one that still cannot get it
answers a clear 503 with Retry-After.
"""
import multiprocessing
import sqlite3
import threading
from datetime import datetime, timedelta, timezone

import pytest

from monitor.app import create_app
from monitor.attempts import create_attempt
from monitor.scheduling.state import HEARTBEAT, set_state
from registry import units as registry_units
from registry.clock import iso
from registry.db import connect, unavailable, write_transaction

from .conftest import csrf_from, login
from .twilio_double import callback_script, signed_post

NOW = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)
CONFIG = {
    "TESTING": True, "SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
    "PUBLIC_BASE_URL": "https://hotline.example.vn", "TWILIO_AUTH_TOKEN": "test-auth-token",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_FROM_NUMBER": "+15005550006",
}
EDITORS, SAVES = 4, 12
STORM_THREADS = 4


def dialing_attempts(db, unit_id, count):
    number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()[0]
    ids = []
    for i in range(count):
        attempt_id = create_attempt(db, unit_id=unit_id, number=number, planned_at=NOW + timedelta(seconds=i),
                                    band="office", now=NOW)
        db.execute("UPDATE attempts SET state = 'dialing', state_rank = 1, dial_requested_at = ? WHERE id = ?",
                   [iso(NOW), attempt_id])
        ids.append(attempt_id)
    return ids


def storm(database, attempt_ids, ready, stop, results):
    """Another process: signed callbacks from several threads, plus the scheduler's own writes, until stopped."""
    app = create_app({**CONFIG, "DATABASE": database})
    statuses, lock = {}, threading.Lock()

    def callbacks(ids):
        client = app.test_client()
        for n, attempt_id in enumerate(ids):
            scenario = ("answered", "busy", "no_answer")[n % 3]
            for kind, params, query in callback_script(scenario, f"CA{attempt_id:032d}", start=NOW):
                if stop.is_set():
                    return
                path = f"/hooks/twilio/{kind}/{attempt_id}" + (f"?{query}" if query else "")
                code = signed_post(client, path, params).status_code
                with lock:
                    statuses[code] = statuses.get(code, 0) + 1

    def scheduler():
        db = connect(database)
        unit_id = db.execute("SELECT unit_id FROM hotlines LIMIT 1").fetchone()[0]
        n = 0
        while not stop.is_set():
            n += 1
            set_state(db, HEARTBEAT, f"beat {n}", NOW)
            with write_transaction(db):
                create_attempt(db, unit_id=unit_id, number="02773851234", planned_at=NOW + timedelta(days=1, seconds=n),
                               band="office", now=NOW)
        db.conn.close()
        with lock:
            statuses["scheduler_writes"] = n

    threads = [threading.Thread(target=callbacks, args=(attempt_ids[i::STORM_THREADS],)) for i in range(STORM_THREADS)]
    threads.append(threading.Thread(target=scheduler))
    for thread in threads:
        thread.start()
    ready.set()
    for thread in threads:
        thread.join()
    results.put(statuses)


@pytest.mark.slow
def test_editor_saves_all_succeed_during_a_callback_storm(app, db, units, editor):
    attempt_ids = dialing_attempts(db, units["SYT"], 400)
    # The editors sign in before the storm: the saves are what is measured, and a sign-in that failed inside a
    # thread would only have shown as missing saves.
    clients = []
    for _ in range(EDITORS):
        client = app.test_client()
        assert login(client, editor["email"], editor["password"]).status_code == 302
        clients.append((client, csrf_from(client.get("/units/SYT").get_data(as_text=True))))
    context = multiprocessing.get_context("spawn")
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=storm, args=(app.config["DATABASE"], attempt_ids, ready, stop, results))
    process.start()
    try:
        assert ready.wait(60), "the storm did not start"
        failures, saved = [], []

        def editor_saves(k):
            client, token = clients[k]
            for i in range(SAVES):
                if k == 0:  # one editor changes the number back and forth, the others the address
                    data = {"action": "number", "number": ("0277 3851 235", "0277 3851 236")[i % 2], "hours": "24/7",
                            "reason": f"Đổi số {i}"}
                else:
                    data = {"action": "contact", "contact_name": "", "contact_email": "",
                            "address": f"Số {k}-{i} đường Hùng Vương", "contact_reason": ""}
                try:
                    response = client.post("/units/SYT", data={**data, "csrf_token": token})
                except BaseException as exc:  # TESTING propagates what would be a 500
                    failures.append((k, i, 500, repr(exc)))
                    continue
                (saved if response.status_code == 302 else failures).append(
                    (k, i, response.status_code, response.get_data(as_text=True)[-300:]))

        editors = [threading.Thread(target=editor_saves, args=(k,)) for k in range(EDITORS)]
        for thread in editors:
            thread.start()
        for thread in editors:
            thread.join()
    finally:
        stop.set()
        statuses = results.get(timeout=60)
        process.join(timeout=60)

    assert not failures, f"{len(failures)} of {EDITORS * SAVES} saves failed: {failures[:3]}"
    assert len(saved) == EDITORS * SAVES, f"{len(saved)} saved, failures: {failures[:3]}"
    history = dict(db.execute("SELECT field, count(*) FROM changes WHERE unit_id = ? AND reason != 'test' "
                              "GROUP BY field", [units["SYT"]]).fetchall())
    assert history.get("address") == (EDITORS - 1) * SAVES  # every save stored, each once
    assert history.get("number") == SAVES
    # The storm really ran alongside, and was not refused either.
    assert statuses.get("scheduler_writes", 0) > 0
    # (a floor, not a rate: on a loaded two-core machine the storm lands ~100 callbacks in the saves' second)
    assert sum(statuses.get(code, 0) for code in (200, 204)) > 20, statuses
    assert not {code for code in statuses if isinstance(code, int) and code >= 500}, statuses


def test_a_nested_write_transaction_is_a_savepoint_and_an_error_leaves_nothing(db, units):
    before = db.execute("SELECT count(*) FROM changes").fetchone()[0]
    with pytest.raises(RuntimeError), write_transaction(db):
        registry_units.update_unit(db, units["SYT"], {"address": "Mới"}, actor={"id": None, "role": "inspector"})
        raise RuntimeError("half-way")
    assert db.execute("SELECT count(*) FROM changes").fetchone()[0] == before
    assert registry_units.get_unit(db, "SYT")["address"] != "Mới"
    with write_transaction(db), write_transaction(db):  # the inner one is a savepoint of the outer
        registry_units.update_unit(db, units["SYT"], {"address": "Mới"}, actor={"id": None, "role": "inspector"})
    assert registry_units.get_unit(db, "SYT")["address"] == "Mới"
    assert not db.conn.in_transaction


def test_a_writer_takes_the_lock_up_front_and_waits_for_it(app, db, units):
    """A read-then-write transaction no longer fails at once when another connection wrote meanwhile."""
    other = connect(app.config["DATABASE"])
    try:
        done = threading.Event()

        def save():
            registry_units.update_unit(other, units["SYT"], {"address": "Sau khi chờ"},
                                       actor={"id": None, "role": "inspector"})
            done.set()

        with write_transaction(db):
            db.execute("UPDATE units SET address = 'Trước' WHERE code = 'SYT'")
            thread = threading.Thread(target=save)
            thread.start()
            assert not done.wait(0.3)  # waits its turn instead of failing
        thread.join(10)
        assert done.is_set()
        assert registry_units.get_unit(db, "SYT")["address"] == "Sau khi chờ"
    finally:
        other.conn.close()


def test_busy_and_disk_errors_are_told_apart_from_bugs():
    assert unavailable(sqlite3.OperationalError("database is locked")) == "busy"
    assert unavailable(sqlite3.OperationalError("attempt to write a readonly database")) == "disk"
    assert unavailable(sqlite3.OperationalError("database or disk is full")) == "disk"
    assert unavailable(sqlite3.OperationalError("no such column: x")) is None
    assert unavailable(ValueError("database is locked")) is None


def test_a_save_that_cannot_get_the_lock_answers_503_with_retry_after_and_changes_nothing(
        app, editor_client, db, units, monkeypatch):
    token = csrf_from(editor_client.get("/units/SYT").get_data(as_text=True))
    monkeypatch.setattr("registry.db.BUSY_SECONDS", 0.2)
    blocker = connect(app.config["DATABASE"])
    blocker.execute("PRAGMA busy_timeout = 0")
    try:
        # Another writer holds the lock for longer than this one is willing to wait.
        blocker.execute("BEGIN IMMEDIATE")
        monkeypatch.setattr("registry.web.connect", lambda path: _impatient(connect(path)))
        response = editor_client.post("/units/SYT", data={
            "action": "contact", "contact_name": "", "contact_email": "", "address": "Không lưu được",
            "contact_reason": "", "csrf_token": token})
        blocker.execute("ROLLBACK")
    finally:
        blocker.conn.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "Hệ thống đang bận" in response.get_data(as_text=True)
    assert registry_units.get_unit(db, "SYT")["address"] != "Không lưu được"
    api = editor_client.get("/api/hotlines")  # the reads were never blocked
    assert api.status_code == 200


def _impatient(db):
    """A connection that gives up on a held lock at once (the busy timeout a real request would run out)."""
    db.execute("PRAGMA busy_timeout = 100")
    return db
