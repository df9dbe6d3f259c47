"""The SIP provider against a real SIP peer: SIPp started by each test on 127.0.0.1, calls placed through pjsua2.

Each call goes the way the scheduler's do (attempt planned, claimed, dialled by dispatch, events through the
sink into attempts.ingest_event), and the outcome is read back from the attempt row.
"""
from __future__ import annotations

import gc
import json
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from monitor import attempts
from monitor.attempts.outcomes import COUNTS_AGAINST
from monitor.providers import ProviderConfigError, make_provider
from monitor.providers import sip_signalling as sig
from monitor.providers.base import ProviderRejected, ProviderUnavailable, dial_refusal
from monitor.providers.sip_provider import MAX_CALLS
from monitor.scheduling import dispatch
from monitor.scheduling.dispatcher import Dispatcher
from monitor.settings import Settings, SettingsError
from registry.clock import utcnow
from registry.db import connect

from .conftest import change_settings
from .fakes import ingesting_sink
from .sip_peer import SipPeer, free_port

CALLER = "02773851000"


def sip_settings(app, target: str, **extra) -> Settings:
    return Settings.load({}, {"CALL_PROVIDER": "sip", "SIP_TARGET": target, "SIP_CALLER_ID": CALLER,
                              "DATABASE": app.config["DATABASE"], "RING_TIMEOUT": 2, "SIP_LISTEN_SECONDS": 0.5,
                              "SIP_RESPONSE_TIMEOUT": 1, "MIN_GAP_MINUTES": 0, **extra})


def dial_one(db, provider, settings, unit_id) -> int:
    """Plan one test of the unit now, claim it and dial it as the dispatcher does; the attempt's id."""
    now = utcnow()
    number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()[0]
    attempt_id = attempts.create_attempt(db, unit_id=unit_id, number=number, planned_at=now, band="office", now=now)
    rows = dispatch.claim_due(db, now=now, owner="test", limit=1, lease_seconds=60, settings=settings,
                              real_provider=provider.dials_real_numbers)
    assert [row["id"] for row in rows] == [attempt_id]
    assert dispatch.dial(db, provider, rows[0], settings=settings) == "placed"
    return attempt_id


def wait_for(db, attempt_id, state="ended", timeout=20.0) -> dict:  # an answered call: question + listening
    deadline = time.monotonic() + timeout
    while True:
        row = attempts.get_attempt(db, attempt_id)
        if row["state"] == state or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def final_event(db, attempt_id) -> dict:
    payloads = [json.loads(p) for (p,) in db.execute(
        "SELECT payload FROM call_events WHERE attempt_id = ? ORDER BY sequence", [attempt_id])]
    return payloads[-1]


def call_through(app, db, units, scenario, *, pause_ms=300, transport="udp", peer_ends=True, **extra):
    """One test call of SYT's hotline against SIPp playing `scenario`: (attempt row, final event, SIPp's exit
    status or None when the peer is not expected to end by itself, its error log)."""
    with SipPeer(scenario, pause_ms=pause_ms, transport=transport) as peer:
        settings = sip_settings(app, peer.target, SIP_TRANSPORT=transport, **extra)
        provider = make_provider(settings, ingesting_sink(settings.database, now=utcnow, config=settings))
        try:
            attempt_id = dial_one(db, provider, settings, units["SYT"])
            row = wait_for(db, attempt_id)
        finally:
            provider.close()
        exit_code = peer.wait(timeout=5) if peer_ends else None
        assert row["state"] == "ended", (row, peer.errors())
        assert provider.placed == [(attempt_id, row["call_sid"])]  # one call, its Call-ID the attempt's sid
        return row, final_event(db, attempt_id), exit_code, peer.errors()


# ------------------------------------------------------------------------------- outcomes from signalling


