"""A local Twilio-compatible HTTP test double for the Calls API, with fault injection.

    with TwilioDouble() as twilio:
        config["TWILIO_API_BASE_URL"] = twilio.base_url
        twilio.fail_next(status=429, retry_after=0)      # then a normal 201
        twilio.fail_next(delay=2.0)                      # creates the call, answers 2 s late (client times out)
        twilio.fail_next(status=400, code=21211)         # a Twilio error JSON {code, message, status}
        twilio.fail_next(500, after_create=True)         # the call IS created, yet the answer is a 500
        twilio.set_error(sid, 13227, sip_code=None)      # why a failed call failed (its Notifications)
        ... twilio.requests, twilio.calls, twilio.created ...

It runs a threaded Werkzeug server on 127.0.0.1 (a free port) in a daemon thread; reusable by benchmarks and
fault tests. Also here: signed_post(), which sends a request signed like Twilio's to the Flask test client.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import deque
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"
ERROR_MESSAGES = {
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    502: (20502, "Bad Gateway"),
    503: (20503, "Service Unavailable"),
    21211: (21211, "Invalid 'To' Phone Number"),
    21214: (21214, "'To' phone number cannot be reached"),
    21215: (21215, "Geo Permission configuration is not permitting call"),
    21216: (21216, "Account not allowed to call this number"),
    21217: (21217, "Phone number does not appear to be valid"),
    13224: (13224, "Dial: Twilio does not support calling this number or the number is invalid"),
    13227: (13227, "Geo Permission configuration is not permitting call"),
    32205: (32205, "Geo Permission configuration is not permitting call"),
    20003: (20003, "Authenticate"),
}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # keep test and benchmark output clean
        pass


class TwilioDouble:
    """POST/GET /2010-04-01/Accounts/{sid}/Calls.json like Twilio's, recording every request."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[dict] = []
        self.calls: list[dict] = []
        self.notifications: dict[str, list[dict]] = {}
        self._faults: dict[str, deque] = {"POST": deque(), "GET": deque()}
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self.base_url = ""

    # -- lifecycle

    def __enter__(self) -> TwilioDouble:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="twilio-double", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- test controls

    def fail_next(self, status: int | None = None, *, retry_after=None, delay: float | None = None,
                  code: int | None = None, message: str | None = None, method: str = "POST", times: int = 1,
                  after_create: bool = False) -> None:
        """Queue a fault for the next request(s) of this method: an HTTP error, a Twilio error JSON, or a delay.

        delay: the request is processed (a create does create the call), then the answer comes late.
        after_create: the create is processed (the call exists and is queued), then the error is answered, as
        Twilio documents for a 5xx (error 20500): the request's fate is unknown to the client.
        """
        fault = {"status": status, "retry_after": retry_after, "delay": delay, "code": code, "message": message,
                 "after_create": after_create}
        if status is None and code is not None:
            fault["status"] = 401 if code == 20003 else 400
        with self._lock:
            for _ in range(times):
                self._faults[method.upper()].append(dict(fault))

    @property
    def created(self) -> list[dict]:
        """The create requests that made a call (one per call the double holds)."""
        return [r for r in self.requests if r["method"] == "POST" and r.get("created")]

    def set_status(self, sid: str, status: str, *, duration: int | None = None, answered_by: str | None = None) -> None:
        """Move a held call to another status (what Twilio's list would then show); it gets a start time."""
        with self._lock:
            for call in self.calls:
                if call["sid"] == sid:
                    call["status"] = status
                    call["start_time"] = call["start_time"] or format_datetime(datetime.now(timezone.utc), usegmt=True)
                    if duration is not None:
                        call["duration"] = str(duration)
                    if answered_by is not None:
                        call["answered_by"] = answered_by

    def set_error(self, sid: str, code: int, message: str = "", *, sip_code: int | None = None) -> None:
        """Record why a call failed as Twilio does: an ERROR notification of the call (log 0) with its error code;
        a carrier's SIP response, when there was one, is in the notification's message text."""
        text = "Msg=" + (message or "Call failed").replace(" ", "+")
        if sip_code is not None:
            text += f"&sipResponseCode={sip_code}"
        now = format_datetime(datetime.now(timezone.utc), usegmt=True)
        with self._lock:
            self.notifications.setdefault(sid, []).append({
                "sid": "NO" + uuid.uuid4().hex, "account_sid": self.account_sid, "call_sid": sid,
                "api_version": "2010-04-01", "date_created": now, "date_updated": now, "message_date": now,
                "error_code": str(code), "log": "0", "message_text": text,
                "more_info": f"https://www.twilio.com/docs/errors/{code}", "request_method": "POST",
                "request_url": "", "request_variables": "", "response_body": "", "response_headers": "",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}/Notifications/NO.json",
            })

    # -- the WSGI app

    def _app(self, environ, start_response):
        request = Request(environ)
        record = {
            "method": request.method,
            "path": request.path,
            "args": request.args.to_dict(flat=False),
            "form": request.form.to_dict(flat=False),
            "headers": dict(request.headers),
            "authorized": self._authorized(request),
            "created": False,
        }
        with self._lock:
            self.requests.append(record)
            queue = self._faults.get(request.method)
            fault = queue.popleft() if queue else None
        response = self._handle(request, record, fault)
        return response(environ, start_response)

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    def _handle(self, request: Request, record: dict, fault: dict | None) -> Response:
        calls_path = f"/2010-04-01/Accounts/{self.account_sid}/Calls.json"
        if not record["authorized"]:
            return self._error(401, 20003, "Authenticate")
        if fault and fault["status"] and fault["after_create"] and request.method == "POST" and request.path == calls_path:
            self._create(request, record)  # processed, then answered with the error
        if fault and fault["status"]:
            code, message = ERROR_MESSAGES.get(fault["code"] or fault["status"], (fault["code"] or fault["status"], "Error"))
            headers = {"Retry-After": str(fault["retry_after"])} if fault["retry_after"] is not None else {}
            return self._error(fault["status"], code, fault["message"] or message, headers)
        one = re.fullmatch(rf"/2010-04-01/Accounts/{self.account_sid}/Calls/(CA[0-9a-f]+)(/Notifications)?\.json",
                           request.path)
        if one and request.method == "GET":
            return self._fetch(one.group(1), bool(one.group(2)))
        if request.path != calls_path:
            return self._error(404, 20404, "The requested resource was not found")
        if request.method == "POST":
            body = self._create(request, record)
            status = 201
        elif request.method == "GET":
            body = self._list(request)
            status = 200
        else:
            return self._error(405, 20004, "Method not allowed")
        if fault and fault["delay"]:
            time.sleep(fault["delay"])  # processed, but the answer is late: the client may have given up
        return Response(json.dumps(body), status=status, mimetype="application/json")

    def _create(self, request: Request, record: dict) -> dict:
        form = request.form
        now = datetime.now(timezone.utc)
        sid = "CA" + uuid.uuid4().hex
        call = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form.get("To"),
            "to_formatted": form.get("To"),
            "from": form.get("From"),
            "from_formatted": form.get("From"),
            "status": "queued",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": format_datetime(now, usegmt=True),
            "date_updated": format_datetime(now, usegmt=True),
            "start_time": None,
            "end_time": None,
            "duration": None,
            "price": None,
            "answered_by": None,
            "parent_call_sid": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
            "subresource_uris": {},
        }
        with self._lock:
            self.calls.append(call)
            record["created"] = True
            record["sid"] = sid
        return call

    def _list(self, request: Request) -> dict:
        args = request.args
        with self._lock:
            calls = list(self.calls)
        if args.get("To"):
            calls = [c for c in calls if c["to"] == args["To"]]
        if args.get("From"):
            calls = [c for c in calls if c["from"] == args["From"]]
        after = args.get("StartTime>")
        if after:
            # As Twilio's: the filter is on start_time, which a queued call does not have yet, so it is hidden.
            started = [c for c in calls if c["start_time"]]
            if len(after) == 10:
                calls = [c for c in started if parsedate_to_datetime(c["start_time"]).strftime("%Y-%m-%d") >= after]
            else:
                since = datetime.fromisoformat(after.replace("Z", "+00:00"))
                calls = [c for c in started if parsedate_to_datetime(c["start_time"]) >= since]
        calls.sort(key=lambda c: parsedate_to_datetime(c["date_created"]), reverse=True)
        path = f"/2010-04-01/Accounts/{self.account_sid}/Calls.json"
        return {
            "calls": calls,
            "first_page_uri": path + "?PageSize=50&Page=0",
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": 50,
            "start": 0,
            "end": max(0, len(calls) - 1),
            "uri": path,
        }

    def _fetch(self, sid: str, notifications: bool) -> Response:
        """GET one call, or its notifications (the list shape Twilio pages)."""
        with self._lock:
            call = next((dict(c) for c in self.calls if c["sid"] == sid), None)
            notes = list(self.notifications.get(sid, []))
        if call is None:
            return self._error(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
        if not notifications:
            return Response(json.dumps(call), status=200, mimetype="application/json")
        path = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}/Notifications.json"
        body = {"notifications": notes, "first_page_uri": path + "?PageSize=50&Page=0", "next_page_uri": None,
                "previous_page_uri": None, "page": 0, "page_size": 50, "start": 0, "end": max(0, len(notes) - 1),
                "uri": path}
        return Response(json.dumps(body), status=200, mimetype="application/json")

    @staticmethod
    def _error(status: int, code: int, message: str, headers: dict | None = None) -> Response:
        body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
        return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers or {})


