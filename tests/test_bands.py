"""Time bands in Đồng Tháp's local time (UTC+7): boundaries, weekends, public holidays incl. Tết."""
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import holidays
import pytest

from monitor.labels import BAND as LABELS
from monitor.scheduling.bands import BANDS, LOCAL, classify, holiday_name, local_week_start, week_intervals, week_monday

# Wednesday 2026-03-04 is an ordinary working day.
WEDNESDAY = date(2026, 3, 4)


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=LOCAL)


@pytest.mark.parametrize(
    "hour, minute, second, band",
    [
        (0, 0, 0, "night"),
        (6, 59, 59, "night"),
        (7, 0, 0, "office"),
        (11, 29, 59, "office"),
        (11, 30, 0, "lunch"),
        (13, 29, 59, "lunch"),
        (13, 30, 0, "office"),
        (16, 59, 59, "office"),
        (17, 0, 0, "evening"),
        (21, 59, 59, "evening"),
        (22, 0, 0, "night"),
        (23, 59, 59, "night"),
    ],
)
def test_weekday_boundaries_fall_on_the_local_clock(hour, minute, second, band):
    assert classify(local(WEDNESDAY, hour, minute, second)) == band


@pytest.mark.parametrize("hour", [0, 3, 9, 12, 15, 19, 23])
@pytest.mark.parametrize("day", [date(2026, 3, 7), date(2026, 3, 8)])
def test_saturday_and_sunday_are_weekend_at_every_hour(day, hour):
    assert classify(local(day, hour)) == "weekend"


def test_utc_instants_are_classified_in_vietnamese_time():
    # 00:30 UTC is 07:30 in Đồng Tháp: office hours, though UTC says it is still night.
    assert classify(datetime(2026, 3, 4, 0, 30, tzinfo=timezone.utc)) == "office"
    # 16:59 UTC on Friday is 23:59 Friday local (night); 17:00 UTC Friday is Saturday 00:00 local.
    assert classify(datetime(2026, 3, 6, 16, 59, tzinfo=timezone.utc)) == "night"
    assert classify(datetime(2026, 3, 6, 17, 0, tzinfo=timezone.utc)) == "weekend"


def test_naive_datetimes_are_taken_as_utc_like_every_stored_timestamp():
    assert classify(datetime(2026, 3, 4, 0, 30)) == classify(datetime(2026, 3, 4, 0, 30, tzinfo=timezone.utc))


TET_2027 = sorted(day for day, name in holidays.VN(years=2027).items() if "Lunar New Year" in name)


def test_the_holiday_calendar_knows_tet_2027():
    # Tết Đinh Mùi falls on Saturday 6 February 2027; the days around it are public holidays.
    assert date(2027, 2, 6) in TET_2027
    assert len(TET_2027) >= 5


@pytest.mark.parametrize("day", TET_2027)
@pytest.mark.parametrize("hour", [3, 9, 12, 18, 23])
def test_every_hour_of_tet_is_holiday_even_on_weekdays_and_weekends(day, hour):
    assert holiday_name(day)
    assert classify(local(day, hour)) == "holiday"


@pytest.mark.parametrize("day", [date(2027, 1, 1), date(2027, 4, 30), date(2027, 9, 2), date(2026, 9, 2)])
def test_other_public_holidays_are_holiday(day):
    assert classify(local(day, 10)) == "holiday"


def test_the_working_days_around_tet_are_not_holidays():
    before = min(TET_2027) - timedelta(days=1)
    after = max(TET_2027) + timedelta(days=1)
    for day in (before, after):
        expected = "weekend" if day.weekday() >= 5 else "office"
        assert classify(local(day, 9)) == expected


@pytest.mark.parametrize("day", [date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 8)])
def test_week_monday_and_its_local_midnight(day):
    monday = week_monday(day)
    assert monday == date(2026, 3, 2) and monday.weekday() == 0
    assert local_week_start(day) == datetime(2026, 3, 1, 17, 0, tzinfo=timezone.utc)


def test_an_ordinary_week_has_the_expected_hours_in_each_band():
    seconds = Counter()
    for start, end, band in week_intervals(date(2026, 3, 2)):
        seconds[band] += end - start
    hours = {band: value / 3600 for band, value in seconds.items()}
    assert hours == {"office": 5 * 8, "lunch": 5 * 2, "evening": 5 * 5, "night": 5 * 9, "weekend": 48}
    assert sum(hours.values()) == 7 * 24


def test_week_intervals_are_contiguous_and_agree_with_classify():
    intervals = week_intervals(date(2027, 2, 1))  # the week of Tết 2027
    assert intervals[0][0] == local_week_start(date(2027, 2, 1)).timestamp()
    for (_, end, _), (start, _, _) in zip(intervals, intervals[1:]):
        assert end == start
    for start, end, band in intervals:
        for instant in (start, end - 1, (start + end) / 2):
            assert classify(datetime.fromtimestamp(instant, timezone.utc)) == band
    assert {band for _, _, band in intervals} >= {"office", "holiday"}


def test_every_band_has_a_vietnamese_label():
    assert set(LABELS) == set(BANDS)
