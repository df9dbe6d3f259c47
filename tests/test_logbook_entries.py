"""The logbook's entries: receipt codes (unique under concurrency), lookup digits, the history, states and pauses,
transfers and their counts, attachments checked by content."""
import io
import json
import threading
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest

from registry.db import connect
from registry.errors import RegistryError
from registry.logbook import attachments, entries, history, transfers
from registry.logbook.entry_rules import mask_phone

# Tuesday 1 December 2026, 09:00 in Đồng Tháp
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
CALL = {"channel": "hotline", "reporter_name": "Nguyễn Văn A", "reporter_phone": "0912.345.678",
        "field_code": "tthc", "content": "Hỏi thủ tục cấp đổi giấy phép lái xe", "received_by": "Chị Lan"}


def test_an_entry_gets_a_readable_receipt_code_its_lookup_digits_and_a_working_day_deadline(db, units):
    entry = entries.create(db, units["SYT"], dict(CALL), user_id=None, now=NOW)
    assert entry["receipt_code"] == "SYT-261201-001"
    assert entry["reporter_phone"] == "0912345678" and entry["lookup_digits"] == "5678"
    assert entry["state"] == "open" and entry["level"] == "unit"
    assert entry["deadline"] == "2026-12-15"  # ten working days after Tuesday 1 December
    second = entries.create(db, units["SYT"], dict(CALL), user_id=None, now=NOW)
    assert second["receipt_code"] == "SYT-261201-002"
    assert entries.create(db, units["XMA"], dict(CALL), user_id=None, now=NOW)["receipt_code"] == "XMA-261201-001"
    assert mask_phone(entry["reporter_phone"]) == "0912 ••• 678"
    [created] = history.events(db, [entry["id"]])
    assert created["action"] == "created" and created["detail"]["receipt_code"] == "SYT-261201-001"


def test_an_anonymous_reporter_gets_a_random_four_digit_code(db, units):
    entry = entries.create(db, units["SYT"], {**CALL, "reporter_name": "", "reporter_phone": ""}, user_id=None,
                           now=NOW)
    assert len(entry["lookup_digits"]) == 4 and entry["lookup_digits"].isdigit()


def test_twenty_threads_creating_at_once_get_twenty_different_codes(app, db, units):
    path, codes, errors = app.config["DATABASE"], [], []
    start = threading.Barrier(20)

    def work():
        conn = connect(path)
        try:
            start.wait()
            codes.append(entries.create(conn, units["SYT"], dict(CALL), user_id=None, now=NOW)["receipt_code"])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(codes) == [f"SYT-261201-{n:03d}" for n in range(1, 21)]


