"""Test-call attempts: created before anything is dialled, fed by provider events, ended with an outcome.

planned(0) → dialing(1) → unknown(2) → placed(3) → ringing(4) → answered(5) → ended(6); state_rank holds the
number and never goes down.

Why any order of duplicated events gives the same final row: every event is stored once (UNIQUE dedupe_key),
and each new event re-derives the call's evidence (times, status, AMD, transcript, SIP code…) and its outcome
from the whole set of stored events — never from the order they came in. Later evidence (an AMD result or a
transcript arriving after 'completed') therefore re-classifies the call, and the follow-up effects (retest,
confirmation, replacement, registry flag) are re-synchronised with the outcome each time, idempotently.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Mapping

try:
    import fcntl
except ImportError:  # not on POSIX: SQLite's own locking alone still keeps writes correct
    fcntl = None

from registry.clock import iso, parse_iso
from registry.units import flag_hotline

from monitor.attempts.outcomes import FAILURES, FINAL_STATUSES, OUTCOMES, classify

log = logging.getLogger(__name__)

STATES = ("planned", "dialing", "unknown", "placed", "ringing", "answered", "ended")
RANK = {state: rank for rank, state in enumerate(STATES)}
STATUS_RANK = {"queued": 3, "initiated": 3, "ringing": 4, "in-progress": 5, "answered": 5}
STATUS_RANK.update({status: 6 for status in FINAL_STATUSES})
PURPOSES = ("scheduled", "retest", "manual")
RETEST_OUTCOMES = ("no_answer", "busy", "unreachable", "machine", "redirected")
EVENT_KINDS = ("status", "amd", "gather", "recording", "reconcile", "sim")
GATHER_STEPS = {"greeting": 0, "answer": 1}
DEFAULT_RETEST_DELAY_MINUTES = 60
DEFAULT_REPLACE_DELAY_MINUTES = 15
DEFAULT_MAX_REPLACEMENTS = 3
LOST_BEFORE_DIALLING = "Mất trước khi quay số (nhà cung cấp không có cuộc gọi này): không tính cho đơn vị, sẽ gọi thay thế."
NO_FINAL_STATUS = "Nhà cung cấp không báo kết quả cuối cùng của cuộc gọi: không tính cho đơn vị, sẽ gọi thay thế."
# Columns finish() and reviews may set besides the outcome.
FINISH_FIELDS = {
    "error", "call_status", "sip_code", "q850_cause", "duration_seconds", "answered_by", "transcript",
    "recording_url", "call_sid", "provider", "forwarded_from",
}


# The columns _after_final() reads besides identity: a fold that changes none of them needs no follow-up sync.
FOLLOW_UP_INPUTS = {"outcome", "ended_at", "sip_code", "outcome_detail", "state"}


class AttemptError(Exception):
    """A request about an attempt that cannot be honoured (unknown id, bad outcome…); .message is Vietnamese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------- helpers


_PROCESS_WRITER = threading.Lock()
_LOCK_FILES: dict[str, int] = {}


