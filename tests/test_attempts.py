"""Attempts: idempotent planning, forward-only state, events stored once, follow-ups, reconcile, reviews."""
import random
from datetime import datetime, timedelta, timezone

import pytest

from monitor import attempts
from monitor.attempts import AttemptError, create_attempt, finish, get_attempt, ingest_event, mark_placed, mark_unknown
from monitor.providers.base import ProviderRejected, ProviderUnavailable
from monitor.settings import Settings
from registry.clock import iso
from registry.hotlines import set_hotline
from registry.units import get_unit_by_id

from .fakes import AskOnlyProvider
from .twilio_double import EXPECTED_OUTCOME, SCENARIOS, callback_script, dedupe_key

NOW = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)  # 09:00 in Đồng Tháp, a Tuesday
SETTINGS = Settings(retest_delay_minutes=60, replace_delay_minutes=15, max_replacements=3)
# Columns that must not depend on event order (ids, sids and creation times differ between runs by design).
VOLATILE = {"id", "call_sid", "created_at"}


def new_attempt(db, unit_id, *, purpose="scheduled", retest_of=None, plan_key=None, state="dialing"):
    number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()[0]
    attempt_id = create_attempt(db, unit_id=unit_id, number=number, planned_at=NOW, band="office", purpose=purpose,
                                retest_of=retest_of, plan_key=plan_key, now=NOW)
    if state != "planned":
        db.execute("UPDATE attempts SET state = ?, state_rank = ?, dial_requested_at = ? WHERE id = ?",
                   [state, attempts.RANK[state], iso(NOW), attempt_id])
    return attempt_id


def feed(db, attempt_id, script, *, order=None, now=NOW):
    results = []
    for kind, params, query in (order if order is not None else script):
        params = dict(params)
        if kind == "gather":
            params["GatherStep"] = query.split("=", 1)[1]
        results.append(ingest_event(db, attempt_id, params, kind=kind, dedupe_key=dedupe_key(kind, params, query),
                                    now=now, settings=SETTINGS))
    return results


def play(db, unit_id, scenario, sid="CA" + "1" * 32, **kwargs):
    attempt_id = new_attempt(db, unit_id, **kwargs)
    feed(db, attempt_id, callback_script(scenario, sid, start=NOW))
    return get_attempt(db, attempt_id)


def follow_ups(db, attempt_id):
    return db.execute_returning_dicts("SELECT * FROM attempts WHERE retest_of = ? OR plan_key LIKE ? ORDER BY id",
                                      [attempt_id, f"%:{attempt_id}"])


# -- planning and the lifecycle


def test_create_attempt_with_the_same_plan_key_returns_the_existing_attempt(db, units):
    first = create_attempt(db, unit_id=units["SYT"], number="+842773851234", planned_at=NOW, band="office",
                           plan_key="week:2025-24:SYT:1", now=NOW)
    again = create_attempt(db, unit_id=units["SYT"], number="+842773851234", planned_at=NOW + timedelta(hours=3),
                           band="evening", plan_key="week:2025-24:SYT:1", now=NOW)
    assert first == again
    assert db.execute("SELECT count(*) FROM attempts").fetchone()[0] == 1
    assert get_attempt(db, first)["band"] == "office" and get_attempt(db, first)["state"] == "planned"


@pytest.mark.parametrize("kwargs", [{"purpose": "weekly"}, {"band": ""}, {"number": ""}])
def test_create_attempt_refuses_bad_input_with_a_vietnamese_message(db, units, kwargs):
    args = dict(unit_id=units["SYT"], number="+842773851234", planned_at=NOW, band="office", now=NOW)
    args.update(kwargs)
    with pytest.raises(AttemptError) as exc:
        create_attempt(db, **args)
    assert exc.value.message
    assert db.execute("SELECT count(*) FROM attempts").fetchone()[0] == 0


