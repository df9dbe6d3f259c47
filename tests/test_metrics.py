"""Metrics on hand-built attempts whose right answers are worked out here, in the comments."""
import random
from datetime import date, datetime, timezone

import pytest

from monitor.reports import drilldown, summaries, tally, verdicts
from monitor.reports.measure import period_metrics
from monitor.reports.periods import Period, PeriodError, parse_month, parse_quarter, parse_range
from monitor.reports.reference import reference_interval, reference_tally, reference_verdict
from registry.clock import parse_iso
from registry.hotlines import set_hotline
from registry.units import create_unit

from .report_fixtures import accept_dispute, add_attempt, build_june, make_office_unit

JUNE = Period.month(2025, 6)


@pytest.fixture
def office_unit(db, units):
    return make_office_unit(db)


@pytest.fixture
def june(db, units, office_unit):
    return build_june(db, units, office_unit)


def test_unit_metrics_match_the_hand_computed_month(db, units, june):
    m = period_metrics(db, JUNE)
    syt = m.unit("SYT").tally
    # made: tests 0..13 (scheduled or manual, ended) = 14; retests are not tests.
    assert syt.made == 14
    # counted: 14 minus the provider error (10) and the accepted dispute (12) = 12.
    assert syt.counted == 12
    assert syt.excluded == {"provider_error": 1, "dispute_accepted": 1}
    # answered: 0, 1, 2, 6, 8 = 5 → 5/12.
    assert syt.answered == 5
    assert syt.answer_rate == pytest.approx(5 / 12)
    # failures by outcome: no_answer 3, 9, 11; busy 4, 13; unreachable 5; redirected 7; machine only in 12 (excluded).
    assert {code: syt.count(code) for code in ("no_answer", "busy", "unreachable", "redirected", "machine")} == {
        "no_answer": 3, "busy": 2, "unreachable": 1, "redirected": 1, "machine": 0}
    assert syt.rate("no_answer") == pytest.approx(3 / 12)
    # confirmed: 3, 4, 9, 11, 13 = 5; retest answered: 5; still pending: 7.
    assert (syt.confirmed, syt.retest_passed, syt.unconfirmed) == (5, 1, 1)
    # seven retests (after 3, 4, 5, 9, 11, 12, 13) are evidence, not tests.
    assert syt.retests == 7
    # within 15 s: 9.0, 5.0, 12.0 → 3 of 12 counted tests.
    assert syt.fast == 3 and syt.fast_rate == pytest.approx(0.25)
    # sorted times 5, 9, 12, 20, 30: median = the 3rd = 12; p90 at position 0.9 × 4 = 3.6 → 20 + 0.6 × 10 = 26.
    assert syt.median_seconds == pytest.approx(12.0)
    assert syt.p90_seconds == pytest.approx(26.0)
    # runs of counted failures: 3-4-5 (3), 7 (1), 9-11-13 (3: the provider error 10 and the disputed 12 between
    # them neither break nor extend the run; counting 12 would give 4, letting 10 break it would give 2).
    assert syt.longest_run == 3
    assert m.unit("SYT").status == "fail"
    assert syt.manual == 0  # unit tallies skip the band breakdown; the detailed one has it
    assert m.unit("SYT").detailed().manual == 1


def test_unit_band_breakdown_matches_the_hand_computed_month(db, units, june):
    detailed = period_metrics(db, JUNE).unit("SYT").detailed()
    # weekend: 0 (answered), 5 (unreachable); office: 1, 6, 8 answered + 7, 9, 11, 13 failed; lunch: 2;
    # evening: 3; night: 4. Holidays: none in June.
    assert detailed.band_tests == {"weekend": 2, "office": 7, "lunch": 1, "evening": 1, "night": 1}
    assert detailed.band_answered == {"weekend": 1, "office": 3, "lunch": 1}
    assert detailed.band_rate("office") == pytest.approx(3 / 7)
    assert detailed.band_rate("holiday") is None
    assert (detailed.counted, detailed.answered, detailed.confirmed) == (12, 5, 5)


