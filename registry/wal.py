"""The write-ahead log kept short, off the writers' path: one background checkpointing thread per process.

SQLite's own automatic checkpoint runs inside the COMMIT that takes the log past 1,000 pages: on a callback's or a
save's time, while that writer still holds the write queue (registry.db.write_transaction), and with two `fsync`s
that are slow on a small server's disk. So every connection from registry.db.connect() turns it off
(`wal_autocheckpoint = 0`) and registers its database here; this module's thread looks at each registered log
every CHECK_SECONDS and, when it has changed, copies it back into the database with a PASSIVE checkpoint on a
connection of its own, which never blocks a reader or a writer. Every process that opens the file (the web
workers, the scheduler, a command) runs one, so the log stays short whichever of them is running; two at once
are harmless (SQLite lets one checkpoint run at a time, the other returns at once).

SQLite starts the log over only when a writer begins while every frame of it is already copied; under a steady
stream of writes a checkpoint running beside them is always a few frames behind, and the log would grow for as
long as the stream lasts (and every read would search a longer log). So once the log holds RESTART_FRAMES or
more, the thread then takes its turn in the writers' queue (registry.db.write_transaction, given to watch()) and
copies the few frames written meanwhile: the writers wait for that short copy, not for the whole log, and the
next one starts the log over.

A PASSIVE checkpoint cannot finish while a reader still needs the older pages, so a long read during a burst lets
the log grow: past CAP_BYTES the thread asks for a TRUNCATE checkpoint, which waits (at most CAP_WAIT_MS) for that
reader and cuts the file back. After a complete checkpoint the next writer starts the log over, and
`journal_size_limit` (SIZE_LIMIT_BYTES, set by connect()) shrinks the file to that size, so disk use stays bounded.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable
from urllib.parse import quote

import sqlite_utils

CHECK_SECONDS = 0.5  # how often each log is looked at: the log holds at most about this long of writes
SIZE_LIMIT_BYTES = 16 * 1024 * 1024  # the log file is cut back to this size when it starts over
CAP_BYTES = 64 * 1024 * 1024  # a log past this (readers kept the passive checkpoint from finishing) is truncated
CAP_WAIT_MS = 1000  # how long the truncating checkpoint may wait for readers and writers
RESTART_FRAMES = 1000  # SQLite's own automatic checkpoint size: past it, the log is finished in the writers' queue

_lock = threading.Lock()
_watched: dict[str, weakref.WeakSet] = {}  # database path → the open databases on it in this process
_seen: dict[str, tuple[int, int]] = {}  # database path → (size, mtime) of its log at the last checkpoint
_thread: threading.Thread | None = None
_thread_pid: int | None = None
_queue: Callable | None = None  # registry.db.write_transaction: the writers' turn, taken to finish a checkpoint


def watch(db, path: str, queue: Callable | None = None) -> None:
    """Keep the log of the database file at path checkpointed while db (a sqlite_utils.Database) is alive;
    queue: the writers' transaction (registry.db.write_transaction), taken to finish a checkpoint."""
    global _thread, _thread_pid, _queue
    if queue is not None:
        _queue = queue
    path = os.path.abspath(path)
    with _lock:
        if _thread_pid != os.getpid():  # a forked worker inherits the registry but not the thread
            _watched.clear()
            _seen.clear()
            _thread = None
            _thread_pid = os.getpid()
        _watched.setdefault(path, weakref.WeakSet()).add(db)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="wal-checkpoint", daemon=True)
            _thread.start()


def watched() -> list[str]:
    """The database paths this process keeps checkpointed."""
    with _lock:
        return list(_watched)


def _run() -> None:
    """The background loop: every CHECK_SECONDS, checkpoint each log written since the last look; stop when no
    database of this process is open any more (the next connect() starts a new thread)."""
    global _thread
    stop = threading.Event()
    while True:
        stop.wait(CHECK_SECONDS)
        with _lock:
            for path in [p for p, owners in _watched.items() if not owners]:
                del _watched[path]
                _seen.pop(path, None)
            if not _watched or _thread is not threading.current_thread():
                if _thread is threading.current_thread():
                    _thread = None
                return
            paths = list(_watched)
        for path in paths:
            try:
                checkpoint_if_changed(path)
            except Exception:  # noqa: BLE001 — a vanished or unreadable file must not stop the others' checkpoints
                with _lock:
                    _watched.pop(path, None)
                    _seen.pop(path, None)


def checkpoint_if_changed(path: str) -> tuple[int, int, int] | None:
    """Checkpoint the database at path if its log was written since the last checkpoint made here;
    SQLite's (busy, frames in the log, frames checkpointed), or None when there was nothing to do."""
    try:
        stat = os.stat(path + "-wal")
    except FileNotFoundError:
        return None
    mark = (stat.st_size, stat.st_mtime_ns)
    if stat.st_size == 0 or _seen.get(path) == mark:
        return None
    result = checkpoint(path)
    try:
        stat = os.stat(path + "-wal")
        _seen[path] = (stat.st_size, stat.st_mtime_ns)
    except FileNotFoundError:
        _seen.pop(path, None)
    return result


def checkpoint(path: str) -> tuple[int, int, int]:
    """One PASSIVE checkpoint of the database at path on a connection of its own; finished in the writers' queue
    when the log holds RESTART_FRAMES or more; then a TRUNCATE one if the log file is past
    CAP_BYTES and still not copied in full (a reader kept the older pages). Returns SQLite's (busy, log, checkpointed).
    """
    # mode=rw: never create a database where a file has just been removed.
    conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None, timeout=0)
    try:
        busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if log >= RESTART_FRAMES and _queue is not None:
            busy, log, done = _finish_in_queue(path, conn)
        if (busy or done < log) and _size(path + "-wal") > CAP_BYTES:
            conn.execute(f"PRAGMA busy_timeout = {CAP_WAIT_MS}")
            busy, log, done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy, log, done
    finally:
        conn.close()


def _finish_in_queue(path: str, conn: sqlite3.Connection) -> tuple[int, int, int]:
    """A PASSIVE checkpoint while this thread holds the writers' turn (on a second connection): no frame is added
    meanwhile, so it copies the whole log unless a reader still needs older pages."""
    holder = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None, timeout=30,
                             check_same_thread=False)
    try:
        with _queue(sqlite_utils.Database(holder)):
            return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        holder.close()


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0
