"""An attempt's life: the one module that writes the attempts table, and so every change of its state.

planned ──claim (lease)──> dialing ──provider accepted──> placed ──> ringing ──> answered ──> ended
                              └─ create timed out or failed ──> unknown ──reconcile──> placed | ended
state_rank only goes up, with one exception: a claimed attempt whose create request the provider never took
(released at shutdown, or refused as unavailable) goes back to planned, since no call exists to lose.

Callers decide (the dispatcher: which attempt, under which limits; follow_ups: which retest or replacement)
and call these functions to write. Functions named after a move take the write transaction themselves;
the few used inside a caller's transaction (claim, push_planned, note_unavailable, back_to_planned, fold,
override_outcome) say so.
"""
from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext

from monitor.attempts import follow_ups
from monitor.attempts.evidence import fold_events
from monitor.attempts.follow_ups import SettingsLike
from monitor.attempts.outcomes import OUTCOMES, Classification, classify
from monitor.attempts.store import PURPOSES, RANK, STATES, AttemptError, sid_free, stored_events, write_transaction
from monitor.attempts.store import row as _row
from monitor.settings import Settings
from registry.clock import iso
from registry.hotlines import flag_hotline

log = logging.getLogger(__name__)

# The weekly plan's rows (unit_id, number, planned_at, band, plan_key, created_at), inserted in bulk.
INSERT_PLANNED_SQL = (
    "INSERT OR IGNORE INTO attempts (unit_id, number, planned_at, band, purpose, retest_of, plan_key, "
    "state, state_rank, outcome_detail, created_at) VALUES (?, ?, ?, ?, 'scheduled', NULL, ?, 'planned', 0, '', ?)"
)
# Columns finish() may set besides the outcome.
FINISH_FIELDS = {
    "error", "call_status", "sip_code", "q850_cause", "duration_seconds", "answered_by", "transcript",
    "recording_url", "call_sid", "provider", "forwarded_from",
}
_CLAIM_SQL = """UPDATE attempts SET state = 'dialing', state_rank = 1, lease_owner = ?, lease_expires_at = ?,
                       dial_requested_at = ?, number = ?
                WHERE id = ? AND state = 'planned'"""
_CLAIM_KEEPING_NUMBER_SQL = """UPDATE attempts SET state = 'dialing', state_rank = 1, lease_owner = ?, lease_expires_at = ?,
                                      dial_requested_at = ?
                               WHERE id = ? AND state = 'planned'"""


def _update(db, attempt_id, fields: dict) -> None:
    if fields:
        sets = ", ".join(f"{key} = ?" for key in fields)
        db.execute(f"UPDATE attempts SET {sets} WHERE id = ?", [*fields.values(), attempt_id])


# ---------------------------------------------------------------------------------------------- planned


def create_attempt(
    db, *, unit_id, number, planned_at: datetime, band: str, purpose="scheduled", retest_of=None,
    plan_key=None, now: datetime, survey_case_id: int | None = None,
) -> int:
    """Insert a planned attempt; with a plan_key already used, return that attempt's id instead.

    purpose 'survey' (an automated 1022 call, monitor/surveys/calls.py) dials a sampled citizen for the case
    survey_case_id; it is never a test of the unit's hotline."""
    if purpose not in PURPOSES:
        raise AttemptError(gettext("Mục đích cuộc gọi “%(purpose)s” không hợp lệ.", purpose=purpose))
    if not number or not band:
        raise AttemptError(gettext("Lần gọi kiểm tra phải có số điện thoại và khung giờ."))
    if (purpose == "survey") != (survey_case_id is not None):
        raise AttemptError(gettext("Cuộc gọi khảo sát phải gắn với đúng một phiếu khảo sát."))
    cur = db.execute(
        """INSERT INTO attempts (unit_id, number, planned_at, band, purpose, retest_of, plan_key, created_at,
                                 survey_case_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(plan_key) DO NOTHING""",
        [unit_id, number, iso(planned_at), band, purpose, retest_of, plan_key, iso(now), survey_case_id],
    )
    if cur.rowcount:
        return cur.lastrowid
    return db.execute("SELECT id FROM attempts WHERE plan_key = ?", [plan_key]).fetchone()[0]


