"""Twilio as it really behaves, through the real twilio SDK against tests/twilio_double.py and the app's webhooks.

Each test reproduces one documented behaviour the double models, so that it fails without the handling:
a 5xx on create after the call was placed, queued calls hidden by a start-time filter, `failed` without a
carrier SIP code, ForwardedFrom on outbound calls, the other ways callbacks are signed, whole-second answer
times, the call time limit, and what each kind of number a provider may dial (emergency numbers never).
"""
import hashlib
import json
from collections import Counter
from datetime import timedelta

import pytest
from twilio.request_validator import RequestValidator

from monitor import attempts
from monitor.providers import ProviderTimeout, make_provider
from monitor.scheduling.dispatch import claim_due, dial, recover
from monitor.settings import Settings
from registry.clock import iso, utcnow
from registry.hotlines import set_hotline

from .conftest import change_settings
from .fakes import FakeProvider, Sleeps
from .twilio_double import AUTH_TOKEN, callback_script, signed_post

PUBLIC = "https://hotline.example.vn"


def twilio_settings(app, twilio, **extra):
    return Settings.load({}, {**app.extensions["settings"].as_config(), "CALL_PROVIDER": "twilio",
                              "TWILIO_API_BASE_URL": twilio.base_url, "TWILIO_HTTP_TIMEOUT": 0.5,
                              "MIN_GAP_MINUTES": 0, **extra})


def claim_one(db, settings, now):
    rows = claim_due(db, now=now, owner="test", limit=1, lease_seconds=120, settings=settings, real_provider=True)
    assert len(rows) == 1
    return rows[0]


def planned(db, unit_id, now, number=None):
    number = number or db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()[0]
    return attempts.create_attempt(db, unit_id=unit_id, number=number, planned_at=now, band="office", now=now)


def posts(twilio):
    return [r for r in twilio.requests if r["method"] == "POST"]


def follow_up_keys(db, attempt_id):
    return {row[0] for row in db.execute("SELECT plan_key FROM attempts WHERE plan_key LIKE ?", [f"%:{attempt_id}"])}


# ------------------------------------------------------------------------------ 5xx on create: look it up


@pytest.mark.parametrize("status", [500, 503])
def test_a_create_answered_5xx_after_placing_the_call_is_looked_up_and_never_dialled_twice(app, db, units, twilio,
                                                                                            status):
    now = utcnow()
    settings = twilio_settings(app, twilio)
    provider = make_provider(settings, None, sleep=Sleeps())
    attempt_id = planned(db, units["SYT"], now)
    twilio.fail_next(status, after_create=True)  # Twilio placed the call, then answered with an error

    assert dial(db, provider, claim_one(db, settings, now), settings=settings, now=lambda: now) == "unknown"
    assert len(posts(twilio)) == 1 and len(twilio.calls) == 1
    assert twilio.calls[0]["status"] == "queued" and twilio.calls[0]["start_time"] is None

    later = now + timedelta(seconds=settings.reconcile_after_seconds + 1)
    assert recover(db, provider, later, settings) == {"placed": 1}
    row = attempts.get_attempt(db, attempt_id)
    assert row["state"] == "placed" and row["call_sid"] == twilio.calls[0]["sid"]
    assert len(posts(twilio)) == 1  # found, not dialled again
    listing = [r for r in twilio.requests if r["method"] == "GET"][-1]
    assert listing["args"]["To"] == ["+842773851234"] and "StartTime>" not in listing["args"]


def test_a_start_time_filter_hides_a_queued_call_which_is_why_the_lookup_has_none(app, twilio):
    provider = make_provider(twilio_settings(app, twilio), None, sleep=Sleeps())
    twilio.fail_next(500, after_create=True)
    with pytest.raises(ProviderTimeout):
        provider.place_call({"id": 7, "number": "+842773851234", "is_demo": 0})
    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%d")
    assert provider.client.api.account.calls.list(to="+842773851234", start_time_after=since) == []
    assert provider.find_call({"id": 7, "number": "+842773851234", "dial_requested_at": iso(utcnow())})["status"] == "queued"


