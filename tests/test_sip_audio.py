"""SIP calls that speak, record and tell a person from a machine: SIPp plays a greeting synthesised by espeak-ng.

The hotline's voice is real speech (espeak-ng's Vietnamese voice) sent by SIPp as G.711 A-law RTP
(`rtp_stream` of tests/sipp/greeting.xml); our side plays its question through pjsua2, captures the far end's
audio, runs answering-machine detection on it and, with recording on, keeps it for the evidence page.
"""
from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from monitor.providers import make_provider, sip_amd, sip_media, sip_prompt, sip_recordings
from monitor.providers.base import ProviderConfigError
from monitor.scheduling import sip_demo
from registry.clock import utcnow

from .conftest import login, make_editor
from .fakes import ingesting_sink
from .sip_peer import SipPeer
from .test_sip_provider import dial_one, sip_settings, wait_for

HUMAN_WORDS = "A lô, xin nghe."
MACHINE_WORDS = ("Xin chào, quý khách đã gọi đến đường dây nóng của Sở Y tế tỉnh Đồng Tháp. Hiện tại chúng tôi "
                 "không thể trả lời cuộc gọi của quý khách, vui lòng gọi lại trong giờ hành chính.")


def speech(text: str, tmp_path: Path) -> list[int]:
    """The text spoken by espeak-ng's Vietnamese voice, as 8 kHz 16-bit samples."""
    assert shutil.which("espeak-ng"), "espeak-ng is not installed: run scripts/install.sh"
    raw = tmp_path / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(raw), text], check=True, capture_output=True)
    converted = sip_prompt.to_call_audio(raw.read_bytes())
    with wave.open(str(_write(tmp_path / "speech.wav", converted))) as wav:
        return list(memoryview(wav.readframes(wav.getnframes())).cast("h"))


def silence(seconds: float) -> list[int]:
    return [0] * int(8000 * seconds)


def pcm(samples: list[int]) -> bytes:
    return b"".join(s.to_bytes(2, "little", signed=True) for s in samples)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def alaw_wav(samples: list[int], path: Path) -> Path:
    """A WAV of A-law samples (format 6), what SIPp's rtp_stream sends as payload type 8 (the demo province's)."""
    return _write(path, sip_demo.alaw_wav(samples))


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    """The two hotlines' voices: a person's short greeting then waiting, and a long recorded message."""
    folder = tmp_path_factory.mktemp("voices")
    human = silence(0.4) + speech(HUMAN_WORDS, folder) + silence(6)
    machine = silence(0.3) + speech(MACHINE_WORDS, folder)
    return {"human": human, "machine": machine}


# ------------------------------------------------------------------------------- detection alone (pure)


def test_a_short_greeting_then_silence_is_a_person(voices):
    verdict = sip_amd.detect_pcm(pcm(voices["human"]))
    assert (verdict.verdict, verdict.cause) == ("human", "HUMAN"), verdict
    assert 300 <= verdict.initial_silence_ms <= 700 and 0 < verdict.greeting_ms < 2000 and verdict.words >= 1
    assert verdict.after_greeting_ms >= 800
    assert verdict.event_params()["AnsweredBy"] == "human"


def test_a_long_continuous_message_is_a_machine(voices):
    verdict = sip_amd.detect_pcm(pcm(voices["machine"]))
    assert verdict.verdict == "machine" and verdict.cause in ("LONGGREETING", "MAXWORDS"), verdict
    # A machine found from its greeting alone is AMD's weakest machine verdict: an inspector confirms it.
    assert verdict.event_params()["AnsweredBy"] == "machine_start"


def test_silence_tells_nothing():
    verdict = sip_amd.detect_pcm(pcm(silence(6)))
    assert (verdict.verdict, verdict.cause, verdict.words) == ("unknown", "INITIALSILENCE", 0)
    assert sip_amd.detect_pcm(b"").verdict == "unknown"  # nothing heard at all (a call hung up at once)


