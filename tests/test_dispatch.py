"""Dispatch with an injected clock and a fake provider: pace, limits, demo guard, crash recovery, no double dial."""
import random
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from monitor import attempts
from monitor.attempts.outcomes import OUTCOMES
from monitor.providers import ProviderRejected, ProviderTimeout, ProviderUnavailable, make_provider
from monitor.scheduling import dispatch
from monitor.scheduling.dispatch import DEMO_REFUSED, claim_due, dial, recover
from monitor.scheduling.dispatcher import Dispatcher
from monitor.scheduling.limits import RateLimiter
from monitor.scheduling.manual import CallError, call_now
from monitor.settings import Settings
from registry.clock import iso, parse_iso
from registry.db import connect

from .fakes import FakeClock, FakeProvider, ingesting_sink

START = datetime(2026, 3, 4, 2, 0, tzinfo=timezone.utc)  # Wednesday 09:00 in Đồng Tháp
OPEN = {  # limits off unless a test sets one
    "CALLS_PER_SECOND": 0, "MAX_CONCURRENT_CALLS": 0, "CALLS_PER_LINE_PER_HOUR": 0, "CALLS_PER_LINE_PER_DAY": 0,
    "MIN_GAP_MINUTES": 0, "RETEST_DELAY_MINUTES": 60, "REPLACE_DELAY_MINUTES": 15,
}
SETTINGS_OPEN = Settings.load({}, OPEN)


def add_units(db, count, *, start=0, demo=False, same_number=False):
    ids = []
    with db.atomic():
        for i in range(start, start + count):
            cur = db.execute("INSERT INTO units (code, name, group_code, created_at) VALUES (?,?,?,?)",
                             [f"D{i}", f"Đơn vị {i}", "A", iso(START)])
            number = "+842773900000" if same_number else f"+84277{3000000 + i:07d}"
            db.execute(
                "INSERT INTO hotlines (unit_id, number, kind, display, hours, shared, is_demo, updated_at) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [cur.lastrowid, number, "landline", number, "24/7", int(same_number), int(demo), iso(START)],
            )
            ids.append(cur.lastrowid)
    return ids


def add_attempts(db, unit_ids, *, at=START, spacing=0.0, purpose="scheduled"):
    ids = []
    for i, unit_id in enumerate(unit_ids):
        number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()[0]
        ids.append(attempts.create_attempt(db, unit_id=unit_id, number=number, planned_at=at + timedelta(seconds=i * spacing),
                                           band="office", purpose=purpose, now=START))
    return ids


def state_of(db, attempt_id):
    return attempts.get_attempt(db, attempt_id)


def make_dispatcher(app, clock, provider, **config):
    return Dispatcher(Settings.load({}, {**app.config, **OPEN, **config}), provider, connect=lambda: connect(app.config["DATABASE"]),
                      clock=clock, workers=0, owner="test-dispatcher")


def drive(dispatcher, clock, seconds, *, until=None, at_least=0.0):
    """Run the dispatch loop on the fake clock for that many seconds (or until `until()`)."""
    end = clock.t + seconds
    while clock.t < end:
        if until and until():
            return
        clock.sleep(max(dispatcher.step(), at_least))


# ------------------------------------------------------------------------------------------------ claim


def test_claiming_moves_only_due_attempts_to_dialing_with_a_lease(db):
    units = add_units(db, 4)
    due = add_attempts(db, units[:3])
    later = add_attempts(db, units[3:], at=START + timedelta(minutes=5))
    rows = claim_due(db, now=START, owner="me", limit=2, lease_seconds=60, settings=SETTINGS_OPEN)
    assert [row["id"] for row in rows] == due[:2]
    for row in rows:
        assert row["state"] == "dialing" and row["lease_owner"] == "me"
        assert parse_iso(row["lease_expires_at"]) == START + timedelta(seconds=60)
        assert parse_iso(row["dial_requested_at"]) == START
    assert state_of(db, due[2])["state"] == "planned" and state_of(db, later[0])["state"] == "planned"


