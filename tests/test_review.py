"""The review tier: calls held for review count for nobody, plan no follow-up, trigger no alert; an inspector's
decision (from the review queue) re-runs the follow-ups and the alert check.

Held calls are made through the real path (events → ingest → fold → lifecycle), with the classification rules
told to be unsure of the test transcripts: which transcripts the rules hold is their own concern
(tests/test_outcomes.py); here what matters is what happens to a call once it is held.
"""
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from monitor import attempts
from monitor.alerts import check_alerts, current_run
from monitor.attempts import lifecycle, queries
from monitor.attempts.outcomes import Classification, classify
from monitor.attempts.review import decide_held
from monitor.attempts.store import AttemptError
from monitor.labels import ANSWERED_BY, BASIS, CALL_STATUS
from monitor.settings import Settings

from .conftest import csrf_from, login, make_editor
from .report_fixtures import add_attempt
from .test_i18n_pages import leftovers

NOW = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)
SETTINGS = Settings.load({}, {"RETEST_DELAY_MINUTES": 60})
# What the test transcripts make the (unsure) rules read: marker → the outcome they would have given.
UNSURE = {"(không nghe rõ)": "redirected", "(mất tín hiệu)": "unreachable", "(ồn)": "answered"}


@pytest.fixture(autouse=True)
def unsure_rules(monkeypatch):
    """The rules hold any call whose transcript carries one of UNSURE's markers, with that outcome."""

    def rules(attempt, registered):
        for marker, outcome in UNSURE.items():
            if marker in (attempt.get("transcript") or ""):
                return Classification(outcome, f"Không chắc chắn: nghe được “{attempt['transcript']}”.", "transcript", False)
        return classify(attempt, registered)

    monkeypatch.setattr(lifecycle, "classify", rules)


def number_of(db, unit_id):
    return db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()[0]


def call(db, unit_id, when, transcript, *, answered_by="unknown", purpose="scheduled", retest_of=None,
         recording_url=None, settings=SETTINGS):
    """One answered call, from planned to ended, through the provider events' ingest path; returns its id."""
    attempt_id = attempts.create_attempt(db, unit_id=unit_id, number=number_of(db, unit_id), planned_at=when,
                                         band="office", purpose=purpose, retest_of=retest_of, now=when)
    sid = f"CA{attempt_id:032x}"
    stamp = lambda s: format_datetime(when + timedelta(seconds=s), usegmt=True)  # noqa: E731
    events = [
        ("status", {"CallStatus": "ringing", "SequenceNumber": "0", "Timestamp": stamp(2)}, f"{sid}:0"),
        ("status", {"CallStatus": "in-progress", "SequenceNumber": "1", "Timestamp": stamp(9)}, f"{sid}:1"),
        ("amd", {"AnsweredBy": answered_by, "Timestamp": stamp(11)}, f"amd:{sid}"),
        ("gather", {"SpeechResult": transcript, "Confidence": "0.31", "GatherStep": "greeting", "Timestamp": stamp(13)},
         f"gather:{sid}:greeting"),
    ]
    if recording_url:
        events.append(("recording", {"RecordingUrl": recording_url, "RecordingStatus": "completed",
                                     "Timestamp": stamp(30)}, f"rec:{sid}"))
    events.append(("status", {"CallStatus": "completed", "CallDuration": "21", "SipResponseCode": "200",
                              "SequenceNumber": "2", "Timestamp": stamp(30)}, f"{sid}:2"))
    for kind, params, key in events:
        if kind not in attempts.EVENT_KINDS:
            continue
        attempts.ingest_event(db, attempt_id, {"CallSid": sid, **params}, kind=kind, dedupe_key=key,
                              now=when + timedelta(seconds=31), settings=settings)
    return attempt_id


def row(db, attempt_id):
    return attempts.get_attempt(db, attempt_id)


