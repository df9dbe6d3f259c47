"""Automated survey calls over SIP against a real SIP peer: SIPp, started by each test, plays the citizen who
answers our call and presses keys (SIP INFO, application/dtmf-relay); the call is planned, claimed and dialled
as the scheduler does (calls.plan_due, dispatch.claim_due, dispatch.dial) and settled into its case
(calls.settle). The prompts are espeak-ng's (synthesised once for the module and copied into each test's
cache), or a short tone standing for each sentence where a test waits for prompts to end."""
from __future__ import annotations

import json
import shutil
import struct
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from monitor.providers import make_provider, sip_prompt, sip_recordings, sip_survey
from monitor.providers.base import ProviderConfigError, ProviderRejected
from monitor.providers.script import RECORDING_NOTICE
from monitor.scheduling.dispatch import claim_due, dial
from monitor.settings import Settings
from monitor.surveys import calls, cases, keypad, questionnaire

from .fakes import ingesting_sink
from .sip_peer import SipPeer
from .survey_fixtures import NOW, case_row, make_cases
from .test_sip_provider import CALLER, wait_for

QUESTIONS = questionnaire.default()["questions"]
RATINGS = [q["key"] for q in QUESTIONS if q["kind"] == "rating"]
SCRIPT = {"questions": QUESTIONS, "unit_name": "Sở Y tế"}
LATER = NOW + timedelta(minutes=5)
OPEN = {"MAX_CALLS_PER_LINE_PER_HOUR": 0, "MAX_CALLS_PER_LINE_PER_DAY": 0, "MIN_GAP_MINUTES": 0,
        "MAX_CONCURRENT_CALLS": 4}


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> Path:
    """Every sentence of the default questionnaire's call (and the recording notice) spoken by espeak-ng, once."""
    assert shutil.which("espeak-ng"), "espeak-ng is not installed: run scripts/install.sh"
    folder = tmp_path_factory.mktemp("survey-prompts")
    for text in [*sip_survey.spoken(SCRIPT), RECORDING_NOTICE]:
        sip_prompt.synthesise(text, folder)
    return folder


