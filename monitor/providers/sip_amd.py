"""Answering-machine detection from a call's audio: a person, a machine, or no telling (pure, no SIP stack).

The heuristics are those of PBXs (Asterisk's AMD): a person picks up and says a short greeting ("A lô, xin
nghe") then waits for the caller; a machine plays a long message without waiting. Measured on the far end's
first seconds of audio, frame by frame, with WebRTC's voice-activity detector (webrtcvad):
- silence from the answer until the first word: too long and nothing can be told (a line that says nothing is
  neither a person nor a recording we can name) — `unknown`;
- the greeting: voiced time from the first word while no long pause has come; longer than GREETING_MS is a
  message (`machine`, LONGGREETING);
- words: voiced runs of at least MIN_WORD_MS separated by at least BETWEEN_WORDS_MS of silence; more than
  MAX_WORDS before a pause is a message (`machine`, MAXWORDS);
- the silence after the greeting: AFTER_GREETING_MS of it and the speaker is waiting for us (`human`);
- nothing decided within TOTAL_MS: `unknown` (held for an inspector).
Vietnamese is spoken a syllable at a time, so a greeting has more voiced runs than an English one: the word
limit is higher than Asterisk's default and the greeting limit allows "Dạ, Sở Y tế xin nghe ạ".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import webrtcvad

FRAME_MS = 30  # webrtcvad takes 10, 20 or 30 ms frames
RATES = (8000, 16000, 32000, 48000)  # the rates webrtcvad takes
HUMAN, MACHINE, UNKNOWN = "human", "machine", "unknown"
# What a verdict is called in the provider-neutral AMD event (Twilio's AnsweredBy values, read by
# attempts.outcomes): a machine found from its greeting alone is `machine_start`, AMD's weakest machine verdict,
# so the call is held for an inspector rather than counted against the unit on a heuristic.
ANSWERED_BY = {HUMAN: "human", MACHINE: "machine_start", UNKNOWN: "unknown"}


@dataclass(frozen=True)
class Limits:
    """The thresholds, in milliseconds (Asterisk's amd.conf names in brackets)."""

    initial_silence_ms: int = 2500  # [initial_silence]
    greeting_ms: int = 2500  # [greeting]
    after_greeting_ms: int = 800  # [after_greeting_silence]
    total_ms: int = 5000  # [total_analysis_time]
    min_word_ms: int = 100  # [min_word_length]
    between_words_ms: int = 50  # [between_words_silence]
    max_words: int = 7  # [maximum_number_of_words]
    aggressiveness: int = 2  # webrtcvad's mode, 0 (least) to 3 (most eager to call a frame silence)


@dataclass(frozen=True)
class Verdict:
    """What the audio showed: the verdict, why (Asterisk's cause names) and the measures behind it."""

    verdict: str
    cause: str
    initial_silence_ms: int
    greeting_ms: int
    words: int
    after_greeting_ms: int
    analysed_ms: int

    @property
    def answered_by(self) -> str:
        return ANSWERED_BY[self.verdict]

    def event_params(self) -> dict:
        """The AMD event's fields: AnsweredBy as Twilio names it, the measures beside it."""
        measures = {key: str(value) for key, value in asdict(self).items() if key != "verdict"}
        return {"AnsweredBy": self.answered_by, "MachineDetectionDuration": str(self.analysed_ms),
                **{f"Amd{''.join(part.title() for part in key.split('_'))}": value for key, value in measures.items()}}


def voiced_frames(pcm: bytes, rate: int, aggressiveness: int = 2) -> list[bool]:
    """Per FRAME_MS frame of 16-bit mono PCM at `rate`, whether the detector hears a voice (a short tail is dropped)."""
    if rate not in RATES:
        raise ValueError(f"webrtcvad takes {RATES} Hz, not {rate}")
    vad = webrtcvad.Vad(aggressiveness)
    size = rate * FRAME_MS // 1000 * 2
    return [vad.is_speech(pcm[start:start + size], rate) for start in range(0, len(pcm) - size + 1, size)]


def classify(voiced: list[bool], limits: Limits = Limits()) -> Verdict:
    """The verdict on a sequence of voiced/silent frames of FRAME_MS each (Asterisk's AMD state machine)."""
    initial = greeting = words = silence = voice = 0
    in_word = started = False
    elapsed = 0

    def verdict(kind: str, cause: str) -> Verdict:
        return Verdict(kind, cause, initial, greeting, words, silence if started else 0, elapsed)

    for is_voice in voiced:
        elapsed += FRAME_MS
        if not is_voice:
            silence += FRAME_MS
            voice = 0
            if silence >= limits.between_words_ms:
                in_word = False
            if not started:
                initial = silence
                if initial >= limits.initial_silence_ms:
                    return verdict(UNKNOWN, "INITIALSILENCE")
            elif silence >= limits.after_greeting_ms:
                return verdict(HUMAN, "HUMAN")
        else:
            if started:
                greeting += FRAME_MS
            voice += FRAME_MS
            if voice >= limits.min_word_ms and not in_word:
                if not started:  # the greeting began with this word
                    started, greeting = True, voice
                in_word = True
                words += 1
                if words > limits.max_words:
                    return verdict(MACHINE, "MAXWORDS")
            silence = 0
            if started and greeting >= limits.greeting_ms:
                return verdict(MACHINE, "LONGGREETING")
        if elapsed >= limits.total_ms:
            return verdict(UNKNOWN, "TOOLONG")
    return verdict(UNKNOWN, "NOTSURE")


def detect_pcm(pcm: bytes, rate: int = 8000, limits: Limits = Limits()) -> Verdict:
    """The verdict on the far end's audio from the answer on: 16-bit mono PCM at a rate webrtcvad takes."""
    head = pcm[: rate * 2 * limits.total_ms // 1000]
    return classify(voiced_frames(head, rate, limits.aggressiveness), limits)


def detect_wav(data: bytes, limits: Limits = Limits()) -> Verdict:
    """The verdict on a WAV file's bytes (16-bit mono PCM at 8, 16, 32 or 48 kHz, as the SIP stack records)."""
    pcm, rate = wav_pcm(data)
    return detect_pcm(pcm, rate, limits)


def wav_pcm(data: bytes) -> tuple[bytes, int]:
    """The 16-bit mono PCM of a WAV file's bytes and its rate. A WAV whose sizes are not filled in yet (the SIP
    stack completes its recorder's header a moment after the call ends) is read to the end of what is there."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    position, rate = 12, None
    while position + 8 <= len(data):
        chunk, size = data[position:position + 4], int.from_bytes(data[position + 4:position + 8], "little")
        body = data[position + 8:]
        if chunk == b"fmt ":
            tag, channels, rate = (int.from_bytes(body[a:b], "little") for a, b in ((0, 2), (2, 4), (4, 8)))
            if (tag, channels, int.from_bytes(body[14:16], "little")) != (1, 1, 16):
                raise ValueError("AMD takes 16-bit mono PCM")
        elif chunk == b"data" and rate:
            pcm = body[:size] if 0 < size <= len(body) else body
            return pcm[: len(pcm) // 2 * 2], rate
        position += 8 + size + (size & 1)
    raise ValueError("no audio in the WAV file")