def test_the_number_dialled_is_the_units_hotline_at_claim_time(db):
    unit = add_units(db, 1)[0]
    attempt_id = add_attempts(db, [unit])[0]
    db.execute("UPDATE hotlines SET number = '+842773999999' WHERE unit_id = ?", [unit])
    rows = claim_due(db, now=START, owner="me", limit=5, lease_seconds=60, settings=SETTINGS_OPEN)
    assert rows[0]["number"] == "+842773999999" == state_of(db, attempt_id)["number"]


# ------------------------------------------------------------------------------------------------- pace


@pytest.mark.parametrize("rate", [1, 2, 5, 20, 2.5, 0.5])
def test_never_more_than_the_rate_in_any_one_second_window_and_the_rate_is_reached(app, db, rate):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    count = 40
    add_attempts(db, add_units(db, count))
    dispatcher = make_dispatcher(app, clock, provider, CALLS_PER_SECOND=rate)
    drive(dispatcher, clock, 200, until=lambda: len(provider.calls) == count)
    times = sorted(t for _, _, t in provider.calls)
    assert len(times) == count and set(provider.dialled().values()) == {1}
    cap = max(1, int(rate))
    for i, t in enumerate(times):  # every window [t, t + 1] that starts at a request
        assert sum(1 for u in times[i:] if u <= t + 1.0) <= cap
    achieved = (count - 1) / (times[-1] - times[0])
    assert achieved >= 0.99 * min(rate, cap)


@pytest.mark.parametrize("latency", [0.0004, 0.003, 0.02])
def test_the_window_holds_as_the_provider_counts_even_when_requests_take_time(app, db, latency):
    clock = FakeClock(START)
    rng = random.Random(7)

    class Slow(FakeProvider):
        def place_call(self, attempt):
            clock.t += rng.choice((0.0, latency))  # the provider notes the request as it finishes: our worst case
            return super().place_call(attempt)

    provider = Slow(clock)
    add_attempts(db, add_units(db, 120))
    drive(make_dispatcher(app, clock, provider, CALLS_PER_SECOND=50), clock, 60, until=lambda: len(provider.calls) == 120)
    times = sorted(t for _, _, t in provider.calls)
    assert len(times) == 120
    assert max(sum(1 for u in times[i:] if u <= t + 1.0) for i, t in enumerate(times)) <= 50
    assert (len(times) - 1) / (times[-1] - times[0]) >= 0.97 * 50 / (1 + latency / 2)


def test_the_rate_limiter_catches_up_after_a_late_wake_up_without_exceeding_the_window():
    now = [0.0]
    limiter = RateLimiter(4, clock=lambda: now[0])
    taken = []
    for step in range(400):
        now[0] = step * 0.0137 + (0.3 if 100 <= step < 103 else 0.0)  # a stall, then on time again
        if limiter.try_take() == 0:
            taken.append(now[0])
    for i, t in enumerate(taken):
        assert sum(1 for u in taken[i:] if u <= t + 1.0) <= 4
    assert len(taken) >= 0.97 * 4 * (taken[-1] - taken[0])


def test_attempts_due_over_time_are_dialled_on_time(app, db):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    ids = add_attempts(db, add_units(db, 60), spacing=0.25)  # due at 4 per second, the configured pace
    dispatcher = make_dispatcher(app, clock, provider, CALLS_PER_SECOND=4)
    drive(dispatcher, clock, 60, until=lambda: len(provider.calls) == 60)
    due = {attempt_id: i * 0.25 for i, attempt_id in enumerate(ids)}
    lateness = sorted(t - due[attempt_id] for attempt_id, _, t in provider.calls)
    assert lateness[0] >= 0
    assert lateness[int(0.99 * len(lateness)) - 1] <= 1.0


# ----------------------------------------------------------------------------------------------- limits


