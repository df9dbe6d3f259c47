"""Transcription of SIP test calls by a plugged-in command, and the listening time that follows our question.

SIPp answers (tests/sipp/answer.xml: a line that says nothing, so the detection alone cannot tell who answered and
the call is held); tests/transcriber_tool.py plays the speech-to-text command (whisper.cpp's shape: the WAV as
last argument, the transcript on standard output). What it prints must reach the attempt as Twilio's speech
results do and be classified by the same rules; a tool that fails or hangs must change nothing.
"""
from __future__ import annotations

import json
import shlex
import sys
import threading
import time
import wave
from pathlib import Path

import pytest

from monitor import attempts
from monitor.providers import make_provider, sip_prompt, sip_recordings, sip_transcribe
from monitor.providers.sip_media import GAP, NOTICE_AFTER
from registry.clock import utcnow

from .fakes import ingesting_sink
from .sip_peer import SipPeer
from .test_sip_provider import dial_one, sip_settings, wait_for
from .transcriber_tool import SENTENCE

TOOL = Path(__file__).with_name("transcriber_tool.py")


def command(mode: str) -> str:
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(TOOL))} {mode}"


def answered_call(app, db, units, **extra):
    """One test call of SYT answered by SIPp after 0.3 s: (attempt row once the provider has closed, its events as
    (kind, params), the settings, the provider)."""
    with SipPeer("answer.xml", pause_ms=300) as peer:
        settings = sip_settings(app, peer.target, **extra)
        provider = make_provider(settings, ingesting_sink(settings.database, now=utcnow, config=settings))
        try:
            attempt_id = dial_one(db, provider, settings, units["SYT"])
            assert wait_for(db, attempt_id, timeout=30)["state"] == "ended"
        finally:
            provider.close()  # lets the transcription still running finish and its event be delivered
        assert peer.wait(timeout=5) == 0, peer.errors()
    events = [(kind, json.loads(payload)) for kind, payload in db.execute(
        "SELECT kind, payload FROM call_events WHERE attempt_id = ? ORDER BY id", [attempt_id])]
    return attempts.get_attempt(db, attempt_id), events, settings, provider


def left_files(settings) -> list[str]:
    folder = sip_recordings.folder(settings.database)
    return sorted(path.name for path in folder.glob("*")) if folder.exists() else []


@pytest.mark.slow
def test_the_tools_transcript_reaches_the_call_as_a_speech_result_and_the_rules_settle_it(app, db, units):
    row, events, settings, _ = answered_call(app, db, units, SIP_TRANSCRIBE_COMMAND=command("speak"))
    gathers = [params for kind, params in events if kind == "gather"]
    assert len(gathers) == 1 and gathers[0]["GatherStep"] == "answer" and gathers[0]["SpeechResult"] == SENTENCE
    assert "Confidence" not in gathers[0]  # the tool gives none: none is made up
    assert gathers[0]["CallSid"] == row["call_sid"]
    assert [kind for kind, _ in events].index("gather") > [kind for kind, _ in events].index("amd")
    assert row["transcript"] == SENTENCE and row["speech_confidence"] is None
    # The detection alone could not tell (a silent line: unknown); the words a person says settle the call.
    assert row["answered_by"] == "unknown"
    assert (row["outcome"], row["outcome_basis"], row["outcome_certain"]) == ("answered", "transcript", 1)
    assert left_files(settings) == []  # recording off: the capture went once the tool had read it


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_a_tool_that_fails_or_hangs_leaves_the_call_as_the_detection_left_it(app, db, units, mode, monkeypatch,
                                                                             caplog):
    monkeypatch.setattr(sip_transcribe, "TIME_LIMIT", 1.5)
    caplog.set_level("WARNING", logger="monitor.providers.sip_provider")
    started = time.monotonic()
    row, events, settings, _ = answered_call(app, db, units, SIP_TRANSCRIBE_COMMAND=command(mode))
    assert time.monotonic() - started < 25  # a hanging tool is stopped at its limit, the provider closes
    said = {"fail": "failed (exit 3): model not found", "hang": "ran past 1.5 s"}[mode]
    assert any(said in record.getMessage() for record in caplog.records), caplog.text  # logged, as it happened
    assert [kind for kind, _ in events if kind == "gather"] == []
    assert row["transcript"] is None and row["answered_by"] == "unknown" and row["sip_code"] == 200
    assert (row["state"], row["outcome"], row["outcome_certain"]) == ("ended", "answered", 0)  # held for review
    assert left_files(settings) == []