def _lock_file(db) -> int | None:
    """A file descriptor to flock beside the database file (None for in-memory databases or no fcntl)."""
    if fcntl is None:
        return None
    path = getattr(db, "_attempts_db_path", None)
    if path is None:
        path = db._attempts_db_path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    if not path:
        return None
    key = f"{os.getpid()}:{path}"  # a forked worker opens its own: an inherited descriptor would not exclude
    fd = _LOCK_FILES.get(key)
    if fd is None:
        try:
            fd = _LOCK_FILES[key] = os.open(path + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # read-only directory: SQLite's own locking is enough for correctness
            _LOCK_FILES[key] = -1
            return None
    return fd if fd >= 0 else None


def _dicts(db, sql: str, params=()) -> list[dict]:
    """Rows as dicts, straight from the connection (no savepoint around a plain read, unlike sqlite-utils)."""
    cursor = db.conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


@contextmanager
def _write(db):
    """A write transaction taken at once (BEGIN IMMEDIATE), or a savepoint inside the caller's transaction.

    IMMEDIATE because a read-then-write transaction in WAL mode fails at once with SQLITE_BUSY when another
    process wrote in between; taking the write lock first makes it wait instead.
    Writers of attempts first queue on a thread lock and an flock (web workers, scheduler): a blocked
    writer is woken the moment the lock is free, where SQLite's busy handler would sleep 1, 2, 5, 10… ms
    between tries — under a burst of callbacks that sleeping, not the work, was most of the latency.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    with _PROCESS_WRITER:
        fd = _lock_file(db)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.conn.in_transaction:
                    db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)


def _setting(config: Mapping | None, key: str, default):
    value = (config or {}).get(key, default)
    return default if value in (None, "") else value


def _row(db, attempt_id) -> dict:
    rows = _dicts(db, "SELECT * FROM attempts WHERE id = ?", [attempt_id])
    if not rows:
        raise AttemptError(f"Không có lần gọi kiểm tra số {attempt_id}.")
    return rows[0]


def _update(db, attempt_id, fields: dict) -> None:
    if fields:
        sets = ", ".join(f"{key} = ?" for key in fields)
        db.execute(f"UPDATE attempts SET {sets} WHERE id = ?", [*fields.values(), attempt_id])


def _sid_free(db, call_sid: str, attempt_id: int) -> bool:
    return not db.execute("SELECT 1 FROM attempts WHERE call_sid = ? AND id != ?", [call_sid, attempt_id]).fetchone()


# Error codes of refusals that a replacement attempt would only repeat.
NOT_REPLACED = ("demo_number", "no_hotline")

# Other modules that write attempts (dispatch) queue on the same locks.
write_transaction = _write


def get_attempt(db, attempt_id) -> dict:
    """The attempt row with its unit's code and name and the unit's current hotline (is_demo 1 if none)."""
    rows = db.execute_returning_dicts(
        """SELECT a.*, u.code AS unit_code, u.name AS unit_name,
                  h.number AS registered_number, COALESCE(h.is_demo, 1) AS is_demo
           FROM attempts a JOIN units u ON u.id = a.unit_id LEFT JOIN hotlines h ON h.unit_id = a.unit_id
           WHERE a.id = ?""",
        [attempt_id],
    )
    if not rows:
        raise AttemptError(f"Không có lần gọi kiểm tra số {attempt_id}.")
    return rows[0]


# ------------------------------------------------------------------------------------------- lifecycle


def create_attempt(
    db, *, unit_id, number, planned_at: datetime, band: str, purpose="scheduled", retest_of=None,
    plan_key=None, now: datetime,
) -> int:
    """Insert a planned attempt; with a plan_key already used, return that attempt's id instead."""
    if purpose not in PURPOSES:
        raise AttemptError(f"Mục đích cuộc gọi “{purpose}” không hợp lệ.")
    if not number or not band:
        raise AttemptError("Lần gọi kiểm tra phải có số điện thoại và khung giờ.")
    cur = db.execute(
        """INSERT INTO attempts (unit_id, number, planned_at, band, purpose, retest_of, plan_key, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(plan_key) DO NOTHING""",
        [unit_id, number, iso(planned_at), band, purpose, retest_of, plan_key, iso(now)],
    )
    if cur.rowcount:
        return cur.lastrowid
    return db.execute("SELECT id FROM attempts WHERE plan_key = ?", [plan_key]).fetchone()[0]


def mark_placed(db, attempt_id, call_sid: str, provider: str, now) -> None:
    """The provider accepted the call: dialing|unknown → placed (only fills blanks if already further)."""
    with _write(db):
        row = _row(db, attempt_id)
        fields = {}
        if row["call_sid"] is None and call_sid and _sid_free(db, call_sid, attempt_id):
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
    with _write(db):
        row = _row(db, attempt_id)
        if row["state"] == "dialing":
            _update(db, attempt_id, {"state": "unknown", "state_rank": RANK["unknown"], "error": error,
                                     "lease_owner": None, "lease_expires_at": None})


def finish(db, attempt_id, outcome: str, detail: str, now, *, config=None, **fields) -> bool:
    """Force a final outcome (e.g. provider_error); no-op if already ended; True if it ended it now."""
    if outcome not in OUTCOMES:
        raise AttemptError(f"Kết quả “{outcome}” không hợp lệ.")
    unknown = set(fields) - FINISH_FIELDS
    if unknown:
        raise AttemptError("Không ghi được các trường: " + ", ".join(sorted(unknown)) + ".")
    with _write(db):
        row = _row(db, attempt_id)
        if row["state"] == "ended":
            return False
        values = dict(fields)
        if values.get("call_sid") and not _sid_free(db, values["call_sid"], attempt_id):
            values.pop("call_sid")
        values.update(state="ended", state_rank=RANK["ended"], outcome=outcome, outcome_detail=detail or "",
                      ended_at=iso(now), lease_owner=None, lease_expires_at=None)
        _update(db, attempt_id, values)
        _after_final(db, _row(db, attempt_id), now, config)
        return True


def finish_rejected(db, attempt_id, error, now, *, config=None) -> bool:
    """End an attempt the provider refused at create (ProviderRejected) as provider_error, never charged.

    When the refusal is about the number itself (not our side), the registry entry is flagged too.
    """
    code = getattr(error, "code", "")
    message = getattr(error, "message", str(error))
    with _write(db):
        ended = finish(db, attempt_id, "provider_error", message, now, config=config, error=f"{code}: {message}")
        if ended and not getattr(error, "our_side", True):
            row = _row(db, attempt_id)
            _flag_if_current(db, row, f"Lần gọi kiểm tra #{attempt_id}: nhà cung cấp từ chối số này ({code}). {message}", now)
    return ended


# ---------------------------------------------------------------------------------------------- events


def ingest_event(db, attempt_id: int, params: dict, *, kind: str, dedupe_key: str, now, config=None) -> bool:
    """Store a provider event once and fold it into the attempt; False for a duplicate."""
    if kind not in EVENT_KINDS:
        raise AttemptError(f"Loại sự kiện “{kind}” không hợp lệ.")
    if not dedupe_key:
        raise AttemptError("Sự kiện thiếu khóa chống trùng.")
    params = {str(k): ("" if v is None else str(v)) for k, v in dict(params).items()}
    sequence = params.get("SequenceNumber")
    with _write(db):
        row = _row(db, attempt_id)
        cur = db.execute(
            """INSERT INTO call_events (attempt_id, dedupe_key, kind, call_status, sequence, received_at, payload)
               VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING""",
            [attempt_id, dedupe_key, kind, params.get("CallStatus") or None,
             int(sequence) if sequence and sequence.isdigit() else None, iso(now),
             json.dumps(params, ensure_ascii=False, sort_keys=True)],
        )
        if not cur.rowcount:
            return False
        _fold(db, row, now, config)
    return True


def _event_time(event: dict) -> datetime:
    """When the event happened: its Twilio Timestamp (RFC 2822) if readable, else when we received it."""
    stamp = event["params"].get("Timestamp")
    if stamp:
        try:
            return parse_iso(iso(parsedate_to_datetime(stamp)))
        except (TypeError, ValueError, IndexError):
            pass
    return parse_iso(event["received_at"])


def _status_order(event: dict):
    """Deterministic order of status evidence: provider callbacks before our own reconcile reads."""
    seq = event["sequence"] if event["sequence"] is not None else -1
    return (event["kind"] != "status", -seq, event["dedupe_key"])


def fold_events(row: dict, events: list[dict]) -> dict:
    """The attempt's evidence columns derived from its stored events (a pure function of the set)."""
    for event in events:
        if "params" not in event:
            event["params"] = json.loads(event["payload"])
    status_events = sorted((e for e in events if e["kind"] in ("status", "reconcile", "sim") and e["call_status"]),
                           key=_status_order)
    rank = row["state_rank"]
    first = {}
    for event in status_events:
        status = event["call_status"]
        rank = max(rank, STATUS_RANK.get(status, 0))
        when = _event_time(event)
        key = "answered" if status in ("in-progress", "answered") else status
        if key not in first or when < first[key]:
            first[key] = when
    amd = sorted((e for e in events if e["kind"] == "amd"), key=lambda e: e["dedupe_key"])
    gathers = sorted((e for e in events if e["kind"] == "gather"),
                     key=lambda e: (GATHER_STEPS.get(e["params"].get("GatherStep", ""), 2), e["dedupe_key"]))
    recordings = sorted((e for e in events if e["kind"] == "recording"), key=lambda e: e["dedupe_key"])
    if amd or gathers or recordings:
        rank = max(rank, RANK["answered"])  # these only exist for a call that was picked up

    out = {"state_rank": rank}
    if row["call_sid"] is None:
        sids = [e["params"].get("CallSid") for e in status_events + amd + gathers if e["params"].get("CallSid")]
        out["call_sid"] = sids[0] if sids else None
    placed = first.get("initiated") or first.get("queued")
    out["placed_at"] = row["placed_at"] or (iso(placed) if placed else None)
    out["ringing_at"] = iso(first["ringing"]) if "ringing" in first else None
    answered_at = first.get("answered")

    finals = [e for e in status_events if e["call_status"] in FINAL_STATUSES]
    final = finals[0] if finals else None
    signalled = [e["params"] for e in status_events]
    sip = next((p["SipResponseCode"] for p in ([final["params"]] if final else []) + signalled
                if p.get("SipResponseCode", "").isdigit()), None)
    q850 = next((p["Q850Cause"] for p in signalled if p.get("Q850Cause", "").isdigit()), None)
    out["sip_code"] = int(sip) if sip else row["sip_code"]
    out["q850_cause"] = int(q850) if q850 else row["q850_cause"]
    out["forwarded_from"] = next((p["ForwardedFrom"] for p in signalled if p.get("ForwardedFrom")), row["forwarded_from"])
    if final:
        ended_at = _event_time(final)
        duration = final["params"].get("CallDuration", "")
        out["call_status"] = final["call_status"]
        out["ended_at"] = iso(ended_at)
        out["duration_seconds"] = int(duration) if duration.isdigit() else None
        if answered_at is None and final["call_status"] == "completed" and duration.isdigit():
            answered_at = ended_at - timedelta(seconds=int(duration))
    out["answered_at"] = iso(answered_at) if answered_at else None
    answered_by = [e["params"].get("AnsweredBy") for e in amd] + [p.get("AnsweredBy") for p in signalled]
    out["answered_by"] = next((a for a in answered_by if a), row["answered_by"])
    heard = [e["params"].get("SpeechResult", "").strip() for e in gathers]
    heard = [text for text in heard if text]
    out["transcript"] = " | ".join(heard) if heard else row["transcript"]
    confidences = [float(e["params"]["Confidence"]) for e in gathers
                   if re.fullmatch(r"\d+(\.\d+)?", e["params"].get("Confidence", ""))]
    out["speech_confidence"] = min(confidences) if confidences else row["speech_confidence"]
    urls = [e["params"].get("RecordingUrl") for e in recordings
            if e["params"].get("RecordingStatus", "completed") == "completed"]
    urls += [p.get("RecordingUrl") for p in signalled]
    out["recording_url"] = next((u for u in urls if u), row["recording_url"])
    start = out["ringing_at"] or out["placed_at"]
    if answered_at and start:
        out["answer_seconds"] = round(max(0.0, (answered_at - parse_iso(start)).total_seconds()), 1)
    else:
        out["answer_seconds"] = None
    out["_final"] = final is not None
    return out


def _fold(db, row: dict, now, config) -> None:
    """Re-derive the attempt from all its events, re-classify when the call is over, sync the effects."""
    events = _dicts(
        db, "SELECT kind, dedupe_key, call_status, sequence, received_at, payload FROM call_events WHERE attempt_id = ?",
        [row["id"]],
    )
    derived = fold_events(row, events)
    has_final = derived.pop("_final")
    if derived.get("call_sid") and not _sid_free(db, derived["call_sid"], row["id"]):
        derived.pop("call_sid")
    if "call_sid" in derived and derived["call_sid"] is None:
        derived.pop("call_sid")
    merged = {**row, **derived}
    if has_final:
        outcome, detail = classify(merged, row["number"])
        merged["state_rank"] = RANK["ended"]
        if row["original_outcome"] is not None:
            derived.update(original_outcome=outcome, outcome_detail=detail)  # an inspector's decision stands
        else:
            derived.update(outcome=outcome, outcome_detail=detail)
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
    if derived["state"] == "ended" and (row["state"] != "ended" or changed.keys() & FOLLOW_UP_INPUTS):
        _after_final(db, {**row, **changed}, now, config)


# --------------------------------------------------------------------------------------------- effects


def _drop_planned(db, plan_key: str) -> None:
    """Remove a follow-up attempt that is no longer needed, only if nothing has happened to it yet."""
    db.execute(
        """DELETE FROM attempts WHERE plan_key = ? AND state = 'planned' AND lease_owner IS NULL
           AND NOT EXISTS (SELECT 1 FROM call_events e WHERE e.attempt_id = attempts.id)
           AND NOT EXISTS (SELECT 1 FROM attempts r WHERE r.retest_of = attempts.id)""",
        [plan_key],
    )


def _replacement_depth(db, row: dict) -> int:
    """How many replacements lead to this attempt ('replace:<id>' chains)."""
    depth, key = 0, row["plan_key"] or ""
    while key.startswith("replace:") and depth < 100:
        depth += 1
        parent = db.execute("SELECT plan_key FROM attempts WHERE id = ?", [int(key.split(":", 1)[1])]).fetchone()
        key = (parent[0] if parent else "") or ""
    return depth


def _flag_if_current(db, row: dict, reason: str, now) -> None:
    """Flag the unit's hotline, unless its number changed since this attempt dialled it."""
    current = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [row["unit_id"]]).fetchone()
    if current and current[0] == row["number"]:
        flag_hotline(db, row["unit_id"], reason, now=now)


