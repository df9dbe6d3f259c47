"""Adaptive test plans: fewer tests where the verdict is settled, more where it is not, within the budget."""
import random
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from monitor.scheduling import allocation
from monitor.scheduling.allocation import Allocation, allocate, decide
from monitor.scheduling.bands import local_week_start
from monitor.scheduling.planner import plan_week
from monitor.settings import Settings
from registry.clock import iso, local_midnight_utc

from .test_planner import add_units

MONDAY = date(2026, 3, 2)
BEFORE = datetime(2026, 2, 27, 3, 0, tzinfo=timezone.utc)  # the Friday before
SETTINGS = Settings.load({}, {"SECRET_KEY": "test-secret"})  # standard 0.9, 0–2 a week when settled, cap 2 × N


# ------------------------------------------------------------------------------------- the decision, by hand


def test_a_unit_whose_interval_lies_wholly_above_the_standard_gets_a_random_0_1_or_2():
    # 40 of 40 answered: Wilson 95 % is 91.2 %–100 %, wholly above 90 %.
    a = decide(40, 40, 3, settings=SETTINGS)
    assert (a.tests, a.reason) == (1, "above")  # the middle draw
    assert a.low == pytest.approx(40 / (40 + 1.959964 ** 2), abs=1e-6) and a.high == 1.0
    assert [decide(40, 40, 3, settings=SETTINGS, draw=d).tests for d in (0.0, 0.3, 0.4, 0.6, 0.7, 0.999)] == [
        0, 0, 1, 1, 2, 2]


def test_the_random_number_comes_from_the_settings_and_never_exceeds_the_groups_own():
    wider = SETTINGS.with_values(min_tests_per_week=1, mean_tests_clear=2)
    assert {decide(40, 40, 5, settings=wider, draw=d / 10).tests for d in range(10)} == {1, 2, 3}
    assert {decide(40, 40, 2, settings=wider, draw=d / 10).tests for d in range(10)} == {1, 2}
    assert {decide(40, 40, 1, settings=SETTINGS, draw=d / 10).tests for d in range(10)} == {0, 1}


def test_a_unit_whose_interval_lies_wholly_below_the_standard_gets_the_random_number_if_the_month_shows_it():
    # 4 of 20: Wilson 95 % is 8.1 %–41.6 %, wholly below 90 %: the verdict is settled, and the month's
    # guaranteed 4 tests even at the top of that interval (2 of 4: 15.0 %–85.0 %) would still show it.
    a = decide(20, 4, 3, settings=SETTINGS, month_min=4)
    assert (a.tests, a.reason) == (1, "below")
    assert a.low == pytest.approx(0.0807, abs=1e-3) and a.high == pytest.approx(0.4160, abs=1e-3)
    # with no monthly minimum to count on, nothing guarantees the month's evidence: the group's N
    assert decide(20, 4, 3, settings=SETTINGS)[:2] == (3, 3)


def test_a_unit_below_the_standard_keeps_its_groups_number_when_a_month_at_the_floor_would_not_show_it():
    # 14 of 20: Wilson 95 % is 48.1 %–85.5 %, wholly below 90 %; but the month's 4 tests at the top of that
    # interval (3 of 4: 30.1 %–95.4 %) lie across the standard: the month's report would lose the evidence.
    a = decide(20, 14, 3, settings=SETTINGS, month_min=4)
    assert (a.tests, a.reason) == (3, "below_month")
    assert a.low == pytest.approx(0.4810, abs=1e-3) and a.high == pytest.approx(0.8545, abs=1e-3)


def test_an_uncertain_unit_below_the_standard_gets_more_up_to_twice_its_groups_number():
    # 8 of 10: Wilson 95 % is 49.0 %–94.3 %, across 90 %, with the rate below it.
    a = decide(10, 8, 3, settings=SETTINGS)
    assert (a.tests, a.reason) == (6, "leans_fail")
    assert a.low < 0.9 < a.high


def test_an_uncertain_unit_that_no_month_of_extra_tests_could_settle_keeps_its_groups_number():
    # 88 of 100: Wilson 95 % is 80.2 %–93.0 %, across 90 %, the rate below it; a month at the cap (24 more
    # tests at 88 %: 109 of 124) would still reach 92.5 %, so extra calls would change no verdict.
    a = decide(100, 88, 3, settings=SETTINGS)
    assert (a.tests, a.reason) == (3, "close")


