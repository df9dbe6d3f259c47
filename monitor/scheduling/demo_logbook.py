"""The demo's logbook: citizens' entries in several units' books, and the test calls checked against them.

Called once when the demo's scheduler starts (monitor/scheduling/scheduler.py seed_demo), after the story:

- seed_citizens(): ordinary citizens' reports over the last weeks, through registry.logbook.entries like a
  unit's staff would write them: every channel and several fields, answered on the spot, answered later,
  waiting for the citizen, one transferred twice (sent around: the report counts it), one overdue;
- seed_test_calls(): answered test calls placed a day and a half ago (the simulator, nothing dialled) and, for
  each, what its unit's staff did: wrote it down at once (logged), a day later (late) or never (not logged).
  The entries are written like any citizen's (our caller line as the reporter's phone), with no marker;
- log_answered(): while the demo runs, the rounds' answered calls are written down by most units in time.

Keyed: the citizens' entries only into an empty logbook, the test calls by plan key 'demo-book:<unit>', the
live logging once per call (an entry at its time from our line). Nothing here runs outside demo mode.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from monitor import attempts
from monitor.attempts import lifecycle
from monitor.logbook.match import match_calls
from monitor.providers.script import question_for
from monitor.providers.simulator import SimulatorProvider
from monitor.reports.periods import Period
from monitor.scheduling.bands import classify
from monitor.scheduling.dispatch import dial
from monitor.settings import Settings
from registry import demo as registry_demo
from registry.clock import LOCAL, iso
from registry.logbook import entries, transfers

# (unit, what its staff did with our answered test call): logged at once, a day later, or not at all.
TEST_CALLS = (("SYT", "logged"), ("STP", "logged"), ("SNV", "late"), ("SXD", "not_logged"),
              ("STC", "logged"), ("SCT", "not_logged"), ("H-TAMNONG", "late"), ("P-CAOLANH", "logged"))
CALLS_AGO = timedelta(hours=34)  # before the late delay (24 h by default), so the late ones can be late
# Citizens' entries: (unit, days ago, channel, field, reporter, phone, content, what happened next).
CITIZENS = (
    ("SYT", 12, "hotline", "y-te", "Trần Thị Mai", "0918 224 571",
     "Phản ánh phòng khám tư ở phường Mỹ Trà thu phí khám cao hơn bảng giá niêm yết.", "answered"),
    ("SYT", 3, "zalo", "y-te", "Lê Văn Hùng", "0903 118 042",
     "Hỏi thủ tục cấp lại thẻ bảo hiểm y tế cho người cao tuổi bị mất thẻ.", "on_spot"),
    ("SYT", 1, "hotline", "tthc", "", "",
     "Người gọi không xưng tên hỏi giờ làm việc của bộ phận một cửa Sở Y tế vào thứ Bảy.", "on_spot"),
    ("STP", 9, "walk_in", "tthc", "Nguyễn Văn Bình", "0939 507 316",
     "Hồ sơ trích lục khai sinh nộp đã quá hẹn 5 ngày chưa có kết quả.", "waiting"),
    ("SNNMT", 21, "letter", "an-ninh", "Phạm Văn Tư", "0974 662 190",
     "Phản ánh cơ sở thu mua phế liệu đốt rác thải gây khói độc ban đêm tại khóm 3.", "overdue"),
    ("SXD", 6, "web", "dat-dai", "Võ Thị Hạnh", "0907 381 925",
     "Công trình xây dựng lấn chiếm hành lang kênh thủy lợi ở xã Mỹ An, đề nghị kiểm tra.", "sent_around"),
    ("H-TAMNONG", 4, "1022", "ha-tang", "Huỳnh Văn Lộc", "0916 730 448",
     "Đèn đường tuyến ĐT 843 đoạn qua ấp 2 không sáng gần một tuần.", "open"),
    ("P-CAOLANH", 2, "hotline", "moi-truong", "Đặng Thị Thu", "0945 206 873",
     "Rác thải ở chợ tạm cuối đường Lê Lợi không được thu gom hai ngày.", "answered"),
)
ANSWER = "Đơn vị đã kiểm tra, làm việc với cơ sở và trả lời công dân qua điện thoại."
ON_SPOT = "Đã hướng dẫn công dân ngay trong cuộc gọi: hồ sơ, nơi nộp và thời hạn giải quyết."


def _units(db) -> dict[str, dict]:
    rows = db.execute_returning_dicts(
        "SELECT u.id, u.code, h.number FROM units u JOIN hotlines h ON h.unit_id = u.id WHERE h.is_demo = 1")
    return {row["code"]: row for row in rows}


def _editor(db) -> int | None:
    rows = db.execute("SELECT id FROM users WHERE email = ?", [registry_demo.EDITOR[0]]).fetchall()
    return rows[0][0] if rows else None


def _office_time(now: datetime, ago: timedelta) -> datetime:
    """`ago` before now, moved to 09:30 local that day when it falls outside office hours (a realistic call)."""
    at = now - ago
    local = at.astimezone(LOCAL)
    if not 8 <= local.hour < 17:
        at = local.replace(hour=9, minute=30, second=0, microsecond=0).astimezone(at.tzinfo)
    return at


def seed_citizens(db, *, now: datetime) -> int:
    """Citizens' entries (CITIZENS) into an empty logbook; returns how many were written."""
    if db.execute("SELECT 1 FROM logbook_entries LIMIT 1").fetchone():
        return 0
    units, editor = _units(db), _editor(db)
    written = 0
    for code, days, channel, field, name, phone, content, fate in CITIZENS:
        unit = units.get(code)
        if unit is None:
            continue
        at = _office_time(now, timedelta(days=days))
        user = editor if code == registry_demo.EDITOR_UNIT else None
        entry = entries.create(db, unit["id"], {
            "received_at": iso(at), "channel": channel, "field_code": field, "reporter_name": name,
            "reporter_phone": phone, "content": content, "received_by": "Cán bộ trực",
            "level": "on_spot" if fate == "on_spot" else "unit", "answer": ON_SPOT if fate == "on_spot" else ""},
            user_id=user, now=at + timedelta(minutes=6))
        written += 1
        later = at + timedelta(days=1)
        if fate == "answered":
            entries.answer(db, entry["id"], ANSWER, user_id=user, now=later)
        elif fate == "waiting":
            entries.pause(db, entry["id"], "Chờ công dân bổ sung bản sao giấy tờ tùy thân.", user_id=user, now=later)
        elif fate == "sent_around" and "SNNMT" in units and "H-TAMNONG" in units:
            copy = transfers.transfer(db, entry["id"], units["SNNMT"]["id"], "Thuộc lĩnh vực thủy lợi.",
                                      user_id=None, now=later)
            transfers.transfer(db, copy["id"], units["H-TAMNONG"]["id"], "Công trình thuộc địa bàn huyện quản lý.",
                               user_id=None, now=later + timedelta(days=1))
    return written


