"""Automated survey calls through the calling engine: planned for due automated cases within the calling hours,
dialled once by the dispatcher (simulator, or Twilio's webhooks driving the keypad conversation), settled into
each case's contact, answers and disposition — hang-up safe, idempotent, never a test of the unit's hotline."""
import json
import re
from datetime import timedelta

import pytest

from monitor.attempts import AttemptError, ingest_event, lifecycle
from monitor.providers import make_provider
from monitor.scheduling.dispatch import claim_due, dial
from monitor.settings import Settings
from monitor.surveys import calls, cases, keypad, privacy, questionnaire

from .fakes import ingesting_sink
from .survey_fixtures import NOW, case_row, make_cases
from .twilio_double import signed_post

QUESTIONS = questionnaire.default()["questions"]
RATINGS = [q["key"] for q in QUESTIONS if q["kind"] == "rating"]
OPEN = {"MAX_CALLS_PER_LINE_PER_HOUR": 0, "MAX_CALLS_PER_LINE_PER_DAY": 0, "MIN_GAP_MINUTES": 0, "MAX_CONCURRENT_CALLS": 20}


@pytest.fixture
def settings(app):
    return Settings.load({}, {**app.config, **OPEN, "CALL_PROVIDER": "simulator"})


def automated(db, unit_id, phones):
    ids = make_cases(db, unit_id, phones)
    cases.automate(db, ids)
    return ids


def gathered(**answers):
    return {key: ({"Digits": value} if key != "comment" else {"Digits": "#", "SpeechResult": value})
            for key, value in answers.items()}


# ------------------------------------------------------------------------------------------ the keypad's rules


@pytest.mark.parametrize("call, given, code", [
    ({"outcome": "answered"}, gathered(consent="1", **{k: "4" for k in RATINGS}, problem="2", comment="Tốt"),
     "complete"),
    ({"outcome": "answered"}, gathered(consent="1", **{k: "4" for k in RATINGS[:3]}), "partial"),
    ({"outcome": "answered"}, gathered(consent="1", **{k: "5" for k in RATINGS[:1]}), "break_off"),
    ({"outcome": "answered"}, gathered(consent="2"), "refusal"),
    ({"outcome": "answered"}, gathered(consent="9"), "do_not_call"),
    ({"outcome": "answered"}, gathered(consent=""), "operator"),
    ({"outcome": "answered"}, {}, "soft_refusal"),
    ({"outcome": "busy", "sip_code": 486}, {}, "busy"),
    ({"outcome": "no_answer"}, {}, "no_answer"),
    ({"outcome": "machine", "answered_by": "machine_end_beep"}, {}, "machine"),
    ({"outcome": "unreachable", "sip_code": 404}, {}, "disconnected"),
    ({"outcome": "unreachable", "sip_code": 480}, {}, "unknown"),
])
def test_each_way_a_call_ends_has_its_aapor_disposition(call, given, code):
    assert keypad.disposition(call, QUESTIONS, given)[0] == code


def test_the_conversation_asks_consent_first_and_stops_when_it_is_not_given():
    assert keypad.next_question(QUESTIONS, None)["key"] == "consent"
    assert keypad.next_question(QUESTIONS, "consent", "2") is None
    assert keypad.next_question(QUESTIONS, "consent", "") is None
    assert keypad.next_question(QUESTIONS, "consent", "1")["key"] == QUESTIONS[1]["key"]
    assert keypad.next_question(QUESTIONS, QUESTIONS[-1]["key"], "") is None
    assert "phím từ 1 đến 5" in keypad.prompt(QUESTIONS[1])
    # a key that is no answer is no answer: nothing stored for it
    assert keypad.answer_row(QUESTIONS[1], "7") is None and keypad.answer_row(QUESTIONS[1], "45") is None
    assert keypad.answer_row(QUESTIONS[1], "4")["rating"] == 4


# ------------------------------------------------------------------------------------------------- planning


