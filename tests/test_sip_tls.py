"""SIP over TLS with the trunk's certificate checked, against a real TLS peer (tests/sip_tls_peer.py: PJSIP in its
own process, as SIPp here has no TLS), with certificates made by the test (`openssl`) and signed by a test CA.

A peer whose certificate chains to FLASK_SIP_TLS_CA_FILE and names the host we call is answered or busy as it
says; one whose certificate is self-signed, or names another host, receives nothing (its `invite` lines stay
empty) and the call ends provider_error, our side, with an error naming the certificate.
"""
from __future__ import annotations

import queue
import shutil
import subprocess
import sys
import threading
import wave
from pathlib import Path

import pytest

from monitor.providers import ProviderConfigError, make_provider, sip_endpoint
from monitor.providers import sip_signalling as sig
from monitor.settings import Settings
from registry.clock import utcnow

from .fakes import ingesting_sink
from .test_sip_provider import dial_one, final_event, sip_settings, wait_for

PEER = Path(__file__).with_name("sip_tls_peer.py")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _signed(pki: Path, name: str, names: str) -> None:
    """name.pem/name.key: a server certificate for `names` (subjectAltName), signed by the test CA."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={names.split(',')[0].split(':')[1]}", cwd=pki)
    (pki / f"{name}.ext").write_text(f"subjectAltName={names}\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=pki)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """A test CA (ca.pem) and three server certificates: trunk (signed by it, for localhost and 127.0.0.1),
    selfsigned (the same names, signed by nobody we trust), othername (signed by it, for trunk.example only);
    and question.wav, a short recorded question (0.3 s of silence), so an answered call is over in seconds."""
    if shutil.which("openssl") is None:
        raise AssertionError("openssl is not installed: run scripts/install.sh --test.")
    pki = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=Hotline test CA", cwd=pki)
    _signed(pki, "trunk", "DNS:localhost,IP:127.0.0.1")
    _signed(pki, "othername", "DNS:trunk.example")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "selfsigned.key", "-out", "selfsigned.pem",
             "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", cwd=pki)
    with wave.open(str(pki / "question.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0\0" * 2400)
    return pki


class TlsPeer:
    """tests/sip_tls_peer.py with one certificate, answering `answer` after `ring_ms`; a context manager."""

    def __init__(self, pki: Path, cert: str, *, answer: int = 200, ring_ms: int = 300):
        self.command = [sys.executable, str(PEER), "--cert", str(pki / f"{cert}.pem"), "--key", str(pki / f"{cert}.key"),
                        "--answer", str(answer), "--ring-ms", str(ring_ms)]
        self.lines: queue.SimpleQueue = queue.SimpleQueue()
        self.invites: list[str] = []
        self.port = 0

    def __enter__(self) -> TlsPeer:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        while not self.port:
            try:
                line = self.lines.get(timeout=10)
            except queue.Empty:
                raise AssertionError("the TLS peer did not listen within 10 s") from None
            if line is None:
                raise AssertionError("the TLS peer exited at start")
            if line.startswith("port "):
                self.port = int(line.split()[1])
        return self

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())
            if line.startswith("invite "):
                self.invites.append(line.split()[1])
        self.lines.put(None)

    def __exit__(self, *exc) -> None:
        self.process.kill()
        self.process.wait(timeout=5)
        self.reader.join(timeout=5)
        self.process.stdout.close()


def call_over_tls(app, db, units, pki: Path, peer: TlsPeer, *, host: str = "127.0.0.1", **extra):
    """One test call of SYT's hotline to the peer over TLS: (attempt row, final event)."""
    settings = sip_settings(app, f"{host}:{peer.port}", SIP_TRANSPORT="tls", SIP_PROMPT_WAV=str(pki / "question.wav"),
                            **extra)
    provider = make_provider(settings, ingesting_sink(settings.database, now=utcnow, config=settings))
    try:
        attempt_id = dial_one(db, provider, settings, units["SYT"])
        row = wait_for(db, attempt_id, timeout=12)
    finally:
        provider.close()
    assert row["state"] == "ended", row
    return row, final_event(db, attempt_id)


# ------------------------------------------------------------------------- a trunk whose certificate we trust


