"""The operator role and its pages: registry migration 8 (users rebuilt with foreign keys off), what an operator may
open, the queue, the case page with its script and revealed number, the one form, and the inspectors' view."""
import re
import sqlite3

import pytest

from monitor import schema as monitor_schema
from monitor.surveys import answers
from registry import accounts
from registry import schema as registry_schema
from registry.db import FOREIGN_KEYS_OFF, connect, migrate

from .conftest import csrf_from, login
from .survey_fixtures import NOW, case_row, make_cases

pytestmark = pytest.mark.usefixtures("quick_password_hashing")
OPERATOR = ("dtv@1022.test.vn", "mat-khau-dien-thoai")
COMPLETE = {"q0": "yes", "q1": "5", "q2": "4", "q3": "4", "q4": "5", "q5": "3", "q6": "no", "q7": "Cán bộ tận tình"}


# ------------------------------------------------------------------------------------------------ migration 8


def test_a_database_at_version_7_migrates_to_operators_with_its_references_intact(tmp_path):
    db = connect(str(tmp_path / "v7.db"))
    migrate(db, [("registry", registry_schema.MIGRATIONS[:7]), ("monitor", monitor_schema.MIGRATIONS)])
    db.execute("INSERT OR IGNORE INTO groups (code, name) VALUES ('A', 'Sở, ban, ngành')")
    db.execute("INSERT INTO units (code, name, kind, group_code, created_at) VALUES ('SYT', 'Sở Y tế', 'department', "
               "'A', '2026-01-01T00:00:00Z')")
    db.execute("INSERT INTO users (email, role, unit_id, created_at) VALUES ('tt@test.vn', 'inspector', NULL, 'x'), "
               "('bt@test.vn', 'agency', 1, 'x')")
    db.execute("INSERT INTO changes (unit_id, at, user_id, field) VALUES (1, 'x', 2, 'name')")
    db.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ('t', 2, 'x', 'y')")
    users_before = db.execute("SELECT * FROM users ORDER BY id").fetchall()

    assert migrate(db, [("registry", registry_schema.MIGRATIONS), ("monitor", monitor_schema.MIGRATIONS)]) == [
        "registry:8"]
    assert db.execute("SELECT * FROM users ORDER BY id").fetchall() == users_before
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE sql LIKE '%users_new%'").fetchone()[0] == 0
    assert db.execute("SELECT user_id FROM changes").fetchone()[0] == 2
    # the new role, still without a unit; the old rules hold
    db.execute("INSERT INTO users (email, role, created_at) VALUES ('dtv@test.vn', 'operator', 'x')")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO users (email, role, unit_id, created_at) VALUES ('x@test.vn', 'operator', 1, 'x')")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO users (email, role, created_at) VALUES ('y@test.vn', 'agency', 'x')")
    with pytest.raises(sqlite3.IntegrityError):  # references are enforced again: a referenced user stays
        db.execute("DELETE FROM users WHERE id = 2")
    db.execute("INSERT INTO users (email, role, unit_id, created_at) VALUES ('bt2@test.vn', 'agency', 1, 'x')")
    db.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ('u', 4, 'x', 'y')")
    db.execute("DELETE FROM users WHERE id = 4")  # and ON DELETE CASCADE still ends the sessions
    assert db.execute("SELECT user_id FROM sessions").fetchall() == [(2,)]
    assert migrate(db, [("registry", registry_schema.MIGRATIONS)]) == []


def test_a_foreign_keys_off_migration_leaving_broken_references_is_rolled_back(tmp_path):
    db = connect(str(tmp_path / "t.db"))
    first = ("CREATE TABLE parent (id INTEGER PRIMARY KEY);\nCREATE TABLE child (p INTEGER REFERENCES parent(id));\n"
             "INSERT INTO parent VALUES (1);\nINSERT INTO child VALUES (1);\n")
    breaking = FOREIGN_KEYS_OFF + "\nDELETE FROM parent;"
    migrate(db, [("t", [first])])
    with pytest.raises(sqlite3.IntegrityError):
        migrate(db, [("t", [first, breaking])])
    assert db.execute("SELECT count(*) FROM parent").fetchone()[0] == 1
    assert db.execute("SELECT version FROM schema_migrations WHERE package = 't'").fetchone()[0] == 1
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    # without the marker the same script is refused by the enforced keys at once
    with pytest.raises(sqlite3.IntegrityError):
        migrate(db, [("t", [first, "DELETE FROM parent;"])])


# --------------------------------------------------------------------------------------------------- the role