def _sync_confirmed(db, original_id) -> None:
    """Set an original attempt's confirmed from its latest ended retest that was not a provider_error."""
    if not original_id:
        return
    original = db.execute("SELECT outcome, confirmed FROM attempts WHERE id = ?", [original_id]).fetchone()
    if not original:
        return
    confirmed = None
    if original[0] in FAILURES:
        retest = db.execute(
            """SELECT outcome FROM attempts WHERE retest_of = ? AND purpose = 'retest' AND state = 'ended'
               AND outcome != 'provider_error' ORDER BY ended_at DESC, id DESC LIMIT 1""",
            [original_id],
        ).fetchone()
        if retest:
            confirmed = 1 if retest[0] in FAILURES else 0
    if original[1] != confirmed:
        _update(db, original_id, {"confirmed": confirmed})


def _after_final(db, row: dict, now, config) -> None:
    """Bring the follow-ups in line with the attempt's current outcome; safe to run any number of times.

    - a failure on a non-retest → a retest after RETEST_DELAY_MINUTES (dropped again if the outcome changes);
    - a retest's result → the original's confirmed (1 failed again, 0 passed; provider_error decides nothing);
    - provider_error → confirmed NULL and, for scheduled tests and retests, a replacement so no test is lost;
    - unreachable → the registry entry is flagged (with the SIP code).
    """
    outcome, attempt_id = row["outcome"], row["id"]
    ended = parse_iso(row["ended_at"]) if row["ended_at"] else now
    if row["purpose"] != "retest":
        key = f"retest:{attempt_id}"
        if outcome in RETEST_OUTCOMES:
            delay = float(_setting(config, "RETEST_DELAY_MINUTES", DEFAULT_RETEST_DELAY_MINUTES))
            create_attempt(db, unit_id=row["unit_id"], number=row["number"], planned_at=ended + timedelta(minutes=delay),
                           band=row["band"], purpose="retest", retest_of=attempt_id, plan_key=key, now=now)
        else:
            _drop_planned(db, key)
    _sync_confirmed(db, row["retest_of"] if row["purpose"] == "retest" else attempt_id)
    replace_key = f"replace:{attempt_id}"
    # A refusal that would recur identically (a demo number, a unit without a number) is not replaced.
    recurring = (row["error"] or "").split(":", 1)[0] in NOT_REPLACED
    if outcome == "provider_error" and not recurring:
        limit = int(_setting(config, "MAX_REPLACEMENTS", DEFAULT_MAX_REPLACEMENTS))
        if row["purpose"] in ("scheduled", "retest") and _replacement_depth(db, row) < limit:
            delay = float(_setting(config, "REPLACE_DELAY_MINUTES", DEFAULT_REPLACE_DELAY_MINUTES))
            create_attempt(db, unit_id=row["unit_id"], number=row["number"], planned_at=ended + timedelta(minutes=delay),
                           band=row["band"], purpose=row["purpose"], retest_of=row["retest_of"], plan_key=replace_key,
                           now=now)
    else:
        _drop_planned(db, replace_key)
    if outcome == "unreachable":
        code = f" (SIP {row['sip_code']})" if row["sip_code"] else ""
        _flag_if_current(db, row, f"Lần gọi kiểm tra #{attempt_id}: không liên lạc được{code}. {row['outcome_detail']}", now)


