"""Agencies' edits seen by inspectors (issue 14, item 8): number changes notify inspectors and may need their
approval; an editor cannot clear a flag by changing the number back and forth; extensions are kept on every
path that takes a number; out-of-province landlines are saved with a warning."""
import io
import re
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from monitor.alerts import check_alerts
from monitor.settings import Settings
from registry.clock import utcnow
from registry.hotlines import clear_flag, flag_hotline, set_hotline
from registry.numbers import parse_hotline

from .conftest import change_settings, csrf_from, login, make_editor
from .fakes import MailSink, free_port

HEADER = ["STT", "TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG", "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG", "GHI CHÚ", "MÃ ĐƠN VỊ"]


def signed_in(app, account):
    client = app.test_client()
    assert login(client, account["email"], account["password"]).status_code == 302
    return client


def post(client, url, data):
    html = client.get(url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_from(html), **data})


def save_number(client, number, reason="Chuyển tổng đài", hours="24/7", code="SYT"):
    return post(client, f"/units/{code}", {"action": "number", "number": number, "hours": hours, "reason": reason})


def hotline(db, unit_id):
    return db.execute_returning_dicts("SELECT * FROM hotlines WHERE unit_id = ?", [unit_id])[0]


def history(db, unit_id, field):
    return db.execute_returning_dicts("SELECT * FROM changes WHERE unit_id = ? AND field = ? ORDER BY id",
                                      [unit_id, field])


def require_approval(client, *scopes):
    response = post(client, "/number-changes", {"action": "rules", "required": list(scopes)})
    assert response.status_code == 302


@pytest.fixture
def smtp():
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


def mail_settings(port):
    return Settings.load({}, {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "INSPECTOR_EMAILS": "thanhtra1@vpubnd.test.vn",
                              "MAIL_FROM": "duongdaynong@vpubnd.test.vn", "PUBLIC_BASE_URL": "https://hotline.example.vn"})


# ---------------------------------------------------------------- inspectors are told


def test_an_editors_number_change_emails_the_inspectors_once_and_is_listed_for_them(app, db, units, editor, inspector,
                                                                                    smtp):
    sink, port = smtp
    response = save_number(signed_in(app, editor), "0277 3851 999", reason="Tổng đài mới")
    assert response.status_code == 302 and hotline(db, units["SYT"])["display"] == "0277 3851 999"
    counts = check_alerts(db, mail_settings(port), now=utcnow())
    assert counts["sent"] == 1
    message = sink.messages[0]
    assert message["To"] == "thanhtra1@vpubnd.test.vn"
    assert message["Subject"] == "[Đường dây nóng] Sở Y tế đã đổi số đường dây nóng"
    body = message.get_content()
    assert "0277 3851 234 → 0277 3851 999" in body and "Tổng đài mới" in body and editor["email"] in body
    assert "https://hotline.example.vn/number-changes" in body
    alert = db.execute_returning_dicts("SELECT * FROM alerts")[0]
    assert alert["kind"] == "number_change" and alert["trigger_change_id"] == history(db, units["SYT"], "number")[-1]["id"]
    # told once: the next check sends nothing more
    assert check_alerts(db, mail_settings(port), now=utcnow())["sent"] == 0 and len(sink.envelopes) == 1
    # an inspector's own change is not news to the inspectors
    set_hotline(db, units["XMA"], "0912 345 111", actor=inspector, reason="Thanh tra sửa")
    assert check_alerts(db, mail_settings(port), now=utcnow())["sent"] == 0
    page = signed_in(app, inspector).get("/number-changes").get_data(as_text=True)
    assert "Thay đổi số gần đây" in page and "0277 3851 999" in page and "Tổng đài mới" in page


# ---------------------------------------------------------------- approval


