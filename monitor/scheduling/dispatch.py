"""Dispatch: claim due attempts under the limits, dial them outside any transaction, recover what a crash left.

The order that makes a crash at any instant safe:
1. claim, in one transaction holding the write lock: planned → dialing with a lease, dial_requested_at and
   the number to dial (the unit's current hotline);
2. provider.place_call, outside any transaction;
3. mark_placed | mark_unknown (timed out) | finish_rejected (refused) | back to planned (provider unavailable:
   nothing was created, so nothing can be dialled twice).
A crash after 1 leaves 'dialing' with a lease; recover() hands it to attempts.reconcile once the lease has
expired, which asks the provider and never dials. A row leaves 'planned' only through 1, and only the
dispatcher that claimed it passes it to place_call, so two dispatchers never dial one test twice.
This module decides (which attempts, in what order, under which limits); the writes themselves are
functions of monitor/attempts/lifecycle.py, the one module that changes an attempt's state.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from monitor import attempts
from monitor.attempts import lifecycle
from monitor.providers.base import ProviderRejected, ProviderTimeout, ProviderUnavailable, dial_refusal
from monitor.scheduling.bands import classify
from monitor.scheduling.limits import Limits, next_allowed, room
from monitor.settings import Settings
from monitor.surveys import calls as survey_calls
from registry.clock import iso, parse_iso, utcnow

log = logging.getLogger(__name__)

DEMO_REFUSED = "Số mẫu (demo): không gọi thật"
NO_HOTLINE = "Đơn vị không còn số đường dây nóng: không gọi."
MAX_RETRY_BACKOFF_SECONDS = 900
# A failed call's error is asked for while it is this recent (the ended_at index bounds the search).
EXPLAIN_WITHIN = timedelta(days=1)


# ------------------------------------------------------------------------------------------------ claim


def claim_due(
    db, *, now: datetime, owner: str, limit: int, lease_seconds: float, settings: Settings = Settings(),
    real_provider: bool = False, rng: random.Random | None = None, stats: dict | None = None,
) -> list[dict]:
    """Move up to `limit` due planned attempts to dialing, in one transaction, within the limits.

    Returns the claimed attempts (attempts.get_attempt rows) to hand to place_call. On the way:
    - the number dialled is the unit's hotline now (attempts.number is updated if it changed since planning);
    - a number called less than MIN_GAP_MINUTES ago is not skipped but pushed later (band re-classified);
      manual calls by an inspector are exempt from the gap, not from the other limits;
    - with a provider that dials real numbers, a demo number ends as provider_error and is never claimed;
    - a unit left without a hotline ends as provider_error (never counted against anyone).
    `stats`, if given, receives counts: claimed, pushed, refused, room.
    """
    limits = Limits.from_settings(settings)
    rng = rng or random.Random()
    lease, stamp = iso(now + timedelta(seconds=lease_seconds)), iso(now)
    claimed: list[int] = []
    extensions: dict[int, str] = {}
    counts = {"claimed": 0, "pushed": 0, "refused": 0, "room": None}
    with attempts.write_transaction(db):
        free = room(db, limits, now)
        counts["room"] = free
        wanted = limit if free is None else min(limit, free)
        if wanted > 0:
            candidates = db.execute(
                """SELECT a.id, a.number, a.purpose, h.number, h.is_demo, h.extension
                   FROM attempts a LEFT JOIN hotlines h ON h.unit_id = a.unit_id
                   WHERE a.state = 'planned' AND a.planned_at <= ?
                   ORDER BY a.planned_at, a.id LIMIT ?""",
                [iso(now), wanted * 4 + 8],
            ).fetchall()
            this_batch: set[str] = set()
            for attempt_id, planned_number, purpose, current, is_demo, extension in candidates:
                if len(claimed) >= wanted:
                    break
                if purpose == "survey":  # a sampled citizen's number, dialled as planned (not the unit's hotline)
                    current, is_demo, extension = planned_number, 0, ""
                if current is None or (is_demo and real_provider):
                    code, detail = ("no_hotline", NO_HOTLINE) if current is None else ("demo_number", DEMO_REFUSED)
                    attempts.finish(db, attempt_id, "provider_error", detail, now, settings=settings,
                                    error=f"{code}: {detail}")
                    counts["refused"] += 1
                    continue
                if purpose != "manual" and limits.min_gap:
                    later = (now + limits.min_gap if current in this_batch
                             else next_allowed(db, current, limits, now, exclude_id=attempt_id))
                    if later is not None:
                        _push(db, attempt_id, later, limits.min_gap, rng)
                        counts["pushed"] += 1
                        continue
                if lifecycle.claim(db, attempt_id, owner=owner, lease_until=lease, requested_at=stamp, number=current):
                    claimed.append(attempt_id)
                    this_batch.add(current)
                    extensions[attempt_id] = extension or ""
        # The extension (keyed in after connect) goes to the provider with the attempt; it is the hotline's.
        rows = [{**attempts.get_attempt(db, attempt_id), "extension": extensions[attempt_id]} for attempt_id in claimed]
        for row in rows:  # a survey call carries what it says (the simulator plays a citizen answering it)
            if row["purpose"] == "survey":  # the unit's hotline being a demo number says nothing of the citizen's
                row.update(survey=survey_calls.script(db, row["id"]), is_demo=0)
    counts["claimed"] = len(rows)
    if stats is not None:
        stats.update(counts)
    return rows


def _push(db, attempt_id: int, earliest: datetime, gap: timedelta, rng: random.Random) -> None:
    """Move a planned attempt to just after the number's quiet gap, at a random second (not a fixed offset)."""
    jitter = rng.uniform(0, min(gap.total_seconds() / 10, 600))
    at = earliest + timedelta(seconds=jitter)
    lifecycle.push_planned(db, attempt_id, at, classify(at))