def test_answered_after_ringing_gives_seconds_to_answer_and_hangs_up(app, db, units):
    row, final, exit_code, errors = call_through(app, db, units, "answer.xml", pause_ms=1500)
    assert exit_code == 0, errors  # SIPp saw our ACK and our BYE: the whole dialogue, in order
    assert row["outcome"] == "answered" and row["sip_code"] == 200 and row["call_status"] == "completed"
    # Whole seconds between the ringing and the answer stamps (one-second resolution): 1.5 s reads 1 or 2.
    assert 1 <= row["answer_seconds"] <= 2
    assert row["ringing_at"] and row["answered_at"] and row["provider"] == "sip"
    assert final["From"] == CALLER and final["To"] == "+842773851234"
    # Half a second of a silent line tells the machine detection nothing: who answered needs an inspector.
    assert row["answered_by"] == "unknown"
    assert (row["outcome_basis"], row["outcome_certain"]) == ("signalling", 0)


@pytest.mark.parametrize("scenario, outcome, code, words", [
    ("busy_486.xml", "busy", 486, "máy bận"),
    ("unreachable_404.xml", "unreachable", 404, "Không liên lạc được"),
    ("unavailable_480.xml", "no_answer", 480, "không ai nghe máy"),
    ("declined_603.xml", "busy", 603, "từ chối cuộc gọi"),
    ("redirect_302.xml", "redirected", 302, "302"),
    ("trunk_503.xml", "provider_error", 503, "phía hệ thống"),
])
def test_final_responses_become_outcomes_with_their_sip_code(app, db, units, scenario, outcome, code, words):
    row, final, exit_code, errors = call_through(app, db, units, scenario)
    assert exit_code == 0, errors
    assert (row["outcome"], row["sip_code"], row["outcome_certain"]) == (outcome, code, 1)
    assert words in row["outcome_detail"]
    assert row["answered_at"] is None


def test_a_redirect_keeps_its_target_and_is_never_followed(app, db, units):
    row, final, exit_code, errors = call_through(app, db, units, "redirect_302.xml")
    assert row["outcome"] == "redirected" and "02773999888" in final["RedirectTarget"]
    assert exit_code == 0, errors  # SIPp got the ACK and no second INVITE to the new target


def test_early_media_is_not_an_answer(app, db, units):
    row, final, exit_code, errors = call_through(app, db, units, "early_media_486.xml")
    assert exit_code == 0, errors
    assert row["outcome"] == "busy" and row["sip_code"] == 486
    assert row["ringing_at"] is not None and row["answered_at"] is None and row["answer_seconds"] is None


def test_diversion_headers_are_kept_as_evidence(app, db, units):
    row, final, exit_code, errors = call_through(app, db, units, "diverted_486.xml")
    assert row["outcome"] == "redirected" and row["forwarded_from"] == "02773851234"  # tests/test_sip_diversion.py
    assert "Diversion: <sip:02773851234@127.0.0.1>;reason=unconditional" in final["Diversion"]
    assert "History-Info:" in final["Diversion"]


def test_ringing_until_the_ring_timeout_is_no_answer(app, db, units):
    row, final, exit_code, errors = call_through(app, db, units, "ring_out.xml", RING_TIMEOUT=2, SIP_RESPONSE_TIMEOUT=1)
    assert exit_code == 0, errors  # SIPp received our CANCEL and answered it
    assert (row["outcome"], row["sip_code"], row["call_status"]) == ("no_answer", 487, "no-answer")


def test_a_slow_carrier_that_said_trying_is_waited_for(app, db, units):
    # 100 Trying at once, ringing only after 1.2 s: longer than SIP_RESPONSE_TIMEOUT, yet the trunk is alive.
    row, final, exit_code, errors = call_through(app, db, units, "slow_trying_486.xml", pause_ms=1200,
                                                 SIP_RESPONSE_TIMEOUT=1, RING_TIMEOUT=5)
    assert exit_code == 0, errors
    assert (row["outcome"], row["sip_code"]) == ("busy", 486)


