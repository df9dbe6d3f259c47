"""The scheduler process (`flask --app wsgi monitor run`): plans, dispatches, recovers, beats its heart.

The only module importing `schedule`. Jobs are plain functions that open their own connection. The
dispatch loop runs in its own thread with precise pacing; `schedule` drives the rest (planning every hour
— idempotent, so units added mid-week get their tests too —, recovery, heartbeat). SIGTERM or SIGINT:
stop claiming, let create requests in flight finish, give claimed-but-unsent attempts back, exit 0.
"""
from __future__ import annotations

import json
import logging
import os
import random
import secrets
import signal
import threading
from datetime import datetime, timedelta
from typing import Callable, Mapping

import schedule

from registry.clock import iso, utcnow
from registry.db import connect, schema_version

from monitor import attempts
from monitor.scheduling.bands import to_local, week_monday
from monitor.scheduling.dispatch import Clock, Dispatcher, default_owner, recover, setting
from monitor.scheduling.planner import plan_due_soon, plan_week
from monitor.providers import make_provider
from monitor.schema import MIGRATIONS

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
DEFAULT_RECOVER_SECONDS = 30
PLAN_EVERY_MINUTES = 60
DEMO_SEED_SECONDS = 60
# Demo mode with the simulator (nothing is dialled): faster simulated calls and room for many at once, so
# the dashboard fills within a minute. Never applied to a provider that dials real numbers.
DEMO_SETTINGS = {"SIMULATOR_SPEED": 5.0, "CALLS_PER_SECOND": 3.0, "MAX_CONCURRENT_CALLS": 25}


class SchedulerError(Exception):
    """The scheduler cannot start; .message says why, in Vietnamese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def truthy(value) -> bool:
    """Config flags may arrive as booleans or as text from the environment."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def demo_active(config: Mapping) -> bool:
    """Demo mode applies only with the simulator: a real provider is never sped up or seeded."""
    return truthy(config.get("DEMO_MODE")) and (config.get("CALL_PROVIDER") or "simulator").strip().lower() == "simulator"


def effective_config(config: Mapping) -> dict:
    """The configuration the scheduler runs with: as given, plus the demo settings in demo mode."""
    out = dict(config)
    if demo_active(out):
        out["SIMULATOR_SPEED"] = max(float(out.get("SIMULATOR_SPEED") or 1), DEMO_SETTINGS["SIMULATOR_SPEED"])
        out["CALLS_PER_SECOND"] = max(float(out.get("CALLS_PER_SECOND") or 1), DEMO_SETTINGS["CALLS_PER_SECOND"])
        if int(out.get("MAX_CONCURRENT_CALLS") or 0) > 0:
            out["MAX_CONCURRENT_CALLS"] = max(int(out["MAX_CONCURRENT_CALLS"]), DEMO_SETTINGS["MAX_CONCURRENT_CALLS"])
        out["CALLS_PER_LINE_PER_HOUR"] = out["CALLS_PER_LINE_PER_DAY"] = 0  # no carrier to upset
    return out


def make_sink(config: Mapping) -> Callable[[int, dict, str, str], None]:
    """Where simulated events go: attempts.ingest_event on a connection of its own (events come on other threads)."""

    def sink(attempt_id: int, params: dict, kind: str, dedupe_key: str) -> None:
        db = connect(config["DATABASE"])
        try:
            attempts.ingest_event(db, attempt_id, params, kind=kind, dedupe_key=dedupe_key, now=utcnow(), config=config)
        finally:
            db.conn.close()

    return sink


def check_schema(db) -> None:
    """Refuse to run against a database whose monitor schema is older than this code."""
    if schema_version(db, "monitor") < len(MIGRATIONS):
        raise SchedulerError("Cơ sở dữ liệu chưa được nâng cấp: hãy chạy `flask --app wsgi init-db` trước.")


# ---------------------------------------------------------------------------------------------- jobs


def plan_ahead(config: Mapping, *, now: datetime, rng: random.Random) -> dict[str, int]:
    """Plan this week (what is left of it) and next week; idempotent. Returns new attempts per week."""
    db = connect(config["DATABASE"])
    try:
        this_week = week_monday(to_local(now).date())
        done = {}
        for monday in (this_week, this_week + timedelta(days=7)):
            done[monday.isoformat()] = plan_week(db, monday, now=now, rng=rng, config=config)
            _set_state(db, f"planned:{monday}", str(done[monday.isoformat()]), now)
        return done
    finally:
        db.conn.close()


def seed_demo(config: Mapping, *, now: datetime, rng: random.Random) -> int:
    """Demo mode: one test per unit due within the next minute (once per unit: plan keys 'demo:<unit>')."""
    db = connect(config["DATABASE"])
    try:
        return plan_due_soon(db, now=now, rng=rng, within_seconds=DEMO_SEED_SECONDS, key="demo")
    finally:
        db.conn.close()


