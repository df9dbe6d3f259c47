"""The twilio provider, exercised for real through the SDK against the local Twilio-compatible test double."""
from dataclasses import replace
from datetime import timedelta

import pytest

from monitor import attempts
from monitor.providers import ProviderConfigError, make_provider
from monitor.providers.base import ProviderRejected, ProviderTimeout, ProviderUnavailable
from monitor.settings import Settings
from registry.clock import iso, utcnow

from .fakes import Sleeps, free_port
from .twilio_double import ACCOUNT_SID, AUTH_TOKEN

PUBLIC = "https://hotline.example.vn"


def config_for(double, **extra):
    return {
        "CALL_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": double.base_url if double else "http://127.0.0.1:9",
        "TWILIO_HTTP_TIMEOUT": 0.5,
        "PUBLIC_BASE_URL": PUBLIC,
        "RING_TIMEOUT": 25,
        "TWILIO_RECORD": False,
        **extra,
    }


@pytest.fixture
def sleeps():
    """The back-off delays the provider asked for, recorded instead of waited."""
    return Sleeps()


def provider_for(double, sleeps, **extra):
    return make_provider(Settings.load({}, config_for(double, **extra)), sink=None, sleep=sleeps)


def attempt(number="+842773851234", **extra):
    return {"id": 41, "number": number, "is_demo": 0, "dial_requested_at": iso(utcnow()), **extra}


def test_create_sends_every_field_twilio_needs(twilio, sleeps):
    sid = provider_for(twilio, sleeps).place_call(attempt())
    assert [call["sid"] for call in twilio.calls] == [sid]
    request = twilio.created[0]
    form = request["form"]
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json" and request["authorized"]
    assert form["To"] == ["+842773851234"] and form["From"] == ["+15005550006"]
    assert form["Url"] == [f"{PUBLIC}/hooks/twilio/voice/41"]
    assert form["StatusCallback"] == [f"{PUBLIC}/hooks/twilio/status/41"]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert form["Timeout"] == ["25"] and form["TimeLimit"] == ["120"]  # CALL_TIME_LIMIT_SECONDS' default
    assert form["MachineDetection"] == ["DetectMessageEnd"] and form["AsyncAmd"] == ["true"]
    assert form["AsyncAmdStatusCallback"] == [f"{PUBLIC}/hooks/twilio/amd/41"]
    assert "Record" not in form and "RecordingStatusCallback" not in form
    assert sleeps == []


def test_recording_is_requested_only_when_enabled(twilio, sleeps):
    provider_for(twilio, sleeps, TWILIO_RECORD=True).place_call(attempt())
    form = twilio.created[0]["form"]
    assert form["Record"] == ["true"] and form["RecordingStatusCallback"] == [f"{PUBLIC}/hooks/twilio/recording/41"]


def test_429_then_success_creates_exactly_one_call_after_honouring_retry_after(twilio, sleeps):
    twilio.fail_next(429, retry_after=3)
    sid = provider_for(twilio, sleeps).place_call(attempt())
    assert len(twilio.calls) == 1 and twilio.calls[0]["sid"] == sid
    assert len([r for r in twilio.requests if r["method"] == "POST"]) == 2
    assert len(sleeps) == 1 and sleeps[0] >= 3


def test_429_still_refused_after_the_retries_is_provider_unavailable_with_growing_backoff(twilio, sleeps):
    twilio.fail_next(429, times=10)
    with pytest.raises(ProviderUnavailable):
        provider_for(twilio, sleeps).place_call(attempt())
    assert twilio.calls == [] and len(twilio.requests) == 4
    assert len(sleeps) == 3 and 0 < sleeps[0] <= 0.5 and sleeps[0] < sleeps[1] * 2 + 0.01


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_on_create_is_never_retried_it_may_have_placed_the_call(twilio, sleeps, status):
    twilio.fail_next(status, after_create=True)
    with pytest.raises(ProviderTimeout):
        provider_for(twilio, sleeps).place_call(attempt())
    assert len(twilio.calls) == 1 and len(twilio.requests) == 1 and sleeps == []


def test_connection_refused_is_provider_unavailable(sleeps):
    port = free_port()  # a port nobody listens on
    provider = make_provider(Settings.load({}, {**config_for(None), "TWILIO_API_BASE_URL": f"http://127.0.0.1:{port}"}),
                             None, sleep=sleeps)
    with pytest.raises(ProviderUnavailable):
        provider.place_call(attempt())


