"""Correcting a logbook entry ("Sửa phiếu") with the real Flask client and a real SQLite file: the unit's editor
corrects for a reason and the history keeps old, new and why (never the reporter's name or phone); bad input and
stale pages change nothing; answered, closed and transferred entries keep what they must; inspectors and other
units' editors are refused."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from registry.errors import RegistryError
from registry.logbook import entries, history, transfers

from .conftest import csrf_from, login, make_editor

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)  # Tuesday 1 December 2026, 09:00 in Đồng Tháp
CALL = {"channel": "hotline", "reporter_name": "Nguyễn Văn A", "reporter_phone": "0912.345.678",
        "field_code": "tthc", "content": "Hỏi thủ tục cấp đổi giấy phép lái xe", "received_by": "Chị Lan"}


@pytest.fixture
def entry(db, units):
    return entries.create(db, units["SYT"], dict(CALL), user_id=None, now=NOW)


def edit_url(entry) -> str:
    return f"/logbook/entries/{entry['id']}/edit"


def shown_form(client, entry) -> dict:
    """The edit form's fields as the page fills them (what a browser would send back untouched)."""
    page = client.get(edit_url(entry)).get_data(as_text=True)
    form = page[page.index('id="sua-phieu"'):]
    values = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', form))
    values.update(re.findall(r'<textarea[^>]*name="([a-z_]+)"[^>]*>\s*([^<]*)</textarea>', form))
    for name, options in re.findall(r'<select[^>]*name="([a-z_]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', options)
        values[name] = next(v for v in chosen.groups() if v is not None) if chosen else ""
    values["csrf_token"] = csrf_from(page)
    return values


def save(client, entry, **changes):
    return client.post(edit_url(entry), data={**shown_form(client, entry), **changes})


def test_the_editor_corrects_an_entry_and_the_history_says_what_changed_and_why(editor_client, db, entry):
    page = editor_client.get(f"/logbook/entries/{entry['id']}").get_data(as_text=True)
    assert edit_url(entry) in page  # the entry page links to its correction
    form = shown_form(editor_client, entry)
    assert form["content"] == CALL["content"] and form["reporter_phone"] == "0912345678"
    assert form["field_code"] == "tthc" and form["channel"] == "hotline" and form["version"].isdigit()

    response = save(editor_client, entry, content="Hỏi thủ tục cấp đổi giấy phép lái xe hạng B2",
                    reporter_name="Nguyễn Văn Ánh", edit_reason="Ghi thiếu hạng bằng và sai tên")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/logbook/entries/{entry['id']}")
    after = entries.get(db, entry["id"])
    assert after["content"].endswith("hạng B2") and after["reporter_name"] == "Nguyễn Văn Ánh"
    assert after["received_at"] == entry["received_at"]  # untouched time shown in minutes: not a correction
    last = history.events(db, [entry["id"]])[-1]
    assert last["action"] == "updated" and last["reason"] == "Ghi thiếu hạng bằng và sai tên"
    assert last["detail"] == {"content": [CALL["content"], after["content"]], "reporter_name": history.WITHHELD}
    assert last["author"] == "bientap@soyte.test.vn"
    page = editor_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ghi thiếu hạng bằng và sai tên" in page and "Nguyễn Văn A<" not in page and "Nguyễn Văn A " not in page


def test_a_new_phone_number_is_recorded_as_changed_without_either_number(editor_client, db, entry):
    assert save(editor_client, entry, reporter_phone="0903 111 222",
                edit_reason="Công dân đọc nhầm số, số cũ 0912 345 678").status_code == 302
    assert entries.get(db, entry["id"])["reporter_phone"] == "0903111222"
    assert entries.get(db, entry["id"])["lookup_digits"] == "5678"  # the receipt the citizen holds still works
    stored = db.execute("SELECT detail, reason FROM logbook_events WHERE entry_id = ? ORDER BY id DESC LIMIT 1",
                        [entry["id"]]).fetchone()
    assert "0903111222" not in stored[0] and "0912345678" not in stored[0]
    assert "345 678" not in stored[1] and stored[1] == "Công dân đọc nhầm số, số cũ •••"