def test_with_approval_required_the_new_number_waits_and_the_public_keeps_the_old_one(app, db, units, editor,
                                                                                     inspector, smtp):
    sink, port = smtp
    inspector_client = signed_in(app, inspector)
    require_approval(inspector_client, "A")
    editor_client = signed_in(app, editor)
    response = save_number(editor_client, "0277 3851 999", reason="Tổng đài mới")
    assert response.status_code == 302
    assert "chờ thanh tra viên duyệt" in editor_client.get(response.location).get_data(as_text=True)
    # the registry, the directory and the API keep the old number; the scheduler dials hotlines.number
    assert hotline(db, units["SYT"])["display"] == "0277 3851 234"
    assert app.test_client().get("/api/hotlines/SYT").get_json()["display"] == "0277 3851 234"
    assert "0277 3851 999" not in app.test_client().get("/").get_data(as_text=True)
    # the editor sees the pending state; the inspector sees the count in the menu and the proposal
    assert "Số mới đang chờ thanh tra viên duyệt" in editor_client.get("/units/SYT").get_data(as_text=True)
    page = inspector_client.get("/number-changes").get_data(as_text=True)
    assert 'data-pending-numbers="1"' in page and "0277 3851 999" in page
    # the mail says it waits
    check_alerts(db, mail_settings(port), now=utcnow())
    assert sink.messages[0]["Subject"] == "[Đường dây nóng] Sở Y tế đề nghị đổi số, chờ duyệt"
    proposal = db.execute_returning_dicts("SELECT * FROM number_proposals")[0]

    # a rejection needs a reason; without one nothing changes
    refused = post(inspector_client, "/number-changes", {"action": "reject", "proposal": proposal["id"], "reason": " "})
    assert refused.status_code == 400 and "Hãy ghi lý do từ chối" in refused.get_data(as_text=True)
    assert db.execute("SELECT status FROM number_proposals").fetchone()[0] == "pending"
    rejected = post(inspector_client, "/number-changes", {"action": "reject", "proposal": proposal["id"],
                                                          "reason": "Số chưa đăng ký với nhà mạng"})
    assert rejected.status_code == 302
    assert hotline(db, units["SYT"])["display"] == "0277 3851 234"
    assert "Số chưa đăng ký với nhà mạng" in editor_client.get("/units/SYT").get_data(as_text=True)

    # proposed again, then approved: now the public sees it
    save_number(editor_client, "0277 3851 999", reason="Đã đăng ký với nhà mạng")
    second = db.execute_returning_dicts("SELECT * FROM number_proposals WHERE status = 'pending'")[0]
    again = post(inspector_client, "/number-changes", {"action": "reject", "proposal": proposal["id"], "reason": "x"})
    assert again.status_code == 404  # a decided proposal cannot be decided twice
    approved = post(inspector_client, "/number-changes", {"action": "approve", "proposal": second["id"], "reason": "Đã gọi thử"})
    assert approved.status_code == 302
    assert app.test_client().get("/api/hotlines/SYT").get_json()["display"] == "0277 3851 999"
    fields = [c["field"] for c in db.execute_returning_dicts(
        "SELECT field FROM changes WHERE unit_id = ? AND field LIKE 'number%' ORDER BY id", [units["SYT"]])]
    assert fields == ["number", "number_proposed", "number_rejected", "number_proposed", "number", "number_approved"]
    approval = history(db, units["SYT"], "number_approved")[0]
    assert approval["user_id"] == inspector["id"] and approval["reason"] == "Đã gọi thử"
    rejection = history(db, units["SYT"], "number_rejected")[0]
    assert rejection["user_id"] == inspector["id"] and rejection["reason"] == "Số chưa đăng ký với nhà mạng"
    assert history(db, units["SYT"], "number_proposed")[0]["user_id"] == editor["id"]
    assert 'data-pending-numbers' not in inspector_client.get("/number-changes").get_data(as_text=True)


