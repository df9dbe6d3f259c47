"""SIP: test calls through the province's own trunk or PBX, placed with PJSIP's Python binding (pjsua2).

The only module that imports the SIP stack. One thread owns it: pjsua2 runs without threads of its own
(threadCnt=0) and every call into it — dialling, hanging up, polling its events — happens on that thread, so
the dispatcher's workers only hand it requests and wait for the Call-ID (the call's sid). A second thread
delivers the calls' events to the sink (the same ingest path as the simulator's and Twilio's webhooks:
stored once, folded), so a slow database never stalls the signalling.

What a call does: INVITE to SIP_TARGET with the number as dialled domestically, G.711 A-law first; ringing
(180/183, early media included: not an answer) and the answer (200) are stamped as they come; an unanswered
call is cancelled after RING_TIMEOUT; an answered one SIP_LISTEN_SECONDS after our question (sip_media; capped
by CALL_TIME_LIMIT_SECONDS); a trunk that sends nothing at all within SIP_RESPONSE_TIMEOUT is down, our side. The
final response becomes the call's status (sip_signalling.final_params); redirect targets (3xx Contact) and
Diversion / History-Info headers are kept on the final event as evidence. Digest authentication answers the
trunk's challenge when SIP_USERNAME is set (SIP_REGISTER: our line registers first); a refusal is our side.
Once answered, the call speaks and listens (sip_media): the prompts of sip_prompt are played, the far end's
audio is captured for answering-machine detection (an `amd` event before the final one) and kept as the
recording only when recording is on (its link on the final event). A survey call (purpose 'survey') holds
the keypad conversation of sip_survey instead of the question: keys by RFC 2833 or SIP INFO, no AMD event.

A crash of this process loses the calls in flight with it: the next process's find_call knows nothing of
them, so reconcile ends those attempts provider_error (never counted, replaced) and never dials them again.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime

import pjsua2 as pj

from monitor.providers import sip_endpoint, sip_media, sip_prompt, sip_survey
from monitor.providers import sip_signalling as sig
from monitor.providers.base import (
    ProviderConfigError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    dial_refusal,
)
from monitor.providers.sip_events import Delivery
from monitor.providers.sip_output import stdout_to_stderr
from monitor.settings import Settings
from registry.clock import utcnow

log = logging.getLogger(__name__)

POLL_MS = 10  # how long one pass of the SIP thread waits for network events
REQUEST_TIMEOUT = 5.0  # seconds a worker waits for the SIP thread to send its INVITE
CLOSE_GRACE = 2.0  # seconds left to calls being hung up when the provider closes
MAX_CALLS = 4  # calls at once one stack takes: this wheel's pjsua refuses a fifth (PJ_ETOOMANY) whatever is asked


class _LogWriter(pj.LogWriter):
    """PJSIP's own log into ours (debug level: it is chatty)."""

    def write(self, entry):
        log.debug("pjsip: %s", entry.msg.rstrip())


class _Call(pj.Call):
    """One outgoing call; its callbacks run on the SIP thread and go straight to the engine."""

    def __init__(self, account, engine: _Engine, record: dict):
        super().__init__(account)
        self.engine = engine
        self.record = record

    def onCallState(self, prm):
        self.engine.on_state(self, prm)

    def onCallTsxState(self, prm):
        # Every response, 100 Trying included (it changes no call state): the trunk is alive.
        sig.heard(self.record, self.engine.received(prm))

    def onCallRedirected(self, prm):
        # A 3xx is the evidence (the hotline sends callers elsewhere): keep its target, never follow it.
        self.record["redirect_to"] = prm.targetUri
        self.record["redirect_code"] = sig.status_code(self.engine.received(prm)) or 302
        return pj.PJSIP_REDIRECT_STOP

    def onDtmfDigit(self, prm):
        # RFC 2833 and SIP INFO alike: a survey call's answer (sip_survey); a test call asks for no key.
        if self.record.get("survey") is not None:
            self.record["survey"].key(self.record, prm.digit, time.monotonic())


