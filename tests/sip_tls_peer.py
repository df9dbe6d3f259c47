"""A SIP peer over TLS for the SIP provider's TLS tests, run as its own process: SIPp here is built without TLS.

PJSIP's Python binding (the same stack the provider uses, on the other end of the wire) listens on 127.0.0.1
with the certificate and key it is given, and answers every INVITE the way it is told: rings (180), then
after --ring-ms answers (200, and keeps the call until the caller hangs up) or is busy (486). It prints
`port N` once it listens, then one line per INVITE it receives (`invite <request URI>`), so a test knows both
where to call and whether anything reached it.

    python tests/sip_tls_peer.py --cert server.pem --key server.key --answer 200 --ring-ms 500
"""
from __future__ import annotations

import argparse
import sys
import time

import pjsua2 as pj


class _Call(pj.Call):
    def __init__(self, account, call_id: int, answer: int, ring_ms: int):
        super().__init__(account, call_id)
        self.answer_code, self.answer_at = answer, time.monotonic() + ring_ms / 1000
        self.answered = False

    def onCallState(self, prm):
        if self.getInfo().state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.answered = True  # nothing more to send

    def tick(self) -> None:
        if not self.answered and time.monotonic() >= self.answer_at:
            self.answered = True
            reply = pj.CallOpParam(True)
            reply.statusCode = self.answer_code
            if self.answer_code >= 300:
                self.hangup(reply)  # a final refusal: 486 Busy Here
            else:
                self.answer(reply)


class _Account(pj.Account):
    def __init__(self, answer: int, ring_ms: int):
        super().__init__()
        self.answer_code, self.ring_ms = answer, ring_ms
        self.calls: list[_Call] = []

    def onIncomingCall(self, prm):
        print("invite", prm.rdata.wholeMsg.split(" ", 2)[1], flush=True)
        call = _Call(self, prm.callId, self.answer_code, self.ring_ms)
        ringing = pj.CallOpParam(True)
        ringing.statusCode = 180
        call.answer(ringing)
        self.calls.append(call)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", required=True, help="the server's certificate (PEM; the chain after it, if any)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--answer", type=int, default=200, help="the final response: 200 (answer) or 486 (busy)")
    parser.add_argument("--ring-ms", type=int, default=300, help="milliseconds of ringing before it")
    args = parser.parse_args(argv)

    ep = pj.Endpoint()
    ep.libCreate()
    config = pj.EpConfig()
    config.uaConfig.threadCnt = 0
    config.uaConfig.mainThreadOnly = False
    config.logConfig.level = config.logConfig.consoleLevel = 0
    config.medConfig.clockRate = config.medConfig.sndClockRate = 8000
    ep.libInit(config)
    transport = pj.TransportConfig()
    transport.boundAddress = "127.0.0.1"
    transport.port = 0
    transport.tlsConfig.certFile = args.cert
    transport.tlsConfig.privKeyFile = args.key
    transport_id = ep.transportCreate(pj.PJSIP_TRANSPORT_TLS, transport)
    ep.libStart()
    ep.audDevManager().setNullDev()
    account_config = pj.AccountConfig()
    account_config.idUri = "sips:hotline@127.0.0.1"
    account = _Account(args.answer, args.ring_ms)
    account.create(account_config)
    print("port", ep.transportGetInfo(transport_id).localName.rsplit(":", 1)[1], flush=True)
    try:
        while True:  # until the test kills it
            ep.libHandleEvents(10)
            for call in account.calls:
                call.tick()
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
