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
from collections.abc import Callable
from datetime import datetime, timedelta

import schedule

from monitor import attempts
from monitor.providers import make_provider
from monitor.scheduling import demo, demo_logbook, demo_surveys
from monitor.scheduling.bands import classify, week_monday
from monitor.scheduling.dispatch import recover
from monitor.scheduling.dispatcher import Clock, Dispatcher, default_owner
from monitor.scheduling.planner import plan_week
from monitor.scheduling.state import HEARTBEAT, clear_state, set_state
from monitor.schema import MIGRATIONS
from monitor.settings import Settings
from monitor.surveys import calls
from registry.clock import iso, local_today, utcnow
from registry.db import connect, schema_version
from registry.errors import UserError

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
PLAN_EVERY_MINUTES = 60
ERASE_EVERY_HOURS = 24  # citizens' numbers past the survey retention period are erased once a day
# Demo mode with the simulator (nothing is dialled): see monitor/scheduling/demo.py. Never applied to a
# provider that dials real numbers.
DEMO_SEED_SECONDS, DEMO_SPEED = demo.SEED_SECONDS, demo.SPEED
SURVEY_CALLS_SECONDS = 20  # how often ended survey calls are settled and due automated cases planned
DEMO_LOGBOOK_SECONDS = 60  # how often the demo's units write their answered test calls down


class SchedulerError(UserError):
    """The scheduler cannot start; .message says why, in Vietnamese."""


def effective_settings(settings: Settings) -> Settings:
    """The settings the scheduler runs with: as given, sped up in demo mode (settings.demo_active)."""
    return demo.compressed(settings) if settings.demo_active else settings


def make_sink(settings: Settings) -> Callable[[int, dict, str, str], None]:
    """Where simulated events go: attempts.ingest_event on a connection of its own (events come on other threads)."""

    def sink(attempt_id: int, params: dict, kind: str, dedupe_key: str) -> None:
        db = connect(settings.database)
        try:
            attempts.ingest_event(db, attempt_id, params, kind=kind, dedupe_key=dedupe_key, now=utcnow(),
                                  settings=settings)
        finally:
            db.conn.close()

    return sink


def check_schema(db) -> None:
    """Refuse to run against a database whose monitor schema is older than this code."""
    if schema_version(db, "monitor") < len(MIGRATIONS):
        raise SchedulerError("Cơ sở dữ liệu chưa được nâng cấp: hãy chạy `flask --app wsgi init-db` trước.")


# ---------------------------------------------------------------------------------------------- jobs


def plan_ahead(settings: Settings, *, now: datetime, rng: random.Random) -> dict[str, int]:
    """Plan this week (what is left of it) and next week; idempotent. Returns new attempts per week."""
    db = connect(settings.database)
    try:
        this_week = week_monday(local_today(now))
        done = {}
        for monday in (this_week, this_week + timedelta(days=7)):
            done[monday.isoformat()] = plan_week(db, monday, now=now, rng=rng, settings=settings)
            set_state(db, f"planned:{monday}", str(done[monday.isoformat()]), now)
        return done
    finally:
        db.conn.close()


def demo_logbook_job(settings: Settings, now: datetime) -> int:
    """Demo mode: the units write today's answered test calls in their logbooks (monitor/scheduling/demo_logbook.py)."""
    db = connect(settings.database)
    try:
        return demo_logbook.log_answered(db, settings, now=now)
    finally:
        db.conn.close()


def seed_demo(settings: Settings, *, now: datetime, rng: random.Random, owner: str = "") -> int:
    """Demo mode: the story's calls placed at once, then rounds of one test per unit, the first due within a
    minute (once per unit and round: plan keys 'demo:<unit>', 'demo2:<unit>', …)."""
    db = connect(settings.database)
    try:
        demo.seed_story(db, settings, now=now, sink=make_sink(settings), owner=owner or default_owner())
        demo_logbook.seed_citizens(db, now=now)
        demo_logbook.seed_test_calls(db, settings, now=now, sink=make_sink(settings), owner=owner or default_owner())
        planned = demo.seed_rounds(db, settings, now=now, rng=rng)
        demo_surveys.seed(db, settings, now=now)  # last: the test calls' story never waits on it
        return planned
    finally:
        db.conn.close()


