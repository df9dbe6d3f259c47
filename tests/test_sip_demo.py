"""The demo over SIP: `FLASK_DEMO_MODE=true FLASK_CALL_PROVIDER=sip` without a trunk dials SIPp's province.

The province (sipp/province.xml) is played by a real SIPp on 127.0.0.1 and reached through the real SIP stack;
each number's last digit gives it a habit. The last test runs the scheduler exactly as `flask monitor run` does
in the demo, for some seconds, and reads the outcomes, the report, the review queue and an evidence page.
"""
from __future__ import annotations

import json
import threading
import time

import pytest

from monitor import attempts
from monitor.providers import ProviderConfigError
from monitor.scheduling import dispatch, scheduler, sip_demo
from monitor.settings import Settings
from registry.clock import utcnow
from registry.db import connect
from registry.demo import INSPECTOR, load_demo
from registry.hotlines import set_hotline
from registry.units import create_unit

from .conftest import change_settings, login
from .fakes import ingesting_sink

pytestmark = pytest.mark.usefixtures("quick_password_hashing")  # see conftest.py

# last digits of a number → (outcome, SIP code) the province gives it (sipp/province.xml's header)
HABITS = {
    "0277 3905 100": ("answered", 200), "0277 3905 113": ("answered", 200),
    "0277 3905 124": ("machine", 200),  # 6–8 s of ringing, then an answering machine's long message
    "0277 3905 105": ("no_answer", 487),  # rings until we give up
    "0277 3905 106": ("no_answer", 480),
    "0277 3905 107": ("busy", 486),
    "0277 3905 108": ("unreachable", 404),
    "0277 3905 118": ("busy", 603),  # the digit before the last is odd: declined
    "0277 3905 109": ("redirected", 302),
}


def province_settings(app, **extra) -> Settings:
    return Settings.load({}, {"DATABASE": app.config["DATABASE"], "DEMO_MODE": True, "CALL_PROVIDER": "sip",
                              "MIN_GAP_MINUTES": 0, **extra})


def test_one_variable_makes_the_demo_dial_over_sip_and_a_trunk_turns_the_demo_off():
    demo = Settings.load({}, {"DEMO_MODE": True, "CALL_PROVIDER": "sip"})
    assert demo.sip_demo_province and demo.demo_active
    trunk = Settings.load({}, {"DEMO_MODE": True, "CALL_PROVIDER": "sip", "SIP_TARGET": "10.0.0.5:5060"})
    assert not trunk.sip_demo_province and not trunk.demo_active  # a real trunk is never fed the demo's numbers
    assert not Settings.load({}, {"CALL_PROVIDER": "sip"}).sip_demo_province  # outside the demo: a trunk is needed


def test_every_page_says_the_sip_demos_calls_are_not_real(app, client):
    banner = "Chế độ mô phỏng"
    change_settings(app, CALL_PROVIDER="sip", DEMO_MODE=True)
    assert banner in client.get("/").get_data(as_text=True)
    change_settings(app, SIP_TARGET="10.0.0.5:5060")  # a real trunk: no such claim
    assert banner not in client.get("/").get_data(as_text=True)


def test_the_province_answers_each_number_by_its_habit(app, db):
    """Every habit of the province through the real SIP stack, four calls at a time as the demo places them."""
    now = utcnow()
    ids = {}
    for index, number in enumerate(HABITS):
        unit = create_unit(db, {"code": f"P{index}", "name": f"Đơn vị {index}"})
        set_hotline(db, unit, number, actor=None, reason="test", is_demo=True)
        ids[attempts.create_attempt(db, unit_id=unit, number=db.execute(
            "SELECT number FROM hotlines WHERE unit_id = ?", [unit]).fetchone()[0], planned_at=now, band="office",
            now=now)] = number
    with sip_demo.Province() as province:
        settings = sip_demo.pointed_at(province_settings(app, RING_TIMEOUT=10),
                                       province.target)
        provider = sip_demo.ProvinceProvider(settings, ingesting_sink(settings.database, now=utcnow, config=settings))
        try:
            pending = set(ids)
            deadline = time.monotonic() + 40
            while pending and time.monotonic() < deadline:
                rows = dispatch.claim_due(db, now=utcnow(), owner="test", limit=4 - _in_progress(db), lease_seconds=60,
                                          settings=settings, real_provider=provider.dials_real_numbers)
                for row in rows:
                    assert dispatch.dial(db, provider, row, settings=settings) == "placed"
                pending = {i for i in pending if attempts.get_attempt(db, i)["state"] != "ended"}
                time.sleep(0.1)
        finally:
            provider.close()
        assert province.running()  # one SIPp for every call, still there for the next
    seen = {ids[i]: (row["outcome"], row["sip_code"]) for i in ids for row in [attempts.get_attempt(db, i)]}
    assert seen == HABITS
    # The voices are real speech through the SIP stack: a person's greeting is answered for sure (detection says
    # human); the machine's long message is a machine, held for an inspector (a greeting alone decided it).
    picked_up = {n: attempts.get_attempt(db, i) for i, n in ids.items() if HABITS[n][1] == 200}
    assert all(row["answer_seconds"] is not None and row["provider"] == "sip" for row in picked_up.values())
    assert {n: (row["answered_by"], row["outcome_certain"]) for n, row in picked_up.items()} == {
        "0277 3905 100": ("human", 1), "0277 3905 113": ("human", 1), "0277 3905 124": ("machine_start", 0)}
    assert 5 <= picked_up["0277 3905 124"]["answer_seconds"] <= 9
    redirected = next(i for i, n in ids.items() if n.endswith("109"))
    final = json.loads(db.execute("SELECT payload FROM call_events WHERE attempt_id = ? ORDER BY sequence DESC",
                                  [redirected]).fetchone()[0])
    assert "02773905100" in final["RedirectTarget"]  # the same number ending in 0


