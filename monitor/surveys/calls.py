"""Automated survey calls through the calling engine: plan a call for each due automated case, and settle each
ended call into its case (disposition, answers, alerts).

A call is an attempt of purpose 'survey' (monitor/attempts/lifecycle.create_attempt) dialling the dossier's
phone: the engine claims, dials, stores the provider's events once and reconciles after a crash exactly as for
a test call, so no citizen is dialled twice for one call. Nothing of it counts as a test of the unit's hotline
(follow_ups.decide plans no retest or flag for it; every reader of test calls leaves purpose 'survey' out).

- plan_due (scheduler, every minute): within the calling hours, each open automated case whose retry time has
  come and whose citizen may be called gets one attempt (plan key 'survey:<case>:<contacts so far>', so a
  second planning of the same call is the same attempt) and is held (survey_cases.claimed_until) while the
  call is under way;
- settle (scheduler, after each dispatch): each ended survey attempt without its contact is turned into one
  (survey_contacts.attempt_id is unique, so settling twice, or by two processes, writes it once): the AAPOR
  disposition (keypad.disposition), the answers given before any hang-up, the do-not-call list on a 9, the
  case handed to an operator when a person answered without pressing a key, the inspectors' alert on a bad
  answer. A failure of our side (provider_error) is kept as evidence but costs the case no try.
"""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from flask_babel import gettext

from monitor.attempts import ingest, lifecycle
from monitor.surveys import answer_alerts, answers, cases, keypad, operator, privacy, questionnaire
from registry.clock import iso
from registry.db import write_transaction

HOLD = timedelta(hours=2)  # a case stays out of the queues this long while its call is planned or under way
BATCH = 50  # cases planned per run: the dispatcher's limits pace the dialling anyway


def automate_share(db, sample_id: int, share: float, seed: int) -> int:
    """Hand a random share (0–1) of a sample's open cases to automated calls, the rest staying with the operators;
    the same seed picks the same cases. Returns how many were handed over."""
    if not 0 <= share <= 1:
        raise cases.CaseError(gettext("Tỷ lệ gọi tự động phải từ 0 đến 1."), field="automated")
    ids = [row[0] for row in db.execute("SELECT id FROM survey_cases WHERE sample_id = ? AND state = 'open' "
                                        "ORDER BY id", [sample_id]).fetchall()]
    chosen = random.Random(f"automated:{sample_id}:{seed}").sample(ids, round(len(ids) * share))
    return cases.automate(db, sorted(chosen))


def script(db, attempt_id: int) -> dict | None:
    """What an automated call says, for the providers: {"questions", "unit_name", "time_limit"} of the attempt's
    case (time_limit: the seconds the interview may last), or None when the attempt is not a survey call."""
    row = db.execute("SELECT a.survey_case_id, c.questionnaire_id, u.name FROM attempts a "
                     "JOIN survey_cases c ON c.id = a.survey_case_id JOIN units u ON u.id = c.unit_id "
                     "WHERE a.id = ? AND a.purpose = 'survey'", [attempt_id]).fetchone()
    if row is None:
        return None
    questions = questionnaire.by_id(db, row[1])["questions"]
    return {"questions": questions, "unit_name": row[2], "time_limit": keypad.time_limit(questions)}


def plan_due(db, now: datetime, settings, *, band: str, limit: int = BATCH) -> int:
    """Plan one call for each due automated case (at most `limit`); returns how many were planned. Nothing
    outside the calling hours (FLASK_SURVEY_CALL_HOURS, never on Sundays or holidays)."""
    if operator.calling_time(db, now, settings) is not None:
        return 0
    at = iso(now)
    can_call = operator.callable_case(db, settings)
    planned = 0
    with write_transaction(db):
        due = db.execute_returning_dicts(
            "SELECT c.id, c.unit_id, d.phone, (SELECT count(*) FROM survey_contacts s WHERE s.case_id = c.id) AS made "
            "FROM survey_cases c JOIN dossiers d ON d.id = c.dossier_id "
            "WHERE c.state = 'open' AND c.mode = 'automated' AND d.phone IS NOT NULL "
            "AND (c.next_at IS NULL OR c.next_at <= ?) AND (c.claimed_until IS NULL OR c.claimed_until <= ?) "
            "ORDER BY coalesce(c.next_at, ''), c.id LIMIT ?", [at, at, limit * 2])
        for case in due:
            if planned >= limit:
                break
            if not can_call(case):
                continue
            lifecycle.create_attempt(db, unit_id=case["unit_id"], number=privacy.international(case["phone"]),
                                     planned_at=now, band=band,
                                     purpose="survey", survey_case_id=case["id"],
                                     plan_key=f"survey:{case['id']}:{case['made']}", now=now)
            cases.hold_for_call(db, case["id"], now + HOLD)
            planned += 1
    return planned


