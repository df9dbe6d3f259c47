"""Disputes: an agency contests its own failed tests, an inspector decides with a reason, accepted ones leave the
metrics, and nothing is ever deleted. Function rules first, then the same through the pages by role."""
import pytest

from monitor import disputes
from monitor.reports.measure import period_metrics
from monitor.reports.periods import Period

from .conftest import csrf_from, login, make_editor
from .report_fixtures import add_attempt, failure_with_retest

JUNE = Period.month(2025, 6)


pytestmark = pytest.mark.usefixtures("quick_password_hashing")  # see conftest.py


@pytest.fixture
def failed(db, units):
    """SYT: one answered test and one confirmed no_answer (with its retest) in June."""
    add_attempt(db, units["SYT"], "2025-06-02 09:00", "answered", answer_seconds=6.0)
    original, retest = failure_with_retest(db, units["SYT"], "2025-06-03 09:00", "no_answer", "no_answer")
    return {"original": original, "retest": retest,
            "answered": add_attempt(db, units["SYT"], "2025-06-04 09:00", "answered", answer_seconds=4.0)}


@pytest.fixture
def other_editor(db, units):
    return make_editor(db, units["XMA"], "bientap@myan.test.vn")


def test_own_editor_opens_a_dispute_on_a_failed_test(db, editor, failed):
    dispute_id = disputes.open_dispute(db, failed["original"], editor, "  Máy có người trực, nhà mạng báo sự cố.  ")
    row = disputes.get_dispute(db, dispute_id)
    assert (row["status"], row["unit_code"], row["opened_by"]) == ("open", "SYT", editor["id"])
    assert row["explanation"] == "Máy có người trực, nhà mạng báo sự cố."


@pytest.mark.parametrize("who, status", [("other_editor", 403), ("inspector", 403)])
def test_only_the_units_own_editor_may_dispute(db, failed, request, who, status):
    with pytest.raises(disputes.DisputeError) as exc:
        disputes.open_dispute(db, failed["original"], request.getfixturevalue(who), "Giải trình")
    assert exc.value.status == status


@pytest.mark.parametrize("which, words", [
    ("answered", "kết quả không đạt"), ("retest", "cuộc gọi kiểm tra ban đầu"),
])
def test_only_failed_tests_can_be_disputed(db, editor, failed, which, words):
    with pytest.raises(disputes.DisputeError) as exc:
        disputes.open_dispute(db, failed[which], editor, "Giải trình")
    assert words in exc.value.message


@pytest.mark.parametrize("text, words", [("", "Hãy ghi giải trình"), ("   ", "Hãy ghi giải trình"),
                                         ("x" * 2001, "2000 ký tự")])
def test_explanation_is_required_and_bounded(db, editor, failed, text, words):
    with pytest.raises(disputes.DisputeError) as exc:
        disputes.open_dispute(db, failed["original"], editor, text)
    assert words in exc.value.message
    assert db.execute("SELECT count(*) FROM disputes").fetchone()[0] == 0


def test_one_live_dispute_per_attempt_and_a_new_one_after_rejection(db, editor, inspector, failed):
    first = disputes.open_dispute(db, failed["original"], editor, "Lần một")
    with pytest.raises(disputes.DisputeError) as exc:
        disputes.open_dispute(db, failed["original"], editor, "Lần hai")
    assert "đã có một khiếu nại" in exc.value.message
    disputes.decide_dispute(db, first, inspector, False, "Ghi âm cho thấy không ai nghe máy.")
    second = disputes.open_dispute(db, failed["original"], editor, "Lần hai, có biên bản nhà mạng")
    history = disputes.history(db, failed["original"])
    assert [(d["id"], d["status"]) for d in history] == [(first, "rejected"), (second, "open")]