def test_tcp_transport(app, db, units):
    row, final, exit_code, errors = call_through(app, db, units, "busy_486.xml", transport="tcp")
    assert exit_code == 0, errors
    assert (row["outcome"], row["sip_code"]) == ("busy", 486)


# ------------------------------------------------------------------------------------------- our side


def test_credentials_refused_by_our_trunk_are_our_side(app, db, units):
    row, final, exit_code, errors = call_through(app, db, units, "auth_refused.xml", SIP_USERNAME="hotline",
                                                 SIP_PASSWORD="wrong")
    assert exit_code == 0, errors  # the second INVITE carried our digest credentials (SIPp checked them)
    assert (row["outcome"], row["sip_code"]) == ("provider_error", 401)
    assert not COUNTS_AGAINST[row["outcome"]]


def test_a_trunk_that_never_answers_is_our_side(app, db, units):
    row, final, exit_code, errors = call_through(app, db, units, "silent.xml", peer_ends=False, SIP_RESPONSE_TIMEOUT=1)
    assert row["outcome"] == "provider_error" and row["sip_code"] is None
    assert final["ErrorCode"] == "sip_no_response" and "sip_no_response" in row["error"]


def test_nobody_listening_over_tcp_is_our_side(app, db, units):
    settings = sip_settings(app, f"127.0.0.1:{free_port(socket.SOCK_STREAM)}", SIP_TRANSPORT="tcp")
    provider = make_provider(settings, ingesting_sink(settings.database, now=utcnow, config=settings))
    try:
        attempt_id = dial_one(db, provider, settings, units["SYT"])
        row = wait_for(db, attempt_id)
    finally:
        provider.close()
    assert row["outcome"] == "provider_error" and row["sip_code"] is None and row["error"].startswith("sip_")


def test_the_dispatcher_places_calls_at_once_from_its_worker_threads(app, db, units):
    with SipPeer("busy_486.xml", pause_ms=300, calls=2) as peer:
        settings = sip_settings(app, peer.target, CALLS_PER_SECOND=0, MAX_CONCURRENT_CALLS=2)
        provider = make_provider(settings, ingesting_sink(settings.database, now=utcnow, config=settings))
        now = utcnow()
        ids = [attempts.create_attempt(db, unit_id=units[code], number=number, planned_at=now, band="office", now=now)
               for code, number in (("SYT", "+842773851234"), ("XMA", "+84912345678"))]
        dispatcher = Dispatcher(settings, provider, connect=lambda: connect(settings.database), workers=2)
        try:
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline and any(attempts.get_attempt(db, i)["state"] != "ended" for i in ids):
                dispatcher.step()
                time.sleep(0.05)
        finally:
            dispatcher.close()
            provider.close()
        assert peer.wait(timeout=5) == 0, peer.errors()
    rows = [attempts.get_attempt(db, i) for i in ids]
    assert [(r["outcome"], r["sip_code"]) for r in rows] == [("busy", 486), ("busy", 486)]
    assert sorted(i for i, _ in provider.placed) == ids and dispatcher.results == {"placed": 2}


def test_a_call_beyond_the_stacks_ceiling_is_refused_as_unavailable_and_nothing_breaks(app):
    with SipPeer("ring_out.xml", calls=MAX_CALLS) as peer:
        settings = sip_settings(app, peer.target, RING_TIMEOUT=10)
        events = []
        provider = make_provider(settings, lambda *event: events.append(event))
        try:
            for i in range(MAX_CALLS):
                provider.place_call({"id": i + 1, "number": "+842773851234", "is_demo": 0})
            with pytest.raises(ProviderUnavailable):
                provider.place_call({"id": 99, "number": "+842773851234", "is_demo": 0})
        finally:
            provider.close()  # hangs up the ringing calls: SIPp gets its CANCELs
        # Nothing of the stopped stack is left for this thread to free (that would abort the process).
        gc.collect()
        assert peer.wait(timeout=5) == 0, peer.errors()
    finals = {event[0]: event[1]["CallStatus"] for event in events if event[1]["CallStatus"] == "canceled"}
    assert finals == {i + 1: "canceled" for i in range(MAX_CALLS)}
    assert [attempt_id for attempt_id, _ in provider.placed] == list(range(1, MAX_CALLS + 1))


