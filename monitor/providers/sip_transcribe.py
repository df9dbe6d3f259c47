"""What the far end of an answered SIP test call said, written down by a tool the province plugs in (none by default).

SIP_TRANSCRIBE_COMMAND is a command line (whisper.cpp's or vosk's command-line tool: docs/SIP.md) run once the
call has ended, with the far end's audio appended as its last argument: an 8 kHz mono 16-bit WAV of what the
answering-machine detection read (written whole here, whatever state the stack left the capture's header in).
What the tool prints on its standard output (UTF-8) is the transcript. It becomes one "gather" event, GatherStep
"answer" with SpeechResult, keyed as Twilio's speech results are (gather:<Call-ID>:answer), so the evidence and
the rules read it as they read Twilio's. No Confidence is given: these tools print none, and a made-up figure
would weigh words the rules should weigh alone.

The tool runs on a thread of its own, one call at a time (a speech recogniser takes the machine's cores), never
on the SIP thread. A tool that fails, prints nothing or runs past TIME_LIMIT is logged and nothing is emitted:
the call keeps what the detection found (held for an inspector when it could not tell). With recording off the
capture is deleted once the tool has run (a capture left by a process that died is deleted at the next start,
sip_media.clear_captures).
"""
from __future__ import annotations

import logging
import os
import queue
import shlex
import signal
import subprocess
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.providers.sip_amd import wav_pcm

log = logging.getLogger("monitor.providers.sip_provider")

TIME_LIMIT = 60.0  # seconds the tool is given for one call (a whisper.cpp base model takes a few on 2 cores)
STEP = "answer"  # one result for the whole call: what was heard from the answer to the hang-up


@dataclass(frozen=True)
class Job:
    """One ended call's audio waiting for the tool."""

    command: str
    capture: Path  # the far end's audio: the recording (kept) or the capture (deleted after the tool has run)
    keep: bool
    attempt_id: int
    sid: str
    number: str

    def discard(self) -> None:
        """Nothing to transcribe after all (the provider is stopping): a capture not to be kept goes at once."""
        if not self.keep:
            self.capture.unlink(missing_ok=True)


def transcribe(command: str, wav: Path, limit: float = TIME_LIMIT) -> str | None:
    """What the tool printed for `wav` (stripped), or None when it failed, printed nothing or ran past `limit`."""
    try:
        # A session of its own: a wrapper script's children are stopped with it at the limit.
        tool = subprocess.Popen([*shlex.split(command), str(wav)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except (OSError, ValueError) as exc:  # not found, not executable, unbalanced quotes
        log.warning("sip: the transcription command could not run (%s): no transcript", exc)
        return None
    try:
        out, err = tool.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(tool.pid, signal.SIGKILL)
        tool.communicate()
        log.warning("sip: the transcription command ran past %s s: no transcript", limit)
        return None
    if tool.returncode != 0:
        log.warning("sip: the transcription command failed (exit %s): %s", tool.returncode,
                    err.decode("utf-8", "replace").strip()[-300:])
        return None
    text = " ".join(out.decode("utf-8", "replace").split())
    return text or None


def whole_wav(capture: Path, target: Path) -> Path:
    """The capture's audio as a complete 8 kHz mono 16-bit WAV at `target` (the stack's header may be unfinished)."""
    pcm, rate = wav_pcm(capture.read_bytes())
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)  # the stack's clock rate: 8 kHz (sip_endpoint)
        out.writeframes(pcm)
    return target


def event_params(job: Job, text: str) -> dict:
    """The gather event of a transcript, as Twilio posts a speech result."""
    return {"CallSid": job.sid, "To": job.number, "Direction": "outbound-api", "CallbackSource": "sip",
            "GatherStep": STEP, "SpeechResult": text}


def run_job(job: Job, emit: Callable[[dict, dict, str, str], None], limit: float = TIME_LIMIT) -> str | None:
    """Transcribe one call, emit its gather event if the tool gave words, and delete what is not to be kept."""
    work = job.capture.with_name(f"{job.attempt_id}.transcribing.capture.wav")
    try:
        text = transcribe(job.command, whole_wav(job.capture, work), limit)
    except (OSError, ValueError) as exc:
        log.warning("sip: attempt %s's audio could not be read for transcription (%s)", job.attempt_id, exc)
        text = None
    finally:
        work.unlink(missing_ok=True)
        job.discard()
    if text:
        emit({"attempt_id": job.attempt_id}, event_params(job, text), "gather", f"gather:{job.sid}:{STEP}")
    return text


class Transcriptions:
    """The calls waiting for the tool, run one at a time on a thread started by the first of them."""

    def __init__(self, emit: Callable[[dict, dict, str, str], None]):
        self.emit = emit
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def submit(self, job: Job) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sip-transcribe", daemon=True)
            self._thread.start()
        self._queue.put(job)

    def stop(self, wait: float) -> None:
        """Let the calls already submitted be transcribed, waiting at most `wait` seconds."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=wait)

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                run_job(job, self.emit, TIME_LIMIT)
            except Exception:  # one call's trouble never stops the next one's transcription
                log.exception("sip: transcribing attempt %s failed", job.attempt_id)
