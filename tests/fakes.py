"""Stand-ins shared by the tests: a clock that sleeps instantly, call providers that dial nobody, a recorded sleep,
an SMTP server's mailbox, the simulator's event sink into the database, and a free loopback port.

The Twilio API itself is played by tests/twilio_double.py; these are the smaller pieces around it.
"""
import socket
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from email import message_from_bytes, policy

from monitor import attempts
from registry.db import connect


class FakeClock:
    """Monotonic seconds from 0 and the wall time they correspond to; sleeping moves time on at once.

    Has the `now`, `monotonic` and `sleep` a dispatcher or `call_now` takes as its clock; `t` may be set directly.
    """

    def __init__(self, start: datetime):
        self.start, self.t = start, 0.0
        self.lock = threading.Lock()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds, stop=None):
        with self.lock:
            self.t += max(0.0, seconds)

    def advance(self, **delta):
        """Move time on by a timedelta's keywords (hours=2, minutes=5…)."""
        self.t += timedelta(**delta).total_seconds()


class FakeProvider:
    """A call provider that dials nobody: records every place_call with the clock's time.

    `script` maps an attempt id to exceptions its next dials raise, in turn; `found` maps an attempt id to what
    find_call answers (None when absent). `real=True` makes it pass for a provider that dials real numbers.
    """

    name = "fake"

    def __init__(self, clock=None, *, real=False):
        self.clock = clock
        self.dials_real_numbers = real
        self.calls = []  # (attempt id, number, monotonic time)
        self.script = {}
        self.found = {}
        self.find_calls = 0
        self.lock = threading.Lock()

    def place_call(self, attempt):
        with self.lock:
            self.calls.append((attempt["id"], attempt["number"], self.clock.monotonic() if self.clock else 0.0))
            steps = self.script.get(attempt["id"])
            if steps:
                raise steps.pop(0)
            return f"CA{attempt['id']:06d}{len(self.calls):06d}"

    def find_call(self, attempt):
        self.find_calls += 1
        return self.found.get(attempt["id"])

    def close(self):
        pass

    def dialled(self) -> Counter:
        """How many times each attempt id was dialled."""
        return Counter(attempt_id for attempt_id, _, _ in self.calls)


class AskOnlyProvider:
    """A real provider (Twilio) that may only be asked about calls: find_call answers `found` for any attempt, or
    raises `error`; a place_call is recorded in `placed` and fails the test."""

    name = "twilio"
    dials_real_numbers = True

    def __init__(self, found=None, error=None):
        self.found, self.error, self.asked, self.placed = found, error, [], []

    def place_call(self, attempt):
        self.placed.append(attempt["id"])
        raise AssertionError("reconcile must never dial")

    def find_call(self, attempt):
        self.asked.append(attempt["id"])
        if self.error:
            raise self.error
        return self.found


class Sleeps(list):
    """An injected sleep that records the delays asked for instead of waiting."""

    def __call__(self, seconds):
        self.append(seconds)


class MailSink:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def messages(self):
        """The received messages, parsed."""
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def ingesting_sink(database, *, now: datetime | Callable[[], datetime], config, delivered: list | None = None):
    """A provider's event sink that feeds each event to `attempts.ingest_event`, as the scheduler's sink does.

    `database` is an open connection, or a database path for a connection of its own per event (for events
    delivered on the simulator's thread); `now` is a time or a function giving it; the dedupe key of each
    ingested event is appended to `delivered` when given.
    """

    def sink(attempt_id, params, kind, key):
        when = now() if callable(now) else now
        if isinstance(database, str):
            own = connect(database)
            try:
                attempts.ingest_event(own, attempt_id, params, kind=kind, dedupe_key=key, now=when, config=config)
            finally:
                own.conn.close()
        else:
            attempts.ingest_event(database, attempt_id, params, kind=kind, dedupe_key=key, now=when, config=config)
        if delivered is not None:
            delivered.append(key)

    return sink


def free_port() -> int:
    """A loopback port free right now (nobody listens on it until a test starts a server there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