def test_due_automated_cases_are_planned_once_within_the_calling_hours(app, db, units, settings):
    ids = automated(db, units["SYT"], ["0912000001", "0912000002", None])
    operator_case = make_cases(db, units["SYT"], ["0912000003"])[0]
    privacy.add_do_not_call(db, "0912000002", secret_key=settings.secret_key, now=NOW)
    assert calls.plan_due(db, NOW, settings, band="office") == 1
    rows = db.execute_returning_dicts("SELECT * FROM attempts WHERE purpose = 'survey'")
    assert [(r["survey_case_id"], r["number"], r["state"]) for r in rows] == [(ids[0], "+84912000001", "planned")]
    assert case_row(db, ids[0])["claimed_until"] > NOW.isoformat()[:10]
    assert calls.plan_due(db, NOW + timedelta(minutes=1), settings, band="office") == 0  # held while under way
    assert case_row(db, operator_case)["mode"] == "operator"
    sunday = NOW + timedelta(days=5)
    evening = NOW.replace(hour=15)  # 22:00 in Đồng Tháp
    db.execute("UPDATE survey_cases SET claimed_until = NULL")
    assert calls.plan_due(db, sunday, settings, band="weekend") == 0
    assert calls.plan_due(db, evening, settings, band="evening") == 0


def test_a_survey_call_is_never_retested_nor_flags_the_units_hotline(app, db, units, settings):
    automated(db, units["SYT"], ["0912000001"])
    calls.plan_due(db, NOW, settings, band="office")
    attempt_id = db.execute("SELECT id FROM attempts WHERE purpose = 'survey'").fetchone()[0]
    lifecycle.finish(db, attempt_id, "unreachable", "", NOW, settings=settings, sip_code=404)
    assert db.execute("SELECT count(*) FROM attempts").fetchone()[0] == 1  # no retest, no replacement
    assert db.execute("SELECT flagged_at FROM hotlines WHERE unit_id = ?", [units["SYT"]]).fetchone()[0] is None
    with pytest.raises(AttemptError):
        lifecycle.create_attempt(db, unit_id=units["SYT"], number="0912000001", planned_at=NOW, band="office",
                                 purpose="survey", now=NOW)  # a survey call without its case


# ----------------------------------------------------------------------------------- through the simulator


def run_calls(app, db, settings, behaviours):
    """Plan, claim and dial every due automated case once with the synchronous simulator, forcing behaviours in
    order; then settle. Returns the attempts' rows."""
    sink = ingesting_sink(app.config["DATABASE"], now=NOW + timedelta(minutes=5), config=settings)
    provider = make_provider(settings, sink, synchronous=True, seed=5)
    calls.plan_due(db, NOW, settings, band="office")
    claimed = claim_due(db, now=NOW, owner="t", limit=50, lease_seconds=60, settings=settings)
    assert [row["purpose"] for row in claimed] == ["survey"] * len(claimed)
    for row, behaviour in zip(claimed, behaviours):
        assert row["number"].startswith("+849") and row["survey"]["questions"]  # the citizen's, with the questionnaire
        dial(db, provider, {**row, "simulate": behaviour}, settings=settings, now=lambda: NOW)
    assert calls.settle(db, NOW + timedelta(minutes=6), settings) == len(claimed)
    assert calls.settle(db, NOW + timedelta(minutes=7), settings) == 0  # settled once
    return claimed