def test_office_hours_hotline_is_judged_on_office_hours_and_its_other_tests_are_shown_apart(db, units, june):
    off = period_metrics(db, JUNE).unit("OFF")
    t = off.tally
    # judged: a (answered), c (no_answer, retest answered), e (answered) → 2 of 3.
    assert (t.counted, t.answered) == (3, 2)
    # apart: b (evening, no_answer) and d (Saturday, answered).
    assert (t.out_of_hours, t.out_of_hours_answered) == (2, 1)
    assert t.out_of_hours_rate == pytest.approx(0.5)
    # b's confirmation is out of hours; c's retest was answered → no confirmed failure counted.
    assert (t.confirmed, t.retest_passed) == (0, 1)
    # judged in time order: answered, failed, answered → longest run 1 (b would make it 2).
    assert t.longest_run == 1
    # times 10, 16 (d's 4.0 s is out of hours): median 13, p90 at 0.9 → 10 + 0.9 × 6 = 15.4; within 15 s: 1.
    assert t.median_seconds == pytest.approx(13.0) and t.p90_seconds == pytest.approx(15.4)
    assert t.fast == 1
    # 3 counted tests, group B asks for 4 before a verdict: not enough data, whatever the rate.
    assert off.status == "insufficient" and len(off.reasons) == 1 and "3" in off.reasons[0]


def test_groups_and_province_add_up_and_untested_units_are_listed(db, units, june):
    m = period_metrics(db, JUNE)
    by_code = {g.code: g for g in m.groups}
    assert [g.code for g in m.groups] == ["A", "B", "C"]
    assert (by_code["A"].tally.counted, by_code["A"].tally.answered) == (12, 5)
    assert (by_code["B"].tally.counted, by_code["B"].tally.answered) == (3, 2)
    assert (by_code["C"].units, by_code["C"].tested, by_code["C"].tally.counted) == (1, 0, 0)
    assert m.unit("XMA").status == "untested"
    # province: 15 counted, 7 answered; times 5, 9, 10, 12, 16, 20, 30 → median 12, p90 at 5.4 → 20 + 0.4 × 10 = 24.
    assert (m.total.counted, m.total.answered) == (15, 7)
    assert m.total.median_seconds == pytest.approx(12.0)
    assert m.total.p90_seconds == pytest.approx(24.0)
    assert m.total.excluded == {"provider_error": 1, "dispute_accepted": 1}
    assert m.total.out_of_hours == 2
    assert m.total.longest_run == 3
    # group tally band breakdown: A office 7 tests, B office 3 (only office hours are judged for OFF).
    assert by_code["A"].tally.band_tests["office"] == 7 and by_code["B"].tally.band_tests == {"office": 3}
    assert by_code["A"].failing == 1 and (by_code["B"].failing, by_code["B"].insufficient) == (0, 1)


def test_group_filter_keeps_only_that_group(db, units, june):
    m = period_metrics(db, JUNE, group="B")
    assert [u.code for u in m.units] == ["OFF"]
    assert m.total.counted == 3


def test_previous_period_and_delta(db, units, june):
    current = period_metrics(db, JUNE)
    previous = summaries.summary(db, JUNE.previous())
    summaries.attach_previous(current, previous)
    syt = current.unit("SYT")
    # May: 05-20 answered, 05-31 23:00 no_answer (pending) → 1 of 2.
    assert (syt.previous.counted, syt.previous.answered) == (2, 1)
    arrow, diff = verdicts.delta(syt.tally.answer_rate, syt.previous.answer_rate)
    # 5/12 − 1/2 = −1/12
    assert arrow == "▼" and diff == pytest.approx(-1 / 12)
    assert verdicts.delta(0.5, None) == ("–", None)
    assert verdicts.delta(0.5, 0.5)[0] == "="
    assert current.unit("OFF").previous is None


def test_light_summary_agrees_with_the_full_metrics(db, units, june):
    full = period_metrics(db, JUNE)
    light = summaries.summary(db, JUNE)
    for result in full.units:
        if result.tally.counted:
            t = light.units[result.unit["id"]]
            assert (t.counted, t.answered, t.confirmed) == (
                result.tally.counted, result.tally.answered, result.tally.confirmed)
    assert (light.total.counted, light.total.answered, light.total.confirmed) == (15, 7, 5)