def test_mark_placed_moves_dialing_to_placed_and_mark_unknown_only_touches_dialing(db, units):
    placed = new_attempt(db, units["SYT"])
    mark_placed(db, placed, "CA" + "a" * 32, "twilio", NOW)
    row = get_attempt(db, placed)
    assert (row["state"], row["call_sid"], row["provider"], row["placed_at"]) == ("placed", "CA" + "a" * 32, "twilio", iso(NOW))
    mark_unknown(db, placed, "late", NOW)
    assert get_attempt(db, placed)["state"] == "placed"

    lost = new_attempt(db, units["XMA"])
    mark_unknown(db, lost, "ReadTimeout", NOW)
    assert get_attempt(db, lost)["state"] == "unknown" and get_attempt(db, lost)["error"] == "ReadTimeout"
    mark_placed(db, lost, "CA" + "b" * 32, "twilio", NOW)
    assert get_attempt(db, lost)["state"] == "placed"


def test_mark_placed_after_the_callbacks_already_ended_the_call_changes_nothing_but_blanks(db, units):
    row = play(db, units["SYT"], "busy")
    assert row["state"] == "ended"
    mark_placed(db, row["id"], row["call_sid"], "twilio", NOW + timedelta(minutes=1))
    after = get_attempt(db, row["id"])
    assert after["state"] == "ended" and after["outcome"] == "busy" and after["provider"] == "twilio"


def test_finish_forces_an_outcome_once_and_refuses_unknown_outcomes_and_fields(db, units):
    attempt_id = new_attempt(db, units["SYT"])
    assert finish(db, attempt_id, "provider_error", "Twilio 21215", NOW, settings=SETTINGS, error="21215") is True
    assert finish(db, attempt_id, "busy", "again", NOW, settings=SETTINGS) is False
    row = get_attempt(db, attempt_id)
    assert (row["state"], row["outcome"], row["error"], row["ended_at"]) == ("ended", "provider_error", "21215", iso(NOW))
    with pytest.raises(AttemptError):
        finish(db, new_attempt(db, units["XMA"]), "lost", "", NOW)
    with pytest.raises(AttemptError):
        finish(db, new_attempt(db, units["XMA"]), "busy", "", NOW, planned_at="x")


# -- events


def test_ingest_event_stores_each_event_once_and_reports_duplicates(db, units):
    attempt_id = new_attempt(db, units["SYT"])
    script = callback_script("answered", "CA" + "2" * 32, start=NOW)
    assert all(feed(db, attempt_id, script))
    assert not any(feed(db, attempt_id, script))
    assert db.execute("SELECT count(*) FROM call_events").fetchone()[0] == len(script)


def test_ingest_event_for_an_unknown_attempt_raises_and_stores_nothing(db, units):
    with pytest.raises(AttemptError):
        ingest_event(db, 999, {"CallSid": "CA1", "CallStatus": "ringing"}, kind="status", dedupe_key="CA1:1", now=NOW)
    assert db.execute("SELECT count(*) FROM call_events").fetchone()[0] == 0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_scenario_ends_with_its_outcome(db, units, scenario):
    row = play(db, units["SYT"], scenario)
    assert row["state"] == "ended"
    assert row["outcome"] == EXPECTED_OUTCOME[scenario], row["outcome_detail"]
    assert row["outcome_detail"]


def test_answered_call_keeps_ring_to_answer_seconds_transcript_and_amd(db, units):
    row = play(db, units["SYT"], "answered")
    assert row["answer_seconds"] == 9.0
    assert row["ringing_at"] == iso(NOW + timedelta(seconds=2))
    assert row["answered_at"] == iso(NOW + timedelta(seconds=11))
    assert row["ended_at"] == iso(NOW + timedelta(seconds=42))
    assert row["duration_seconds"] == 31 and row["answered_by"] == "human" and row["sip_code"] == 200
    assert row["transcript"] == "Alo, Sở Y tế xin nghe ạ | Dạ đúng rồi anh, đây là số đường dây nóng ạ"
    assert row["speech_confidence"] == pytest.approx(0.87)