# ------------------------------------------------------------------------------------- crashes, once only


def test_peer_killed_mid_call_loses_no_attempt_and_never_dials_twice(app, db, units):
    with SipPeer("answer.xml", pause_ms=200) as peer:
        settings = sip_settings(app, peer.target, SIP_LISTEN_SECONDS=1.5, STALE_CALL_SECONDS=1)
        provider = make_provider(settings, ingesting_sink(settings.database, now=utcnow, config=settings))
        try:
            attempt_id = dial_one(db, provider, settings, units["SYT"])
            assert wait_for(db, attempt_id, "answered")["state"] == "answered"
            peer.kill()  # in the middle of the conversation: our BYE will find nobody
            row = wait_for(db, attempt_id)
            counts = dispatch.recover(db, provider, utcnow() + timedelta(seconds=5), settings)
        finally:
            provider.close()
    assert row["outcome"] == "answered" and row["sip_code"] == 200
    assert counts == {} and len(provider.placed) == 1
    assert attempts.get_attempt(db, attempt_id)["outcome"] == "answered"


def test_our_process_dying_mid_call_is_reconciled_without_a_second_dial(app, db, units):
    with SipPeer("ring_out.xml") as peer:
        settings = sip_settings(app, peer.target, RING_TIMEOUT=10, STALE_CALL_SECONDS=1)
        alive = {"yes": True}
        deliver = ingesting_sink(settings.database, now=utcnow, config=settings)

        def sink(*event):  # after the "crash", nothing this process knew reaches the database
            if alive["yes"]:
                deliver(*event)

        first = make_provider(settings, sink)
        try:
            attempt_id = dial_one(db, first, settings, units["SYT"])
            assert wait_for(db, attempt_id, "ringing")["state"] == "ringing"
        finally:
            alive["yes"] = False
            first.close()
        second = make_provider(settings, deliver)  # the next scheduler process knows nothing of that call
        try:
            counts = dispatch.recover(db, second, utcnow() + timedelta(seconds=5), settings)
        finally:
            second.close()
    row = attempts.get_attempt(db, attempt_id)
    assert counts == {"ended": 1}
    assert row["outcome"] == "provider_error" and "không tính cho đơn vị" in row["outcome_detail"]
    assert len(first.placed) == 1 and second.placed == []


# ------------------------------------------------------------------------------------ policy, settings


def test_a_domestic_line_dials_short_and_1800_numbers_never_emergency_or_1900(app):
    provider = make_provider(sip_settings(app, "127.0.0.1:5060"), sink=None)
    try:
        assert dial_refusal(provider, "1022") is None and dial_refusal(provider, "+8418001091") is None
        assert dial_refusal(provider, "+842773851234") is None and dial_refusal(provider, "+84912345678") is None
        assert dial_refusal(provider, "113").code == "emergency_number"
        assert dial_refusal(provider, "+8419001234").code == "dial_policy"  # 1900: the caller pays a premium
        with pytest.raises(ProviderRejected) as demo:
            provider.place_call({"id": 1, "number": "+842773851234", "is_demo": 1})
        assert demo.value.code == "demo_number" and provider.placed == []
    finally:
        provider.close()


def test_numbers_go_in_the_request_uri_as_dialled_domestically():
    assert sig.domestic("+842773851234") == "02773851234" and sig.domestic("1022") == "1022"
    assert sig.domestic("+84912345678") == "0912345678" and sig.domestic("+8418001091") == "18001091"
    assert sig.request_uri("+842773851234", "10.0.0.5", 5060, "udp") == "sip:02773851234@10.0.0.5:5060"
    assert sig.request_uri("1022", "pbx", 5061, "tls") == "sips:1022@pbx:5061;transport=tls"
    assert sig.request_uri("1022", "pbx", 5060, "tcp") == "sip:1022@pbx:5060;transport=tcp"