class _Engine:
    """The SIP stack and the calls in progress; used on the SIP thread only."""

    def __init__(self, settings: Settings, emit: Callable[[dict, dict], None], clock: Callable[[], datetime]):
        self.settings = settings
        self.emit = emit
        self.clock = clock
        self.host, self.port = sig.parse_target(settings.sip_target)
        self.transport = settings.sip_transport
        self.calls: dict[int, _Call] = {}  # attempt id → call still in progress
        self.dead: list[_Call] = []  # disconnected: released on the next pass, never inside their own callback
        self.ep = pj.Endpoint()
        with stdout_to_stderr():
            self.ep.libCreate()
        try:
            self._start(settings)
        except BaseException:
            self.ep.libDestroy()  # on this thread, so that the next start in this process begins clean
            raise

    def _start(self, settings: Settings) -> None:
        self._writer = _LogWriter()
        sip_endpoint.start(pj, self.ep, max_calls=MAX_CALLS, writer=self._writer, transport=self.transport,
                           debug=log.isEnabledFor(logging.DEBUG), ca_file=sip_endpoint.ca_file(settings))
        account = pj.AccountConfig()
        caller = sig.domestic(settings.sip_caller_id) or "anonymous"
        account.idUri = f"{'sips' if self.transport == 'tls' else 'sip'}:{caller}@{self.host}"
        account.mediaConfig.transportConfig.port = 0
        if settings.sip_username:
            account.sipConfig.authCreds.append(
                pj.AuthCredInfo("digest", "*", settings.sip_username, 0, settings.sip_password))
        self.registering = bool(settings.sip_register and settings.sip_username)  # our line registered first
        account.regConfig.registrarUri = sig.registrar_uri(self.host, self.port, self.transport) if self.registering else ""
        self.account = pj.Account()
        self.account.create(account)
        deadline = time.monotonic() + settings.sip_response_timeout  # the registrar's answer, before any call
        while self.registering and sig.registration_pending(self.account.getInfo()) and time.monotonic() < deadline:
            self.ep.libHandleEvents(POLL_MS)
        self.caller = caller

    # -- requests from other threads (run here)

    def dial(self, attempt: dict) -> str:
        """Send the INVITE; returns the Call-ID. Raises ProviderUnavailable if the stack could not send it."""
        refused = sig.registration_refusal(self.account.getInfo()) if self.registering else None
        if refused:  # the trunk refused our line's registration: nothing is sent (our side)
            raise ProviderUnavailable(refused)
        number = attempt["number"]
        record = sig.new_record(attempt, time.monotonic(), self.settings)
        record["prompts"] = attempt.get("prompts", [])
        record["survey"] = attempt.get("conversation")  # a survey call's keypad conversation (sip_survey)
        call = _Call(self.account, self, record)
        failure = None
        try:
            call.makeCall(sig.request_uri(number, self.host, self.port, self.transport), pj.CallOpParam(True))
        except pj.Error as exc:
            failure = exc.info()
        if failure is not None:
            # Freed here, on this thread: the exception travels to a worker, and a pjsua object freed there
            # (with the frame that held it) would abort the process. Nothing went out: it may be tried again.
            del call
            raise ProviderUnavailable(f"Ngăn xếp SIP không gửi được cuộc gọi: {failure}")
        self.calls[attempt["id"]] = call  # from here the SIP thread owns it until it disconnects
        try:
            record["sid"] = call.getInfo().callIdString
        except pj.Error as exc:
            failure = exc.info()
        if failure is not None:  # the INVITE may be out: never dial this attempt again on a guess
            del call  # (self.calls keeps it, and frees it on this thread)
            raise ProviderTimeout(f"Ngăn xếp SIP không cho biết mã cuộc gọi: {failure}")
        self._status(record, {"CallStatus": "initiated"})
        return record["sid"]

    def hang_up_all(self) -> None:
        for call in list(self.calls.values()):
            self._hang_up(call, sig.CLOSING)

    # -- the stack's callbacks and the clock

    def on_state(self, call: _Call, prm) -> None:
        record = call.record
        info = call.getInfo()
        message = self.received(prm)
        sig.heard(record, message)
        if info.state == pj.PJSIP_INV_STATE_EARLY and info.lastStatusCode in sig.RINGING and not record["ringing"]:
            record["ringing"] = True
            self._status(record, {"CallStatus": "ringing", "SipProvisionalCode": str(info.lastStatusCode)})
        elif info.state == pj.PJSIP_INV_STATE_CONFIRMED and record["answered_at"] is None:
            record["answered_at"] = time.monotonic()
            limit = max(self.settings.call_time_limit_seconds, record["time_limit"])  # a survey: its interview's
            listen = limit if record["survey"] is not None else min(self.settings.sip_listen_seconds, limit)
            record["hangup_at"] = record["answered_at"] + listen
            self._status(record, {"CallStatus": "in-progress"})
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            code, reason = info.lastStatusCode, info.lastReason
            remote = sig.status_code(message) == code if message else False
            if record["redirect_code"]:  # the stack reports the redirect it stopped as its own 487
                code, reason, remote = record["redirect_code"], "Redirect", True
            answered = record["answered_at"] is not None
            duration = round(time.monotonic() - record["answered_at"]) if answered else 0
            final = sig.final_params(code, reason, remote=remote, answered=answered, duration=duration,
                                     ours=record["ours"], rang=record["ringing"])
            if record["redirect_to"]:
                final["RedirectTarget"] = record["redirect_to"]
            if record["diversions"]:
                final["Diversion"] = " | ".join(record["diversions"])
            amd, recording = sip_media.finish(record)  # what the far end's audio shows, and where it is kept
            if amd and record["survey"] is None:  # a survey call's citizen is judged by the keys, never held
                self._status(record, amd, kind="amd")
            if recording:
                final["RecordingUrl"] = recording
            self._status(record, final)
            self.calls.pop(record["attempt_id"], None)
            self.dead.append(call)

    def tick(self) -> None:
        """Hang up what has rung, been listened to, or waited for the trunk long enough; release dead calls."""
        self.dead.clear()
        now = time.monotonic()
        for call in list(self.calls.values()):
            record = call.record
            if record["answered_at"] is not None:
                sip_media.start(pj, call, record, self.settings, now)
                sip_media.tick(record, now)
                if record["survey"] is not None:
                    record["survey"].tick(record, now)
                if now >= record["hangup_at"]:
                    self._hang_up(call, sig.LISTENED)
            elif not record["responded"] and now >= record["response_deadline"]:
                self._give_up(call)
            elif now >= record["ring_deadline"] and record["ours"] is None:
                self._hang_up(call, sig.RING_TIMEOUT)

    def destroy(self) -> None:
        for call in self.calls.values():
            sip_media.finish(call.record, transcribe=False)  # a capture is never left behind
        self.calls.clear()
        self.dead.clear()
        try:
            self.account.shutdown()
        finally:
            self.ep.libDestroy()

    # -- internals

    def _hang_up(self, call: _Call, why: str) -> None:
        if call.record["ours"] is None:
            call.record["ours"] = why
        try:
            call.hangup(pj.CallOpParam(True))
        except pj.Error:  # already ending
            pass

    def _give_up(self, call: _Call) -> None:
        """The trunk never answered the INVITE: end the call now (the stack keeps retrying it in the background)."""
        record = call.record
        record["ours"] = sig.NO_RESPONSE
        self._status(record, sig.final_params(0, "", remote=False, answered=False, duration=0, ours=sig.NO_RESPONSE))
        self.calls.pop(record["attempt_id"], None)
        try:
            call.hangup(pj.CallOpParam(True))
        except pj.Error:
            pass
        record["finished"] = True  # its DISCONNECTED later emits nothing more
        self.dead.append(call)

    def _status(self, record: dict, fields: dict, kind: str = "status") -> None:
        if record.get("finished"):
            return
        params = {"CallSid": record["sid"], "From": self.caller, "To": record["number"], "Direction": "outbound-api",
                  "SequenceNumber": str(record["sequence"]), "Timestamp": sig.timestamp(self.clock()),
                  "CallbackSource": "sip", **fields}
        record["sequence"] += 1
        if kind == "status" and fields["CallStatus"] in ("completed", "busy", "no-answer", "failed", "canceled"):
            record["finished"] = True
        self.emit(record, params, kind)

    @staticmethod
    def received(prm) -> str:
        """The SIP message received that caused this state change ('' when none: a timer, our own request)."""
        try:
            event = prm.e
            if event.type == pj.PJSIP_EVENT_TSX_STATE and event.body.tsxState.type == pj.PJSIP_EVENT_RX_MSG:
                return event.body.tsxState.src.rdata.wholeMsg or ""
        except (AttributeError, pj.Error):
            pass
        return ""


