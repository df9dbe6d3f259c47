"""Each sampled citizen's case and its calls: the only module that writes survey_cases and survey_contacts.

A case is created with its sample (samples.py calls insert_cases), then moves through the queue (queue.py
decides which case comes next; the writes are here): claimed by an operator for a few minutes, given a
disposition for each call (kept in survey_contacts, append-only), offered again after the disposition's retry
delay, and closed by a final disposition or after dispositions.MAX_TRIES calls.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext

from monitor.surveys import queue
from registry.clock import iso, local_day_bounds, local_today
from registry.db import write_transaction
from registry.errors import NotFound, UserError


class CaseError(UserError):
    """A call that cannot be recorded on a case, with a Vietnamese message."""

CASE_COLUMNS = ("sample_id", "dossier_id", "unit_id", "stratum", "weight", "mode", "questionnaire_id")


def insert_cases(db, rows: list[dict]) -> int:
    """Insert drawn cases (dicts with CASE_COLUMNS) in the caller's transaction; returns how many."""
    db.conn.executemany(
        f"INSERT INTO survey_cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * len(CASE_COLUMNS))})",
        [[row.get(c, "operator" if c == "mode" else None) for c in CASE_COLUMNS] for row in rows])
    return len(rows)


# ------------------------------------------------------------------------------------------------ the queue

_CASE = ("SELECT c.id, c.sample_id, c.dossier_id, c.unit_id, c.mode, c.questionnaire_id, c.state, c.disposition, "
         "c.tries, c.next_at, c.appointment_at, c.claimed_by, c.claimed_until, c.closed_at, d.phone, d.code AS dossier_code, "
         "d.procedure, d.level, d.channel, d.received_on, d.due_on, d.returned_on, d.late, u.name AS unit_name "
         "FROM survey_cases c JOIN dossiers d ON d.id = c.dossier_id JOIN units u ON u.id = c.unit_id ")
CANDIDATES = 500  # cases read per offer: enough to skip the numbers that may not be called


def get_case(db, case_id: int) -> dict | None:
    """A case with its dossier's procedure, unit and dates (and its phone, for the caller to mask or reveal)."""
    rows = db.execute_returning_dicts(_CASE + "WHERE c.id = ?", [case_id])
    return rows[0] if rows else None


def held_by(db, user_id: int, now: datetime) -> dict | None:
    """The open case this operator holds an unexpired claim on, if any."""
    rows = db.execute_returning_dicts(
        _CASE + "WHERE c.claimed_by = ? AND c.claimed_until > ? AND c.state = 'open' ORDER BY c.id LIMIT 1",
        [user_id, iso(now)])
    return rows[0] if rows else None


def claim_next(db, user_id: int, now: datetime, can_call) -> dict | None:
    """Claim the next case for an operator (queue.choose) until now + queue.CLAIM, in one write transaction, so
    two operators never get the same case; a case the operator already holds is given back first."""
    at = iso(now)
    with write_transaction(db):
        case = held_by(db, user_id, now)
        if case is None:
            candidates = db.execute_returning_dicts(
                _CASE + "WHERE c.state = 'open' AND c.mode = 'operator' AND d.phone IS NOT NULL "
                "AND (c.next_at IS NULL OR c.next_at <= ?) "
                "AND (c.claimed_by IS NULL OR c.claimed_by = ? OR c.claimed_until IS NULL OR c.claimed_until <= ?) "
                "ORDER BY c.appointment_at IS NULL, c.appointment_at, coalesce(c.next_at, ''), c.id LIMIT ?",
                [at, user_id, at, CANDIDATES])
            case = queue.choose(candidates, now, user_id, can_call)
        if case is None:
            return None
        until = iso(now + queue.CLAIM)
        db.execute("UPDATE survey_cases SET claimed_by = ?, claimed_until = ? WHERE id = ?", [user_id, until, case["id"]])
    return {**case, "claimed_by": user_id, "claimed_until": until}


def hold_for_call(db, case_id: int, until: datetime) -> None:
    """Keep an automated case out of every queue while its call is planned or under way (monitor/surveys/calls.py);
    in the caller's transaction. The contact its call ends with releases it."""
    db.execute("UPDATE survey_cases SET claimed_until = ? WHERE id = ?", [iso(until), case_id])


def set_mode(db, case_id: int, mode: str) -> None:
    """Who calls a case next: 'operator' or 'automated' (a person who answered an automated call without
    pressing a key is called by an operator); in the caller's transaction."""
    if mode not in ("operator", "automated"):
        raise CaseError(gettext("Cách gọi không hợp lệ."), field="mode")
    db.execute("UPDATE survey_cases SET mode = ? WHERE id = ?", [mode, case_id])