def test_simulated_citizens_end_in_their_dispositions_with_answers_kept(app, db, units, settings):
    behaviours = ["answers", "hangs_up", "declines", "never_again", "no_keys", "no_answer", "busy", "gone", "voicemail"]
    ids = automated(db, units["SYT"], [f"09120000{n:02d}" for n in range(len(behaviours))])
    claimed = run_calls(app, db, settings, behaviours)
    assert len(claimed) == len(ids)
    by_case = {row["survey_case_id"]: behaviour for row, behaviour in zip(claimed, behaviours)}
    contacts = {r["case_id"]: r for r in db.execute_returning_dicts("SELECT * FROM survey_contacts")}
    expected = {"answers": "complete", "declines": "refusal", "never_again": "do_not_call", "no_keys": "unknown",
                "no_answer": "no_answer", "busy": "busy", "gone": "disconnected", "voicemail": "machine"}
    for case_id, behaviour in by_case.items():
        contact = contacts[case_id]
        assert contact["mode"] == "automated" and contact["attempt_id"] is not None
        if behaviour == "hangs_up":
            assert contact["disposition"] in ("partial", "break_off")
        else:
            assert contact["disposition"] == expected[behaviour], behaviour
    answered = {b: db.execute("SELECT count(*) FROM survey_answers WHERE case_id = ?", [c]).fetchone()[0]
                for c, b in by_case.items()}
    assert answered["answers"] >= len(RATINGS) + 1 and 1 <= answered["hangs_up"] < answered["answers"]
    assert answered["declines"] == 1 and answered["busy"] == 0  # the consent's "no" is kept, nothing else
    cases_now = {c: case_row(db, c) for c in by_case}
    final = {b: cases_now[c]["state"] for c, b in by_case.items()}
    assert final["answers"] == final["declines"] == final["gone"] == final["never_again"] == "closed"
    assert final["busy"] == final["no_answer"] == "open" and all(
        cases_now[c]["tries"] == 1 for c in by_case)
    no_keys = next(c for c, b in by_case.items() if b == "no_keys")
    assert cases_now[no_keys]["mode"] == "operator"  # a person who pressed nothing is called by an operator
    never = next(c for c, b in by_case.items() if b == "never_again")
    phone = db.execute("SELECT d.phone FROM survey_cases c JOIN dossiers d ON d.id = c.dossier_id WHERE c.id = ?",
                       [never]).fetchone()[0]
    assert privacy.on_do_not_call(db, phone, secret_key=settings.secret_key)
    # Nothing of it is a test of the unit: no retest, no hotline flag, no call held for an inspector.
    assert db.execute("SELECT count(*) FROM attempts WHERE purpose != 'survey'").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM attempts WHERE outcome_certain = 0").fetchone()[0] == 0


def test_our_sides_failure_costs_the_case_no_try(app, db, units, settings):
    [case_id] = automated(db, units["SYT"], ["0912000001"])
    calls.plan_due(db, NOW, settings, band="office")
    attempt_id = db.execute("SELECT id FROM attempts").fetchone()[0]
    lifecycle.finish(db, attempt_id, "provider_error", "503 từ trung kế", NOW, settings=settings)
    assert calls.settle(db, NOW, settings) == 1
    case = case_row(db, case_id)
    assert case["state"] == "open" and case["tries"] == 0 and case["claimed_until"] is None
    assert case["next_at"] > NOW.isoformat()[:16]
    # the next planning makes a new call (a new plan key), never the same attempt again
    assert calls.plan_due(db, NOW + timedelta(hours=1), settings, band="office") == 1
    assert db.execute("SELECT count(*) FROM attempts WHERE survey_case_id = ?", [case_id]).fetchone()[0] == 2


def test_a_bad_answer_alerts_the_inspectors(app, db, units, settings):
    [case_id] = automated(db, units["SYT"], ["0912000001"])
    calls.plan_due(db, NOW, settings, band="office")
    attempt_id = db.execute("SELECT id FROM attempts").fetchone()[0]
    answers = {"consent": "1", **{k: "4" for k in RATINGS}, "problem": "1"}
    with app.app_context():
        for key, digits in answers.items():
            ingest_event(db, attempt_id, {"CallSid": "CA1", "SurveyStep": key, "Digits": digits}, kind="gather",
                         dedupe_key=f"survey:CA1:{key}", now=NOW, settings=settings)
        lifecycle.finish(db, attempt_id, "answered", "", NOW, settings=settings)
        calls.settle(db, NOW, settings)
    assert case_row(db, case_id)["disposition"] == "complete"
    assert db.execute("SELECT count(*) FROM alerts WHERE kind = 'survey_answer'").fetchone()[0] == 1


# ------------------------------------------------------------------------------------- Twilio's webhooks


