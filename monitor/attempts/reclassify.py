"""Re-running the current classification rules over stored, ended attempts (`monitor reclassify`).

Each attempt planned in the local date range is classified again from the evidence stored on it. A new outcome
or a new certainty is recorded in the attempt's history (outcome_reviews, no user, the rules' version in the
reason, monitor/attempts/review.py) and written through monitor/attempts/lifecycle.py, which re-runs the
follow-ups. Never changed:
- an outcome an inspector decided (original_outcome set, or basis `inspector`);
- an attempt with a dispute open or decided: the agency and the inspector argued about the outcome as it was
  (monitor/disputes.py; an accepted dispute takes it out of the metrics whatever its outcome);
- an attempt ended by our side without a final call status (a refused create, a lost call): there is no
  evidence to classify.
Survey calls are not read: these are the test calls' rules (store.TESTS_ONLY).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from monitor.attempts import review
from monitor.attempts.follow_ups import SettingsLike
from monitor.attempts.outcomes import FINAL_STATUSES, RULES_VERSION, classify
from monitor.attempts.store import TESTS_ONLY
from registry.clock import iso, local_midnight_utc

# Why an attempt was left as it was (the keys of Summary.skipped; their labels are in monitor/labels.py).
SKIPS = ("inspector", "dispute", "no_evidence")

# Ended attempts planned in [from, to), with what tells whether they may be classified again.
_SELECT = f"""
SELECT a.*,  -- everything classify() may read
       EXISTS (SELECT 1 FROM disputes d WHERE d.attempt_id = a.id) AS disputed
FROM attempts a
WHERE a.state = 'ended' AND a.planned_at >= ? AND a.planned_at < ? AND {TESTS_ONLY}
ORDER BY a.planned_at, a.id
"""


@dataclass
class Summary:
    """What a run did: how many attempts it read, changed (per old → new outcome), left alone and why."""

    version: str = RULES_VERSION
    read: int = 0
    unchanged: int = 0
    changed: Counter = field(default_factory=Counter)  # (old outcome, new outcome, held) → count
    skipped: Counter = field(default_factory=Counter)  # a SKIPS key → count
    changed_ids: list = field(default_factory=list)


def skip_reason(row: dict) -> str | None:
    """Why this ended attempt must keep its outcome (a SKIPS key), or None if the rules may change it."""
    if row["original_outcome"] is not None or row["outcome_basis"] == "inspector":
        return "inspector"
    if row["disputed"]:
        return "dispute"
    if row["call_status"] not in FINAL_STATUSES:
        return "no_evidence"
    return None


def reclassify(db, start: date, end: date, *, now, settings: SettingsLike = None, dry_run: bool = False) -> Summary:
    """Classify again every ended attempt planned from local date `start` to `end` (both included).

    With dry_run, nothing is written: the summary says what would change.
    """
    summary = Summary()
    rows = db.execute_returning_dicts(_SELECT, [iso(local_midnight_utc(start)), iso(local_midnight_utc(end + timedelta(days=1)))])
    for row in rows:
        summary.read += 1
        why = skip_reason(row)
        if why:
            summary.skipped[why] += 1
            continue
        found = classify(row, row["number"])
        certain = 1 if found.certain else 0
        if found.outcome == row["outcome"] and certain == row["outcome_certain"]:
            summary.unchanged += 1
            continue
        if not dry_run and not review.record_reclassification(db, row["id"], found, version=summary.version,
                                                              now=now, settings=settings):
            summary.unchanged += 1  # decided or changed by someone else since it was read
            continue
        summary.changed[(row["outcome"], found.outcome, not found.certain)] += 1
        summary.changed_ids.append(row["id"])
    return summary