# ------------------------------------------------------------------------------------------- reconcile


def reconcile(db, attempt: dict, provider, now, config=None) -> str:
    """Settle an attempt whose fate is unknown by asking the provider; returns the new state.

    For attempts stuck in dialing (expired lease) or unknown (create timed out), and for placed/ringing/answered
    ones that never got a final status. Found → placed (and its final status folded in, if any); not found →
    provider_error, never charged to the unit, with a replacement planned. Never dials.
    """
    from monitor.providers.base import ProviderTimeout, ProviderUnavailable

    row = get_attempt(db, attempt["id"])
    if row["state"] in ("ended", "planned"):
        return row["state"]
    try:
        found = provider.find_call({**attempt, **row})
    except (ProviderTimeout, ProviderUnavailable) as exc:
        log.warning("reconcile of attempt %s postponed: %s", row["id"], exc)
        return row["state"]
    if found and found.get("sid") and not _sid_free(db, found["sid"], row["id"]):
        found = None  # that call belongs to another attempt
    if found and found.get("sid"):
        mark_placed(db, row["id"], found["sid"], provider.name, now)
        status = found.get("status")
        if status:
            params = {"CallSid": found["sid"], "CallStatus": status}
            for key, name in (("duration", "CallDuration"), ("sip_code", "SipResponseCode"),
                              ("answered_by", "AnsweredBy"), ("timestamp", "Timestamp")):
                if found.get(key) not in (None, ""):
                    params[name] = str(found[key])
            ingest_event(db, row["id"], params, kind="reconcile", dedupe_key=f"reconcile:{found['sid']}:{status}",
                         now=now, config=config)
    elif row["state"] in ("dialing", "unknown"):
        finish(db, row["id"], "provider_error", LOST_BEFORE_DIALLING, now, config=config,
               error=row["error"] or "reconcile: not found")
    else:
        finish(db, row["id"], "provider_error", NO_FINAL_STATUS, now, config=config, error="reconcile: no final status")
    return _row(db, row["id"])["state"]