def automate(db, case_ids: list[int]) -> int:
    """Hand these open cases to automated calls (a sample's share, chosen by the caller); in one transaction."""
    with write_transaction(db):
        db.conn.executemany("UPDATE survey_cases SET mode = 'automated' WHERE id = ? AND state = 'open'",
                            [(case_id,) for case_id in case_ids])
    return len(case_ids)


def record_contact(db, case_id: int, *, user_id: int | None, disposition: str, note: str, now: datetime,
                   appointment_at: datetime | None = None, mode: str = "operator", attempt_id: int | None = None,
                   counted: bool = True) -> dict:
    """Write one call of a case (survey_contacts) and what its disposition does to the case (queue.after_call),
    in the caller's transaction or its own; the claim is released. Returns the case as it now is.

    attempt_id: the automated call's attempt (one contact per attempt). counted=False: our side failed to place
    the call (nobody was reached), so the contact is kept as evidence but the case's tries and state do not move.
    Refused (CaseError, 409) when the case is closed, or held by another operator whose claim has not expired."""
    if not counted:
        with write_transaction(db):
            db.execute("INSERT INTO survey_contacts (case_id, at, user_id, mode, disposition, note, attempt_id) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", [case_id, iso(now), user_id, mode, disposition, note, attempt_id])
            db.execute("UPDATE survey_cases SET claimed_until = NULL, next_at = ? WHERE id = ?",
                       [iso(appointment_at or now), case_id])
        return {"id": case_id, "disposition": disposition}
    with write_transaction(db):
        case = db.execute_returning_dicts(
            "SELECT id, state, tries, claimed_by, claimed_until FROM survey_cases WHERE id = ?", [case_id])
        if not case:
            raise NotFound(gettext("Không tìm thấy phiếu khảo sát."))
        case = case[0]
        if case["state"] != "open":
            raise CaseError(gettext("Phiếu khảo sát này đã kết thúc; không ghi thêm cuộc gọi."), status=409)
        if (mode == "operator" and case["claimed_by"] not in (None, user_id)
                and (case["claimed_until"] or "") > iso(now)):
            raise CaseError(gettext("Phiếu khảo sát này đang do điện thoại viên khác gọi."), status=409)
        change = queue.after_call(disposition, case["tries"], now, appointment_at)
        db.execute("INSERT INTO survey_contacts (case_id, at, user_id, mode, disposition, note, attempt_id) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", [case_id, iso(now), user_id, mode, disposition, note, attempt_id])
        db.execute("UPDATE survey_cases SET disposition = ?, tries = ?, state = ?, next_at = ?, appointment_at = ?, "
                   "closed_at = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                   [disposition, change["tries"], change["state"], change["next_at"], change["appointment_at"],
                    change["closed_at"], case_id])
    return {**case, **change, "disposition": disposition, "claimed_by": None, "claimed_until": None}


def contacts(db, case_id: int) -> list[dict]:
    """A case's calls, oldest first (no phone: the notes carry none by rule)."""
    return db.execute_returning_dicts(
        "SELECT s.at, s.mode, s.disposition, s.note, u.email AS operator FROM survey_contacts s "
        "LEFT JOIN users u ON u.id = s.user_id WHERE s.case_id = ? ORDER BY s.at, s.id", [case_id])


def queue_state(db, now: datetime) -> dict:
    """The queue as inspectors see it: open cases (due now, waiting, appointments), who holds which, the closed
    ones by disposition. No phone or applicant."""
    at = iso(now)
    row = db.execute(
        "SELECT count(*), sum(next_at IS NULL OR next_at <= ?), sum(appointment_at IS NOT NULL), "
        "sum(claimed_until > ?) FROM survey_cases WHERE state = 'open' AND mode = 'operator'", [at, at]).fetchone()
    closed = db.execute("SELECT disposition, count(*) FROM survey_cases WHERE state = 'closed' GROUP BY disposition "
                        "ORDER BY count(*) DESC").fetchall()
    held = db.execute_returning_dicts(
        "SELECT c.id, c.claimed_until, u.email AS operator, n.name AS unit_name FROM survey_cases c "
        "JOIN users u ON u.id = c.claimed_by JOIN units n ON n.id = c.unit_id "
        "WHERE c.state = 'open' AND c.claimed_until > ? ORDER BY c.claimed_until", [at])
    today = dict(db.execute("SELECT mode, count(*) FROM survey_contacts WHERE at >= ? GROUP BY mode",
                            [local_day_bounds(local_today(now))[0]]).fetchall())
    automated = db.execute("SELECT count(*), sum(claimed_until > ?) FROM survey_cases "
                           "WHERE state = 'open' AND mode = 'automated'", [at]).fetchone()
    return {"open": row[0] or 0, "due": row[1] or 0, "appointments": row[2] or 0, "held": held,
            "closed": [{"disposition": d, "count": n} for d, n in closed], "contacts_today": today.get("operator", 0),
            "automated_open": automated[0] or 0, "automated_calling": automated[1] or 0,
            "automated_today": today.get("automated", 0)}
