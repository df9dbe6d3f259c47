"""What a SIP call's signalling means, as the provider-neutral status events the ingest path folds.

Pure functions, no SIP stack: the number as dialled over a domestic trunk, the trunk's address, the headers
that show a call was diverted, and the final status a call's last response stands for. The events are
Twilio-shaped (CallStatus, SipResponseCode, Timestamp…) because attempts.evidence and attempts.outcomes read
that shape for every provider; which outcome a status becomes is decided there, once, for all of them.

Whose failure a final response is:
- a response the far end sent: its code is stored (sip_code) and classified as the carrier's signalling
  (486/600/603 busy or declined, 480/408 no answer, 404/410/484/604 unreachable, 3xx redirected, while 401/403/
  407 and 5xx are our trunk refusing us: provider_error);
- a code the SIP stack made up itself (no response came: timeout, transport error, the trunk down) is no
  signalling from anybody: the call ends `failed` without a SIP code and an error naming the cause, which the
  rules read as our side, never the agency's.
"""
from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime

from monitor.providers.base import ProviderConfigError

BUSY = {486, 600, 603}
NO_ANSWER = {408, 480, 487}
RINGING = {180, 181, 182, 183}
# Headers a switch adds when it diverted the call to another line (RFC 5806, RFC 7044).
DIVERSION_HEADERS = ("diversion", "history-info")
# Why we ended a call ourselves (the provider's own hang-ups).
RING_TIMEOUT, NO_RESPONSE, LISTENED, CLOSING = "ring_timeout", "no_response", "listened", "closing"

# PJSIP's reason when the trunk's TLS certificate failed our check (sip_endpoint: verifyServer).
TLS_CERTIFICATE_ERROR = "PJSIP_TLS_ECERTVERIF"
_STATUS_LINE = re.compile(r"^SIP/2\.0 (\d{3})")
_TARGET = re.compile(r"^\[?([A-Za-z0-9.\-:]+?)\]?:(\d{1,5})$")
_URI_NUMBER = re.compile(r"(?:sips?|tel):(\+?\d+)")  # the number of a header's URI: <sip:0277…@host>, <tel:+84…>


def parse_target(text: str) -> tuple[str, int]:
    """SIP_TARGET as (host, port); ProviderConfigError names the setting when it is not host:port."""
    match = _TARGET.match((text or "").strip())
    port = int(match.group(2)) if match else 0
    if not match or not 0 < port < 65536:
        raise ProviderConfigError(f"FLASK_SIP_TARGET “{text}” không hợp lệ: cần dạng máy:cổng, ví dụ 10.0.0.5:5060.",
                                  field="SIP_TARGET")
    return match.group(1), port


def domestic(number: str) -> str:
    """The number as dialled on a Vietnamese line: +842773851234 → 02773851234, +8418001091 → 18001091 (1800
    and 1900 numbers take no trunk prefix); short numbers (1022) as they are."""
    number = (number or "").strip()
    if number.startswith("+84"):
        national = number[3:]
        return national if national.startswith(("1800", "1900")) else "0" + national
    return "".join(ch for ch in number if ch.isdigit())


def request_uri(number: str, host: str, port: int, transport: str) -> str:
    """The INVITE's request URI: the domestic number at the trunk, over the configured transport."""
    scheme = "sips" if transport == "tls" else "sip"
    suffix = "" if transport == "udp" else f";transport={transport}"
    return f"{scheme}:{domestic(number)}@{host}:{port}{suffix}"


def registrar_uri(host: str, port: int, transport: str) -> str:
    """Where our line registers (SIP_REGISTER): the trunk itself, over the configured transport."""
    scheme = "sips" if transport == "tls" else "sip"
    return f"{scheme}:{host}:{port}" + ("" if transport == "udp" else f";transport={transport}")


def registration_pending(info) -> bool:
    """True while our REGISTER has had no final response (info: the stack's account info, read by attribute)."""
    return info.regIsConfigured and info.regStatus < 200 and not info.regLastErr


def registration_refusal(info) -> str | None:
    """Why our line is not registered at the trunk (SIP_REGISTER), None when it is or while it is being asked.

    Any final refusal (401/403/407 after our credentials, 404 unknown line, a registrar that never answers) is
    our side: calls are not sent meanwhile, and end provider_error, never the agency's.
    """
    if not info.regIsConfigured or registration_pending(info) or 200 <= info.regStatus < 300:
        return None
    code = f"mã {info.regStatus} {info.regStatusText}".strip() if info.regStatus else info.regStatusText
    return (f"Trung kế/tổng đài SIP không nhận đăng ký đường dây của hệ thống ({code}): kiểm tra FLASK_SIP_USERNAME, "
            "FLASK_SIP_PASSWORD với nhà mạng; lỗi phía hệ thống, không tính cho đơn vị.")


def status_code(message: str) -> int | None:
    """The code of a SIP response's status line ('SIP/2.0 486 Busy Here' → 486), None for anything else."""
    match = _STATUS_LINE.match(message or "")
    return int(match.group(1)) if match else None


