"""Test-call attempts: created before anything is dialled, fed by provider events, ended with an outcome.

The package's public API, re-exported here so that `from monitor import attempts; attempts.finish(...)`
does not depend on which module holds what:
- store: the states, AttemptError, the write transaction, row reads (get_attempt, events, reviews);
- lifecycle: the one writer of the attempts table — create, claim, release, mark placed/unknown, finish, fold;
- evidence: fold_events, what the stored events of a call show (a pure function);
- follow_ups: which retest, confirmation, replacement or registry flag an outcome calls for;
- ingest (provider events, stored once), reconcile (ask the provider, never dial), review (inspectors);
- outcomes (classify a finished call) and redirects (detect "call another number").

Why any order of duplicated events gives the same final row: every event is stored once (UNIQUE dedupe_key),
and each new event re-derives the call's evidence and its outcome from the whole set of stored events —
never from the order they came in — and the follow-ups are re-synchronised with the outcome each time.
"""
from monitor.attempts.evidence import fold_events
from monitor.attempts.ingest import ingest_event
from monitor.attempts.lifecycle import (
    FINISH_FIELDS,
    create_attempt,
    finish,
    finish_rejected,
    mark_placed,
    mark_unknown,
    sync_follow_ups,
)
from monitor.attempts.reconcile import LOST_BEFORE_DIALLING, NO_FINAL_STATUS, explain_failure, reconcile
from monitor.attempts.review import review_outcome
from monitor.attempts.store import (
    EVENT_KINDS,
    PURPOSES,
    RANK,
    STATES,
    AttemptError,
    events,
    get_attempt,
    reviews,
    write_transaction,
)

__all__ = [
    "AttemptError", "create_attempt", "mark_placed", "mark_unknown", "finish", "finish_rejected", "ingest_event",
    "reconcile", "explain_failure", "get_attempt", "review_outcome", "sync_follow_ups", "reviews", "events", "fold_events", "STATES", "RANK",
    "PURPOSES", "EVENT_KINDS", "FINISH_FIELDS", "LOST_BEFORE_DIALLING", "NO_FINAL_STATUS", "write_transaction",
]
