"""The demo over SIP: `FLASK_DEMO_MODE=true FLASK_CALL_PROVIDER=sip` without FLASK_SIP_TARGET.

The scheduler then starts SIPp (Debian's sip-tester) on 127.0.0.1 playing sipp/province.xml, a province of
hotlines that answer, ring out, are busy, unreachable, decline or redirect according to the dialled number, and
points the SIP provider at it: the same SIP stack, signalling and outcomes as against a carrier's trunk, and the
same pages, reports and review queue as the simulated demo. Nothing leaves the machine, so the demo's
fictional numbers may be dialled there, and there only (ProvinceProvider). SIPp stops with the scheduler.
"""
from __future__ import annotations

import ctypes
import io
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import wave
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from monitor.providers import sip_prompt
from monitor.providers.base import ProviderConfigError
from monitor.providers.sip_provider import MAX_CALLS, SipProvider
from monitor.providers.sip_signalling import domestic, parse_target
from monitor.settings import ROOT, SIMULATED_CALLER, Settings
from registry.clock import utcnow

PROVINCE = ROOT / "sipp" / "province.xml"
HOST = "127.0.0.1"
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
START_SECONDS = 5.0  # SIPp binds its port within a fraction of a second; longer means it failed
# The demo's calls kept short, so a handful of SIP calls at once gets through every unit's rounds in minutes:
# an answered call listens LISTEN_SECONDS after our question, a line ringing RING_SECONDS unanswered is given up.
LISTEN_SECONDS, RING_SECONDS = 4.0, 12
# The province's two voices (espeak-ng's Vietnamese), with the silence around them: a person's short greeting,
# then waiting for the caller; an answering machine's long message.
VOICES = {
    "human": (0.4, "A lô, dạ em nghe ạ.", 6.0),
    "machine": (0.3, "Xin chào, quý khách đã gọi đến đường dây nóng. Hiện không có cán bộ trực, quý khách vui lòng "
                     "gọi lại trong giờ hành chính hoặc để lại lời nhắn sau tiếng bíp.", 1.0),
}
SIPP_MISSING = "Chưa cài SIPp (sipp) cho bản trình diễn qua SIP: hãy chạy scripts/install.sh (gói Debian sip-tester)."


def free_port() -> int:
    """A UDP port on 127.0.0.1 free right now (SIPp binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


try:  # loaded here, not in the child: between fork and exec only the call itself should run
    _LIBC = ctypes.CDLL(None) if hasattr(ctypes.CDLL(None), "prctl") else None
except OSError:
    _LIBC = None


def _die_with_parent() -> None:
    """In SIPp's process before it starts: Linux ends it when the scheduler dies, even by SIGKILL (no province
    left answering on a port nobody knows)."""
    if _LIBC is not None:  # not Linux: stop() still ends it on every orderly exit
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Province:
    """SIPp playing the province on 127.0.0.1 until stop(); its log (errors only) in a folder of its own."""

    def __init__(self, scenario: Path = PROVINCE):
        self.sipp = shutil.which("sipp")
        if self.sipp is None:
            raise ProviderConfigError(SIPP_MISSING, field="CALL_PROVIDER")
        self.scenario = scenario
        self.port = free_port()
        self._workdir = tempfile.TemporaryDirectory(prefix="sipp-province-")
        self.process: subprocess.Popen | None = None

    @property
    def target(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self) -> Province:
        try:
            speak(Path(self._workdir.name))
        except BaseException:
            self.stop()
            raise
        command = [self.sipp, "-sf", str(self.scenario), "-i", HOST, "-p", str(self.port), "-mp", str(free_port()),
                   "-t", "u1", "-nostdin", "-aa"]
        with open(Path(self._workdir.name) / "sipp.log", "wb") as log:  # a file, never a pipe nobody reads
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, cwd=self._workdir.name,
                                            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + START_SECONDS
        while not _bound(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                why = (Path(self._workdir.name) / "sipp.log").read_text(errors="replace").strip()[-300:]
                self.stop()
                raise ProviderConfigError(f"SIPp không khởi động được tỉnh mô phỏng ({self.scenario.name}): "
                                          f"{why or 'quá thời gian'}", field="CALL_PROVIDER")
            time.sleep(0.02)
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if SIPp lingers; its folder removed."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._workdir.cleanup()

    def __enter__(self) -> Province:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def speak(folder: Path, *, run=subprocess.run) -> None:
    """The province's voices (VOICES) as G.711 A-law WAVs in `folder`, which SIPp sends as RTP (payload type 8)."""
    for name, (before, text, after) in VOICES.items():
        raw = folder / f"{name}-espeak.wav"
        try:
            run(["espeak-ng", "-v", "vi", "-w", str(raw), text], check=True, capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ProviderConfigError(f"espeak-ng không tạo được giọng nói cho tỉnh mô phỏng ({exc}): hãy chạy "
                                      "scripts/install.sh.", field="CALL_PROVIDER") from None
        with wave.open(io.BytesIO(sip_prompt.to_call_audio(raw.read_bytes()))) as spoken:
            samples = memoryview(spoken.readframes(spoken.getnframes())).cast("h").tolist()
        samples = [0] * int(8000 * before) + samples + [0] * int(8000 * after)
        (folder / f"{name}.wav").write_bytes(alaw_wav(samples))


def alaw(sample: int) -> int:
    """One 16-bit sample as G.711 A-law (ITU-T G.711: sign, 3-bit segment, 4-bit step; even bits inverted)."""
    sign = 0x80 if sample >= 0 else 0x00
    magnitude = min(abs(sample), 32767) >> 3  # 13 bits
    if magnitude < 32:
        code = magnitude >> 1
    else:
        segment = magnitude.bit_length() - 5  # 1..7
        code = (segment << 4) | ((magnitude >> segment) & 0x0F)
    return (sign | code) ^ 0x55


def alaw_wav(samples: list[int]) -> bytes:
    """An 8 kHz mono WAV of A-law samples (format 6), the file SIPp's rtp_stream plays."""
    data = bytes(alaw(s) for s in samples)
    fmt = (6).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little") \
        + (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little") + (0).to_bytes(2, "little")
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + len(data).to_bytes(4, "little") + data
    return b"RIFF" + len(body).to_bytes(4, "little") + body


