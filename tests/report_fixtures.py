"""Helpers for the report tests: ended attempts written straight into the schema, at local times."""
from datetime import datetime, timedelta

from monitor.scheduling.bands import LOCAL, classify
from registry.clock import iso
from registry.hotlines import set_hotline
from registry.units import create_unit


def local(text: str) -> datetime:
    """'2025-06-02 09:00' in Đồng Tháp time → aware datetime."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LOCAL)


def add_attempt(db, unit_id: int, when: str, outcome: str, *, answer_seconds=None, confirmed=None,
                purpose: str = "scheduled", retest_of=None, band: str | None = None, sip_code=None,
                transcript=None, recording_url=None, original_outcome=None) -> int:
    """One ended attempt planned at local time `when`; band from the calendar unless given."""
    planned = local(when)
    ended = planned + timedelta(seconds=(answer_seconds or 30) + 20)
    number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()
    return db.table("attempts").insert({
        "unit_id": unit_id,
        "number": number[0] if number else "+842770000000",
        "planned_at": iso(planned),
        "band": band or classify(planned),
        "purpose": purpose,
        "retest_of": retest_of,
        "state": "ended",
        "state_rank": 6,
        "provider": "simulator",
        "dial_requested_at": iso(planned),
        "ringing_at": iso(planned + timedelta(seconds=2)),
        "answered_at": iso(planned + timedelta(seconds=2 + answer_seconds)) if answer_seconds is not None else None,
        "ended_at": iso(ended),
        "answer_seconds": answer_seconds,
        "outcome": outcome,
        "original_outcome": original_outcome,
        "confirmed": confirmed,
        "sip_code": sip_code,
        "transcript": transcript,
        "recording_url": recording_url,
        "created_at": iso(planned - timedelta(days=1)),
    }).last_pk


def failure_with_retest(db, unit_id: int, when: str, outcome: str, retest_outcome: str, *,
                        retest_after_minutes: int = 60, **fields) -> tuple[int, int]:
    """A failed test and its retest; the original's confirmed follows the retest (1 failed again, 0 answered)."""
    confirmed = 0 if retest_outcome == "answered" else 1
    original = add_attempt(db, unit_id, when, outcome, confirmed=confirmed, **fields)
    retest_time = (local(when) + timedelta(minutes=retest_after_minutes)).strftime("%Y-%m-%d %H:%M")
    retest = add_attempt(db, unit_id, retest_time, retest_outcome, purpose="retest", retest_of=original,
                         answer_seconds=8.0 if retest_outcome == "answered" else None)
    return original, retest


def accept_dispute(db, attempt_id, unit_id):
    db.execute(
        "INSERT INTO disputes (attempt_id, unit_id, opened_at, explanation, status, decided_at, decision_reason) "
        "VALUES (?, ?, '2025-06-20T00:00:00.00Z', 'Máy có người trực, mạng lỗi', 'accepted', "
        "'2025-06-21T00:00:00.00Z', 'Nhà mạng xác nhận sự cố')", [attempt_id, unit_id])


def make_office_unit(db) -> int:
    """OFF: an office-hours hotline in group B."""
    unit_id = create_unit(db, {"code": "OFF", "name": "UBND huyện Tháp Mười", "group_code": "B"})
    set_hotline(db, unit_id, "0277 3821 111", actor=None, hours="office")
    return unit_id


def build_june(db, units, office_unit) -> dict:
    """The hand-built month of tests/test_metrics.py. Local times (UTC+7); bands come from the calendar (1 June 2025 is a Sunday).

    SYT (24/7, group A), in time order:
      0  06-01 00:30 weekend answered 9.0 s        ← 2025-05-31 17:30 UTC: in June by local date
      1  06-02 09:00 office  answered 5.0 s
      2  06-03 12:00 lunch   answered 12.0 s
      3  06-04 19:00 evening no_answer, retest no_answer → confirmed
      4  06-05 23:00 night   busy, retest busy → confirmed
      5  06-07 10:00 weekend unreachable (SIP 480), retest answered → not confirmed
      6  06-09 09:30 office  answered 20.0 s
      7  06-11 10:00 office  redirected, no retest yet → pending
      8  06-13 15:00 office  answered 30.0 s, manual ("call now")
      9  06-16 08:00 office  no_answer, retest no_answer → confirmed
      10 06-16 14:00 office  provider_error                       → excluded
      11 06-17 08:00 office  no_answer, retest no_answer → confirmed
      12 06-18 09:00 office  machine, retest machine, dispute accepted → excluded
      13 06-19 09:00 office  busy, retest busy → confirmed
    plus 05-31 23:00 (May) and 07-01 00:30 (July) outside the month.
    OFF (office hours, group B): a 06-02 10:00 answered 10.0 s; b 06-02 20:00 no_answer confirmed (evening:
    out of hours); c 06-03 10:00 no_answer, retest answered; e 06-04 10:00 answered 16.0 s; d 06-07 09:00
    answered 4.0 s (Saturday: out of hours).
    XMA (group C): nothing in June.
    """
    syt, off = units["SYT"], office_unit
    ids = {}
    ids[0] = add_attempt(db, syt, "2025-06-01 00:30", "answered", answer_seconds=9.0)
    ids[1] = add_attempt(db, syt, "2025-06-02 09:00", "answered", answer_seconds=5.0)
    ids[2] = add_attempt(db, syt, "2025-06-03 12:00", "answered", answer_seconds=12.0)
    ids[3], _ = failure_with_retest(db, syt, "2025-06-04 19:00", "no_answer", "no_answer")
    ids[4], _ = failure_with_retest(db, syt, "2025-06-05 23:00", "busy", "busy")
    ids[5], _ = failure_with_retest(db, syt, "2025-06-07 10:00", "unreachable", "answered", sip_code=480)
    ids[6] = add_attempt(db, syt, "2025-06-09 09:30", "answered", answer_seconds=20.0)
    ids[7] = add_attempt(db, syt, "2025-06-11 10:00", "redirected",
                         transcript="Dạ anh vui lòng gọi số 0277 3999 888 giúp em")
    ids[8] = add_attempt(db, syt, "2025-06-13 15:00", "answered", answer_seconds=30.0, purpose="manual")
    ids[9], _ = failure_with_retest(db, syt, "2025-06-16 08:00", "no_answer", "no_answer")
    ids[10] = add_attempt(db, syt, "2025-06-16 14:00", "provider_error")
    ids[11], _ = failure_with_retest(db, syt, "2025-06-17 08:00", "no_answer", "no_answer")
    ids[12], _ = failure_with_retest(db, syt, "2025-06-18 09:00", "machine", "machine")
    accept_dispute(db, ids[12], syt)
    ids[13], _ = failure_with_retest(db, syt, "2025-06-19 09:00", "busy", "busy")
    add_attempt(db, syt, "2025-05-20 09:00", "answered", answer_seconds=7.0)
    add_attempt(db, syt, "2025-05-31 23:00", "no_answer")
    add_attempt(db, syt, "2025-07-01 00:30", "no_answer")
    add_attempt(db, off, "2025-06-02 10:00", "answered", answer_seconds=10.0)
    failure_with_retest(db, off, "2025-06-02 20:00", "no_answer", "no_answer")
    failure_with_retest(db, off, "2025-06-03 10:00", "no_answer", "answered")
    add_attempt(db, off, "2025-06-07 09:00", "answered", answer_seconds=4.0)
    add_attempt(db, off, "2025-06-04 10:00", "answered", answer_seconds=16.0)
    return ids