@pytest.fixture
def operator_client(app, db):
    accounts.create_operator(db, *OPERATOR, name="Trần Thị Bình")
    client = app.test_client()
    response = login(client, *OPERATOR)
    assert response.headers["Location"].endswith("/surveys/queue")
    return client


@pytest.mark.parametrize("url", ["/units", "/my", "/monitor/attempts", "/reports/", "/reports/my", "/logbook",
                                 "/logbook/overdue", "/monitor/review", "/changes"])
def test_an_operator_sees_only_the_survey_pages(operator_client, url):
    assert operator_client.get(url).status_code == 403


def test_an_operator_menu_has_the_queue_and_nothing_of_the_units(operator_client):
    body = operator_client.get("/surveys/queue").get_data(as_text=True)
    assert "Nhận cuộc gọi tiếp theo" in body and "Hàng đợi cuộc gọi khảo sát" in body
    assert "Đơn vị của tôi" not in body and "Phiếu quá hạn" not in body


def test_an_inspector_invites_an_operator_who_sets_a_password_and_signs_in(app, inspector_client):
    page = inspector_client.get("/surveys/queue").get_data(as_text=True)
    response = inspector_client.post("/surveys/operators", data={"email": "moi@1022.test.vn", "name": "Lê Văn C",
                                                                 "csrf_token": csrf_from(page)})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="invite-link"' in body
    link = body.split('id="invite-link">')[1].split("<")[0]
    client = app.test_client()
    invite = client.get(link.replace("https://hotline.example.vn", ""))
    assert invite.status_code == 302
    form = client.get("/invite").get_data(as_text=True)
    assert client.post("/invite", data={"password": "mat-khau-moi-dai", "csrf_token": csrf_from(form)}).status_code == 302
    assert login(app.test_client(), "moi@1022.test.vn", "mat-khau-moi-dai").headers["Location"].endswith("/surveys/queue")
    again = inspector_client.post("/surveys/operators", data={"email": "moi@1022.test.vn", "csrf_token": csrf_from(page)})
    assert again.status_code == 400 and "Đã có tài khoản" in again.get_data(as_text=True)


def test_editors_are_refused_the_queue(editor_client):
    assert editor_client.get("/surveys/queue").status_code == 403


# ---------------------------------------------------------------------------------------------- working a case


@pytest.fixture
def at_nine(monkeypatch):
    """The pages' clock at NOW: Tuesday 09:00 local, inside the calling hours."""
    monkeypatch.setattr("registry.clock.utcnow", lambda: NOW)


def take(client):
    page = client.get("/surveys/queue").get_data(as_text=True)
    return client.post("/surveys/queue", data={"csrf_token": csrf_from(page)})


