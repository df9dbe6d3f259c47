"""WAL checkpoints are off the writers' path: no COMMIT checkpoints (a callback's or a save's time), a background
thread per process does, and the log file stays bounded however many commits are made."""
import os
import sqlite3
import threading
import time

import pytest

from registry import db as registry_db
from registry import wal
from registry.db import connect, write_transaction

PAGE = 4096


def wal_size(path) -> int:
    try:
        return os.path.getsize(f"{path}-wal")
    except FileNotFoundError:
        return 0


def make_table(db):
    with write_transaction(db):
        db.execute("CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, body BLOB)")


def commit_pages(db, commits: int, size: int = 2 * PAGE):
    """commits small write transactions, as callbacks make them (each a few pages of log)."""
    for _ in range(commits):
        with write_transaction(db):
            db.execute("INSERT INTO blobs (body) VALUES (zeroblob(?))", [size])


def test_every_connection_leaves_checkpoints_to_the_background(tmp_path):
    db = connect(str(tmp_path / "a.db"))
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    assert db.execute("PRAGMA journal_size_limit").fetchone()[0] == wal.SIZE_LIMIT_BYTES
    assert str(tmp_path / "a.db") in wal.watched()


def test_the_callback_connection_does_not_checkpoint(app, client):
    from monitor.web.webhooks import callback_db

    with app.app_context():
        db = callback_db()
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0


def test_commits_do_not_checkpoint(tmp_path, monkeypatch):
    """Without the background thread, 1,500 commits of 3 pages leave every page in the log: none of the commits
    copied it back (SQLite's default would have at 1,000 pages and then started the log over)."""
    monkeypatch.setattr(registry_db.wal, "watch", lambda *args: None)
    path = tmp_path / "b.db"
    db = connect(str(path))
    make_table(db)
    commit_pages(db, 1500)
    assert wal_size(path) > 3000 * PAGE
    busy, log, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert log > 3000  # every frame was still waiting for a checkpoint
    db.conn.close()


def test_the_background_thread_keeps_the_log_short(tmp_path, monkeypatch):
    """About 40 MiB written in 4,000 commits: the log file never grows past a few seconds' worth of writes and is
    cut back to the size limit (here 1 MiB) once it starts over."""
    monkeypatch.setattr(wal, "CHECK_SECONDS", 0.05)
    monkeypatch.setattr(wal, "SIZE_LIMIT_BYTES", 1024 * 1024)
    time.sleep(0.6)  # a thread already waiting its 0.5 s picks up the shorter interval
    path = tmp_path / "c.db"
    db = connect(str(path))
    make_table(db)
    largest = 0
    for _ in range(40):
        commit_pages(db, 100)
        largest = max(largest, wal_size(path))
        time.sleep(0.06)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the last writes are checkpointed too, without another commit
        busy, log, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if log == done:
            break
        time.sleep(0.05)
    commit_pages(db, 1)  # the log starts over, and the file is cut back to the limit
    assert largest < 16 * 1024 * 1024
    assert wal_size(path) <= 1024 * 1024 + 4 * PAGE
    db.conn.close()


def test_a_steady_stream_of_writes_does_not_grow_the_log(tmp_path, monkeypatch):
    """Writes without a pause (a callback burst): a checkpoint beside them never catches up, so it is finished in
    the writers' queue and the log starts over; without that the file grew by the whole stream.

    The checkpoints are run here, each beside the next batch of writes, instead of by the background thread on
    its clock: on a loaded machine that thread may not run for a while, and the bound would measure the machine.
    """
    monkeypatch.setattr(wal, "watch", lambda db, path, queue=None: None)
    monkeypatch.setattr(wal, "_queue", write_transaction)
    monkeypatch.setattr(wal, "RESTART_FRAMES", 200)
    path = tmp_path / "stream.db"
    db = connect(str(path))
    make_table(db)
    largest, written, finished = 0, 0, []
    while written < 30 * 1024 * 1024:
        checkpointer = threading.Thread(target=lambda: finished.append(wal.checkpoint(str(path))))
        checkpointer.start()
        commit_pages(db, 20)  # the writers keep going while the checkpoint runs
        written += 20 * 3 * PAGE
        checkpointer.join()
        largest = max(largest, wal_size(path))
    # Each checkpoint left at most the batch written beside it (plus the one before it started) in the log.
    assert largest <= (wal.RESTART_FRAMES + 3 * 20 * 3) * PAGE * 1.1, largest
    assert any(done == log for _, log, done in finished)
    db.conn.close()


def test_a_log_past_the_cap_is_truncated_once_readers_let_go(tmp_path, monkeypatch):
    """A reader kept open stops the passive checkpoint; past CAP_BYTES the checkpoint waits for it and cuts the
    file to nothing, where a passive one would leave it at its largest."""
    monkeypatch.setattr(registry_db.wal, "watch", lambda *args: None)
    monkeypatch.setattr(wal, "CAP_BYTES", 64 * PAGE)
    monkeypatch.setattr(wal, "CAP_WAIT_MS", 5000)
    path = tmp_path / "d.db"
    db = connect(str(path))
    make_table(db)
    commit_pages(db, 10)
    reader = connect(str(path))
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM blobs").fetchone()  # holds its snapshot
    commit_pages(db, 100)
    assert wal_size(path) > 64 * PAGE
    threading.Timer(0.3, lambda: reader.execute("COMMIT")).start()
    busy, log, done = wal.checkpoint(str(path))
    assert busy == 0 and log == done == 0
    assert wal_size(path) == 0
    assert db.execute("SELECT count(*) FROM blobs").fetchone()[0] == 110
    db.conn.close()
    reader.conn.close()


def test_a_removed_database_is_never_recreated(tmp_path):
    path = tmp_path / "gone.db"
    db = connect(str(path))
    make_table(db)
    commit_pages(db, 2)
    db.conn.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")
    with pytest.raises(sqlite3.OperationalError):
        wal.checkpoint(str(path))
    assert not path.exists()