@pytest.mark.slow
def test_a_trusted_trunk_answers_over_tls(app, db, units, pki):
    with TlsPeer(pki, "trunk", ring_ms=500) as peer:
        row, final = call_over_tls(app, db, units, pki, peer, SIP_TLS_CA_FILE=str(pki / "ca.pem"))
    assert (row["outcome"], row["sip_code"], row["call_status"]) == ("answered", 200, "completed")
    assert row["ringing_at"] and row["answered_at"]
    assert peer.invites == [f"sips:02773851234@127.0.0.1:{peer.port};transport=tls"]  # one INVITE, sips: over TLS


@pytest.mark.slow
def test_a_trusted_trunk_that_is_busy_says_so_over_tls(app, db, units, pki):
    with TlsPeer(pki, "trunk", answer=486) as peer:
        row, final = call_over_tls(app, db, units, pki, peer, SIP_TLS_CA_FILE=str(pki / "ca.pem"))
    assert (row["outcome"], row["sip_code"], row["outcome_certain"]) == ("busy", 486, 1)
    assert len(peer.invites) == 1


# ------------------------------------------------------------------ a certificate that does not verify: our side


@pytest.mark.slow
@pytest.mark.parametrize("cert, host, ca", [
    ("selfsigned", "127.0.0.1", "ca.pem"),  # signed by nobody the CA file names
    ("othername", "127.0.0.1", "ca.pem"),  # signed by our CA, for another host
    ("trunk", "localhost", None),  # our CA is not in the system's bundle (the default)
])
def test_a_trunk_whose_certificate_does_not_verify_gets_nothing(app, db, units, pki, cert, host, ca):
    extra = {"SIP_TLS_CA_FILE": str(pki / ca)} if ca else {}
    with TlsPeer(pki, cert) as peer:
        row, final = call_over_tls(app, db, units, pki, peer, host=host, **extra)
    assert peer.invites == []  # the INVITE never left: no handshake, nothing sent in clear either
    assert row["outcome"] == "provider_error" and row["sip_code"] is None
    assert final["ErrorCode"] == "sip_tls_certificate"
    assert "sip_tls_certificate" in row["error"] and "Chứng chỉ TLS" in row["error"]
    assert "không tính cho đơn vị" in row["outcome_detail"]


# ------------------------------------------------------------------------------------ the CA file, checked early


def tls_settings(app, **extra) -> Settings:
    return sip_settings(app, "127.0.0.1:5061", SIP_TRANSPORT="tls", **extra)


def test_a_missing_ca_file_stops_start_up_naming_the_setting(app, tmp_path):
    with pytest.raises(ProviderConfigError) as refused:
        make_provider(tls_settings(app, SIP_TLS_CA_FILE=str(tmp_path / "missing.pem")), lambda *event: None)
    assert "FLASK_SIP_TLS_CA_FILE" in refused.value.message and refused.value.field == "SIP_TLS_CA_FILE"


def test_a_ca_file_without_a_certificate_stops_start_up(app, tmp_path):
    (tmp_path / "notes.txt").write_text("not a certificate")
    with pytest.raises(ProviderConfigError) as refused:
        make_provider(tls_settings(app, SIP_TLS_CA_FILE=str(tmp_path / "notes.txt")), lambda *event: None)
    assert "PEM" in refused.value.message and refused.value.field == "SIP_TLS_CA_FILE"


def test_the_ca_file_defaults_to_the_system_bundle_and_matters_only_over_tls(app, tmp_path):
    assert sip_endpoint.ca_file(tls_settings(app)) == str(Path(sip_endpoint.SYSTEM_CA_FILE).resolve())
    unused = sip_settings(app, "127.0.0.1:5060", SIP_TLS_CA_FILE=str(tmp_path / "missing.pem"))
    assert sip_endpoint.ca_file(unused) == ""  # udp: no certificate to check, the setting is not read


def test_a_certificate_refusal_is_our_side_and_says_so():
    params = sig.final_params(503, "SSL certificate verification error (PJSIP_TLS_ECERTVERIF)", remote=False,
                              answered=False, duration=0, ours=None)
    assert params["CallStatus"] == "failed" and "SipResponseCode" not in params
    assert params["ErrorCode"] == "sip_tls_certificate" and "FLASK_SIP_TLS_CA_FILE" in params["ErrorMessage"]
    # The same words in a response the far end sent are its signalling, not our check.
    assert sig.final_params(503, "PJSIP_TLS_ECERTVERIF", remote=True, answered=False, duration=0,
                            ours=None)["SipResponseCode"] == "503"
