"""The verdict rules on hand-built months: enough tests, the 95 % interval, upheld failures, exclusions.

Every expected value is worked out in the comments. The standard is 90 %; the groups' minimum is 4 unless
a test changes it.
"""
from datetime import datetime, timezone

import pytest

from monitor import labels
from monitor.attempts.review import review_outcome
from monitor.reports import charts, figures, wording
from monitor.reports.intervals import wilson
from monitor.reports.measure import period_metrics
from monitor.reports.periods import Period
from monitor.reports.report import build_report
from monitor.reports.tables import group_rows, league_rows, method
from registry.groups import create_group, update_group
from registry.hotlines import set_hotline
from registry.units import create_unit

from .conftest import csrf_from, login
from .report_fixtures import accept_dispute, add_attempt, failure_with_retest

JUNE = Period.month(2025, 6)
NOW = datetime(2025, 7, 2, 3, 0, tzinfo=timezone.utc)


def _month(db, unit_id, answered: int, failures=(), *, start_day: int = 2) -> list[int]:
    """`answered` answered tests then one test per failure, each a day apart at 09:00 (office hours).

    failures: (outcome, confirmed) pairs; returns the failures' attempt ids.
    """
    day = start_day
    for _ in range(answered):
        add_attempt(db, unit_id, f"2025-06-{day:02d} 09:00", "answered", answer_seconds=6.0)
        day += 1
    ids = []
    for outcome, confirmed in failures:
        ids.append(add_attempt(db, unit_id, f"2025-06-{day:02d} 09:00", outcome, confirmed=confirmed))
        day += 1
    return ids


def _result(db, code="SYT", **kwargs):
    return period_metrics(db, JUNE, min_answer_rate=0.9, **kwargs).unit(code)


# ------------------------------------------------------------------------------------------------ intervals

@pytest.mark.parametrize("answered, counted, low, high", [
    (8, 10, 0.490, 0.943),  # p = .8, z² = 3.8415: centre .7168, half-width .2266
    (10, 10, 0.722, 1.0),  # all answered: the upper bound is exactly 1
    (0, 10, 0.0, 0.278),
    (9, 10, 0.596, 0.982),
    (45, 50, 0.786, 0.957),
    (1, 1, 0.207, 1.0),
])
def test_wilson_interval_matches_known_values(answered, counted, low, high):
    got = wilson(answered, counted)
    assert got == pytest.approx((low, high), abs=0.0005)


def test_no_tests_no_interval():
    assert wilson(0, 0) == (None, None)


# ------------------------------------------------------------------------------------------- enough tests

def test_three_counted_tests_are_not_enough_for_a_verdict_even_with_confirmed_failures(db, units):
    # N − 1 = 3 counted tests, all confirmed failures: not enough data, with the count in the reason
    _month(db, units["SYT"], 0, [("no_answer", 1)] * 3)
    result = _result(db)
    assert result.status == "insufficient"
    assert "mới có 3 cuộc gọi được tính, cần ít nhất 4" in str(result.reasons[0])
    assert labels.verdict("insufficient") == "Chưa đủ dữ liệu"


def test_four_counted_tests_give_a_verdict(db, units):
    # N = 4: the same confirmed failure now fails the unit
    _month(db, units["SYT"], 1, [("no_answer", 1)] * 3)
    result = _result(db)
    assert result.status == "fail"
    assert "3 lỗi đã được cuộc gọi lại xác nhận" in str(result.reasons[0])


def test_no_counted_test_is_untested(db, units):
    add_attempt(db, units["SYT"], "2025-06-02 09:00", "provider_error")
    assert _result(db).status == "untested"


def test_the_minimum_is_per_group_and_editable(db, units):
    # 5 answered of 5 passes with group A's default 4, and lacks data once A asks for 6
    _month(db, units["SYT"], 5)
    assert _result(db).status == "pass"
    update_group(db, "A", {"min_tests": "6"})
    result = _result(db)
    assert (result.status, result.min_tests) == ("insufficient", 6)
    # group C keeps its own minimum
    assert period_metrics(db, JUNE).min_tests == {"A": 6, "C": 4}  # the groups with units


