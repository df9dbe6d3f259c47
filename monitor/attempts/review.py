"""Review: an inspector overrides an ended attempt's outcome with a reason; outcome_reviews keeps every decision."""
from __future__ import annotations

from flask_babel import gettext

from monitor.attempts import follow_ups, lifecycle
from monitor.attempts.outcomes import OUTCOMES
from monitor.attempts.store import AttemptError, write_transaction
from monitor.attempts.store import row as _row
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
    settings = follow_ups.settings_of(settings, config)
    with write_transaction(db):
        row = _row(db, attempt_id)
        if row["state"] != "ended":
            raise AttemptError(gettext("Chỉ xem xét được lần gọi đã kết thúc."))
        db.execute(
            "INSERT INTO outcome_reviews (attempt_id, at, user_id, old_outcome, new_outcome, reason) VALUES (?,?,?,?,?,?)",
            [attempt_id, iso(now), user_id, row["outcome"], new_outcome, reason.strip()],
        )
        lifecycle.override_outcome(db, row, new_outcome, now, settings)