def _in_progress(db) -> int:
    return db.execute("SELECT count(*) FROM attempts WHERE state IN ('dialing', 'unknown', 'placed', 'ringing', 'answered')"
                      ).fetchone()[0]


def test_the_province_provider_dials_only_this_machine(app):
    settings = province_settings(app, SIP_TARGET="10.0.0.5:5060", MAX_CONCURRENT_CALLS=2)
    with pytest.raises(ProviderConfigError) as refused:
        sip_demo.ProvinceProvider(settings, lambda *event: None)
    assert "127.0.0.1" in refused.value.message


def test_without_sipp_the_demo_says_to_run_the_install_script(monkeypatch):
    monkeypatch.setattr(sip_demo.shutil, "which", lambda name: None)
    with pytest.raises(ProviderConfigError) as missing:
        sip_demo.Province()
    assert "scripts/install.sh" in missing.value.message and "sip-tester" in missing.value.message


def test_the_demo_scheduler_dials_the_province_and_the_pages_show_it(app, db, client):
    """`flask monitor run` in the SIP demo, for some seconds: the province started beside the scheduler, the
    demo's numbers dialled there with outcomes from SIP signalling, the pages as in the simulated demo."""
    load_demo(db)
    settings = province_settings(app, DEMO_TIME_SCALE=6)
    stop, seen = threading.Event(), {}
    thread = threading.Thread(target=lambda: seen.update(code=scheduler.run(
        settings, stop_event=stop, on_started=lambda info: seen.update(info))))
    thread.start()
    try:
        deadline = time.monotonic() + 150  # (at most 4 calls at once: on a loaded machine the 404 number comes late)
        while time.monotonic() < deadline:
            ended = db.execute_returning_dicts(
                "SELECT outcome, sip_code FROM attempts WHERE provider = 'sip' AND state = 'ended'")
            if {"answered", "machine", "busy", "unreachable", "redirected", "no_answer"} <= {
                    row["outcome"] for row in ended}:
                break
            time.sleep(0.5)
        running = seen["settings"]
        assert seen["provider"] == "sip" and running.sip_target.startswith("127.0.0.1:")
        assert db.execute("SELECT count(*) FROM attempts WHERE purpose = 'survey'").fetchone()[0] == 0  # no keys there
        assert 0 < running.max_concurrent_calls <= 4
        beat = json.loads(db.execute("SELECT value FROM scheduler_state WHERE key = 'heartbeat'").fetchone()[0])
        assert beat["provider"] == "sip"
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive() and seen["code"] == 0
    port = int(running.sip_target.rsplit(":", 1)[1])
    assert not sip_demo._bound(port)  # SIPp stopped with the scheduler
    calls = db.execute_returning_dicts("SELECT * FROM attempts WHERE provider = 'sip' AND state = 'ended'")
    outcomes = {row["outcome"] for row in calls}
    assert {"answered", "machine", "busy", "unreachable", "redirected", "no_answer"} <= outcomes, outcomes
    assert all(row["sip_code"] for row in calls if row["outcome"] != "provider_error"), calls
    # The province's voices: a person's greeting is answered for sure, a machine's message held for an inspector
    # (beside the demo story's own held calls).
    assert any(row["outcome"] == "answered" and row["answered_by"] == "human" and row["outcome_certain"]
               for row in calls)
    held = [row for row in calls if row["outcome"] == "machine" and not row["outcome_certain"]]
    assert held
    # The demo's story was seeded too (the simulated calls of the editor's dispute and the review queue).
    assert db.execute("SELECT count(*) FROM attempts WHERE plan_key LIKE 'demo-story:%'").fetchone()[0] == 3

    login(client, *INSPECTOR[:2])
    review = client.get("/monitor/review")
    assert review.status_code == 200
    assert any(f'data-attempt="{row["id"]}"' in review.get_data(as_text=True) for row in held)
    evidence = client.get(f"/monitor/attempts/{held[0]['id']}")
    assert evidence.status_code == 200 and "200" in evidence.get_data(as_text=True)
    busy = next(row for row in calls if row["outcome"] == "busy")
    assert str(busy["sip_code"]) in client.get(f"/monitor/attempts/{busy['id']}").get_data(as_text=True)
    report = client.get("/reports/")
    assert report.status_code == 200
    assert client.get("/monitor/attempts").status_code == 200
    check = connect(app.config["DATABASE"])
    try:
        assert check.execute("SELECT count(*) FROM attempts WHERE state != 'ended' AND provider = 'sip' "
                             "AND state != 'planned'").fetchone()[0] == 0  # nothing left hanging
    finally:
        check.conn.close()


def test_the_provinces_voices_are_a_law_wavs_and_need_espeak_ng(tmp_path):
    assert (sip_demo.alaw(0), sip_demo.alaw(32767), sip_demo.alaw(-32768)) == (0xD5, 0xAA, 0x2A)  # G.711's table
    sip_demo.speak(tmp_path)
    for name, (before, _text, after) in sip_demo.VOICES.items():
        data = (tmp_path / f"{name}.wav").read_bytes()
        assert data[:4] == b"RIFF" and int.from_bytes(data[20:22], "little") == 6  # format 6: A-law, as SIPp sends
        assert len(data) - 46 > 8000 * (before + after)  # speech between the silences

    def missing(*args, **kwargs):
        raise FileNotFoundError("espeak-ng")

    with pytest.raises(ProviderConfigError) as refused:
        sip_demo.speak(tmp_path, run=missing)
    assert "scripts/install.sh" in refused.value.message
