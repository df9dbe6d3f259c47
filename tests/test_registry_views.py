"""Registry pages for every role: directory, unit self-service, inspectors' list, changes, groups, import/export."""
import io
import re

import pytest

from registry.appendix import export_csv
from registry.hotlines import flag_hotline, set_shared

from .conftest import csrf_from, login, make_editor

ANON, SYT, XMA, INSPECTOR = "anonymous", "editor_syt", "editor_xma", "inspector"
ROLES = (ANON, SYT, XMA, INSPECTOR)


pytestmark = pytest.mark.usefixtures("quick_password_hashing")  # see conftest.py


@pytest.fixture
def as_role(app, db, units, inspector):
    """A test client signed in as the given role (editors of SYT and XMA, the inspector, or nobody)."""
    editors = {
        SYT: make_editor(db, units["SYT"], "bientap@soyte.test.vn"),
        XMA: make_editor(db, units["XMA"], "bientap@myan.test.vn"),
        INSPECTOR: inspector,
    }

    def client_for(role):
        client = app.test_client()
        if role != ANON:
            account = editors[role]
            assert login(client, account["email"], account["password"]).status_code == 302
        return client

    return client_for


def snapshot(db):
    """Everything a registry page could change."""
    tables = {table: db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
              for table in ("units", "hotlines", "changes", "groups")}
    # accounts without last_login_at, which signing in updates
    tables["users"] = db.execute("SELECT id, email, role, unit_id, password_hash, invite_token_hash, active "
                                 "FROM users ORDER BY id").fetchall()
    return tables


def post(client, url, data, page=None):
    """POST a form with the CSRF token taken from a page (the form's own page by default)."""
    html = client.get(page or "/").get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_from(html), **data})


def hotline(db, unit_id):
    rows = db.execute_returning_dicts("SELECT * FROM hotlines WHERE unit_id = ?", [unit_id])
    return rows[0] if rows else None


def field_error(html, field_id):
    """The error text shown under a field, or None."""
    match = re.search(rf'<div class="field-error" id="{re.escape(field_id)}-err">([^<]*)</div>', html)
    return match and match.group(1)


# ---------------------------------------------------------------- every route, every role

GET_STATUS = [
    # path, anonymous, editor of SYT, editor of XMA, inspector
    ("/", 200, 200, 200, 200),
    ("/?q=y+te&group=A", 200, 200, 200, 200),
    ("/my", 302, 302, 302, 302),
    ("/units", 302, 403, 403, 200),
    ("/units?state=missing", 302, 403, 403, 200),
    ("/units/SYT", 302, 200, 403, 200),
    ("/units/XMA", 302, 403, 200, 200),
    ("/units/NOPE", 302, 404, 404, 404),
    ("/units/new", 302, 403, 403, 200),
    ("/changes", 302, 403, 403, 200),
    ("/groups", 302, 403, 403, 200),
    ("/groups/A", 302, 403, 403, 200),
    ("/groups/ZZ", 302, 403, 403, 404),
    ("/registry/import", 302, 403, 403, 200),
    ("/registry/export.xlsx", 302, 403, 403, 200),
    ("/registry/export.csv", 302, 403, 403, 200),
    ("/registry/export.pdf", 302, 403, 403, 404),
    ("/api/hotlines", 200, 200, 200, 200),
    ("/api/hotlines/SYT", 200, 200, 200, 200),
    ("/api/openapi.json", 200, 200, 200, 200),
]


@pytest.mark.parametrize("path,anonymous,editor_syt,editor_xma,inspector_status", GET_STATUS)
def test_every_registry_page_answers_each_role_with_the_expected_status(
    as_role, path, anonymous, editor_syt, editor_xma, inspector_status
):
    expected = dict(zip(ROLES, (anonymous, editor_syt, editor_xma, inspector_status)))
    for role, status in expected.items():
        response = as_role(role).get(path)
        assert response.status_code == status, (role, path, response.status_code)
        if status == 302 and role == ANON:
            assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role,target", [(SYT, "/units/SYT"), (XMA, "/units/XMA"), (INSPECTOR, "/units")])
def test_my_unit_sends_each_account_to_its_own_place(as_role, role, target):
    assert as_role(role).get("/my").headers["Location"].endswith(target)