def test_twilio_drives_the_keypad_conversation_and_a_hang_up_keeps_the_answers(app, db, units, client, settings):
    [case_id] = automated(db, units["SYT"], ["0912000001"])
    calls.plan_due(db, NOW, settings, band="office")
    attempt_id = db.execute("SELECT id FROM attempts").fetchone()[0]
    base = {"CallSid": "CA" + "7" * 32, "AccountSid": "AC" + "0" * 32}
    voice = signed_post(client, f"/hooks/twilio/voice/{attempt_id}", base)
    xml = voice.get_data(as_text=True)
    assert voice.status_code == 200 and "1022" in xml and "survey=1&amp;step=consent" in xml
    assert 'input="dtmf"' in xml and "Nhấn phím 1 nếu đồng ý" in xml
    step = signed_post(client, f"/hooks/twilio/gather/{attempt_id}?survey=1&step=consent", {**base, "Digits": "1"})
    assert f"step={QUESTIONS[1]['key']}" in step.get_data(as_text=True)
    again = signed_post(client, f"/hooks/twilio/gather/{attempt_id}?survey=1&step=consent", {**base, "Digits": "1"})
    assert again.status_code == 200  # a duplicate callback: stored once
    first = QUESTIONS[1]["key"]
    nxt = signed_post(client, f"/hooks/twilio/gather/{attempt_id}?survey=1&step={first}", {**base, "Digits": "2"})
    assert f"step={QUESTIONS[2]['key']}" in nxt.get_data(as_text=True)
    # forged, or a step of no question: refused, nothing stored
    assert client.post(f"/hooks/twilio/gather/{attempt_id}?survey=1&step={first}", data=base).status_code == 403
    assert signed_post(client, f"/hooks/twilio/gather/{attempt_id}?survey=1&step=nope", base).status_code == 404
    events = db.execute("SELECT payload FROM call_events WHERE attempt_id = ?", [attempt_id]).fetchall()
    assert sorted(json.loads(p)["SurveyStep"] for (p,) in events) == ["consent", first]
    # the citizen hangs up here
    signed_post(client, f"/hooks/twilio/status/{attempt_id}",
                {**base, "CallStatus": "completed", "CallDuration": "40", "SequenceNumber": "3"})
    calls.settle(db, NOW, settings)
    assert case_row(db, case_id)["disposition"] == "break_off"
    kept = dict(db.execute("SELECT question_key, coalesce(rating, yes) FROM survey_answers WHERE case_id = ?",
                           [case_id]).fetchall())
    assert kept == {"consent": 1, first: 2}


def test_twilio_ends_the_call_politely_without_consent(app, db, units, client, settings):
    automated(db, units["SYT"], ["0912000001"])
    calls.plan_due(db, NOW, settings, band="office")
    attempt_id = db.execute("SELECT id FROM attempts").fetchone()[0]
    base = {"CallSid": "CA" + "8" * 32, "AccountSid": "AC" + "0" * 32}
    declined = signed_post(client, f"/hooks/twilio/gather/{attempt_id}?survey=1&step=consent", {**base, "Digits": "2"})
    xml = declined.get_data(as_text=True)
    assert "<Hangup" in xml and "Xin lỗi đã làm phiền" in xml and not re.search(r"<Gather", xml)


def test_the_sample_command_hands_a_share_to_automated_calls_and_refuses_a_bad_share(app, db, units):
    for n in range(30):
        db.execute("INSERT INTO dossiers (code, procedure, applicant, phone, unit_id, level, returned_on, late) "
                   "VALUES (?, 'Thủ tục', 'A', ?, ?, 'province', '2026-02-10', 0)",
                   [f"HS-{n:03d}", f"09130000{n:02d}", units["SYT"]])
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["surveys", "sample", "--from", "2026-02-01", "--to", "2026-02-28", "--automated", "2"])
    assert bad.exit_code != 0 and "--automated" in bad.output
    assert db.execute("SELECT count(*) FROM survey_samples").fetchone()[0] == 0
    ok = runner.invoke(args=["surveys", "sample", "--from", "2026-02-01", "--to", "2026-02-28", "--seed", "4",
                             "--automated", "0.5", "--json"])
    assert ok.exit_code == 0, ok.output
    result = json.loads(ok.output)
    modes = dict(db.execute("SELECT mode, count(*) FROM survey_cases GROUP BY mode").fetchall())
    assert modes["automated"] == result["automated"] == round(result["size"] * 0.5)