def test_the_measures_travel_with_the_verdict(voices):
    params = sip_amd.detect_pcm(pcm(voices["human"])).event_params()
    assert set(params) >= {"AnsweredBy", "MachineDetectionDuration", "AmdCause", "AmdInitialSilenceMs",
                           "AmdGreetingMs", "AmdWords", "AmdAfterGreetingMs"}
    assert all(isinstance(value, str) for value in params.values())


def test_prompts_are_spoken_once_at_8_khz_and_cached(app, tmp_path):
    settings = sip_settings(app, "127.0.0.1:5060")
    first = sip_prompt.prompts(settings, 7)
    assert len(first) == 1 and first[0].parent == sip_prompt.prompt_dir(settings.database)
    with wave.open(str(first[0])) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() > 8000  # a question of a few seconds
    stamp = first[0].stat().st_mtime_ns
    assert sip_prompt.prompts(settings, 7) == first and first[0].stat().st_mtime_ns == stamp  # from the cache
    recording = sip_settings(app, "127.0.0.1:5060", TWILIO_RECORD=True)
    notice, question = sip_prompt.prompts(recording, 7)
    assert question == first[0] and sip_prompt.duration(notice) > 3  # the notice comes first


def test_a_recorded_prompt_replaces_the_spoken_question_and_a_bad_one_stops_start(app, tmp_path):
    province = tmp_path / "cau-hoi.wav"
    with wave.open(str(province), "wb") as wav:  # 16 kHz stereo, as a province might record it
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(b"\x10\x00\x20\x00" * 16000)
    settings = sip_settings(app, "127.0.0.1:5060", SIP_PROMPT_WAV=str(province))
    sip_prompt.check(settings)
    (played,) = sip_prompt.prompts(settings, 3)
    assert sip_prompt.duration(played) == pytest.approx(1.0, abs=0.01)
    for bad in (tmp_path / "khong-co.wav", _write(tmp_path / "khong-phai.wav", b"not a wav")):
        with pytest.raises(ProviderConfigError) as refused:
            sip_prompt.check(sip_settings(app, "127.0.0.1:5060", SIP_PROMPT_WAV=str(bad)))
        assert "FLASK_SIP_PROMPT_WAV" in refused.value.message and refused.value.field == "SIP_PROMPT_WAV"


def test_without_espeak_ng_the_provider_does_not_start(app, monkeypatch):
    monkeypatch.setattr(sip_prompt.shutil, "which", lambda name: None)
    with pytest.raises(ProviderConfigError) as refused:
        make_provider(sip_settings(app, "127.0.0.1:5060"), lambda *event: None)
    assert "espeak-ng" in refused.value.message and "install.sh" in refused.value.message


def test_captures_left_by_a_stopped_process_are_deleted_and_recordings_kept(app):
    database = app.config["DATABASE"]
    folder = sip_recordings.folder(database)
    folder.mkdir(parents=True)
    left, kept = sip_recordings.capture_path(database, 4), sip_recordings.path(database, 5)
    left.write_bytes(b"RIFF")
    kept.write_bytes(b"RIFF")
    sip_media.clear_captures(database)
    assert not left.exists() and kept.exists()


# ------------------------------------------------------------------------------- through SIPp


def call_with_voice(app, db, units, samples, *, pause_ms=1000, listen=3.5, **extra):
    """One test call of SYT against SIPp answering with `samples` as its voice: (attempt row, events)."""
    peer = SipPeer("greeting.xml", pause_ms=pause_ms)
    alaw_wav(samples, Path(peer._workdir.name) / "greeting.wav")  # SIPp reads it where it runs, as it starts
    with peer:
        settings = sip_settings(app, peer.target, SIP_LISTEN_SECONDS=listen, **extra)
        provider = make_provider(settings, ingesting_sink(settings.database, now=utcnow, config=settings))
        try:
            attempt_id = dial_one(db, provider, settings, units["SYT"])
            row = wait_for(db, attempt_id, timeout=listen + 20)  # our question is said before we listen
        finally:
            provider.close()
        assert peer.wait(timeout=5) == 0, peer.errors()  # SIPp saw the whole dialogue, our BYE included
    kinds = [kind for (kind,) in db.execute("SELECT kind FROM call_events WHERE attempt_id = ? ORDER BY id",
                                             [attempt_id])]
    return row, kinds, settings