def test_league_ranks_worst_first_within_each_group(db, units, june):
    worse = create_unit(db, {"code": "SXD", "name": "Sở Xây dựng", "group_code": "A"})
    set_hotline(db, worse, "0277 3855 555", actor=None)
    add_attempt(db, worse, "2025-06-10 09:00", "no_answer", confirmed=1)
    better = create_unit(db, {"code": "STP", "name": "Sở Tư pháp", "group_code": "A"})
    set_hotline(db, better, "0277 3866 666", actor=None)
    add_attempt(db, better, "2025-06-10 09:00", "answered", answer_seconds=3.0)
    ranked = verdicts.league(period_metrics(db, JUNE))
    group_a = [(u.code, u.rank) for u in ranked if u.unit["group_code"] == "A"]
    # SXD 0 % < SYT 41.7 % < STP 100 %
    assert group_a == [("SXD", 1), ("SYT", 2), ("STP", 3)]
    assert [(u.code, u.rank) for u in ranked if u.unit["group_code"] == "C"] == [("XMA", None)]


def test_same_answer_rate_ranks_more_confirmed_failures_first(db, units):
    other = create_unit(db, {"code": "SCT", "name": "Sở Công Thương", "group_code": "A"})
    set_hotline(db, other, "0277 3877 777", actor=None)
    # both 1 of 2 answered; SYT's failure is confirmed, SCT's retest was answered.
    add_attempt(db, units["SYT"], "2025-06-10 09:00", "answered", answer_seconds=3.0)
    add_attempt(db, units["SYT"], "2025-06-11 09:00", "busy", confirmed=1)
    add_attempt(db, other, "2025-06-10 09:00", "answered", answer_seconds=3.0)
    add_attempt(db, other, "2025-06-11 09:00", "busy", confirmed=0)
    ranked = [u.code for u in verdicts.league(period_metrics(db, JUNE)) if u.unit["group_code"] == "A"]
    assert ranked == ["SYT", "SCT"]


@pytest.mark.parametrize("filters, expected", [
    # counted tests of SYT: 12
    ({"scope": "counted"}, 12),
    ({"scope": "counted", "outcome": "answered"}, 5),
    ({"scope": "counted", "outcome": "failure", "confirmed": "1"}, 5),
    ({"scope": "counted", "outcome": "failure", "confirmed": "pending"}, 1),
    ({"scope": "counted", "outcome": "no_answer"}, 3),
    ({"scope": "counted", "band": "office"}, 7),
    ({"scope": "excluded"}, 2),
    ({"scope": "excluded", "outcome": "provider_error"}, 1),
    ({"scope": "retest"}, 7),
    ({"scope": "all"}, 21),  # 14 tests + 7 retests
])
def test_drill_down_lists_exactly_the_attempts_behind_each_figure(db, units, june, filters, expected):
    rows, total = drilldown.list_attempts(db, JUNE, unit_id=units["SYT"], **filters)
    assert total == expected == len(rows)
    assert [r["planned_at"] for r in rows] == sorted(r["planned_at"] for r in rows)


def test_drill_down_of_office_hours_hotline_separates_out_of_hours(db, units, june, office_unit):
    assert drilldown.list_attempts(db, JUNE, unit_id=office_unit, scope="out_of_hours")[1] == 2
    assert drilldown.list_attempts(db, JUNE, unit_id=office_unit, scope="counted")[1] == 3


def test_drill_down_rows_carry_the_evidence(db, units, june):
    rows, _ = drilldown.list_attempts(db, JUNE, unit_id=units["SYT"], outcome="redirected")
    assert rows[0]["transcript"].startswith("Dạ anh vui lòng gọi số")
    rows, _ = drilldown.list_attempts(db, JUNE, unit_id=units["SYT"], outcome="unreachable")
    assert rows[0]["sip_code"] == 480 and rows[0]["retest_outcome"] == "answered"
    rows, _ = drilldown.list_attempts(db, JUNE, unit_id=units["SYT"], scope="excluded", outcome="machine")
    assert rows[0]["dispute_status"] == "accepted"


@pytest.mark.parametrize("filters, field", [
    ({"outcome": "vanished"}, "outcome"), ({"band": "dawn"}, "band"), ({"scope": "nothing"}, "scope"),
    ({"confirmed": "maybe"}, "confirmed"),
])
def test_unknown_drill_down_filters_are_refused_with_the_field_named(db, filters, field):
    with pytest.raises(drilldown.FilterError) as exc:
        drilldown.list_attempts(db, JUNE, **filters)
    assert exc.value.field == field and exc.value.message


