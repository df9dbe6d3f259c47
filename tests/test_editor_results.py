"""An agency editor's own results: the menu link, its unit's calls with their full evidence, the contest from
there; held calls shown as under review without the rules' draft; and no view of any other unit's calls."""
import re
from datetime import datetime, timezone

import pytest

from monitor import attempts as attempts_mod
from monitor.attempts import create_attempt, finish

from .conftest import csrf_from, login, make_editor

pytestmark = pytest.mark.usefixtures("quick_password_hashing")  # see conftest.py

NOW = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)
LATER = datetime(2025, 6, 11, 3, 0, tzinfo=timezone.utc)
DRAFT = "NHAP-CUA-BO-QUY-TAC"  # the rules' draft detail of a held call: never shown to the unit


def _number(db, unit_id):
    return db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()[0]


def _ended(db, unit_id, outcome, when, **fields):
    attempt_id = create_attempt(db, unit_id=unit_id, number=_number(db, unit_id), planned_at=when, band="office", now=when)
    finish(db, attempt_id, outcome, "", when, **fields)
    return attempt_id


@pytest.fixture
def calls(db, units, inspector):
    """SYT: a failed call with transcript and recording, a held one, a plan; XMA: a failed call of its own."""
    ids = {
        "fail": _ended(db, units["SYT"], "no_answer", NOW, transcript="Chuông đổ 30 giây, không ai nghe",
                       recording_url="https://ghiam.example.vn/SYT-1.mp3"),
        "held": _ended(db, units["SYT"], "machine", NOW, transcript="Xin vui lòng để lại lời nhắn"),
        "other": _ended(db, units["XMA"], "no_answer", NOW, transcript="BI-MAT-CUA-XA-MY-AN",
                        recording_url="https://ghiam.example.vn/XMA-1.mp3"),
        "plan": create_attempt(db, unit_id=units["SYT"], number=_number(db, units["SYT"]), planned_at=LATER,
                               band="office", now=NOW),
    }
    # What lifecycle.fold stores when the rules are unsure: the draft outcome, held for an inspector.
    db.execute("UPDATE attempts SET outcome_certain = 0, outcome_basis = 'transcript', outcome_detail = ? WHERE id = ?",
               [DRAFT, ids["held"]])
    return ids


def signed_in(app, account):
    client = app.test_client()
    assert login(client, account["email"], account["password"]).status_code == 302
    return client


@pytest.fixture
def editor_x(app, editor):
    return signed_in(app, editor)


@pytest.fixture
def editor_y(app, db, units):
    return signed_in(app, make_editor(db, units["XMA"], "bientap@myan.test.vn"))


def test_the_menu_links_an_editor_to_its_own_results(editor_x, app, inspector):
    html = editor_x.get("/units/SYT").get_data(as_text=True)
    nav = re.search(r"<nav.*?</nav>", html, re.S).group(0)
    assert 'href="/reports/my"' in nav and "Kết quả kiểm tra" in nav
    assert editor_x.get("/reports/my").headers["Location"].endswith("/reports/units/SYT")
    inspector_nav = re.search(r"<nav.*?</nav>", signed_in(app, inspector).get("/units").get_data(as_text=True), re.S)
    assert 'href="/reports/my"' not in inspector_nav.group(0)  # inspectors have the full report instead


def test_the_results_page_links_each_of_its_calls_to_its_evidence(editor_x, calls):
    html = editor_x.get("/reports/units/SYT?month=2025-06").get_data(as_text=True)
    for key in ("fail", "held"):
        assert f'href="/monitor/attempts/{calls[key]}"' in html
    assert f'href="/monitor/attempts/{calls["other"]}"' not in html and "BI-MAT-CUA-XA-MY-AN" not in html