def diversions(message: str) -> list[str]:
    """The Diversion and History-Info header values of one SIP message (unfolded), in order."""
    found = []
    head = (message or "").split("\r\n\r\n", 1)[0]
    for line in re.split(r"\r?\n(?![ \t])", head)[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() in DIVERSION_HEADERS and value.strip():
            found.append(f"{name.strip()}: {' '.join(value.split())}")
    return found


def diverted_from(evidence: str, dialled: str) -> str | None:
    """The line that diverted our call to another number, from a call's Diversion / History-Info evidence (the
    final event's "Diversion" field: the headers as diversions() gives them, joined by " | "); None when the
    call stayed on the dialled line.

    A Diversion header names the lines that diverted the call, the most recent first (RFC 5806): the last one
    is where the diverting began, usually the hotline itself. History-Info lists every target in turn (RFC
    7044): a target other than the dialled number shows the call went elsewhere, from the dialled line.
    """
    dialled = domestic(dialled)
    diverting, targets = [], []
    for header in (evidence or "").split(" | "):
        name, _, value = header.partition(":")
        numbers = [domestic(n) for n in _URI_NUMBER.findall(value)]
        if name.strip().lower() == "diversion":
            diverting += numbers
        elif name.strip().lower() == "history-info":
            targets += numbers
    if diverting:
        return diverting[-1]
    return dialled if any(number != dialled for number in targets) else None


def new_record(attempt: dict, now: float, settings) -> dict:
    """What the provider keeps of one call while it lasts; `now` is monotonic time, the deadlines too."""
    return {"attempt_id": attempt["id"], "number": attempt["number"], "sid": None, "sequence": 0, "ringing": False,
            "answered_at": None, "responded": False, "ours": None, "redirect_to": None, "redirect_code": None,
            "diversions": [], "ring_deadline": now + settings.ring_timeout,
            "response_deadline": now + settings.sip_response_timeout, "hangup_at": None,
            # a survey call's interview may last longer than a test call (monitor/surveys/keypad.time_limit)
            "time_limit": (attempt.get("survey") or {}).get("time_limit", 0)}


def heard(record: dict, message: str) -> None:
    """Note a SIP message received for a call: the trunk is alive, and any diversion it reports is kept."""
    if message:
        record["responded"] = True
        record["diversions"] += [d for d in diversions(message) if d not in record["diversions"]]


def timestamp(when: datetime) -> str:
    """An event's Timestamp as providers stamp them (RFC 2822, UTC)."""
    return format_datetime(when, usegmt=True)


def final_params(code: int, reason: str, *, remote: bool, answered: bool, duration: int, ours: str | None,
                 rang: bool = False) -> dict:
    """The final status event's own fields for a call that ended with `code`.

    remote: the far end sent this final response (otherwise the SIP stack made the code up);
    answered: a 200 was confirmed (the call was picked up); duration: whole seconds since then;
    ours: why we hung up ourselves, if we did (RING_TIMEOUT, NO_RESPONSE, LISTENED, CLOSING);
    rang: the far end said it was ringing (180/183).
    A call we cancel after RING_TIMEOUT is `no-answer` (487, as carriers report it) only when the far end said it
    rang: the stack ends the call on our CANCEL without waiting for the 487, and a line that rang that long
    unanswered is the agency's; a line that never rang is no signalling from anybody (our side).
    """
    if answered:
        return {"CallStatus": "completed", "CallDuration": str(max(0, duration)), "SipResponseCode": "200"}
    if ours == CLOSING:
        return {"CallStatus": "canceled", "CallDuration": "0"}
    if ours == RING_TIMEOUT:
        if rang:
            return {"CallStatus": "no-answer", "CallDuration": "0", "SipResponseCode": "487"}
        return {"CallStatus": "failed", "CallDuration": "0", "ErrorCode": "sip_no_ringing",
                "ErrorMessage": "Tổng đài/trung kế SIP nhận cuộc gọi nhưng không báo đổ chuông (không có 180/183) "
                                "đến hết thời gian chờ."}
    if not remote and TLS_CERTIFICATE_ERROR in (reason or ""):  # the stack refused the trunk before sending anything
        return {"CallStatus": "failed", "CallDuration": "0", "ErrorCode": "sip_tls_certificate",
                "ErrorMessage": "Chứng chỉ TLS của trung kế/tổng đài SIP không xác minh được (không do CA trong "
                                "FLASK_SIP_TLS_CA_FILE ký, hết hạn, hoặc không mang tên máy trong FLASK_SIP_TARGET): "
                                "không gửi cuộc gọi; lỗi phía hệ thống, không tính cho đơn vị."}
    if ours == NO_RESPONSE or not remote:
        why = ("Tổng đài/trung kế SIP không trả lời yêu cầu gọi" if ours == NO_RESPONSE or code in (408, 503)
               else "Ngăn xếp SIP không gửi được cuộc gọi")
        made_up = f" (mã {code} {reason} do ngăn xếp SIP của hệ thống tự sinh, không phải của nhà mạng)" if code else ""
        return {"CallStatus": "failed", "CallDuration": "0",
                "ErrorCode": "sip_no_response" if ours == NO_RESPONSE or not code else f"sip_local_{code}",
                "ErrorMessage": f"{why}{made_up}."}
    if code in BUSY:
        status = "busy"
    elif code in NO_ANSWER:
        status = "no-answer"
    else:  # 3xx, 404/410/484/604, 401/403/407, 5xx…: attempts.outcomes tells whose failure from the code
        status = "failed"
    return {"CallStatus": status, "CallDuration": "0", "SipResponseCode": str(code)}