def unsettled(db, limit: int = 200) -> list[int]:
    """Ended survey attempts whose contact is not written yet, oldest first."""
    rows = db.execute("SELECT a.id FROM attempts a WHERE a.survey_case_id IS NOT NULL AND a.state = 'ended' "
                      "AND NOT EXISTS (SELECT 1 FROM survey_contacts s WHERE s.attempt_id = a.id) "
                      "ORDER BY a.ended_at, a.id LIMIT ?", [limit]).fetchall()
    return [row[0] for row in rows]


def settle(db, now: datetime, settings) -> int:
    """Write the contact of every ended, unsettled survey call; returns how many were settled."""
    done = 0
    for attempt_id in unsettled(db):
        if settle_one(db, attempt_id, now, settings):
            done += 1
    return done


def gathered(db, attempt_id: int) -> dict[str, dict]:
    """SurveyStep → the params of its event (the first stored, as duplicates are refused at ingest)."""
    steps: dict[str, dict] = {}
    for (payload,) in db.execute("SELECT payload FROM call_events WHERE attempt_id = ? AND kind = 'gather' "
                                 "ORDER BY id", [attempt_id]).fetchall():
        params = json.loads(payload)
        step = params.get("SurveyStep")
        if step and step not in steps:
            steps[step] = params
    return steps


def settle_one(db, attempt_id: int, now: datetime, settings) -> bool:
    """Turn one ended survey call into its case's contact, in one transaction; False when already settled."""
    with write_transaction(db):
        call = db.execute_returning_dicts(
            "SELECT a.id, a.state, a.outcome, a.sip_code, a.answered_by, a.survey_case_id, c.questionnaire_id, "
            "c.state AS case_state, d.phone FROM attempts a JOIN survey_cases c ON c.id = a.survey_case_id "
            "JOIN dossiers d ON d.id = c.dossier_id WHERE a.id = ?", [attempt_id])
        if not call or call[0]["state"] != "ended":
            return False
        call = call[0]
        if db.execute("SELECT 1 FROM survey_contacts WHERE attempt_id = ?", [attempt_id]).fetchone():
            return False
        case_id = call["survey_case_id"]
        questions = questionnaire.by_id(db, call["questionnaire_id"])["questions"]
        events = gathered(db, attempt_id)
        rows = keypad.answers_given(questions, events)
        if call["case_state"] != "open":  # closed meanwhile (an inspector's or operator's call): evidence only
            cases.record_contact(db, case_id, user_id=None, disposition="unknown", mode="automated", now=now,
                                 attempt_id=attempt_id, counted=False,
                                 note=gettext("Phiếu đã kết thúc trước khi cuộc gọi tự động xong."))
            return True
        if call["outcome"] == "provider_error":
            cases.record_contact(db, case_id, user_id=None, disposition="unknown", mode="automated", now=now,
                                 attempt_id=attempt_id, counted=False, appointment_at=now + timedelta(minutes=30),
                                 note=gettext("Lỗi phía hệ thống gọi: không tính là một lần gọi."))
            return True
        code, note = keypad.disposition(call, questions, events)
        if code == "operator":
            cases.set_mode(db, case_id, "operator")
            code = "unknown"
        cases.record_contact(db, case_id, user_id=None, disposition=code, note=note, now=now, mode="automated",
                             attempt_id=attempt_id)
        if rows:
            answers.save(db, case_id, rows, now)
        if code == "do_not_call" and call["phone"]:
            privacy.add_do_not_call(db, call["phone"], secret_key=settings.secret_key, now=now,
                                    reason=gettext("Người dân bấm phím 9 trong cuộc gọi khảo sát tự động"))
    if rows:
        answer_alerts.on_answers(db, case_id, answers.for_case(db, case_id), now, settings)
    return True


def erase_numbers(db, dossier_ids: list[int]) -> int:
    """Past the retention period, the citizen's number is masked on the survey calls made to these dossiers'
    citizens and in their stored provider events (the dossiers' own numbers are erased by dossiers.py); in one
    transaction. Returns the calls masked."""
    if not dossier_ids:
        return 0
    with write_transaction(db):
        calls = db.execute(
            f"SELECT a.id, a.number FROM attempts a JOIN survey_cases c ON c.id = a.survey_case_id "
            f"WHERE c.dossier_id IN ({', '.join('?' * len(dossier_ids))})", dossier_ids).fetchall()
        for attempt_id, number in calls:
            digits = privacy.national_digits(number)[1:]
            if len(digits) < 6:  # already masked
                continue
            masked = privacy.mask_phone(number)
            lifecycle.erase_number(db, attempt_id, masked)
            ingest.erase_digits(db, attempt_id, digits, masked)
    return len(calls)