@pytest.mark.parametrize("change, field", [
    ({"edit_reason": ""}, "edit_reason"), ({"edit_reason": "  "}, "edit_reason"), ({"content": ""}, "content"),
    ({"content": "x" * 5001}, "content"), ({"reporter_phone": "abc"}, "reporter_phone"),
    ({"received_at": "2099-01-01T08:00"}, "received_at"), ({"received_at": "hôm qua"}, "received_at"),
    ({"channel": "fax"}, "channel"), ({"field_code": "<script>"}, "field_code"),
    ({"edit_reason": "x" * 2001}, "edit_reason"),
])
def test_bad_input_gets_a_vietnamese_message_and_changes_nothing(editor_client, db, entry, change, field):
    before = (entries.get(db, entry["id"]), entries.version(db, entry["id"]))
    response = save(editor_client, entry, **{"edit_reason": "Sửa lỗi", **change})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "errors-summary" in page and f'href="#{field}"' in page
    assert re.search(r'class="field-error" id="' + field + r'-err">[^<]*[ạảãàáâầấậẩẫăằắặẳẵêềếệểễơờớợởỡưừứựửữđ]', page)
    assert (entries.get(db, entry["id"]), entries.version(db, entry["id"])) == before


def test_saving_nothing_new_is_said_and_writes_nothing(editor_client, db, entry):
    version = entries.version(db, entry["id"])
    response = save(editor_client, entry, reporter_phone="0912 345 678", edit_reason="Không đổi gì")
    assert response.status_code == 400 and "Chưa có thay đổi nào để lưu." in response.get_data(as_text=True)
    assert entries.version(db, entry["id"]) == version