def test_confirmed_failures_are_the_evidence_of_the_report(db, units, june):
    evidence = drilldown.confirmed_failures(db, JUNE, [units["SYT"]])[units["SYT"]]
    assert [e["id"] for e in evidence] == [june[3], june[4], june[9], june[11], june[13]]
    assert all(e["retest_id"] for e in evidence)


def test_the_period_query_walks_the_covering_index_without_sorting(db):
    """Chronological characters per unit depend on it: no temp b-tree, the report index, units in rowid order."""
    start, end = JUNE.bounds()
    plan = " | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + tally.CODES_SQL,
                                               {"start": start, "end": end, "group": None}).fetchall())
    assert "attempts_report" in plan and "TEMP B-TREE" not in plan


def test_runs_follow_planned_time_not_insertion_order(db, units):
    # inserted out of order: the three failures are consecutive in time.
    for when, outcome in [("2025-06-10 09:00", "busy"), ("2025-06-02 09:00", "answered"),
                          ("2025-06-12 09:00", "no_answer"), ("2025-06-11 09:00", "busy"),
                          ("2025-06-05 09:00", "no_answer"), ("2025-06-20 09:00", "answered")]:
        add_attempt(db, units["SYT"], when, outcome, answer_seconds=6.0 if outcome == "answered" else None,
                    confirmed=None if outcome == "answered" else 1)
    assert period_metrics(db, JUNE).unit("SYT").tally.longest_run == 4  # 06-05, 06-10, 06-11, 06-12


def test_answer_time_unknown_counts_as_answered_but_not_in_the_percentiles(db, units):
    add_attempt(db, units["SYT"], "2025-06-02 09:00", "answered", answer_seconds=None)
    add_attempt(db, units["SYT"], "2025-06-03 09:00", "answered", answer_seconds=14.0)
    t = period_metrics(db, JUNE).unit("SYT").tally
    assert (t.counted, t.answered, t.fast) == (2, 2, 1)
    assert t.median_seconds == pytest.approx(14.0)


@pytest.mark.parametrize("seed", range(12))
def test_random_months_agree_with_a_row_by_row_reference(db, units, office_unit, inspector, seed):
    rnd = random.Random(seed)
    # a standard that some months' intervals lie wholly below, and a per-group minimum that some miss
    standard = rnd.choice([0.5, 0.8, 0.9, 0.95])
    db.execute("UPDATE groups SET min_tests = ?", [rnd.choice([1, 4, 8, 20])])
    rows = {units["SYT"]: [], office_unit: []}
    for unit_id in rows:
        for _ in range(rnd.randrange(5, 40)):
            outcome = rnd.choice(["answered"] * 5 + ["no_answer", "busy", "machine", "unreachable", "redirected",
                                                      "provider_error"])
            when = f"2025-06-{rnd.randrange(1, 31):02d} {rnd.randrange(24):02d}:{rnd.randrange(60):02d}"
            seconds = round(rnd.uniform(1, 45), 2) if outcome == "answered" else None
            purpose = rnd.choice(["scheduled"] * 6 + ["manual", "retest"])
            conf = rnd.choice([None, 0, 1]) if outcome not in ("answered", "provider_error") else None
            attempt_id = add_attempt(db, unit_id, when, outcome, answer_seconds=seconds, confirmed=conf, purpose=purpose)
            # about one call in ten held for review; some calls decided by an inspector (certain from then on),
            # some reclassified by the rules (in outcome_reviews too, but no inspector's decision)
            if rnd.random() < 0.1:
                db.execute("UPDATE attempts SET outcome_certain = 0 WHERE id = ?", [attempt_id])
            reviewed = outcome != "provider_error" and rnd.random() < 0.15
            if reviewed or rnd.random() < 0.1:
                db.execute("INSERT INTO outcome_reviews (attempt_id, at, user_id, old_outcome, new_outcome, reason) "
                           "VALUES (?, '2025-07-01T00:00:00.000Z', ?, ?, ?, 'Nghe lại ghi âm')",
                           [attempt_id, inspector["id"] if reviewed else None, outcome, outcome])
            if reviewed:
                db.execute("UPDATE attempts SET outcome_basis = 'inspector', outcome_certain = 1 WHERE id = ?",
                           [attempt_id])
            disputed = outcome not in ("answered", "provider_error") and purpose != "retest" and rnd.random() < 0.2
            if disputed:
                accept_dispute(db, attempt_id, unit_id)
            row = db.execute_returning_dicts("SELECT * FROM attempts WHERE id = ?", [attempt_id])[0]
            row["disputed"], row["reviewed"] = disputed, reviewed
            rows[unit_id].append(row)
    m = period_metrics(db, JUNE, min_answer_rate=standard)
    for unit_id, unit_rows in rows.items():
        result = next(u for u in m.units if u.unit["id"] == unit_id)
        t = result.tally
        ref = reference_tally(unit_rows, unit_id == office_unit)
        assert (t.counted, t.answered, t.confirmed, t.out_of_hours, t.longest_run) == (
            ref.counted, ref.answered, ref.confirmed, ref.out_of_hours, ref.longest_run)
        assert (t.reviewed, t.upheld, {k: v for k, v in t.excluded.items() if v}) == (
            ref.reviewed, ref.upheld, ref.excluded)
        if ref.median_seconds is None:
            assert t.median_seconds is None and t.p90_seconds is None
        else:
            assert (t.median_seconds, t.p90_seconds) == pytest.approx((ref.median_seconds, ref.p90_seconds))
        assert result.status == reference_verdict(ref, result.min_tests, standard)
        if ref.counted:
            assert t.answer_interval == pytest.approx(reference_interval(ref.answered, ref.counted))