def test_answer_seconds_falls_back_to_end_minus_duration_when_the_answered_event_is_lost(db, units):
    attempt_id = new_attempt(db, units["SYT"])
    script = [e for e in callback_script("answered", "CA" + "3" * 32, start=NOW)
              if e[1].get("CallStatus") != "in-progress"]
    feed(db, attempt_id, script)
    row = get_attempt(db, attempt_id)
    assert row["answered_at"] == iso(NOW + timedelta(seconds=11)) and row["answer_seconds"] == 9.0


def test_a_late_ringing_never_moves_an_ended_call_back(db, units):
    attempt_id = new_attempt(db, units["SYT"])
    script = callback_script("no_answer", "CA" + "4" * 32, start=NOW)
    feed(db, attempt_id, [script[2], script[1], script[0]])
    row = get_attempt(db, attempt_id)
    assert (row["state"], row["state_rank"], row["outcome"]) == ("ended", 6, "no_answer")
    assert row["ringing_at"] == iso(NOW + timedelta(seconds=3))


def test_callbacks_before_create_returns_fill_the_call_sid_and_placed_time(db, units):
    attempt_id = new_attempt(db, units["SYT"])
    script = callback_script("answered", "CA" + "5" * 32, start=NOW)
    feed(db, attempt_id, script[:2])
    row = get_attempt(db, attempt_id)
    assert (row["state"], row["call_sid"], row["placed_at"]) == ("ringing", "CA" + "5" * 32, iso(NOW))
    assert row["lease_owner"] is None


def test_a_late_transcript_after_completed_reclassifies_and_drops_the_unneeded_retest(db, units):
    attempt_id = new_attempt(db, units["SYT"])
    script = callback_script("answered", "CA" + "6" * 32, start=NOW)
    no_evidence = [e for e in script if e[0] not in ("gather", "amd")]
    feed(db, attempt_id, no_evidence)
    feed(db, attempt_id, [("amd", {**script[3][1], "AnsweredBy": "machine_end_beep"}, "")])
    assert get_attempt(db, attempt_id)["outcome"] == "machine"
    assert len(follow_ups(db, attempt_id)) == 1  # a retest is planned for the failure
    feed(db, attempt_id, [e for e in script if e[0] == "gather"])
    row = get_attempt(db, attempt_id)
    assert row["outcome"] == "answered"  # a person greeted: AMD was wrong
    assert follow_ups(db, attempt_id) == []


def _shuffled_with_duplicates(script, rng):
    order = list(script) + [e for e in script if rng.random() < 0.3]
    rng.shuffle(order)
    return order


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_any_order_of_duplicated_events_gives_the_same_final_row_and_follow_ups(db, units, scenario):
    rows, plans = [], []
    for run in range(6):
        attempt_id = new_attempt(db, units["SYT"])
        number = get_attempt(db, attempt_id)["number"]
        sid = f"CA{run:02d}" + "7" * 30
        script = callback_script(scenario, sid, start=NOW, to=number)
        feed(db, attempt_id, script, order=_shuffled_with_duplicates(script, random.Random(run)))
        row = get_attempt(db, attempt_id)
        skip = VOLATILE | {"unit_id", "number", "unit_code", "unit_name", "registered_number"}
        # the recording URL names the call: compare it with the sid taken out
        rows.append({k: v.replace(sid[2:], "…") if isinstance(v, str) else v for k, v in row.items() if k not in skip})
        plans.append([(p["purpose"], p["planned_at"], p["state"]) for p in follow_ups(db, attempt_id)])
    assert all(row == rows[0] for row in rows), scenario
    assert all(plan == plans[0] for plan in plans)
    assert rows[0]["outcome"] == EXPECTED_OUTCOME[scenario]


# -- follow-ups: retests, confirmation, replacements, flags


@pytest.mark.parametrize("scenario", ["no_answer", "busy", "unreachable", "machine", "redirected"])
def test_a_failure_plans_one_retest_after_the_configured_delay(db, units, scenario):
    row = play(db, units["SYT"], scenario)
    retests = follow_ups(db, row["id"])
    assert len(retests) == 1
    retest = retests[0]
    assert (retest["purpose"], retest["plan_key"], retest["state"]) == ("retest", f"retest:{row['id']}", "planned")
    assert retest["planned_at"] == iso(datetime.fromisoformat(row["ended_at"].replace("Z", "+00:00")) + timedelta(minutes=60))
    assert row["confirmed"] is None


