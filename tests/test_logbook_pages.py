"""The logbook's pages with the real Flask client: an editor logs a call and handles it, inspectors read,
other units' editors are refused, bad input writes nothing, attachments download safely."""
import io
from datetime import datetime, timezone

import pytest

from registry.logbook import entries

from .conftest import csrf_from, login, make_editor

CALL = {"content": "Hỏi thủ tục cấp đổi giấy phép lái xe", "reporter_name": "Nguyễn Văn A",
        "reporter_phone": "0912 345 678", "field_code": "tthc", "channel": "hotline", "received_at": "",
        "level": "unit", "answer": "", "dossier_code": "", "received_by": "Chị Lan"}
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


def post(client, url, data, **kwargs):
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def count(db) -> int:
    return db.execute("SELECT count(*) FROM logbook_entries").fetchone()[0]


def test_the_editor_logs_a_call_and_sees_its_receipt_code(editor_client, db):
    form = editor_client.get("/units/SYT/logbook/new").get_data(as_text=True)
    assert form.index('name="content"') < form.index('name="reporter_name"')  # the content first
    assert '<option selected value="hotline">' in form or 'value="hotline" selected' in form
    response = post(editor_client, "/units/SYT/logbook/new", CALL)
    assert response.status_code == 302
    [entry] = entries.book(db, db.execute("SELECT id FROM units WHERE code = 'SYT'").fetchone()[0])
    page = editor_client.get(response.headers["Location"]).get_data(as_text=True)
    assert entry["receipt_code"] in page and "5678" in page
    assert "0912345678" in page  # the unit's own editor sees the whole number on the entry page
    book = editor_client.get("/units/SYT/logbook").get_data(as_text=True)
    assert entry["receipt_code"] in book and "0912 ••• 678" in book and "0912345678" not in book


@pytest.mark.parametrize("change", [{"content": ""}, {"reporter_phone": "abc"}, {"content": "x" * 5001},
                                    {"received_at": "2099-01-01T08:00"}, {"channel": "fax"}, {"level": "on_spot"},
                                    {"field_code": "<script>"}])
def test_bad_input_gets_a_vietnamese_message_and_writes_nothing(editor_client, db, change):
    response = post(editor_client, "/units/SYT/logbook/new", {**CALL, **change})
    assert response.status_code == 400
    assert "errors-summary" in response.get_data(as_text=True)
    assert count(db) == 0


def test_a_post_without_csrf_is_refused(editor_client, db):
    assert editor_client.post("/units/SYT/logbook/new", data=CALL).status_code == 400
    assert count(db) == 0


def test_an_entry_is_answered_paused_transferred_from_its_page(editor_client, db, units):
    entry = entries.create(db, units["SYT"], {k: v for k, v in CALL.items() if v}, user_id=None, now=NOW)
    url = f"/logbook/entries/{entry['id']}"
    assert post(editor_client, url, {"action": "pause", "p-pause_reason": ""}).status_code == 400
    assert post(editor_client, url, {"action": "pause", "p-pause_reason": "Chờ bổ sung CCCD"}).status_code == 302
    assert entries.get(db, entry["id"])["state"] == "waiting"
    assert post(editor_client, url, {"action": "resume"}).status_code == 302
    assert post(editor_client, url, {"action": "bogus"}).status_code == 400
    response = post(editor_client, url, {"action": "transfer", "t-to_unit": "XMA", "t-transfer_reason": "Thuộc xã"})
    assert response.status_code == 302
    copies = entries.by_receipt(db, entry["receipt_code"])
    assert [c["unit_code"] for c in copies] == ["SYT", "XMA"] and copies[0]["state"] == "transferred"
    page = editor_client.get(url).get_data(as_text=True)
    assert "Chờ bổ sung CCCD" in page and "UBND xã Mỹ An" in page


def test_the_other_units_editor_is_refused_and_the_receiving_unit_sees_the_chain(client, db, units, editor):
    other = make_editor(db, units["XMA"], "bientap@myan.test.vn")
    entry = entries.create(db, units["SYT"], {k: v for k, v in CALL.items() if v}, user_id=None, now=NOW)
    assert login(client, other["email"], other["password"]).status_code == 302
    assert client.get("/units/SYT/logbook").status_code == 403
    assert client.get(f"/logbook/entries/{entry['id']}").status_code == 403
    assert client.get("/units/SYT/logbook/new").status_code == 403
    from registry.logbook import transfers

    copy = transfers.transfer(db, entry["id"], units["XMA"], "Thẩm quyền của xã", user_id=None, now=NOW)
    page = client.get(f"/logbook/entries/{copy['id']}").get_data(as_text=True)
    assert "Thẩm quyền của xã" in page and "Sở Y tế" in page
    assert "0912345678" in page  # its copy now: the unit that handles it calls the citizen back
    assert client.get(f"/logbook/entries/{entry['id']}").status_code == 403  # the origin's copy stays the origin's


def test_inspectors_read_every_book_but_do_not_write(inspector_client, db, units):
    entry = entries.create(db, units["SYT"], {k: v for k, v in CALL.items() if v}, user_id=None, now=NOW)
    assert inspector_client.get("/logbook").status_code == 200
    assert inspector_client.get("/logbook?code=SYT").headers["Location"].endswith("/units/SYT/logbook")
    book = inspector_client.get("/units/SYT/logbook?state=open&field=tthc&from=2026-12-01&to=2026-12-31")
    assert entry["receipt_code"] in book.get_data(as_text=True)
    assert entry["receipt_code"] not in inspector_client.get("/units/SYT/logbook?state=closed").get_data(as_text=True)
    for far in ("0001-01-01", "9999-12-31", "2026-02-30"):  # ignored, never a 500
        assert inspector_client.get(f"/units/SYT/logbook?from={far}&to={far}").status_code == 200
    page = inspector_client.get(f"/logbook/entries/{entry['id']}").get_data(as_text=True)
    assert "0912 ••• 678" in page and "0912345678" not in page
    assert inspector_client.get("/units/SYT/logbook/new").status_code == 403
    assert post(inspector_client, f"/logbook/entries/{entry['id']}", {"action": "resume"}).status_code == 403


def test_attachments_upload_and_download_only_as_files(editor_client, client, db, units):
    entry = entries.create(db, units["SYT"], {k: v for k, v in CALL.items() if v}, user_id=None, now=NOW)
    url = f"/logbook/entries/{entry['id']}"
    bad = post(editor_client, url, {"action": "attach", "f-file": (io.BytesIO(b"MZ\x90"), "don.pdf")},
               content_type="multipart/form-data")
    assert bad.status_code == 400 and "PDF" in bad.get_data(as_text=True)
    good = post(editor_client, url, {"action": "attach", "f-file": (io.BytesIO(b"%PDF-1.7 x"), "đơn thư.pdf")},
                content_type="multipart/form-data")
    assert good.status_code == 302
    attachment_id = db.execute("SELECT id FROM logbook_attachments").fetchone()[0]
    download = editor_client.get(f"/logbook/attachments/{attachment_id}")
    assert download.data == b"%PDF-1.7 x"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert editor_client.get("/logbook/attachments/999999").status_code == 404