def test_no_more_concurrent_calls_than_allowed(app, db):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    ids = add_attempts(db, add_units(db, 10))
    dispatcher = make_dispatcher(app, clock, provider, MAX_CONCURRENT_CALLS=3)
    drive(dispatcher, clock, 10)
    assert len(provider.calls) == 3
    for attempt_id, _, _ in provider.calls[:2]:  # two calls end: two slots free up
        attempts.finish(db, attempt_id, "answered", "", clock.now())
    drive(dispatcher, clock, 10)
    assert len(provider.calls) == 5
    assert sum(state_of(db, i)["state"] == "placed" for i in ids) == 3


@pytest.mark.parametrize("state", ["dialing", "unknown", "placed", "ringing", "answered"])
def test_every_unsettled_state_holds_a_concurrency_slot(app, db, state):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    busy, waiting = add_attempts(db, add_units(db, 2))
    db.execute("UPDATE attempts SET state = ?, state_rank = ?, lease_expires_at = ? WHERE id = ?",
               [state, attempts.RANK[state], iso(START + timedelta(hours=1)), busy])
    drive(make_dispatcher(app, clock, provider, MAX_CONCURRENT_CALLS=1), clock, 5)
    assert provider.calls == [] and state_of(db, waiting)["state"] == "planned"


def test_calls_per_line_per_hour_and_per_day_are_capped(app, db):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    add_attempts(db, add_units(db, 12))
    dispatcher = make_dispatcher(app, clock, provider, CALLS_PER_LINE_PER_HOUR=4, CALLS_PER_LINE_PER_DAY=6)
    drive(dispatcher, clock, 30 * 60, at_least=10)
    assert len(provider.calls) == 4
    drive(dispatcher, clock, 31 * 60, at_least=10)  # an hour after the first calls: room for two more today
    assert len(provider.calls) == 6
    drive(dispatcher, clock, 3 * 3600, at_least=10)
    assert len(provider.calls) == 6
    clock.advance(hours=21)  # a day after the first calls
    drive(dispatcher, clock, 10)
    assert len(provider.calls) == 10


def test_a_number_called_too_recently_is_pushed_later_not_skipped(app, db):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    first, second = add_attempts(db, add_units(db, 2, same_number=True))  # two units sharing one switchboard
    dispatcher = make_dispatcher(app, clock, provider, MIN_GAP_MINUTES=120)
    drive(dispatcher, clock, 60)
    assert [a for a, _, _ in provider.calls] == [first]
    pushed = state_of(db, second)
    assert pushed["state"] == "planned"
    due = parse_iso(pushed["planned_at"])
    assert START + timedelta(minutes=120) <= due <= START + timedelta(minutes=132)
    assert pushed["band"] == dispatch.classify(due)
    clock.t = (due - START).total_seconds() + 1
    drive(dispatcher, clock, 5)
    assert [a for a, _, _ in provider.calls] == [first, second]


def test_the_gap_counts_from_the_last_call_to_the_number_even_an_old_one(app, db):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    unit = add_units(db, 1)[0]
    earlier = add_attempts(db, [unit], at=START - timedelta(minutes=100))[0]
    db.execute("UPDATE attempts SET state = 'ended', state_rank = 6, outcome = 'answered', dial_requested_at = ? WHERE id = ?",
               [iso(START - timedelta(minutes=100)), earlier])
    attempt_id = add_attempts(db, [unit])[0]
    drive(make_dispatcher(app, clock, provider, MIN_GAP_MINUTES=120), clock, 5)
    assert provider.calls == []
    assert parse_iso(state_of(db, attempt_id)["planned_at"]) >= START + timedelta(minutes=20)


def test_a_manual_call_is_exempt_from_the_gap_but_not_from_concurrency(app, db):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    unit = add_units(db, 1)[0]
    scheduled = add_attempts(db, [unit])[0]
    manual = add_attempts(db, [unit], purpose="manual")[0]
    drive(make_dispatcher(app, clock, provider, MIN_GAP_MINUTES=120), clock, 5)
    assert sorted(provider.dialled()) == [scheduled, manual]
    other = add_attempts(db, add_units(db, 1, start=5), purpose="manual")[0]
    drive(make_dispatcher(app, clock, provider, MIN_GAP_MINUTES=120, MAX_CONCURRENT_CALLS=2), clock, 5)
    assert other not in provider.dialled() and state_of(db, other)["state"] == "planned"


