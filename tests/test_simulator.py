"""The simulator: per-number habits, Twilio-shaped events through the same ingest path, every outcome."""
import random
import time
from collections import Counter
from datetime import datetime, timezone

import pytest

from monitor import attempts
from monitor.attempts.redirects import detect_redirect, spoken_digits
from monitor.providers import ProviderUnavailable, make_provider
from monitor.providers.simulator import HABITS, habit, simulate_call, speak_number
from monitor.settings import Settings
from registry.hotlines import set_hotline
from registry.units import create_unit

from .fakes import ingesting_sink

NOW = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)
CONFIG = {"CALL_PROVIDER": "simulator", "RING_TIMEOUT": 30, "RETEST_DELAY_MINUTES": 60, "TWILIO_FROM_NUMBER": "+842776000000"}
SETTINGS = Settings.load({}, CONFIG)


def numbers(count):
    return [f"+84277{3800000 + i * 7919:07d}" for i in range(count)]


def sink_into(db):
    return ingesting_sink(db, now=NOW, config=SETTINGS)


def planned(db, count):
    ids = []
    for i, number in enumerate(numbers(count)):
        unit = create_unit(db, {"code": f"SIM{i}", "name": f"Đơn vị mô phỏng {i}"})
        set_hotline(db, unit, number, actor=None)
        ids.append(attempts.create_attempt(db, unit_id=unit, number=number, planned_at=NOW, band="office", now=NOW))
    return ids


def test_a_number_keeps_its_habit_and_habits_follow_the_weights():
    many = numbers(2000)
    assert [habit(n) for n in many[:50]] == [habit(n) for n in many[:50]]
    counts = Counter(habit(n) for n in many)
    total = sum(HABITS.values())
    for name, weight in HABITS.items():
        assert abs(counts[name] / len(many) - weight / total) < 0.04, (name, counts)


def test_single_calls_sometimes_differ_from_the_numbers_habit():
    number = numbers(1)[0]
    behaviours = Counter(simulate_call({"id": i, "number": number}, ring_timeout=30, rng=random.Random(i))[0]
                         for i in range(300))
    assert behaviours.most_common(1)[0][0] == habit(number)
    assert 0.75 < behaviours[habit(number)] / 300 < 0.97 and len(behaviours) >= 3


@pytest.mark.parametrize("seed", range(40))
def test_answering_calls_ring_between_one_and_six_times(seed):
    behaviour, steps = simulate_call({"id": seed, "number": numbers(60)[seed]}, ring_timeout=30, rng=random.Random(seed))
    times = {params.get("CallStatus"): offset for offset, kind, params in steps if kind == "status"}
    if behaviour in ("answered", "redirect"):
        assert 1 <= times["in-progress"] - times["ringing"] <= 30
    if behaviour == "no_answer":
        assert times["no-answer"] - times["ringing"] == pytest.approx(30)
    assert [o for o, _, _ in steps] == sorted(o for o, _, _ in steps)


@pytest.mark.parametrize("number", ["+842773851234", "+84912345678", "1022"])
def test_spoken_numbers_read_back_to_the_same_digits(number):
    national = "0" + number[3:] if number.startswith("+84") else number
    assert spoken_digits(speak_number(number, random.Random(1))) == [national]


def test_simulated_calls_through_the_sink_produce_every_outcome_with_twilio_shaped_events(db, units):
    provider = make_provider(SETTINGS, sink_into(db), synchronous=True, seed=7)
    ids = planned(db, 120)
    for attempt_id in ids:
        row = attempts.get_attempt(db, attempt_id)
        sid = provider.place_call(row)
        attempts.mark_placed(db, attempt_id, sid, provider.name, NOW)
    rows = [attempts.get_attempt(db, i) for i in ids]
    assert all(row["state"] == "ended" for row in rows)
    outcomes = Counter(row["outcome"] for row in rows)
    assert {"answered", "machine", "no_answer", "busy", "unreachable", "redirected"} <= set(outcomes), outcomes
    assert outcomes["answered"] > len(ids) / 2
    answered = [r for r in rows if r["outcome"] == "answered"]
    assert all(1 <= r["answer_seconds"] <= 32 for r in answered)
    status = attempts.events(db, ids[0])[0]
    assert status["kind"] == "status" and status["params"]["CallStatus"] == "initiated"
    assert {"CallSid", "AccountSid", "From", "To", "SequenceNumber", "Timestamp", "Direction"} <= set(status["params"])
    assert len(provider.placed) == len(ids)