def test_accepting_takes_the_attempt_out_of_the_metrics_and_keeps_the_history(db, units, editor, inspector, failed):
    before = period_metrics(db, JUNE).unit("SYT").tally
    # 3 counted (2 answered, 1 confirmed no_answer)
    assert (before.counted, before.answered, before.confirmed) == (3, 2, 1)
    dispute_id = disputes.open_dispute(db, failed["original"], editor, "Sự cố tổng đài đã báo nhà mạng")
    assert period_metrics(db, JUNE).unit("SYT").tally.counted == 3  # open: still counted
    disputes.decide_dispute(db, dispute_id, inspector, True, "Nhà mạng xác nhận sự cố ngày 03/6")
    after = period_metrics(db, JUNE).unit("SYT").tally
    # the failure leaves: 2 counted, both answered; one exclusion by dispute
    assert (after.counted, after.answered, after.confirmed) == (2, 2, 0)
    assert after.excluded == {"dispute_accepted": 1}
    row = disputes.get_dispute(db, dispute_id)
    assert (row["status"], row["decided_by"], row["decision_reason"]) == ("accepted", inspector["id"],
                                                                         "Nhà mạng xác nhận sự cố ngày 03/6")
    # the attempt itself is unchanged: the outcome stays what the call showed
    assert db.execute("SELECT outcome FROM attempts WHERE id = ?", [failed["original"]]).fetchone()[0] == "no_answer"


def test_rejecting_keeps_the_failure_in_the_metrics(db, editor, inspector, failed):
    dispute_id = disputes.open_dispute(db, failed["original"], editor, "Không đồng ý")
    disputes.decide_dispute(db, dispute_id, inspector, False, "Cuộc gọi lại cũng không ai nghe")
    assert period_metrics(db, JUNE).unit("SYT").tally.confirmed == 1


def test_deciding_needs_an_inspector_a_reason_and_an_open_dispute(db, editor, inspector, failed):
    dispute_id = disputes.open_dispute(db, failed["original"], editor, "Giải trình")
    with pytest.raises(disputes.DisputeError) as exc:
        disputes.decide_dispute(db, dispute_id, editor, True, "Tự chấp nhận")
    assert exc.value.status == 403
    with pytest.raises(disputes.DisputeError) as exc:
        disputes.decide_dispute(db, dispute_id, inspector, True, "  ")
    assert "lý do" in exc.value.message
    disputes.decide_dispute(db, dispute_id, inspector, True, "Đồng ý")
    with pytest.raises(disputes.DisputeError) as exc:
        disputes.decide_dispute(db, dispute_id, inspector, False, "Đổi ý")
    assert exc.value.status == 409
    with pytest.raises(disputes.DisputeError) as exc:
        disputes.decide_dispute(db, 999, inspector, True, "Không có")
    assert exc.value.status == 404


def test_open_disputes_are_listed_first_oldest_on_top(db, units, editor, inspector, failed):
    second_failure = add_attempt(db, units["SYT"], "2025-06-05 09:00", "busy", confirmed=1)
    third_failure = add_attempt(db, units["SYT"], "2025-06-06 09:00", "busy", confirmed=1)
    a = disputes.open_dispute(db, failed["original"], editor, "Một")
    b = disputes.open_dispute(db, second_failure, editor, "Hai")
    c = disputes.open_dispute(db, third_failure, editor, "Ba")
    disputes.decide_dispute(db, a, inspector, False, "Không")
    assert [d["id"] for d in disputes.list_disputes(db)] == [b, c, a]
    assert [d["id"] for d in disputes.list_disputes(db, status="open")] == [b, c]
    assert disputes.open_count(db) == 2


# ------------------------------------------------------------------------------------------------- the pages

def signed_in(app, account):
    client = app.test_client()
    assert login(client, account["email"], account["password"]).status_code == 302
    return client


def test_editor_sees_own_results_with_a_dispute_button_and_sends_a_dispute(app, db, editor, failed):
    client = signed_in(app, editor)
    page = client.get("/reports/units/SYT?month=2025-06")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"/reports/attempts/{failed['original']}/dispute" in html
    assert f"/reports/attempts/{failed['answered']}/dispute" not in html  # answered: nothing to contest
    form = client.get(f"/reports/attempts/{failed['original']}/dispute")
    assert form.status_code == 200
    response = client.post(f"/reports/attempts/{failed['original']}/dispute",
                           data={"explanation": "Tổng đài mất điện 30 phút", "csrf_token": csrf_from(form.get_data(as_text=True))})
    # back to the call's evidence, where the dispute now shows as waiting
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/monitor/attempts/{failed['original']}#khieu-nai")
    assert db.execute("SELECT status, explanation FROM disputes").fetchall() == [("open", "Tổng đài mất điện 30 phút")]
    html = client.get("/reports/units/SYT?month=2025-06").get_data(as_text=True)
    assert "Đang chờ xem xét" in html