def test_approval_is_off_by_default_and_per_group_or_province(app, db, units, inspector):
    xma_editor = make_editor(db, units["XMA"], "bientap@myan.test.vn")
    inspector_client = signed_in(app, inspector)
    require_approval(inspector_client, "A")  # XMA is in group C: applies at once
    assert save_number(signed_in(app, xma_editor), "0912 345 999", code="XMA").status_code == 302
    assert hotline(db, units["XMA"])["display"] == "0912 345 999"
    require_approval(inspector_client, "*")  # the whole province
    save_number(signed_in(app, xma_editor), "0912 345 888", code="XMA")
    assert hotline(db, units["XMA"])["display"] == "0912 345 999"
    # an inspector's own change is never held
    save_number(inspector_client, "0912 345 777", code="XMA")
    assert hotline(db, units["XMA"])["display"] == "0912 345 777"


def test_rules_and_decisions_are_for_inspectors_only(app, units, editor):
    client = signed_in(app, editor)
    assert client.get("/number-changes").status_code == 403
    page = client.get("/units/SYT").get_data(as_text=True)
    assert client.post("/number-changes", data={"csrf_token": csrf_from(page), "action": "rules",
                                                "required": "*"}).status_code == 403


@pytest.mark.parametrize("proposal", ["abc", "99999999999999999999999", ""])
def test_a_bad_proposal_id_is_a_clear_4xx(app, units, inspector, proposal):
    response = post(signed_in(app, inspector), "/number-changes", {"action": "approve", "proposal": proposal})
    assert 400 <= response.status_code < 500


# ---------------------------------------------------------------- flags stay with their number


def test_an_editor_cannot_clear_a_flag_by_changing_the_number_back_and_forth(app, db, units, editor, inspector):
    flag_hotline(db, units["SYT"], "Không liên lạc được 3 lần")
    client = signed_in(app, editor)
    save_number(client, "0277 3851 999")
    assert hotline(db, units["SYT"])["flagged_at"] is None  # a number never flagged starts clean
    save_number(client, "0277 3851 234")
    back = hotline(db, units["SYT"])
    assert back["flagged_at"] and back["flag_reason"] == "Không liên lạc được 3 lần"
    assert history(db, units["SYT"], "flag")[-1]["new"] == "Không liên lạc được 3 lần"
    # the editor has no way to clear it; the inspector does, and then the number is clean for good
    page = client.get("/units/SYT").get_data(as_text=True)
    assert client.post("/units/SYT", data={"csrf_token": csrf_from(page), "action": "flag"}).status_code == 403
    clear_flag(db, units["SYT"], actor=inspector, reason="Đã gọi được")
    save_number(client, "0277 3851 999")
    save_number(client, "0277 3851 234")
    assert hotline(db, units["SYT"])["flagged_at"] is None


# ---------------------------------------------------------------- extensions


@pytest.mark.parametrize("written", ["0277 3851 235 máy lẻ 12", "0277 3851 235 ext 12", "0277 3851 235 nhánh 12",
                                     "0277 3851 235 - 12", "0277.3851.235-12"])
def test_every_way_of_writing_an_extension_is_read(written):
    parsed = parse_hotline(written)
    assert (parsed.display, parsed.extension) == ("0277 3851 235", "12")


@pytest.mark.parametrize("written", ["0273 - 3851234", "0277-3851-234", "0277 3851 - 234"])
def test_a_dash_inside_a_number_is_no_extension(written):
    assert parse_hotline(written).extension == ""


def test_the_unit_form_keeps_the_extension_and_the_api_shows_it(app, db, units, editor):
    client = signed_in(app, editor)
    assert save_number(client, "0277 3851 234 - 102", reason="").status_code == 302  # same number, new extension
    assert hotline(db, units["SYT"])["extension"] == "102"
    assert history(db, units["SYT"], "extension")[-1]["new"] == "102"
    page = client.get("/units/SYT").get_data(as_text=True)
    assert "máy lẻ 102" in page
    # saving the form again (only the hours change) keeps it: the field shows it
    form_value = re.search(r'name="number"[^>]*value="([^"]*)"', page) or re.search(r'value="([^"]*)"[^>]*name="number"', page)
    assert form_value.group(1) == "0277 3851 234 máy lẻ 102"
    save_number(client, form_value.group(1), hours="office")
    assert (hotline(db, units["SYT"])["extension"], hotline(db, units["SYT"])["hours"]) == ("102", "office")
    api = app.test_client().get("/api/hotlines/SYT").get_json()
    assert api["extension"] == "102" and api["display"] == "0277 3851 234"
    assert app.test_client().get("/api/hotlines/XMA").get_json()["extension"] is None
    assert "máy lẻ 102" in app.test_client().get("/").get_data(as_text=True)