def test_a_5xx_that_created_nothing_ends_as_our_side_and_is_replaced_never_counted(app, db, units, twilio):
    now = utcnow()
    settings = twilio_settings(app, twilio)
    provider = make_provider(settings, None, sleep=Sleeps())
    attempt_id = planned(db, units["SYT"], now)
    twilio.fail_next(502)  # refused before any call was made: the client cannot tell the difference
    assert dial(db, provider, claim_one(db, settings, now), settings=settings, now=lambda: now) == "unknown"
    recover(db, provider, now + timedelta(seconds=settings.reconcile_after_seconds + 1), settings)
    row = attempts.get_attempt(db, attempt_id)
    assert row["outcome"] == "provider_error" and twilio.calls == [] and len(posts(twilio)) == 1
    assert f"replace:{attempt_id}" in follow_up_keys(db, attempt_id)


def test_the_call_is_fetched_by_its_sid_when_a_callback_already_named_it(app, twilio):
    provider = make_provider(twilio_settings(app, twilio), None, sleep=Sleeps())
    sid = provider.place_call({"id": 8, "number": "+842773851234", "is_demo": 0})
    twilio.requests.clear()
    found = provider.find_call({"id": 8, "number": "+842773851234", "call_sid": sid})
    assert found["sid"] == sid
    assert [r["path"].rsplit("/", 1)[1] for r in twilio.requests] == [f"{sid}.json"]  # no listing
    assert provider.find_call({"id": 8, "number": "+842773851234", "call_sid": "CA" + "f" * 32}) is None


# --------------------------------------------------------------------- failed without a carrier SIP code


@pytest.mark.parametrize(
    "error,sip,outcome,flagged",
    [
        (None, None, "provider_error", False),      # Twilio recorded nothing: still not the unit's failure
        (13227, None, "provider_error", False),     # geo permission: our account
        (32011, 480, "provider_error", False),      # temporarily unavailable: no evidence against the number
        (32009, 404, "unreachable", True),          # the carrier: not found
        (32009, 604, "unreachable", True),          # the carrier: does not exist anywhere
    ],
)
def test_failed_without_a_sip_code_is_our_side_until_twilios_record_shows_the_carrier_said_so(
        app, client, db, units, twilio, error, sip, outcome, flagged):
    now = utcnow()
    settings = twilio_settings(app, twilio)
    provider = make_provider(settings, None, sleep=Sleeps())
    attempt_id = planned(db, units["SYT"], now)
    assert dial(db, provider, claim_one(db, settings, now), settings=settings, now=lambda: now) == "placed"
    sid = twilio.calls[0]["sid"]
    for kind, params, _ in callback_script("failed_without_sip", sid, start=now):
        assert signed_post(client, f"/hooks/twilio/{kind}/{attempt_id}", params).status_code == 204
    row = attempts.get_attempt(db, attempt_id)
    assert row["outcome"] == "provider_error" and row["outcome_basis"] == "our_side" and row["sip_code"] is None
    assert "không tính cho đơn vị" in row["outcome_detail"]

    twilio.set_status(sid, "failed", duration=0)
    if error:
        twilio.set_error(sid, error, "Call failed", sip_code=sip)
    assert recover(db, provider, now, settings).get("failure_explained") is None  # Twilio is given time to record it
    later = now + timedelta(seconds=settings.reconcile_after_seconds + 2)
    assert recover(db, provider, later, settings).get("failure_explained") == 1
    assert recover(db, provider, later + timedelta(seconds=30), settings).get("failure_explained") is None  # once
    row = attempts.get_attempt(db, attempt_id)
    assert row["outcome"] == outcome and row["sip_code"] == sip
    if error:
        assert row["error"].startswith(str(error))
    flag = db.execute("SELECT flagged_at FROM hotlines WHERE unit_id = ?", [units["SYT"]]).fetchone()[0]
    assert (flag is not None) is flagged
    keys = follow_up_keys(db, attempt_id)
    assert (f"retest:{attempt_id}" in keys) is (outcome == "unreachable")
    assert (f"replace:{attempt_id}" in keys) is (outcome == "provider_error")
    assert len(posts(twilio)) == 1  # looking up is never dialling


# -------------------------------------------------------------------- ForwardedFrom, seconds to answer


def dialing(db, unit_id, now):
    attempt_id = planned(db, unit_id, now)
    db.execute("UPDATE attempts SET state = 'dialing', state_rank = 1, dial_requested_at = ? WHERE id = ?",
               [iso(now), attempt_id])
    return attempt_id


def test_forwarded_from_on_our_outbound_call_is_no_redirect_evidence(client, db, units):
    now = utcnow()
    attempt_id = dialing(db, units["SYT"], now)
    for kind, params, query in callback_script("redirected_forwarded", "CA" + "4" * 32, start=now):
        signed_post(client, f"/hooks/twilio/{kind}/{attempt_id}" + (f"?{query}" if query else ""), params)
    row = attempts.get_attempt(db, attempt_id)
    assert row["outcome"] == "answered" and row["forwarded_from"] is None


