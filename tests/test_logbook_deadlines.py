"""Deadlines counted as offices count them (issue 11, item 2): working days around Tết and weekends, make-up
days, declared days off, same-day fields, the pause; the overdue and due-soon lists with a fixed today; the
counts for the report and the menu; the settings pages; `logbook overdue --json`."""
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from registry import clock
from registry.logbook import calendar, deadlines, entries, fields

from .conftest import csrf_from, login, make_editor


# 09:00 local time on a date, as the UTC instant entries are received at.
def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=clock.LOCAL).astimezone(timezone.utc)


def receive(db, unit_id, day: date, field="an-ninh", **extra):
    return entries.create(db, unit_id, {"received_at": at(day), "channel": "hotline", "field_code": field,
                                        "content": extra.pop("content", "Đèn đường hỏng ở ấp 3"), **extra},
                          user_id=None, now=at(day, 10))


# ------------------------------------------------------------------------------------ the calendar

def test_tet_2027_and_weekends_are_not_working_days(db):
    # holidays.VN: Tết 2027 runs from Thu 4 Feb (29 Tết) to Wed 10 Feb.
    for day in (date(2027, 2, 4), date(2027, 2, 8), date(2027, 2, 10), date(2027, 2, 13), date(2027, 1, 1)):
        assert not calendar.is_working_day(db, day), day
    for day in (date(2027, 2, 3), date(2027, 2, 11), date(2027, 2, 15)):
        assert calendar.is_working_day(db, day), day
    assert calendar.working_days_between(db, date(2027, 2, 1), date(2027, 2, 15)) == 5  # 2, 3, 11, 12, 15
    assert calendar.working_days_between(db, date(2027, 2, 15), date(2027, 2, 1)) == -5


def test_deadline_jumps_the_tet_break(db):
    # an-ninh: 3 working days. Received Monday 1 Feb 2027: Tue 2, Wed 3, then Thu 11 after Tết.
    assert deadlines.due_date(db, "an-ninh", date(2027, 2, 1)) == date(2027, 2, 11)
    # tthc: 10 working days: 2, 3, 11, 12, 15, 16, 17, 18, 19, 22.
    assert deadlines.due_date(db, "tthc", date(2027, 2, 1)) == date(2027, 2, 22)
    # Received during Tết: counting starts on the first working day after it.
    assert deadlines.due_date(db, "an-ninh", date(2027, 2, 6)) == date(2027, 2, 16)


def test_weekends_and_days_off_count_from_the_next_working_day(db):
    fields.add(db, "khan", name="Khẩn cấp", deadline_days=0, user_id=None, now=at(date(2026, 12, 1)))
    fields.add(db, "mot-ngay", name="Một ngày", deadline_days=1, user_id=None, now=at(date(2026, 12, 1)))
    assert deadlines.due_date(db, "khan", date(2026, 12, 2)) == date(2026, 12, 2)      # same day (Wednesday)
    assert deadlines.due_date(db, "khan", date(2026, 12, 5)) == date(2026, 12, 7)      # Saturday → Monday
    assert deadlines.due_date(db, "mot-ngay", date(2026, 12, 4)) == date(2026, 12, 7)  # Friday + 1 → Monday
    assert deadlines.due_date(db, "mot-ngay", date(2026, 12, 5)) == date(2026, 12, 8)  # Saturday + 1 → Tuesday
    assert deadlines.due_date(db, None, date(2026, 12, 5)) is None