def retests_of(db, attempt_id):
    return db.execute_returning_dicts("SELECT * FROM attempts WHERE retest_of = ? ORDER BY id", [attempt_id])


# ------------------------------------------------------------------------------------------- held calls


def test_a_held_call_is_ended_but_counted_for_nobody_and_plans_nothing(db, units):
    held = call(db, units["SYT"], NOW, "alo… dạ… anh gọi số… (không nghe rõ)")
    unreachable = call(db, units["XMA"], NOW, "(mất tín hiệu)")
    for attempt_id in (held, unreachable):
        r = row(db, attempt_id)
        assert (r["state"], r["outcome_certain"], r["outcome_basis"]) == ("ended", 0, "transcript")
        assert retests_of(db, attempt_id) == []  # no retest until an inspector decides
    assert db.execute("SELECT flag_reason FROM hotlines WHERE unit_id = ?", [units["XMA"]]).fetchone()[0] in (None, "")
    assert row(db, held)["outcome"] == "redirected"  # what the rules read stays visible as the held outcome
    assert queries.held_count(db) == 2
    counts = queries.outcome_counts(db, NOW - timedelta(hours=1))
    assert counts == {"held": 2}  # the dashboard counts them apart, under no outcome


def test_a_certain_failure_still_plans_its_retest(db, units):
    failure = call(db, units["SYT"], NOW, "Thuê bao quý khách vừa gọi tạm thời không liên lạc được", answered_by="machine_start")
    assert row(db, failure)["outcome_certain"] == 1
    assert len(retests_of(db, failure)) == 1


def test_deciding_a_held_call_runs_the_follow_ups_an_override_would(db, units, inspector):
    held = call(db, units["SYT"], NOW, "dạ cái này anh hỏi bên… số… (không nghe rõ)")
    later = NOW + timedelta(hours=3)
    decide_held(db, held, "redirected", "Nghe lại bản ghi: cán bộ bảo gọi số khác.", user_id=inspector["id"],
                now=later, settings=SETTINGS)
    r = row(db, held)
    assert (r["outcome"], r["outcome_basis"], r["outcome_certain"], r["original_outcome"]) == \
        ("redirected", "inspector", 1, "redirected")
    retest = retests_of(db, held)
    assert len(retest) == 1 and retest[0]["state"] == "planned" and retest[0]["purpose"] == "retest"
    review = attempts.reviews(db, held)
    assert [(v["old_outcome"], v["new_outcome"], v["user_id"]) for v in review] == [("redirected", "redirected", inspector["id"])]
    assert queries.held_count(db) == 0


def test_a_held_call_decided_as_answered_plans_no_retest(db, units, inspector):
    held = call(db, units["SYT"], NOW, "alo… (không nghe rõ)")
    decide_held(db, held, "answered", "Nghe lại: cán bộ trả lời đầy đủ.", user_id=inspector["id"], now=NOW, settings=SETTINGS)
    assert row(db, held)["outcome"] == "answered" and row(db, held)["original_outcome"] == "redirected"
    assert retests_of(db, held) == []


def test_a_held_retest_confirms_nothing_until_it_is_decided(db, units, inspector):
    original = call(db, units["SYT"], NOW, "Thuê bao quý khách vừa gọi tạm thời không liên lạc được", answered_by="machine_start")
    retest_id = retests_of(db, original)[0]["id"]
    # the planned retest is dialled and comes back half-heard
    retest_row = row(db, retest_id)
    when = datetime.fromisoformat(retest_row["planned_at"].replace("Z", "+00:00"))
    attempts.ingest_event(db, retest_id, {"CallSid": "CA" + "7" * 32, "CallStatus": "completed", "CallDuration": "9",
                                          "SipResponseCode": "200", "SequenceNumber": "0"},
                          kind="status", dedupe_key="r:0", now=when, settings=SETTINGS)
    attempts.ingest_event(db, retest_id, {"CallSid": "CA" + "7" * 32, "SpeechResult": "(mất tín hiệu)", "GatherStep": "greeting"},
                          kind="gather", dedupe_key="r:g", now=when, settings=SETTINGS)
    assert row(db, retest_id)["outcome_certain"] == 0
    assert row(db, original)["confirmed"] is None
    decide_held(db, retest_id, "unreachable", "Nghe lại: lời thông báo của nhà mạng.", user_id=inspector["id"],
                now=when + timedelta(hours=1), settings=SETTINGS)
    assert row(db, original)["confirmed"] == 1


