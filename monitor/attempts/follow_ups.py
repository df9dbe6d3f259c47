"""Which follow-ups an ended attempt's outcome calls for: a retest, the original's confirmation, a replacement,
a flag on the registry entry. Decided here from the database as it stands; monitor/attempts/lifecycle.py
carries them out, so that it stays the one writer of attempts.

Safe to decide any number of times: the answer depends only on the outcome and on what already exists, and
a follow-up the outcome no longer calls for is dropped again (only if nothing has happened to it yet).

A call held for review (outcome_certain = 0) calls for nothing until an inspector decides: no retest, no
replacement, no registry flag, and a held retest neither confirms nor clears its original. Why wait rather
than retest at once: the held call counts for nobody, so a retest would confirm nothing yet; the agency would
be dialled again for a failure that may never be one; and a retest is as likely to be half-heard as the call
it checks. The decision (monitor/attempts/review.py decide_held) re-runs decide(), which then plans exactly
what a certain outcome would have (a retest due at once if its time has passed).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.attempts.outcomes import FAILURES
from monitor.settings import Settings
from registry.clock import parse_iso

RETEST_OUTCOMES = ("no_answer", "busy", "unreachable", "machine", "redirected")
# Error codes of refusals that a replacement attempt would only repeat.
# dial_policy / emergency_number: a provider's dial policy refused the number (monitor/providers/base.py).
NOT_REPLACED = ("demo_number", "no_hotline", "dial_policy", "emergency_number")
# The columns a follow-up decision reads besides identity: a fold that changes none of them needs no new one.
FOLLOW_UP_INPUTS = {"outcome", "ended_at", "sip_code", "outcome_detail", "state", "outcome_certain"}

# What the functions of monitor/attempts take as `settings` (and under the former name `config`).
SettingsLike = Settings | Mapping | None
_DEFAULTS = Settings()
# Config names still accepted from a mapping (app.config) while callers move to Settings, and their types.
_FROM_CONFIG = (
    ("RETEST_DELAY_MINUTES", "retest_delay_minutes", float),
    ("REPLACE_DELAY_MINUTES", "replace_delay_minutes", float),
    ("MAX_REPLACEMENTS", "max_replacements", int),
)


def settings_of(settings: SettingsLike = None, config: SettingsLike = None) -> Settings:
    """The Settings follow-ups are decided with: `settings`, else `config`, else the defaults.

    Either may still be a config mapping (upper-case names, as in app.config): its values for the follow-up
    settings are read as they always were (no range check), the rest are the defaults.
    """
    given = settings if settings is not None else config
    if given is None:
        return _DEFAULTS
    if isinstance(given, Settings):
        return given
    changes = {}
    for key, name, kind in _FROM_CONFIG:
        value = given.get(key)
        if value not in (None, ""):
            changes[name] = kind(value)
    return _DEFAULTS.with_values(**changes) if changes else _DEFAULTS


@dataclass
class FollowUps:
    """What lifecycle must do so that the follow-ups match an attempt's outcome."""

    create: list[dict] = field(default_factory=list)  # create_attempt() arguments (plan_key makes it idempotent)
    drop: list[str] = field(default_factory=list)  # plan keys of planned follow-ups no longer called for
    confirmed: tuple[int, int | None] | None = None  # (original attempt id, its new `confirmed`)
    flag: str | None = None  # why the unit's hotline is flagged; only set when its number is still the one dialled