def test_an_operator_works_a_case_from_the_queue_to_the_next(app, db, units, operator_client, at_nine):
    first, second = make_cases(db, units["SYT"], ["0912345001", "0912345002"], late=True)
    response = take(operator_client)
    assert response.headers["Location"].endswith(f"/surveys/cases/{first}")
    page = operator_client.get(f"/surveys/cases/{first}").get_data(as_text=True)
    assert "0912345001" in page  # the whole number, here only
    assert "Trung tâm 1022 tỉnh Đồng Tháp" in page and "Trần Thị Bình" in page and "Cấp giấy phép xây dựng" in page
    assert "Sở Y tế" in page and "trễ hạn" in page and "đồng ý" in page
    assert db.execute("SELECT count(*) FROM phone_views WHERE dossier_id = ?",
                      [case_row(db, first)["dossier_id"]]).fetchone()[0] == 1
    response = operator_client.post(f"/surveys/cases/{first}", data={**COMPLETE, "disposition": "complete",
                                                                      "csrf_token": csrf_from(page)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/surveys/cases/{second}")
    assert case_row(db, first)["state"] == "closed" and len(answers.for_case(db, first)) == 8
    page = operator_client.get(f"/surveys/cases/{second}").get_data(as_text=True)
    assert "Đã ghi kết quả cuộc gọi phiếu" in page
    response = operator_client.post(f"/surveys/cases/{second}", data={
        "disposition": "appointment", "appointment": "2026-03-04T09:30", "note": "Hẹn sáng mai",
        "csrf_token": csrf_from(page)})
    assert response.headers["Location"].endswith("/surveys/queue")
    assert case_row(db, second)["appointment_at"] == "2026-03-04T02:30:00.000Z"
    assert "Không còn phiếu nào cần gọi lúc này" in operator_client.get("/surveys/queue").get_data(as_text=True)


@pytest.mark.parametrize("data,message", [
    ({"disposition": ""}, "Hãy chọn kết quả cuộc gọi."),
    ({"disposition": "khong-co"}, "Hãy chọn kết quả cuộc gọi."),
    ({"disposition": "complete", "q0": "yes"}, "Phỏng vấn hoàn thành cần trả lời đủ các câu đánh giá"),
    ({"disposition": "partial", "q1": "9"}, "mức đánh giá phải từ 1 đến 5"),
    ({"disposition": "appointment", "appointment": "ngày mai"}, "Thời điểm hẹn không hợp lệ"),
    ({"disposition": "appointment", "appointment": "2026-03-03T22:00"}, "Thời điểm hẹn phải trong giờ gọi"),
    ({"disposition": "busy", "note": "x" * 2001}, "Tối đa 2000 ký tự."),
])
def test_a_bad_form_is_answered_in_vietnamese_and_changes_nothing(app, db, units, operator_client, at_nine, data,
                                                                 message):
    (case_id,) = make_cases(db, units["SYT"], ["0912345011"])
    take(operator_client)
    page = operator_client.get(f"/surveys/cases/{case_id}").get_data(as_text=True)
    before = case_row(db, case_id)
    response = operator_client.post(f"/surveys/cases/{case_id}", data={**data, "csrf_token": csrf_from(page)})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert case_row(db, case_id) == before and answers.for_case(db, case_id) == {}


def test_a_case_not_held_is_not_opened_and_its_number_not_shown(app, db, units, operator_client, at_nine):
    (case_id,) = make_cases(db, units["SYT"], ["0912345021"])
    response = operator_client.get(f"/surveys/cases/{case_id}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/surveys/queue")
    assert db.execute("SELECT count(*) FROM phone_views").fetchone()[0] == 0


def test_the_inspectors_queue_state_shows_no_number(app, db, units, inspector_client, operator_client, at_nine):
    make_cases(db, units["SYT"], ["0912345031", "0912345032"])
    take(operator_client)
    body = inspector_client.get("/surveys/queue").get_data(as_text=True)
    assert "dtv@1022.test.vn" in body and "Đang gọi" in body
    assert "0912345031" not in body and "0912345032" not in body and "Nguyễn Văn An" not in body


def test_a_partial_interview_called_back_shows_its_earlier_answers(app, db, units, operator_client, at_nine):
    (case_id,) = make_cases(db, units["SYT"], ["0912345041"])
    take(operator_client)
    page = operator_client.get(f"/surveys/cases/{case_id}").get_data(as_text=True)
    operator_client.post(f"/surveys/cases/{case_id}", data={"disposition": "break_off", "q0": "yes", "q1": "2",
                                                            "csrf_token": csrf_from(page)})
    db.execute("UPDATE survey_cases SET next_at = NULL WHERE id = ?", [case_id])  # its retry day has come
    take(operator_client)
    page = operator_client.get(f"/surveys/cases/{case_id}").get_data(as_text=True)
    checked = re.findall(r'<input checked id="[^"]+" name="(q\d)" type="radio" value="([^"]+)"', page)
    assert checked == [("q0", "yes"), ("q1", "2")]


# ------------------------------------------------------------------------------------------------------ demo


def test_the_demo_month_has_dossiers_a_sample_an_operator_and_calls_already_made(app, db):
    from monitor.scheduling import demo_surveys
    from registry.demo import load_demo

    load_demo(db, now=NOW)
    settings = app.extensions["settings"]
    worked = demo_surveys.seed(db, settings, now=NOW)
    assert worked > 20 and demo_surveys.seed(db, settings, now=NOW) == 0  # once
    late, without_phone = db.execute("SELECT sum(late), sum(phone IS NULL) FROM dossiers").fetchone()
    assert late > 0 and without_phone > 0
    assert db.execute("SELECT count(*) FROM survey_cases c JOIN dossiers d ON d.id = c.dossier_id "
                      "WHERE d.phone IS NULL").fetchone()[0] == 0
    dispositions = dict(db.execute("SELECT disposition, count(*) FROM survey_cases GROUP BY disposition").fetchall())
    assert dispositions["complete"] > 10 and dispositions[None] > 10 and dispositions["no_answer"] > 0
    assert db.execute("SELECT count(DISTINCT case_id) FROM survey_answers").fetchone()[0] >= dispositions["complete"]
    client = app.test_client()
    assert login(client, demo_surveys.OPERATOR[0], demo_surveys.OPERATOR[1]).headers["Location"].endswith(
        "/surveys/queue")