# ------------------------------------------------------------------------------------------- demo guard


def test_a_demo_number_is_never_given_to_a_provider_that_dials_real_numbers(app, db):
    clock = FakeClock(START)
    real = FakeProvider(clock, real=True)
    demo_ids = add_attempts(db, add_units(db, 3, demo=True))
    real_ids = add_attempts(db, add_units(db, 2, start=10))
    drive(make_dispatcher(app, clock, real), clock, 5)
    assert sorted(real.dialled()) == sorted(real_ids)
    for attempt_id in demo_ids:
        row = state_of(db, attempt_id)
        assert (row["state"], row["outcome"], row["outcome_detail"]) == ("ended", "provider_error", DEMO_REFUSED)
        assert row["dial_requested_at"] is None
    # a replacement would only be refused again: none is planned for a demo number
    replacements = db.execute("SELECT count(*) FROM attempts WHERE plan_key LIKE 'replace:%'").fetchone()[0]
    assert replacements == 0


def test_demo_numbers_are_dialled_by_the_simulator_kind_of_provider(app, db):
    clock = FakeClock(START)
    fake = FakeProvider(clock, real=False)
    ids = add_attempts(db, add_units(db, 3, demo=True))
    drive(make_dispatcher(app, clock, fake), clock, 5)
    assert sorted(fake.dialled()) == sorted(ids)


# ---------------------------------------------------------------------------------------- provider errors


def test_a_rejected_call_ends_as_provider_error_and_is_not_retried(app, db):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    attempt_id = add_attempts(db, add_units(db, 1))[0]
    provider.script[attempt_id] = [ProviderRejected(21215, "Chưa được phép gọi tới Việt Nam")]
    drive(make_dispatcher(app, clock, provider), clock, 60)
    row = state_of(db, attempt_id)
    assert (row["state"], row["outcome"]) == ("ended", "provider_error")
    assert provider.dialled()[attempt_id] == 1


@pytest.mark.parametrize("found, final_state", [
    ({"sid": "CA-found", "status": "completed", "duration": "20"}, "ended"),
    ({"sid": "CA-found", "status": "ringing"}, "ringing"),
    (None, "ended"),
])
def test_a_timed_out_create_becomes_unknown_and_is_reconciled_never_redialled(app, db, found, final_state):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    attempt_id = add_attempts(db, add_units(db, 1))[0]
    provider.script[attempt_id] = [ProviderTimeout("no answer from the API in 10 s")]
    dispatcher = make_dispatcher(app, clock, provider)
    drive(dispatcher, clock, 5)
    assert state_of(db, attempt_id)["state"] == "unknown"
    assert recover(db, provider, clock.now(), SETTINGS_OPEN) == {}  # too early: the call may still show up
    provider.found[attempt_id] = found
    clock.advance(seconds=61)
    recover(db, provider, clock.now(), SETTINGS_OPEN)
    drive(dispatcher, clock, 60)
    row = state_of(db, attempt_id)
    assert row["state"] == final_state and provider.find_calls == 1
    assert provider.dialled()[attempt_id] == 1
    if found is None:
        assert row["outcome"] == "provider_error"


def test_an_unexpected_error_while_placing_counts_as_unknown_not_as_a_failure_to_retry(app, db):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    attempt_id = add_attempts(db, add_units(db, 1))[0]
    provider.script[attempt_id] = [ConnectionResetError("reset by peer")]
    drive(make_dispatcher(app, clock, provider), clock, 5)
    row = state_of(db, attempt_id)
    assert row["state"] == "unknown" and "ConnectionResetError" in row["error"]