def test_only_a_held_call_can_be_decided_as_held(db, units, inspector):
    certain = call(db, units["SYT"], NOW, "Alo, Sở Y tế xin nghe ạ.", answered_by="human")
    with pytest.raises(AttemptError) as refused:
        decide_held(db, certain, "answered", "Lý do", user_id=inspector["id"], now=NOW, settings=SETTINGS)
    assert refused.value.status == 409 and "không còn chờ xem xét" in refused.value.message
    with pytest.raises(AttemptError):
        decide_held(db, 987654, "answered", "Lý do", user_id=inspector["id"], now=NOW, settings=SETTINGS)
    held = call(db, units["SYT"], NOW, "(ồn)")
    with pytest.raises(AttemptError) as blank:
        decide_held(db, held, "answered", "  ", user_id=inspector["id"], now=NOW, settings=SETTINGS)
    assert "lý do" in blank.value.message and row(db, held)["outcome_certain"] == 0


# ------------------------------------------------------------------------------------------------ alerts


def alert_settings(**overrides):
    values = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": 25, "MAIL_FROM": "duongdaynong@vpubnd.test.vn",
              "INSPECTOR_EMAILS": "thanhtra1@vpubnd.test.vn", "ALERT_AFTER_FAILURES": 3,
              "ALERTS_PER_UNIT_PER_DAY": 5, "ALERTS_PER_RUN": 20}
    values.update(overrides)
    return Settings.load({}, values)


def confirmed_failure(db, unit_id, when, *, held_retest=False):
    original = add_attempt(db, unit_id, when, "no_answer", confirmed=None if held_retest else 1)
    hour = int(when[11:13]) + 1
    retest = add_attempt(db, unit_id, f"{when[:11]}{hour:02d}{when[13:]}", "no_answer", purpose="retest", retest_of=original)
    if held_retest:
        db.execute("UPDATE attempts SET outcome_certain = 0 WHERE id = ?", [retest])
    return original, retest


def hold(db, attempt_id):
    db.execute("UPDATE attempts SET outcome_certain = 0 WHERE id = ?", [attempt_id])


def test_a_held_call_neither_triggers_an_alert_nor_breaks_a_run(db, units):
    sent = []
    first = confirmed_failure(db, units["SYT"], "2025-06-16 09:00")[0]
    hold(db, add_attempt(db, units["SYT"], "2025-06-16 15:00", "answered", answer_seconds=4.0))  # held "answered"
    second = confirmed_failure(db, units["SYT"], "2025-06-17 09:00")[0]
    held_failure = add_attempt(db, units["SYT"], "2025-06-17 15:00", "no_answer", confirmed=1)
    hold(db, held_failure)
    assert [t["id"] for t in current_run(db, units["SYT"])] == [second, first]  # the held ones are skipped
    assert check_alerts(db, alert_settings(), now=NOW + timedelta(days=8), send=sent.append)["sent"] == 0
    third = confirmed_failure(db, units["SYT"], "2025-06-18 09:00")[0]
    assert check_alerts(db, alert_settings(), now=NOW + timedelta(days=8, minutes=5), send=sent.append)["sent"] == 1
    assert [t["id"] for t in current_run(db, units["SYT"])] == [third, second, first]
    assert f"#{held_failure}" not in sent[0].get_content()