class SipProvider:
    """Places test calls and survey calls over SIP through SIP_TARGET; events go to the sink like the simulator's."""

    name = "sip"
    dials_real_numbers = True
    survey_calls = True  # holds the automated survey's keypad conversation (sip_survey)
    # A domestic line reaches short numbers (1022) and 1800 numbers; 1900 numbers cost the caller, and
    # emergency numbers are refused for every provider (base.dial_refusal).
    dialable_kinds = frozenset({"landline", "mobile", "short", "tollfree"})

    def __init__(self, settings: Settings, sink: Callable[[int, dict, str, str], None], *,
                 clock: Callable[[], datetime] = utcnow):
        sig.parse_target(settings.sip_target)  # a wrong target stops start-up here, naming the setting
        sip_prompt.check(settings)  # so does a prompt that cannot be spoken
        sip_media.clear_captures(settings.database)  # a crashed process's, never to be kept
        self.settings = settings
        self.sink = sink
        self.clock = clock
        self.placed: list[tuple[int, str]] = []  # (attempt id, sid) of every call placed: tests count dials
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._events = Delivery(sink)  # remembered for find_call, delivered to the sink by their own thread
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._error: str | None = None
        self._sip = threading.Thread(target=self._run, name="sip-stack", daemon=True)
        self._sip.start()
        self._ready.wait(timeout=10)
        if self._error is not None or not self._ready.is_set():
            self._stopping.set()
            raise ProviderConfigError(f"Không khởi động được ngăn xếp SIP: {self._error or 'quá thời gian'}.",
                                      field="SIP_TARGET")
        self._delivery = threading.Thread(target=self._events.run, name="sip-events", daemon=True)
        self._delivery.start()

    # -- Provider interface

    def place_call(self, attempt: dict) -> str:
        if attempt.get("is_demo", 1):
            # Defence in depth: the dispatcher checks too. A missing flag counts as demo: never dial on a guess.
            raise ProviderRejected("demo_number", "Số thử nghiệm (demo) hoặc không rõ là số thật: không bao giờ gọi thật.",
                                   our_side=True)
        refusal = dial_refusal(self, attempt["number"])
        if refusal is not None:
            raise refusal
        if self._stopping.is_set() or not self._sip.is_alive():
            raise ProviderUnavailable("Ngăn xếp SIP không chạy.")
        conversation = self._conversation(attempt)  # spoken here, never on the SIP thread
        prompts = conversation.opening() if conversation else sip_prompt.prompts(self.settings, attempt["id"])
        future: Future = Future()
        self._requests.put(({**attempt, "prompts": prompts, "conversation": conversation}, future))
        try:
            sid = future.result(timeout=REQUEST_TIMEOUT)
        except FutureTimeout:
            # The SIP thread may still send it: the call may exist, reconcile looks it up before any new dial.
            raise ProviderTimeout("Ngăn xếp SIP chưa xác nhận đã gửi cuộc gọi.") from None
        with self._lock:
            self.placed.append((attempt["id"], sid))
        return sid

    def _conversation(self, attempt: dict) -> sip_survey.Conversation | None:
        """A survey call's keypad conversation, its prompts synthesised; None for a test call."""
        if attempt.get("purpose") != "survey":
            return None
        if not attempt.get("survey"):
            raise ProviderRejected("no_survey", "Cuộc gọi khảo sát không có kịch bản câu hỏi.", our_side=True)
        return sip_survey.Conversation(self.settings, attempt["survey"], self._events.emit, self.clock)

    def find_call(self, attempt: dict) -> dict | None:
        return self._events.find(attempt["id"])

    def close(self) -> None:
        """Hang up the calls in progress (they end `canceled`, our side), stop the SIP thread, deliver what is left."""
        self._stopping.set()
        self._sip.join(timeout=CLOSE_GRACE + 5)
        self._events.stop()
        delivery = getattr(self, "_delivery", None)
        if delivery is not None:
            delivery.join(timeout=10)

    # -- the SIP thread

    def _run(self) -> None:
        try:
            engine = _Engine(self.settings, self._events.emit, self.clock)
        except Exception as exc:  # reported by the constructor, as text: no pjsua object leaves this thread
            self._error = exc.info() if isinstance(exc, pj.Error) else str(exc)
            self._ready.set()
            return
        self._ready.set()
        try:
            while not self._stopping.is_set():
                self._serve(engine)
                engine.ep.libHandleEvents(POLL_MS)
                engine.tick()
            self._serve(engine)  # refuse what is still queued rather than leave a worker waiting
            engine.hang_up_all()
            deadline = time.monotonic() + CLOSE_GRACE
            while engine.calls and time.monotonic() < deadline:
                engine.ep.libHandleEvents(POLL_MS)
        finally:
            engine.destroy()

    def _serve(self, engine: _Engine) -> None:
        while True:
            try:
                attempt, future = self._requests.get_nowait()
            except queue.Empty:
                return
            if self._stopping.is_set():
                future.set_exception(ProviderUnavailable("Ngăn xếp SIP đang dừng."))
                continue
            try:
                future.set_result(engine.dial(attempt))
            except Exception as exc:
                # Without its traceback: its frames hold the engine, and the worker (or the garbage collector
                # on another thread) would then free pjsua objects off this thread, which aborts the process.
                future.set_exception(exc.with_traceback(None))
