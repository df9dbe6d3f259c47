"""Benchmark — the SIP path: calls per second and calls at once through the SIP provider against SIPp.

SIPp (tests/sipp/answer.xml) answers every call after a short ring; the provider (pjsua2, G.711 A-law, RTP
flowing) places the calls at a fixed rate, hangs each up after SIP_LISTEN_SECONDS, and its events go to an
in-memory sink (no database: the dispatch and ingest paths have their own benchmarks). For each rate: calls
completed, the create request's latency (place_call: until the INVITE is out and its Call-ID known), the most
calls in progress at once, and the CPU time of this process per call (SIP thread, media, event delivery).
Baseline in the same run: the same process idle for as long (CPU time with no call).

    .venv/bin/python bench/sip.py [--quick]
"""
from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DOC, fmt_s, md_table, percentile, write_section  # noqa: E402
from monitor.providers.sip_media import GREETING_SECONDS  # noqa: E402
from monitor.providers.sip_provider import MAX_CALLS, SipProvider  # noqa: E402
from monitor.settings import Settings  # noqa: E402
from tests.sip_peer import SipPeer  # noqa: E402

RING_MS = 200
LISTEN_SECONDS = 1.0
PROMPT_SECONDS = 0.5
CALL_SECONDS = RING_MS / 1000 + GREETING_SECONDS + PROMPT_SECONDS + LISTEN_SECONDS  # from INVITE to BYE
FINAL = ("completed", "busy", "no-answer", "failed", "canceled")


def short_prompt(path: Path) -> Path:
    """A PROMPT_SECONDS tone as the province's prompt WAV (8 kHz mono 16-bit): every call still plays a prompt,
    records and runs the machine detection, but the call's length is set by the bench, not by a spoken sentence."""
    frames = int(8000 * PROMPT_SECONDS)
    tone = b"".join(int(6000 * math.sin(2 * math.pi * 440 * n / 8000)).to_bytes(2, "little", signed=True)
                    for n in range(frames))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(tone)
    return path


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(rate: float, calls: int) -> dict:
    """Place `calls` calls at `rate` per second against one SIPp; what happened."""
    lock = threading.Lock()
    live: set[int] = set()
    finals: dict[int, str] = {}
    peak = [0]

    def sink(attempt_id, params, kind, key):
        with lock:
            status = params.get("CallStatus", "")  # an answered call's AMD event has none
            if status in FINAL:
                live.discard(attempt_id)
                finals[attempt_id] = status
            elif status == "initiated":
                live.add(attempt_id)
                peak[0] = max(peak[0], len(live))

    with SipPeer("answer.xml", pause_ms=RING_MS, calls=calls) as peer, tempfile.TemporaryDirectory() as folder:
        prompt = short_prompt(Path(folder) / "prompt.wav")
        settings = Settings.load({}, {"CALL_PROVIDER": "sip", "SIP_TARGET": peer.target, "SIP_CALLER_ID": "02773851000",
                                      "RING_TIMEOUT": 10, "SIP_LISTEN_SECONDS": LISTEN_SECONDS,
                                      "SIP_PROMPT_WAV": str(prompt), "MAX_CONCURRENT_CALLS": MAX_CALLS})
        provider = SipProvider(settings, sink)
        latencies, refused = [], 0
        started_cpu, started = cpu(), time.monotonic()
        try:
            for i in range(calls):
                due = started + i / rate
                time.sleep(max(0.0, due - time.monotonic()))
                t0 = time.monotonic()
                try:
                    provider.place_call({"id": i + 1, "number": "+842773851234", "is_demo": 0})
                    latencies.append(time.monotonic() - t0)
                except Exception:  # the stack's ceiling of calls at once: counted, not hidden
                    refused += 1
            deadline = time.monotonic() + CALL_SECONDS + 10
            while time.monotonic() < deadline and len(finals) < calls - refused:
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            used = cpu() - started_cpu
        finally:
            provider.close()
    completed = sum(1 for status in finals.values() if status == "completed")
    return {"rate": rate, "calls": calls, "completed": completed, "refused": refused, "peak": peak[0],
            "p50": percentile(latencies, 50) if latencies else 0, "p99": percentile(latencies, 99) if latencies else 0,
            "elapsed": elapsed, "cpu": used}


def idle_cpu(seconds: float) -> float:
    """CPU time of a started SIP stack doing nothing for `seconds` (the baseline)."""
    settings = Settings.load({}, {"CALL_PROVIDER": "sip", "SIP_TARGET": "127.0.0.1:5099"})
    provider = SipProvider(settings, lambda *event: None)
    try:
        before = cpu()
        time.sleep(seconds)
        return cpu() - before
    finally:
        provider.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per rate")
    args = parser.parse_args()
    per_rate = 10 if args.quick else 30
    results = []
    for rate in (1, 2, 3, 5):
        result = run(rate, per_rate)
        print(result)
        results.append(result)
    idle_seconds = max(r["elapsed"] for r in results)
    baseline = idle_cpu(idle_seconds)
    idle_share = baseline / idle_seconds  # CPU seconds per second of the stack polling with no call

    def per_call(r) -> str:
        """CPU per completed call beyond what the idle stack uses in the same time."""
        return f"{1000 * max(0.0, r['cpu'] - idle_share * r['elapsed']) / max(1, r['completed']):.0f} ms"

    rows = [(f"{r['rate']:g}/s", r["calls"], r["completed"], r["refused"], r["peak"],
             f"{fmt_s(r['p50'])} / {fmt_s(r['p99'])}", per_call(r), f"{100 * r['cpu'] / r['elapsed']:.0f} %")
            for r in results]
    body = f"""## The SIP path: calls through pjsua2 against SIPp

`bench/sip.py`: SIPp answers every call after {RING_MS} ms of ringing; the SIP provider places the calls at a fixed
rate, with G.711 A-law media; after the answer it leaves {GREETING_SECONDS:g} s to the greeting, plays a {PROMPT_SECONDS:g} s
prompt, records the far end for the machine detection, and hangs up {LISTEN_SECONDS:g} s after the prompt (so about
{CALL_SECONDS:.1f} s per call: calls at once ≈ rate × that). Events go to an in-memory sink: the dispatch and ingest paths are
measured in their own sections. CPU is this process's (SIP thread, media, event delivery) over the whole run.

{md_table(("rate", "calls", "completed", "refused", "most at once", "place_call p50 / p99", "CPU per call, beyond idle", "CPU share of one core"), rows)}

Baseline in the same run: the started stack idle for {idle_seconds:.0f} s used {1000 * baseline:.0f} ms of CPU
({100 * idle_share:.1f} % of one core: its 10 ms polling); the CPU per call above is what a call adds to that.
The ceiling is the stack's, not the machine's: this build of pjsua takes {MAX_CALLS} calls at once and refuses the
next (counted as refused above; the dispatcher would retry it later). One scheduler therefore sustains about
{MAX_CALLS} ÷ the length of a call calls a second: with real rings (up to 30 s) and 10 s of listening, 0.1 to 0.4 a
second. The limit that binds is then `FLASK_MAX_CONCURRENT_CALLS` (2 by default, 1 to {MAX_CALLS} with this
provider), never `FLASK_CALLS_PER_SECOND` (1)."""
    if "<!-- bench:sip -->" not in DOC.read_text():
        with DOC.open("a") as doc:  # this section's markers, at the end, the first time
            doc.write("\n<!-- bench:sip -->\n_not measured yet_\n<!-- /bench:sip -->\n")
    write_section("sip", body)


if __name__ == "__main__":
    main()
