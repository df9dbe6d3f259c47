"""Signed Twilio callbacks through the app: every outcome, any order with duplicates, forgeries refused."""
import random
from datetime import datetime, timezone

import pytest
from twilio.request_validator import RequestValidator

from monitor.attempts import create_attempt, get_attempt
from registry.clock import iso

from .conftest import change_settings
from .twilio_double import AUTH_TOKEN, EXPECTED_OUTCOME, SCENARIOS, callback_script, signed_post

NOW = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)
PUBLIC = "https://hotline.example.vn"


def dialing_attempt(db, unit_id):
    number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()[0]
    attempt_id = create_attempt(db, unit_id=unit_id, number=number, planned_at=NOW, band="office", now=NOW)
    db.execute("UPDATE attempts SET state = 'dialing', state_rank = 1, dial_requested_at = ? WHERE id = ?",
               [iso(NOW), attempt_id])
    return attempt_id


def path_for(kind, attempt_id, query=""):
    return f"/hooks/twilio/{kind}/{attempt_id}" + (f"?{query}" if query else "")


def post_all(client, attempt_id, order, headers_for=None):
    responses = []
    for kind, params, query in order:
        headers = headers_for(kind, params, query) if headers_for else None
        responses.append(signed_post(client, path_for(kind, attempt_id, query), params, headers=headers))
    return responses


def count(db, table):
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_signed_callbacks_give_every_outcome(client, db, units, scenario):
    attempt_id = dialing_attempt(db, units["SYT"])
    script = callback_script(scenario, "CA" + "1" * 32, start=NOW)
    responses = post_all(client, attempt_id, script)
    for (kind, _, _), response in zip(script, responses):
        assert response.status_code == (200 if kind == "gather" else 204), response.get_data(as_text=True)
    row = get_attempt(db, attempt_id)
    assert row["state"] == "ended" and row["outcome"] == EXPECTED_OUTCOME[scenario]
    assert count(db, "call_events") == len(script)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_shuffled_and_duplicated_callbacks_give_identical_final_rows(client, db, units, scenario):
    rows = []
    for run in range(4):
        rng = random.Random(f"{scenario}:{run}")
        attempt_id = dialing_attempt(db, units["SYT"])
        sid = f"CA{run:02d}" + "2" * 30
        script = callback_script(scenario, sid, start=NOW)
        order = list(script) + [event for event in script if rng.random() < 0.3]
        rng.shuffle(order)
        responses = post_all(client, attempt_id, order)
        assert all(r.status_code in (200, 204) for r in responses)
        row = get_attempt(db, attempt_id)
        rows.append({k: v.replace(sid[2:], "…") if isinstance(v, str) else v
                     for k, v in row.items() if k not in ("id", "call_sid", "created_at")})
        assert db.execute("SELECT count(*) FROM call_events WHERE attempt_id = ?", [attempt_id]).fetchone()[0] == len(script)
    assert all(row == rows[0] for row in rows)
    assert rows[0]["outcome"] == EXPECTED_OUTCOME[scenario]


def test_twilio_idempotency_token_is_the_dedupe_key_when_present(client, db, units):
    attempt_id = dialing_attempt(db, units["SYT"])
    kind, params, _ = callback_script("busy", "CA" + "3" * 32, start=NOW)[1]
    token = {"I-Twilio-Idempotency-Token": "idem-1"}
    assert signed_post(client, path_for(kind, attempt_id), params, headers=token).status_code == 204
    assert signed_post(client, path_for(kind, attempt_id), params, headers=token).status_code == 204
    keys = [r[0] for r in db.execute("SELECT dedupe_key FROM call_events").fetchall()]
    assert keys == ["idem-1"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        {"X-Twilio-Signature": RequestValidator("wrong-token").compute_signature(
            PUBLIC + "/hooks/twilio/status/1", {"CallSid": "CA1", "CallStatus": "completed", "SequenceNumber": "3"})},
    ],
    ids=["unsigned", "garbage", "other-token"],
)
def test_unsigned_or_forged_callbacks_get_403_and_change_nothing(client, db, units, headers):
    attempt_id = dialing_attempt(db, units["SYT"])
    assert attempt_id == 1
    before = get_attempt(db, attempt_id)
    for kind in ("status", "amd", "gather", "recording", "voice"):
        response = client.post(path_for(kind, attempt_id), headers=headers,
                               data={"CallSid": "CA1", "CallStatus": "completed", "SequenceNumber": "3"})
        assert response.status_code == 403
    assert count(db, "call_events") == 0 and get_attempt(db, attempt_id) == before


def test_a_signature_for_other_parameters_or_another_url_is_refused(client, db, units):
    attempt_id = dialing_attempt(db, units["SYT"])
    params = {"CallSid": "CA" + "4" * 32, "CallStatus": "busy", "SequenceNumber": "1"}
    good = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + path_for("status", attempt_id), params)
    tampered = client.post(path_for("status", attempt_id), data={**params, "CallStatus": "completed"},
                           headers={"X-Twilio-Signature": good})
    other_attempt = client.post(path_for("status", attempt_id + 1), data=params, headers={"X-Twilio-Signature": good})
    local_url = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost" + path_for("status", attempt_id), params)
    not_public = client.post(path_for("status", attempt_id), data=params, headers={"X-Twilio-Signature": local_url})
    assert tampered.status_code == other_attempt.status_code == not_public.status_code == 403
    assert count(db, "call_events") == 0


