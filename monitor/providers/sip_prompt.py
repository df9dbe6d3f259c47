"""What a SIP test call says, as audio files the SIP stack plays: 8 kHz mono 16-bit WAVs (no SIP stack here).

The question of script.question_for (and, with recording on, the recording notice before it) is spoken by
espeak-ng's Vietnamese voice (Debian's espeak-ng, installed by scripts/install.sh), or the province records its
own question in a WAV (SIP_PROMPT_WAV). Every file is converted to what a G.711 call carries (8 kHz, mono,
16-bit) once and cached under the instance folder by a hash of its text (or of the recorded file), so a call
never waits for synthesis twice and concurrent processes write each file whole (a rename).
"""
from __future__ import annotations

import hashlib
import io
import math
import operator
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

from monitor.providers.base import ProviderConfigError
from monitor.providers.script import RECORDING_NOTICE, question_for

RATE = 8000  # what G.711 carries
VOICE = "vi"  # espeak-ng's Vietnamese voice
NO_ESPEAK = "Chưa cài espeak-ng (giọng đọc câu hỏi của cuộc gọi SIP): chạy scripts/install.sh."
TAPS = 16  # half-width of the low-pass filter used when resampling, in input samples at the output's rate


def prompt_dir(database: str) -> Path:
    """Where synthesised and converted prompts are cached: beside the database, in the instance folder."""
    return Path(database).resolve().parent / "sip-prompts"


def duration(path: Path) -> float:
    """A WAV's length in seconds."""
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def prompts(settings, attempt_id: int) -> list[Path]:
    """The files one answered call plays, in order: the recording notice when recording is on, then the question."""
    cache = prompt_dir(settings.database)
    files = [synthesise(RECORDING_NOTICE, cache)] if settings.twilio_record else []
    if settings.sip_prompt_wav:
        files.append(recorded(settings.sip_prompt_wav, cache))
    else:
        files.append(synthesise(question_for(attempt_id).text, cache))
    return files


def check(settings) -> None:
    """Stop the provider's start when a call's prompts could not be made: no espeak-ng to speak them, or a
    SIP_PROMPT_WAV that is missing or no PCM WAV (ProviderConfigError naming what to fix)."""
    if settings.sip_prompt_wav:
        recorded(settings.sip_prompt_wav, prompt_dir(settings.database))
    if (settings.twilio_record or not settings.sip_prompt_wav) and shutil.which("espeak-ng") is None:
        raise ProviderConfigError(NO_ESPEAK, field="CALL_PROVIDER")


def synthesise(text: str, cache: Path, *, run=subprocess.run) -> Path:
    """The text spoken by espeak-ng's Vietnamese voice, as an 8 kHz WAV cached under `cache`."""
    target = cache / f"tts-{hashlib.sha256(f'{VOICE}|{text}'.encode()).hexdigest()[:24]}.wav"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        raw = Path(work) / "espeak.wav"
        try:
            run(["espeak-ng", "-v", VOICE, "-w", str(raw), text], check=True, capture_output=True, timeout=60)
        except FileNotFoundError:
            raise ProviderConfigError(NO_ESPEAK, field="CALL_PROVIDER") from None
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ProviderConfigError(f"espeak-ng không đọc được câu hỏi: {exc}", field="CALL_PROVIDER") from None
        _write_whole(target, to_call_audio(raw.read_bytes()))
    return target


def recorded(path: str, cache: Path) -> Path:
    """The province's recorded prompt (SIP_PROMPT_WAV) converted to 8 kHz mono; a file that is missing or no PCM
    WAV stops the provider's start with a message naming the setting."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ProviderConfigError(f"FLASK_SIP_PROMPT_WAV “{path}”: không đọc được tệp ({exc.strerror}).",
                                  field="SIP_PROMPT_WAV") from None
    target = cache / f"wav-{hashlib.sha256(data).hexdigest()[:24]}.wav"
    if target.exists():
        return target
    try:
        converted = to_call_audio(data)
    except (wave.Error, EOFError, ValueError) as exc:
        raise ProviderConfigError(f"FLASK_SIP_PROMPT_WAV “{path}” không phải tệp WAV PCM dùng được: {exc}.",
                                  field="SIP_PROMPT_WAV") from None
    cache.mkdir(parents=True, exist_ok=True)
    _write_whole(target, converted)
    return target


def to_call_audio(data: bytes) -> bytes:
    """A PCM WAV (8 or 16-bit, mono or stereo, any rate) as an 8 kHz mono 16-bit WAV's bytes."""
    with wave.open(io.BytesIO(data)) as wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    if width not in (1, 2) or not rate:
        raise ValueError("chỉ nhận WAV PCM 8 hoặc 16 bit")
    if width == 1:  # unsigned 8-bit
        samples = [(b - 128) << 8 for b in frames]
    else:
        samples = memoryview(frames).cast("h").tolist()
    if channels > 1:
        samples = [sum(samples[i:i + channels]) // channels for i in range(0, len(samples) - channels + 1, channels)]
    return wav_bytes(resample(samples, rate, RATE), RATE)


def resample(samples: list[int], rate: int, to: int) -> list[int]:
    """Samples at `rate` as samples at `to`: a windowed-sinc low-pass at the lower of the two Nyquist frequencies,
    evaluated at each output instant. The instants' offsets between input samples repeat every to/gcd outputs,
    so each offset's filter is computed once (plain Python: prompts are seconds long and converted once)."""
    if rate == to or not samples:
        return list(samples)
    cutoff = min(1.0, to / rate)  # relative to the input's Nyquist frequency
    half = math.ceil(TAPS / cutoff)
    step = math.gcd(rate, to)
    period = to // step  # outputs after which the offsets repeat
    kernels = []
    for phase in range(period):
        offset = (phase * rate % to) / to  # the output instant's distance past the input sample before it
        kernel = []
        for k in range(-half, half + 1):
            x = k - offset
            window = 0.5 + 0.5 * math.cos(math.pi * x / (half + 1))  # Hann
            kernel.append(window * (cutoff if x == 0 else math.sin(math.pi * cutoff * x) / (math.pi * x)))
        kernels.append(kernel)
    padded = [0.0] * half + [float(s) for s in samples] + [0.0] * (half + 1)
    width = 2 * half + 1
    out = []
    for n in range(len(samples) * to // rate):
        base = n * rate // to  # the input sample at or before the output instant
        total = sum(map(operator.mul, kernels[n % period], padded[base:base + width]))
        out.append(max(-32768, min(32767, round(total))))
    return out


def wav_bytes(samples: list[int], rate: int) -> bytes:
    """16-bit mono samples as a WAV file's bytes."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"".join(int(s).to_bytes(2, "little", signed=True) for s in samples))
    return buffer.getvalue()


def _write_whole(target: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, then rename: a reader never sees half a file."""
    fd, temp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temp, target)