@pytest.mark.parametrize("values, p, expected", [
    ([5, 9, 12, 20, 30], 0.5, 12), ([5, 9, 12, 20, 30], 0.9, 26), ([10, 16], 0.5, 13), ([7], 0.9, 7), ([], 0.5, None),
])
def test_percentile_interpolates_between_ranks(values, p, expected):
    assert tally.percentile(values, p) == expected


# --------------------------------------------------------------------------------------------------- periods

@pytest.mark.parametrize("period, start, end, label, key", [
    (Period.month(2025, 6), date(2025, 6, 1), date(2025, 6, 30), "tháng 6 năm 2025", "2025-06"),
    (Period.month(2024, 2), date(2024, 2, 1), date(2024, 2, 29), "tháng 2 năm 2024", "2024-02"),
    (Period.quarter(2025, 4), date(2025, 10, 1), date(2025, 12, 31), "quý IV năm 2025", "2025-Q4"),
    (Period.between(date(2025, 6, 1), date(2025, 6, 15)), date(2025, 6, 1), date(2025, 6, 15),
     "từ ngày 01/06/2025 đến ngày 15/06/2025", "2025-06-01_2025-06-15"),
])
def test_periods_have_their_dates_labels_and_keys(period, start, end, label, key):
    assert (period.start, period.end, period.label, period.key) == (start, end, label, key)


@pytest.mark.parametrize("period, previous", [
    (Period.month(2025, 1), Period.month(2024, 12)),
    (Period.quarter(2025, 1), Period.quarter(2024, 4)),
    (Period.between(date(2025, 6, 11), date(2025, 6, 20)), Period(date(2025, 6, 1), date(2025, 6, 10))),
])
def test_previous_period_is_of_the_same_kind(period, previous):
    assert period.previous() == previous


def test_period_bounds_are_local_midnights_in_utc():
    # 00:00 in Đồng Tháp is 17:00 UTC the day before.
    start, end = JUNE.bounds()
    assert (parse_iso(start), parse_iso(end)) == (datetime(2025, 5, 31, 17, tzinfo=timezone.utc),
                                                  datetime(2025, 6, 30, 17, tzinfo=timezone.utc))


def test_a_range_that_is_a_whole_month_or_quarter_is_recognised():
    assert parse_range("2025-06-01", "2025-06-30").kind == "month"
    assert parse_range("2025-04-01", "2025-06-30").kind == "quarter"
    assert parse_range("2025-04-02", "2025-06-30").kind == "custom"


