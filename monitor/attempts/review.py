"""Review: an inspector overrides an ended attempt's outcome with a reason; outcome_reviews keeps every decision.

A call the rules could not decide with confidence is held for review (outcome_certain = 0): it counts for
nobody, triggers no alert and plans no follow-up until an inspector decides it with decide_held(). A
decision is an override like any other: the rules' reading is kept as original_outcome, the outcome's basis
becomes 'inspector' and it is certain; the follow-ups are re-run at once, and the unit's alert run is
re-checked by the next check_alerts() (monitor/alerts.py reads the decisions made since its last run).
"""
from __future__ import annotations

from flask_babel import gettext

from monitor.attempts import follow_ups, lifecycle
from monitor.attempts.outcomes import OUTCOMES, Classification
from monitor.attempts.store import AttemptError, exists, is_test, write_transaction
from monitor.attempts.store import row as _row
from registry import lengths
from registry.clock import iso


def review_outcome(db, attempt_id, new_outcome: str, reason: str, *, user_id, now,
                   settings: follow_ups.SettingsLike = None, config: follow_ups.SettingsLike = None) -> None:
    """An inspector overrides an ended attempt's outcome with a reason; history is kept, the original too.

    `config` is the former name of `settings` (a config mapping is still read, see follow_ups.settings_of).
    """
    if new_outcome not in OUTCOMES:
        raise AttemptError(gettext("Kết quả “%(outcome)s” không hợp lệ.", outcome=new_outcome))
    if not (reason or "").strip():
        raise AttemptError(gettext("Hãy ghi lý do thay đổi kết quả."))
    if len(reason.strip()) > lengths.NOTE:
        raise AttemptError(gettext("Tối đa %(max)d ký tự.", max=lengths.NOTE), field="reason")
    settings = follow_ups.settings_of(settings, config)
    with write_transaction(db):
        row = _row(db, attempt_id)
        if not is_test(row):
            raise AttemptError(gettext("Cuộc gọi khảo sát không phải lần gọi kiểm tra: kết quả của nó không được "
                                       "xem xét ở đây."), status=404)
        if row["state"] != "ended":
            raise AttemptError(gettext("Chỉ xem xét được lần gọi đã kết thúc."))
        db.execute(
            "INSERT INTO outcome_reviews (attempt_id, at, user_id, old_outcome, new_outcome, reason) VALUES (?,?,?,?,?,?)",
            [attempt_id, iso(now), user_id, row["outcome"], new_outcome, reason.strip()],
        )
        lifecycle.override_outcome(db, row, new_outcome, now, settings)


def decide_held(db, attempt_id, outcome: str, reason: str, *, user_id, now, settings: follow_ups.SettingsLike = None) -> None:
    """An inspector decides a call held for review; refused when it is no longer held (decided meanwhile), and
    for a survey call (review_outcome refuses it: never in the review queue)."""
    with write_transaction(db):
        if not exists(db, attempt_id) or not follow_ups.is_held(_row(db, attempt_id)):
            raise AttemptError(gettext("Lần gọi này không còn chờ xem xét (có thể đã được quyết định)."), status=409)
        review_outcome(db, attempt_id, outcome, reason, user_id=user_id, now=now, settings=settings)


def record_reclassification(db, attempt_id, found: Classification, *, version: str, now,
                            settings: follow_ups.SettingsLike = None) -> bool:
    """The rules of `version` give an ended attempt a new outcome or certainty: kept in its history (no user).

    Returns False, writing nothing, when the attempt is not ended or not a test call (a survey call), an
    inspector decided its outcome, or the rules give what it already has.
    """
    settings = follow_ups.settings_of(settings)
    with write_transaction(db):
        row = _row(db, attempt_id)
        if (row["state"] != "ended" or not is_test(row) or row["original_outcome"] is not None
                or row["outcome_basis"] == "inspector"):
            return False
        if row["outcome"] == found.outcome and row["outcome_certain"] == (1 if found.certain else 0):
            return False
        # Stored in the source language, like the outcome's detail it quotes.
        reason = f"Phân loại lại theo quy tắc phiên bản {version}: {found.detail}"
        if not found.certain:
            reason += " Giữ lại để thanh tra viên xem xét."
        db.execute(
            "INSERT INTO outcome_reviews (attempt_id, at, user_id, old_outcome, new_outcome, reason) VALUES (?,?,?,?,?,?)",
            [attempt_id, iso(now), None, row["outcome"], found.outcome, reason],
        )
        lifecycle.reclassify(db, row, found, now, settings)
        return True