@pytest.mark.parametrize("scenario", ["answered", "provider_error_canceled"])
def test_answered_and_provider_error_plan_no_retest(db, units, scenario):
    row = play(db, units["SYT"], scenario)
    assert [p for p in follow_ups(db, row["id"]) if p["purpose"] == "retest"] == []


@pytest.mark.parametrize("retest_scenario,confirmed", [("busy", 1), ("no_answer", 1), ("answered", 0)])
def test_a_retest_confirms_or_clears_the_original_failure(db, units, retest_scenario, confirmed):
    original = play(db, units["SYT"], "no_answer", sid="CA" + "8" * 32)
    retest_id = follow_ups(db, original["id"])[0]["id"]
    db.execute("UPDATE attempts SET state = 'dialing', state_rank = 1 WHERE id = ?", [retest_id])
    feed(db, retest_id, callback_script(retest_scenario, "CA" + "9" * 32, start=NOW + timedelta(hours=1)))
    assert get_attempt(db, original["id"])["confirmed"] == confirmed
    assert follow_ups(db, retest_id) == []  # a retest is never retested


def test_a_retest_that_fails_on_our_side_decides_nothing_and_is_replaced(db, units):
    original = play(db, units["SYT"], "busy", sid="CA" + "a" * 32)
    retest_id = follow_ups(db, original["id"])[0]["id"]
    finish(db, retest_id, "provider_error", "Twilio 21215", NOW + timedelta(hours=1), settings=SETTINGS)
    assert get_attempt(db, original["id"])["confirmed"] is None
    replacement = db.execute_returning_dicts("SELECT * FROM attempts WHERE plan_key = ?", [f"replace:{retest_id}"])[0]
    assert (replacement["purpose"], replacement["retest_of"]) == ("retest", original["id"])


def test_provider_error_plans_a_replacement_for_scheduled_tests_but_not_manual_ones(db, units):
    scheduled = new_attempt(db, units["SYT"])
    manual = new_attempt(db, units["XMA"], purpose="manual")
    for attempt_id in (scheduled, manual):
        finish(db, attempt_id, "provider_error", "lỗi", NOW, settings=SETTINGS)
    replacement = db.execute_returning_dicts("SELECT * FROM attempts WHERE plan_key = ?", [f"replace:{scheduled}"])
    assert len(replacement) == 1 and replacement[0]["purpose"] == "scheduled"
    assert replacement[0]["planned_at"] == iso(NOW + timedelta(minutes=15))
    assert not db.execute("SELECT 1 FROM attempts WHERE plan_key = ?", [f"replace:{manual}"]).fetchone()


def test_replacements_stop_after_the_configured_number_in_a_row(db, units):
    attempt_id = new_attempt(db, units["SYT"])
    chain = [attempt_id]
    for _ in range(5):
        finish(db, chain[-1], "provider_error", "lỗi", NOW, settings=SETTINGS)
        nxt = db.execute("SELECT id FROM attempts WHERE plan_key = ?", [f"replace:{chain[-1]}"]).fetchone()
        if not nxt:
            break
        chain.append(nxt[0])
    assert len(chain) == 1 + SETTINGS.max_replacements


def test_unreachable_flags_the_registry_entry_with_the_sip_code(db, units):
    play(db, units["SYT"], "unreachable")
    unit = get_unit_by_id(db, units["SYT"])
    assert unit["flagged_at"] is not None and "SIP 404" in unit["flag_reason"]


def test_unreachable_on_an_old_number_does_not_flag_the_new_one(db, units):
    attempt_id = new_attempt(db, units["SYT"])
    set_hotline(db, units["SYT"], "0277 3851 000", actor=None, reason="đổi số")
    feed(db, attempt_id, callback_script("unreachable", "CA" + "c" * 32, start=NOW))
    assert get_attempt(db, attempt_id)["outcome"] == "unreachable"
    assert get_unit_by_id(db, units["SYT"])["flagged_at"] is None