def insert_planned(db, rows: list[tuple]) -> int:
    """Insert planned rows (INSERT_PLANNED_SQL's order) in one transaction, skipping plan keys already there.

    Returns how many were new. One executemany: a province's week is hundreds of thousands of rows.
    """
    before = db.conn.total_changes
    # A province-wide week is a few hundred thousand index entries: a bigger page cache for this one
    # transaction keeps the index B-trees in memory instead of spilling them.
    previous = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size = {min(previous, -65536)}")
    try:
        with write_transaction(db):
            db.conn.executemany(INSERT_PLANNED_SQL, rows)
    finally:
        db.execute(f"PRAGMA cache_size = {int(previous)}")
    return db.conn.total_changes - before


def push_planned(db, attempt_id: int, planned_at: datetime, band: str) -> None:
    """Move a planned attempt to a later time (and its band); inside the caller's write transaction."""
    db.execute("UPDATE attempts SET planned_at = ?, band = ? WHERE id = ? AND state = 'planned'",
               [iso(planned_at), band, attempt_id])


def _drop_planned(db, plan_key: str) -> None:
    """Remove a follow-up attempt that is no longer needed, only if nothing has happened to it yet."""
    db.execute(
        """DELETE FROM attempts WHERE plan_key = ? AND state = 'planned' AND lease_owner IS NULL
           AND NOT EXISTS (SELECT 1 FROM call_events e WHERE e.attempt_id = attempts.id)
           AND NOT EXISTS (SELECT 1 FROM attempts r WHERE r.retest_of = attempts.id)""",
        [plan_key],
    )


# ---------------------------------------------------------------------------------------------- dialing


def claim(db, attempt_id: int, *, owner: str, lease_until: str, requested_at: str, number: str | None = None) -> bool:
    """planned → dialing with a lease, inside the caller's write transaction; False if no longer planned.

    `number`, when given, is what will be dialled (the unit's hotline now), replacing the planned one.
    Times are ISO text (registry.clock.iso), formatted once by a caller claiming a whole batch: one UPDATE
    per attempt is all the claim costs.
    """
    if number is None:
        cur = db.execute(_CLAIM_KEEPING_NUMBER_SQL, [owner, lease_until, requested_at, attempt_id])
    else:
        cur = db.execute(_CLAIM_SQL, [owner, lease_until, requested_at, number, attempt_id])
    return bool(cur.rowcount)


def release(db, attempt_id: int, owner: str) -> bool:
    """Give a claimed attempt that was never sent back to planned (shutdown before its turn)."""
    with write_transaction(db):
        cur = db.execute(
            """UPDATE attempts SET state = 'planned', state_rank = 0, lease_owner = NULL, lease_expires_at = NULL,
                      dial_requested_at = NULL
               WHERE id = ? AND state = 'dialing' AND lease_owner = ?""",
            [attempt_id, owner],
        )
        return bool(cur.rowcount)


def note_unavailable(db, attempt_id: int, error: str) -> tuple[str | None, int]:
    """Count a create request the provider took nothing from (dial_tries, error); in the caller's transaction.

    Returns (state, dial_tries) as they are now: only a dialing attempt is counted; (None, 0) if there is none.
    """
    found = db.execute("SELECT state, dial_tries FROM attempts WHERE id = ?", [attempt_id]).fetchone()
    if not found or found[0] != "dialing":
        return (found[0], found[1]) if found else (None, 0)
    tries = found[1] + 1
    db.execute("UPDATE attempts SET dial_tries = ?, error = ? WHERE id = ?", [tries, error, attempt_id])
    return "dialing", tries


def back_to_planned(db, attempt_id: int, planned_at: datetime) -> None:
    """dialing → planned, due at `planned_at`: the only move back, for a create the provider never took."""
    db.execute(
        """UPDATE attempts SET state = 'planned', state_rank = 0, lease_owner = NULL, lease_expires_at = NULL,
                  dial_requested_at = NULL, planned_at = ?
           WHERE id = ? AND state = 'dialing'""",
        [iso(planned_at), attempt_id],
    )