def test_an_unavailable_provider_sends_the_attempt_back_to_planned_with_a_growing_back_off(app, db):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    attempt_id = add_attempts(db, add_units(db, 1))[0]
    provider.script[attempt_id] = [ProviderUnavailable("HTTP 503")] * 2
    dispatcher = make_dispatcher(app, clock, provider, PROVIDER_RETRY_LIMIT=5, PROVIDER_RETRY_BACKOFF_SECONDS=30)
    drive(dispatcher, clock, 1)
    row = state_of(db, attempt_id)
    assert (row["state"], row["dial_tries"], row["dial_requested_at"]) == ("planned", 1, None)
    assert parse_iso(row["planned_at"]) == START + timedelta(seconds=30)
    drive(dispatcher, clock, 40)
    row = state_of(db, attempt_id)
    assert (row["state"], row["dial_tries"]) == ("planned", 2)
    assert START + timedelta(seconds=90) <= parse_iso(row["planned_at"]) <= START + timedelta(seconds=92)  # 30 s, then 60 s
    drive(dispatcher, clock, 120)
    assert state_of(db, attempt_id)["state"] == "placed" and provider.dialled()[attempt_id] == 3


def test_after_the_retry_limit_an_unavailable_provider_ends_the_test_as_provider_error(app, db):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    attempt_id = add_attempts(db, add_units(db, 1))[0]
    provider.script[attempt_id] = [ProviderUnavailable("HTTP 429")] * 10
    drive(make_dispatcher(app, clock, provider, PROVIDER_RETRY_LIMIT=4, PROVIDER_RETRY_BACKOFF_SECONDS=10), clock, 3600)
    row = state_of(db, attempt_id)
    assert (row["state"], row["outcome"], row["dial_tries"]) == ("ended", "provider_error", 4)
    assert "4 lần" in row["outcome_detail"] and provider.dialled()[attempt_id] == 4
    replacement = db.execute("SELECT COUNT(*) FROM attempts WHERE plan_key = ?", [f"replace:{attempt_id}"]).fetchone()[0]
    assert replacement == 1  # a test lost on our side is replaced, so none is lost


# ------------------------------------------------------------------------------------------------ crash


@pytest.mark.parametrize("found", [{"sid": "CA-there", "status": "in-progress"}, None])
def test_a_claim_left_by_a_dead_dispatcher_is_reconciled_after_its_lease_never_dialled(app, db, found):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    attempt_id = add_attempts(db, add_units(db, 1))[0]
    claim_due(db, now=START, owner="dead-process", limit=5, lease_seconds=120, settings=SETTINGS_OPEN)  # then it died
    assert recover(db, provider, START + timedelta(seconds=60), SETTINGS_OPEN) == {}  # lease still running
    provider.found[attempt_id] = found
    recover(db, provider, START + timedelta(seconds=121), SETTINGS_OPEN)
    drive(make_dispatcher(app, clock, provider), clock, 5)
    row = state_of(db, attempt_id)
    assert row["state"] == ("answered" if found else "ended")
    assert provider.calls == []


def test_recover_leaves_the_attempts_this_process_is_dialling_alone(db):
    provider = FakeProvider()
    attempt_id = add_attempts(db, add_units(db, 1))[0]
    claim_due(db, now=START, owner="me", limit=5, lease_seconds=1, settings=SETTINGS_OPEN)
    assert recover(db, provider, START + timedelta(seconds=5), SETTINGS_OPEN, skip={attempt_id}) == {}
    assert state_of(db, attempt_id)["state"] == "dialing" and provider.find_calls == 0


def test_a_placed_call_that_never_reported_its_end_is_reconciled_when_stale(app, db):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    attempt_id = add_attempts(db, add_units(db, 1))[0]
    drive(make_dispatcher(app, clock, provider), clock, 1)
    assert state_of(db, attempt_id)["state"] == "placed"
    provider.found[attempt_id] = {"sid": state_of(db, attempt_id)["call_sid"], "status": "no-answer", "duration": "0"}
    assert recover(db, provider, clock.now() + timedelta(seconds=100), Settings.load({}, {**OPEN, "STALE_CALL_SECONDS": 300})) == {}
    recover(db, provider, clock.now() + timedelta(seconds=301), Settings.load({}, {**OPEN, "STALE_CALL_SECONDS": 300}))
    row = state_of(db, attempt_id)
    assert (row["state"], row["outcome"]) == ("ended", "no_answer") and provider.dialled()[attempt_id] == 1