@pytest.mark.slow
def test_a_person_who_answers_with_a_short_greeting_is_answered_and_certain(app, db, units, voices):
    row, kinds, settings = call_with_voice(app, db, units, voices["human"])
    assert row["state"] == "ended" and row["outcome"] == "answered" and row["answered_by"] == "human"
    assert (row["outcome_basis"], row["outcome_certain"]) == ("amd", 1)
    assert 1 <= row["answer_seconds"] <= 2 and row["sip_code"] == 200
    assert kinds.count("amd") == 1 and kinds.index("amd") < len(kinds) - 1  # before the final status
    assert row["recording_url"] is None  # recording is off: nothing kept, not even the capture
    assert not list(sip_recordings.folder(settings.database).glob("*.wav"))


@pytest.mark.slow
def test_a_long_recorded_message_is_a_machine_held_for_review(app, db, units, voices):
    row, kinds, _ = call_with_voice(app, db, units, voices["machine"], pause_ms=300)
    assert row["outcome"] == "machine" and row["answered_by"] == "machine_start"
    assert (row["outcome_basis"], row["outcome_certain"]) == ("amd", 0)  # a heuristic: an inspector confirms
    assert "AMD" in row["outcome_detail"]


@pytest.mark.slow
def test_recording_on_keeps_the_far_end_and_the_evidence_page_plays_it_to_its_readers(app, db, units, voices,
                                                                                        inspector):
    row, _, settings = call_with_voice(app, db, units, voices["human"], TWILIO_RECORD=True)
    attempt_id = row["id"]
    assert row["recording_url"] == f"/monitor/attempts/{attempt_id}/recording"
    kept = sip_recordings.path(settings.database, attempt_id)
    with wave.open(str(kept)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        heard = wav.readframes(wav.getnframes())
    assert wav.getnframes() > 8000 * 2.5  # the call's seconds, from the answer on
    assert sip_amd.detect_pcm(heard).verdict == "human"  # the greeting is in it
    assert not kept.with_name(f"{attempt_id}.capture.wav").exists()

    outsider = make_editor(db, units["XMA"], "bientap@myan.test.vn")
    own = make_editor(db, units["SYT"], "bientap@soyte.test.vn")
    url = row["recording_url"]
    for who, status in ((None, 302), (outsider, 404), (own, 200), (inspector, 200)):
        client = app.test_client()
        if who:
            assert login(client, who["email"], who["password"]).status_code == 302
        response = client.get(url)
        assert response.status_code == status, who
        if status == 200:
            assert response.mimetype == "audio/wav" and response.data == kept.read_bytes()
            page = client.get(f"/monitor/attempts/{attempt_id}").get_data(as_text=True)
            assert f'<audio controls preload="none" src="{url}"' in page
    assert app.test_client().get(f"/monitor/attempts/{attempt_id + 1}/recording").status_code == 302
    client = app.test_client()
    login(client, inspector["email"], inspector["password"])
    assert client.get(f"/monitor/attempts/{attempt_id + 1}/recording").status_code == 404  # no such attempt
    assert client.get("/monitor/attempts/..%2F..%2Fetc/recording").status_code == 404


def test_an_attempt_without_a_recording_file_serves_none(app, db, units, inspector):
    """A link on the row but no file (deleted, or another provider's row): 404, never an error."""
    from monitor import attempts

    now = utcnow()
    attempt_id = attempts.create_attempt(db, unit_id=units["SYT"], number="+842773851234", planned_at=now,
                                         band="office", now=now)
    client = app.test_client()
    login(client, inspector["email"], inspector["password"])
    assert client.get(f"/monitor/attempts/{attempt_id}/recording").status_code == 404
