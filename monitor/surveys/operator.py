"""An operator's work (điện thoại viên of the 1022 switchboard): take the next case, record the call.

next_case() offers a case only within the calling hours of an open day (calling_hours.py), and never one whose
number is on the do-not-call list (privacy.py). record_call() checks the form's values, then writes the call,
the case's new state and the answers in one transaction (a do-not-call request puts the number on the list in
the same transaction); a bad answer then alerts the inspectors (answer_alerts.py) outside it.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from flask_babel import gettext

from monitor.surveys import answer_alerts, answers, calling_hours, cases, dispositions, privacy, questionnaire, queue
from registry import clock, lengths
from registry.db import write_transaction
from registry.errors import NotFound

APPOINTMENT_HORIZON = timedelta(days=60)  # how far ahead a citizen may ask to be called back
CONSENT_KEY = "consent"


def callable_case(db, settings):
    """can_call for the queue: the case's citizen has a number and did not ask not to be called."""
    def can_call(case: dict) -> bool:
        return bool(case["phone"]) and not privacy.on_do_not_call(db, case["phone"], secret_key=settings.secret_key)
    return can_call


def calling_time(db, now: datetime, settings) -> str | None:
    """None when citizens may be called now; else why not: "day_closed" (Sunday, holiday) or "outside_hours"."""
    cal = calling_hours.load_calendar(db, now)
    if not calling_hours.day_open(clock.local_today(now), cal):
        return "day_closed"
    if not calling_hours.is_open(now, settings.survey_call_windows(), cal):
        return "outside_hours"
    return None


def next_case(db, user_id: int, now: datetime, settings) -> tuple[dict | None, str]:
    """(case, why): the case the operator holds, or a newly claimed one ("held", "offered"); else (None, why)
    with why "day_closed", "outside_hours" or "empty"."""
    held = cases.held_by(db, user_id, now)
    if held is not None:
        return held, "held"
    closed = calling_time(db, now, settings)
    if closed:
        return None, closed
    case = cases.claim_next(db, user_id, now, callable_case(db, settings))
    return (case, "offered") if case else (None, "empty")


def record_call(db, case_id: int, user: Mapping, *, disposition: str, note: str, given: Mapping[str, str],
                appointment_at: datetime | None, now: datetime, settings) -> dict:
    """Record one call of a case: its disposition, note, appointment and answers. Returns the case as it now is.

    Answers are kept for the dispositions that may follow questions (queue.KEEPS_ANSWERS: complete, partial,
    break-off); "complete" needs consent and every rating question answered. A CaseError or AnswerError names
    the field at fault and nothing is written."""
    case = cases.get_case(db, case_id)
    if case is None:
        raise NotFound(gettext("Không tìm thấy phiếu khảo sát."))
    if disposition not in dispositions.DISPOSITIONS:
        raise cases.CaseError(gettext("Hãy chọn kết quả cuộc gọi."), field="disposition")
    note = (note or "").strip()
    if len(note) > lengths.NOTE:
        raise cases.CaseError(gettext("Ghi chú dài quá %(max)s ký tự.", max=lengths.NOTE), field="note")
    questions = questionnaire.by_id(db, case["questionnaire_id"])["questions"]
    rows = answers.parse(questions, given) if disposition in queue.KEEPS_ANSWERS else []
    if disposition == "complete":
        _check_complete(questions, rows)
    if disposition == "appointment":
        _check_appointment(db, appointment_at, now, settings)
    else:
        appointment_at = None
    with write_transaction(db):
        changed = cases.record_contact(db, case_id, user_id=user["id"], disposition=disposition, note=note, now=now,
                                       appointment_at=appointment_at)
        if rows:
            answers.save(db, case_id, rows, now)
        if disposition == "do_not_call" and case["phone"]:
            privacy.add_do_not_call(db, case["phone"], secret_key=settings.secret_key, now=now, user=user,
                                    reason=gettext("Người dân đề nghị trong cuộc gọi khảo sát"))
    if rows:
        answer_alerts.on_answers(db, case_id, answers.for_case(db, case_id), now, settings)
    return changed


def _check_complete(questions: list[dict], rows: list[dict]) -> None:
    given = {r["question_key"]: r for r in rows}
    consent = given.get(CONSENT_KEY)
    if any(q["key"] == CONSENT_KEY for q in questions) and (consent is None or consent["yes"] != 1):
        raise cases.CaseError(gettext("Phỏng vấn hoàn thành cần người dân đồng ý trả lời; nếu không, chọn "
                                      "“Từ chối trả lời”."), field="disposition")
    missing = [n for n, q in enumerate(questions, start=1) if q["kind"] == "rating" and q["key"] not in given]
    if missing:
        raise cases.CaseError(gettext("Phỏng vấn hoàn thành cần trả lời đủ các câu đánh giá (còn thiếu câu "
                                      "%(list)s); nếu người dân dừng giữa chừng, chọn “Trả lời một phần”.",
                                      list=", ".join(map(str, missing))), field="disposition")


def _check_appointment(db, appointment_at: datetime | None, now: datetime, settings) -> None:
    if appointment_at is None:
        raise cases.CaseError(gettext("Hãy nhập thời điểm hẹn gọi lại."), field="appointment")
    if appointment_at <= now or appointment_at > now + APPOINTMENT_HORIZON:
        raise cases.CaseError(gettext("Thời điểm hẹn phải sau lúc này và trong vòng %(days)s ngày.",
                                      days=APPOINTMENT_HORIZON.days), field="appointment")
    cal = calling_hours.load_calendar(db, appointment_at)
    if not calling_hours.is_open(appointment_at, settings.survey_call_windows(), cal):
        raise cases.CaseError(gettext("Thời điểm hẹn phải trong giờ gọi (%(hours)s), không vào Chủ nhật hay ngày lễ.",
                                      hours=settings.survey_call_hours), field="appointment")
