"""Weekly planning: N tests per hotline, unpredictable times stratified over bands, idempotent, fast."""
import math
import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

import pytest

from monitor import attempts
from monitor.scheduling.bands import classify, local_week_start, to_local
from monitor.scheduling.planner import STRATUM_OF, plan_due_soon, plan_rows, plan_week
from monitor.settings import Settings
from registry.clock import iso, parse_iso

MONDAY = date(2026, 3, 2)  # an ordinary week: no public holiday
BEFORE = datetime(2026, 2, 27, 3, 0, tzinfo=timezone.utc)  # the Friday before: the whole week lies ahead
CONFIG = {"SECRET_KEY": "test-secret"}
SETTINGS = Settings.load({}, CONFIG)
ALL_STRATA = {"office", "lunch", "evening", "night", "offday"}


def add_units(db, count, *, group="A", hours="24/7", start=0, valid_from=None, valid_to=None, hotline=True):
    """Units with hotlines written directly (hundreds of them, quickly); returns their ids."""
    ids = []
    with db.atomic():
        for i in range(start, start + count):
            cur = db.execute(
                "INSERT INTO units (code, name, group_code, valid_from, valid_to, created_at) VALUES (?,?,?,?,?,?)",
                [f"U{group}{hours[0]}{i}", f"Đơn vị {i}", group, valid_from, valid_to, iso(BEFORE)],
            )
            ids.append(cur.lastrowid)
            if hotline:
                db.execute(
                    "INSERT INTO hotlines (unit_id, number, kind, display, hours, updated_at) VALUES (?,?,?,?,?,?)",
                    [cur.lastrowid, f"+84277{3000000 + cur.lastrowid:07d}", "landline", "x", hours, iso(BEFORE)],
                )
    return ids


def planned(db, week=MONDAY):
    return db.execute_returning_dicts(
        "SELECT * FROM attempts WHERE plan_key LIKE ? ORDER BY unit_id, plan_key", [f"plan:{week}:%"]
    )


def plan(db, week=MONDAY, *, now=BEFORE, seed=1, config=CONFIG):
    return plan_week(db, week, now=now, rng=random.Random(seed), settings=Settings.load({}, config))


def test_each_unit_gets_its_groups_tests_per_week(db):
    a, b, c = add_units(db, 4, group="A"), add_units(db, 3, group="B"), add_units(db, 5, group="C")
    created = plan(db)
    per_unit = Counter(row["unit_id"] for row in planned(db))
    assert created == 4 * 3 + 3 * 3 + 5 * 2
    assert all(per_unit[u] == 3 for u in a + b) and all(per_unit[u] == 2 for u in c)


def test_a_groups_tests_per_week_comes_from_the_groups_table(db):
    ids = add_units(db, 2, group="C")
    db.execute("UPDATE groups SET tests_per_week = 7 WHERE code = 'C'")
    plan(db)
    assert Counter(row["unit_id"] for row in planned(db)) == {ids[0]: 7, ids[1]: 7}


@pytest.mark.parametrize("override, expected", [(5, {"A": 5, "C": 5}), ({"C": 4}, {"A": 3, "C": 4}), ({"A": 0}, {"C": 2})])
def test_the_config_may_override_tests_per_week(db, override, expected):
    add_units(db, 2, group="A")
    add_units(db, 2, group="C")
    plan(db, config={**CONFIG, "TESTS_PER_WEEK": override})
    groups = Counter(row["group_code"] for row in db.execute_returning_dicts(
        "SELECT u.group_code FROM attempts a JOIN units u ON u.id = a.unit_id"))
    assert dict(groups) == {group: n * 2 for group, n in expected.items()}