def beat(settings: Settings, owner: str, started: datetime, now: datetime, provider_name: str) -> None:
    """Write the heartbeat the inspectors' pages read to show whether the scheduler runs."""
    db = connect(settings.database)
    try:
        value = json.dumps({"owner": owner, "pid": os.getpid(), "started_at": iso(started), "provider": provider_name})
        set_state(db, HEARTBEAT, value, now)
    finally:
        db.conn.close()


def recover_job(settings: Settings, provider, now: datetime, skip=frozenset()) -> dict[str, int]:
    db = connect(settings.database)
    try:
        return recover(db, provider, now, settings, skip=skip)
    finally:
        db.conn.close()


def alerts_job(settings: Settings, now: datetime) -> dict:
    """Send the e-mail alerts due after runs of confirmed failures (capped; failed sends retried next time)."""
    from monitor.alerts import check_alerts

    db = connect(settings.database)
    try:
        return check_alerts(db, settings, now=now)
    finally:
        db.conn.close()


def survey_erasure_job(settings: Settings, now: datetime) -> int:
    """Erase the citizens' names and numbers past the survey retention period (monitor/surveys/privacy.py)."""
    from monitor.surveys.privacy import erase_expired

    db = connect(settings.database)
    try:
        return erase_expired(db, now, settings)
    finally:
        db.conn.close()


def survey_calls_job(settings: Settings, provider, now: datetime) -> dict[str, int]:
    """The automated 1022 calls: settle the survey calls that ended into their cases, then plan a call for each
    automated case now due (monitor/surveys/calls.py). Only with a provider that can hold the keypad
    conversation (survey_calls), and never from the demo's fictional dossiers through a provider that dials."""
    if not getattr(provider, "survey_calls", False) or (settings.demo_mode and provider.dials_real_numbers):
        return {"settled": 0, "planned": 0}
    db = connect(settings.database)
    try:
        settled = calls.settle(db, now, settings)
        return {"settled": settled, "planned": calls.plan_due(db, now, settings, band=classify(now))}
    finally:
        db.conn.close()


def logbook_erasure_job(settings: Settings, now: datetime) -> int:
    """Erase the logbook reporters' names and phones past their retention (registry/logbook/retention.py)."""
    from registry.logbook.retention import erase_expired

    db = connect(settings.database)
    try:
        return erase_expired(db, now=now, days=settings.logbook_phone_retention_days).entries
    finally:
        db.conn.close()


def _guarded(name: str, job: Callable) -> Callable:
    """A job whose failure is logged and retried at its next run instead of stopping the scheduler.

    The first failure in a row is logged with its traceback, the next ones in one line each (a full or
    read-only disk fails the heartbeat every few seconds until someone frees it).
    """
    failures = 0

    def run_job():
        nonlocal failures
        try:
            job()
            failures = 0
        except Exception as exc:
            failures += 1
            if failures == 1:
                log.exception("scheduler job %s failed", name)
            else:
                log.warning("scheduler job %s failed %d times in a row: %s", name, failures, exc)

    return run_job


# ----------------------------------------------------------------------------------------------- run