@pytest.mark.slow
def test_without_a_command_nothing_runs(app, db, units):
    row, events, settings, provider = answered_call(app, db, units)
    assert not provider._events.transcriptions.started
    assert "sip-transcribe" not in {thread.name for thread in threading.enumerate()}
    assert [kind for kind, _ in events if kind == "gather"] == [] and row["transcript"] is None
    assert row["outcome_certain"] == 0 and left_files(settings) == []


@pytest.mark.slow
def test_the_listening_time_counts_from_the_end_of_our_question(app, db, units):
    """With recording on the notice and the question take about 12 s: the call still listens SIP_LISTEN_SECONDS
    after them, and the recording (transcribed, kept) holds the whole of it."""
    listen = 1.5
    row, events, settings, _ = answered_call(app, db, units, TWILIO_RECORD=True, SIP_LISTEN_SECONDS=listen,
                                             SIP_TRANSCRIBE_COMMAND=command("speak"))
    notice, question = sip_prompt.prompts(settings, row["id"])
    said = NOTICE_AFTER + sip_prompt.duration(notice) + GAP + sip_prompt.duration(question)
    assert said > 10
    final = next(params for kind, params in reversed(events) if kind == "status")
    assert said + listen - 1 <= int(final["CallDuration"]) <= said + listen + 1.5
    kept = sip_recordings.path(settings.database, row["id"])
    with wave.open(str(kept)) as wav:
        assert wav.getnframes() / wav.getframerate() >= said + listen - 1
    assert row["recording_url"] == sip_recordings.link(row["id"]) and row["transcript"] == SENTENCE
    assert left_files(settings) == [kept.name]  # the recording only: no capture, no work file


# ------------------------------------------------------------------------------------ the step alone


def capture_without_sizes(path: Path, seconds: float) -> Path:
    """A WAV as the stack leaves it while recording: header sizes not filled in yet."""
    samples = b"".join(((i * 37) % 2000 - 1000).to_bytes(2, "little", signed=True) for i in range(int(8000 * seconds)))
    header = (b"RIFF" + (0).to_bytes(4, "little") + b"WAVE" + b"fmt " + (16).to_bytes(4, "little")
              + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
              + (16000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
              + b"data" + (0).to_bytes(4, "little"))
    path.write_bytes(header + samples)
    return path


def test_the_tool_gets_a_whole_8_khz_wav_and_its_output_is_the_transcript(tmp_path):
    capture = capture_without_sizes(tmp_path / "5.capture.wav", 2)
    emitted = []
    job = sip_transcribe.Job(command("speak"), capture, False, 5, "call-5", "+842773851234")
    assert sip_transcribe.run_job(job, lambda *event: emitted.append(event)) == SENTENCE
    ((record, params, kind, key),) = emitted
    assert (record, kind, key) == ({"attempt_id": 5}, "gather", "gather:call-5:answer")
    assert params["SpeechResult"] == SENTENCE and params["CallbackSource"] == "sip"
    assert list(tmp_path.iterdir()) == []  # not kept: the capture and the work file are gone


@pytest.mark.slow
def test_a_tool_that_cannot_start_or_prints_nothing_gives_no_transcript(tmp_path):
    wav = sip_transcribe.whole_wav(capture_without_sizes(tmp_path / "a.capture.wav", 1.5), tmp_path / "a.wav")
    assert sip_transcribe.transcribe(command("speak"), wav) == SENTENCE  # the audio itself is fine
    assert sip_transcribe.transcribe("/nonexistent/whisper-cli", wav) is None
    assert sip_transcribe.transcribe("whisper-cli 'unbalanced", wav) is None
    assert sip_transcribe.transcribe("true", wav) is None  # exit 0, nothing printed
    started = time.monotonic()
    assert sip_transcribe.transcribe(command("hang"), wav, limit=1) is None
    assert 1 <= time.monotonic() - started < 5  # stopped at its limit, not before
    kept = sip_transcribe.Job(command("fail"), wav, True, 6, "call-6", "+842773851234")
    assert sip_transcribe.run_job(kept, lambda *event: pytest.fail("nothing to emit")) is None
    assert wav.exists()  # a recording is kept whatever the tool did