class ProvinceProvider(SipProvider):
    """The SIP provider pointed at the province SIPp plays on this machine.

    Every call ends at 127.0.0.1, so it dials nothing real: the demo's fictional numbers, which every provider
    that dials real numbers refuses, are dialled here like any other (and the demo's story is seeded).
    """

    dials_real_numbers = False
    # SIPp's province presses no keys: automated survey calls there would only fill the four lines with interviews
    # nobody answers, and hold up the test calls the demo is about. The demo's survey cases wait for operators.
    survey_calls = False

    def __init__(self, settings: Settings, sink: Callable[[int, dict, str, str], None], *,
                 clock: Callable[[], datetime] = utcnow):
        if parse_target(settings.sip_target)[0] != HOST:
            raise ProviderConfigError("Tỉnh mô phỏng qua SIP chỉ chạy trên 127.0.0.1.", field="SIP_TARGET")
        super().__init__(settings, sink, clock=clock)

    def place_call(self, attempt: dict) -> str:
        # The number is marked demo (fictional) and the call goes to SIPp on this machine: nothing is dialled.
        return super().place_call({**attempt, "is_demo": 0})


def pointed_at(settings: Settings, target: str) -> Settings:
    """The scheduler's settings with the province as the trunk, the demo's fictional caller line unless one is
    set, and the demo's calls kept short (see above)."""
    return settings.with_values(
        sip_target=target, sip_transport="udp",
        sip_caller_id=settings.sip_caller_id or domestic(SIMULATED_CALLER),  # the demo's fictional line
        max_concurrent_calls=min(settings.max_concurrent_calls or MAX_CALLS, MAX_CALLS),
        sip_listen_seconds=min(settings.sip_listen_seconds, LISTEN_SECONDS),
        ring_timeout=min(settings.ring_timeout, RING_SECONDS),
    )


def open_province(settings: Settings, make_sink: Callable[[Settings], Callable]) -> tuple[Province, Settings, ProvinceProvider]:
    """Start the province, and the SIP provider pointed at it: (province, the settings naming it, provider).
    The caller stops the province after closing the provider."""
    province = Province().start()
    try:
        pointed = pointed_at(settings, province.target)
        return province, pointed, ProvinceProvider(pointed, make_sink(pointed))
    except BaseException:
        province.stop()
        raise