POSTS = [
    # path, form data, anonymous, editor of SYT, editor of XMA, inspector (status; None = not tried)
    ("/units/XMA", {"action": "number", "number": "0277 3999 001", "hours": "24/7", "reason": "x"}, 302, 403, 302, 302),
    ("/units/SYT", {"action": "contact", "contact_name": "Nguyễn Văn B"}, 302, 302, 403, 302),
    ("/units/SYT", {"action": "details", "name": "Sở Y tế mới", "kind": "department", "group_code": "A"}, 302, 403, 403, 302),
    ("/units/SYT", {"action": "shared", "shared": "y", "shared_note": "chung"}, 302, 403, 403, 302),
    ("/units/SYT", {"action": "flag", "flag_reason": "x"}, 302, 403, 403, 302),
    ("/units/SYT", {"action": "invite", "invite_email": "moi@soyte.test.vn"}, 302, 403, 403, 200),
    ("/units/SYT", {"action": "bogus"}, 302, 400, 403, 400),
    ("/units/new", {"code": "SNV", "name": "Sở Nội vụ", "kind": "department", "group_code": "A"}, 302, 403, 403, 302),
    ("/groups", {"code": "D", "name": "Nhóm mới", "sort_order": "4", "tests_per_week": "2"}, 302, 403, 403, 302),
    ("/groups/A", {"name": "Cơ quan", "sort_order": "1", "tests_per_week": "4"}, 302, 403, 403, 302),
]


@pytest.mark.parametrize("path,data,anonymous,editor_syt,editor_xma,inspector_status", POSTS)
def test_every_registry_form_refuses_roles_that_may_not_use_it_and_writes_nothing(
    as_role, db, path, data, anonymous, editor_syt, editor_xma, inspector_status
):
    expected = dict(zip(ROLES, (anonymous, editor_syt, editor_xma, inspector_status)))
    for role in (ANON, SYT, XMA):  # the refusals first, on an untouched registry
        before = snapshot(db)
        response = post(as_role(role), path, data)
        assert response.status_code == expected[role], (role, response.status_code)
        if expected[role] in (403, 400) or role == ANON:
            assert snapshot(db) == before, role
    response = post(as_role(INSPECTOR), path, data)
    assert response.status_code == expected[INSPECTOR]


def test_editor_of_another_unit_gets_403_and_sees_nothing_of_it(as_role, db, units):
    client = as_role(XMA)
    before = snapshot(db)
    response = client.get("/units/SYT")
    assert response.status_code == 403
    assert "0277 3851 234" not in response.get_data(as_text=True)
    assert post(client, "/units/SYT", {"action": "number", "number": "0277 3999 999", "hours": "24/7",
                                       "reason": "chiếm số"}).status_code == 403
    assert post(client, "/units/SYT", {"action": "contact", "contact_email": "x@y.vn"}).status_code == 403
    assert snapshot(db) == before


def test_import_upload_is_refused_to_editors(as_role, db):
    before = snapshot(db)
    client = as_role(SYT)
    html = client.get("/").get_data(as_text=True)
    response = client.post("/registry/import", data={
        "csrf_token": csrf_from(html), "file": (io.BytesIO(export_csv(db)), "x.csv")})
    assert response.status_code == 403
    assert snapshot(db) == before


# ---------------------------------------------------------------- agency self-service


def test_editor_changes_the_number_with_a_reason_and_the_history_records_it(as_role, db, units):
    client = as_role(SYT)
    response = post(client, "/units/SYT", {"action": "number", "number": "(0277) 3.851.999", "hours": "24/7",
                                           "reason": "Chuyển tổng đài"}, page="/units/SYT")
    assert response.status_code == 302
    assert hotline(db, units["SYT"])["display"] == "0277 3851 999"
    change = db.execute_returning_dicts("SELECT * FROM changes WHERE unit_id = ? ORDER BY id DESC", [units["SYT"]])[0]
    assert (change["field"], change["old"], change["new"], change["reason"]) == (
        "number", "0277 3851 234", "0277 3851 999", "Chuyển tổng đài")
    assert change["actor"] == "bientap@soyte.test.vn"
    page = client.get("/units/SYT").get_data(as_text=True)
    assert "Đã lưu số đường dây nóng 0277 3851 999." in page
    assert "Chuyển tổng đài" in page and "bientap@soyte.test.vn" in page  # the history section


