"""Limits on test calls: provider requests per second, concurrent calls, calls per caller line, gap per number.

The per-second pace is kept in the dispatching process (RateLimiter, on an injected monotonic clock). The
other limits are read from the attempts table inside the claim transaction, so every process that dials
(the scheduler, a `monitor call`) sees the same counts. A value of 0 switches a limit off (Settings reads an
empty one as 0 too).

There is one caller line per deployment (TWILIO_FROM_NUMBER); the per-line counts are therefore over all
attempts. Carriers flag a line that calls too often, which is what the hourly and daily caps are for.

Decided: automated survey calls (purpose 'survey') are counted here like test calls, unlike everywhere a test
is judged. They go out through the same provider account and caller line, so they hold the same concurrent-call
slots and a carrier counts them against the same line. The gap per number concerns the number dialled,
whatever the purpose: two calls to one number are spaced out (a survey call after an earlier call to the same
citizen; a hotline and a citizen's phone are different numbers, so tests and surveys do not delay each other).
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.settings import Settings
from registry.clock import iso, parse_iso

# States in which an attempt holds one of the provider's concurrent-call slots (or might: unknown).
ACTIVE_STATES = ("dialing", "unknown", "placed", "ringing", "answered")
# The C-th previous request must be strictly more than one second old, whatever the window's edges.
WINDOW_EPSILON = 1e-6
CATCH_UP_SECONDS = 0.05


@dataclass(frozen=True)
class Limits:
    """The configured limits; None means no limit."""

    calls_per_second: float | None
    max_concurrent: int | None
    per_line_hour: int | None
    per_line_day: int | None
    min_gap: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits the settings set; a 0 there is None here (no limit)."""
        return cls(
            calls_per_second=settings.calls_per_second or None,
            max_concurrent=settings.max_concurrent_calls or None,
            per_line_hour=settings.calls_per_line_per_hour or None,
            per_line_day=settings.calls_per_line_per_day or None,
            min_gap=timedelta(minutes=settings.min_gap_minutes),
        )


def active_calls(db) -> int:
    """Attempts holding (or maybe holding) a concurrent-call slot."""
    marks = ",".join("?" * len(ACTIVE_STATES))
    return db.execute(f"SELECT COUNT(*) FROM attempts WHERE state IN ({marks})", list(ACTIVE_STATES)).fetchone()[0]


def calls_since(db, since: datetime) -> int:
    """Dial requests made by the caller line since that instant."""
    return db.execute(
        "SELECT COUNT(*) FROM attempts WHERE dial_requested_at IS NOT NULL AND dial_requested_at >= ?", [iso(since)]
    ).fetchone()[0]


def room(db, limits: Limits, now: datetime) -> int | None:
    """How many more calls may start now under the concurrency and per-line caps (None: unlimited)."""
    free = []
    if limits.max_concurrent is not None:
        free.append(limits.max_concurrent - active_calls(db))
    if limits.per_line_hour is not None:
        free.append(limits.per_line_hour - calls_since(db, now - timedelta(hours=1)))
    if limits.per_line_day is not None:
        free.append(limits.per_line_day - calls_since(db, now - timedelta(days=1)))
    return max(0, min(free)) if free else None


def last_call_to(db, number: str, *, exclude_id: int | None = None) -> datetime | None:
    """When a call to this number was last requested (any unit sharing it), or None."""
    row = db.execute(
        "SELECT MAX(dial_requested_at) FROM attempts WHERE number = ? AND dial_requested_at IS NOT NULL AND id != ?",
        [number, exclude_id or 0],
    ).fetchone()
    return parse_iso(row[0]) if row and row[0] else None


def next_allowed(db, number: str, limits: Limits, now: datetime, *, exclude_id: int | None = None) -> datetime | None:
    """None if the number may be called now, else the earliest instant the minimum gap allows."""
    if not limits.min_gap:
        return None
    last = last_call_to(db, number, exclude_id=exclude_id)
    if last is None or now - last >= limits.min_gap:
        return None
    return last + limits.min_gap


class RateLimiter:
    """At most `rate` requests in any one-second window, paced evenly (1/rate apart) on an injected clock.

    Pacing alone could let a late request bunch up with the next ones, so the times of the last floor(rate)
    requests are kept too: a request waits until the oldest of them is more than a second old. After a late
    wake-up the pace catches up (by at most CATCH_UP_SECONDS or one interval), so the long-run rate stays at
    `rate`.

    A slot's time is when it was taken, or — once the caller reports finished(slot) — when the request
    returned. The provider sees a request somewhere between the two, so with finished() the window holds as
    the provider counts it, whatever happened between taking the slot and sending (a thread switch, a
    slow first byte). Thread-safe: several workers may take from one limiter.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.interval = 1.0 / self.rate
        self.clock = clock
        self.recent: deque[list[float]] = deque(maxlen=max(1, int(self.rate + 1e-9)))
        self.next_at: float | None = None
        # How far behind the even pace may be made up after a late wake-up (sleeps overshoot by a millisecond
        # or so, which at hundreds of calls a second is several intervals); the window above still holds.
        self.catch_up = max(self.interval, CATCH_UP_SECONDS)
        self.lock = threading.Lock()

    def _ready_at(self, now: float) -> float:
        at = now if self.next_at is None else max(now, self.next_at)
        if len(self.recent) == self.recent.maxlen:
            at = max(at, self.recent[0][0] + 1.0 + WINDOW_EPSILON)
        return at

    def take(self) -> tuple[float, list | None]:
        """Take a slot now: (0.0, slot); or (seconds to wait before trying again, None)."""
        with self.lock:
            now = self.clock()
            at = self._ready_at(now)
            if at > now:
                return at - now, None
            slot = [now]
            self.recent.append(slot)
            previous = now if self.next_at is None else self.next_at
            self.next_at = max(previous, now - self.catch_up) + self.interval
            return 0.0, slot

    def try_take(self) -> float:
        """Take a slot now and return 0.0, or return how many seconds to wait before trying again."""
        return self.take()[0]

    def finished(self, slot: list) -> None:
        """The request of this slot has returned: count it from now on (the latest it can have been seen)."""
        with self.lock:
            slot[0] = max(slot[0], self.clock())

    def acquire(self, sleep: Callable[[float], object], stop: threading.Event | None = None) -> list | None:
        """Wait (with `sleep`) until a slot is free and take it; None if `stop` was set meanwhile."""
        while True:
            if stop is not None and stop.is_set():
                return None
            wait, slot = self.take()
            if slot is not None:
                return slot
            sleep(wait)