def test_seconds_to_answer_are_whole_seconds_from_twilios_timestamps_and_empty_without_ringing(client, db, units):
    now = utcnow().replace(microsecond=0)
    rang = dialing(db, units["SYT"], now)
    script = callback_script("answered", "CA" + "5" * 32, start=now)  # ringing at +2 s, answered at +11 s
    for kind, params, query in script:
        signed_post(client, f"/hooks/twilio/{kind}/{rang}" + (f"?{query}" if query else ""), params)
    assert attempts.get_attempt(db, rang)["answer_seconds"] == 9

    silent = dialing(db, units["XMA"], now)
    script = [event for event in callback_script("answered", "CA" + "6" * 32, start=now)
              if event[1].get("CallStatus") != "ringing"]
    for kind, params, query in script:
        signed_post(client, f"/hooks/twilio/{kind}/{silent}" + (f"?{query}" if query else ""), params)
    row = attempts.get_attempt(db, silent)
    assert row["outcome"] == "answered" and row["answer_seconds"] is None


# ------------------------------------------------------------------------------- the ways callbacks are signed


def stored(db):
    return db.execute("SELECT count(*) FROM call_events").fetchone()[0]


def status_params(sid="CA" + "7" * 32):
    return callback_script("busy", sid, start=utcnow())[1][1]


def test_a_json_body_signed_with_its_body_sha256_is_accepted_and_a_changed_body_refused(client, db, units):
    attempt_id = dialing(db, units["SYT"], utcnow())
    body = json.dumps(status_params())
    path = f"/hooks/twilio/status/{attempt_id}?bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + path, {})
    headers = {"X-Twilio-Signature": signature}
    changed = body.replace('"busy"', '"completed"')
    assert client.post(path, data=changed, content_type="application/json", headers=headers).status_code == 403
    assert stored(db) == 0
    assert client.post(path, data=body, content_type="application/json", headers=headers).status_code == 204
    assert attempts.get_attempt(db, attempt_id)["outcome"] == "busy"


def test_the_url_is_signed_with_or_without_its_port_and_always_with_its_query_string(client, db, units):
    attempt_id = dialing(db, units["SYT"], utcnow())
    params = {"CallSid": "CA" + "8" * 32, "SpeechResult": "Alo", "Confidence": "0.9"}
    path = f"/hooks/twilio/gather/{attempt_id}?step=greeting"
    validator = RequestValidator(AUTH_TOKEN)
    without_query = validator.compute_signature(PUBLIC + path.split("?")[0], params)
    assert client.post(path, data=params, headers={"X-Twilio-Signature": without_query}).status_code == 403
    with_port = validator.compute_signature(PUBLIC.replace(".vn", ".vn:443") + path, params)
    assert client.post(path, data=params, headers={"X-Twilio-Signature": with_port}).status_code == 200
    assert stored(db) == 1


@pytest.mark.parametrize("algorithm", ["HMAC_SHA256", "HMAC_SHA1"])
def test_a_webhook_rules_shared_key_signature_is_accepted_and_other_keys_refused(app, client, db, units, algorithm):
    change_settings(app, TWILIO_WEBHOOK_SHARED_KEYS="webhooks_sharedkey_old=old-secret,webhooks_sharedkey_new=new-secret")
    attempt_id = dialing(db, units["SYT"], utcnow())
    path = f"/hooks/twilio/status/{attempt_id}"
    params = status_params()

    def send(secret, key_id, declared=algorithm):
        signature = RequestValidator(secret).compute_signature(PUBLIC + path, params, algorithm)
        header = {"X-Twilio-Webhooks-Signature-Settings": f"key={key_id},algorithm={declared}"}
        return signed_post_with(client, path, params, signature, header)

    assert send("new-secret", "webhooks_sharedkey_old").status_code == 403  # the secret of another key
    assert send(AUTH_TOKEN, "webhooks_sharedkey_new").status_code == 403    # the auth token is not the key
    assert send("new-secret", "webhooks_sharedkey_gone").status_code == 403  # a key we do not hold
    assert send("new-secret", "webhooks_sharedkey_new", "HMAC_MD5").status_code == 403  # an unknown algorithm
    assert stored(db) == 0
    assert send("new-secret", "webhooks_sharedkey_new").status_code == 204
    assert send("old-secret", "webhooks_sharedkey_old").status_code == 204  # during a rotation both keys sign
    assert stored(db) == 1  # the same event twice: stored once