def beat(config: Mapping, owner: str, started: datetime, now: datetime, provider_name: str) -> None:
    """Write the heartbeat the inspectors' pages read to show whether the scheduler runs."""
    db = connect(config["DATABASE"])
    try:
        value = json.dumps({"owner": owner, "pid": os.getpid(), "started_at": iso(started), "provider": provider_name})
        _set_state(db, "heartbeat", value, now)
    finally:
        db.conn.close()


def recover_job(config: Mapping, provider, now: datetime, skip=frozenset()) -> dict[str, int]:
    db = connect(config["DATABASE"])
    try:
        return recover(db, provider, now, config, skip=skip)
    finally:
        db.conn.close()


def alerts_job(config: Mapping, now: datetime) -> dict:
    """Send the e-mail alerts due after runs of confirmed failures (capped; failed sends retried next time)."""
    from monitor.alerts import check_alerts

    db = connect(config["DATABASE"])
    try:
        return check_alerts(db, config, now=now)
    finally:
        db.conn.close()


def _set_state(db, key: str, value: str, now: datetime) -> None:
    db.execute(
        "INSERT INTO scheduler_state (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, value, iso(now)],
    )


def _guarded(name: str, job: Callable) -> Callable:
    """A job whose failure is logged and retried at its next run instead of stopping the scheduler."""

    def run_job():
        try:
            job()
        except Exception:
            log.exception("scheduler job %s failed", name)

    return run_job


# ----------------------------------------------------------------------------------------------- run


def run(config: Mapping, *, stop_event: threading.Event | None = None, clock: Clock | None = None, provider=None,
        on_started: Callable[[dict], None] | None = None) -> int:
    """Run until stop_event is set (or SIGTERM/SIGINT when run from the main thread); returns the exit code 0."""
    config = effective_config(config)
    clock = clock or Clock()
    stop = stop_event or threading.Event()
    owner = default_owner()
    rng = random.Random(secrets.randbits(64))
    db = connect(config["DATABASE"])
    try:
        check_schema(db)
    finally:
        db.conn.close()
    provider = provider or make_provider(config, make_sink(config))
    started = clock.now()

    previous_handlers = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous_handlers[signum] = signal.signal(signum, lambda *_: stop.set())

    dispatcher = None
    thread = None
    try:
        # Whatever a previous run left half-done is settled first (expired leases, unknown creates).
        _guarded("recover", lambda: recover_job(config, provider, clock.now()))()
        _guarded("plan", lambda: plan_ahead(config, now=clock.now(), rng=rng))()
        if demo_active(config) and not provider.dials_real_numbers:
            _guarded("demo", lambda: seed_demo(config, now=clock.now(), rng=rng))()
        _guarded("heartbeat", lambda: beat(config, owner, started, clock.now(), provider.name))()

        dispatcher = Dispatcher(config, provider, clock=clock, owner=owner, rng=rng)
        thread = threading.Thread(target=dispatcher.run, args=(stop,), name="dispatch", daemon=True)
        thread.start()

        jobs = schedule.Scheduler()
        recover_every = max(1, int(float(setting(config, "RECOVER_SECONDS", DEFAULT_RECOVER_SECONDS))))
        jobs.every(HEARTBEAT_SECONDS).seconds.do(
            _guarded("heartbeat", lambda: beat(config, owner, started, clock.now(), provider.name)))
        jobs.every(recover_every).seconds.do(
            _guarded("recover", lambda: recover_job(config, provider, clock.now(), dispatcher.in_flight())))
        jobs.every(PLAN_EVERY_MINUTES).minutes.do(_guarded("plan", lambda: plan_ahead(config, now=clock.now(), rng=rng)))
        alert_every = max(1, int(float(setting(config, "ALERT_CHECK_MINUTES", 5))))
        jobs.every(alert_every).minutes.do(_guarded("alerts", lambda: alerts_job(config, clock.now())))
        if on_started:
            on_started({"owner": owner, "provider": provider.name, "config": config})
        while not stop.is_set():
            jobs.run_pending()
            idle = jobs.idle_seconds
            clock.sleep(0.5 if idle is None else max(0.05, min(0.5, idle)), stop)
    finally:
        stop.set()
        if thread is not None:
            thread.join()  # in-flight create requests finish; unsent claims go back to planned
        elif dispatcher is not None:
            dispatcher.close()
        try:
            provider.close()  # the simulator plays its remaining events at once: no call left hanging
        finally:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            _mark_stopped(config, clock.now())
    return 0


def _mark_stopped(config: Mapping, now: datetime) -> None:
    """A clean stop removes the heartbeat at once, so the pages do not show a stopped scheduler as running."""
    try:
        db = connect(config["DATABASE"])
        try:
            db.execute("DELETE FROM scheduler_state WHERE key = 'heartbeat'")
            _set_state(db, "stopped", iso(now), now)
        finally:
            db.conn.close()
    except Exception:
        log.exception("could not record the scheduler's stop")
