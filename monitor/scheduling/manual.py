"""One test call now (the inspector's button and `monitor call`): created, claimed and dialled at once, under the same limits."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from monitor import attempts
from monitor.attempts import lifecycle
from monitor.scheduling.bands import classify
from monitor.scheduling.dispatch import DEMO_REFUSED, dial
from monitor.scheduling.dispatcher import Clock, default_owner
from monitor.scheduling.limits import Limits, room
from monitor.settings import Settings
from registry.clock import iso
from registry.errors import NotFound, UserError
from registry.units import get_unit

log = logging.getLogger(__name__)


class CallError(UserError):
    """A call-now request that cannot be made (unknown unit, no hotline); .message is Vietnamese."""


def _may_start(db, limits: Limits, now: datetime) -> bool:
    """Room under the concurrency and per-line caps, and under the per-second pace as seen in the database.

    The pace of the scheduler process is kept in its memory; another process (a `monitor call`) can only
    see the dial requests of the last second in the table, which is what keeps it under the same pace.
    """
    free = room(db, limits, now)
    if free is not None and free <= 0:
        return False
    if limits.calls_per_second:
        recent = db.execute(
            "SELECT COUNT(*) FROM attempts WHERE dial_requested_at IS NOT NULL AND dial_requested_at >= ?",
            [iso(now - timedelta(seconds=1))],
        ).fetchone()[0]
        if recent >= max(1, int(limits.calls_per_second)):
            return False
    return True


def call_now(db, settings: Settings, unit_code: str, *, provider, now: datetime | None = None,
             wait_seconds: float = 0.0, clock: Clock | None = None, owner: str | None = None) -> dict:
    """Place a manual test call to the unit's registered number now and wait up to wait_seconds for its outcome.

    The attempt is created and claimed in one transaction (so a running scheduler cannot take it in between),
    exempt from the per-number gap but not from the pace, concurrency and per-line caps: while those say
    no, it waits (within wait_seconds); if they still say no, the attempt stays planned, due now, and the
    scheduler dials it when there is room. Returns summary() of the attempt as it stands; 'final' tells
    whether the outcome is in. Raises CallError for an unknown unit or one without a hotline.
    """
    clock = clock or Clock()
    owner = owner or default_owner()
    try:
        unit = get_unit(db, unit_code)
    except NotFound:
        raise CallError(f"Không có đơn vị mã “{unit_code}”.") from None
    if not unit["number"]:
        raise CallError(f"Đơn vị “{unit['name']}” ({unit['code']}) chưa có số đường dây nóng để gọi.")
    limits = Limits.from_settings(settings)
    lease_seconds = settings.lease_seconds
    deadline = clock.monotonic() + max(0.0, wait_seconds)
    attempt_id, row, at = None, None, now or clock.now()
    while True:
        with attempts.write_transaction(db):
            if attempt_id is None:
                attempt_id = attempts.create_attempt(db, unit_id=unit["id"], number=unit["number"], planned_at=at,
                                                     band=classify(at), purpose="manual", now=at)
            state = db.execute("SELECT state FROM attempts WHERE id = ?", [attempt_id]).fetchone()[0]
            if state == "planned" and _may_start(db, limits, at):
                if unit["is_demo"] and provider.dials_real_numbers:
                    attempts.finish(db, attempt_id, "provider_error", DEMO_REFUSED, at, settings=settings,
                                    error=f"demo_number: {DEMO_REFUSED}")
                else:
                    lifecycle.claim(db, attempt_id, owner=owner, lease_until=iso(at + timedelta(seconds=lease_seconds)),
                                    requested_at=iso(at))
                    row = {**attempts.get_attempt(db, attempt_id), "extension": unit.get("extension") or ""}
                state = "claimed"
        if state != "planned" or clock.monotonic() >= deadline:
            break  # claimed here, or taken by the scheduler meanwhile, or out of time: it stays due now
        clock.sleep(0.2)
        at = clock.now()
    if row is not None:
        dial(db, provider, row, settings=settings, now=clock.now)
    while True:
        current = attempts.get_attempt(db, attempt_id)
        if current["state"] == "ended" or clock.monotonic() >= deadline:
            return summary(current)
        clock.sleep(0.25)


def summary(row: dict) -> dict:
    """An attempt as `monitor call --json` prints it (and the call-now button shows it)."""
    return {
        "attempt": row["id"],
        "unit": row.get("unit_code"),
        "unit_name": row.get("unit_name"),
        "number": row["number"],
        "state": row["state"],
        "final": row["state"] == "ended",
        "outcome": row["outcome"],
        "detail": row["outcome_detail"],
        "answer_seconds": row["answer_seconds"],
        "sip_code": row["sip_code"],
        "transcript": row["transcript"],
        "confirmed": row["confirmed"],
        "band": row["band"],
        "purpose": row["purpose"],
        "provider": row["provider"],
        "call_sid": row["call_sid"],
        "planned_at": row["planned_at"],
        "started_at": row["dial_requested_at"],
        "placed_at": row["placed_at"],
        "ringing_at": row["ringing_at"],
        "answered_at": row["answered_at"],
        "ended_at": row["ended_at"],
        "duration_seconds": row["duration_seconds"],
        "error": row["error"],
    }