def test_finish_rejected_flags_the_entry_only_when_the_number_itself_was_refused(db, units):
    ours = new_attempt(db, units["SYT"])
    theirs = new_attempt(db, units["XMA"])
    attempts.finish_rejected(db, ours, ProviderRejected(21215, "Chưa bật quyền gọi Việt Nam"), NOW, settings=SETTINGS)
    attempts.finish_rejected(db, theirs, ProviderRejected(21211, "Số không hợp lệ", our_side=False), NOW, settings=SETTINGS)
    assert get_attempt(db, ours)["outcome"] == get_attempt(db, theirs)["outcome"] == "provider_error"
    assert get_unit_by_id(db, units["SYT"])["flagged_at"] is None
    assert "21211" in get_unit_by_id(db, units["XMA"])["flag_reason"]


# -- reconcile


@pytest.mark.parametrize("state", ["dialing", "unknown"])
def test_reconcile_finds_the_call_and_marks_it_placed_without_dialling(db, units, state):
    attempt_id = new_attempt(db, units["SYT"], state=state)
    provider = AskOnlyProvider({"sid": "CA" + "d" * 32, "status": "queued"})
    assert attempts.reconcile(db, get_attempt(db, attempt_id), provider, NOW) == "placed"
    assert get_attempt(db, attempt_id)["call_sid"] == "CA" + "d" * 32 and provider.placed == []


def test_reconcile_folds_a_final_status_found_at_the_provider(db, units):
    attempt_id = new_attempt(db, units["SYT"], state="unknown")
    provider = AskOnlyProvider({"sid": "CA" + "e" * 32, "status": "busy", "duration": "0"})
    assert attempts.reconcile(db, get_attempt(db, attempt_id), provider, NOW, SETTINGS) == "ended"
    assert get_attempt(db, attempt_id)["outcome"] == "busy"


@pytest.mark.parametrize("state", ["dialing", "unknown"])
def test_reconcile_of_a_call_the_provider_never_saw_is_provider_error_and_replaced(db, units, state):
    attempt_id = new_attempt(db, units["SYT"], state=state)
    assert attempts.reconcile(db, get_attempt(db, attempt_id), AskOnlyProvider(None), NOW, SETTINGS) == "ended"
    row = get_attempt(db, attempt_id)
    assert row["outcome"] == "provider_error" and "không tính cho đơn vị" in row["outcome_detail"]
    assert db.execute("SELECT 1 FROM attempts WHERE plan_key = ?", [f"replace:{attempt_id}"]).fetchone()


def test_reconcile_postpones_when_the_provider_is_unavailable(db, units):
    attempt_id = new_attempt(db, units["SYT"], state="unknown")
    assert attempts.reconcile(db, get_attempt(db, attempt_id), AskOnlyProvider(error=ProviderUnavailable("503")), NOW) == "unknown"


def test_reconcile_ignores_a_call_that_already_belongs_to_another_attempt(db, units):
    other = play(db, units["XMA"], "busy", sid="CA" + "f" * 32)
    attempt_id = new_attempt(db, units["SYT"], state="unknown")
    provider = AskOnlyProvider({"sid": other["call_sid"], "status": "busy"})
    attempts.reconcile(db, get_attempt(db, attempt_id), provider, NOW, SETTINGS)
    assert get_attempt(db, attempt_id)["outcome"] == "provider_error"


def test_late_callbacks_overrule_a_lost_verdict_and_drop_its_replacement(db, units):
    attempt_id = new_attempt(db, units["SYT"], state="unknown")
    attempts.reconcile(db, get_attempt(db, attempt_id), AskOnlyProvider(None), NOW, SETTINGS)
    feed(db, attempt_id, callback_script("answered", "CA" + "0a" * 16, start=NOW))
    assert get_attempt(db, attempt_id)["outcome"] == "answered"
    assert not db.execute("SELECT 1 FROM attempts WHERE plan_key = ?", [f"replace:{attempt_id}"]).fetchone()


