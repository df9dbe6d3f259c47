"""Disputes: an agency contests a failed test of its own unit; an inspector accepts or rejects it with a reason.

An accepted dispute takes the attempt out of the metrics (monitor/reports/tally.py and scopes.py read the disputes
table); the attempt's outcome is left as it was. Dispute rows are never deleted: a rejected dispute stays
in the history and the agency may open a new one (the schema allows one open-or-accepted dispute per attempt).
"""
from __future__ import annotations

import sqlite3
from datetime import datetime

from flask_babel import gettext as _

from monitor.attempts.outcomes import FAILURES
from monitor.attempts.store import TESTS_ONLY
from registry.clock import iso, utcnow
from registry.db import write_transaction
from registry.errors import UserError

MAX_TEXT = 2000
STATUSES = ("open", "accepted", "rejected")


class DisputeError(UserError):
    """A dispute request refused; .message says why in Vietnamese, .status the HTTP status to answer with."""


def _clean(text: str | None, field: str) -> str:
    """The text stripped; refused when empty or too long (field: "explanation" or "reason")."""
    text = (text or "").strip()
    explanation = field == "explanation"
    if not text:
        raise DisputeError(_("Hãy ghi giải trình.") if explanation else _("Hãy ghi lý do quyết định."), field=field)
    if len(text) > MAX_TEXT:
        message = (_("Giải trình dài quá %(max)s ký tự.", max=MAX_TEXT) if explanation
                   else _("Lý do quyết định dài quá %(max)s ký tự.", max=MAX_TEXT))
        raise DisputeError(message, field=field)
    return text


def _attempt(db, attempt_id: int) -> dict:
    """The test call; 404 for none and for a survey call (it dialled a citizen: nothing of the unit to contest)."""
    rows = db.execute_returning_dicts(
        f"SELECT id, unit_id, state, outcome, purpose, planned_at FROM attempts a WHERE id = ? AND {TESTS_ONLY}",
        [attempt_id],
    )
    if not rows:
        raise DisputeError(_("Không tìm thấy cuộc gọi kiểm tra này."), status=404)
    return rows[0]


def can_dispute(attempt: dict, user: dict | None) -> bool:
    """Whether this user may contest this attempt: its unit's editor, an ended counted failure."""
    return bool(
        user and user["role"] == "agency" and user["unit_id"] == attempt["unit_id"]
        and attempt["state"] == "ended" and attempt["outcome"] in FAILURES and attempt["purpose"] in ("scheduled", "manual")
    )


def open_dispute(db, attempt_id: int, user: dict, explanation: str, *, now: datetime | None = None) -> int:
    """An agency editor contests a failed test of its own unit; returns the dispute id."""
    attempt = _attempt(db, attempt_id)
    if not user or user["role"] != "agency" or user["unit_id"] != attempt["unit_id"]:
        raise DisputeError(_("Chỉ biên tập viên của chính đơn vị mới được khiếu nại kết quả này."), status=403)
    if attempt["state"] != "ended" or attempt["outcome"] not in FAILURES:
        raise DisputeError(_("Chỉ khiếu nại được cuộc gọi đã kết thúc với kết quả không đạt."), field="attempt")
    if attempt["purpose"] == "retest":
        raise DisputeError(
            _("Đây là cuộc gọi lại để xác nhận, không phải một lần kiểm tra: hãy khiếu nại cuộc gọi kiểm tra ban đầu."),
            field="attempt",
        )
    text = _clean(explanation, "explanation")
    try:
        with write_transaction(db):
            return db.table("disputes").insert({
                "attempt_id": attempt_id,
                "unit_id": attempt["unit_id"],
                "opened_by": user["id"],
                "opened_at": iso(now or utcnow()),
                "explanation": text,
                "status": "open",
            }).last_pk
    except sqlite3.IntegrityError as exc:
        # disputes_one_live: at most one open or accepted dispute per attempt.
        raise DisputeError(_("Cuộc gọi này đã có một khiếu nại đang xem xét hoặc đã được chấp nhận."),
                           field="attempt") from exc


def decide_dispute(db, dispute_id: int, user: dict, accept: bool, reason: str, *, now: datetime | None = None) -> None:
    """An inspector accepts (the attempt leaves the metrics) or rejects an open dispute, with a reason."""
    if not user or user["role"] != "inspector":
        raise DisputeError(_("Chỉ thanh tra viên mới được quyết định khiếu nại."), status=403)
    text = _clean(reason, "reason")
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE disputes SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ? "
            "WHERE id = ? AND status = 'open'",
            ["accepted" if accept else "rejected", user["id"], iso(now or utcnow()), text, dispute_id],
        )
        if cursor.rowcount:
            return
    if not db.execute("SELECT 1 FROM disputes WHERE id = ?", [dispute_id]).fetchone():
        raise DisputeError(_("Không tìm thấy khiếu nại này."), status=404)
    raise DisputeError(_("Khiếu nại này đã được quyết định trước đó."), status=409)


DISPUTE_SELECT = """
SELECT d.*, u.code AS unit_code, u.name AS unit_name, u.group_code,
       a.planned_at, a.ended_at, a.band, a.outcome, a.original_outcome, a.confirmed, a.number, a.sip_code,
       a.answer_seconds, a.transcript, a.recording_url, a.purpose,
       o.email AS opened_by_email, k.email AS decided_by_email
FROM disputes d
JOIN attempts a ON a.id = d.attempt_id
JOIN units u ON u.id = d.unit_id
LEFT JOIN users o ON o.id = d.opened_by
LEFT JOIN users k ON k.id = d.decided_by
"""


def get_dispute(db, dispute_id: int) -> dict:
    rows = db.execute_returning_dicts(DISPUTE_SELECT + " WHERE d.id = ?", [dispute_id])
    if not rows:
        raise DisputeError(_("Không tìm thấy khiếu nại này."), status=404)
    return rows[0]


def list_disputes(db, *, status: str | None = None, unit_id: int | None = None, limit: int = 500) -> list[dict]:
    """Disputes, open ones first (oldest first, so the longest waiting is on top), then decided, newest first."""
    where, params = [], []
    if status:
        where.append("d.status = ?")
        params.append(status)
    if unit_id is not None:
        where.append("d.unit_id = ?")
        params.append(unit_id)
    sql = DISPUTE_SELECT + (" WHERE " + " AND ".join(where) if where else "")
    sql += (" ORDER BY d.status != 'open', CASE WHEN d.status = 'open' THEN d.opened_at END,"
            " CASE WHEN d.status = 'open' THEN d.id END, d.decided_at DESC, d.id DESC LIMIT ?")
    return db.execute_returning_dicts(sql, params + [limit])


def history(db, attempt_id: int) -> list[dict]:
    """Every dispute ever opened on an attempt, oldest first."""
    return db.execute_returning_dicts(DISPUTE_SELECT + " WHERE d.attempt_id = ? ORDER BY d.id", [attempt_id])


def open_count(db) -> int:
    return db.execute("SELECT count(*) FROM disputes WHERE status = 'open'").fetchone()[0]