def test_an_editor_reads_the_full_evidence_of_its_own_failed_call(app, db, editor_x, calls, inspector):
    attempts_mod.review_outcome(db, calls["fail"], "busy", "Nghe lại bản ghi: tín hiệu máy bận", user_id=inspector["id"],
                                now=LATER)
    response = editor_x.get(f"/monitor/attempts/{calls['fail']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Chuông đổ 30 giây, không ai nghe" in html  # what was heard
    assert 'href="https://ghiam.example.vn/SYT-1.mp3"' in html  # its own recording
    assert 'data-outcome="busy"' in html and "Máy bận" in html  # the outcome, after the inspector's review
    assert "quyết định của thanh tra viên" in html  # its basis
    assert "Nghe lại bản ghi: tín hiệu máy bận" in html  # the review, with its reason
    assert "<time" in html  # times, in local time
    assert f'href="/reports/attempts/{calls["fail"]}/dispute"' in html and "Khiếu nại kết quả này" in html
    # an inspector's tools are not there: no review form, no provider events, no inspector's address
    assert "Lưu kết quả xem xét" not in html and "Sự kiện từ nhà cung cấp" not in html
    assert inspector["email"] not in html


def test_an_editor_cannot_review_its_own_call(editor_x, db, calls):
    token = csrf_from(editor_x.get(f"/monitor/attempts/{calls['fail']}").get_data(as_text=True))
    response = editor_x.post(f"/monitor/attempts/{calls['fail']}",
                             data={"outcome": "answered", "reason": "Tự sửa", "csrf_token": token})
    assert response.status_code == 403
    assert db.execute("SELECT outcome FROM attempts WHERE id = ?", [calls["fail"]]).fetchone()[0] == "no_answer"


def test_a_held_call_shows_as_under_review_without_the_draft(app, editor_x, calls, inspector):
    held = calls["held"]
    page = editor_x.get(f"/monitor/attempts/{held}").get_data(as_text=True)
    assert "Đang xem xét" in page and DRAFT not in page
    assert 'data-outcome="machine"' not in page and "Máy trả lời tự động" not in page
    assert "Khiếu nại kết quả này" not in page
    results = editor_x.get("/reports/units/SYT?month=2025-06").get_data(as_text=True)
    row = re.search(rf'<tr>\s*<td data-label="#"><a href="/monitor/attempts/{held}">.*?</tr>', results, re.S).group(0)
    assert "Đang xem xét" in row and "data-outcome" not in row and DRAFT not in results
    assert f"/reports/attempts/{held}/dispute" not in results
    # a list filtered by the draft's outcome does not list it either (its presence would tell the draft)
    listed = editor_x.get("/reports/attempts?unit=SYT&month=2025-06&outcome=machine&scope=all").get_data(as_text=True)
    assert f"/monitor/attempts/{held}\"" not in listed
    # the inspector sees what the rules drafted, to decide
    assert DRAFT in signed_in(app, inspector).get(f"/monitor/attempts/{held}").get_data(as_text=True)


def test_a_held_call_cannot_be_contested_yet(editor_x, db, calls):
    form = editor_x.get(f"/reports/attempts/{calls['held']}/dispute")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "Đang xem xét" in html and DRAFT not in html
    assert 'name="explanation"' not in html
    response = editor_x.post(f"/reports/attempts/{calls['held']}/dispute",
                             data={"explanation": "Máy có người trực", "csrf_token": csrf_from(html)})
    assert response.status_code == 400 and "đang được thanh tra viên xem xét" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM disputes").fetchone()[0] == 0


def test_from_the_call_to_the_contest_and_back_to_its_visible_state(editor_x, db, calls):
    evidence = editor_x.get(f"/monitor/attempts/{calls['fail']}").get_data(as_text=True)
    assert "Khiếu nại kết quả này" in evidence
    form = editor_x.get(f"/reports/attempts/{calls['fail']}/dispute").get_data(as_text=True)
    response = editor_x.post(f"/reports/attempts/{calls['fail']}/dispute", follow_redirects=True,
                             data={"explanation": "Tổng đài mất điện 20 phút, có biên bản", "csrf_token": csrf_from(form)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.request.path == f"/monitor/attempts/{calls['fail']}"
    assert "Đã gửi giải trình" in html  # the confirmation
    assert 'data-dispute="open"' in html and "Đang chờ xem xét" in html  # the state, on the call itself
    assert "Tổng đài mất điện 20 phút, có biên bản" in html
    assert "Khiếu nại kết quả này" not in html  # one pending contest at a time
    assert db.execute("SELECT status FROM disputes WHERE attempt_id = ?", [calls["fail"]]).fetchall() == [("open",)]


@pytest.mark.parametrize("key", ["other", "plan"])
def test_another_units_call_and_a_planned_test_are_404_for_an_editor(editor_x, calls, key):
    response = editor_x.get(f"/monitor/attempts/{calls[key]}")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "BI-MAT-CUA-XA-MY-AN" not in body and "XMA-1.mp3" not in body
    # the same answer as for an id that does not exist: ids tell nothing about other units
    assert editor_x.get("/monitor/attempts/999999").status_code == 404


def test_the_other_unit_sees_its_own_evidence_and_none_of_ours(editor_y, calls):
    own = editor_y.get(f"/monitor/attempts/{calls['other']}").get_data(as_text=True)
    assert "BI-MAT-CUA-XA-MY-AN" in own and "XMA-1.mp3" in own  # the secrets are real, not absent everywhere
    for key in ("fail", "held", "plan"):
        assert editor_y.get(f"/monitor/attempts/{calls[key]}").status_code == 404


@pytest.mark.parametrize("path", ["/reports/units/XMA?month=2025-06", "/reports/attempts?unit=XMA&month=2025-06&scope=all",
                                  "/reports/attempts/{other}/dispute", "/reports/attempts?month=2025-06",
                                  "/monitor/units/XMA", "/monitor/attempts?unit=XMA"])
def test_other_units_codes_and_ids_in_urls_are_refused(editor_x, db, calls, path):
    response = editor_x.get(path.format(**calls))
    assert response.status_code in (403, 404), path
    assert "BI-MAT-CUA-XA-MY-AN" not in response.get_data(as_text=True)
    token = csrf_from(editor_x.get("/units/SYT").get_data(as_text=True))
    refused = editor_x.post(f"/reports/attempts/{calls['other']}/dispute", data={"explanation": "Chen", "csrf_token": token})
    assert refused.status_code == 403
    assert db.execute("SELECT count(*) FROM disputes").fetchone()[0] == 0