def test_a_stale_page_is_refused_and_shown_again_with_the_entry_as_it_is_now(editor_client, db, entry):
    stale = shown_form(editor_client, entry)
    entries.update(db, entry["id"], {"content": "Sửa bởi đồng nghiệp"}, user_id=None, now=NOW, reason="Gõ nhầm")
    response = editor_client.post(edit_url(entry), data={**stale, "content": "Sửa của tôi", "edit_reason": "Sửa lại"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "Phiếu vừa được thay đổi trong lúc bạn sửa" in page
    assert entries.get(db, entry["id"])["content"] == "Sửa bởi đồng nghiệp"  # the colleague's change stands
    assert "Sửa bởi đồng nghiệp" in page and f'value="{entries.version(db, entry["id"])}"' in page
    forged = editor_client.post(edit_url(entry), data={**stale, "version": "x" * 40, "content": "Khác",
                                                       "edit_reason": "Sửa"})
    assert forged.status_code == 409 and entries.get(db, entry["id"])["content"] == "Sửa bởi đồng nghiệp"


def test_a_post_without_csrf_is_refused(editor_client, db, entry):
    form = {k: v for k, v in shown_form(editor_client, entry).items() if k != "csrf_token"}
    assert editor_client.post(edit_url(entry), data={**form, "content": "Khác", "edit_reason": "x"}).status_code == 400
    assert entries.get(db, entry["id"])["content"] == CALL["content"]


def test_a_corrected_field_moves_the_deadline_of_an_entry_being_handled(editor_client, db, entry):
    assert entry["deadline"] == "2026-12-15"  # "tthc": ten working days
    assert save(editor_client, entry, field_code="an-ninh", edit_reason="Phản ánh về trật tự").status_code == 302
    moved = entries.get(db, entry["id"])
    assert moved["field_code"] == "an-ninh" and moved["deadline"] == "2026-12-04"  # three working days
    assert history.events(db, [entry["id"]])[-1]["detail"]["deadline"] == ["2026-12-15", "2026-12-04"]


def test_an_answered_entry_keeps_its_received_time_and_field(editor_client, db, entry):
    entries.answer(db, entry["id"], "Đã hướng dẫn nộp hồ sơ trực tuyến", user_id=None, now=NOW)
    page = editor_client.get(edit_url(entry)).get_data(as_text=True)
    assert 'name="content"' in page and 'name="field_code"' not in page and 'name="received_at"' not in page
    # a forged field is not taken from the page, and the domain refuses it anyway
    assert save(editor_client, entry, field_code="an-ninh", content="Nội dung đã chỉnh",
                edit_reason="Bổ sung").status_code == 302
    after = entries.get(db, entry["id"])
    assert after["field_code"] == "tthc" and after["content"] == "Nội dung đã chỉnh" and after["state"] == "answered"
    with pytest.raises(RegistryError) as refused:
        entries.update(db, entry["id"], {"field_code": "an-ninh"}, user_id=None, now=NOW, reason="Đổi lĩnh vực")
    assert refused.value.status == 409 and refused.value.field == "field_code"


def test_closed_and_transferred_entries_are_not_corrected(editor_client, db, units, entry):
    other = entries.create(db, units["SYT"], dict(CALL), user_id=None, now=NOW)
    transfers.transfer(db, other["id"], units["XMA"], "Thuộc thẩm quyền của xã", user_id=None, now=NOW)
    entries.answer(db, entry["id"], "Đã trả lời", user_id=None, now=NOW)
    entries.close(db, entry["id"], user_id=None, now=NOW)
    for closed in (entry, other):
        version = entries.version(db, closed["id"])
        response = editor_client.get(edit_url(closed))
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/entries/{closed['id']}")
        token = csrf_from(editor_client.get(f"/logbook/entries/{entry['id']}").get_data(as_text=True))
        assert editor_client.post(edit_url(closed), data={"content": "x", "edit_reason": "y",
                                                          "csrf_token": token}).status_code == 302
        assert entries.version(db, closed["id"]) == version
        assert edit_url(closed) not in editor_client.get(f"/logbook/entries/{closed['id']}").get_data(as_text=True)
        with pytest.raises(RegistryError):
            entries.update(db, closed["id"], {"content": "x"}, user_id=None, now=NOW, reason="y")


def test_inspectors_read_but_do_not_correct_and_other_units_are_refused(client, db, units, inspector, entry):
    version = entries.version(db, entry["id"])
    login(client, inspector["email"], inspector["password"])
    assert edit_url(entry) not in client.get(f"/logbook/entries/{entry['id']}").get_data(as_text=True)
    assert client.get(edit_url(entry)).status_code == 403
    token = csrf_from(client.get(f"/logbook/entries/{entry['id']}").get_data(as_text=True))
    assert client.post(edit_url(entry), data={"content": "x", "edit_reason": "y", "csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    other = make_editor(db, units["XMA"], "bientap@xa.test.vn")
    login(client, other["email"], other["password"])
    assert client.get(edit_url(entry)).status_code == 403
    assert client.get("/logbook/entries/999999/edit").status_code == 404
    assert entries.version(db, entry["id"]) == version


def test_an_erased_reporter_cannot_be_written_back(editor_client, db, entry):
    entries.answer(db, entry["id"], "Đã trả lời", user_id=None, now=NOW)
    entries.erase_personal(db, [entry["id"]], now=NOW + timedelta(days=400))
    page = editor_client.get(edit_url(entry)).get_data(as_text=True)
    assert 'name="reporter_phone"' not in page and "Đã xoá khi hết thời hạn lưu" in page
    assert save(editor_client, entry, reporter_phone="0912345678", content="Nội dung bổ sung",
                edit_reason="Bổ sung").status_code == 302
    assert entries.get(db, entry["id"])["reporter_phone"] == ""
    with pytest.raises(RegistryError) as refused:
        entries.update(db, entry["id"], {"reporter_phone": "0912345678"}, user_id=None, now=NOW, reason="Ghi lại")
    assert refused.value.field == "reporter_phone"