def signed_post_with(client, path, params, signature, headers):
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature, **headers})


# ------------------------------------------------------------------------- time limit and the dial policy


def test_every_call_has_the_time_limit_and_an_extension_is_keyed_in_after_connect(app, twilio):
    provider = make_provider(twilio_settings(app, twilio, CALL_TIME_LIMIT_SECONDS=90), None, sleep=Sleeps())
    provider.place_call({"id": 9, "number": "+842773851234", "is_demo": 0, "extension": "máy lẻ 102"})
    form = twilio.created[0]["form"]
    assert form["TimeLimit"] == ["90"] and form["SendDigits"] == ["wwww102"]


@pytest.mark.parametrize(
    "written,fragment",
    [("1022", "Số ngắn"), ("0277 1022", "Số ngắn"), ("1800 1234", "Số 1800"), ("1900 123 456", "Số 1900")],
)
def test_twilio_does_not_dial_short_1800_or_1900_numbers_and_the_attempt_says_why(app, db, units, twilio, written,
                                                                                   fragment):
    now = utcnow()
    settings = twilio_settings(app, twilio)
    provider = make_provider(settings, None, sleep=Sleeps())
    set_hotline(db, units["SYT"], written, actor=None, reason="test")
    attempt_id = planned(db, units["SYT"], now)
    assert dial(db, provider, claim_one(db, settings, now), settings=settings, now=lambda: now) == "rejected"
    row = attempts.get_attempt(db, attempt_id)
    assert row["outcome"] == "provider_error" and fragment in row["outcome_detail"]
    assert row["error"].startswith("dial_policy:")
    assert twilio.requests == []  # nothing asked of Twilio
    assert follow_up_keys(db, attempt_id) == set()  # never replaced: it would only be refused again
    assert db.execute("SELECT flagged_at FROM hotlines WHERE unit_id = ?", [units["SYT"]]).fetchone()[0] is None


@pytest.mark.parametrize("number", ["112", "113", "114", "115", "0277113"])
def test_emergency_numbers_are_never_dialled_by_any_provider(app, db, units, twilio, number):
    now = utcnow()
    twilio_provider = make_provider(twilio_settings(app, twilio), None, sleep=Sleeps())
    fake = FakeProvider()  # a provider with no policy of its own: the dispatcher still refuses
    for provider in (fake, twilio_provider):
        attempt_id = planned(db, units["SYT"], now, number=number)
        row = attempts.get_attempt(db, attempt_id)
        assert dial(db, provider, row, settings=app.extensions["settings"], now=lambda: now) == "rejected"
        row = attempts.get_attempt(db, attempt_id)
        assert row["outcome"] == "provider_error" and "khẩn cấp" in row["outcome_detail"]
        assert row["error"].startswith("emergency_number:") and follow_up_keys(db, attempt_id) == set()
    assert fake.calls == [] and twilio.requests == []


def test_landlines_and_mobiles_are_dialled_as_before(app, db, units, twilio):
    now = utcnow()
    settings = twilio_settings(app, twilio)
    provider = make_provider(settings, None, sleep=Sleeps())
    planned(db, units["SYT"], now)
    planned(db, units["XMA"], now)
    for _ in range(2):
        assert dial(db, provider, claim_one(db, settings, now), settings=settings, now=lambda: now) == "placed"
    assert Counter(c["to"] for c in twilio.calls) == {"+842773851234": 1, "+84912345678": 1}


def test_a_registered_extension_is_keyed_in_after_connect_on_scheduled_and_manual_calls(app, db, units, twilio):
    from monitor.scheduling.manual import call_now

    now = utcnow()
    settings = twilio_settings(app, twilio, CALLS_PER_SECOND=0, MAX_CONCURRENT_CALLS=0)  # two calls at once here
    provider = make_provider(settings, None, sleep=Sleeps())
    set_hotline(db, units["SYT"], "0277 3851 234 (máy lẻ 102)", actor=None, reason="test")
    planned(db, units["SYT"], now)
    assert dial(db, provider, claim_one(db, settings, now), settings=settings, now=lambda: now) == "placed"
    call_now(db, settings, "SYT", provider=provider, now=now)
    assert [r["form"]["To"] + r["form"]["SendDigits"] for r in twilio.created] == [["+842773851234", "wwww102"]] * 2