def test_timeout_is_never_retried_then_reconcile_finds_the_call_without_a_second_create(twilio, sleeps, db, units):
    settings = Settings.load({}, config_for(twilio))
    provider = make_provider(settings, None, sleep=sleeps)
    now = utcnow()
    attempt_id = attempts.create_attempt(db, unit_id=units["SYT"], number="+842773851234", planned_at=now,
                                         band="office", now=now)
    db.execute("UPDATE attempts SET state = 'dialing', state_rank = 1, dial_requested_at = ? WHERE id = ?",
               [iso(now), attempt_id])
    twilio.fail_next(delay=1.5)  # Twilio creates the call but answers after our 0.5 s timeout
    with pytest.raises(ProviderTimeout):
        provider.place_call(attempts.get_attempt(db, attempt_id))
    attempts.mark_unknown(db, attempt_id, "ReadTimeout", now)
    assert attempts.get_attempt(db, attempt_id)["state"] == "unknown"
    assert len(twilio.created) == 1 and sleeps == []

    state = attempts.reconcile(db, attempts.get_attempt(db, attempt_id), provider, utcnow(), settings)
    row = attempts.get_attempt(db, attempt_id)
    assert state == "placed" and row["call_sid"] == twilio.calls[0]["sid"] and row["provider"] == "twilio"
    assert len([r for r in twilio.requests if r["method"] == "POST"]) == 1  # never a second create
    listing = [r for r in twilio.requests if r["method"] == "GET"][0]
    # No start-time filter: the call is still queued, without a start time, and the filter would hide it.
    assert listing["args"]["To"] == ["+842773851234"] and "StartTime>" not in listing["args"]


def test_reconcile_folds_the_final_status_twilio_lists(twilio, sleeps, db, units):
    settings = Settings.load({}, config_for(twilio))
    provider = make_provider(settings, None, sleep=sleeps)
    now = utcnow()
    attempt_id = attempts.create_attempt(db, unit_id=units["SYT"], number="+842773851234", planned_at=now,
                                         band="office", now=now)
    db.execute("UPDATE attempts SET state = 'unknown', state_rank = 2, dial_requested_at = ? WHERE id = ?",
               [iso(now), attempt_id])
    sid = provider.place_call(attempt(id=attempt_id))
    twilio.set_status(sid, "no-answer", duration=0)
    assert attempts.reconcile(db, attempts.get_attempt(db, attempt_id), provider, utcnow(), settings) == "ended"
    assert attempts.get_attempt(db, attempt_id)["outcome"] == "no_answer"


def test_find_call_ignores_calls_made_before_the_dial_request(twilio, sleeps):
    provider = provider_for(twilio, sleeps)
    provider.place_call(attempt())
    later = iso(utcnow() + timedelta(minutes=5))
    assert provider.find_call(attempt(dial_requested_at=later)) is None
    assert provider.find_call(attempt(number="+842773999999")) is None
    found = provider.find_call(attempt())
    assert found["sid"] == twilio.calls[0]["sid"] and found["status"] == "queued"


def test_find_call_when_twilio_is_down_is_provider_unavailable(twilio, sleeps):
    twilio.fail_next(500, method="GET", times=4)
    with pytest.raises(ProviderUnavailable):
        provider_for(twilio, sleeps).find_call(attempt())


@pytest.mark.parametrize(
    "code,our_side,fragment",
    [
        (21211, False, "không hợp lệ"),
        (21217, False, "không hợp lệ"),
        (21214, False, "không thể gọi tới"),
        (21215, True, "quyền gọi"),
        (13227, True, "quyền gọi"),
        (32205, True, "quyền gọi"),
        (21216, True, "bị chặn"),
        (13224, True, "không hỗ trợ"),
        (20003, True, "xác thực"),
    ],
)
def test_twilio_error_codes_become_provider_rejected_with_a_vietnamese_message(twilio, sleeps, code, our_side, fragment):
    twilio.fail_next(code=code)
    with pytest.raises(ProviderRejected) as exc:
        provider_for(twilio, sleeps).place_call(attempt())
    assert exc.value.code == str(code) and exc.value.our_side is our_side and fragment in exc.value.message
    assert twilio.calls == [] and sleeps == []  # a refusal is final: no retry


def test_wrong_credentials_are_refused_as_our_side(twilio, sleeps):
    provider = make_provider(Settings.load({}, {**config_for(twilio), "TWILIO_AUTH_TOKEN": "wrong"}), None, sleep=sleeps)
    with pytest.raises(ProviderRejected) as exc:
        provider.place_call(attempt())
    assert exc.value.code == "20003" and exc.value.our_side
    assert twilio.calls == []


@pytest.mark.parametrize(
    "call,code",
    [
        (attempt(is_demo=1), "demo_number"),
        ({"id": 41, "number": "+842773851234"}, "demo_number"),  # the flag missing: never dial on a guess
        (attempt(number="1022"), "dial_policy"),
    ],
)
def test_demo_and_undialable_numbers_are_refused_before_any_request(twilio, sleeps, call, code):
    with pytest.raises(ProviderRejected) as exc:
        provider_for(twilio, sleeps).place_call(call)
    assert exc.value.code == code and exc.value.our_side
    assert twilio.requests == []


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"])
def test_make_provider_names_the_missing_twilio_setting(missing):
    with pytest.raises(ProviderConfigError) as exc:
        make_provider(Settings.load({}, {**config_for(None), missing: ""}), None)
    assert "FLASK_" + missing in exc.value.message


def test_make_provider_refuses_an_unknown_provider_name():
    with pytest.raises(ProviderConfigError):
        # Settings.load refuses the name (tests/test_settings.py); make_provider checks it again.
        make_provider(replace(Settings(), call_provider="skype"), None)


def test_provider_flags_say_whether_real_numbers_are_dialled(twilio, sleeps):
    provider = provider_for(twilio, sleeps)
    assert provider.name == "twilio" and provider.dials_real_numbers is True
    provider.close()