def test_the_demos_automated_calls_flow_through_the_schedulers_job(app, db):
    from monitor.scheduling import demo, demo_surveys, scheduler
    from registry.demo import load_demo

    load_demo(db, now=NOW)
    settings = demo.compressed(Settings.load({}, {**app.config, "DEMO_MODE": True, "CALL_PROVIDER": "simulator"}))
    demo_surveys.seed(db, settings, now=NOW)
    waiting = db.execute("SELECT count(*) FROM survey_cases WHERE mode = 'automated' AND state = 'open'").fetchone()[0]
    assert waiting > 10
    sink = ingesting_sink(app.config["DATABASE"], now=NOW, config=settings)
    provider = make_provider(settings, sink, synchronous=True, seed=9)
    first = scheduler.survey_calls_job(settings, provider, NOW)
    assert first["planned"] > 0
    while claimed := claim_due(db, now=NOW, owner="t", limit=200, lease_seconds=60, settings=settings):
        for row in claimed:  # as the dispatcher does, within the demo's concurrency cap
            dial(db, provider, row, settings=settings, now=lambda: NOW)
    assert scheduler.survey_calls_job(settings, provider, NOW + timedelta(minutes=1))["settled"] == first["planned"]
    made = dict(db.execute("SELECT disposition, count(*) FROM survey_contacts WHERE mode = 'automated' "
                           "GROUP BY disposition").fetchall())
    assert sum(made.values()) == first["planned"] and made.get("complete", 0) > 0
    # the demo's fictional citizens are never dialled through a provider that dials real numbers
    real = type("Real", (), {"survey_calls": True, "dials_real_numbers": True})()
    assert scheduler.survey_calls_job(settings, real, NOW + timedelta(hours=4)) == {"settled": 0, "planned": 0}


def test_past_the_retention_period_the_calls_keep_no_citizen_number(app, db, units, settings):
    from .test_survey_privacy import text_values

    ids = automated(db, units["SYT"], ["0912000001", "0912000002"])
    run_calls(app, db, settings, ["answers", "busy"])
    values = text_values(app.config["DATABASE"])
    assert [t for t, _, v in values if "912000001" in v and t in ("attempts", "call_events")]  # the calls had it
    db.execute("UPDATE dossiers SET returned_on = '2025-01-01'")  # long past the retention period
    assert privacy.erase_expired(db, NOW, settings) == 2
    values = text_values(app.config["DATABASE"])
    assert not [(t, c) for t, c, v in values if "912000001" in v or "912000002" in v]
    assert db.execute("SELECT number FROM attempts ORDER BY id").fetchall() == [("0912 ••• 001",), ("0912 ••• 002",)]
    assert len(ids) == db.execute("SELECT count(*) FROM survey_contacts").fetchone()[0]  # the calls stay, anonymous


def test_the_inspectors_queue_page_counts_the_automated_calls(app, db, units, settings, inspector_client):
    automated(db, units["SYT"], ["0912000001", "0912000002", "0912000003"])
    run_calls(app, db, settings, ["answers", "busy", "no_answer"])
    body = inspector_client.get("/surveys/queue").get_data(as_text=True)
    assert 'data-automated-open="2"' in body  # busy and no answer are called again later
    assert "0912000001" not in body


def test_a_survey_call_reaches_twilio_in_international_form_through_the_sdk(app, db, units, settings, twilio):
    from .twilio_double import ACCOUNT_SID, AUTH_TOKEN

    automated(db, units["SYT"], ["0912 000 001"])
    calls.plan_due(db, NOW, settings, band="office")
    [row] = claim_due(db, now=NOW, owner="t", limit=5, lease_seconds=60, settings=settings)
    real = Settings.load({}, {**app.config, **OPEN, "CALL_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                              "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_API_BASE_URL": twilio.base_url})
    provider = make_provider(real, sink=None, sleep=lambda seconds: None)
    assert provider.survey_calls and dial(db, provider, row, settings=real, now=lambda: NOW) == "placed"
    form = twilio.created[0]["form"]
    assert form["To"] == ["+84912000001"] and form["Url"] == [f"https://hotline.example.vn/hooks/twilio/voice/{row['id']}"]
    # an interview is not cut at a test call's two minutes
    assert form["TimeLimit"] == [str(keypad.time_limit(QUESTIONS))] and keypad.time_limit(QUESTIONS) > 120


def test_a_sip_survey_call_keeps_its_interviews_time_limit():
    from monitor.providers import sip_signalling

    settings = Settings.load({}, {"CALL_PROVIDER": "sip", "SIP_TARGET": "127.0.0.1:5060", "DATABASE": ":memory:"})
    survey = sip_signalling.new_record({"id": 1, "number": "+84912000001",
                                        "survey": {"time_limit": keypad.time_limit(QUESTIONS)}}, 0.0, settings)
    test = sip_signalling.new_record({"id": 2, "number": "+842773851234"}, 0.0, settings)
    assert survey["time_limit"] == keypad.time_limit(QUESTIONS) and test["time_limit"] == 0
