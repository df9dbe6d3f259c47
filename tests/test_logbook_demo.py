"""The demo's logbook: citizens' entries of every kind, and answered test calls logged, late and not logged,
seeded once; the demo's units write today's answered calls down while it runs."""
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from monitor.logbook import match_calls
from monitor.reports import Period, build_report, tables
from monitor.scheduling import demo_logbook
from monitor.scheduling.scheduler import effective_settings, make_sink
from monitor.settings import Settings
from registry.demo import load_demo

from .report_fixtures import add_attempt

NOW = datetime(2026, 3, 12, 3, 0, tzinfo=timezone.utc)  # Thursday 12 March 2026, 10:00 in Đồng Tháp
MARCH = Period.month(2026, 3)


@pytest.fixture
def demo(app, db):
    load_demo(db, now=NOW - timedelta(days=40))
    return effective_settings(Settings.load({}, {**app.config, "DEMO_MODE": True}))


def test_the_demo_seeds_citizens_entries_and_checked_test_calls_once(app, db, demo):
    with app.app_context():
        assert demo_logbook.seed_citizens(db, now=NOW) == len(demo_logbook.CITIZENS)
        placed = demo_logbook.seed_test_calls(db, demo, now=NOW, sink=make_sink(demo), owner="test")
        assert placed == len(demo_logbook.TEST_CALLS)
        assert demo_logbook.seed_citizens(db, now=NOW) == 0
        assert demo_logbook.seed_test_calls(db, demo, now=NOW, sink=make_sink(demo), owner="test") == 0
    states = Counter(state for (state,) in db.execute("SELECT state FROM logbook_entries"))
    assert {"open", "answered", "waiting", "transferred"} <= set(states)
    channels = {c for (c,) in db.execute("SELECT channel FROM logbook_entries")}
    assert {"hotline", "zalo", "walk_in", "letter", "web", "1022"} <= channels
    found = Counter(m.status for m in match_calls(db, MARCH, settings=demo))
    assert found["logged"] >= 2 and found["late"] >= 1 and found["not_logged"] >= 1
    report = build_report(db, MARCH, now=NOW, settings=demo)
    assert report.logbook.total.overdue >= 1 and report.logbook.total.transferred_repeatedly == 1
    assert any(row["logbook"] not in ("–", "0/1") for row in tables.league_rows(report))


def test_the_demo_units_write_todays_answered_calls_down_but_not_all_of_them(app, db, demo):
    units = dict(db.execute("SELECT code, id FROM units"))
    writers = [code for code in units if not demo_logbook._skips(code)][:3]
    skipper = next(code for code in units if demo_logbook._skips(code))
    calls = [add_attempt(db, units[code], "2026-03-12 09:00", "answered", answer_seconds=6.0)
             for code in [*writers, skipper]]
    assert demo_logbook.log_answered(db, demo, now=NOW) == len(writers)
    assert demo_logbook.log_answered(db, demo, now=NOW) == 0
    found = {m.attempt_id: m.status for m in match_calls(db, MARCH, settings=demo)}
    assert [found[c] for c in calls] == ["logged"] * len(writers) + ["not_logged"]