def test_make_up_saturdays_and_declared_days_off(db):
    # The package's own make-up Saturday of 2026 (22 Aug, for Monday 31 Aug off).
    assert calendar.is_working_day(db, date(2026, 8, 22))
    assert not calendar.is_working_day(db, date(2026, 8, 31))
    # A declared make-up Saturday: Friday + 1 working day is that Saturday.
    friday = date(2027, 1, 8)
    assert calendar.add_working_days(db, friday, 1) == date(2027, 1, 11)
    calendar.declare(db, date(2027, 1, 9), True, "Làm bù", user_id=None, now=at(friday))
    assert calendar.add_working_days(db, friday, 1) == date(2027, 1, 9)
    # The Government extends the Tết break by a day: the deadline moves on by one working day.
    calendar.declare(db, date(2027, 2, 11), False, "Nghỉ Tết thêm", user_id=None, now=at(friday))
    assert deadlines.due_date(db, "an-ninh", date(2027, 2, 1)) == date(2027, 2, 12)
    assert calendar.undeclare(db, date(2027, 2, 11)) and not calendar.undeclare(db, date(2027, 2, 11))
    assert deadlines.due_date(db, "an-ninh", date(2027, 2, 1)) == date(2027, 2, 11)
    assert [d["day"] for d in calendar.declared(db, 2027)] == ["2027-01-09"]


def test_pause_extends_the_deadline_by_the_working_days_waited(db, units):
    entry = receive(db, units["SYT"], date(2026, 12, 1))                 # Tue; an-ninh: due Fri 4 Dec
    assert entry["deadline"] == "2026-12-04"
    assert deadlines.paused_working_days(db, at(date(2026, 12, 2)), at(date(2026, 12, 2), 16)) == 0
    entries.pause(db, entry["id"], "Chờ công dân gửi ảnh", user_id=None, now=at(date(2026, 12, 2)))  # Wed
    resumed = entries.resume(db, entry["id"], user_id=None, now=at(date(2026, 12, 7)))        # Mon: Thu, Fri, Mon
    assert resumed["paused_days"] == 3
    assert resumed["deadline"] == "2026-12-09"                            # Fri 4 + 3 working days


# ------------------------------------------------------------------------------------ lists and counts

@pytest.fixture
def book(db, units):
    """Entries of SYT and XMA around a fixed today, Wednesday 9 Dec 2026 (an-ninh: 3 working days)."""
    syt, xma = units["SYT"], units["XMA"]
    made = {
        "late_syt": receive(db, syt, date(2026, 11, 30)),      # due Thu 3 Dec: 4 working days late on Wed 9
        "late_xma": receive(db, xma, date(2026, 12, 2)),       # due Mon 7 Dec: 2 late
        "today_syt": receive(db, syt, date(2026, 12, 4)),      # due Wed 9: due soon, 0 left
        "soon_syt": receive(db, syt, date(2026, 12, 8)),       # due Fri 11: 2 left
        "later_syt": receive(db, syt, date(2026, 12, 9)),      # due Mon 14: not yet
        "answered": receive(db, syt, date(2026, 11, 30), level="on_spot", answer="Đã hướng dẫn"),
        "paused_early": receive(db, syt, date(2026, 12, 1)),   # due Fri 4, paused Wed 2: clock stopped
        "paused_late": receive(db, xma, date(2026, 11, 30)),   # due Thu 3, paused Mon 7: late already
    }
    entries.pause(db, made["paused_early"]["id"], "Chờ bổ sung", user_id=None, now=at(date(2026, 12, 2)))
    entries.pause(db, made["paused_late"]["id"], "Chờ bổ sung", user_id=None, now=at(date(2026, 12, 7)))
    return made


TODAY = date(2026, 12, 9)


def codes(rows):
    return [r["receipt_code"] for r in rows]


def test_province_lists_with_a_fixed_today(db, units, book):
    lists = deadlines.pending(db, today=TODAY)
    assert codes(lists["overdue"]) == [book["late_syt"]["receipt_code"], book["paused_late"]["receipt_code"],
                                       book["late_xma"]["receipt_code"]]
    days = {r["receipt_code"]: r["days_overdue"] for r in lists["overdue"]}
    assert days[book["late_syt"]["receipt_code"]] == 4      # Fri 4, Mon 7, Tue 8, Wed 9
    assert days[book["late_xma"]["receipt_code"]] == 2      # Tue 8, Wed 9
    assert days[book["paused_late"]["receipt_code"]] == 2   # Fri 4, Mon 7: the clock stopped when paused
    assert [(r["receipt_code"], r["days_left"]) for r in lists["due_soon"]] == [
        (book["today_syt"]["receipt_code"], 0), (book["soon_syt"]["receipt_code"], 2)]
    assert lists["overdue_total"] == 3 and lists["due_soon_total"] == 2
    assert lists["soon_until"] == date(2026, 12, 11)
    assert not any("reporter_phone" in row or "reporter_name" in row for row in lists["overdue"] + lists["due_soon"])