def decide(db, row: dict, now: datetime, settings: Settings) -> FollowUps:
    """The follow-ups an ended attempt (`row`) calls for.

    - a failure on a non-retest → a retest retest_delay_minutes after it ended (dropped if the outcome changes);
    - a retest's result → the original's confirmed (1 failed again, 0 passed; provider_error decides nothing);
    - provider_error → confirmed NULL and, for scheduled tests and retests, a replacement (at most
      max_replacements in a row) so that no test is lost, unless the refusal would only recur;
    - unreachable → the registry entry is flagged (with the SIP code).
    """
    plan = FollowUps()
    outcome, attempt_id = row["outcome"], row["id"]
    if row["purpose"] == "survey":
        # A call to a citizen tests nobody: no retest, no replacement, no flag on the unit's hotline. What it
        # does to its case (retry, close) is the survey's disposition rule (monitor/surveys/calls.py settles it).
        return plan
    if is_held(row):
        # held for review: everything waits for the inspector's decision (see the module docstring)
        plan.drop += [f"retest:{attempt_id}", f"replace:{attempt_id}"]
        plan.confirmed = _confirmation(db, row["retest_of"] if row["purpose"] == "retest" else attempt_id)
        return plan
    ended = parse_iso(row["ended_at"]) if row["ended_at"] else now
    if row["purpose"] != "retest":
        key = f"retest:{attempt_id}"
        if outcome in RETEST_OUTCOMES:
            plan.create.append(dict(
                unit_id=row["unit_id"], number=row["number"],
                planned_at=ended + timedelta(minutes=float(settings.retest_delay_minutes)),
                band=row["band"], purpose="retest", retest_of=attempt_id, plan_key=key))
        else:
            plan.drop.append(key)
    plan.confirmed = _confirmation(db, row["retest_of"] if row["purpose"] == "retest" else attempt_id)
    replace_key = f"replace:{attempt_id}"
    # A refusal that would recur identically (a demo number, a unit without a number) is not replaced.
    recurring = (row["error"] or "").split(":", 1)[0] in NOT_REPLACED
    if outcome == "provider_error" and not recurring:
        if row["purpose"] in ("scheduled", "retest") and _replacement_depth(db, row) < int(settings.max_replacements):
            plan.create.append(dict(
                unit_id=row["unit_id"], number=row["number"],
                planned_at=ended + timedelta(minutes=float(settings.replace_delay_minutes)),
                band=row["band"], purpose=row["purpose"], retest_of=row["retest_of"], plan_key=replace_key))
    else:
        plan.drop.append(replace_key)
    if outcome == "unreachable":
        code = f" (SIP {row['sip_code']})" if row["sip_code"] else ""
        plan.flag = flag_if_current(
            db, row, f"Lần gọi kiểm tra #{attempt_id}: không liên lạc được{code}. {row['outcome_detail']}")
    return plan


def is_held(row) -> bool:
    """True for an ended call held for review: counted for nobody until an inspector decides."""
    return row.get("state") == "ended" and row.get("outcome_certain") == 0


def rejection_flag(db, row: dict, code, message: str) -> str | None:
    """Why to flag the entry of a number the provider refused (None if the unit's number changed since)."""
    return flag_if_current(db, row, f"Lần gọi kiểm tra #{row['id']}: nhà cung cấp từ chối số này ({code}). {message}")


def flag_if_current(db, row: dict, reason: str) -> str | None:
    """`reason`, unless the unit's hotline number changed since this attempt dialled it."""
    current = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [row["unit_id"]]).fetchone()
    return reason if current and current[0] == row["number"] else None


def _replacement_depth(db, row: dict) -> int:
    """How many replacements lead to this attempt ('replace:<id>' chains)."""
    depth, key = 0, row["plan_key"] or ""
    while key.startswith("replace:") and depth < 100:
        depth += 1
        parent = db.execute("SELECT plan_key FROM attempts WHERE id = ?", [int(key.split(":", 1)[1])]).fetchone()
        key = (parent[0] if parent else "") or ""
    return depth


def _confirmation(db, original_id) -> tuple[int, int | None] | None:
    """(original id, confirmed) when an original's confirmed must change to match its latest ended retest.

    confirmed follows the latest ended retest that was not a provider_error; None when nothing changes.
    """
    if not original_id:
        return None
    original = db.execute("SELECT outcome, confirmed FROM attempts WHERE id = ?", [original_id]).fetchone()
    if not original:
        return None
    confirmed = None
    if original[0] in FAILURES:
        retest = db.execute(
            """SELECT outcome FROM attempts WHERE retest_of = ? AND purpose = 'retest' AND state = 'ended'
               AND outcome != 'provider_error' AND outcome_certain IS NOT 0
               ORDER BY ended_at DESC, id DESC LIMIT 1""",
            [original_id],
        ).fetchone()
        if retest:
            confirmed = 1 if retest[0] in FAILURES else 0
    return (original_id, confirmed) if original[1] != confirmed else None
