"""SQLite connections, the write transaction every writer takes, and versioned migrations (one list per package)."""
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import sqlite_utils

from registry import wal
from registry.text import fold

try:
    import fcntl
except ImportError:  # not on POSIX: SQLite's own locking alone still keeps writes correct
    fcntl = None

# A migration set is (package name, [sql script, ...]); script i upgrades that package to version i+1.
MigrationSet = tuple[str, Sequence[str]]


def connect(path: str) -> sqlite_utils.Database:
    """Open the SQLite file with the settings every connection needs: WAL, foreign keys, busy timeout."""
    # isolation_level=None: we open transactions ourselves (write_transaction), never implicitly.
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL is durable against process crashes (the scheduler may be killed at any moment);
        # only a power loss can roll back the last transactions.
        conn.execute("PRAGMA synchronous = NORMAL")
        # No checkpoint inside a writer's COMMIT (on a callback's time, the write queue held): registry/wal.py's
        # background thread checkpoints instead, and the log file is cut back when it starts over.
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute(f"PRAGMA journal_size_limit = {wal.SIZE_LIMIT_BYTES}")
    conn.create_function("vi_fold", 1, fold, deterministic=True)
    db = sqlite_utils.Database(conn)
    if path != ":memory:":
        wal.watch(db, path, write_transaction)
    return db


# ------------------------------------------------------------------------------------ the write transaction

BUSY_SECONDS = 30  # how long a writer waits for its turn before giving up (the busy timeout above)
_PROCESS_WRITER = threading.Lock()
_LOCK_FILES: dict[str, int] = {}


@contextmanager
def write_transaction(db: sqlite_utils.Database):
    """A write transaction taken at once (BEGIN IMMEDIATE), or a savepoint inside the caller's transaction.

    Every writer of registry/ and monitor/ opens its transaction here (tests/test_architecture.py checks it).
    IMMEDIATE because a deferred transaction (plain BEGIN) that reads and then writes fails at once with
    "database is locked" when another connection wrote in between: in WAL mode SQLite cannot wait on that
    upgrade. Taking the write lock first makes the writer wait its turn instead.
    Writers first queue on a thread lock and an flock beside the database (web workers, scheduler): a blocked
    writer is woken the moment the lock is free, where SQLite's busy handler would sleep 1, 2, 5, 10… ms
    between tries — under a burst of callbacks that sleeping, not the work, was most of the latency.
    An exception rolls everything back; an error at COMMIT (a full disk) too, so nothing is half-written.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    if not _PROCESS_WRITER.acquire(timeout=BUSY_SECONDS):
        raise sqlite3.OperationalError("database is locked")
    try:
        fd = _lock_file(db)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.conn.in_transaction:
                    db.execute("ROLLBACK")
                raise
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        _PROCESS_WRITER.release()


def _lock_file(db: sqlite_utils.Database) -> int | None:
    """A file descriptor to flock beside the database file (None for in-memory databases or no fcntl)."""
    if fcntl is None:
        return None
    path = getattr(db, "_writers_db_path", None)
    if path is None:
        path = db._writers_db_path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    if not path:
        return None
    key = f"{os.getpid()}:{path}"  # a forked worker opens its own: an inherited descriptor would not exclude
    fd = _LOCK_FILES.get(key)
    if fd is None:
        try:
            fd = _LOCK_FILES[key] = os.open(path + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # read-only directory: SQLite's own locking is enough for correctness
            _LOCK_FILES[key] = -1
            return None
    return fd if fd >= 0 else None


def release_lock_files(under: str) -> None:
    """Close this process's writers' lock files of the databases under a directory that is going away.

    A long-running process keeps one per database it writes (one, in use); a process that makes many short-lived
    databases (the tests: one per test) would otherwise run out of descriptors. Only for databases nobody
    writes any more: a writer in the middle of its transaction still holds its descriptor.
    """
    prefix = f"{os.getpid()}:{under}"
    for key in [key for key in _LOCK_FILES if key.startswith(prefix)]:
        fd = _LOCK_FILES.pop(key)
        if fd >= 0:
            os.close(fd)


# SQLite's primary result codes that mean "not now" rather than "wrong": the database is busy with another
# writer, or the disk refuses writes (read-only, full, failing).
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_DISK_CODES = {8, 10, 13, 14}  # SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN
_BUSY_WORDS = ("database is locked", "database is busy", "database table is locked")
_DISK_WORDS = ("readonly database", "disk is full", "disk i/o error", "unable to open database")


def unavailable(exc: BaseException) -> str | None:
    """Why a database error is temporary: "busy" (another writer kept the lock), "disk" (read-only, full or
    failing disk), or None for any other error (a bug, to be reported as one)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return None
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc).lower()
    if code in _BUSY_CODES or any(words in text for words in _BUSY_WORDS):
        return "busy"
    if code in _DISK_CODES or any(words in text for words in _DISK_WORDS):
        return "disk"
    return None


def schema_version(db: sqlite_utils.Database, package: str) -> int:
    """The version a package's schema is at in this database (0 when never migrated)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (package TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    row = db.execute("SELECT version FROM schema_migrations WHERE package = ?", [package]).fetchone()
    return row[0] if row else 0


# A script whose first line is this marker runs with foreign keys off: SQLite's procedure for changing a table's
# definition (new table, copy, drop, rename) would otherwise cascade or refuse on the rows referencing it.
FOREIGN_KEYS_OFF = "-- foreign_keys: off"


def migrate(db: sqlite_utils.Database, sets: Iterable[MigrationSet]) -> list[str]:
    """Apply every pending migration, each in its own transaction; safe to run any number of times.

    A script marked with FOREIGN_KEYS_OFF runs with foreign key enforcement off (PRAGMA foreign_keys cannot
    change inside a transaction, so it is switched around it) and commits only when `PRAGMA foreign_key_check`
    finds no broken reference; enforcement is back on afterwards whatever happened.
    """
    applied = []
    for package, scripts in sets:
        current = schema_version(db, package)
        for version, script in enumerate(scripts, start=1):
            if version <= current:
                continue
            keys_off = script.lstrip().startswith(FOREIGN_KEYS_OFF)
            if keys_off:
                if db.conn.in_transaction:
                    raise sqlite3.OperationalError(f"{package}:{version} must run outside a transaction")
                db.execute("PRAGMA foreign_keys = OFF")
            try:
                with write_transaction(db):
                    if version <= schema_version(db, package):  # another process migrated meanwhile
                        continue
                    for statement in split_sql(script):
                        db.execute(statement)
                    if keys_off and db.execute("PRAGMA foreign_key_check").fetchone():
                        raise sqlite3.IntegrityError(f"{package}:{version} would leave broken foreign keys")
                    db.execute(
                        "INSERT INTO schema_migrations (package, version) VALUES (?, ?) "
                        "ON CONFLICT(package) DO UPDATE SET version = excluded.version",
                        [package, version],
                    )
            finally:
                if keys_off:
                    db.execute("PRAGMA foreign_keys = ON")
            applied.append(f"{package}:{version}")
    return applied


def split_sql(script: str) -> list[str]:
    """Split a script into statements (executescript would commit our transaction)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
