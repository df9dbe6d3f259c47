"""The SIP stack's endpoint as the SIP provider runs it, with the pjsua2 module handed in by sip_provider (the
only module importing it): no threads of its own, 8 kHz media without a sound card, G.711 A-law first, and over
TLS the trunk's certificate checked against SIP_TLS_CA_FILE and the host name of SIP_TARGET."""
from __future__ import annotations

from pathlib import Path

from monitor.providers.base import ProviderConfigError

CODECS = {"PCMA/8000": 255, "PCMU/8000": 254}  # G.711 A-law first, as Vietnamese networks use; nothing else
SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt"  # Debian's bundle (package ca-certificates)
PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


def ca_file(settings) -> str:
    """The CA list the trunk's TLS certificate must chain to ("" unless SIP_TRANSPORT is tls): SIP_TLS_CA_FILE, or
    the system's bundle when it is empty. ProviderConfigError names the setting when the file cannot be read or
    holds no PEM certificate (the stack would otherwise fail later, or trust nothing, without saying why)."""
    if settings.sip_transport != "tls":
        return ""
    path = settings.sip_tls_ca_file or SYSTEM_CA_FILE
    try:
        with open(path, "rb") as handle:
            pem = handle.read(8 * 1024 * 1024)
    except OSError as exc:
        raise ProviderConfigError(f"FLASK_SIP_TLS_CA_FILE: không đọc được tệp chứng chỉ CA “{path}” "
                                  f"({exc.strerror or exc}).", field="SIP_TLS_CA_FILE") from None
    if PEM_CERTIFICATE not in pem:
        raise ProviderConfigError(f"FLASK_SIP_TLS_CA_FILE: tệp “{path}” không chứa chứng chỉ CA dạng PEM "
                                  "(-----BEGIN CERTIFICATE-----).", field="SIP_TLS_CA_FILE")
    return str(Path(path).resolve())


def start(pj, ep, *, max_calls: int, writer, debug: bool, transport: str, ca_file: str = "") -> None:
    """Initialise and start `ep` (created by the caller): one UDP, TCP or TLS transport on any free local port,
    the null sound device, the codecs' priorities. Over TLS (ca_file: see ca_file()) the trunk's certificate must
    chain to ca_file and name the host we connect to (PJSIP checks the request URI's host against the
    certificate's subjectAltName or CN); a trunk that fails either never receives our INVITE."""
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = False
    cfg.uaConfig.maxCalls = max_calls
    cfg.uaConfig.userAgent = "hotline-monitor"
    # Everything the writer gets is "console" output to PJSIP: both levels say how much reaches our log.
    cfg.logConfig.level = cfg.logConfig.consoleLevel = 5 if debug else 2
    cfg.logConfig.writer = writer
    cfg.medConfig.noVad = True
    cfg.medConfig.clockRate = cfg.medConfig.sndClockRate = 8000  # G.711's: prompts, recordings and AMD at 8 kHz
    ep.libInit(cfg)
    kind = {"udp": pj.PJSIP_TRANSPORT_UDP, "tcp": pj.PJSIP_TRANSPORT_TCP, "tls": pj.PJSIP_TRANSPORT_TLS}
    config = pj.TransportConfig()
    config.port = 0  # any free local port: we only call out
    if transport == "tls":
        config.tlsConfig.CaListFile = ca_file
        config.tlsConfig.verifyServer = True  # without it PJSIP would talk to any certificate, ours or not
    ep.transportCreate(kind[transport], config)
    ep.libStart()
    ep.audDevManager().setNullDev()  # no sound card on a server; media still flows
    for codec in ep.codecEnum2():
        name = "/".join(codec.codecId.split("/")[:2])  # "PCMA/8000/1": name/clock rate/channels
        ep.codecSetPriority(codec.codecId, CODECS.get(name, 0))
