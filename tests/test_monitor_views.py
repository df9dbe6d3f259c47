"""Inspectors' attempt pages: evidence, review with reason (kept in history), call now queues a manual attempt."""
from datetime import datetime, timezone

import pytest

from monitor.attempts import create_attempt, finish
from registry.clock import iso

from .conftest import csrf_from

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def ended_attempt(db, units):
    attempt_id = create_attempt(db, unit_id=units["SYT"], number="+842773851234", planned_at=NOW, band="office", now=NOW)
    db.execute("UPDATE attempts SET state = 'dialing', state_rank = 1, dial_requested_at = ? WHERE id = ?", [iso(NOW), attempt_id])
    finish(db, attempt_id, "no_answer", "Đổ chuông 30 giây, không ai nghe máy.", NOW, sip_code=487, call_status="no-answer")
    return attempt_id


@pytest.mark.parametrize("path", ["/monitor/attempts", "/monitor/units/SYT"])
def test_attempt_pages_are_for_inspectors_only(client, editor, ended_attempt, path):
    from .conftest import login

    url = path.format(id=ended_attempt)
    assert client.get(url).status_code == 302  # anonymous → login
    login(client, editor["email"], editor["password"])
    assert client.get(url).status_code == 403  # even the unit's own editor: inspectors' lists and tools


def test_the_units_own_editor_reads_one_call_without_the_inspectors_tools(client, editor, ended_attempt):
    from .conftest import login

    assert client.get(f"/monitor/attempts/{ended_attempt}").status_code == 302  # anonymous → login
    login(client, editor["email"], editor["password"])
    response = client.get(f"/monitor/attempts/{ended_attempt}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Không nghe máy" in html and "487" in html
    assert "Lưu kết quả xem xét" not in html  # no review form (tests/test_editor_results.py has the rest)


def test_attempt_page_shows_the_evidence(inspector_client, ended_attempt):
    html = inspector_client.get(f"/monitor/attempts/{ended_attempt}").get_data(as_text=True)
    assert "Không nghe máy" in html
    assert "487" in html and "Đổ chuông 30 giây" in html
    assert "Chờ gọi lại để xác nhận" in html  # a retest has been planned for the failure


def test_review_overrides_the_outcome_keeps_the_original_and_the_reason(inspector_client, db, ended_attempt):
    page = inspector_client.get(f"/monitor/attempts/{ended_attempt}").get_data(as_text=True)
    response = inspector_client.post(
        f"/monitor/attempts/{ended_attempt}",
        data={"csrf_token": csrf_from(page), "outcome": "machine", "reason": "Nghe bản ghi: lời chào tự động"},
    )
    assert response.status_code == 302
    row = db.execute("SELECT outcome, original_outcome FROM attempts WHERE id = ?", [ended_attempt]).fetchone()
    assert row == ("machine", "no_answer")
    review = db.execute("SELECT old_outcome, new_outcome, reason FROM outcome_reviews").fetchall()
    assert review == [("no_answer", "machine", "Nghe bản ghi: lời chào tự động")]


def test_review_without_a_reason_is_refused_and_changes_nothing(inspector_client, db, ended_attempt):
    page = inspector_client.get(f"/monitor/attempts/{ended_attempt}").get_data(as_text=True)
    response = inspector_client.post(
        f"/monitor/attempts/{ended_attempt}", data={"csrf_token": csrf_from(page), "outcome": "answered", "reason": "  "}
    )
    assert response.status_code == 400
    assert "Hãy ghi lý do" in response.get_data(as_text=True)
    assert db.execute("SELECT outcome FROM attempts WHERE id = ?", [ended_attempt]).fetchone()[0] == "no_answer"
    assert db.execute("SELECT count(*) FROM outcome_reviews").fetchone()[0] == 0


def test_review_without_csrf_is_refused(inspector_client, db, ended_attempt):
    response = inspector_client.post(f"/monitor/attempts/{ended_attempt}", data={"outcome": "answered", "reason": "x"})
    assert response.status_code == 400
    assert db.execute("SELECT outcome FROM attempts WHERE id = ?", [ended_attempt]).fetchone()[0] == "no_answer"


def test_call_now_queues_one_manual_attempt_for_the_registered_number(inspector_client, db, units):
    page = inspector_client.get("/monitor/units/SYT").get_data(as_text=True)
    response = inspector_client.post("/monitor/units/SYT/call", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    rows = db.execute("SELECT purpose, state, number FROM attempts WHERE unit_id = ?", [units["SYT"]]).fetchall()
    assert rows == [("manual", "planned", "+842773851234")]
    assert "/monitor/attempts/" in response.headers["Location"]


def test_call_now_for_an_unknown_unit_is_404(inspector_client):
    page = inspector_client.get("/monitor/attempts").get_data(as_text=True)
    assert inspector_client.post("/monitor/units/NOPE/call", data={"csrf_token": csrf_from(page)}).status_code == 404


def test_attempts_list_filters_by_outcome(inspector_client, ended_attempt):
    html = inspector_client.get("/monitor/attempts?outcome=no_answer").get_data(as_text=True)
    assert f">{ended_attempt}</a>" in html
    html = inspector_client.get("/monitor/attempts?outcome=busy").get_data(as_text=True)
    assert f">{ended_attempt}</a>" not in html