BAD_NUMBERS = [
    ("067 3851 234", "0277"),                      # old area code, with the new form suggested
    ("0912 345 678 / 0913 111 222", "duy nhất một số"),  # two numbers in one field
    ("01662 345 678", "10 số"),                    # an 11-digit mobile
    ("12345", "chữ số"),
    ("", "Chưa nhập số"),
    ("gọi tổng đài", "Không đọc được chữ số"),
]


@pytest.mark.parametrize("raw,message", BAD_NUMBERS)
def test_a_bad_number_shows_the_vietnamese_reason_next_to_the_field_and_changes_nothing(
    as_role, db, units, raw, message
):
    client = as_role(SYT)
    before = snapshot(db)
    response = post(client, "/units/SYT", {"action": "number", "number": raw, "hours": "24/7", "reason": "đổi"},
                    page="/units/SYT")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    error = field_error(html, "number")
    assert error and message in error.replace("&amp;", "&"), error
    assert 'aria-invalid="true"' in html and 'role="alert"' in html
    assert snapshot(db) == before


def test_changing_the_number_without_a_reason_is_refused(as_role, db, units):
    before = snapshot(db)
    response = post(as_role(SYT), "/units/SYT", {"action": "number", "number": "0277 3851 999", "hours": "24/7",
                                                  "reason": " "})
    assert response.status_code == 400
    assert "lý do" in field_error(response.get_data(as_text=True), "reason")
    assert snapshot(db) == before


def test_a_number_held_by_another_unit_is_refused_with_its_holder_named(as_role, db, units):
    before = snapshot(db)
    response = post(as_role(SYT), "/units/SYT", {"action": "number", "number": "0912 345 678", "hours": "24/7",
                                                  "reason": "x"})
    assert response.status_code == 400
    assert "UBND xã Mỹ An" in field_error(response.get_data(as_text=True), "number")
    assert snapshot(db) == before


def test_hours_change_alone_needs_no_reason_and_is_logged(as_role, db, units):
    response = post(as_role(SYT), "/units/SYT", {"action": "number", "number": "0277 3851 234", "hours": "office",
                                                  "reason": ""})
    assert response.status_code == 302
    assert hotline(db, units["SYT"])["hours"] == "office"
    fields = [r[0] for r in db.execute("SELECT field FROM changes WHERE unit_id = ? AND user_id IS NOT NULL",
                                       [units["SYT"]]).fetchall()]
    assert fields == ["hours"]


def test_submitting_the_same_number_writes_nothing(as_role, db, units):
    before = snapshot(db)
    response = post(as_role(SYT), "/units/SYT", {"action": "number", "number": "0277.3851.234", "hours": "24/7",
                                                  "reason": ""})
    assert response.status_code == 302
    assert snapshot(db) == before


def test_editor_updates_the_contact_and_each_field_goes_into_the_history(as_role, db, units):
    response = post(as_role(SYT), "/units/SYT", {"action": "contact", "contact_name": "Trần Thị C",
                                                  "contact_email": "tructhu@soyte.test.vn", "address": "Số 1",
                                                  "contact_reason": "Đổi người trực"})
    assert response.status_code == 302
    unit = db.execute_returning_dicts("SELECT * FROM units WHERE id = ?", [units["SYT"]])[0]
    assert (unit["contact_name"], unit["contact_email"], unit["address"]) == ("Trần Thị C", "tructhu@soyte.test.vn", "Số 1")
    logged = db.execute("SELECT field, new, reason FROM changes WHERE unit_id = ? AND user_id IS NOT NULL ORDER BY field",
                        [units["SYT"]]).fetchall()
    assert logged == [("address", "Số 1", "Đổi người trực"), ("contact_email", "tructhu@soyte.test.vn", "Đổi người trực"),
                      ("contact_name", "Trần Thị C", "Đổi người trực")]


def test_a_bad_contact_email_is_refused_in_vietnamese(as_role, db, units):
    before = snapshot(db)
    response = post(as_role(SYT), "/units/SYT", {"action": "contact", "contact_email": "khong-phai-email"})
    assert response.status_code == 400
    assert "Thư điện tử liên hệ không hợp lệ" in field_error(response.get_data(as_text=True), "contact_email")
    assert snapshot(db) == before