@pytest.mark.parametrize("value, message", [("0", "từ 1 đến 100"), ("101", "từ 1 đến 100"), ("bốn", "số nguyên")])
def test_bad_minimums_are_refused_in_vietnamese(db, value, message):
    from registry.errors import RegistryError

    with pytest.raises(RegistryError) as exc:
        update_group(db, "A", {"min_tests": value})
    assert message in exc.value.message and exc.value.field == "min_tests"


def test_a_new_group_gets_the_default_minimum(db):
    create_group(db, {"code": "D", "name": "Ngành dọc", "tests_per_week": "2", "min_tests": ""})
    assert db.execute("SELECT min_tests FROM groups WHERE code = 'D'").fetchone()[0] == 4


def test_inspector_sets_a_groups_minimum_in_the_groups_editor(client, db, inspector):
    assert login(client, inspector["email"], inspector["password"]).status_code == 302
    page = client.get("/groups/B").get_data(as_text=True)
    assert 'name="min_tests"' in page and 'value="4"' in page
    response = client.post("/groups/B", data={"name": "Cấp huyện", "sort_order": "2", "tests_per_week": "3",
                                              "min_tests": "8", "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert db.execute("SELECT min_tests FROM groups WHERE code = 'B'").fetchone()[0] == 8
    listing = client.get("/groups").get_data(as_text=True)
    assert "Tối thiểu để kết luận" in listing and ">8</td>" in listing


# ----------------------------------------------------------------------------------------------- failures

def test_an_unconfirmed_failure_does_not_fail_a_unit(db, units):
    # 9 of 10 answered, the failure awaiting its retest: interval 59.6 %–98.2 % reaches 90 % → pass
    _month(db, units["SYT"], 9, [("no_answer", None)])
    result = _result(db)
    assert (result.status, result.reasons) == ("pass", [])
    assert result.interval == pytest.approx((0.596, 0.982), abs=0.0005)


def test_a_failure_whose_retest_was_answered_does_not_fail_a_unit(db, units):
    _month(db, units["SYT"], 9, [("busy", 0)])
    assert _result(db).status == "pass"


def test_a_failure_confirmed_by_its_retest_fails_the_unit(db, units):
    _month(db, units["SYT"], 9, [("busy", 1)])
    result = _result(db)
    assert result.status == "fail" and len(result.reasons) == 1


def test_a_failure_reviewed_by_an_inspector_fails_the_unit(db, units, inspector):
    # 9 of 10, the failure unconfirmed but reviewed: an inspector listened and kept it a failure
    (failure,) = _month(db, units["SYT"], 9, [("no_answer", None)])
    review_outcome(db, failure, "no_answer", "Nghe ghi âm: đổ chuông hết thời gian, không ai nghe",
                   user_id=inspector["id"], now=NOW)
    assert db.execute("SELECT outcome_basis FROM attempts WHERE id = ?", [failure]).fetchone()[0] == "inspector"
    result = _result(db)
    assert result.status == "fail"
    assert (result.tally.reviewed, result.tally.upheld, result.tally.confirmed) == (1, 1, 0)
    assert "1 lỗi đã được cán bộ kiểm tra xem xét và giữ nguyên" in str(result.reasons[0])


def test_a_failure_both_confirmed_and_reviewed_counts_once(db, units, inspector):
    _month(db, units["SYT"], 9)
    failure, _ = failure_with_retest(db, units["SYT"], "2025-06-20 09:00", "no_answer", "no_answer")
    review_outcome(db, failure, "no_answer", "Nghe ghi âm", user_id=inspector["id"], now=NOW)
    result = _result(db)
    assert (result.tally.confirmed, result.tally.reviewed, result.tally.upheld) == (1, 1, 1)
    assert len(result.reasons) == 1  # the confirmation only: the review adds no second reason


# ----------------------------------------------------------------------------------------------- interval

def test_a_low_rate_whose_interval_reaches_the_standard_passes(db, units):
    # 8 of 10 (80 %, below 90 %) with unconfirmed failures: interval 49.0 %–94.3 % reaches 90 % → pass
    _month(db, units["SYT"], 8, [("no_answer", None)] * 2)
    result = _result(db)
    assert result.tally.answer_rate == pytest.approx(0.8)
    assert result.status == "pass"


def test_an_interval_wholly_below_the_standard_fails_the_unit(db, units):
    # 5 of 10 with unconfirmed failures: interval 23.7 %–76.3 %, wholly below 90 % → fail
    _month(db, units["SYT"], 5, [("no_answer", None)] * 5)
    result = _result(db)
    assert result.status == "fail" and len(result.reasons) == 1
    assert str(result.reasons[0]) == ("tỷ lệ có người nghe máy 50%, cả khoảng tin cậy 95% (24%–76%) thấp hơn "
                                      "mức 90%")


def test_the_interval_boundary_is_strictly_below(db, units):
    # 6 of 10: high bound 83.2 %. Below a 85 % standard → fail; a 83 % standard is inside the interval → pass.
    _month(db, units["SYT"], 6, [("no_answer", None)] * 4)
    assert period_metrics(db, JUNE, min_answer_rate=0.85).unit("SYT").status == "fail"
    assert period_metrics(db, JUNE, min_answer_rate=0.83).unit("SYT").status == "pass"


# --------------------------------------------------------------------------------------------- exclusions

def test_a_held_call_counts_for_nobody_and_is_counted_apart(db, units):
    # 4 answered + a confirmed failure held for review: 4 counted, all answered → pass; held 1
    (held,) = _month(db, units["SYT"], 4, [("no_answer", 1)])
    db.execute("UPDATE attempts SET outcome_certain = 0 WHERE id = ?", [held])
    result = _result(db)
    assert (result.tally.counted, result.tally.excluded) == (4, {"held": 1})
    assert result.status == "pass"


def test_an_accepted_dispute_takes_its_failure_out(db, units):
    (disputed,) = _month(db, units["SYT"], 4, [("busy", 1)])
    accept_dispute(db, disputed, units["SYT"])
    result = _result(db)
    assert (result.tally.counted, result.tally.excluded, result.status) == (4, {"dispute_accepted": 1}, "pass")


def test_our_side_failures_never_count_against_a_unit(db, units):
    # 3 answered and 2 provider errors: 3 counted — not enough data, never a failure of the unit
    add_attempt(db, units["SYT"], "2025-06-20 09:00", "provider_error")
    add_attempt(db, units["SYT"], "2025-06-21 09:00", "provider_error")
    _month(db, units["SYT"], 3)
    result = _result(db)
    assert (result.tally.counted, result.tally.excluded, result.status) == (3, {"provider_error": 2}, "insufficient")


def test_exclusions_are_counted_by_reason_per_unit_group_and_province(db, units):
    syt, xma = units["SYT"], units["XMA"]
    held, disputed = _month(db, syt, 4, [("no_answer", 1), ("busy", 1)])
    db.execute("UPDATE attempts SET outcome_certain = 0 WHERE id = ?", [held])
    accept_dispute(db, disputed, syt)
    add_attempt(db, syt, "2025-06-25 09:00", "provider_error")
    (xma_held,) = _month(db, xma, 1, [("answered", None)], start_day=10)
    db.execute("UPDATE attempts SET outcome_certain = 0 WHERE id = ?", [xma_held])
    m = period_metrics(db, JUNE)
    assert m.unit("SYT").tally.excluded == {"held": 1, "dispute_accepted": 1, "provider_error": 1}
    groups = {g.code: g.tally.excluded for g in m.groups}
    assert groups["A"] == {"held": 1, "dispute_accepted": 1, "provider_error": 1} and groups["C"] == {"held": 1}
    assert m.total.excluded == {"held": 2, "dispute_accepted": 1, "provider_error": 1}


# ------------------------------------------------------------------------------------------ the report

@pytest.fixture
def report(db, units):
    # SYT: 5 of 10, interval wholly below → fail; XMA: 2 answered → not enough data;
    # STP (group A): 9 of 10, unconfirmed failure → pass
    _month(db, units["SYT"], 5, [("no_answer", None)] * 5)
    _month(db, units["XMA"], 2)
    stp = create_unit(db, {"code": "STP", "name": "Sở Tư pháp", "group_code": "A"})
    set_hotline(db, stp, "0277 3866 666", actor=None)
    _month(db, stp, 9, [("no_answer", None)])
    return build_report(db, JUNE, now=NOW)


def test_the_report_tables_carry_the_interval_and_the_verdicts(report):
    rows = {row["code"]: row for row in league_rows(report)}
    assert rows["SYT"]["status"] == "Chưa đạt" and rows["XMA"]["status"] == "Chưa đủ dữ liệu"
    assert rows["STP"]["status"] == "Đạt"
    assert (rows["SYT"]["answer_rate_low"], rows["SYT"]["answer_rate_high"]) == pytest.approx((0.237, 0.763), abs=5e-4)
    assert rows["XMA"]["min_tests"] == 4
    total = group_rows(report)[-1]
    # province: 16 of 22 answered → 52.3 %–88.2 % (Wilson)
    assert (total["answered"], total["tests_counted"]) == (16, 22)
    assert (total["answer_rate_low"], total["answer_rate_high"]) == pytest.approx(wilson(16, 22))
    assert total["insufficient_units"] == 1 and total["failing_units"] == 1
    assert [u.code for u in report.failing] == ["SYT"]
    # section IV names the unit without enough data, to be tested again
    assert any("chưa có đủ số cuộc gọi được tính" in text and "UBND xã Mỹ An" in text for text in report.recommendations)


def test_the_report_states_the_rule_in_plain_vietnamese(report):
    rule = " ".join(method(report)["verdict_rule"])
    for words in ("ít nhất 4 cuộc gọi được tính", "Chưa đủ dữ liệu", "khoảng tin cậy 95%", "phương pháp Wilson",
                  "đã được cuộc gọi lại xác nhận", "cán bộ kiểm tra xem xét", "cả khoảng tin cậy nằm dưới mức 90%",
                  "giải trình được chấp nhận", "lỗi do hệ thống gọi hoặc nhà mạng"):
        assert words in rule, words


def test_the_rule_names_each_groups_minimum_when_they_differ():
    rule = " ".join(wording.verdict_rule(0.9, {"A": 4, "B": 6}))
    assert "Nhóm A: 4; Nhóm B: 6" in rule


def test_bar_chart_draws_the_interval_as_an_error_bar():
    svg = charts.bar_chart("c", "t", [("a", 0.5, "5/10 cuộc", wilson(5, 10)), ("b", None, "0/0 cuộc", (None, None)),
                                      ("c", 0.9, "", None)], target=0.9)
    assert svg.count('class="error-bar"') == 1  # only the bar with an interval
    assert "a: 50,0% (khoảng tin cậy 95%: 24%–76%) (5/10 cuộc)" in svg
    assert "style=" not in svg


def test_report_page_shows_the_interval_beside_every_rate_and_the_rule(report, app, client, db, inspector):
    assert login(client, inspector["email"], inspector["password"]).status_code == 302
    html = client.get("/reports/?month=2025-06").get_data(as_text=True)
    assert "Cách kết luận Đạt, Chưa đạt" in html and "phương pháp Wilson" in html
    assert "(24%–76%)" in html  # SYT's interval beside its rate
    assert "Chưa đủ dữ liệu" in html and "mới có 2 cuộc gọi được tính" in html
    # one error bar per band with tests (office hours and the weekend days among them)
    bands = sum(1 for n in report.total.band_tests.values() if n)
    assert bands >= 2 and figures.band_chart(report).count('class="error-bar"') == bands


def test_a_reclassification_by_the_rules_is_not_an_inspectors_review(db, units):
    # the rules' new version reads a failure again (kept in outcome_reviews, no user): still unconfirmed
    from monitor.attempts.outcomes import Classification
    from monitor.attempts.review import record_reclassification

    (failure,) = _month(db, units["SYT"], 9, [("no_answer", None)])
    found = Classification("busy", "Máy bận (SIP 486)", "signalling", True)
    assert record_reclassification(db, failure, found, version="2", now=NOW)
    result = _result(db)
    assert (result.tally.count("busy"), result.tally.reviewed, result.status) == (1, 0, "pass")
