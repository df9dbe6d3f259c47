"""Provider events: each stored once (UNIQUE dedupe_key) in call_events, the one writer of that table, then folded.

Why any order of duplicated events gives the same final row: a duplicate is refused by its key, and folding
re-derives the attempt from the whole set of stored events (evidence.fold_events), never from their order.
"""
from __future__ import annotations

import json

from flask_babel import gettext

from monitor.attempts import follow_ups, lifecycle
from monitor.attempts.recording_links import keep_provider_links
from monitor.attempts.store import EVENT_KINDS, AttemptError, write_transaction
from monitor.attempts.store import row as _row
from registry.clock import iso


def ingest_event(db, attempt_id: int, params: dict, *, kind: str, dedupe_key: str, now,
                 settings: follow_ups.SettingsLike = None, config: follow_ups.SettingsLike = None) -> bool:
    """Store a provider event once and fold it into the attempt; False for a duplicate.

    `config` is the former name of `settings` (a config mapping is still read, see follow_ups.settings_of).
    """
    if kind not in EVENT_KINDS:
        raise AttemptError(gettext("Loại sự kiện “%(kind)s” không hợp lệ.", kind=kind))
    if not dedupe_key:
        raise AttemptError(gettext("Sự kiện thiếu khóa chống trùng."))
    settings = follow_ups.settings_of(settings, config)
    params = {str(k): ("" if v is None else str(v)) for k, v in dict(params).items()}
    params = keep_provider_links(params, settings.twilio_api_base_url)  # never a link inspectors click elsewhere
    sequence = params.get("SequenceNumber")
    with write_transaction(db):
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
        lifecycle.fold(db, row, now, settings)
    return True


def erase_digits(db, attempt_id: int, digits: str, masked: str) -> int:
    """Every value of the attempt's stored events that holds these digits (a survey call's citizen number, as
    "0912…" or "+84912…": give the digits after the leading 0) replaced by `masked`, past the retention period;
    in the caller's transaction. Returns the events changed."""
    changed = 0
    for event_id, payload in db.execute("SELECT id, payload FROM call_events WHERE attempt_id = ?",
                                        [attempt_id]).fetchall():
        params = json.loads(payload)
        kept = {key: (masked if digits and digits in "".join(ch for ch in value if ch.isdigit()) else value)
                for key, value in params.items()}
        if kept != params:
            db.execute("UPDATE call_events SET payload = ? WHERE id = ?",
                       [json.dumps(kept, ensure_ascii=False, sort_keys=True), event_id])
            changed += 1
    return changed