def test_editor_sees_the_unreachable_flag_but_not_the_inspector_forms(as_role, db, units):
    flag_hotline(db, units["SYT"], "Không liên lạc được trong 3 lần gọi")
    html = as_role(SYT).get("/units/SYT").get_data(as_text=True)
    assert "Không liên lạc được trong 3 lần gọi" in html
    for inspector_only in ('value="details"', 'value="shared"', 'value="flag"', 'value="invite"', 'id="number_shared"'):
        assert inspector_only not in html
    assert 'value="number"' in html and 'value="contact"' in html


# ---------------------------------------------------------------- inspectors on a unit


def test_inspector_edits_name_group_parent_and_dates(as_role, db, units):
    response = post(as_role(INSPECTOR), "/units/XMA", {
        "action": "details", "name": "UBND xã Mỹ An (mới)", "kind": "commune", "group_code": "B",
        "parent_code": "SYT", "valid_from": "2025-07-01", "valid_to": "", "details_reason": "Sắp xếp"})
    assert response.status_code == 302
    unit = db.execute_returning_dicts("SELECT * FROM units WHERE id = ?", [units["XMA"]])[0]
    assert (unit["name"], unit["group_code"], unit["parent_id"], unit["valid_from"]) == (
        "UBND xã Mỹ An (mới)", "B", units["SYT"], "2025-07-01")
    html = as_role(INSPECTOR).get("/units/XMA").get_data(as_text=True)
    assert "Sắp xếp" in html and "SYT" in html  # parent shown by code in the history, not by id


@pytest.mark.parametrize("data,field,message", [
    ({"name": ""}, "name", "không được để trống"),
    ({"valid_from": "01/07/2025"}, "valid_from", "NNNN-TT-NN"),
    ({"valid_from": "2025-07-01", "valid_to": "2025-06-30"}, "valid_to", "sau ngày bắt đầu"),
    ({"parent_code": "XMA"}, "parent_code", "chính nó"),
    ({"group_code": "Q"}, "group_code", "Không có nhóm"),
])
def test_inspector_details_with_bad_input_show_the_error_and_change_nothing(as_role, db, units, data, field, message):
    before = snapshot(db)
    form = {"action": "details", "name": "UBND xã Mỹ An", "kind": "commune", "group_code": "C", **data}
    response = post(as_role(INSPECTOR), "/units/XMA", form)
    assert response.status_code == 400
    assert message in (field_error(response.get_data(as_text=True), field) or "")
    assert snapshot(db) == before


def test_inspector_marks_a_number_shared_only_with_a_note(as_role, db, units):
    client = as_role(INSPECTOR)
    response = post(client, "/units/SYT", {"action": "shared", "shared": "y", "shared_note": ""})
    assert response.status_code == 400
    assert hotline(db, units["SYT"])["shared"] == 0
    response = post(client, "/units/SYT", {"action": "shared", "shared": "y", "shared_note": "Tổng đài chung"})
    assert response.status_code == 302
    assert hotline(db, units["SYT"])["shared"] == 1
    assert db.execute("SELECT new, reason FROM changes WHERE field = 'shared'").fetchone() == ("1", "Tổng đài chung")


def test_inspector_registers_a_shared_number_for_a_second_unit(as_role, db, units, inspector):
    client = as_role(INSPECTOR)
    refused = post(client, "/units/XMA", {"action": "number", "number": "0277 3851 234", "hours": "24/7",
                                          "reason": "dùng chung", "number_shared": "y", "number_shared_note": "chung"})
    assert refused.status_code == 400  # SYT still holds it as its own number
    assert "đánh dấu" in field_error(refused.get_data(as_text=True), "number")
    set_shared(db, units["SYT"], True, "Tổng đài chung", actor=inspector)
    response = post(client, "/units/XMA", {"action": "number", "number": "0277 3851 234", "hours": "24/7",
                                           "reason": "dùng chung", "number_shared": "y", "number_shared_note": "chung"})
    assert response.status_code == 302
    assert hotline(db, units["XMA"])["number"] == hotline(db, units["SYT"])["number"] == "+842773851234"
    assert hotline(db, units["XMA"])["shared"] == 1