def signed_post(client, path: str, params: dict, *, token: str = AUTH_TOKEN,
                public_base: str = "https://hotline.example.vn", headers: dict | None = None):
    """POST form params to the Flask test client, signed as Twilio signs the public URL it calls."""
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(token).compute_signature(public_base.rstrip("/") + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature, **(headers or {})})


# ---------------------------------------------------------------------------------------------------------
# Twilio-shaped callback scripts: what Twilio would POST to our webhooks for one call, per outcome.

SCENARIOS = (
    "answered", "answered_recorded", "machine", "no_answer", "busy", "unreachable", "unreachable_announcement",
    "redirected", "redirected_forwarded", "provider_error_canceled", "provider_error_sip", "failed_without_sip",
)
EXPECTED_OUTCOME = {
    "answered": "answered", "answered_recorded": "answered", "machine": "machine", "no_answer": "no_answer",
    "busy": "busy", "unreachable": "unreachable", "unreachable_announcement": "unreachable",
    # ForwardedFrom is documented for incoming calls only: on our outbound call it is no redirect evidence.
    "redirected": "redirected", "redirected_forwarded": "answered", "provider_error_canceled": "provider_error",
    "provider_error_sip": "provider_error",
    # failed with no carrier SIP code: Twilio's own failure until its error says otherwise, never the unit's.
    "failed_without_sip": "provider_error",
}


