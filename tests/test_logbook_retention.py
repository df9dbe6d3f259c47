"""Reporters' names and phones erased after their retention, on a real SQLite file: once a report has been answered
for longer than FLASK_LOGBOOK_PHONE_RETENTION_DAYS, none of its reporter's phone digits survive in any text column
of any table (the entries, the append-only history, attachments' metadata), while reports still being handled and
recently answered ones keep theirs; the citizen's lookup keeps working; runs are idempotent and batched; the
scheduler's daily job and `flask logbook erase-phones [--dry-run]` run it."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from monitor.scheduling.scheduler import logbook_erasure_job
from registry.clock import iso
from registry.logbook import attachments, entries, history, public, retention, transfers

from .conftest import change_settings

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
LONG_AGO = NOW - timedelta(days=400)  # answered more than 365 days ago
LATELY = NOW - timedelta(days=10)
SEPARATORS = re.compile(r"[\s.\-()/+]")


def call(phone: str, name: str, content: str = "Hỏi thủ tục cấp phép xây dựng") -> dict:
    return {"channel": "hotline", "reporter_name": name, "reporter_phone": phone, "field_code": "tthc",
            "content": content, "received_by": "Chị Lan"}


@pytest.fixture
def book(db, units):
    """Entries in every situation, each with its own reporter's number; the numbers that must go and stay."""
    syt, xma = units["SYT"], units["XMA"]
    old = entries.create(db, syt, call("0987 111 222", "Lê Văn Cũ", "Xin gọi lại số 0987.111.222 sau 17 giờ"),
                         user_id=None, now=LONG_AGO)
    # the number written into an answer, a correction's reason and a file's event: all in the history too
    entries.update(db, old["id"], {"dossier_code": "HS-001"}, user_id=None, now=LONG_AGO,
                   reason="Công dân 0987 111 222 báo mã hồ sơ")
    attachments.add(db, old["id"], "don-de-nghi.pdf", b"%PDF-1.7 don", user_id=None, now=LONG_AGO)
    entries.answer(db, old["id"], "Đã gọi lại cho công dân qua số +84 987 111 222", user_id=None, now=LONG_AGO)
    closed = entries.create(db, syt, call("0911 333 444", "Trần Thị Đóng"), user_id=None, now=LONG_AGO)
    entries.answer(db, closed["id"], "Đã trả lời", user_id=None, now=LONG_AGO)
    entries.close(db, closed["id"], user_id=None, now=LONG_AGO)
    on_spot = entries.create(db, syt, {**call("0355 666 777", "Phạm Ngay"), "level": "on_spot",
                                       "answer": "Đã hướng dẫn ngay"}, user_id=None, now=LONG_AGO)
    moved = entries.create(db, syt, call("0977 888 999", "Võ Chuyển"), user_id=None, now=LONG_AGO)
    copy = transfers.transfer(db, moved["id"], xma, "Thuộc xã; đã báo công dân qua 0977-888-999", user_id=None,
                              now=LONG_AGO)
    entries.answer(db, copy["id"], "Xã đã xử lý", user_id=None, now=LONG_AGO)
    still_open = entries.create(db, syt, call("0905 444 555", "Đỗ Đang Chờ"), user_id=None, now=LONG_AGO)
    moving = entries.create(db, syt, call("0906 123 123", "Hồ Đang Chuyển"), user_id=None, now=LONG_AGO)
    transfers.transfer(db, moving["id"], xma, "Thuộc xã", user_id=None, now=LONG_AGO)  # open at the other unit
    lately = entries.create(db, syt, call("0908 765 432", "Mai Mới"), user_id=None, now=LATELY)
    entries.answer(db, lately["id"], "Đã trả lời", user_id=None, now=LATELY)
    anonymous = entries.create(db, syt, call("", ""), user_id=None, now=LONG_AGO)
    entries.answer(db, anonymous["id"], "Đã trả lời", user_id=None, now=LONG_AGO)
    return {"gone": {"0987111222": old, "0911333444": closed, "0355666777": on_spot, "0977888999": moved},
            "kept": {"0905444555": still_open, "0906123123": moving, "0908765432": lately},
            "copy": copy, "anonymous": anonymous}


def text_values(db):
    """(table, column, value) of every text value in the database."""
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]
    for table in tables:
        columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")').fetchall()]
        for row in db.execute(f'SELECT * FROM "{table}"').fetchall():
            for column, value in zip(columns, row):
                if isinstance(value, str):
                    yield table, column, value


def holding(db, digits: str) -> list[str]:
    """Where the number survives, written in any way (separators dropped, national or +84 form)."""
    forms = (digits, "84" + digits[1:])
    return [f"{table}.{column}" for table, column, value in text_values(db)
            if any(form in SEPARATORS.sub("", value) for form in forms)]


