"""Importing the appendix stays linear and locks briefly: counted in SQL statements, not timed.

No query per row while checking, one write transaction taken at once (BEGIN IMMEDIATE) with bulk inserts, and a
file with a bad last row refused without taking the write lock at all — even while another writer holds it.
bench/import.py measures the times.
"""
import csv
import io
import time

import pytest

from registry.appendix import ImportRejected, import_bytes
from registry.appendix import apply as apply_module
from registry.db import connect

HEADER = ["STT", "TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG", "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG", "GHI CHÚ"]


def province(n, *, bad_last=False, first=0):
    """n communes with their own landline (group C), in the letter's four columns; the last one bad if asked."""
    rows = [HEADER, ["C", "CẤP XÃ", "", ""]]
    for i in range(first, first + n):
        rows.append([str(i + 1), f"UBND xã Số {i}", f"0277 38{i // 1000 % 100:02d} {i % 1000:03d}",
                     "Giờ hành chính" if i % 3 == 0 else ""])
    if bad_last:
        rows[-1][2] = "0277 385"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


class Statements:
    """Every SQL statement a connection runs (triggers' own statements left out)."""

    def __init__(self, db):
        self.db, self.sql = db, []

    def __enter__(self):
        self.db.conn.set_trace_callback(lambda sql: None if sql.startswith("--") else self.sql.append(sql.strip()))
        return self

    def __exit__(self, *exc):
        self.db.conn.set_trace_callback(None)

    def starting(self, *words):
        return [s for s in self.sql if s.upper().startswith(words)]


def test_a_first_import_runs_a_constant_number_of_queries_and_one_immediate_transaction(db):
    counts = {}
    for n in (1000, 2000):
        with Statements(db) as seen:
            result = import_bytes(db, province(n, first=10_000 * (n // 1000)), f"{n}.csv", actor=None,
                                  default_group="C")
        assert len(result.created) == n
        counts[n] = seen
    small, big = counts[1000], counts[2000]
    # Reads do not grow with the file: the registry is read once, whatever the number of rows.
    assert len(big.starting("SELECT", "WITH")) == len(small.starting("SELECT", "WITH")) <= 12
    # Writes grow in proportion to the rows (executemany runs its statement once per row), no more.
    assert len(big.sql) <= 2.05 * len(small.sql)
    assert [s.upper() for s in big.starting("BEGIN")] == ["BEGIN IMMEDIATE"]
    assert len(big.starting("COMMIT")) == 1


def test_a_second_import_of_the_same_file_writes_nothing_and_reads_as_little(db):
    import_bytes(db, province(2000), "a.csv", actor=None)
    with Statements(db) as seen:
        result = import_bytes(db, province(2000), "a.csv", actor=None)
    assert (len(result.created), len(result.changed), result.unchanged) == (0, 0, 2000)
    assert not seen.starting("BEGIN", "INSERT", "UPDATE", "DELETE") and len(seen.sql) <= 12


def test_a_bad_last_row_is_refused_without_writing_or_taking_the_lock_while_another_writer_holds_it(db, app):
    import_bytes(db, province(500), "a.csv", actor=None)
    before = db.execute("SELECT count(*), (SELECT count(*) FROM changes) FROM units").fetchone()
    other = connect(app.config["DATABASE"])
    other.execute("BEGIN IMMEDIATE")  # a scheduler or a webhook in the middle of its write
    try:
        with Statements(db) as seen:
            start = time.monotonic()
            with pytest.raises(ImportRejected) as caught:
                import_bytes(db, province(3000, bad_last=True), "sai.csv", actor=None)
            elapsed = time.monotonic() - start
    finally:
        other.execute("ROLLBACK")
        other.conn.close()
    assert [e.row for e in caught.value.errors] == [3002]
    assert not seen.starting("BEGIN", "INSERT", "UPDATE", "DELETE")
    assert elapsed < 20  # taking the lock would have waited for the 30 s busy timeout
    assert db.execute("SELECT count(*), (SELECT count(*) FROM changes) FROM units").fetchone() == before


def test_a_change_made_between_the_check_and_the_write_is_seen_and_the_file_checked_again(db, app, monkeypatch):
    other = connect(app.config["DATABASE"])
    plans = []
    real = apply_module._Checker

    class Interrupted(real):
        def plan(self):
            plans.append(len(plans) + 1)
            plan = super().plan()
            if len(plans) == 1:  # someone registers the number row 3 brings, after the check, before the write
                from registry.hotlines import set_hotline
                from registry.units import create_unit

                set_hotline(other, create_unit(other, {"code": "KHAC", "name": "Đơn vị khác", "group_code": "A"}),
                            "0277 3800 000", actor=None)
            return plan

    monkeypatch.setattr(apply_module, "_Checker", Interrupted)
    with pytest.raises(ImportRejected) as caught:
        import_bytes(db, province(3), "a.csv", actor=None)
    other.conn.close()
    assert len(plans) == 2, caught.value.errors
    (error,) = caught.value.errors
    assert error.row == 3 and "Đơn vị khác" in error.reason
    assert db.execute("SELECT code FROM units").fetchall() == [("KHAC",)]