def callback_script(scenario: str, call_sid: str, *, start: datetime, to: str = "+842773851234",
                    from_: str = "+15005550006") -> list[tuple[str, dict, str]]:
    """[(kind, form params, query string)] for one call; kind is the webhook: status, amd, gather, recording."""
    from datetime import timedelta

    base = {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "From": from_, "To": to, "Direction": "outbound-api",
            "ApiVersion": "2010-04-01", "CallbackSource": "call-progress-events"}
    out: list[tuple[str, dict, str]] = []
    sequence = 0

    def at(seconds):
        return format_datetime(start + timedelta(seconds=seconds), usegmt=True)

    def status(seconds, value, **extra):
        nonlocal sequence
        out.append(("status", {**base, "CallStatus": value, "SequenceNumber": str(sequence), "Timestamp": at(seconds),
                               **{k: str(v) for k, v in extra.items()}}, ""))
        sequence += 1

    def amd(seconds, answered_by):
        out.append(("amd", {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "AnsweredBy": answered_by,
                            "MachineDetectionDuration": "2300", "Timestamp": at(seconds)}, ""))

    def gather(step, text, confidence="0.87"):
        out.append(("gather", {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "SpeechResult": text,
                               "Confidence": confidence if text else ""}, f"step={step}"))

    def answered(ring, talk, answered_by, greeting, answer, **final):
        status(0, "initiated")
        status(2, "ringing")
        status(2 + ring, "in-progress", **final.pop("progress", {}))
        amd(2 + ring + 3, answered_by)
        gather("greeting", greeting)
        gather("answer", answer)
        status(2 + ring + talk, "completed", CallDuration=talk, SipResponseCode=200, **final)

    if scenario == "answered":
        answered(9, 31, "human", "Alo, Sở Y tế xin nghe ạ", "Dạ đúng rồi anh, đây là số đường dây nóng ạ")
    elif scenario == "answered_recorded":
        answered(4, 25, "unknown", "Dạ em nghe", "Dạ phải anh")
        out.append(("recording", {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "RecordingSid": "RE" + call_sid[2:],
                                  "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE{call_sid[2:]}",
                                  "RecordingStatus": "completed", "RecordingDuration": "25"}, ""))
    elif scenario == "machine":
        answered(6, 28, "machine_end_beep",
                 "Cảm ơn quý khách đã gọi đến Sở Y tế. Hiện không có cán bộ trực, vui lòng để lại lời nhắn sau tiếng bíp", "")
    elif scenario == "no_answer":
        status(0, "initiated")
        status(3, "ringing")
        status(33, "no-answer", CallDuration=0, SipResponseCode=487)
    elif scenario == "busy":
        status(0, "initiated")
        status(3, "busy", CallDuration=0, SipResponseCode=486)
    elif scenario == "unreachable":
        status(0, "initiated")
        status(4, "failed", CallDuration=0, SipResponseCode=404)
    elif scenario == "unreachable_announcement":
        answered(1, 9, "machine_start",
                 "Thuê bao quý khách vừa gọi tạm thời không liên lạc được, xin quý khách vui lòng gọi lại sau", "")
    elif scenario == "redirected":
        answered(12, 22, "human", "Alo Sở Y tế nghe",
                 "Dạ việc này bên em không phụ trách, anh chị vui lòng gọi số không hai bảy bảy ba tám năm một không hai hai")
    elif scenario == "redirected_forwarded":
        answered(5, 20, "human", "Alo em nghe", "Dạ vâng", progress={"ForwardedFrom": to})
    elif scenario == "provider_error_canceled":
        status(0, "initiated")
        status(1, "canceled", CallDuration=0)
    elif scenario == "failed_without_sip":
        status(0, "initiated")
        status(1, "failed", CallDuration=0)
    elif scenario == "provider_error_sip":
        status(0, "initiated")
        status(1, "failed", CallDuration=0, SipResponseCode=403)
    else:
        raise ValueError(scenario)
    return out


def dedupe_key(kind: str, params: dict, query: str = "") -> str:
    """The key the webhooks use when Twilio sends no idempotency token."""
    sid = params["CallSid"]
    if kind == "status":
        return f"{sid}:{params['SequenceNumber']}"
    if kind == "gather":
        return f"gather:{sid}:{query.split('=', 1)[1] if query else 'answer'}"
    if kind == "recording":
        return f"rec:{sid}:{params['RecordingSid']}"
    return f"amd:{sid}"
