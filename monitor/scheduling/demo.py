"""The demo's story: within about ten minutes of `scripts/start.sh`, every part of the system is on screen.

Demo mode with the simulator, or over SIP against SIPp's province on this machine (sip_demo.py; nothing real is
dialled either way: settings.demo_active). The scheduler calls these:

- compressed(): the settings the demo runs with: faster simulated calls, retests and alert checks a minute
  after a failure instead of an hour, no gap between two calls to one number, no carrier caps;
- seed_rounds(): ROUNDS rounds of one test per unit, ROUND_MINUTES apart. A number that keeps failing then
  makes a run of confirmed failures (each failure retested, each retest confirming it) and the alert e-mail
  of monitor/alerts.py goes out, as it would after weeks of real tests;
- seed_story(): a few calls placed at once with a chosen simulated behaviour: half-heard calls the rules hold
  for an inspector (the review queue), and a missed call of the demo editor's unit, which its editor
  contests (a dispute for the inspectors to decide).

FLASK_DEMO_TIME_SCALE divides every one of these durations (the end-to-end test runs the story in two
minutes). Everything is keyed (plan keys 'demo…'), so a restarted scheduler seeds nothing twice.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from monitor import attempts
from monitor.attempts import lifecycle
from monitor.attempts.outcomes import FAILURES
from monitor.disputes import DisputeError, open_dispute
from monitor.providers.simulator import SimulatorProvider
from monitor.scheduling.bands import classify
from monitor.scheduling.dispatch import dial
from monitor.scheduling.planner import plan_due_soon
from monitor.settings import Settings
from registry import demo as registry_demo
from registry.clock import iso

SPEED, CALLS_PER_SECOND, MAX_CONCURRENT = 5.0, 3.0, 25
SEED_SECONDS = 60  # each round's tests are spread over this long
ROUNDS, ROUND_MINUTES = 3, 2.0  # three tests per unit: enough for ALERT_AFTER_FAILURES (3) in a row
FOLLOW_UP_MINUTES = 1.0  # retest (and replacement) delay
ALERT_CHECK_MINUTES = 1.0
# (unit code, simulated behaviour, minutes before the scheduler started): the seeded calls. The unclear ones
# are the simulator's UNCLEAR[2] and [3]: detection says machine while a voice says "alo", which the rules
# always hold for review.
STORY = (
    (registry_demo.EDITOR_UNIT, {"simulate": "no_answer"}, 25),  # contested by the unit's editor
    ("X-TAMNONG", {"simulate": "unclear", "variant": 2}, 20),
    ("P-MYTHO", {"simulate": "unclear", "variant": 3}, 15),
)
DISPUTE = ("Lúc cuộc gọi này đến, tổng đài của Sở đang mất điện do sửa chữa đường dây (khoảng 15 phút); người trực "
           "đã chuyển sang máy dự phòng ngay sau đó. Đề nghị không tính lần gọi này.")


DEMO_SURVEY_HOURS = "07:00-21:00"  # the demo's fictional citizens may be called longer than real ones


def compressed(settings: Settings) -> Settings:
    """The settings the demo runs with (see the module docstring); values already faster are kept."""
    scale = settings.demo_time_scale
    follow_up = FOLLOW_UP_MINUTES / scale
    return settings.with_values(
        simulator_speed=max(settings.simulator_speed, SPEED * scale),
        # At least the demo's pace (an unpaced demo is paced too) and room (no concurrency cap stays none).
        calls_per_second=max(settings.calls_per_second or 1.0, CALLS_PER_SECOND),
        max_concurrent_calls=(max(settings.max_concurrent_calls, MAX_CONCURRENT)
                              if settings.max_concurrent_calls > 0 else settings.max_concurrent_calls),
        calls_per_line_per_hour=0, calls_per_line_per_day=0,  # no carrier to upset
        min_gap_minutes=0,  # the rounds and their retests call one number minutes apart
        retest_delay_minutes=min(settings.retest_delay_minutes, follow_up),
        replace_delay_minutes=min(settings.replace_delay_minutes, follow_up),
        alert_check_minutes=max(0.1, min(settings.alert_check_minutes, ALERT_CHECK_MINUTES / scale)),
        survey_call_hours=DEMO_SURVEY_HOURS,  # the automated survey calls flow through the evening too
    )


def seed_rounds(db, settings: Settings, *, now: datetime, rng: random.Random) -> int:
    """Plan the demo's rounds of tests (plan keys 'demo:<unit>', 'demo2:<unit>', …); returns how many are new."""
    scale = settings.demo_time_scale
    created = 0
    for index in range(ROUNDS):
        created += plan_due_soon(db, now=now, rng=rng, within_seconds=max(1, int(SEED_SECONDS / scale)),
                                 key="demo" if index == 0 else f"demo{index + 1}",
                                 after_seconds=int(index * ROUND_MINUTES * 60 / scale))
    return created


def seed_story(db, settings: Settings, *, now: datetime, sink: Callable, owner: str) -> int:
    """Place the story's calls (STORY) through the simulator at once and open the editor's dispute.

    Units the registry's demo data does not have are skipped. Returns how many calls were placed now.
    """
    placed = 0
    for code, behaviour, minutes in STORY:
        unit = _unit(db, code)
        if unit is None:
            continue
        at = now - timedelta(minutes=minutes)
        row = None
        with attempts.write_transaction(db):
            attempt_id = attempts.create_attempt(db, unit_id=unit["id"], number=unit["number"], planned_at=at,
                                                 band=classify(at), plan_key=f"demo-story:{code}", now=at)
            if attempts.get_attempt(db, attempt_id)["state"] == "planned":
                lifecycle.claim(db, attempt_id, owner=owner, requested_at=iso(at),
                                lease_until=iso(at + timedelta(seconds=settings.lease_seconds)))
                row = {**attempts.get_attempt(db, attempt_id), "extension": "", **behaviour}
        if row is not None:
            provider = SimulatorProvider(settings, sink, synchronous=True, clock=lambda at=at: at, seed=attempt_id)
            dial(db, provider, row, settings=settings, now=lambda at=at: at)
            placed += 1
        if code == registry_demo.EDITOR_UNIT:
            _contest(db, attempt_id, now)
    return placed


def _unit(db, code: str) -> dict | None:
    rows = db.execute_returning_dicts(
        "SELECT u.id, h.number FROM units u JOIN hotlines h ON h.unit_id = u.id WHERE u.code = ? AND h.is_demo = 1",
        [code])
    return rows[0] if rows else None


def _contest(db, attempt_id: int, now: datetime) -> None:
    """The demo editor contests the failed call of their unit, once."""
    editor = db.execute_returning_dicts("SELECT id, role, unit_id FROM users WHERE email = ?", [registry_demo.EDITOR[0]])
    attempt = attempts.get_attempt(db, attempt_id)
    if not editor or attempt["state"] != "ended" or attempt["outcome"] not in FAILURES:
        return
    if db.execute("SELECT 1 FROM disputes WHERE attempt_id = ?", [attempt_id]).fetchone():
        return
    try:
        open_dispute(db, attempt_id, editor[0], DISPUTE, now=now)
    except DisputeError:
        pass  # the editor's account or unit changed since the demo was loaded: no dispute to show