def test_unit_lists_and_counts(db, units, book):
    syt = deadlines.pending(db, unit_id=units["SYT"], today=TODAY)
    assert codes(syt["overdue"]) == [book["late_syt"]["receipt_code"]]
    assert deadlines.overdue_count(db, today=TODAY) == {units["SYT"]: 1, units["XMA"]: 2}
    assert deadlines.overdue_count(db, [units["XMA"]], today=TODAY) == {units["XMA"]: 2}
    assert deadlines.overdue_count(db, [], today=TODAY) == {}
    # Before anything is due, nothing is overdue.
    assert deadlines.overdue_count(db, today=date(2026, 12, 3)) == {}
    assert deadlines.counts_for(db, unit_id=units["SYT"], today=TODAY) == {"overdue": 1, "due_soon": 2}


def test_overdue_count_is_one_grouped_query_on_the_partial_index(db, units, book):
    plan = " ".join(str(row[-1]) for row in db.execute(
        "EXPLAIN QUERY PLAN SELECT e.unit_id, count(*) FROM logbook_entries e INDEXED BY logbook_pending_deadline WHERE "
        + deadlines._LATE + " GROUP BY e.unit_id", {"today": TODAY.isoformat()}).fetchall())
    assert "logbook_pending_deadline" in plan, plan


# ------------------------------------------------------------------------------------ the command line