def test_after_the_retention_no_reporter_phone_survives_anywhere_and_open_entries_keep_theirs(db, book):
    for digits in book["gone"]:
        assert holding(db, digits)  # before: in the entries (the history never holds it: see below)
        assert not [where for where in holding(db, digits) if where.startswith("logbook_events")]

    result = retention.erase_expired(db, now=NOW, days=365)

    assert result.entries == 5  # four reports, one of them in two units' copies
    assert set(result.receipt_codes) == {e["receipt_code"] for e in book["gone"].values()}
    for digits in book["gone"]:
        assert holding(db, digits) == [], digits
    for digits, entry in book["kept"].items():
        assert entries.get(db, entry["id"])["reporter_phone"] == digits
        assert entries.get(db, entry["id"])["reporter_name"] and entries.get(db, entry["id"])["phone_erased_at"] is None
    old = entries.get(db, book["gone"]["0987111222"]["id"])
    assert old["reporter_name"] == "" and old["phone_erased_at"] == iso(NOW)
    assert old["content"] == "Xin gọi lại số ••• sau 17 giờ" and old["answer"].endswith("qua số •••")
    assert old["dossier_code"] == "HS-001" and old["state"] == "answered" and old["lookup_digits"] == "1222"
    for name in ("Lê Văn Cũ", "Trần Thị Đóng", "Phạm Ngay", "Võ Chuyển"):
        assert not any(name in value for _table, _column, value in text_values(db)), name
    assert entries.get(db, book["gone"]["0977888999"]["id"])["transfer_reason"] == "Thuộc xã; đã báo công dân qua •••"
    assert entries.get(db, book["copy"]["id"])["phone_erased_at"] is not None
    # an anonymous report has nothing to erase and is not marked (its lookup code is no phone's digits)
    assert entries.get(db, book["anonymous"]["id"])["phone_erased_at"] is None
    erased = history.events(db, [old["id"]])[-1]
    assert erased["action"] == "erased" and erased["detail"]["reporter_phone"] == history.WITHHELD


def test_the_citizens_lookup_still_works_after_the_erasure(db, book):
    retention.erase_expired(db, now=NOW, days=365)
    old = book["gone"]["0987111222"]
    view = public.find(db, old["receipt_code"], "1222", client="203.0.113.9", now=NOW)
    assert view["state"] == "answered" and "•••" in view["answer"]


def test_a_second_run_erases_nothing_more_and_a_dry_run_writes_nothing(db, book):
    events = db.execute("SELECT count(*) FROM logbook_events").fetchone()[0]
    dry = retention.erase_expired(db, now=NOW, days=365, dry_run=True)
    assert dry.entries == 5 and db.execute("SELECT count(*) FROM logbook_events").fetchone()[0] == events
    assert entries.get(db, book["gone"]["0911333444"]["id"])["reporter_phone"] == "0911333444"
    assert retention.erase_expired(db, now=NOW, days=365).entries == 5
    events = db.execute("SELECT count(*) FROM logbook_events").fetchone()[0]
    assert retention.erase_expired(db, now=NOW, days=365).entries == 0
    assert db.execute("SELECT count(*) FROM logbook_events").fetchone()[0] == events


def test_small_batches_erase_the_same_entries(db, book):
    result = retention.erase_expired(db, now=NOW, days=365, batch=2)
    assert result.entries == 5 and all(holding(db, digits) == [] for digits in book["gone"])
    assert retention.due(db, now=NOW, days=365) == []


def test_a_longer_retention_keeps_more(db, book):
    assert retention.erase_expired(db, now=NOW, days=500).entries == 0
    assert retention.erase_expired(db, now=NOW, days=5).entries == 6  # the one answered ten days ago too
    assert entries.get(db, book["kept"]["0908765432"]["id"])["reporter_phone"] == ""
    assert entries.get(db, book["kept"]["0905444555"]["id"])["reporter_phone"] == "0905444555"  # still open


def test_the_command_line_and_the_scheduler_job_run_it(app, db, book, runner, monkeypatch):
    monkeypatch.setattr("registry.clock.utcnow", lambda: NOW)
    change_settings(app, LOGBOOK_PHONE_RETENTION_DAYS=365)
    dry = runner.invoke(args=["logbook", "erase-phones", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Sẽ xoá họ tên và số điện thoại người phản ánh ở 5 phiếu" in dry.output
    assert book["gone"]["0987111222"]["receipt_code"] in dry.output
    assert entries.get(db, book["gone"]["0987111222"]["id"])["reporter_phone"] == "0987111222"
    change_settings(app, LOGBOOK_PHONE_RETENTION_DAYS=500)  # nothing answered that long ago
    kept = runner.invoke(args=["logbook", "erase-phones"])
    assert kept.exit_code == 0 and "ở 0 phiếu" in kept.output
    assert logbook_erasure_job(app.extensions["settings"].with_values(logbook_phone_retention_days=365), NOW) == 5
    assert all(holding(db, digits) == [] for digits in book["gone"])
    help_text = runner.invoke(args=["logbook", "erase-phones", "--help"]).output
    assert "Example: flask --app wsgi logbook erase-phones --dry-run" in help_text


def test_the_retention_setting_is_checked_at_start(app):
    with pytest.raises(Exception, match="LOGBOOK_PHONE_RETENTION_DAYS"):
        change_settings(app, LOGBOOK_PHONE_RETENTION_DAYS=0)
    assert app.extensions["settings"].logbook_phone_retention_days == 365
