"""The monthly report's cold path (a new process, nothing in memory): the closed previous month is read back,
not measured again; the stored trend months are not unpacked unit by unit; the period's characters are read
on a second connection while the rest is read — and the report is the same as measured in line."""
import sqlite3
from datetime import datetime, timezone

import pytest

from monitor.reports import summaries
from monitor.reports.measure import period_metrics
from monitor.reports.periods import Period
from monitor.reports.report import build_report
from monitor.reports.verdicts import league

from .report_fixtures import add_attempt, build_june, make_office_unit

JUNE, JULY = Period.month(2025, 6), Period.month(2025, 7)
SEPTEMBER = datetime(2025, 9, 1, 3, 0, tzinfo=timezone.utc)
LIGHT_QUERY = "sum(a.confirmed IS 1"  # summaries.LIGHT_SQL: a period measured in light figures
CODES_QUERY = "group_concat(char("  # tally.CODES_SQL: a period's characters


@pytest.fixture
def june_and_july(db, units):
    june = build_june(db, units, make_office_unit(db))
    for day in range(1, 20):
        add_attempt(db, units["SYT"], f"2025-07-{day:02d} 09:00", "answered", answer_seconds=4.0)
        add_attempt(db, units["XMA"], f"2025-07-{day:02d} 10:00", "no_answer" if day % 4 else "answered",
                    answer_seconds=None if day % 4 else 6.0, confirmed=1 if day % 8 == 1 else None)
    return june


def statements(db) -> list[str]:
    """Every statement run on this connection from now on."""
    seen = []
    db.conn.set_trace_callback(seen.append)
    return seen


def test_a_closed_previous_month_is_read_back_not_measured(db, june_and_july):
    build_report(db, JULY, now=SEPTEMBER)  # the first report of the period stores June's light figures
    summaries._MEMO.clear()  # a new process
    seen = statements(db)
    report = build_report(db, JULY, now=SEPTEMBER)
    db.conn.set_trace_callback(None)
    assert not [sql for sql in seen if LIGHT_QUERY in sql]
    measured = summaries.summary(db, JUNE)
    assert {k: (t.counted, t.answered, t.confirmed) for k, t in report.previous_summary.units.items()} == {
        k: (t.counted, t.answered, t.confirmed) for k, t in measured.units.items()}
    syt = next(u for u in report.metrics.units if u.code == "SYT")
    assert syt.previous.counted == measured.units[syt.unit["id"]].counted


def test_stored_trend_months_are_not_unpacked_unit_by_unit(db, june_and_july):
    build_report(db, JULY, now=SEPTEMBER)
    summaries._MEMO.clear()
    report = build_report(db, JULY, now=SEPTEMBER)
    earlier = [point for point in report.trend[:-1] if point.period != JUNE]
    assert earlier and all(isinstance(point.units, summaries._StoredUnits) and point.units._units is None
                           for point in earlier)
    assert [point.total.counted for point in report.trend] == [
        summaries.summary(db, period).total.counted for period in summaries.trend_periods(JULY, len(report.trend))]


def test_the_periods_characters_are_read_beside_the_rest_and_give_the_same_report(db, june_and_july):
    seen = statements(db)
    report = build_report(db, JULY, now=SEPTEMBER)
    db.conn.set_trace_callback(None)
    assert not [sql for sql in seen if CODES_QUERY in sql]  # read on the second connection
    in_line = league(period_metrics(db, JULY))
    assert [(u.code, u.status, u.rank, u.tally.as_dict()) for u in report.league] == [
        (u.code, u.status, u.rank, u.tally.as_dict()) for u in in_line]


def test_a_failed_second_read_is_raised_to_the_report(db, june_and_july, monkeypatch):
    monkeypatch.setattr("monitor.reports.report.CODES_SQL", "SELECT no_such_column FROM attempts")
    with pytest.raises(sqlite3.OperationalError, match="no_such_column"):
        build_report(db, JULY, now=SEPTEMBER)