def short_voice(command, **_):
    """espeak-ng standing in: writes 0.4 s of a 440 Hz tone to the file named after -w, whatever the text."""
    samples = [int(8000 * ((n // 9) % 2 * 2 - 1)) for n in range(3200)]
    Path(command[command.index("-w") + 1]).write_bytes(sip_prompt.wav_bytes(samples, 8000))
    return subprocess.CompletedProcess(command, 0)


def survey_settings(app, target: str, **extra) -> Settings:
    return Settings.load({}, {**app.config, **OPEN, "CALL_PROVIDER": "sip", "SIP_TARGET": target,
                              "SIP_CALLER_ID": CALLER, "RING_TIMEOUT": 3, "SIP_RESPONSE_TIMEOUT": 1, **extra})


def telephone_event_pcap(digit: int, path: Path, payload_type: int = 120) -> Path:
    """A pcap of one key as RFC 2833 telephone-events (200 ms: start packets every 20 ms, then three end
    packets), for SIPp's play_pcap_audio, which sends them to our media port as they are."""
    def packet(n: int, at_ms: int, marker: bool, end: bool, duration: int) -> bytes:
        rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | payload_type, n, 24000, 0x05060708)
        event = struct.pack("!BBH", digit, (0x80 if end else 0) | 10, duration * 8)
        udp = struct.pack("!HHHH", 40000, 40000, 8 + len(rtp) + len(event), 0) + rtp + event
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0, 64, 17, 0, bytes([127, 0, 0, 1]),
                         bytes([127, 0, 0, 1]))
        frame = b"\0" * 12 + b"\x08\x00" + ip + udp
        return struct.pack("<IIII", at_ms // 1000, at_ms % 1000 * 1000, len(frame), len(frame)) + frame

    packets = [packet(n, n * 20, n == 0, False, n * 20) for n in range(10)]
    packets += [packet(10 + n, 200 + n, False, True, 200) for n in range(3)]
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + b"".join(packets))
    return path


def call_citizen(app, db, units, scenario: str, prompts: Path | None, *, pcap_key: int | None = None, **extra):
    """One automated case of SYT, called once against SIPp playing `scenario`: (attempt row, case id, the call's
    gather events, SIPp's exit status, its error log). prompts: a folder of synthesised sentences to start the
    cache with (None: every sentence is a short tone); pcap_key: the key SIPp replays as telephone-events."""
    [case_id] = make_cases(db, units["SYT"], ["0912000001"])
    cases.automate(db, [case_id])
    peer = SipPeer(scenario, pause_ms=300)
    if pcap_key is not None:  # read where SIPp runs, as it starts
        telephone_event_pcap(pcap_key, Path(peer._workdir.name) / f"key_{pcap_key}.pcap")
    with peer:
        settings = survey_settings(app, peer.target, **extra)
        cache = sip_prompt.prompt_dir(settings.database)
        if prompts is not None:
            shutil.copytree(prompts, cache, dirs_exist_ok=True)
        else:
            for text in [*sip_survey.spoken(SCRIPT), RECORDING_NOTICE]:
                sip_prompt.synthesise(text, cache, run=short_voice)
        provider = make_provider(settings, ingesting_sink(settings.database, now=LATER, config=settings))
        try:
            assert provider.survey_calls  # so the scheduler plans survey calls for it
            assert calls.plan_due(db, NOW, settings, band="office") == 1
            [row] = claim_due(db, now=NOW, owner="t", limit=5, lease_seconds=60, settings=settings,
                              real_provider=provider.dials_real_numbers)
            assert row["purpose"] == "survey" and row["survey"]["unit_name"] == "Sở Y tế"
            assert dial(db, provider, row, settings=settings, now=lambda: NOW) == "placed"
            attempt = wait_for(db, row["id"], timeout=14)
        finally:
            provider.close()
        exit_code = peer.wait(timeout=5)
        errors = peer.errors()
    assert attempt["state"] == "ended", (attempt, errors)
    events = [(key, json.loads(payload)) for key, payload in db.execute(
        "SELECT dedupe_key, payload FROM call_events WHERE attempt_id = ? AND kind = 'gather' ORDER BY id",
        [attempt["id"]])]
    assert calls.settle(db, LATER, settings) == 1
    return attempt, case_id, events, exit_code, errors


def kept(db, case_id) -> dict:
    return dict(db.execute("SELECT question_key, coalesce(rating, yes) FROM survey_answers WHERE case_id = ?",
                           [case_id]).fetchall())


def contact(db, case_id) -> dict:
    return db.execute_returning_dicts("SELECT * FROM survey_contacts WHERE case_id = ?", [case_id])[0]


def test_the_call_says_what_keys_answer_and_passes_over_the_spoken_comment():
    said = sip_survey.spoken(SCRIPT)
    assert said[0] == keypad.intro("Sở Y tế") and keypad.CONSENT in said
    assert all(keypad.prompt(q) in said for q in QUESTIONS if q["kind"] != "text")
    assert not any("góp ý sau tiếng bíp" in text for text in said)  # nothing transcribes a comment over SIP
    assert {keypad.THANKS, keypad.GOODBYE, keypad.NO_KEY} <= set(said)
    assert keypad.closing("consent", "") == keypad.NO_KEY and keypad.closing("consent", "2") == keypad.GOODBYE
    assert keypad.closing(RATINGS[-1], "4") == keypad.THANKS


def test_the_conversation_waits_out_the_notice_takes_keys_early_and_moves_on_without_one(app):
    """The conversation alone, on a call's audio queue as sip_media keeps it (no SIP stack): the times are the
    SIP thread's monotonic seconds, every prompt a 0.4 s tone."""
    settings = survey_settings(app, "127.0.0.1:5060", TWILIO_RECORD=True)
    cache = sip_prompt.prompt_dir(settings.database)
    for text in [*sip_survey.spoken(SCRIPT), RECORDING_NOTICE]:
        sip_prompt.synthesise(text, cache, run=short_voice)
    emitted = []
    talk = sip_survey.Conversation(settings, SCRIPT, lambda record, params, kind, key: emitted.append(
        (kind, key, params["SurveyStep"], params["Digits"])), clock=lambda: NOW)
    notice, intro, consent = talk.opening()
    assert (intro, consent) == (talk.files[keypad.intro("Sở Y tế")], talk.files[keypad.CONSENT])
    audio = SimpleNamespace(players=["playing"], due=[(10.5, notice), (11.4, intro), (12.3, consent)])
    record = {"sid": "call-1", "attempt_id": 1, "audio": audio, "answered_at": 10.0, "hangup_at": 130.0}
    talk.tick(record, 10.0)  # the audio is up: the consent waits from the end of its prompt (12.7 s)
    talk.key(record, "1", 10.7)  # during the recording notice: not heard
    talk.tick(record, 12.7 + sip_survey.KEY_TIMEOUT - 0.1)
    assert emitted == []
    talk.key(record, "1", 11.5)  # during the introduction: the consent, and the introduction stops
    assert emitted == [("gather", "survey:call-1:consent", "consent", "1")]  # keyed as Twilio's webhooks key it
    first = talk.files[keypad.prompt(QUESTIONS[1])]
    assert audio.players == [] and audio.due == [(11.5, first)]
    talk.tick(record, 11.9 + sip_survey.KEY_TIMEOUT + 0.01)  # no key for the first rating: empty, then the next
    assert emitted[-1][2:] == (RATINGS[0], "") and audio.due[-1][1] == talk.files[keypad.prompt(QUESTIONS[2])]
    for n, key in enumerate([*RATINGS[1:], "problem"]):
        talk.key(record, "5" if key != "problem" else "2", 25.0 + n)
    assert [e[2] for e in emitted] == ["consent", *RATINGS, "problem"]  # the comment is passed over
    assert audio.due == [(29.0, talk.files[keypad.THANKS])] and record["hangup_at"] == pytest.approx(29.9)
    talk.key(record, "3", 29.1)
    talk.tick(record, 60.0)
    assert len(emitted) == 7  # nothing after the last question


def test_a_call_without_a_voice_to_speak_is_refused_on_our_side_before_dialling(app, monkeypatch):
    def mute(text, cache, **_):
        raise ProviderConfigError(sip_prompt.NO_ESPEAK, field="CALL_PROVIDER")

    monkeypatch.setattr(sip_prompt, "synthesise", mute)
    with pytest.raises(ProviderRejected) as refused:
        sip_survey.Conversation(survey_settings(app, "127.0.0.1:5060"), SCRIPT, lambda *a: None, lambda: NOW)
    assert refused.value.our_side and "espeak-ng" in refused.value.message


@pytest.mark.slow
def test_a_citizen_who_agrees_and_rates_by_keypad_completes_the_interview(app, db, units, spoken):
    attempt, case_id, events, exit_code, errors = call_citizen(app, db, units, "survey_answers.xml", spoken)
    assert exit_code == 0, errors  # every INFO answered 200, then our BYE after the thanks
    sid = attempt["call_sid"]
    steps = ["consent", *RATINGS, "problem"]
    assert [(key, params["SurveyStep"], params["Digits"]) for key, params in events] == \
        [(f"survey:{sid}:{step}", step, digit) for step, digit in zip(steps, "1544352")]
    assert attempt["outcome"] == "answered" and attempt["answered_by"] in (None, "")  # no machine detection
    assert contact(db, case_id)["disposition"] == "complete" and case_row(db, case_id)["state"] == "closed"
    assert kept(db, case_id) == {"consent": 1, **dict(zip(RATINGS, (5, 4, 4, 3, 5))), "problem": 0}


@pytest.mark.slow
def test_a_citizen_who_presses_2_hears_goodbye_and_we_hang_up(app, db, units, spoken):
    attempt, case_id, events, exit_code, errors = call_citizen(app, db, units, "survey_declines.xml", spoken)
    assert exit_code == 0, errors  # SIPp received our BYE
    assert [(p["SurveyStep"], p["Digits"]) for _, p in events] == [("consent", "2")]
    # The goodbye was said before the hang-up: the key came about a second after the answer.
    goodbye = sip_prompt.duration(sip_prompt.synthesise(keypad.GOODBYE, spoken))
    assert attempt["duration_seconds"] >= int(goodbye)
    assert contact(db, case_id)["disposition"] == "refusal"
    assert kept(db, case_id) == {"consent": 0}


@pytest.mark.slow
def test_a_citizen_who_hangs_up_half_way_keeps_the_answers_given(app, db, units, spoken):
    attempt, case_id, events, exit_code, errors = call_citizen(app, db, units, "survey_hangs_up.xml", spoken)
    assert exit_code == 0, errors  # our 200 to SIPp's BYE
    assert [(p["SurveyStep"], p["Digits"]) for _, p in events] == [("consent", "1"), (RATINGS[0], "4"),
                                                                    (RATINGS[1], "2")]
    assert attempt["outcome"] == "answered"
    assert contact(db, case_id)["disposition"] == "break_off"  # 2 of 5 ratings
    assert kept(db, case_id) == {"consent": 1, RATINGS[0]: 4, RATINGS[1]: 2}
    assert case_row(db, case_id)["state"] == "open"  # a break-off is offered again later


@pytest.mark.slow
def test_no_key_at_the_consent_hands_the_case_to_an_operator_and_the_call_is_recorded(app, db, units, monkeypatch):
    monkeypatch.setattr(sip_survey, "KEY_TIMEOUT", 1.5)
    started = time.monotonic()
    attempt, case_id, events, exit_code, errors = call_citizen(app, db, units, "answer.xml", None,
                                                               TWILIO_RECORD=True)
    assert exit_code == 0, errors  # we hung up after the closing words
    assert [(p["SurveyStep"], p["Digits"]) for _, p in events] == [("consent", "")]
    assert time.monotonic() - started < 15
    assert contact(db, case_id)["disposition"] == "unknown"
    assert case_row(db, case_id)["mode"] == "operator" and kept(db, case_id) == {}
    # Recording on: the notice was played first, and the far end's audio is kept as for a test call.
    assert attempt["recording_url"] == sip_recordings.link(attempt["id"])
    assert sip_recordings.path(app.config["DATABASE"], attempt["id"]).exists()


@pytest.mark.slow
def test_a_key_sent_as_an_rfc_2833_telephone_event_is_heard_too(app, db, units):
    attempt, case_id, events, exit_code, errors = call_citizen(app, db, units, "survey_declines_rfc2833.xml", None,
                                                               pcap_key=2)
    assert exit_code == 0, errors
    assert [(p["SurveyStep"], p["Digits"]) for _, p in events] == [("consent", "2")]
    assert contact(db, case_id)["disposition"] == "refusal"