def test_an_uncertain_unit_that_answers_gets_the_random_number():
    # 10 of 10: Wilson 95 % is 72.2 %–100 %, across 90 %; only evidence against a unit can fail it.
    a = decide(10, 10, 3, settings=SETTINGS)
    assert (a.tests, a.reason) == (1, "leans_pass")


def test_the_boundary_of_the_standard_itself_counts_as_answering():
    # 9 of 10 is exactly 90 %: not below the standard.
    assert decide(10, 9, 3, settings=SETTINGS).reason == "leans_pass"
    assert decide(10, 8, 3, settings=SETTINGS).reason == "leans_fail"


def test_a_unit_without_counted_tests_gets_its_groups_number():
    assert decide(0, 0, 3, settings=SETTINGS) == Allocation(3, 3, "no_evidence")


def test_floor_and_cap_come_from_the_settings_and_never_exceed_the_groups_own_number_at_the_floor():
    custom = SETTINGS.with_values(min_tests_per_week=3, max_tests_per_week=5)
    assert decide(40, 40, 4, settings=custom).tests == 3
    assert decide(4, 3, 4, settings=custom).tests == 5
    # a group that plans 1 a week is never raised to the floor; a cap below N never cuts N
    assert decide(40, 40, 1, settings=custom).tests == 1
    assert decide(4, 3, 7, settings=custom).tests == 7


def test_the_total_never_exceeds_the_groups_budget_and_the_most_doubtful_units_get_the_extra_first():
    # Nine uncertain units of N = 3 and one settled one: 9 × 6 + 2 = 56 wanted, 30 in the budget.
    rows = [(u, 3, 10, 8) for u in range(9)] + [(9, 3, 40, 40)]
    rows[0] = (0, 3, 9, 7)  # 77.8 %: its interval (45 %–94 %) reaches lowest
    plan = allocate(rows, SETTINGS)
    assert sum(a.tests for a in plan.values()) <= 30
    assert plan[9].tests == 1
    assert all(plan[u].tests >= 3 for u in range(9))  # an uncertain unit never gets less than its N
    assert plan[0].tests == max(a.tests for a in plan.values())


def test_no_unit_goes_below_the_floor_and_the_budget_holds_on_a_random_province():
    rng = random.Random(5)
    rows = []
    for u in range(500):
        n = rng.choice((3, 3, 2))
        counted = rng.randrange(0, 30)
        rows.append((u, n, counted, rng.randrange(0, counted + 1)))
    plan = allocate(rows, SETTINGS)
    assert sum(a.tests for a in plan.values()) <= sum(r[1] for r in rows)
    assert all(0 <= a.tests <= 2 * a.base for a in plan.values())


# ------------------------------------------------------------------------------------------- in the planner


def add_ended(db, unit_id, outcomes, *, week=MONDAY, days_before=10, purpose="scheduled", certain=1):
    """Ended attempts of a unit before the week, one hour apart (written directly: this is their history)."""
    start = local_week_start(week) - timedelta(days=days_before)
    with db.atomic():
        for i, outcome in enumerate(outcomes):
            at = iso(start + timedelta(hours=i))
            db.execute(
                "INSERT INTO attempts (unit_id, number, planned_at, band, purpose, state, state_rank, outcome, "
                "outcome_certain, ended_at, created_at) VALUES (?, 'x', ?, 'night', ?, 'ended', 9, ?, ?, ?, ?)",
                [unit_id, at, purpose, outcome, certain, at, at])


def plan(db, settings=SETTINGS, week=MONDAY, seed=1):
    return plan_week(db, week, now=BEFORE, rng=random.Random(seed), settings=settings)


def planned_per_unit(db, week=MONDAY):
    rows = db.execute("SELECT unit_id FROM attempts WHERE plan_key LIKE ?", [f"plan:{week}:%"]).fetchall()
    return Counter(unit_id for (unit_id,) in rows)