def test_units_not_current_that_week_or_without_a_hotline_are_not_planned(db):
    current = add_units(db, 2)
    add_units(db, 1, start=10, valid_to="2026-03-01")  # ended the day before the week
    add_units(db, 1, start=20, valid_from="2026-03-09")  # starts the week after
    ends_midweek = add_units(db, 1, start=30, valid_to="2026-03-04")
    starts_sunday = add_units(db, 1, start=40, valid_from="2026-03-08")
    add_units(db, 1, start=50, hotline=False)
    plan(db)
    assert {row["unit_id"] for row in planned(db)} == set(current + ends_midweek + starts_sunday)


def test_every_planned_time_lies_in_the_local_week_and_its_band_is_recorded(db):
    add_units(db, 40)
    add_units(db, 40, hours="office", start=100)
    plan(db)
    start = local_week_start(MONDAY)
    for row in planned(db):
        at = parse_iso(row["planned_at"])
        assert start <= at < start + timedelta(days=7)
        assert row["band"] == classify(at)
        assert row["state"] == "planned" and row["purpose"] == "scheduled"


def test_planning_mid_week_only_uses_the_time_still_ahead(db):
    add_units(db, 60)
    thursday_noon = datetime(2026, 3, 5, 5, 0, tzinfo=timezone.utc)
    assert plan(db, now=thursday_noon) == 180
    assert min(parse_iso(row["planned_at"]) for row in planned(db)) >= thursday_noon


def test_a_week_that_is_over_gets_nothing(db):
    add_units(db, 3)
    assert plan(db, now=datetime(2026, 3, 9, 1, 0, tzinfo=timezone.utc)) == 0
    assert planned(db) == []


def test_times_are_unpredictable_no_fixed_minute_second_or_weekday(db):
    add_units(db, 100)
    rows = planned(db) if plan(db) else []
    times = [to_local(parse_iso(row["planned_at"])) for row in rows]
    assert len({(t.minute, t.second) for t in times}) > 200
    assert len({t.weekday() for t in times}) == 7
    assert len({t.hour for t in times}) == 24
    # a unit's tests are not all on one weekday
    by_unit = defaultdict(set)
    for row, t in zip(rows, times):
        by_unit[row["unit_id"]].add(t.date())
    assert sum(len(days) > 1 for days in by_unit.values()) > 80


def test_another_seed_gives_other_times(db):
    add_units(db, 20)
    first = plan_rows(db, MONDAY, now=BEFORE, rng=random.Random(1), settings=SETTINGS)
    second = plan_rows(db, MONDAY, now=BEFORE, rng=random.Random(2), settings=SETTINGS)
    assert [r[4] for r in first] == [r[4] for r in second]  # same slots (plan keys)
    assert sum(a[2] != b[2] for a, b in zip(first, second)) > 50


def test_a_24_7_hotline_with_three_tests_gets_three_different_strata_each_week(db):
    add_units(db, 50)
    plan(db)
    strata = defaultdict(list)
    for row in planned(db):
        strata[row["unit_id"]].append(STRATUM_OF[row["band"]])
    assert all(len(set(values)) == 3 for values in strata.values())


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_over_consecutive_weeks_a_24_7_hotline_is_tested_in_every_stratum(db, n):
    ids = add_units(db, 30)
    config = {**CONFIG, "TESTS_PER_WEEK": n}
    weeks = math.ceil(5 / n)
    seen = defaultdict(set)
    for k in range(weeks):
        monday = MONDAY + timedelta(days=7 * k)
        plan(db, monday, config=config)
        for row in planned(db, monday):
            seen[row["unit_id"]].add(STRATUM_OF[row["band"]])
    assert all(seen[u] == ALL_STRATA for u in ids)


def test_across_hotlines_every_band_is_sampled_evenly_within_one_week(db):
    add_units(db, 500)
    plan(db)
    strata = Counter(STRATUM_OF[row["band"]] for row in planned(db))
    assert set(strata) == ALL_STRATA
    assert all(0.8 * 300 <= count <= 1.2 * 300 for count in strata.values()), strata