@pytest.mark.parametrize("target", ["", "10.0.0.5", "10.0.0.5:0", "10.0.0.5:99999", "a b:5060"])
def test_a_wrong_target_names_the_setting(app, target):
    with pytest.raises(ProviderConfigError) as refused:
        make_provider(sip_settings(app, target), sink=None)
    assert "FLASK_SIP_TARGET" in refused.value.message


@pytest.mark.parametrize("concurrent", [0, 5])
def test_more_calls_at_once_than_the_stack_takes_stops_start_up(app, concurrent):
    with pytest.raises(ProviderConfigError) as refused:
        make_provider(sip_settings(app, "127.0.0.1:5060", MAX_CONCURRENT_CALLS=concurrent), sink=None)
    assert "FLASK_MAX_CONCURRENT_CALLS" in refused.value.message


def test_a_wrong_transport_stops_start_up_naming_the_variable():
    with pytest.raises(SettingsError) as refused:
        Settings.load({"FLASK_SIP_TRANSPORT": "sctp"})
    assert "FLASK_SIP_TRANSPORT" in refused.value.message


@pytest.mark.parametrize("code, remote, ours, rang, status, sip", [
    (486, True, None, True, "busy", "486"),
    (600, True, None, False, "busy", "600"),
    (408, True, None, True, "no-answer", "408"),
    (408, False, None, False, "failed", None),  # the stack's own timeout: nobody signalled anything
    (503, False, None, False, "failed", None),  # a transport error, made up locally
    (487, False, sig.RING_TIMEOUT, True, "no-answer", "487"),
    (487, False, sig.RING_TIMEOUT, False, "failed", None),  # never rang: our side
    (487, False, sig.CLOSING, True, "canceled", None),
    (0, False, sig.NO_RESPONSE, False, "failed", None),
])
def test_final_params(code, remote, ours, rang, status, sip):
    params = sig.final_params(code, "x", remote=remote, answered=False, duration=0, ours=ours, rang=rang)
    assert params["CallStatus"] == status and params.get("SipResponseCode") == sip
    if sip is None and status == "failed":
        assert params["ErrorCode"].startswith("sip_")


def test_only_the_sip_provider_imports_the_sip_stack():
    root = Path(__file__).resolve().parent.parent
    importers = sorted(str(path.relative_to(root)) for folder in ("monitor", "registry", "bench") if (root / folder).exists()
                       for path in (root / folder).rglob("*.py")
                       if re.search(r"^\s*(import|from)\s+pjsua2\b", path.read_text(encoding="utf-8"), re.M))
    assert importers == ["monitor/providers/sip_provider.py"]


def test_monitor_call_places_one_call_over_sip_and_prints_the_sip_code(app, runner, units):
    with SipPeer("declined_603.xml") as peer:
        change_settings(app, CALL_PROVIDER="sip", SIP_TARGET=peer.target, SIP_CALLER_ID=CALLER, RING_TIMEOUT=2,
                        SIP_RESPONSE_TIMEOUT=1)
        result = runner.invoke(args=["monitor", "call", "SYT", "--json"])
        assert peer.wait(timeout=5) == 0, peer.errors()
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["final"] and printed["outcome"] == "busy" and printed["sip_code"] == 603


def test_starting_the_stack_prints_nothing_on_stdout():
    # `monitor call --json` prints one JSON object on stdout: PJSIP's start-up lines must not land there.
    script = ("from monitor.settings import Settings\n"
              "from monitor.providers.sip_provider import SipProvider\n"
              "SipProvider(Settings.load({}, {'CALL_PROVIDER': 'sip', 'SIP_TARGET': '127.0.0.1:5099'}), None).close()\n"
              "print('{}')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "{}\n" and "pjlib" in done.stderr