@pytest.mark.parametrize("change,field", [
    ({"content": "  "}, "content"), ({"channel": "fax"}, "channel"), ({"field_code": "khong-co"}, "field_code"),
    ({"reporter_phone": "gọi lại sau"}, "reporter_phone"), ({"reporter_phone": "123"}, "reporter_phone"),
    ({"content": "x" * 5001}, "content"), ({"received_at": "hôm qua"}, "received_at"),
    ({"received_at": "2026-12-02 09:00"}, "received_at"), ({"level": "on_spot"}, "answer"),
    ({"level": "transferred"}, "level"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(db, units, change, field):
    with pytest.raises(RegistryError) as info:
        entries.create(db, units["SYT"], {**CALL, **change}, user_id=None, now=NOW)
    assert info.value.field == field
    assert db.execute("SELECT count(*) FROM logbook_entries").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM logbook_sequences").fetchone()[0] == 0


def test_create_many_is_all_or_nothing_and_names_the_bad_row(db, units):
    rows = [dict(CALL), dict(CALL), {**CALL, "content": ""}]
    with pytest.raises(RegistryError) as info:
        entries.create_many(db, units["SYT"], rows, user_id=None, now=NOW)
    assert "3" in info.value.message
    assert db.execute("SELECT count(*) FROM logbook_entries").fetchone()[0] == 0
    assert entries.create_many(db, units["SYT"], rows[:2], user_id=None, now=NOW) == ["SYT-261201-001",
                                                                                        "SYT-261201-002"]


def test_an_answer_on_the_spot_is_answered_at_once(db, units):
    entry = entries.create(db, units["SYT"], {**CALL, "level": "on_spot", "answer": "Đã hướng dẫn nộp tại bộ phận một cửa"},
                           user_id=None, now=NOW)
    assert entry["state"] == "answered" and entry["answered_at"]


def test_pause_and_resume_move_the_deadline_by_the_working_days_waited(db, units):
    entry = entries.create(db, units["SYT"], dict(CALL), user_id=None, now=NOW)
    entries.pause(db, entry["id"], "Chờ công dân bổ sung giấy tờ", user_id=None, now=NOW)
    with pytest.raises(RegistryError):
        entries.pause(db, entry["id"], "lần nữa", user_id=None, now=NOW)
    later = NOW + timedelta(days=7)  # Tuesday 8 December: five working days waited
    resumed = entries.resume(db, entry["id"], user_id=None, now=later)
    assert resumed["state"] == "open" and resumed["paused_days"] == 5 and resumed["deadline"] == "2026-12-22"
    answered = entries.answer(db, entry["id"], "Đã giải quyết", user_id=None, now=later)
    assert answered["state"] == "answered"
    closed = entries.close(db, entry["id"], user_id=None, now=later)
    assert closed["state"] == "closed"
    actions = [e["action"] for e in history.events(db, [entry["id"]])]
    assert actions == ["created", "paused", "resumed", "answered", "closed"]
    paused = history.events(db, [entry["id"]])[1]
    assert paused["reason"] == "Chờ công dân bổ sung giấy tờ" and paused["detail"]["state"] == ["open", "waiting"]
    entries.rate(db, entry["receipt_code"], 5, later)
    assert entries.get(db, entry["id"])["rating"] == 5
    with pytest.raises(RegistryError):
        entries.rate(db, entry["receipt_code"], 6, later)


def test_the_history_cannot_be_changed(db, units):
    entry = entries.create(db, units["SYT"], dict(CALL), user_id=None, now=NOW)
    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE logbook_events SET reason = 'x' WHERE entry_id = ?", [entry["id"]])


def test_an_update_keeps_old_and_new_in_the_history(db, units):
    entry = entries.create(db, units["SYT"], dict(CALL), user_id=None, now=NOW)
    entries.update(db, entry["id"], {"content": "Nội dung đã sửa"}, user_id=None, now=NOW, reason="Ghi nhầm")
    last = history.events(db, [entry["id"]])[-1]
    assert last["detail"] == {"content": [CALL["content"], "Nội dung đã sửa"]} and last["reason"] == "Ghi nhầm"


def test_a_transfer_creates_the_entry_at_the_other_unit_under_the_same_code(db, units):
    entry = entries.create(db, units["SYT"], dict(CALL), user_id=None, now=NOW)
    with pytest.raises(RegistryError) as info:
        transfers.transfer(db, entry["id"], units["XMA"], "  ", user_id=None, now=NOW)
    assert info.value.field == "reason"
    with pytest.raises(RegistryError):
        transfers.transfer(db, entry["id"], units["SYT"], "Tự chuyển", user_id=None, now=NOW)
    copy = transfers.transfer(db, entry["id"], units["XMA"], "Thuộc thẩm quyền của xã", user_id=None, now=NOW)
    assert copy["receipt_code"] == entry["receipt_code"] and copy["unit_id"] == units["XMA"]
    assert copy["from_entry_id"] == entry["id"] and copy["state"] == "open" and copy["deadline"] == "2026-12-15"
    origin = entries.get(db, entry["id"])
    assert origin["state"] == "transferred" and origin["transferred_to"] == units["XMA"]
    assert origin["transfer_reason"] == "Thuộc thẩm quyền của xã"
    assert [c["unit_code"] for c in transfers.chain(db, copy)] == ["SYT", "XMA"]
    with pytest.raises(RegistryError):  # back to a unit that already had it: no going round in circles
        transfers.transfer(db, copy["id"], units["SYT"], "Trả lại", user_id=None, now=NOW)
    assert transfers.transfer_counts(db, date(2026, 12, 1), date(2026, 12, 31)) == {}


def test_transfer_counts_name_the_first_unit_of_entries_transferred_more_than_once(db, units):
    from registry.units import create_unit

    third = create_unit(db, {"code": "STP", "name": "Sở Tư pháp", "kind": "department", "group_code": "A"})
    entry = entries.create(db, units["SYT"], dict(CALL), user_id=None, now=NOW)
    copy = transfers.transfer(db, entry["id"], units["XMA"], "Thẩm quyền của xã", user_id=None, now=NOW)
    transfers.transfer(db, copy["id"], third, "Thẩm quyền của Sở Tư pháp", user_id=None, now=NOW)
    assert transfers.transfer_counts(db, date(2026, 12, 1), date(2026, 12, 31)) == {units["SYT"]: 1}
    assert transfers.transfer_counts(db, date(2026, 11, 1), date(2026, 11, 30)) == {}


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def test_attachments_are_checked_by_content_size_and_count(db, units):
    entry = entries.create(db, units["SYT"], dict(CALL), user_id=None, now=NOW)
    assert attachments.add(db, entry["id"], "don.pdf", b"%PDF-1.7 ...", user_id=None, now=NOW)
    assert attachments.add(db, entry["id"], "C:\\tai lieu\\bien-ban.docx", _docx(), user_id=None, now=NOW)
    for name, data in [("virus.pdf", b"MZ\x90\x00"), ("anh.png", b"%PDF-1.7"), ("chay.exe", b"MZ"),
                       ("bang.xlsx", _docx()), ("to.pdf", b"%PDF-" + b"0" * attachments.MAX_BYTES)]:
        with pytest.raises(RegistryError) as info:
            attachments.add(db, entry["id"], name, data, user_id=None, now=NOW)
        assert info.value.field == "file"
    listed = attachments.for_entries(db, [entry["id"]])
    assert [a["filename"] for a in listed] == ["don.pdf", "bien-ban.docx"]
    for n in range(attachments.MAX_PER_ENTRY - 2):
        attachments.add(db, entry["id"], f"anh{n}.png", b"\x89PNG\r\n\x1a\n...", user_id=None, now=NOW)
    with pytest.raises(RegistryError):
        attachments.add(db, entry["id"], "them.pdf", b"%PDF-1", user_id=None, now=NOW)
    assert json.loads(db.execute("SELECT detail FROM logbook_events WHERE action = 'attached' LIMIT 1").fetchone()[0]) \
        == {"file": "don.pdf"}


def test_the_history_never_holds_the_reporters_phone_or_name():
    """The history is append-only, so personal data written there could never be erased after its retention."""
    import json as _json
    from datetime import datetime as _dt
    from datetime import timezone as _tz

    from registry.db import connect as _connect
    from registry.db import migrate as _migrate
    from registry.logbook import history as _history
    from registry.schema import MIGRATIONS as _MIGRATIONS

    db = _connect(":memory:")
    _migrate(db, [("registry", _MIGRATIONS)])
    db.execute("INSERT INTO units (code, name, group_code, created_at) "
               "VALUES ('U', 'U', (SELECT code FROM groups LIMIT 1), '2026-01-01')")
    db.execute("INSERT INTO logbook_entries (receipt_code, unit_id, received_at, channel, content, created_at, "
               "updated_at) VALUES ('U-1', 1, '2026-01-01', 'hotline', 'x', '2026-01-01', '2026-01-01')")
    _history.record(db, 1, "updated", user_id=None, now=_dt(2026, 1, 2, tzinfo=_tz.utc),
                    changes={"reporter_phone": ("0912345678", "0987654321"), "reporter_name": ("An", "Bình"),
                             "content": ("x", "y")})
    detail = _json.loads(db.execute("SELECT detail FROM logbook_events").fetchone()[0])
    assert detail == {"reporter_phone": _history.WITHHELD, "reporter_name": _history.WITHHELD,
                      "content": ["x", "y"]}