def run(settings: Settings, *, stop_event: threading.Event | None = None, clock: Clock | None = None, provider=None,
        on_started: Callable[[dict], None] | None = None) -> int:
    """Run until stop_event is set (or SIGTERM/SIGINT when run from the main thread); returns the exit code 0."""
    settings = effective_settings(settings)
    clock = clock or Clock()
    stop = stop_event or threading.Event()
    owner = default_owner()
    rng = random.Random(secrets.randbits(64))
    db = connect(settings.database)
    try:
        check_schema(db)
    finally:
        db.conn.close()
    demo_active = settings.demo_active  # before the SIP demo's settings name its province as the trunk
    province = None
    if provider is None and settings.sip_demo_province:
        from monitor.scheduling import sip_demo  # loads the SIP stack: for this demo only

        province, settings, provider = sip_demo.open_province(settings, make_sink)
    provider = provider or make_provider(settings, make_sink(settings))
    started = clock.now()

    previous_handlers = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous_handlers[signum] = signal.signal(signum, lambda *_: stop.set())

    dispatcher = None
    thread = None
    try:
        # Whatever a previous run left half-done is settled first (expired leases, unknown creates).
        _guarded("recover", lambda: recover_job(settings, provider, clock.now()))()
        _guarded("plan", lambda: plan_ahead(settings, now=clock.now(), rng=rng))()
        if demo_active and not provider.dials_real_numbers:
            _guarded("demo", lambda: seed_demo(settings, now=clock.now(), rng=rng, owner=owner))()
        _guarded("heartbeat", lambda: beat(settings, owner, started, clock.now(), provider.name))()
        _guarded("survey-erasure", lambda: survey_erasure_job(settings, clock.now()))()  # a restart never skips a day
        _guarded("logbook-erasure", lambda: logbook_erasure_job(settings, clock.now()))()

        dispatcher = Dispatcher(settings, provider, clock=clock, owner=owner, rng=rng)
        thread = threading.Thread(target=dispatcher.run, args=(stop,), name="dispatch", daemon=True)
        thread.start()

        jobs = schedule.Scheduler()
        recover_every = max(1, int(settings.recover_seconds))
        jobs.every(HEARTBEAT_SECONDS).seconds.do(
            _guarded("heartbeat", lambda: beat(settings, owner, started, clock.now(), provider.name)))
        jobs.every(recover_every).seconds.do(
            _guarded("recover", lambda: recover_job(settings, provider, clock.now(), dispatcher.in_flight())))
        jobs.every(PLAN_EVERY_MINUTES).minutes.do(_guarded("plan", lambda: plan_ahead(settings, now=clock.now(), rng=rng)))
        alert_every = max(1, round(settings.alert_check_minutes * 60))  # the demo checks more often than once a minute
        jobs.every(alert_every).seconds.do(_guarded("alerts", lambda: alerts_job(settings, clock.now())))
        jobs.every(ERASE_EVERY_HOURS).hours.do(
            _guarded("survey-erasure", lambda: survey_erasure_job(settings, clock.now())))
        jobs.every(ERASE_EVERY_HOURS).hours.do(  # once a day, like the surveys' numbers
            _guarded("logbook-erasure", lambda: logbook_erasure_job(settings, clock.now())))
        jobs.every(SURVEY_CALLS_SECONDS).seconds.do(
            _guarded("survey-calls", lambda: survey_calls_job(settings, provider, clock.now())))
        if demo_active and not provider.dials_real_numbers:  # the demo's staff write their calls down
            jobs.every(DEMO_LOGBOOK_SECONDS).seconds.do(
                _guarded("demo-logbook", lambda: demo_logbook_job(settings, clock.now())))
        if on_started:
            on_started({"owner": owner, "provider": provider.name, "settings": settings})
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
            if province is not None:
                province.stop()  # after the provider: its last calls were hung up first
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            _mark_stopped(settings, clock.now())
    return 0


def _mark_stopped(settings: Settings, now: datetime) -> None:
    """A clean stop removes the heartbeat at once, so the pages do not show a stopped scheduler as running."""
    try:
        db = connect(settings.database)
        try:
            clear_state(db, HEARTBEAT)
            set_state(db, "stopped", iso(now), now)
        finally:
            db.conn.close()
    except Exception:
        log.exception("could not record the scheduler's stop")
