"""A bad disk day: a read-only or full database refuses saves with a clear 503, the public directory keeps
serving, the scheduler keeps going and backs off; and a first start without FLASK_SECRET_KEY agrees on one key.

The disk is simulated per connection, as SQLite itself would answer: `PRAGMA query_only` gives the error of a
read-only file ("attempt to write a readonly database"), `PRAGMA max_page_count` on a file filled to its last
page gives that of a full disk ("database or disk is full"). Every connection the app opens gets it.
"""
import logging
import multiprocessing
import sqlite3
import stat
import threading
from datetime import datetime, timezone

import pytest

from monitor.scheduling import scheduler
from monitor.scheduling.dispatcher import Dispatcher, retry_after
from monitor.secret_key import instance_secret_key
from monitor.settings import Settings
from registry.db import connect
from registry.units import get_unit

from .conftest import csrf_from, login
from .fakes import FakeClock, FakeProvider
from .test_webhooks import dialing_attempt
from .twilio_double import callback_script, signed_post

NOW = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)
REAL_CONNECT = sqlite3.connect


@pytest.fixture
def disk(monkeypatch):
    """disk["mode"] = "readonly" or "full" makes every connection opened from then on meet that disk."""
    state = {"mode": None}

    def connect_to_disk(*args, **kwargs):
        conn = REAL_CONNECT(*args, **kwargs)
        if state["mode"] == "readonly":
            conn.execute("PRAGMA query_only = 1")
        elif state["mode"] == "full":
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr("registry.db.sqlite3.connect", connect_to_disk)
    return state


def fill_to_the_last_page(path, unit_id):
    """Fill the history to the database's last page: no append into it fits anymore (disk["mode"] == "full")."""
    db = connect(path)
    try:
        for size in (4000, 1000, 200, 40, 1):
            try:
                while True:
                    db.execute("INSERT INTO changes (unit_id, at, actor, field, reason) VALUES (?, ?, 'x', 'x', ?)",
                               [unit_id, "2000-01-01T00:00:00Z", "x" * size])
            except sqlite3.OperationalError as exc:
                assert "full" in str(exc)
    finally:
        db.conn.close()


def address_save(client, text, query=""):
    token = csrf_from(client.get("/units/SYT").get_data(as_text=True))
    return client.post("/units/SYT" + query, data={"action": "contact", "contact_name": "", "contact_email": "",
                                           "address": text, "contact_reason": "", "csrf_token": token})


@pytest.mark.parametrize("mode", ["readonly", "full"])
def test_saves_answer_a_clear_503_and_the_public_directory_keeps_serving(app, client, db, units, editor, disk, mode):
    assert login(client, editor["email"], editor["password"]).status_code == 302
    before = db.execute("SELECT count(*) FROM changes WHERE unit_id = ?", [units["SYT"]]).fetchone()[0]
    attempt_id = dialing_attempt(db, units["SYT"])
    disk["mode"] = mode
    if mode == "full":
        fill_to_the_last_page(app.config["DATABASE"], units["XMA"])

    response = address_save(client, "Số 1 đường Mới")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    page = response.get_data(as_text=True)
    assert "không lưu được dữ liệu" in page and "chưa được lưu" in page
    # Nothing half-written: neither the unit nor its history moved.
    assert get_unit(db, "SYT")["address"] != "Số 1 đường Mới"
    assert db.execute("SELECT count(*) FROM changes WHERE unit_id = ?", [units["SYT"]]).fetchone()[0] == before

    # The provider's callbacks get JSON and a status it retries on (on the full disk, an event may still fit in
    # a page of its own table: then it is stored, as it should be).
    kind, params, _ = callback_script("busy", "CA" + "7" * 32, start=NOW)[0]
    hook = signed_post(client, f"/hooks/twilio/status/{attempt_id}", params)
    if mode == "readonly" or hook.status_code == 503:
        assert hook.status_code == 503 and "chưa được lưu" in hook.get_json()["error"]
    else:
        assert hook.status_code == 204

    # Reads go on: the directory, a unit's page, the public API — anonymous and signed in.
    anonymous = app.test_client()
    for path in ("/", "/?q=Y+t%E1%BA%BF", "/api/hotlines", "/api/hotlines/SYT"):
        assert anonymous.get(path).status_code == 200, path
    assert "Sở Y tế" in anonymous.get("/").get_data(as_text=True)
    assert client.get("/units/SYT").status_code == 200