def release(db, attempt_id: int, owner: str) -> bool:
    """Give a claimed attempt that was never sent back to planned (shutdown before its turn)."""
    return lifecycle.release(db, attempt_id, owner)


def next_due(db) -> datetime | None:
    """When the earliest planned attempt is due."""
    row = db.execute("SELECT MIN(planned_at) FROM attempts WHERE state = 'planned'").fetchone()
    return parse_iso(row[0]) if row and row[0] else None


# ------------------------------------------------------------------------------------------------- dial


def place(provider, attempt: dict) -> tuple[str | None, Exception | None]:
    """The create request alone, touching no database: (sid, None) or (None, the exception it raised).

    The dial policy comes first, whatever the provider: an emergency number, or a kind of number the provider
    cannot reach, is refused without any request (ProviderRejected: provider_error with the reason, never
    counted, never replaced).
    """
    refusal = dial_refusal(provider, attempt["number"])
    if refusal is not None:
        return None, refusal
    try:
        return provider.place_call(attempt), None
    except Exception as exc:
        return None, exc


def record(db, provider, attempt: dict, sid: str | None, error: Exception | None, *,
           settings: Settings = Settings(), now: Callable[[], datetime] = utcnow) -> str:
    """Write what the create request gave; returns what happened.

    'placed' | 'unknown' (timed out or failed in an unknown way: reconciled later, never redialled) |
    'rejected' (provider_error) | 'retry' (provider unavailable, back to planned) | 'failed' (too many tries).
    """
    attempt_id = attempt["id"]
    if error is None:
        attempts.mark_placed(db, attempt_id, sid, provider.name, now())
        return "placed"
    if isinstance(error, ProviderRejected):
        attempts.finish_rejected(db, attempt_id, error, now(), settings=settings)
        return "rejected"
    if isinstance(error, ProviderTimeout):
        attempts.mark_unknown(db, attempt_id, f"timeout: {error}", now())
        return "unknown"
    if isinstance(error, ProviderUnavailable):
        return retry_later(db, attempt_id, str(error), now(), settings)
    # Anything else: we cannot tell whether the call exists, so the safe reading is "unknown".
    log.error("place_call failed for attempt %s: %r", attempt_id, error)
    attempts.mark_unknown(db, attempt_id, f"{error.__class__.__name__}: {error}", now())
    return "unknown"


def dial(db, provider, attempt: dict, *, settings: Settings = Settings(),
         now: Callable[[], datetime] = utcnow) -> str:
    """Ask the provider for one claimed attempt's call and record what came back (see record())."""
    sid, error = place(provider, attempt)
    return record(db, provider, attempt, sid, error, settings=settings, now=now)


