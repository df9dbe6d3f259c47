"""Twilio (or any Twilio-compatible API): place calls with the SDK, TwiML for the call, webhook signatures.

The only module that imports twilio. Calls go out with a ring timeout, status callbacks for every step,
asynchronous answering-machine detection, a time limit (cost) and (only if TWILIO_RECORD) recording, each
callback URL carrying our attempt id. The SDK's HTTP client gets a timeout. Only a 429 (error 20429: not
processed) or a connection that never reached Twilio is retried with back-off. A create answered with a 5xx may
have placed the call (error 20500) and one that timed out may have too: neither is retried, both raise
ProviderTimeout, and reconcile() looks the call up (by SID when known, else by To/From) before any new dial.
Reads (lists, fetches) are safe to retry on a 5xx.
"""
from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from monitor.providers.base import ProviderRejected, ProviderTimeout, ProviderUnavailable, callback_urls, dial_refusal
from monitor.providers.script import RECORDING_NOTICE, question_for
from monitor.settings import Settings
from registry.clock import parse_iso, utcnow

log = logging.getLogger(__name__)

MAX_TRIES = 4
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 30.0
# How far before our dial request a call may have been created and still be ours (clock skew).
FIND_WINDOW = timedelta(minutes=1)

# Twilio error codes at create time → (our side?, Vietnamese explanation). Never the agency's fault.
REJECTIONS = {
    21211: (False, "Số điện thoại không hợp lệ theo nhà cung cấp cuộc gọi (Twilio 21211): cần kiểm tra lại số trong danh bạ."),
    21217: (False, "Số điện thoại không hợp lệ theo nhà cung cấp cuộc gọi (Twilio 21217): cần kiểm tra lại số trong danh bạ."),
    21214: (False, "Nhà cung cấp cuộc gọi báo số này không thể gọi tới (Twilio 21214): cần kiểm tra lại số trong danh bạ."),
    21215: (True, "Tài khoản gọi kiểm tra chưa được phép gọi tới Việt Nam (Twilio 21215, quyền gọi theo quốc gia)."),
    13227: (True, "Tài khoản gọi kiểm tra chưa được phép gọi tới vùng này (Twilio 13227, quyền gọi theo quốc gia)."),
    32205: (True, "Tài khoản gọi kiểm tra chưa được phép gọi tới vùng này (Twilio 32205, quyền gọi theo quốc gia)."),
    21216: (True, "Tài khoản gọi kiểm tra bị chặn gọi tới số này (Twilio 21216)."),
    13224: (True, "Nhà cung cấp cuộc gọi không hỗ trợ gọi tới loại số này (Twilio 13224)."),
    20003: (True, "Sai thông tin xác thực tài khoản Twilio (20003): kiểm tra FLASK_TWILIO_ACCOUNT_SID và FLASK_TWILIO_AUTH_TOKEN."),
    21210: (True, "Số gọi đi (FLASK_TWILIO_FROM_NUMBER) chưa được xác minh với Twilio (21210)."),
    21212: (True, "Số gọi đi (FLASK_TWILIO_FROM_NUMBER) không hợp lệ (Twilio 21212)."),
}

THANKS = "Dạ vâng, tôi cảm ơn. Xin chào."
SPEECH_HINTS = "gọi số, liên hệ, chuyển sang, không phụ trách, một cửa, đường dây nóng, xin nghe"


class _HttpClient(TwilioHttpClient):
    """TwilioHttpClient that keeps the last response's headers (Retry-After is not in the SDK's exception)."""

    last_headers: Mapping = {}

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        self.last_headers = dict(response.headers or {})
        return response