def test_the_english_page_says_it_in_english(client, units, editor, disk):
    assert login(client, editor["email"], editor["password"]).status_code == 302
    disk["mode"] = "readonly"
    response = address_save(client, "Anywhere", "?lang=en")
    assert response.status_code == 503
    assert "Your change has not been saved" in response.get_data(as_text=True)


def test_any_other_database_error_stays_a_bug(app):
    """Only busy and disk errors are 'try again'; a broken query is not dressed up as one."""
    from registry.web.errors import database_unavailable

    with app.test_request_context("/"), pytest.raises(sqlite3.OperationalError):
        database_unavailable(sqlite3.OperationalError("no such column: nope"))


class StoppingClock(FakeClock):
    """A fake clock that stops the loop once `limit` seconds have gone by."""

    def __init__(self, start, limit):
        super().__init__(start)
        self.limit, self.sleeps = limit, []

    def sleep(self, seconds, stop=None):
        self.sleeps.append(seconds)
        super().sleep(seconds, stop)
        if self.t >= self.limit and stop is not None:
            stop.set()


def test_the_dispatcher_backs_off_on_a_read_only_disk_and_logs_one_traceback(app, units, disk, caplog):
    disk["mode"] = "readonly"
    clock = StoppingClock(NOW, limit=600)
    settings = Settings.load({}, {**app.config})
    dispatcher = Dispatcher(settings, FakeProvider(clock), clock=clock, owner="d", workers=0,
                            connect=lambda: connect(app.config["DATABASE"]))
    with caplog.at_level(logging.WARNING, logger="monitor.scheduling.dispatcher"):
        dispatcher.run(threading.Event())
    failures = [r for r in caplog.records if "dispatch step failed" in r.getMessage()]
    # Ten minutes of a read-only disk: 1, 2, 4 … 32, then once a minute — not 600 tries and 600 tracebacks.
    assert 8 <= len(failures) <= 20
    assert sum(1 for r in failures if r.exc_info) == 1
    assert clock.sleeps[:7] == [1, 2, 4, 8, 16, 32, 60]
    assert [retry_after(n) for n in (1, 2, 7, 50)] == [1, 2, 60, 60]


def test_the_scheduler_keeps_running_on_a_full_or_read_only_disk_and_stops_cleanly(app, units, disk, caplog):
    disk["mode"] = "readonly"
    settings = Settings.load({}, {**app.config})
    stop, result = threading.Event(), {}
    started = threading.Event()
    thread = threading.Thread(target=lambda: result.update(code=scheduler.run(
        settings, stop_event=stop, provider=FakeProvider(), on_started=lambda _info: started.set())))
    with caplog.at_level(logging.WARNING):
        thread.start()
        assert started.wait(10), "the scheduler did not get through its start on a read-only disk"
        stop.wait(1.5)
        assert thread.is_alive()  # still running, not crashed
        stop.set()
        thread.join(15)
    assert result == {"code": 0}
    assert any("failed" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------------------ the first start's secret key


def start_and_read_key(folder, barrier, keys):
    barrier.wait()
    keys.put(instance_secret_key(folder))


@pytest.mark.slow
def test_processes_starting_at_once_on_an_empty_instance_folder_agree_on_one_key(tmp_path):
    folder = tmp_path / "instance"
    context = multiprocessing.get_context("fork")
    workers = 8
    for attempt in range(20):  # the race is a matter of microseconds (the old code lost it 3 runs in 20)
        target = folder / str(attempt)
        barrier, keys = context.Barrier(workers), context.Queue()
        processes = [context.Process(target=start_and_read_key, args=(target, barrier, keys)) for _ in range(workers)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(30)
        assert all(process.exitcode == 0 for process in processes), [p.exitcode for p in processes]
        found = {keys.get(timeout=5) for _ in range(workers)}
        assert len(found) == 1 and len(next(iter(found))) == 64
        key_file = target / "secret_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert key_file.read_text() == next(iter(found))
        assert [p.name for p in target.iterdir()] == ["secret_key"]  # no temporary file left behind


def test_the_key_is_kept_across_starts_and_an_empty_file_is_refused_clearly(tmp_path):
    from monitor.settings import SettingsError

    key = instance_secret_key(tmp_path)
    assert instance_secret_key(tmp_path) == key
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(SettingsError) as refused:
        instance_secret_key(tmp_path)
    assert "FLASK_SECRET_KEY" in refused.value.message