def test_cli_overdue_json(app, db, units, book, runner, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: at(TODAY, 15))
    result = runner.invoke(args=["logbook", "overdue", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["today"] == "2026-12-09" and data["overdue_total"] == 3
    first = data["overdue"][0]
    assert first["receipt_code"] == book["late_syt"]["receipt_code"] and first["days_overdue"] == 4
    assert first["unit_code"] == "SYT" and "reporter_phone" not in first and "content" not in first
    text = runner.invoke(args=["logbook", "overdue", "--unit", "XMA"])
    assert text.exit_code == 0 and "2 phiếu quá hạn" in text.output
    bad = runner.invoke(args=["logbook", "overdue", "--unit", "KHONGCO"])
    assert bad.exit_code == 1 and "KHONGCO" in bad.output
    assert "Example" in runner.invoke(args=["logbook", "overdue", "--help"]).output


# ------------------------------------------------------------------------------------ pages

def test_editor_sees_only_its_units_list_and_the_menu_count(app, db, units, book, client, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: at(TODAY, 15))
    editor = make_editor(db, units["XMA"], "bientap@xma.test.vn")
    assert login(client, editor["email"], editor["password"]).status_code == 302
    page = client.get("/logbook/overdue?unit=SYT").get_data(as_text=True)
    assert book["late_xma"]["receipt_code"] in page and book["late_syt"]["receipt_code"] not in page
    assert 'data-logbook-overdue="2"' in page and 'data-overdue-total="2"' in page
    assert client.get("/logbook/fields").status_code == 403
    assert client.get("/logbook/calendar").status_code == 403


def test_inspector_sees_the_province_and_one_unit(app, db, units, book, inspector_client, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: at(TODAY, 15))
    page = inspector_client.get("/logbook/overdue").get_data(as_text=True)
    assert 'data-overdue-total="3"' in page and 'data-days-overdue="4"' in page and "UBND xã Mỹ An" in page
    one = inspector_client.get("/logbook/overdue?unit=SYT").get_data(as_text=True)
    assert 'data-overdue-total="1"' in one
    assert inspector_client.get("/logbook/overdue?unit=KHONGCO").status_code == 404


def test_fields_page_edits_and_adds_and_refuses_bad_input(db, inspector_client):
    page = inspector_client.get("/logbook/fields").get_data(as_text=True)
    token = csrf_from(page)
    ok = inspector_client.post("/logbook/fields", data={"csrf_token": token, "action": "update", "code": "an-ninh",
                                                        "name": "An ninh trật tự", "deadline_days": "2"})
    assert ok.status_code == 302 and fields.get(db, "an-ninh")["deadline_days"] == 2
    for bad in ({"deadline_days": "-1"}, {"deadline_days": "ba"}, {"deadline_days": "366"}, {"name": " "}):
        data = {"csrf_token": token, "action": "update", "code": "an-ninh", "name": "X", "deadline_days": "5", **bad}
        answer = inspector_client.post("/logbook/fields", data=data)
        assert answer.status_code == 400 and 'role="alert"' in answer.get_data(as_text=True)
    assert fields.get(db, "an-ninh") == {**fields.get(db, "an-ninh"), "name": "An ninh trật tự", "deadline_days": 2}
    added = inspector_client.post("/logbook/fields", data={"csrf_token": token, "action": "add", "code": "giao-duc",
                                                           "name": "Giáo dục", "deadline_days": "7"})
    assert added.status_code == 302 and fields.get(db, "giao-duc")["deadline_days"] == 7
    for code in ("giao-duc", "Có dấu", ""):
        again = inspector_client.post("/logbook/fields", data={"csrf_token": token, "action": "add", "code": code,
                                                               "name": "Trùng", "deadline_days": "7"})
        assert again.status_code in (400, 409)
    assert fields.get(db, "giao-duc")["name"] == "Giáo dục"
    assert inspector_client.post("/logbook/fields", data={"csrf_token": token, "action": "update", "code": "khong-co",
                                                          "name": "X", "deadline_days": "1"}).status_code == 404


def test_calendar_page_declares_and_removes_days(db, inspector_client):
    page = inspector_client.get("/logbook/calendar?year=2027").get_data(as_text=True)
    assert "2027-02-06" in page and "Lunar New Year" in page
    token = csrf_from(page)
    made = inspector_client.post("/logbook/calendar?year=2027", data={
        "csrf_token": token, "action": "declare", "day": "2027-02-11", "working": "0", "note": "Nghỉ Tết thêm"})
    assert made.status_code == 302 and not calendar.is_working_day(db, date(2027, 2, 11))
    assert "Nghỉ Tết thêm" in inspector_client.get("/logbook/calendar?year=2027").get_data(as_text=True)
    for bad in ({"day": "11/02/2027", "working": "0"}, {"day": "2027-02-12", "working": ""},
                {"day": "9999-01-01", "working": "1"}):
        answer = inspector_client.post("/logbook/calendar", data={"csrf_token": token, "action": "declare", **bad})
        assert answer.status_code == 400
    assert [d["day"] for d in calendar.declared(db, 2027)] == ["2027-02-11"]
    assert inspector_client.post("/logbook/calendar", data={"csrf_token": token, "action": "remove",
                                                            "day": "2027-02-12"}).status_code == 400
    gone = inspector_client.post("/logbook/calendar", data={"csrf_token": token, "action": "remove", "day": "2027-02-11"})
    assert gone.status_code == 302 and calendar.is_working_day(db, date(2027, 2, 11))
    assert inspector_client.get("/logbook/calendar?year=0001").status_code == 404
    assert inspector_client.get("/logbook/calendar?year=abc").status_code == 404


def test_calendar_loads_declared_days_once_per_span(db):
    # The holidays package is read once per year (cached); declared days in one query per call.
    calendar._package_year.cache_clear()
    for offset in range(400):
        calendar.is_working_day(db, date(2027, 1, 1) + timedelta(days=offset))
    assert calendar._package_year.cache_info().misses <= 3


def test_the_overdue_page_refreshes_the_menus_count(app, db, units, book, client, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: at(TODAY, 15))
    editor = make_editor(db, units["XMA"], "bientap2@xma.test.vn")
    assert login(client, editor["email"], editor["password"]).status_code == 302
    assert 'data-logbook-overdue="2"' in client.get("/logbook/overdue").get_data(as_text=True)
    receive(db, units["XMA"], date(2026, 11, 25))                                 # due Mon 30 Nov: overdue
    assert 'data-logbook-overdue="3"' in client.get("/logbook/overdue").get_data(as_text=True)