def retry_later(db, attempt_id: int, error: str, now: datetime, settings: Settings = Settings()) -> str:
    """The provider took nothing (429/5xx after its retries): back to planned with a back-off, or give up.

    The only move back in the state order, allowed because no call was created. dial_tries counts them;
    after PROVIDER_RETRY_LIMIT the test ends as provider_error (our side, never counted against the unit).
    """
    limit, base = settings.provider_retry_limit, settings.provider_retry_backoff_seconds
    with attempts.write_transaction(db):
        state, tries = lifecycle.note_unavailable(db, attempt_id, error)
        if state != "dialing":
            return state or "missing"
        if tries >= limit:
            attempts.finish(db, attempt_id, "provider_error",
                            f"Nhà cung cấp cuộc gọi không nhận yêu cầu sau {tries} lần thử: {error}", now,
                            settings=settings, error=error)
            return "failed"
        delay = min(base * 2 ** (tries - 1), MAX_RETRY_BACKOFF_SECONDS)
        lifecycle.back_to_planned(db, attempt_id, now + timedelta(seconds=delay))
    return "retry"


# ---------------------------------------------------------------------------------------------- recover


def recover(db, provider, now: datetime, settings: Settings = Settings(), *, skip=frozenset()) -> dict[str, int]:
    """Settle what a crash or a lost callback left behind, through attempts.reconcile; never dials.

    - dialing with an expired lease (the process that claimed it died, maybe mid-request);
    - unknown (a create that timed out) older than RECONCILE_AFTER_SECONDS;
    - placed/ringing/answered with no final status STALE_CALL_SECONDS after the dial request (lost
      callbacks, or the simulator of a process that died). Our own clock, not the provider's event times.
    `skip`: attempts this process is dialling right now. Returns counts of the resulting states.
    """
    grace, stale = settings.reconcile_after_seconds, settings.stale_call_seconds
    # Three queries rather than one with OR, so each walks the (state, planned_at) index, not the whole table.
    ids = sorted({row[0] for sql, params in (
        ("SELECT id FROM attempts WHERE state = 'dialing' AND (lease_expires_at IS NULL OR lease_expires_at < ?)",
         [iso(now)]),
        ("SELECT id FROM attempts WHERE state = 'unknown' AND (dial_requested_at IS NULL OR dial_requested_at < ?)",
         [iso(now - timedelta(seconds=grace))]),
        ("SELECT id FROM attempts WHERE state IN ('placed', 'ringing', 'answered') "
         "AND COALESCE(dial_requested_at, placed_at, created_at) < ?", [iso(now - timedelta(seconds=stale))]),
    ) for row in db.execute(sql, params)})
    counts: dict[str, int] = {}
    for attempt_id in ids:
        if attempt_id in skip:
            continue
        try:
            state = attempts.reconcile(db, attempts.get_attempt(db, attempt_id), provider, now, settings)
        except Exception:  # one bad row must not stop the others from being settled
            log.exception("reconcile failed for attempt %s", attempt_id)
            state = "error"
        counts[state] = counts.get(state, 0) + 1
    if hasattr(provider, "call_error"):
        explain_failures(db, provider, now, settings, counts)
    return counts


def explain_failures(db, provider, now: datetime, settings: Settings, counts: dict[str, int]) -> None:
    """Ask the provider why each recent `failed` call without a carrier SIP code failed (attempts.explain_failure).

    Asked once per call, RECONCILE_AFTER_SECONDS after it ended, so that the provider has recorded its error.
    """
    ids = [row[0] for row in db.execute(
        """SELECT id FROM attempts a WHERE ended_at >= ? AND ended_at <= ? AND state = 'ended'
           AND call_status = 'failed' AND sip_code IS NULL AND call_sid IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM call_events e WHERE e.dedupe_key = 'error:' || a.call_sid)""",
        [iso(now - EXPLAIN_WITHIN), iso(now - timedelta(seconds=settings.reconcile_after_seconds))])]
    for attempt_id in ids:
        try:
            result = attempts.explain_failure(db, {"id": attempt_id}, provider, now, settings)
        except Exception:  # one bad row must not stop the others
            log.exception("explaining the failure of attempt %s failed", attempt_id)
            result = "error"
        counts[f"failure_{result}"] = counts.get(f"failure_{result}", 0) + 1