def appendix_csv(number):
    rows = [HEADER, ["A", "CƠ QUAN, ĐƠN VỊ", "", "", ""], ["1", "Sở Nội vụ", number, "", "SNV"]]
    return ("\ufeff" + "\n".join(",".join(f'"{c}"' for c in row) for row in rows) + "\n").encode("utf-8")


def test_the_appendix_import_keeps_the_extension_on_the_web_and_the_cli(app, db, units, inspector, runner, tmp_path):
    client = signed_in(app, inspector)
    page = client.get("/registry/import").get_data(as_text=True)
    response = client.post("/registry/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_from(page), "file": (io.BytesIO(appendix_csv("0277 3851 555 máy lẻ 12")), "ds.csv")})
    assert response.status_code == 200, response.get_data(as_text=True)
    row = db.execute("SELECT h.display, h.extension FROM hotlines h JOIN units u ON u.id = h.unit_id "
                     "WHERE u.code = 'SNV'").fetchone()
    assert tuple(row) == ("0277 3851 555", "12")
    path = tmp_path / "ds.csv"
    path.write_bytes(appendix_csv("0277 3851 666 - 34"))
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 0, result.output
    row = db.execute("SELECT h.display, h.extension FROM hotlines h JOIN units u ON u.id = h.unit_id "
                     "WHERE u.code = 'SNV'").fetchone()
    assert tuple(row) == ("0277 3851 666", "34")


# ---------------------------------------------------------------- out of the province


def test_an_out_of_province_landline_is_saved_with_a_warning(app, db, units, editor, inspector):
    client = signed_in(app, editor)
    response = save_number(client, "0273 3851 234")
    assert response.status_code == 302
    assert hotline(db, units["SYT"])["display"] == "0273 3851 234"  # a warning, not a refusal
    page = client.get(response.location).get_data(as_text=True)
    assert "mã vùng 0273, không phải mã vùng của tỉnh (0277)" in page
    listing = signed_in(app, inspector).get("/units").get_data(as_text=True)
    assert listing.count("Ngoài tỉnh") == 1  # SYT's landline only; XMA's mobile has no area code
    # the province is a setting
    change_settings(app, PROVINCE_AREA_CODE="273")
    assert "Ngoài tỉnh" not in signed_in(app, inspector).get("/units").get_data(as_text=True)


def test_a_landline_of_the_province_and_a_mobile_get_no_warning(app, db, units, editor):
    client = signed_in(app, editor)
    for number in ("0277 3851 777", "0912 000 111"):
        response = save_number(client, number)
        assert "không phải mã vùng của tỉnh" not in client.get(response.location).get_data(as_text=True)


def test_a_wrong_province_area_code_setting_stops_start_up():
    with pytest.raises(Exception, match="FLASK_PROVINCE_AREA_CODE"):
        Settings.load({"FLASK_PROVINCE_AREA_CODE": "abc"})


def test_notifications_older_than_a_week_are_not_sent(app, db, units, editor, smtp):
    sink, port = smtp
    set_hotline(db, units["SYT"], "0277 3851 999", actor={**editor}, reason="cũ", now=utcnow() - timedelta(days=8))
    assert check_alerts(db, mail_settings(port), now=utcnow())["sent"] == 0


def test_a_new_unit_gets_the_warning_too(app, db, inspector):
    client = signed_in(app, inspector)
    response = post(client, "/units/new", {"code": "SNV", "name": "Sở Nội vụ", "kind": "department", "group_code": "A",
                                           "number": "0273 3851 000", "hours": "24/7"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "không phải mã vùng của tỉnh" in client.get(response.location).get_data(as_text=True)