def test_stopping_gives_claimed_but_unsent_attempts_back_and_finishes_the_one_in_flight(app, db):
    clock = FakeClock(START)
    stop = threading.Event()

    class StopsOnFirstCall(FakeProvider):
        def place_call(self, attempt):
            stop.set()  # SIGTERM arrives while this request is in flight
            return super().place_call(attempt)

    provider = StopsOnFirstCall(clock)
    ids = add_attempts(db, add_units(db, 8))
    dispatcher = make_dispatcher(app, clock, provider, CALLS_PER_SECOND=20)  # a batch of 5
    dispatcher.step(stop)
    states = Counter(state_of(db, i)["state"] for i in ids)
    assert states == {"placed": 1, "planned": 7}
    released = [state_of(db, i) for i in ids if state_of(db, i)["state"] == "planned"]
    assert all(row["lease_owner"] is None and row["dial_requested_at"] is None for row in released)


# ------------------------------------------------------------------------------------------------- race


def test_two_dispatchers_racing_for_the_same_rows_dial_each_attempt_exactly_once(app, db):
    provider = FakeProvider()
    ids = add_attempts(db, add_units(db, 150))
    barrier = threading.Barrier(2)
    errors = []

    def dispatcher(name):
        own = connect(app.config["DATABASE"])
        try:
            barrier.wait()
            while True:
                rows = claim_due(own, now=START, owner=name, limit=3, lease_seconds=60, settings=SETTINGS_OPEN)
                if not rows and not own.execute("SELECT 1 FROM attempts WHERE state = 'planned'").fetchone():
                    return
                for row in rows:
                    dial(own, provider, row, settings=SETTINGS_OPEN, now=lambda: START)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            own.conn.close()

    threads = [threading.Thread(target=dispatcher, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert provider.dialled() == Counter({attempt_id: 1 for attempt_id in ids})
    assert all(state_of(db, i)["state"] == "placed" for i in ids)


def test_two_pooled_dispatchers_on_real_threads_dial_each_attempt_once(app, db):
    provider = FakeProvider()
    ids = add_attempts(db, add_units(db, 80))
    settings = Settings.load({}, {**app.config, **OPEN})
    stop = threading.Event()
    dispatchers = [Dispatcher(settings, provider, workers=3, owner=f"d{i}") for i in range(2)]
    threads = [threading.Thread(target=d.run, args=(stop,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    deadline = datetime.now() + timedelta(seconds=20)
    while len(provider.calls) < len(ids) and datetime.now() < deadline:
        threading.Event().wait(0.05)
    stop.set()
    for thread in threads:
        thread.join(20)
    assert provider.dialled() == Counter({attempt_id: 1 for attempt_id in ids})


# ---------------------------------------------------------------------------------------------- call now


def sync_simulator(app):
    sink = ingesting_sink(app.config["DATABASE"], now=START, config=app.extensions["settings"])
    return make_provider(Settings.load({}, {**app.config, "CALL_PROVIDER": "simulator"}), sink, synchronous=True, seed=3)


def test_call_now_dials_the_registered_number_and_returns_the_final_outcome(app, db, units):
    result = call_now(db, Settings.load({}, {**app.config, **OPEN}), "SYT", provider=sync_simulator(app), now=START, wait_seconds=5)
    assert result["final"] and result["state"] == "ended"
    assert result["unit"] == "SYT" and result["number"] == "+842773851234"
    assert result["outcome"] in OUTCOMES
    row = state_of(db, result["attempt"])
    assert row["purpose"] == "manual" and row["call_sid"] == result["call_sid"]
    for key in ("attempt", "unit", "number", "outcome", "answer_seconds", "sip_code", "transcript", "band", "ended_at"):
        assert key in result


def test_call_now_ignores_the_gap_after_a_scheduled_call_to_the_same_number(app, db, units):
    provider = FakeProvider(FakeClock(START))
    add_attempts(db, [units["SYT"]])
    claim_due(db, now=START, owner="x", limit=1, lease_seconds=60, settings=SETTINGS_OPEN)
    result = call_now(db, Settings.load({}, {**app.config, **OPEN, "MIN_GAP_MINUTES": 120}), "SYT", provider=provider, now=START)
    assert result["state"] == "placed" and len(provider.calls) == 1


def test_call_now_waits_for_room_and_otherwise_leaves_the_call_due_for_the_scheduler(app, db, units):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    busy = add_attempts(db, [units["XMA"]])[0]
    claim_due(db, now=START, owner="x", limit=1, lease_seconds=600, settings=SETTINGS_OPEN)
    settings = Settings.load({}, {**app.config, **OPEN, "MAX_CONCURRENT_CALLS": 1})
    result = call_now(db, settings, "SYT", provider=provider, wait_seconds=3, clock=clock)
    assert result["state"] == "planned" and provider.calls == []
    assert clock.t >= 3
    attempts.finish(db, busy, "answered", "", clock.now())
    result = call_now(db, settings, "SYT", provider=provider, wait_seconds=3, clock=clock)
    assert result["state"] == "placed" and len(provider.calls) == 1


def test_call_now_keeps_to_the_pace_seen_in_the_database(app, db, units):
    clock = FakeClock(START)
    provider = FakeProvider(clock)
    add_attempts(db, [units["XMA"]])
    claim_due(db, now=START, owner="x", limit=1, lease_seconds=60, settings=SETTINGS_OPEN)  # a call requested just now
    result = call_now(db, Settings.load({}, {**app.config, **OPEN, "CALLS_PER_SECOND": 1}), "SYT", provider=provider, wait_seconds=5,
                      clock=clock)
    assert result["state"] == "placed"
    assert parse_iso(result["started_at"]) - START > timedelta(seconds=1)


@pytest.mark.parametrize("code, message", [("KHONGCO", "Không có đơn vị mã “KHONGCO”"), ("NOLINE", "chưa có số")])
def test_call_now_refuses_unknown_units_and_units_without_a_hotline(app, db, code, message):
    db.execute("INSERT INTO units (code, name, group_code, created_at) VALUES ('NOLINE', 'Xã không số', 'C', ?)", [iso(START)])
    with pytest.raises(CallError) as error:
        call_now(db, app.extensions["settings"], code, provider=FakeProvider(), now=START)
    assert message in error.value.message
    assert db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 0


def test_call_now_refuses_a_demo_number_with_a_real_provider(app, db):
    add_units(db, 1, demo=True)
    provider = FakeProvider(real=True)
    result = call_now(db, Settings.load({}, {**app.config, **OPEN}), "D0", provider=provider, now=START)
    assert (result["outcome"], result["detail"]) == ("provider_error", DEMO_REFUSED) and provider.calls == []


def test_a_pooled_dispatcher_stopped_mid_run_records_what_was_sent_and_gives_back_the_rest(app, db):
    class Slow(FakeProvider):
        def place_call(self, attempt):
            threading.Event().wait(0.05)  # a provider across the network
            return super().place_call(attempt)

    provider = Slow()
    ids = add_attempts(db, add_units(db, 40))
    stop = threading.Event()
    dispatcher = Dispatcher(Settings.load({}, {**app.config, **OPEN, "CALLS_PER_SECOND": 20}), provider, workers=4, owner="pool")
    thread = threading.Thread(target=dispatcher.run, args=(stop,))
    thread.start()
    while len(provider.calls) < 8:
        threading.Event().wait(0.01)
    stop.set()
    thread.join(20)
    states = Counter(state_of(db, i)["state"] for i in ids)
    assert set(states) == {"placed", "planned"} and states["placed"] == len(provider.calls)
    assert sorted(provider.dialled()) == sorted(i for i in ids if state_of(db, i)["state"] == "placed")
    assert dispatcher.in_flight() == frozenset()
