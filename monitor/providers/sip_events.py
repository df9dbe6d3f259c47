"""A SIP call's events on their way to the sink (no SIP stack here).

The SIP thread hands each event over (emit) and goes back to the signalling; one delivery thread passes the
events to the sink in order (the ingest path: stored once, folded), retrying a busy database, so a slow
database never stalls the signalling. Each call's latest status is remembered for the provider's find_call.
A call whose audio waits for the transcription tool (sip_media leaves its Job in the call's record) is handed to
sip_transcribe with its final status; its transcript follows as one more event, and stop() waits for it.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from monitor.providers import sip_transcribe

log = logging.getLogger("monitor.providers.sip_provider")


class Delivery:
    """The events of the calls placed by one provider: remembered, queued, delivered by run() on its own thread."""

    def __init__(self, sink: Callable[[int, dict, str, str], None]):
        self.sink = sink
        self._calls: dict[int, dict] = {}  # attempt id → {'sid', 'status', final fields}: what find_call answers
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.transcriptions = sip_transcribe.Transcriptions(self.emit)  # started by the first call to transcribe

    def emit(self, record: dict, params: dict, kind: str = "status", key: str | None = None) -> None:
        """Remember a status event as the call's latest and queue the event for the sink (called on the SIP thread).
        key: the event's dedupe key, when not the call's sequence (a survey answer's, sip_survey)."""
        if kind == "status":
            with self._lock:
                known = self._calls.setdefault(record["attempt_id"], {"sid": params["CallSid"]})
                known["status"] = params["CallStatus"]
                if "CallDuration" in params:
                    known.update(duration=params["CallDuration"], sip_code=params.get("SipResponseCode"),
                                 timestamp=params["Timestamp"])
        key = key or f"{params['CallSid']}:{params['SequenceNumber']}"
        self._queue.put((record["attempt_id"], params, kind, key))
        job = record.pop("transcribe", None) if kind == "status" else None
        if job is not None:  # the call has ended (sip_media.finish): its audio goes to the tool
            self.transcriptions.submit(job)

    def find(self, attempt_id: int) -> dict | None:
        """What is known of the attempt's call (a copy), or None when this process never placed it."""
        with self._lock:
            call = self._calls.get(attempt_id)
            return dict(call) if call else None

    def stop(self) -> None:
        """Let run() return once what is queued has been delivered, transcripts still being made included (each
        given its time limit at most)."""
        self.transcriptions.stop(wait=sip_transcribe.TIME_LIMIT + 5)
        self._queue.put(None)

    def run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            for attempt in range(3):
                try:
                    self.sink(*item)
                    break
                except Exception:  # the database may be busy: retry, then give up loudly (reconcile settles it)
                    log.exception("sip: delivering %s for attempt %s failed (try %s)", item[3], item[0], attempt + 1)
                    time.sleep(0.5)
