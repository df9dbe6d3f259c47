"""A query read on a second connection while the caller goes on with other reads: the report's one long
query (the period's characters, tally.CODES_SQL, about half of a monthly report) overlaps the rest of it.

SQLite runs a statement without Python's global lock, so on a machine with two cores the long query and the
report's other queries (units, stored summaries, stamps, disputes) run side by side. Each of the report's
queries already reads its own snapshot (none is inside a transaction), so a second connection changes nothing
a reader could see. An in-memory database, or a connection inside a transaction, is read in the ordinary way.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from registry.db import connect


def start(db, sql: str, params: dict) -> Callable[[], list]:
    """Begin reading `sql` now; the returned function waits for its rows (and raises what the read raised)."""
    row = db.execute("PRAGMA database_list").fetchone()
    path = row[2] if row else ""
    if not path or db.conn.in_transaction:
        return lambda: db.execute(sql, params).fetchall()
    outcome: dict = {}

    def read() -> None:
        try:
            other = connect(path)
            try:
                outcome["rows"] = other.execute(sql, params).fetchall()
            finally:
                other.conn.close()
        except BaseException as exc:  # noqa: BLE001 — handed to the waiting caller, raised there
            outcome["error"] = exc

    thread = threading.Thread(target=read, name="report-prefetch", daemon=True)
    thread.start()

    def rows() -> list:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["rows"]

    return rows