def test_reconcile_of_an_ended_attempt_does_not_ask_the_provider(db, units):
    row = play(db, units["SYT"], "busy")
    provider = AskOnlyProvider(None)
    assert attempts.reconcile(db, row, provider, NOW) == "ended" and provider.asked == []


# -- reviews


def test_an_inspector_override_is_kept_in_history_and_survives_late_events(db, units, inspector):
    attempt_id = new_attempt(db, units["SYT"])
    script = callback_script("machine", "CA" + "0b" * 16, start=NOW)
    feed(db, attempt_id, [e for e in script if e[0] != "gather"])
    attempts.review_outcome(db, attempt_id, "answered", "Nghe ghi âm: có cán bộ trả lời", user_id=inspector["id"],
                            now=NOW, settings=SETTINGS)
    feed(db, attempt_id, [e for e in script if e[0] == "gather"])
    row = get_attempt(db, attempt_id)
    assert (row["outcome"], row["original_outcome"]) == ("answered", "machine")
    history = attempts.reviews(db, attempt_id)
    assert [(h["old_outcome"], h["new_outcome"]) for h in history] == [("machine", "answered")]
    assert follow_ups(db, attempt_id) == []  # no retest for what the inspector judged answered


@pytest.mark.parametrize("outcome,reason", [("answered", " "), ("excellent", "lý do")])
def test_a_review_needs_a_valid_outcome_and_a_reason(db, units, inspector, outcome, reason):
    row = play(db, units["SYT"], "busy")
    with pytest.raises(AttemptError):
        attempts.review_outcome(db, row["id"], outcome, reason, user_id=inspector["id"], now=NOW)
    assert attempts.reviews(db, row["id"]) == []


def test_a_review_of_an_unfinished_attempt_is_refused(db, units, inspector):
    attempt_id = new_attempt(db, units["SYT"])
    with pytest.raises(AttemptError):
        attempts.review_outcome(db, attempt_id, "busy", "x", user_id=inspector["id"], now=NOW)


def test_sync_follow_ups_after_an_outside_override_drops_the_retest_and_plans_it_again(db, units):
    row = play(db, units["SYT"], "busy")
    db.execute("UPDATE attempts SET outcome = 'answered', original_outcome = 'busy' WHERE id = ?", [row["id"]])
    attempts.sync_follow_ups(db, row["id"], NOW, SETTINGS)
    assert follow_ups(db, row["id"]) == []
    db.execute("UPDATE attempts SET outcome = 'busy' WHERE id = ?", [row["id"]])
    attempts.sync_follow_ups(db, row["id"], NOW, SETTINGS)
    assert [p["purpose"] for p in follow_ups(db, row["id"])] == ["retest"]


def test_concurrent_writers_on_their_own_connections_lose_nothing_and_apply_nothing_twice(app, db, units):
    import threading

    from registry.db import connect

    calls = []
    for run in range(12):
        attempt_id = new_attempt(db, units["SYT"])
        scenario = SCENARIOS[run % len(SCENARIOS)]
        calls.append((attempt_id, scenario, callback_script(scenario, f"CA{run:02d}" + "c" * 30, start=NOW)))
    work = [(attempt_id, event) for attempt_id, _, script in calls for event in script]
    rng = random.Random(5)
    work += [item for item in work if rng.random() < 0.5]  # about half of the callbacks come twice
    rng.shuffle(work)
    errors, lock = [], threading.Lock()

    def writer(items):
        own = connect(app.config["DATABASE"])
        try:
            for attempt_id, event in items:
                feed(own, attempt_id, [event])
        except Exception as exc:  # collected: the assertion below shows it
            with lock:
                errors.append(exc)
        finally:
            own.conn.close()

    threads = [threading.Thread(target=writer, args=(work[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count_events(db) == sum(len(script) for _, _, script in calls)
    for attempt_id, scenario, _ in calls:
        assert get_attempt(db, attempt_id)["outcome"] == EXPECTED_OUTCOME[scenario]


def count_events(db):
    return db.execute("SELECT count(*) FROM call_events").fetchone()[0]
