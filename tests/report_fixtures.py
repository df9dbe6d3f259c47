"""Helpers for the report tests: ended attempts written straight into the schema, at local times."""
from datetime import datetime, timedelta

from monitor.bands import LOCAL, classify
from registry.clock import iso


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