# --------------------------------------------------------------------------------------------- reviews


def review_outcome(db, attempt_id, new_outcome: str, reason: str, *, user_id, now, config=None) -> None:
    """An inspector overrides an ended attempt's outcome with a reason; history is kept, the original too."""
    if new_outcome not in OUTCOMES:
        raise AttemptError(f"Kết quả “{new_outcome}” không hợp lệ.")
    if not (reason or "").strip():
        raise AttemptError("Hãy ghi lý do thay đổi kết quả.")
    with _write(db):
        row = _row(db, attempt_id)
        if row["state"] != "ended":
            raise AttemptError("Chỉ xem xét được lần gọi đã kết thúc.")
        db.execute(
            "INSERT INTO outcome_reviews (attempt_id, at, user_id, old_outcome, new_outcome, reason) VALUES (?,?,?,?,?,?)",
            [attempt_id, iso(now), user_id, row["outcome"], new_outcome, reason.strip()],
        )
        original = row["original_outcome"] or row["outcome"]
        _update(db, attempt_id, {"outcome": new_outcome, "original_outcome": original})
        _after_final(db, _row(db, attempt_id), now, config)


def sync_follow_ups(db, attempt_id, now, config=None) -> None:
    """Re-align an ended attempt's retest, confirmation, replacement and flag with its outcome (after an override)."""
    with _write(db):
        row = _row(db, attempt_id)
        if row["state"] == "ended":
            _after_final(db, row, now, config)


def reviews(db, attempt_id) -> list[dict]:
    """An attempt's review history, newest first."""
    return db.execute_returning_dicts(
        "SELECT r.*, u.email AS user_email FROM outcome_reviews r LEFT JOIN users u ON u.id = r.user_id "
        "WHERE r.attempt_id = ? ORDER BY r.at DESC, r.id DESC",
        [attempt_id],
    )


def events(db, attempt_id) -> list[dict]:
    """An attempt's stored provider events in arrival order, payloads decoded."""
    rows = db.execute_returning_dicts(
        "SELECT * FROM call_events WHERE attempt_id = ? ORDER BY id", [attempt_id]
    )
    for row in rows:
        row["params"] = json.loads(row["payload"])
    return rows


__all__ = [
    "AttemptError", "create_attempt", "mark_placed", "mark_unknown", "finish", "finish_rejected", "ingest_event",
    "reconcile", "get_attempt", "review_outcome", "sync_follow_ups", "reviews", "events", "fold_events", "STATES", "RANK",
]