def test_the_simulators_behaviour_matches_the_classified_outcome(db, units):
    provider = make_provider(SETTINGS, sink_into(db), synchronous=True, seed=3)
    expected = {"answered": "answered", "redirect": "redirected", "machine": "machine", "no_answer": "no_answer",
                "busy": "busy", "unreachable": "unreachable", "route_error": "provider_error"}
    for attempt_id in planned(db, 80):
        provider.place_call(attempts.get_attempt(db, attempt_id))
        row = attempts.get_attempt(db, attempt_id)
        behaviour = provider._calls[attempt_id]["behaviour"]
        if behaviour == "unclear":  # half-heard on purpose: the rules decide (see test_unclear_calls_reach_the_review_queue)
            continue
        assert row["outcome"] == expected[behaviour], (behaviour, row["outcome_detail"], row["transcript"])


def test_redirect_scripts_name_a_number_other_than_the_registered_one(db):
    found = 0
    for seed in range(200):
        number = numbers(200)[seed]
        behaviour, steps = simulate_call({"id": seed, "number": number}, ring_timeout=30, rng=random.Random(seed))
        if behaviour != "redirect":
            continue
        speech = " | ".join(p["SpeechResult"] for _, kind, p in steps if kind == "gather")
        assert detect_redirect(speech, number) is not None, speech
        found += 1
    assert found > 5


def test_find_call_remembers_placed_calls(db, units):
    provider = make_provider(SETTINGS, sink_into(db), synchronous=True, seed=1)
    attempt_id = planned(db, 1)[0]
    assert provider.find_call({"id": attempt_id}) is None
    sid = provider.place_call(attempts.get_attempt(db, attempt_id))
    found = provider.find_call({"id": attempt_id})
    assert found["sid"] == sid and found["status"] in ("completed", "busy", "no-answer", "failed")


def test_fail_rate_makes_place_call_raise_provider_unavailable_without_events(db, units):
    provider = make_provider(SETTINGS.with_values(simulator_fail_rate=1.0), sink_into(db), synchronous=True)
    attempt_id = planned(db, 1)[0]
    with pytest.raises(ProviderUnavailable):
        provider.place_call(attempts.get_attempt(db, attempt_id))
    assert provider.placed == [] and attempts.events(db, attempt_id) == []


def test_timed_delivery_on_its_thread_reaches_the_database_and_close_flushes_the_rest(app, db, units):
    delivered = []
    # as the scheduler's sink does: its own connection per event
    sink = ingesting_sink(app.config["DATABASE"], now=NOW, config=SETTINGS, delivered=delivered)
    fast = make_provider(SETTINGS.with_values(simulator_speed=400.0), sink)
    slow = make_provider(SETTINGS.with_values(simulator_speed=0.001), sink)
    first, second = planned(db, 2)
    fast.place_call(attempts.get_attempt(db, first))
    deadline = time.monotonic() + 5
    while attempts.get_attempt(db, first)["state"] != "ended" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert attempts.get_attempt(db, first)["state"] == "ended"
    slow.place_call(attempts.get_attempt(db, second))
    time.sleep(0.05)
    assert attempts.get_attempt(db, second)["state"] != "ended"
    slow.close()  # stopping: the pending events are played at once, no call left hanging
    fast.close()
    assert attempts.get_attempt(db, second)["state"] == "ended"


def test_the_simulator_never_dials_real_numbers():
    provider = make_provider(Settings(), lambda *args: None)
    assert provider.name == "simulator" and provider.dials_real_numbers is False
    provider.close()


def test_unclear_calls_reach_the_review_queue(db, units):
    """The demo's half-heard calls are the ones the rules hold: the review queue has items soon after start."""
    provider = make_provider(SETTINGS, sink_into(db), synchronous=True, seed=5)
    unclear, held = 0, 0
    for attempt_id in planned(db, 120):
        provider.place_call(attempts.get_attempt(db, attempt_id))
        if provider._calls[attempt_id]["behaviour"] == "unclear":
            unclear += 1
            held += attempts.get_attempt(db, attempt_id)["outcome_certain"] == 0
    assert unclear >= 3
    assert held >= 1, "no half-heard call was held for review"
