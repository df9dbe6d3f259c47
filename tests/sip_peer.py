"""A real SIP peer for the SIP provider's tests: SIPp (Debian's sip-tester) playing one scenario of tests/sipp/.

SIPp listens on 127.0.0.1 at a free port and answers one call the way its scenario says (rings, answers,
is busy, redirects…). Missing SIPp is a failure, never a skip: the project's setup installs it.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SCENARIOS = Path(__file__).parent / "sipp"
INSTALL_HINT = "SIPp (sipp) is not installed: run scripts/install.sh --test (Debian package sip-tester)."


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A loopback port free right now for UDP (or TCP with SOCK_STREAM)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bound(port: int, kind: int) -> bool:
    """True once somebody (SIPp) holds the port."""
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class SipPeer:
    """One SIPp process playing `scenario` (a file name in tests/sipp/) for `calls` calls; a context manager."""

    def __init__(self, scenario: str, *, pause_ms: int = 500, transport: str = "udp", calls: int = 1):
        self.sipp = shutil.which("sipp")
        if self.sipp is None:
            raise AssertionError(INSTALL_HINT)
        self.scenario = SCENARIOS / scenario
        assert self.scenario.exists(), self.scenario
        self.kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
        self.port = free_port(self.kind)
        self.transport = transport
        self.pause_ms = pause_ms
        self.calls = calls
        self._workdir = tempfile.TemporaryDirectory(prefix="sipp-")  # SIPp writes its error log where it runs
        self.process: subprocess.Popen | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> SipPeer:
        command = [self.sipp, "-sf", str(self.scenario), "-i", "127.0.0.1", "-p", str(self.port), "-m", str(self.calls),
                   "-d", str(self.pause_ms), "-nostdin", "-timeout", "30s", "-t", "t1" if self.transport == "tcp" else "u1",
                   "-mp", str(free_port()), "-trace_err"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        cwd=self._workdir.name)
        deadline = time.monotonic() + 5
        while not _bound(self.port, self.kind):
            if self.process.poll() is not None:
                raise AssertionError(f"sipp exited at start: {self.process.stderr.read().decode(errors='replace')}")
            if time.monotonic() > deadline:
                raise AssertionError("sipp did not open its port within 5 s")
            time.sleep(0.02)
        return self

    def kill(self) -> None:
        """The peer dies at once (SIGKILL): no BYE, no final response, nothing more on the wire."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def errors(self) -> str:
        """What SIPp logged as unexpected (its -trace_err file), for a failing test's message."""
        return "".join(path.read_text(errors="replace") for path in Path(self._workdir.name).glob("*errors.log"))

    def wait(self, timeout: float = 10) -> int:
        """SIPp's exit status once its one call is over (0: the scenario played to its end)."""
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def __enter__(self) -> SipPeer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self._workdir.cleanup()