def test_inspector_clears_an_unreachable_flag_with_a_reason(as_role, db, units):
    flag_hotline(db, units["SYT"], "không liên lạc được")
    response = post(as_role(INSPECTOR), "/units/SYT", {"action": "flag", "flag_reason": "Đã gọi lại, số hoạt động"})
    assert response.status_code == 302
    assert hotline(db, units["SYT"])["flagged_at"] is None
    assert db.execute("SELECT reason FROM changes WHERE field = 'flag' ORDER BY id DESC").fetchone()[0] == \
        "Đã gọi lại, số hoạt động"


def test_inspector_invites_an_editor_and_sees_the_one_time_link_once(as_role, app, db, units):
    client = as_role(INSPECTOR)
    response = post(client, "/units/XMA", {"action": "invite", "invite_email": "moi@myan.test.vn",
                                           "invite_name": "Lê Văn D"})
    assert response.status_code == 200
    link = re.search(r'id="invite-link">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert link.startswith("https://hotline.example.vn/invite/")
    again = client.get("/units/XMA").get_data(as_text=True)
    assert link not in again and "moi@myan.test.vn" in again and "Chờ đặt mật khẩu" in again
    newcomer = app.test_client()
    path = link.removeprefix("https://hotline.example.vn")
    page = newcomer.get(path, follow_redirects=True).get_data(as_text=True)  # the token moves into the session
    accepted = newcomer.post("/invite", data={"csrf_token": csrf_from(page), "password": "mat-khau-moi-dai"})
    assert accepted.headers["Location"].endswith("/my")
    assert newcomer.get("/units/XMA").status_code == 200
    assert newcomer.get("/units/SYT").status_code == 403


def test_inviting_an_existing_account_is_refused_next_to_the_field(as_role, db, units):
    response = post(as_role(INSPECTOR), "/units/XMA", {"action": "invite", "invite_email": "bientap@soyte.test.vn"})
    assert response.status_code == 400
    assert "Đã có tài khoản" in field_error(response.get_data(as_text=True), "invite_email")


def test_inspector_creates_a_unit_with_its_number(as_role, db):
    response = post(as_role(INSPECTOR), "/units/new", {
        "code": "X-TAMNONG", "name": "UBND xã Tam Nông", "kind": "commune", "group_code": "C",
        "number": "0277 3902 016", "hours": "office", "contact_email": "vanthu@tamnong.test.vn"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/units/X-TAMNONG")
    row = db.execute_returning_dicts(
        "SELECT u.name, h.display, h.hours FROM units u JOIN hotlines h ON h.unit_id = u.id WHERE u.code = 'X-TAMNONG'")
    assert row == [{"name": "UBND xã Tam Nông", "display": "0277 3902 016", "hours": "office"}]


@pytest.mark.parametrize("data,field,message", [
    ({"code": "SYT"}, "code", "đã có"),
    ({"code": "mã có dấu"}, "code", "không hợp lệ"),
    ({"number": "067 3902 016"}, "number", "0277"),
    ({"number": "0912 345 678"}, "number", "UBND xã Mỹ An"),
    ({"contact_email": "sai"}, "contact_email", "không hợp lệ"),
])
def test_creating_a_unit_with_bad_input_creates_nothing(as_role, db, units, data, field, message):
    before = snapshot(db)
    form = {"code": "X-TAMNONG", "name": "UBND xã Tam Nông", "kind": "commune", "group_code": "C", **data}
    response = post(as_role(INSPECTOR), "/units/new", form)
    assert response.status_code == 400
    assert message in (field_error(response.get_data(as_text=True), field) or "")
    assert snapshot(db) == before


# ---------------------------------------------------------------- inspectors' list, changes, groups


def test_registry_list_shows_compliance_and_filters(as_role, db, units):
    from registry.units import create_unit

    create_unit(db, {"code": "STC", "name": "Sở Tài chính", "group_code": "A"})
    flag_hotline(db, units["XMA"], "không liên lạc được")
    client = as_role(INSPECTOR)
    html = client.get("/units").get_data(as_text=True)
    assert "Sở Tài chính" in html and "Chưa có số" in html and "Không liên lạc được" in html
    missing = client.get("/units?state=missing").get_data(as_text=True)
    assert "Sở Tài chính" in missing and "Sở Y tế" not in missing
    flagged = client.get("/units?state=flagged").get_data(as_text=True)
    assert "UBND xã Mỹ An" in flagged and "Sở Y tế" not in flagged
    by_group = client.get("/units?group=C").get_data(as_text=True)
    assert "UBND xã Mỹ An" in by_group and "Sở Y tế" not in by_group
    assert "Sở Y tế" in client.get("/units?q=so+y+te").get_data(as_text=True)


def test_changes_feed_lists_the_latest_change_first(as_role, db, units):
    client = as_role(SYT)
    post(client, "/units/SYT", {"action": "number", "number": "0277 3851 777", "hours": "24/7", "reason": "Lý do mới"})
    html = as_role(INSPECTOR).get("/changes").get_data(as_text=True)
    reasons = re.findall(r'<td data-label="Lý do">([^<]*)</td>', html)
    assert reasons[0] == "Lý do mới" and set(reasons[1:]) == {"test", "Tạo đơn vị"}  # the fixture's are older
    assert "0277 3851 777" in html and "bientap@soyte.test.vn" in html


def test_inspector_adds_and_renames_a_group(as_role, db):
    client = as_role(INSPECTOR)
    assert post(client, "/groups", {"code": "D", "name": "Cơ quan ngành dọc", "sort_order": "4",
                                    "tests_per_week": "5"}).status_code == 302
    assert db.execute("SELECT name, tests_per_week FROM groups WHERE code = 'D'").fetchone() == ("Cơ quan ngành dọc", 5)
    assert post(client, "/groups/D", {"name": "Ngành dọc", "sort_order": "4", "tests_per_week": "6"}).status_code == 302
    assert db.execute("SELECT name, tests_per_week FROM groups WHERE code = 'D'").fetchone() == ("Ngành dọc", 6)


@pytest.mark.parametrize("path,data,field,message", [
    ("/groups", {"code": "A", "name": "Trùng", "sort_order": "1", "tests_per_week": "3"}, "code", "đã có"),
    ("/groups", {"code": "Đ", "name": "Có dấu", "sort_order": "1", "tests_per_week": "3"}, "code", "không hợp lệ"),
    ("/groups", {"code": "E", "name": "", "sort_order": "1", "tests_per_week": "3"}, "name", "không được để trống"),
    ("/groups", {"code": "E", "name": "E", "sort_order": "1", "tests_per_week": "ba"}, "tests_per_week", "số nguyên"),
    ("/groups/A", {"name": "A", "sort_order": "1", "tests_per_week": "101"}, "tests_per_week", "từ 0 đến 100"),
    ("/groups/A", {"name": "A", "sort_order": "x", "tests_per_week": "3"}, "sort_order", "số nguyên"),
])
def test_group_forms_refuse_bad_input_in_vietnamese(as_role, db, path, data, field, message):
    before = snapshot(db)
    response = post(as_role(INSPECTOR), path, data)
    assert response.status_code == 400
    assert message in (field_error(response.get_data(as_text=True), field) or "")
    assert snapshot(db) == before


# ---------------------------------------------------------------- public directory


@pytest.mark.parametrize("query", ["so y te", "SỞ Y TẾ", "Y tế", "SYT", "3851 234", "0277.3851.234", "+84 277 3851"])
def test_directory_finds_a_unit_by_folded_name_code_or_digits(client, units, query):
    html = client.get("/", query_string={"q": query}).get_data(as_text=True)
    assert "Sở Y tế" in html and "UBND xã Mỹ An" not in html


def test_directory_is_grouped_like_the_appendix_and_hides_units_no_longer_current(client, db, units):
    from registry.units import create_unit

    create_unit(db, {"code": "H-LAIVUNG", "name": "UBND huyện Lai Vung", "kind": "district", "group_code": "B",
                     "valid_to": "2025-06-30"})
    html = client.get("/").get_data(as_text=True)
    assert html.index("A. CƠ QUAN, ĐƠN VỊ") < html.index("Sở Y tế") < html.index("C. CẤP XÃ") < html.index("UBND xã Mỹ An")
    assert "Lai Vung" not in html and "B. CẤP HUYỆN" not in html
    assert 'href="tel:+842773851234"' in html
    assert "số mẫu" not in html  # no demo numbers here, so no demo notice


def test_directory_warns_that_demo_numbers_are_fictional(client, db, units):
    db.execute("UPDATE hotlines SET is_demo = 1")
    assert "số mẫu, không có thật" in client.get("/").get_data(as_text=True)


# ---------------------------------------------------------------- import and export in the UI


def upload(client, data, name, dry_run=False):
    html = client.get("/registry/import").get_data(as_text=True)
    form = {"csrf_token": csrf_from(html), "file": (io.BytesIO(data), name)}
    if dry_run:
        form["dry_run"] = "y"
    return client.post("/registry/import", data=form, content_type="multipart/form-data")


def test_import_page_lists_every_bad_row_and_writes_nothing(as_role, db, units):
    text = export_csv(db).decode("utf-8-sig")
    text = text.replace("0277 3851 234", "067 3851 234").replace("0912 345 678", "0912 345 678 - 0913 000 111")
    before = snapshot(db)
    response = upload(as_role(INSPECTOR), text.encode("utf-8-sig"), "sua.csv")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    rows = re.findall(r'<td data-label="Dòng" class="num">(\d+)</td>', html)
    assert rows == ["6", "9"]  # 1-4 title, date, blank, header; 5 section A, 6 SYT; 7-8 sections B, C; 9 XMA
    assert "0277" in html and "duy nhất một số" in html
    assert snapshot(db) == before


def test_import_page_applies_a_good_file_and_a_dry_run_writes_nothing(as_role, db, units):
    client = as_role(INSPECTOR)
    data = export_csv(db).decode("utf-8-sig").replace("0277 3851 234", "0277 3851 000").encode("utf-8-sig")
    before = snapshot(db)
    checked = upload(client, data, "moi.csv", dry_run=True)
    assert checked.status_code == 200 and "chưa ghi gì" in checked.get_data(as_text=True)
    assert snapshot(db) == before
    applied = upload(client, data, "moi.csv")
    assert applied.status_code == 200
    changed = applied.get_data(as_text=True).split('id="plan-changed"')[1].split("</table>")[0]
    assert ">SYT<" in changed and "số 0277 3851 234 → 0277 3851 000" in changed
    assert hotline(db, units["SYT"])["display"] == "0277 3851 000"


@pytest.mark.parametrize("data,name,message", [
    (b"", "x.csv", "Tệp rỗng"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "anh.xlsx", "không phải là bảng tính"),
    ("Họ tên,Tuổi\nA,1\n".encode(), "khac.csv", "Không tìm thấy dòng tiêu đề"),
    (b"abc", "tep.pdf", "Chỉ hỗ trợ tệp .xlsx hoặc .csv"),
])
def test_import_page_explains_a_file_it_cannot_read(as_role, db, units, data, name, message):
    before = snapshot(db)
    response = upload(as_role(INSPECTOR), data, name)
    assert response.status_code == 400
    assert message in field_error(response.get_data(as_text=True), "file")
    assert snapshot(db) == before


@pytest.mark.parametrize("fmt,mime,magic", [("xlsx", "spreadsheetml", b"PK"), ("csv", "text/csv", b"\xef\xbb\xbf")])
def test_export_downloads_a_named_file(as_role, units, fmt, mime, magic):
    response = as_role(INSPECTOR).get(f"/registry/export.{fmt}")
    assert mime in response.headers["Content-Type"]
    assert re.search(rf'attachment; filename="duong-day-nong-dong-thap-\d{{4}}-\d{{2}}-\d{{2}}\.{fmt}"',
                     response.headers["Content-Disposition"])
    assert response.data.startswith(magic)


def test_export_with_all_includes_units_no_longer_current(as_role, db, units):
    from registry.units import create_unit

    create_unit(db, {"code": "H-LAIVUNG", "name": "UBND huyện Lai Vung", "group_code": "B", "valid_to": "2025-06-30"})
    client = as_role(INSPECTOR)
    assert "H-LAIVUNG" not in client.get("/registry/export.csv").get_data(as_text=True)
    assert "H-LAIVUNG" in client.get("/registry/export.csv?all=1").get_data(as_text=True)
