"""The SIP stack's endpoint as the SIP provider runs it, with the pjsua2 module handed in by sip_provider (the
only module importing it): no threads of its own, 8 kHz media without a sound card, G.711 A-law first."""
from __future__ import annotations

CODECS = {"PCMA/8000": 255, "PCMU/8000": 254}  # G.711 A-law first, as Vietnamese networks use; nothing else


def start(pj, ep, *, max_calls: int, writer, debug: bool, transport: str) -> None:
    """Initialise and start `ep` (created by the caller): one UDP, TCP or TLS transport on any free local port,
    the null sound device, the codecs' priorities."""
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
    ep.transportCreate(kind[transport], config)
    ep.libStart()
    ep.audDevManager().setNullDev()  # no sound card on a server; media still flows
    for codec in ep.codecEnum2():
        name = "/".join(codec.codecId.split("/")[:2])  # "PCMA/8000/1": name/clock rate/channels
        ep.codecSetPriority(codec.codecId, CODECS.get(name, 0))