def seed_test_calls(db, settings: Settings, *, now: datetime, sink, owner: str) -> int:
    """Answered test calls CALLS_AGO ago, each logged, late or not logged by its unit; returns calls placed."""
    units, editor = _units(db), _editor(db)
    line = settings.simulator_from_number
    placed = 0
    for index, (code, fate) in enumerate(TEST_CALLS):
        unit = units.get(code)
        if unit is None:
            continue
        at = _office_time(now, CALLS_AGO - timedelta(minutes=7 * index))
        row = None
        with attempts.write_transaction(db):
            attempt_id = attempts.create_attempt(db, unit_id=unit["id"], number=unit["number"], planned_at=at,
                                                 band=classify(at), plan_key=f"demo-book:{code}", now=at)
            if attempts.get_attempt(db, attempt_id)["state"] == "planned":
                lifecycle.claim(db, attempt_id, owner=owner, requested_at=iso(at),
                                lease_until=iso(at + timedelta(seconds=settings.lease_seconds)))
                row = {**attempts.get_attempt(db, attempt_id), "extension": "", "simulate": "answered"}
        if row is None:
            continue  # seeded by an earlier start
        provider = SimulatorProvider(settings, sink, synchronous=True, clock=lambda at=at: at, seed=attempt_id)
        dial(db, provider, row, settings=settings, now=lambda at=at: at)
        placed += 1
        if fate == "not_logged" or attempts.get_attempt(db, attempt_id)["outcome"] != "answered":
            continue
        written = at + (timedelta(minutes=8) if fate == "logged" else CALLS_AGO)  # late: written a day later
        _write(db, unit["id"], attempt_id, at, line, user=editor if code == registry_demo.EDITOR_UNIT else None,
               written=min(written, now))
    return placed


def log_answered(db, settings: Settings, *, now: datetime) -> int:
    """The demo rounds' answered calls of today, written down by most units (not those whose number's hash says
    they skip the book) a few minutes after the call. Returns how many entries were written."""
    start = now.astimezone(LOCAL).date()
    written = 0
    for m in match_calls(db, Period(start, start, "custom"), settings=settings):
        if m.status != "not_logged" or _skips(m.unit_code):
            continue
        at = datetime.fromisoformat(m.called_at.replace("Z", "+00:00"))
        if now - at < timedelta(minutes=3):
            continue  # staff need a moment to write
        _write(db, m.unit_id, m.attempt_id, at, settings.simulator_from_number, user=None, written=now)
        written += 1
    return written


def _skips(unit_code: str) -> bool:
    """About one unit in four never writes test calls down (stable per unit)."""
    return hashlib.sha256(unit_code.encode()).digest()[0] < 64


def _write(db, unit_id: int, attempt_id: int, at: datetime, line: str, *, user, written: datetime) -> None:
    """The unit's staff write the caller's question down as an entry, like any citizen's call."""
    question = question_for(attempt_id)
    entries.create(db, unit_id, {
        "received_at": iso(at + timedelta(seconds=30)), "channel": "hotline", "field_code": question.field_code,
        "reporter_phone": line, "content": "Công dân gọi hỏi: " + question.text, "received_by": "Cán bộ trực",
        "level": "on_spot", "answer": ON_SPOT}, user_id=user, now=written)