def _is_connect_failure(exc: requests.RequestException) -> bool:
    """True when the request never reached the server (nothing can have been created)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return isinstance(exc, requests.ConnectionError) and any(
        marker in text for marker in ("NewConnectionError", "Connection refused", "Failed to resolve", "NameResolutionError")
    )


class TwilioProvider:
    """Places real calls through the twilio SDK against TWILIO_API_BASE_URL."""

    name = "twilio"
    survey_calls = True  # holds the automated survey's keypad conversation (monitor/surveys/keypad.py)
    dials_real_numbers = True
    # Twilio calls Vietnam from abroad: short numbers (1022) and 1800/1900 ranges are not reachable that way.
    dialable_kinds = frozenset({"landline", "mobile"})

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep, max_tries: int = MAX_TRIES):
        self.settings = settings
        self.sleep = sleep
        self.max_tries = max_tries
        self.from_number = settings.twilio_from_number
        self.http = _HttpClient(timeout=settings.twilio_http_timeout)
        self.client = Client(settings.twilio_account_sid or None, settings.twilio_auth_token or None,
                             http_client=self.http)
        # Point the SDK at another Twilio-compatible API (or a local test double): the Api domain's base URL.
        self.client.api.base_url = settings.twilio_api_base_url.rstrip("/")
        public = settings.public_base_url
        if "127.0.0.1" in public or "localhost" in public:
            log.warning("PUBLIC_BASE_URL is %s: Twilio cannot reach callbacks there; set FLASK_PUBLIC_BASE_URL", public)

    @property
    def _calls(self):
        return self.client.api.account.calls

    # -- Provider interface

    def place_call(self, attempt: dict) -> str:
        if attempt.get("is_demo", 1):
            # Defence in depth: the dispatcher checks too. A missing flag counts as demo: never dial on a guess.
            raise ProviderRejected("demo_number", "Số thử nghiệm (demo) hoặc không rõ là số thật: không bao giờ gọi thật.",
                                   our_side=True)
        number = attempt["number"]
        refusal = dial_refusal(self, number)  # the dispatcher checks too; never a request for a refused number
        if refusal is not None:
            raise refusal
        if not self.from_number:
            raise ProviderRejected("no_from_number", "Chưa cấu hình số gọi đi FLASK_TWILIO_FROM_NUMBER.", our_side=True)
        urls = callback_urls(self.settings.public_base_url, attempt["id"])
        params = dict(
            to=number,
            from_=self.from_number,
            url=urls["voice"],
            method="POST",
            status_callback=urls["status"],
            status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            timeout=self.settings.ring_timeout,
            # an interview by keypad lasts longer than a test call (monitor/surveys/keypad.time_limit)
            time_limit=max(self.settings.call_time_limit_seconds, (attempt.get("survey") or {}).get("time_limit", 0)),
            machine_detection="DetectMessageEnd",
            async_amd="true",
            async_amd_status_callback=urls["amd"],
            async_amd_status_callback_method="POST",
        )
        extension = "".join(ch for ch in str(attempt.get("extension") or "") if ch.isdigit())
        if extension:
            # The extension is keyed in once the line connects; each "w" waits half a second for the switchboard.
            params["send_digits"] = "wwww" + extension
        if self.settings.twilio_record:
            params.update(record=True, recording_status_callback=urls["recording"],
                          recording_status_callback_method="POST")
        call = self._with_retries(lambda: self._calls.create(**params), creating=True)
        return call.sid

    def find_call(self, attempt: dict) -> dict | None:
        """The call we created for this attempt: fetched by its SID when a callback told us one; otherwise the
        earliest call with the same To and From created from just before our dial request.

        No StartTime filter: a queued call has no start time yet, and Twilio's filter would hide it. The Calls
        list does not return callback URLs, so our attempt id cannot be matched; the scheduler keeps a long
        minimum gap between two calls to one number, so the earliest such call is ours.
        """
        requested = attempt.get("dial_requested_at") or attempt.get("created_at")
        since = (parse_iso(requested) if requested else utcnow()) - FIND_WINDOW
        try:
            if attempt.get("call_sid"):
                try:
                    return _found(self._with_retries(lambda: self._calls(attempt["call_sid"]).fetch(), creating=False))
                except ProviderRejected as exc:
                    if exc.code != "20404":
                        raise
                    return None
            calls = self._with_retries(
                lambda: self._calls.list(to=attempt["number"], from_=self.from_number or None, limit=50),
                creating=False,
            )
        except ProviderRejected as exc:  # e.g. credentials: we cannot tell, so reconcile must try again later
            raise ProviderUnavailable(exc.message) from exc
        mine = []
        for call in calls:
            created = call.date_created or call.start_time
            if created is not None and created.tzinfo is None:
                created = created.replace(tzinfo=timezone.utc)
            if created is None or created >= since:
                mine.append((created or datetime.max.replace(tzinfo=timezone.utc), call))
        if not mine:
            return None
        _, call = min(mine, key=lambda pair: pair[0])
        return _found(call)

    def call_error(self, sid: str) -> dict | None:
        """Why a call failed, from its ERROR notifications: {'error_code', 'error_message', 'sip_code'}.

        A status callback's `failed` without SipResponseCode does not say whose failure it was; Twilio records
        the cause as the call's notifications (its error code, and a carrier's SIP response when there was one).
        None when there is no error notification. Raises ProviderUnavailable when Twilio cannot be asked now.
        """
        try:
            notes = self._with_retries(lambda: self._calls(sid).notifications.list(limit=20), creating=False)
        except ProviderRejected as exc:
            raise ProviderUnavailable(exc.message) from exc
        errors = [note for note in notes if str(note.log) == "0"] or list(notes)
        if not errors:
            return None
        note = errors[0]
        fields = {key.lower(): values[0] for key, values in parse_qs(note.message_text or "").items() if values}
        sip = fields.get("sipresponsecode") or fields.get("sip_response_code")
        return {"error_code": str(note.error_code or ""), "error_message": fields.get("msg") or note.message_text or "",
                "sip_code": int(sip) if sip and sip.isdigit() else None}

    def close(self) -> None:
        session = getattr(self.http, "session", None)
        if session is not None:
            session.close()

    # -- internals

    def _with_retries(self, request: Callable, *, creating: bool):
        """Run an API request, retrying 429/5xx and unreached servers with exponential back-off and jitter."""
        last = None
        for attempt in range(self.max_tries):
            try:
                return request()
            except TwilioRestException as exc:
                if creating and exc.status >= 500:
                    # Twilio may have placed the call before failing (20500): retrying could dial twice.
                    raise ProviderTimeout(f"Yêu cầu tạo cuộc gọi bị trả lời HTTP {exc.status} ({exc.code}): cuộc gọi có "
                                          "thể đã được tạo, sẽ tra lại trước khi gọi lần nữa.") from exc
                if exc.status == 429 or exc.status >= 500:
                    last = f"HTTP {exc.status} ({exc.code}): {exc.msg}"
                    self._back_off(attempt, self.http.last_headers.get("Retry-After"))
                    continue
                raise _rejection(exc) from exc
            except TwilioException as exc:
                # A list page that failed: the SDK raises the generic exception with the response attached.
                response = exc.args[1] if len(exc.args) > 1 else None
                status = getattr(response, "status_code", 0)
                if status == 429 or status >= 500:
                    last = f"HTTP {status}"
                    self._back_off(attempt, (getattr(response, "headers", None) or {}).get("Retry-After"))
                    continue
                raise ProviderUnavailable(f"Nhà cung cấp cuộc gọi trả lời không đọc được (HTTP {status}).") from exc
            except requests.RequestException as exc:
                if _is_connect_failure(exc):
                    last = f"không kết nối được: {exc.__class__.__name__}"
                    self._back_off(attempt, None)
                    continue
                if creating:
                    # The request may have reached Twilio: the call may exist. Retrying could dial twice.
                    raise ProviderTimeout(f"Không rõ kết quả yêu cầu tạo cuộc gọi ({exc.__class__.__name__}).") from exc
                raise ProviderUnavailable(f"Không đọc được danh sách cuộc gọi ({exc.__class__.__name__}).") from exc
        raise ProviderUnavailable(f"Nhà cung cấp cuộc gọi vẫn không sẵn sàng sau {self.max_tries} lần thử: {last}.")

    def _back_off(self, attempt: int, retry_after) -> None:
        if attempt + 1 >= self.max_tries:
            return
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * (0.5 + random.random() / 2)
        try:
            if retry_after is not None:
                delay = max(delay, min(RETRY_AFTER_CAP, float(retry_after)))
        except ValueError:
            pass  # an HTTP-date Retry-After: keep our own back-off
        log.warning("Twilio busy or unavailable, retrying in %.1f s", delay)
        self.sleep(delay)


def _found(call) -> dict:
    """What reconcile needs of a Twilio call resource."""
    return {"sid": call.sid, "status": call.status, "duration": call.duration, "answered_by": call.answered_by,
            "timestamp": None}


def _rejection(exc: TwilioRestException) -> ProviderRejected:
    code = exc.code if isinstance(exc.code, int) else None
    our_side, message = REJECTIONS.get(code, (True, None))
    if message is None:
        message = f"Nhà cung cấp cuộc gọi từ chối yêu cầu (HTTP {exc.status}, mã {exc.code}): {exc.msg}"
    return ProviderRejected(code or exc.status, message, our_side=our_side)


# ------------------------------------------------------------------------------------- TwiML, signatures


def voice_twiml(settings: Settings, attempt_id: int) -> str:
    """TwiML for an answered test call: hear the greeting, ask one plausible citizen question, hear the answer.

    Without recording, a first Gather catches the greeting (a person, an IVR or a carrier announcement speaks
    first), then the question is asked. With recording on, the spoken notice comes first, before anything else.
    """
    urls = callback_urls(settings.public_base_url, attempt_id)
    response = VoiceResponse()
    if settings.twilio_record:
        response.say(RECORDING_NOTICE, language="vi-VN", voice=settings.twilio_voice)
        _ask(response, settings, attempt_id)
    else:
        response.gather(input="speech", language="vi-VN", timeout=4, speech_timeout=2, profanity_filter=False,
                        action_on_empty_result=True, action=urls["gather"] + "?step=greeting", method="POST",
                        hints=SPEECH_HINTS)
        # Reached only if the Gather posts nowhere (it always does with actionOnEmptyResult): ask anyway.
        _ask(response, settings, attempt_id)
    return str(response)


def _ask(response, settings: Settings, attempt_id: int) -> None:
    urls = callback_urls(settings.public_base_url, attempt_id)
    voice = settings.twilio_voice
    # The question varies between calls so agencies cannot learn to spot the test line by its script.
    response.say(question_for(attempt_id).text, language="vi-VN", voice=voice)
    response.gather(input="speech", language="vi-VN", timeout=5, speech_timeout=3, profanity_filter=False,
                    action_on_empty_result=True, action=urls["gather"] + "?step=answer", method="POST",
                    hints=SPEECH_HINTS)
    response.hangup()


def gather_twiml(settings: Settings, attempt_id: int, step: str) -> str:
    """What follows a Gather: after the greeting, the question; after the answer, thanks and hang up."""
    response = VoiceResponse()
    if step == "greeting":
        _ask(response, settings, attempt_id)
    else:
        response.say(THANKS, language="vi-VN", voice=settings.twilio_voice)
        response.hangup()
    return str(response)


def survey_twiml(settings: Settings, attempt_id: int, say: list[str], ask: dict | None) -> str:
    """TwiML for one step of an automated survey call (monitor/surveys/keypad.py decides the steps).

    say: sentences spoken first (the recording notice is added before anything when recording is on, on the
    first step only: `ask["first"]`). ask: the next question {"step", "kind", "prompt"}, asked inside its
    Gather so a key pressed early interrupts the prompt; None: the call ends after `say`. A Gather that hears
    nothing still posts (actionOnEmptyResult), so the flow goes on; a hang-up keeps what was answered.
    """
    response = VoiceResponse()
    voice = settings.twilio_voice
    if ask and ask.get("first") and settings.twilio_record:
        response.say(RECORDING_NOTICE, language="vi-VN", voice=voice)
    for sentence in say:
        response.say(sentence, language="vi-VN", voice=voice)
    if ask is None:
        response.hangup()
        return str(response)
    action = callback_urls(settings.public_base_url, attempt_id)["gather"] + f"?survey=1&step={ask['step']}"
    if ask["kind"] == "text":  # a spoken comment, transcribed by the provider; # ends it
        gather = response.gather(input="speech dtmf", finish_on_key="#", language="vi-VN", timeout=6,
                                 speech_timeout="auto", profanity_filter=False, action_on_empty_result=True,
                                 action=action, method="POST")
    else:
        gather = response.gather(input="dtmf", num_digits=1, timeout=8, action_on_empty_result=True,
                                 action=action, method="POST")
    gather.say(ask["prompt"], language="vi-VN", voice=voice)
    return str(response)


def valid_signature(token: str, url: str, params, signature: str, settings_header: str | None = None,
                    shared_keys: Mapping[str, str] | None = None) -> bool:
    """True when X-Twilio-Signature matches the public URL (with its query, with or without the port) and the body.

    The ways an account can have its webhooks signed, all accepted:
    - the auth token with HMAC-SHA1 over the URL and the sorted form parameters (the default);
    - a JSON body: `params` is then the raw body (str) and the URL carries bodySHA256, its SHA-256, which must
      match; the signature covers the URL alone;
    - a Webhook Rule's SharedKey: X-Twilio-Webhooks-Signature-Settings names the key id and the algorithm
      (HMAC_SHA1 or HMAC_SHA256); the secret comes from `shared_keys` (key id → secret). A named key we do not
      hold, or an algorithm the SDK does not know, fails.
    """
    if not signature:
        return False
    secret = token
    if settings_header:
        key_id = next((value.strip() for name, _, value in (part.partition("=") for part in settings_header.split(","))
                       if name.strip() == "key"), "")
        secret = (shared_keys or {}).get(key_id, "")
    if not secret:
        return False
    if isinstance(params, (bytes, str)):
        body = params.decode("utf-8", "replace") if isinstance(params, bytes) else params
        claimed = parse_qs(urlsplit(url).query).get("bodySHA256", [""])[0]
        if not claimed or hashlib.sha256(body.encode("utf-8")).hexdigest() != claimed:
            return False
        params = body
    return RequestValidator(secret).validate(url, params, signature, get_signature_algorithm(settings_header))