def mark_placed(db, attempt_id, call_sid: str, provider: str, now) -> None:
    """The provider accepted the call: dialing|unknown → placed (only fills blanks if already further)."""
    with write_transaction(db):
        row = _row(db, attempt_id)
        fields = {}
        if row["call_sid"] is None and call_sid and sid_free(db, call_sid, attempt_id):
            fields["call_sid"] = call_sid
        elif row["call_sid"] and call_sid and row["call_sid"] != call_sid:
            log.warning("attempt %s: provider returned %s but events name %s", attempt_id, call_sid, row["call_sid"])
        if row["provider"] is None:
            fields["provider"] = provider
        if row["placed_at"] is None and row["state"] != "ended":
            fields["placed_at"] = iso(now)
        if row["state_rank"] < RANK["placed"]:
            fields.update(state="placed", state_rank=RANK["placed"], lease_owner=None, lease_expires_at=None)
        _update(db, attempt_id, fields)


def mark_unknown(db, attempt_id, error: str, now) -> None:
    """The create request timed out: dialing → unknown. Never redialled; reconcile() settles it."""
    with write_transaction(db):
        row = _row(db, attempt_id)
        if row["state"] == "dialing":
            _update(db, attempt_id, {"state": "unknown", "state_rank": RANK["unknown"], "error": error,
                                     "lease_owner": None, "lease_expires_at": None})


# ------------------------------------------------------------------------------------------------ ended


def finish(db, attempt_id, outcome: str, detail: str, now, *, settings: SettingsLike = None,
           config: SettingsLike = None, **fields) -> bool:
    """Force a final outcome (e.g. provider_error); no-op if already ended; True if it ended it now.

    `config` is the former name of `settings` (a config mapping is still read, see follow_ups.settings_of).
    """
    if outcome not in OUTCOMES:
        raise AttemptError(gettext("Kết quả “%(outcome)s” không hợp lệ.", outcome=outcome))
    unknown = set(fields) - FINISH_FIELDS
    if unknown:
        raise AttemptError(gettext("Không ghi được các trường: %(fields)s.", fields=", ".join(sorted(unknown))))
    settings = follow_ups.settings_of(settings, config)
    with write_transaction(db):
        row = _row(db, attempt_id)
        if row["state"] == "ended":
            return False
        values = dict(fields)
        if values.get("call_sid") and not sid_free(db, values["call_sid"], attempt_id):
            values.pop("call_sid")
        values.update(state="ended", state_rank=RANK["ended"], outcome=outcome, outcome_detail=detail or "",
                      outcome_basis="our_side" if outcome == "provider_error" else "signalling", outcome_certain=1,
                      ended_at=iso(now), lease_owner=None, lease_expires_at=None)
        _update(db, attempt_id, values)
        _follow_up(db, _row(db, attempt_id), now, settings)
        return True


def finish_rejected(db, attempt_id, error, now, *, settings: SettingsLike = None, config: SettingsLike = None) -> bool:
    """End an attempt the provider refused at create (ProviderRejected) as provider_error, never charged.

    When the refusal is about the number itself (not our side), the registry entry is flagged too.
    """
    code = getattr(error, "code", "")
    message = getattr(error, "message", str(error))
    settings = follow_ups.settings_of(settings, config)
    with write_transaction(db):
        ended = finish(db, attempt_id, "provider_error", message, now, settings=settings, error=f"{code}: {message}")
        if ended and not getattr(error, "our_side", True):
            row = _row(db, attempt_id)
            reason = follow_ups.rejection_flag(db, row, code, message)
            if reason:
                flag_hotline(db, row["unit_id"], reason, now=now)
    return ended