def test_the_signature_covers_the_exact_query_string(client, db, units):
    attempt_id = dialing_attempt(db, units["SYT"])
    params = {"CallSid": "CA" + "5" * 32, "SpeechResult": "Alo", "Confidence": "0.9"}
    signed_for_answer = RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC + path_for("gather", attempt_id, "step=answer"), params)
    response = client.post(path_for("gather", attempt_id, "step=greeting"), data=params,
                           headers={"X-Twilio-Signature": signed_for_answer})
    assert response.status_code == 403
    assert signed_post(client, path_for("gather", attempt_id, "step=greeting"), params).status_code == 200


def test_callbacks_behind_a_tls_proxy_validate_against_the_public_base_url(client, db, units):
    attempt_id = dialing_attempt(db, units["SYT"])
    params = {"CallSid": "CA" + "6" * 32, "CallStatus": "ringing", "SequenceNumber": "1"}
    # The proxy speaks plain HTTP to the app on another host and port; Twilio signed the public https URL.
    response = signed_post(client, path_for("status", attempt_id), params, headers={"Host": "10.0.0.5:8000"})
    assert response.status_code == 204
    assert get_attempt(db, attempt_id)["state"] == "ringing"


def test_unknown_attempt_gets_404_and_nothing_is_stored(client, db, units):
    for kind in ("status", "amd", "gather", "recording", "voice"):
        params = {"CallSid": "CA" + "7" * 32, "CallStatus": "ringing", "SequenceNumber": "1", "AnsweredBy": "human"}
        assert signed_post(client, path_for(kind, 4242), params).status_code == 404
    assert count(db, "call_events") == 0


def test_a_signed_callback_without_call_sid_is_a_bad_request(client, db, units):
    attempt_id = dialing_attempt(db, units["SYT"])
    assert signed_post(client, path_for("status", attempt_id), {"CallStatus": "ringing"}).status_code == 400
    assert count(db, "call_events") == 0


def test_callbacks_only_accept_post(client, db, units):
    assert client.get("/hooks/twilio/status/1").status_code == 405


def test_voice_twiml_listens_for_the_greeting_in_vietnamese_with_signed_absolute_action_urls(client, db, units):
    attempt_id = dialing_attempt(db, units["SYT"])
    response = signed_post(client, path_for("voice", attempt_id), {"CallSid": "CA" + "8" * 32, "CallStatus": "in-progress"})
    assert response.status_code == 200 and response.mimetype == "text/xml"
    xml = response.get_data(as_text=True)
    assert '<Gather' in xml and 'input="speech"' in xml and 'language="vi-VN"' in xml
    assert f'action="{PUBLIC}/hooks/twilio/gather/{attempt_id}?step=greeting"' in xml
    assert 'actionOnEmptyResult="true"' in xml
    assert "ghi âm" not in xml


def test_after_the_greeting_the_question_is_asked_and_the_answer_gathered_then_hang_up(client, db, units, app):
    attempt_id = dialing_attempt(db, units["SYT"])
    params = {"CallSid": "CA" + "9" * 32, "SpeechResult": "Alo Sở Y tế xin nghe", "Confidence": "0.9"}
    xml = signed_post(client, path_for("gather", attempt_id, "step=greeting"), params).get_data(as_text=True)
    assert f'<Say language="vi-VN" voice="{app.config["TWILIO_VOICE"]}">' in xml and "đường dây nóng" in xml
    assert f'action="{PUBLIC}/hooks/twilio/gather/{attempt_id}?step=answer"' in xml and xml.rstrip().endswith("<Hangup /></Response>")
    answer = {"CallSid": params["CallSid"], "SpeechResult": "Dạ đúng rồi anh", "Confidence": "0.8"}
    thanks = signed_post(client, path_for("gather", attempt_id, "step=answer"), answer).get_data(as_text=True)
    assert "cảm ơn" in thanks and "<Hangup />" in thanks and "<Gather" not in thanks
    assert get_attempt(db, attempt_id)["transcript"] == "Alo Sở Y tế xin nghe | Dạ đúng rồi anh"


def test_with_recording_on_the_call_starts_with_the_recording_notice(client, db, units, app):
    change_settings(app, TWILIO_RECORD=True)
    attempt_id = dialing_attempt(db, units["SYT"])
    xml = signed_post(client, path_for("voice", attempt_id), {"CallSid": "CA" + "a" * 32}).get_data(as_text=True)
    notice = xml.index("ghi âm")
    assert notice < xml.index("<Gather") and "Văn phòng Ủy ban nhân dân tỉnh" in xml
    assert f"gather/{attempt_id}?step=answer" in xml


def test_recording_callback_stores_the_recording_url(client, db, units):
    attempt_id = dialing_attempt(db, units["SYT"])
    script = callback_script("answered_recorded", "CA" + "b" * 32, start=NOW)
    post_all(client, attempt_id, script)
    assert get_attempt(db, attempt_id)["recording_url"].endswith("RE" + "b" * 32)
