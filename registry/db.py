"""SQLite connections and versioned migrations (one ordered list per package)."""
import sqlite3
from collections.abc import Iterable, Sequence

import sqlite_utils

from registry.text import fold

# A migration set is (package name, [sql script, ...]); script i upgrades that package to version i+1.
MigrationSet = tuple[str, Sequence[str]]


def connect(path: str) -> sqlite_utils.Database:
    """Open the SQLite file with the settings every connection needs: WAL, foreign keys, busy timeout."""
    # isolation_level=None: we open transactions ourselves (db.atomic()), never implicitly.
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL is durable against process crashes (the scheduler may be killed at any moment);
        # only a power loss can roll back the last transactions.
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.create_function("vi_fold", 1, fold, deterministic=True)
    return sqlite_utils.Database(conn)


def schema_version(db: sqlite_utils.Database, package: str) -> int:
    """The version a package's schema is at in this database (0 when never migrated)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (package TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    row = db.execute("SELECT version FROM schema_migrations WHERE package = ?", [package]).fetchone()
    return row[0] if row else 0


def migrate(db: sqlite_utils.Database, sets: Iterable[MigrationSet]) -> list[str]:
    """Apply every pending migration, each in its own transaction; safe to run any number of times."""
    applied = []
    for package, scripts in sets:
        current = schema_version(db, package)
        for version, script in enumerate(scripts, start=1):
            if version <= current:
                continue
            with db.atomic():
                for statement in split_sql(script):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_migrations (package, version) VALUES (?, ?) "
                    "ON CONFLICT(package) DO UPDATE SET version = excluded.version",
                    [package, version],
                )
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