def test_office_hours_hotlines_are_tested_in_office_hours_one_time_in_five(db):
    ids = add_units(db, 40, hours="office")
    bands = defaultdict(list)
    for k in range(5):
        monday = MONDAY + timedelta(days=7 * k)
        plan(db, monday)
        for row in planned(db, monday):
            bands[row["unit_id"]].append(row["band"])
    for unit in ids:
        outside = [band for band in bands[unit] if band != "office"]
        assert len(bands[unit]) == 15 and len(outside) == 3
    assert {band for values in bands.values() for band in values} == {"office", "lunch", "evening", "night", "weekend"}


def test_in_the_week_of_tet_the_offday_stratum_includes_the_holidays(db):
    add_units(db, 200)
    monday = date(2027, 2, 1)  # Tết 2027: Thursday 4 to Sunday 7 February are public holidays
    plan(db, monday, now=datetime(2027, 1, 29, tzinfo=timezone.utc))
    bands = Counter(row["band"] for row in planned(db, monday))
    assert bands["holiday"] > 0 and bands["weekend"] == 0  # that weekend is Tết itself
    assert bands["office"] > 0


def test_when_a_stratum_has_no_time_left_another_one_is_used(db):
    ids = add_units(db, 30, hours="office")
    saturday = datetime(2026, 3, 7, 2, 0, tzinfo=timezone.utc)  # no office hours left this week
    assert plan(db, now=saturday) == 90
    rows = planned(db)
    assert {row["unit_id"] for row in rows} == set(ids)
    assert {row["band"] for row in rows} == {"weekend"}


def test_planning_twice_creates_nothing_new(db):
    add_units(db, 30, group="A")
    add_units(db, 30, group="C", start=100)
    first = plan(db, seed=1)
    before = planned(db)
    assert plan(db, seed=2) == 0 and plan(db, seed=3, now=BEFORE + timedelta(days=3)) == 0
    assert planned(db) == before and first == len(before) == 150


def test_planning_after_a_crash_mid_way_fills_in_only_what_is_missing(db):
    add_units(db, 50)
    rows = plan_rows(db, MONDAY, now=BEFORE, rng=random.Random(1), settings=SETTINGS)
    from monitor.attempts.lifecycle import INSERT_PLANNED_SQL

    with db.atomic():  # what a first run wrote before it died: some rows, not all
        db.conn.executemany(INSERT_PLANNED_SQL, rows[:37])
    assert plan(db, seed=9) == len(rows) - 37
    keys = [row["plan_key"] for row in planned(db)]
    assert len(keys) == len(set(keys)) == 150


def test_planned_rows_look_exactly_like_create_attempts_rows(db):
    unit_id = add_units(db, 1)[0]
    plan(db)
    mine = planned(db)[0]
    other_id = attempts.create_attempt(db, unit_id=unit_id, number=mine["number"], planned_at=parse_iso(mine["planned_at"]),
                                       band=mine["band"], plan_key="compare", now=BEFORE)
    other = db.execute_returning_dicts("SELECT * FROM attempts WHERE id = ?", [other_id])[0]
    differs = {key for key in mine if mine[key] != other[key]}
    assert differs == {"id", "plan_key"}


def test_demo_seeding_plans_one_test_per_unit_within_the_next_minute_once(db):
    ids = add_units(db, 25)
    now = datetime(2026, 3, 4, 3, 0, tzinfo=timezone.utc)
    assert plan_due_soon(db, now=now, rng=random.Random(1)) == 25
    rows = db.execute_returning_dicts("SELECT * FROM attempts WHERE plan_key LIKE 'demo:%'")
    times = [parse_iso(row["planned_at"]) for row in rows]
    assert {row["unit_id"] for row in rows} == set(ids)
    assert all(now < t <= now + timedelta(seconds=62) for t in times)
    assert len(set(times)) > 15  # spread out, not all at once
    assert plan_due_soon(db, now=now + timedelta(minutes=5), rng=random.Random(2)) == 0