def test_empty_explanation_gets_a_vietnamese_message_and_writes_nothing(app, db, editor, failed):
    client = signed_in(app, editor)
    form = client.get(f"/reports/attempts/{failed['original']}/dispute").get_data(as_text=True)
    response = client.post(f"/reports/attempts/{failed['original']}/dispute",
                           data={"explanation": "  ", "csrf_token": csrf_from(form)})
    assert response.status_code == 400
    assert "Hãy ghi giải trình" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM disputes").fetchone()[0] == 0


def test_dispute_without_csrf_token_is_refused(app, db, editor, failed):
    client = signed_in(app, editor)
    response = client.post(f"/reports/attempts/{failed['original']}/dispute", data={"explanation": "Giải trình"})
    assert response.status_code == 400
    assert db.execute("SELECT count(*) FROM disputes").fetchone()[0] == 0


def test_another_units_editor_gets_403_everywhere_and_changes_nothing(app, db, editor, other_editor, failed):
    dispute_id = disputes.open_dispute(db, failed["original"], editor, "Giải trình của Sở Y tế")
    client = signed_in(app, other_editor)
    for path in ("/reports/units/SYT?month=2025-06", f"/reports/attempts/{failed['original']}/dispute",
                 f"/reports/disputes/{dispute_id}", "/reports/attempts?unit=SYT&month=2025-06"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Giải trình của Sở Y tế" not in response.get_data(as_text=True)
    token = csrf_from(client.get("/reports/units/XMA?month=2025-06").get_data(as_text=True))
    assert client.post(f"/reports/attempts/{failed['original']}/dispute",
                       data={"explanation": "Chen ngang", "csrf_token": token}).status_code == 403
    assert client.post(f"/reports/disputes/{dispute_id}",
                       data={"decision": "accept", "reason": "Chen ngang", "csrf_token": token}).status_code == 403
    assert db.execute("SELECT count(*), max(status) FROM disputes").fetchone() == (1, "open")


def test_inspector_decides_on_the_page_with_a_required_reason(app, db, editor, inspector, failed):
    dispute_id = disputes.open_dispute(db, failed["original"], editor, "Giải trình")
    client = signed_in(app, inspector)
    page = client.get(f"/reports/disputes/{dispute_id}")
    assert page.status_code == 200 and "Ghi quyết định" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    missing = client.post(f"/reports/disputes/{dispute_id}", data={"decision": "accept", "reason": "", "csrf_token": token})
    assert missing.status_code == 400 and "Hãy ghi lý do quyết định" in missing.get_data(as_text=True)
    no_choice = client.post(f"/reports/disputes/{dispute_id}", data={"reason": "Có lý do", "csrf_token": token})
    assert no_choice.status_code == 400 and "Hãy chọn chấp nhận" in no_choice.get_data(as_text=True)
    assert disputes.get_dispute(db, dispute_id)["status"] == "open"
    done = client.post(f"/reports/disputes/{dispute_id}",
                       data={"decision": "accept", "reason": "Nhà mạng xác nhận", "csrf_token": token})
    assert done.status_code == 302
    assert disputes.get_dispute(db, dispute_id)["status"] == "accepted"
    queue = client.get("/reports/disputes?status=open").get_data(as_text=True)
    assert "Không có giải trình nào" in queue


def test_editor_reads_the_decision_but_cannot_decide(app, db, editor, inspector, failed):
    dispute_id = disputes.open_dispute(db, failed["original"], editor, "Giải trình")
    disputes.decide_dispute(db, dispute_id, inspector, False, "Ghi âm cho thấy không ai nghe")
    client = signed_in(app, editor)
    page = client.get(f"/reports/disputes/{dispute_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Không chấp nhận" in html and "Ghi âm cho thấy không ai nghe" in html and "Ghi quyết định" not in html
    token = csrf_from(html) if 'name="csrf_token"' in html else csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post(f"/reports/disputes/{dispute_id}",
                       data={"decision": "accept", "reason": "x", "csrf_token": token}).status_code == 403
    assert client.get("/reports/disputes").status_code == 403
