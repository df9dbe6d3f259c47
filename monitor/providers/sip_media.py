"""An answered SIP call's audio: the prompts it plays, the far end's audio it captures, what that audio shows.

Used on the SIP thread only, with the pjsua2 module handed in by sip_provider (the only module importing it).
From the answer on, the far end's audio (never ours) goes to a WAV recorder; the prompts of sip_prompt are
played in turn: with recording on, the recording notice first (half a second after the answer, before
anything else is said), then the question; with recording off, the question once the greeting has had
GREETING_SECONDS (a person says "A lô" and waits). When the call ends, the capture's first seconds go to
answering-machine detection (sip_amd); with recording on the capture is the call's recording (sip_recordings,
linked from the evidence page), with recording off it is deleted as soon as the detection has run, or, when a
transcription tool is set (SIP_TRANSCRIBE_COMMAND), once that tool has run (sip_transcribe). A test call listens
SIP_LISTEN_SECONDS from the end of our last prompt (so the answer to the question is heard, however long the
notice and the question are), never past CALL_TIME_LIMIT_SECONDS from the answer.
"""
from __future__ import annotations

import logging
from pathlib import Path

from monitor.providers import sip_amd, sip_recordings, sip_transcribe
from monitor.providers.sip_prompt import duration

log = logging.getLogger("monitor.providers.sip_provider")

NOTICE_AFTER = 0.5  # seconds from the answer to the recording notice
GREETING_SECONDS = 2.0  # seconds left to the greeting before the question, without recording
GAP = 0.5  # seconds between two prompts


class CallAudio:
    """The players and the recorder of one call; dropped (and so freed) on the SIP thread."""

    def __init__(self, pj, media, capture: Path, keep: bool, prompts: list[Path], now: float, command: str = ""):
        self.capture, self.keep, self.command = capture, keep, command  # command: the transcription tool, if any
        capture.parent.mkdir(parents=True, exist_ok=True)
        self.recorder = pj.AudioMediaRecorder()
        self.recorder.createRecorder(str(capture))
        media.startTransmit(self.recorder)
        self.media, self.pj = media, pj
        self.players: list = []
        self.due: list[tuple[float, Path]] = []
        at = now + (NOTICE_AFTER if keep else GREETING_SECONDS)
        for prompt in prompts:
            self.due.append((at, prompt))
            at += duration(prompt) + GAP
        self.said_by = self.due[-1][0] + duration(self.due[-1][1]) if self.due else at  # when our last prompt ends

    def tick(self, now: float) -> None:
        """Start the prompts whose time has come."""
        while self.due and self.due[0][0] <= now:
            _, prompt = self.due.pop(0)
            player = self.pj.AudioMediaPlayer()
            player.createPlayer(str(prompt), self.pj.PJMEDIA_FILE_NO_LOOP)
            player.startTransmit(self.media)
            self.players.append(player)

    def close(self) -> tuple[dict | None, str | None]:
        """Stop playing and recording; the AMD event's fields (None if the audio could not be read) and the path
        of the recording kept (None with recording off: the capture is deleted)."""
        self.players.clear()
        self.recorder = self.media = None  # the stack completes the WAV a moment later (sip_amd reads it as it is)
        try:
            with open(self.capture, "rb") as handle:
                verdict = sip_amd.detect_wav(handle.read())
            amd = verdict.event_params()
        except (OSError, ValueError) as exc:  # logged as text: a kept exception would keep the call's frames
            log.warning("sip: the call's audio could not be analysed (%s)", str(exc))
            amd = None
        if not self.keep:
            if not self.command:  # else deleted once the transcription tool has run (sip_transcribe.Job)
                self.capture.unlink(missing_ok=True)
            return amd, None
        return amd, str(self.capture) if self.capture.exists() else None


def start(pj, call, record: dict, settings, now: float) -> None:
    """Connect an answered call's audio once its media is up (called on each pass until it is)."""
    if record.get("audio") is not None or record.get("audio_closed"):
        return
    info = call.getInfo()
    index = next((i for i, m in enumerate(info.media)
                  if m.type == pj.PJMEDIA_TYPE_AUDIO and m.status == pj.PJSUA_CALL_MEDIA_ACTIVE), None)
    if index is None:
        return
    keep = settings.twilio_record
    where = (sip_recordings.path if keep else sip_recordings.capture_path)(settings.database, record["attempt_id"])
    test_call = record.get("survey") is None  # a survey call is heard by its keys, and lasts its conversation
    command = settings.sip_transcribe_command if test_call else ""
    try:
        record["audio"] = CallAudio(pj, call.getAudioMedia(index), where, keep, record.get("prompts", []), now,
                                    command)
        if test_call:
            record["hangup_at"] = min(record["audio"].said_by + settings.sip_listen_seconds,
                                      record["answered_at"] + settings.call_time_limit_seconds)
    except (pj.Error, OSError) as exc:  # no audio is no reason to lose the call: it is held for review as before
        record["audio_closed"] = True
        if not keep:
            where.unlink(missing_ok=True)
        log.warning("sip: no audio for attempt %s: %s", record["attempt_id"],
                    exc.info() if isinstance(exc, pj.Error) else str(exc))


def clear_captures(database: str) -> None:
    """Delete the captures a stopped process left behind (recording off: they were never to be kept)."""
    for capture in sip_recordings.folder(database).glob("*.capture.wav"):
        capture.unlink(missing_ok=True)


def tick(record: dict, now: float) -> None:
    if record.get("audio") is not None:
        record["audio"].tick(now)


def finish(record: dict, transcribe: bool = True) -> tuple[dict | None, str | None]:
    """Close the call's audio (on disconnect): the AMD event's fields and the recording's link, each None if none.
    With a transcription tool set, the audio's Job is left in record["transcribe"] for the tool (sip_events hands
    it over with the final status); transcribe=False (the provider is stopping) drops it."""
    audio = record.pop("audio", None)
    record["audio_closed"] = True
    if audio is None:
        return None, None
    amd, kept = audio.close()
    if audio.command:
        job = sip_transcribe.Job(audio.command, audio.capture, audio.keep, record["attempt_id"], record["sid"],
                                 record["number"])
        if transcribe:
            record["transcribe"] = job
        else:
            job.discard()
    return amd, sip_recordings.link(record["attempt_id"]) if kept else None