def test_the_planner_gives_each_unit_its_allocation_and_stores_why(db):
    settled, failing, doubtful, new = add_units(db, 4, group="A")
    add_ended(db, settled, ["answered"] * 40)
    add_ended(db, failing, ["answered"] * 6 + ["no_answer"] * 14)
    add_ended(db, doubtful, ["answered"] * 8 + ["busy"] * 2)
    plan(db)
    stored = {row["unit_id"]: row for row in db.execute_returning_dicts("SELECT * FROM plan_allocations")}
    # the settled ones get 0, 1 or 2 (keyed draws); with 3 for the new unit (no evidence: N), the doubtful
    # unit gets what is left of the 12, up to the 6 it wanted
    drawn = stored[settled]["tests"] + stored[failing]["tests"]
    assert stored[settled]["tests"] in (0, 1, 2) and stored[failing]["tests"] in (0, 1, 2)
    assert stored[doubtful]["tests"] == min(6, 12 - drawn - 3)
    assert planned_per_unit(db) == {u: row["tests"] for u, row in stored.items() if row["tests"]}
    assert {u: stored[u]["reason"] for u in stored} == {settled: "above", failing: "below", doubtful: "leans_fail",
                                                        new: "no_evidence"}
    assert sum(row["tests"] for row in stored.values()) <= 4 * 3
    assert stored[doubtful]["counted"] == 10 and stored[doubtful]["answered"] == 8
    assert stored[doubtful]["low"] == pytest.approx(0.490, abs=1e-3) and stored[new]["low"] is None


def test_held_calls_provider_errors_retests_and_old_calls_are_not_evidence(db):
    unit = add_units(db, 1)[0]
    add_ended(db, unit, ["answered"] * 10)
    add_ended(db, unit, ["no_answer"] * 5, certain=0, days_before=12)            # held for review
    add_ended(db, unit, ["provider_error"] * 5, days_before=13)                  # our side
    add_ended(db, unit, ["no_answer"] * 5, purpose="retest", days_before=14)     # retests only confirm
    add_ended(db, unit, ["no_answer"] * 5, days_before=7 * allocation.WINDOW_WEEKS + 1)  # before the window
    assert allocation.evidence(db, MONDAY) == {unit: (10, 10)}


def test_replanning_the_week_keeps_the_first_allocation(db):
    unit, other = add_units(db, 2)
    add_ended(db, unit, ["answered"] * 40)
    first = plan(db)
    tests = db.execute("SELECT tests FROM plan_allocations WHERE unit_id = ?", [unit]).fetchone()[0]
    add_ended(db, unit, ["no_answer"] * 30, days_before=3)  # news after the first plan of the week
    assert plan(db, seed=2) == 0
    assert planned_per_unit(db).get(unit, 0) == tests and first == tests + 3
    assert db.execute("SELECT count(*) FROM plan_allocations").fetchone()[0] == 2


def test_with_adaptive_planning_off_every_unit_gets_its_groups_number_and_nothing_is_stored(db):
    unit = add_units(db, 1)[0]
    add_ended(db, unit, ["answered"] * 40)
    plan(db, settings=SETTINGS.with_values(adaptive_planning=False))
    assert planned_per_unit(db) == {unit: 3}
    assert db.execute("SELECT count(*) FROM plan_allocations").fetchone()[0] == 0


def test_the_random_counts_are_fixed_per_unit_and_week_by_the_secret(db):
    units = add_units(db, 40, group="C")
    for u in units:
        add_ended(db, u, ["answered"] * 40)
    bases = dict.fromkeys(units, 2)
    first = allocation.for_week(db, MONDAY, bases, settings=SETTINGS)[0]
    again = allocation.for_week(db, MONDAY, bases, settings=SETTINGS)[0]
    assert first == again  # the same week decided again (before it is stored) draws the same numbers
    assert {a.tests for a in first.values()} == {0, 1, 2}
    assert all(a.reason == "above" for a in first.values())
    other_secret = allocation.for_week(db, MONDAY, bases, settings=SETTINGS.with_values(secret_key="another"))[0]
    assert [a.tests for a in other_secret.values()] != [a.tests for a in first.values()]
    draw = allocation.keyed_draws("test-secret", MONDAY)
    assert draw(units[0]) == allocation.keyed_draws("test-secret", MONDAY)(units[0])
    assert draw(units[0]) != allocation.keyed_draws("test-secret", MONDAY + timedelta(days=7))(units[0])