def fold(db, row: dict, now, settings: Settings) -> None:
    """Re-derive the attempt from all its events, re-classify when the call is over, sync the follow-ups.

    Inside the caller's write transaction (the one that stored the newest event).
    """
    derived = fold_events(row, stored_events(db, row["id"]))
    has_final = derived.pop("_final")
    if derived.get("call_sid") and not sid_free(db, derived["call_sid"], row["id"]):
        derived.pop("call_sid")
    if "call_sid" in derived and derived["call_sid"] is None:
        derived.pop("call_sid")
    merged = {**row, **derived}
    if has_final:
        found = classify(merged, row["number"])
        merged["state_rank"] = RANK["ended"]
        if row["original_outcome"] is not None:
            # an inspector's decision stands: the rules' new reading is kept as the original only
            derived.update(original_outcome=found.outcome, outcome_detail=found.detail)
        else:
            derived.update(outcome=found.outcome, outcome_detail=found.detail, outcome_basis=found.basis,
                           # A survey call is never held for an inspector: it judges no unit, and its case's
                           # disposition comes from the citizen's keys (monitor/surveys/keypad.py).
                           outcome_certain=1 if found.certain or row["purpose"] == "survey" else 0)
        derived["lease_owner"] = derived["lease_expires_at"] = None
    elif row["state"] == "ended":
        merged["state_rank"] = RANK["ended"]  # forced by finish(): kept until a final status says otherwise
    else:
        merged["state_rank"] = min(merged["state_rank"], RANK["answered"])
        derived.pop("ended_at", None)
    derived["state_rank"] = merged["state_rank"]
    derived["state"] = STATES[merged["state_rank"]]
    if derived["state_rank"] >= RANK["placed"] and row["state_rank"] < RANK["placed"]:
        derived["lease_owner"] = derived["lease_expires_at"] = None
    changed = {k: v for k, v in derived.items() if row.get(k) != v}
    _update(db, row["id"], changed)
    # Follow-ups depend only on these: when none moved, they are already in line (saves the hot path work).
    if derived["state"] == "ended" and (row["state"] != "ended" or changed.keys() & follow_ups.FOLLOW_UP_INPUTS):
        _follow_up(db, {**row, **changed}, now, settings)


def erase_number(db, attempt_id: int, masked: str) -> None:
    """A survey call's citizen number replaced by its masked form once the retention period is over
    (monitor/surveys/calls.erase_numbers); in the caller's transaction. Test calls are never erased: their
    number is a public hotline."""
    db.execute("UPDATE attempts SET number = ? WHERE id = ? AND purpose = 'survey'", [masked, attempt_id])


def override_outcome(db, row: dict, new_outcome: str, now, settings: Settings) -> None:
    """An inspector's outcome replaces the ended attempt's (the first one kept as original_outcome).

    Inside the caller's write transaction (the one that stores the review).
    """
    original = row["original_outcome"] or row["outcome"]
    _update(db, row["id"], {"outcome": new_outcome, "original_outcome": original, "outcome_basis": "inspector",
                            "outcome_certain": 1})
    _follow_up(db, _row(db, row["id"]), now, settings)


def reclassify(db, row: dict, found: Classification, now, settings: Settings) -> None:
    """The current rules' classification replaces an ended attempt's outcome, then the follow-ups are re-synced.

    Inside the caller's write transaction (the one that records the change in outcome_reviews). An outcome an
    inspector set is never replaced.
    """
    if row["state"] != "ended" or row["original_outcome"] is not None or row["outcome_basis"] == "inspector":
        raise AttemptError(gettext("Kết quả do thanh tra viên quyết định không được phân loại lại."))
    _update(db, row["id"], {"outcome": found.outcome, "outcome_detail": found.detail, "outcome_basis": found.basis,
                            "outcome_certain": 1 if found.certain else 0})
    _follow_up(db, _row(db, row["id"]), now, settings)


def sync_follow_ups(db, attempt_id, now, settings: SettingsLike = None, *, config: SettingsLike = None) -> None:
    """Re-align an ended attempt's retest, confirmation, replacement and flag with its outcome (after an override)."""
    settings = follow_ups.settings_of(settings, config)
    with write_transaction(db):
        row = _row(db, attempt_id)
        if row["state"] == "ended":
            _follow_up(db, row, now, settings)


def _follow_up(db, row: dict, now, settings: Settings) -> None:
    """Carry out the follow-ups the ended attempt's outcome calls for (see follow_ups.decide)."""
    plan = follow_ups.decide(db, row, now, settings)
    for arguments in plan.create:
        create_attempt(db, **arguments, now=now)
    for plan_key in plan.drop:
        _drop_planned(db, plan_key)
    if plan.confirmed is not None:
        original_id, confirmed = plan.confirmed
        _update(db, original_id, {"confirmed": confirmed})
    if plan.flag:
        flag_hotline(db, row["unit_id"], plan.flag, now=now)