@pytest.mark.parametrize("start, end, words", [
    ("", "2025-06-30", "ngày bắt đầu"),
    ("2025-13-01", "2025-06-30", "không phải là một ngày có thật"),
    ("01/06/2025", "2025-06-30", "NNNN-TT-NN"),
    ("2025-07-01", "2025-06-30", "phải trước hoặc bằng"),
    ("2020-01-01", "2025-06-30", "quá dài"),
])
def test_bad_ranges_are_refused_in_vietnamese(start, end, words):
    with pytest.raises(PeriodError) as exc:
        parse_range(start, end)
    assert words in exc.value.message


@pytest.mark.parametrize("text", ["2025-13", "June", "2025/06", ""])
def test_bad_months_are_refused(text):
    with pytest.raises(PeriodError):
        parse_month(text)


@pytest.mark.parametrize("text", ["2025-Q5", "Q2", "2025-2"])
def test_bad_quarters_are_refused(text):
    with pytest.raises(PeriodError):
        parse_quarter(text)


def test_closed_periods_are_remembered_until_something_in_them_changes(db, units, june):
    september = date(2025, 9, 1)
    first = summaries.closed_summary(db, JUNE, group=None, today=september)
    assert (first.total.counted, first.total.answered) == (15, 7)
    assert summaries.closed_summary(db, JUNE, group=None, today=september) is first
    # an accepted dispute on test 3 (a confirmed no_answer): 14 counted
    accept_dispute(db, june[3], units["SYT"])
    second = summaries.closed_summary(db, JUNE, group=None, today=september)
    assert second is not first and second.total.counted == 14
    # an inspector overrides test 9 (no_answer → answered), recorded in outcome_reviews: 7 + 1 answered
    db.execute("UPDATE attempts SET outcome = 'answered', answer_seconds = 4.0, original_outcome = 'no_answer', "
               "confirmed = NULL WHERE id = ?", [june[9]])
    db.execute("INSERT INTO outcome_reviews (attempt_id, at, old_outcome, new_outcome, reason) "
               "VALUES (?, '2025-08-01T00:00:00.000Z', 'no_answer', 'answered', 'Nghe ghi âm: có người nghe')", [june[9]])
    assert summaries.closed_summary(db, JUNE, group=None, today=september).total.answered == 8
    # an attempt planned in June that ended late
    add_attempt(db, units["SYT"], "2025-06-25 09:00", "answered", answer_seconds=3.0)
    assert summaries.closed_summary(db, JUNE, group=None, today=september).total.counted == 15
    # a period not closed yet is always measured afresh
    early_july = date(2025, 7, 1)
    assert summaries.closed_summary(db, JUNE, group=None, today=early_july) is not summaries.closed_summary(
        db, JUNE, group=None, today=early_july)


def test_trend_reuses_known_periods_and_measures_the_others(db, units, june):
    known = summaries.summary(db, JUNE)
    points = summaries.trend(db, summaries.trend_periods(JUNE, 3), known=[known], today=date(2025, 9, 1))
    assert [p.period.key for p in points] == ["2025-04", "2025-05", "2025-06"]
    assert points[-1] is known
    assert (points[1].total.counted, points[1].total.answered) == (2, 1)  # May
    assert points[0].total.counted == 0


def test_closed_period_summaries_survive_a_restart_through_the_database(db, units, june, monkeypatch):
    september = date(2025, 9, 1)
    first = summaries.closed_summary(db, JUNE, group=None, today=september)
    summaries._MEMO.clear()  # a new process: nothing in memory
    monkeypatch.setattr(summaries, "summary", lambda *a, **k: pytest.fail("a stored summary should be reused"))
    again = summaries.closed_summary(db, JUNE, group=None, today=september)
    assert (again.total.counted, again.total.answered, again.total.confirmed) == (
        first.total.counted, first.total.answered, first.total.confirmed)
    assert {k: (t.counted, t.answered) for k, t in again.units.items()} == {
        k: (t.counted, t.answered) for k, t in first.units.items()}
    monkeypatch.undo()
    # something in June changes (an accepted dispute): the stored summary's stamp no longer matches
    summaries._MEMO.clear()
    accept_dispute(db, june[3], units["SYT"])
    assert summaries.closed_summary(db, JUNE, group=None, today=september).total.counted == first.total.counted - 1
