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
import math
import os
import queue
import random
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Callable

from registry.clock import iso, parse_iso, utcnow
from registry.db import connect as db_connect
from registry.errors import NotFound, UserError
from registry.units import get_unit

from monitor import attempts
from monitor.attempts import lifecycle
from monitor.scheduling.bands import classify
from monitor.scheduling.limits import Limits, RateLimiter, next_allowed, room
from monitor.providers.base import ProviderRejected, ProviderTimeout, ProviderUnavailable
from monitor.settings import Settings

log = logging.getLogger(__name__)

DEMO_REFUSED = "Số mẫu (demo): không gọi thật"
NO_HOTLINE = "Đơn vị không còn số đường dây nóng: không gọi."
MAX_RETRY_BACKOFF_SECONDS = 900


class Clock:
    """Wall time for timestamps, a monotonic clock for pacing, and a sleep that a stop event interrupts."""

    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> None:
        if seconds <= 0:
            return
        if stop is not None:
            stop.wait(seconds)
        else:
            time.sleep(seconds)


def default_owner() -> str:
    """A lease owner name unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


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
    counts = {"claimed": 0, "pushed": 0, "refused": 0, "room": None}
    with attempts.write_transaction(db):
        free = room(db, limits, now)
        counts["room"] = free
        wanted = limit if free is None else min(limit, free)
        if wanted > 0:
            candidates = db.execute(
                """SELECT a.id, a.number, a.purpose, h.number, h.is_demo
                   FROM attempts a LEFT JOIN hotlines h ON h.unit_id = a.unit_id
                   WHERE a.state = 'planned' AND a.planned_at <= ?
                   ORDER BY a.planned_at, a.id LIMIT ?""",
                [iso(now), wanted * 4 + 8],
            ).fetchall()
            this_batch: set[str] = set()
            for attempt_id, _planned_number, purpose, current, is_demo in candidates:
                if len(claimed) >= wanted:
                    break
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
        rows = [attempts.get_attempt(db, attempt_id) for attempt_id in claimed]
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
    """The create request alone, touching no database: (sid, None) or (None, the exception it raised)."""
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
    return counts


# ------------------------------------------------------------------------------------------- the loop


class Dispatcher:
    """One process's dispatch loop: claims due attempts in small batches and dials them at the set pace.

    workers=0 dials in the loop's own thread: the pace holds to the request, and with a fake clock it is
    deterministic. Otherwise the create requests (network only, each paced by the one limiter just before it
    goes out) run on that many threads, while the loop stays the only writer of this process: it claims, and
    it records the results the workers hand back, so the threads never contend for SQLite's write lock.
    By default: DISPATCH_WORKERS threads for a provider that dials real numbers over the network, none for
    the simulator.
    """

    def __init__(self, settings: Settings, provider, *, connect: Callable | None = None, clock: Clock | None = None,
                 owner: str | None = None, workers: int | None = None, rng: random.Random | None = None):
        self.settings = settings
        self.provider = provider
        self.clock = clock or Clock()
        self.owner = owner or default_owner()
        self.rng = rng or random.Random()
        limits = Limits.from_settings(settings)
        rate = limits.calls_per_second
        self.limiter = RateLimiter(rate, clock=self.clock.monotonic) if rate else None
        # A batch is about a quarter second of calls: few transactions, and a crash strands few claims.
        self.batch = max(1, min(50, math.ceil((rate or 40) / 4)))
        self.lease_seconds = settings.lease_seconds
        if workers is None:
            # Threads only pay for a provider across the network; an in-process one (the simulator) answers at
            # once, and in the loop's own thread the pace is exact to the request.
            workers = settings.dispatch_workers if provider.dials_real_numbers else 0
        self.workers = int(workers)
        self.db = (connect or (lambda: db_connect(settings.database)))()
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="dial") if self.workers else None
        self._done: queue.SimpleQueue = queue.SimpleQueue()  # (row, sid, error, stopped) from the workers
        self._outstanding = 0  # handed to workers, result not recorded yet (loop thread only)
        self.results: dict[str, int] = {}

    def in_flight(self) -> frozenset[int]:
        """Attempts this process has claimed and not yet settled (recover must leave them alone)."""
        with self._lock:
            return frozenset(self._in_flight)

    def run(self, stop: threading.Event) -> None:
        """Loop until `stop` is set; claimed attempts not yet sent go back to planned, sent ones are recorded."""
        try:
            while not stop.is_set():
                try:
                    wait = self.step(stop)
                except Exception:  # e.g. the database locked for longer than busy_timeout: try again shortly
                    log.exception("dispatch step failed")
                    wait = 1.0
                if wait > 0:
                    self._idle(wait, stop)
        finally:
            self.close()

    def step(self, stop: threading.Event | None = None) -> float:
        """Record finished requests, claim one batch and start dialling it; returns how long to wait next."""
        self._record_done()
        limit = self.batch
        if self._pool is not None:
            limit = min(limit, self.workers + self.batch - self._outstanding)
            if limit <= 0:  # enough claimed and waiting for their turn: record a result first
                self._record_done(timeout=0.05)
                return 0.0
        now = self.clock.now()
        stats: dict = {}
        rows = claim_due(self.db, now=now, owner=self.owner, limit=limit, lease_seconds=self.lease_seconds,
                         settings=self.settings, real_provider=bool(self.provider.dials_real_numbers), rng=self.rng,
                         stats=stats)
        if not rows:
            if stats.get("pushed") or stats.get("refused"):
                return 0.0  # made progress; there may be more due behind them
            due = next_due(self.db)
            if due is None:
                return 1.0
            ahead = (due - now).total_seconds()
            # Due but held back by a limit (concurrency, caps): look again soon. Else sleep until it is due,
            # at most a second, so a manual call queued meanwhile is not kept waiting.
            return 0.25 if ahead <= 0 else min(1.0, ahead)
        with self._lock:
            self._in_flight.update(row["id"] for row in rows)
        for row in rows:
            if self._pool is None:
                self._record(row, *self._request(row, stop))
            else:
                self._outstanding += 1
                self._pool.submit(self._work, row, stop)
        return 0.0

    def _request(self, row: dict, stop) -> tuple:
        """Wait for this request's turn under the pace, then make it: (sid, error, stopped)."""
        slot = None
        if self.limiter is not None:
            slot = self.limiter.acquire(lambda s: self.clock.sleep(s, stop), stop)
            if slot is None:
                return None, None, True
        if stop is not None and stop.is_set():
            return None, None, True
        sid, error = place(self.provider, row)
        if slot is not None and self._pool is None:
            # In the loop's own thread the pace then holds as the provider counts. Workers keep the slot's
            # start time: holding network latency against the window would cut the rate to rate/(1 + latency).
            self.limiter.finished(slot)
        return sid, error, False

    def _work(self, row: dict, stop) -> None:
        try:
            result = self._request(row, stop)
        except BaseException as exc:  # never lose a result: the loop must hear back about every row
            result = (None, exc, False)
        self._done.put((row, *result))

    def _record(self, row: dict, sid, error, stopped: bool) -> None:
        try:
            if stopped:
                release(self.db, row["id"], self.owner)
                outcome = "released"
            else:
                outcome = record(self.db, self.provider, row, sid, error, settings=self.settings, now=self.clock.now)
            self.results[outcome] = self.results.get(outcome, 0) + 1
        finally:
            with self._lock:
                self._in_flight.discard(row["id"])

    def _record_done(self, timeout: float = 0.0) -> None:
        """Record the results the workers handed back (waiting up to `timeout` for the first one)."""
        while self._outstanding:
            try:
                item = self._done.get(timeout=timeout) if timeout > 0 else self._done.get_nowait()
            except queue.Empty:
                return
            timeout = 0.0
            self._outstanding -= 1
            try:
                self._record(*item)
            except Exception:  # left in dialing with its lease: recover() will reconcile it
                log.exception("recording the result for attempt %s failed", item[0]["id"])

    def _idle(self, seconds: float, stop: threading.Event) -> None:
        """Wait before the next step, recording results as they come in meanwhile."""
        if not self._outstanding:
            self.clock.sleep(seconds, stop)
            return
        deadline = self.clock.monotonic() + seconds
        while self._outstanding and not stop.is_set():
            left = deadline - self.clock.monotonic()
            if left <= 0:
                return
            self._record_done(timeout=min(left, 0.05))

    def close(self) -> None:
        """Wait for requests in flight, record their results, then close the connection."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._record_done()
        try:
            self.db.conn.close()
        except Exception:
            pass


# -------------------------------------------------------------------------------------------- call now


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
                    row = attempts.get_attempt(db, attempt_id)
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