def test_deciding_a_held_retest_lets_the_next_check_alert_on_the_run_it_completes(db, units, inspector):
    sent = []
    confirmed_failure(db, units["SYT"], "2025-06-16 09:00")
    confirmed_failure(db, units["SYT"], "2025-06-17 09:00")
    original, retest = confirmed_failure(db, units["SYT"], "2025-06-18 09:00", held_retest=True)
    checked = datetime(2025, 6, 20, 3, tzinfo=timezone.utc)
    assert check_alerts(db, alert_settings(), now=checked, send=sent.append)["sent"] == 0
    assert check_alerts(db, alert_settings(), now=checked + timedelta(days=3), send=sent.append)["sent"] == 0
    # days later, well after the calls ended: an inspector decides the held retest
    decided = checked + timedelta(days=3, hours=1)
    decide_held(db, retest, "no_answer", "Nghe lại: chuông đổ, không ai nhấc máy.", user_id=inspector["id"],
                now=decided, settings=SETTINGS)
    assert row(db, original)["confirmed"] == 1
    assert check_alerts(db, alert_settings(), now=decided + timedelta(minutes=5), send=sent.append)["sent"] == 1
    assert f"#{original}" in sent[0].get_content()


# ---------------------------------------------------------------------------------------------- the page


def held_calls(db, units):
    """Three held calls, oldest first: SYT 1 h ago (with a recording), XMA 30 min ago, SYT 10 min ago."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return [
        call(db, units["SYT"], now - timedelta(hours=1), "alo… dạ… anh gọi số… (không nghe rõ)",
             answered_by="machine_start", recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"),
        call(db, units["XMA"], now - timedelta(minutes=30), "(mất tín hiệu)"),
        call(db, units["SYT"], now - timedelta(minutes=10), "dạ… (ồn)", answered_by="human"),
    ]


def current_id(html):
    found = re.search(r'class="card review-item"[^>]*data-attempt="(\d+)"', html)
    return int(found.group(1)) if found else None


def test_the_queue_shows_the_oldest_held_call_with_its_evidence_and_the_count_in_the_menu(db, units, inspector_client):
    first, second, third = held_calls(db, units)
    html = inspector_client.get("/monitor/review").get_data(as_text=True)
    assert current_id(html) == first
    assert 'data-review-count="3"' in html  # the menu
    # the evidence: transcript, AMD, SIP code, call status, times, recording, what the rules said and why
    assert "alo… dạ… anh gọi số… (không nghe rõ)" in html
    assert f'class="ev-amd">{ANSWERED_BY["machine_start"]}' in html
    assert 'class="ev-sip">200' in html
    assert f'class="ev-status">{CALL_STATUS["completed"]}' in html
    assert 'class="recording" href="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"' in html
    assert "Không chắc chắn: nghe được" in html and str(BASIS["transcript"]) in html  # what the rules read, and on what
    assert "<time" in html  # the call's times
    assert html.index(f'data-attempt="{second}"') < html.index(f'data-attempt="{third}"')  # the rest, oldest first
    assert f'action="/monitor/review/{first}"' in html and 'name="csrf_token"' in html


def test_a_decision_moves_the_item_and_shows_the_next(db, units, inspector_client):
    first, second, third = held_calls(db, units)
    html = inspector_client.get("/monitor/review").get_data(as_text=True)
    response = inspector_client.post(f"/monitor/review/{first}", data={
        "csrf_token": csrf_from(html), "outcome": "answered", "reason": "Nghe lại bản ghi: cán bộ trả lời rõ ràng."})
    assert response.status_code == 302 and response.headers["Location"].endswith("/monitor/review")
    html = inspector_client.get("/monitor/review").get_data(as_text=True)
    assert current_id(html) == second and f"Đã ghi nhận quyết định cho lần gọi #{first}" in html
    assert 'data-review-count="2"' in html
    r = row(db, first)
    assert (r["outcome"], r["outcome_basis"], r["outcome_certain"]) == ("answered", "inspector", 1)


def test_a_decision_without_a_reason_or_outcome_is_refused_on_the_same_item(db, units, inspector_client):
    first, second, _ = held_calls(db, units)
    token = csrf_from(inspector_client.get("/monitor/review").get_data(as_text=True))
    response = inspector_client.post(f"/monitor/review/{second}", data={"csrf_token": token, "outcome": "", "reason": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and current_id(html) == second
    assert "Hãy chọn kết quả." in html and "Hãy ghi lý do của quyết định." in html
    assert row(db, second)["outcome_certain"] == 0
    missing = inspector_client.post("/monitor/review/2", data={"csrf_token": token, "outcome": "answered", "reason": "x"})
    assert missing.status_code == 302  # not held (or gone): back to the queue, with a message


def test_a_call_decided_meanwhile_sends_the_second_inspector_back_to_the_queue(db, units, inspector, inspector_client):
    first, second, _ = held_calls(db, units)
    token = csrf_from(inspector_client.get("/monitor/review").get_data(as_text=True))
    decide_held(db, first, "machine", "Đã quyết định ở trang khác.", user_id=inspector["id"],
                now=datetime.now(timezone.utc), settings=SETTINGS)
    response = inspector_client.post(f"/monitor/review/{first}", data={"csrf_token": token, "outcome": "answered",
                                                                      "reason": "Muộn"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "không còn chờ xem xét" in html and current_id(html) == second
    assert row(db, first)["outcome"] == "machine" and len(attempts.reviews(db, first)) == 1


def test_held_calls_are_shown_as_such_in_the_lists_and_on_the_attempt_page(db, units, inspector_client):
    first, _, _ = held_calls(db, units)
    listing = inspector_client.get("/monitor/attempts").get_data(as_text=True)
    assert listing.count('data-held="1"') == 3 and 'class="held-count"' in listing
    assert re.search(r'class="held-count">.*?<strong>3</strong>', listing, re.S)
    page = inspector_client.get(f"/monitor/attempts/{first}").get_data(as_text=True)
    assert 'data-held="1"' in page and "chưa tính cho đơn vị" in page
    assert "Chờ gọi lại để xác nhận" not in page
    unit = inspector_client.get("/monitor/units/SYT").get_data(as_text=True)
    assert unit.count('data-held="1"') == 2


def test_agency_editors_cannot_see_or_use_the_queue(app, db, units, client):
    held_calls(db, units)
    editor = make_editor(db, units["SYT"], "bientap@soyte.test.vn")
    assert login(client, editor["email"], editor["password"]).status_code == 302
    assert client.get("/monitor/review").status_code == 403
    html = client.get("/my", follow_redirects=True).get_data(as_text=True)
    assert "data-review-count" not in html and "/monitor/review" not in html
    token = csrf_from(html)
    response = client.post("/monitor/review/1", data={"csrf_token": token, "outcome": "answered", "reason": "Tự sửa"})
    assert response.status_code == 403 and row(db, 1)["outcome_certain"] == 0


def test_the_queue_and_the_held_marks_have_no_vietnamese_left_in_english(db, units, inspector_client):
    first = held_calls(db, units)[0]
    token = csrf_from(inspector_client.get("/monitor/review").get_data(as_text=True))
    inspector_client.post("/lang/en", data={"csrf_token": token, "next": "/monitor/review"})
    # what was heard, the units' names and the rules' notes are data, kept as they were recorded
    data = tuple(v for r in db.execute_returning_dicts("SELECT transcript, outcome_detail FROM attempts")
                 for v in r.values() if v) + ("Sở Y tế", "UBND xã Mỹ An")
    for url in ("/monitor/review", "/monitor/attempts", f"/monitor/attempts/{first}"):
        english = inspector_client.get(url).get_data(as_text=True)
        assert '<html lang="en">' in english and "Held for review" in english
        assert leftovers(english, data) == [], url
