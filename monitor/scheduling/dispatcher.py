"""The dispatch loop of the scheduler process: claims due attempts in batches and dials them at the set pace.

The steps themselves (claim, dial, record, recover) and why their order makes a crash safe are in
monitor/scheduling/dispatch.py; this module only runs them, on a clock and on worker threads.
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from monitor.scheduling.dispatch import (
    claim_due,
    next_due,
    place,
    record,
    release,
)
from monitor.scheduling.limits import Limits, RateLimiter
from monitor.settings import Settings
from registry.clock import utcnow
from registry.db import connect as db_connect

log = logging.getLogger(__name__)


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


def retry_after(failures: int) -> float:
    """Seconds to wait after this many failed steps in a row: 1, 2, 4… up to a minute (a bad disk is not fixed
    by trying again every second, and each try would log again)."""
    return float(min(60, 2 ** (failures - 1)))


def default_owner() -> str:
    """A lease owner name unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


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
        failures = 0
        try:
            while not stop.is_set():
                try:
                    wait = self.step(stop)
                    failures = 0
                except Exception as exc:  # the database locked past busy_timeout, a read-only or full disk…
                    failures += 1
                    wait = retry_after(failures)
                    if failures == 1:
                        log.exception("dispatch step failed; trying again in %.0f s", wait)
                    else:  # one line per retry, not a traceback every second while the disk stays full
                        log.warning("dispatch step failed %d times in a row (%s); trying again in %.0f s",
                                    failures, exc, wait)
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