def test_month_weeks_and_month_due_by_hand():
    # March 2026: Monday the 2nd starts a whole week with three more after it (9, 16, 23); the week of the
    # 30th runs into April, so it guarantees neither month.
    assert allocation.month_weeks(date(2026, 3, 2)) == (date(2026, 3, 1), 3)
    assert allocation.month_weeks(date(2026, 3, 23)) == (date(2026, 3, 1), 0)
    assert allocation.month_weeks(date(2026, 3, 30)) is None
    # 4 needed, 1 so far, N = 2: with one whole week after this one, 1 this week; as the last whole week, 2 (N)
    assert allocation.month_due(4, 1, 2, 1) == 1
    assert allocation.month_due(4, 1, 2, 0) == 2
    assert allocation.month_due(4, 4, 2, 0) == 0
    # an office-hours line: a week of 2 tests is sure of 1 counted one only, and 1 more counted needs 2 tests
    assert allocation.month_due(4, 1, 2, 1, office=True) == 2
    assert allocation.month_due(4, 3, 2, 0, office=True) == 2


def end_week(db, week):
    """Every test planned for the week ends answered (what a compliant province does)."""
    db.execute("UPDATE attempts SET state = 'ended', state_rank = 9, outcome = 'answered', outcome_certain = 1, "
               "ended_at = planned_at WHERE plan_key LIKE ?", [f"plan:{week}:%"])


def test_settled_units_vary_week_to_week_yet_every_month_keeps_its_minimum_and_the_budget_holds(db):
    # 60 answering units of group C (2 a week, 4 counted tests a month for a verdict), half on office-hours
    # lines, planned week after week from March into May 2026; each week's tests end while the next week is
    # planned (the planner sees them still pending, as on a Friday).
    units = add_units(db, 30, group="C") + add_units(db, 30, group="C", hours="office", start=30)
    for u in units:
        add_ended(db, u, ["answered"] * 40)
    weeks = [MONDAY + timedelta(weeks=k) for k in range(10)]  # 2 March – 4 May
    counts = {u: [] for u in units}
    for previous, week in zip([None] + weeks, weeks):
        plan_week(db, week, now=local_week_start(week) - timedelta(days=3), rng=random.Random(week.toordinal()),
                  settings=SETTINGS)
        if previous:
            end_week(db, previous)
        planned = planned_per_unit(db, week)
        assert sum(planned.values()) <= 2 * len(units)
        for u in units:
            counts[u].append(planned.get(u, 0))
    end_week(db, weeks[-1])
    assert all(len(set(c)) > 1 for c in counts.values())  # no unit can tell how many tests its week holds
    assert sum(c.count(0) for c in counts.values()) > 0
    assert sum(sum(c) for c in counts.values()) < 0.7 * 2 * len(units) * len(weeks)
    for first, last in ((date(2026, 3, 1), date(2026, 4, 1)), (date(2026, 4, 1), date(2026, 5, 1))):
        rows = db.execute(
            "SELECT a.unit_id, count(*) FROM attempts a JOIN hotlines h ON h.unit_id = a.unit_id "
            "WHERE a.state = 'ended' AND a.purpose = 'scheduled' AND (h.hours IS NOT 'office' OR a.band = 'office') "
            "AND a.planned_at >= ? AND a.planned_at < ? GROUP BY a.unit_id",
            [iso(local_midnight_utc(first)), iso(local_midnight_utc(last))]).fetchall()
        month = dict(rows)
        assert min(month.get(u, 0) for u in units) >= 4, first


# --------------------------------------------------------------------------------------------------- pages


def test_the_inspector_sees_the_reason_on_the_units_page(db, units, inspector_client):
    add_ended(db, units["SYT"], ["answered"] * 40)
    plan(db)
    html = inspector_client.get("/monitor/units/SYT").get_data(as_text=True)
    assert "Số lần gọi theo tuần và lý do" in html
    assert "Khoảng tin cậy nằm hẳn trên chuẩn: gọi ít hơn" in html
    assert "02/03/2026" in html and "40 / 40" in html


def test_an_agency_editor_never_sees_the_reason(db, units, editor_client):
    add_ended(db, units["SYT"], ["answered"] * 40)
    plan(db)
    assert editor_client.get("/monitor/units/SYT").status_code == 403
    for url in ("/my", "/units/SYT", "/reports/my", "/reports/units/SYT", "/api/hotlines/SYT", "/api/hotlines"):
        page = editor_client.get(url, follow_redirects=True).get_data(as_text=True)
        assert "leans_" not in page and "no_evidence" not in page
        assert "Số lần gọi theo tuần" not in page and "gọi ít hơn" not in page and "gọi nhiều hơn" not in page
