"""One local calendar: at 00:30 in Đồng Tháp (17:30 UTC the day before) every part of the system says it is
already the new local day — the directory, the API, the registry's "current" units, the export, the default
report period, the planner and the alerts' day.

The clock is pinned at the first half hour of 1 July 2025, local time, when the UTC date is still 30 June: a
unit that starts on 1 July is current, one that ended on 30 June is not, and the default period is July.
"""
import random
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from monitor.reports.periods import Period, from_args
from monitor.scheduling.bands import local_week_start, week_monday
from monitor.scheduling.planner import plan_due_soon
from registry import clock
from registry.hotlines import set_hotline
from registry.units import count_units, create_unit, get_unit, is_current, list_units, registry_summary

NOW = datetime(2025, 6, 30, 17, 30, tzinfo=timezone.utc)  # 00:30 on 1 July 2025 in Asia/Ho_Chi_Minh
LOCAL_DAY = date(2025, 7, 1)


def pin_clock(monkeypatch, now: datetime) -> None:
    """Every reader of registry.clock.utcnow (as clock.utcnow or imported by name) sees `now`."""
    original = clock.utcnow
    for module in list(sys.modules.values()):
        if getattr(module, "utcnow", None) is original:
            monkeypatch.setattr(module, "utcnow", lambda: now)


@pytest.fixture
def calendar_units(db):
    """NEW starts on the local date, OLD ended the local day before, KEEP has no dates; all with a hotline."""
    ids = {}
    for code, name, dates, number in (
        ("NEW", "UBND phường Mới Lập", {"valid_from": "2025-07-01"}, "0277 3851 001"),
        ("OLD", "UBND xã Đã Nhập", {"valid_to": "2025-06-30"}, "0277 3851 002"),
        ("KEEP", "Sở Tư pháp", {}, "0277 3851 003"),
    ):
        ids[code] = create_unit(db, {"code": code, "name": name, "group_code": "A", **dates}, now=NOW)
        set_hotline(db, ids[code], number, actor=None, reason="test", now=NOW)
    return ids


def test_the_clock_gives_the_local_date_and_its_bounds_in_utc():
    assert NOW.date() == date(2025, 6, 30)  # what the UTC date would have said
    assert clock.local_today(NOW) == LOCAL_DAY
    assert clock.local_today_iso(NOW) == "2025-07-01"
    assert clock.local_midnight_utc(LOCAL_DAY) == datetime(2025, 6, 30, 17, 0, tzinfo=timezone.utc)
    assert clock.local_day_bounds(LOCAL_DAY) == ("2025-06-30T17:00:00.000Z", "2025-07-01T17:00:00.000Z")
    assert clock.to_local(NOW).hour == 0 and clock.to_local(NOW).minute == 30


def test_registry_current_units_follow_the_local_date(db, calendar_units, monkeypatch):
    pin_clock(monkeypatch, NOW)
    current = {u["code"] for u in list_units(db, current_only=True)}
    assert current == {"NEW", "KEEP"}
    assert count_units(db, state="current") == 2
    assert {u["code"] for u in list_units(db, state="historical")} == {"OLD"}
    assert registry_summary(db)["current"] == 2
    today = clock.local_today_iso(NOW)
    assert is_current(get_unit(db, "NEW"), today) and not is_current(get_unit(db, "OLD"), today)


def test_directory_and_api_agree_on_the_local_date(client, calendar_units, monkeypatch):
    pin_clock(monkeypatch, NOW)
    html = client.get("/").get_data(as_text=True)
    assert "UBND phường Mới Lập" in html and "Sở Tư pháp" in html
    assert "UBND xã Đã Nhập" not in html
    assert "01/07/2025" in html  # the printed "as of" date is the local one
    listed = client.get("/api/hotlines").get_json()
    assert {h["code"] for h in listed["hotlines"]} == {"NEW", "KEEP"}
    assert client.get("/api/hotlines/NEW").get_json()["current"] is True
    assert client.get("/api/hotlines/OLD").get_json()["current"] is False


def test_inspectors_list_and_unit_page_agree_on_the_local_date(inspector_client, calendar_units, monkeypatch):
    pin_clock(monkeypatch, NOW)
    current = inspector_client.get("/units").get_data(as_text=True)
    assert "NEW" in current and "UBND xã Đã Nhập" not in current
    assert "Đang hoạt động: <strong>2</strong>" in current
    historical = inspector_client.get("/units?state=historical").get_data(as_text=True)
    assert "UBND xã Đã Nhập" in historical and "UBND phường Mới Lập" not in historical


def test_export_is_dated_and_filtered_by_the_local_date(inspector_client, calendar_units, monkeypatch):
    pin_clock(monkeypatch, NOW)
    response = inspector_client.get("/registry/export.csv")
    assert 'filename="duong-day-nong-dong-thap-2025-07-01.csv"' in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8-sig")
    assert "(Cập nhật đến ngày 01 tháng 07 năm 2025)" in text
    assert "UBND phường Mới Lập" in text and "UBND xã Đã Nhập" not in text


def test_default_report_period_is_the_local_month():
    period = from_args({}, now=NOW)
    assert period == Period.month(2025, 7)
    assert period.bounds()[0] == "2025-06-30T17:00:00.000Z"  # the local month starts at local midnight
    assert Period.containing(NOW) == Period.month(2025, 7)


def test_reports_page_defaults_to_the_local_month(inspector_client, calendar_units, monkeypatch):
    pin_clock(monkeypatch, NOW)
    html = inspector_client.get("/reports/").get_data(as_text=True)
    assert "from=2025-07-01&amp;to=2025-07-31" in html and 'name="month" value="2025-07"' in html


def test_planner_plans_the_units_current_on_the_local_date_in_the_local_week(db, calendar_units):
    created = plan_due_soon(db, now=NOW, rng=random.Random(1))
    planned = {r[0] for r in db.execute("SELECT u.code FROM attempts a JOIN units u ON u.id = a.unit_id")}
    assert created == 2 and planned == {"NEW", "KEEP"}
    monday = week_monday(clock.local_today(NOW))
    assert monday == date(2025, 6, 30)
    assert local_week_start(monday) == clock.local_midnight_utc(monday)


def test_everyone_agrees_across_a_whole_local_day():
    """Every half hour of the local day of 1 July (17:00 UTC on 30 June to 16:30 UTC on 1 July) is 1 July."""
    for minutes in range(0, 24 * 60, 30):
        instant = datetime(2025, 6, 30, 17, 0, tzinfo=timezone.utc) + timedelta(minutes=minutes)
        assert clock.local_today(instant) == LOCAL_DAY
        assert from_args({}, now=instant) == Period.month(2025, 7)
