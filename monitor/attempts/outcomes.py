"""Outcome codes and the classification of a finished call from its evidence.

classify() reads only the attempt's merged evidence (final CallStatus, AMD result, SIP code, Q.850 cause,
ForwardedFrom, transcript), so the same evidence always gives the same outcome, whatever order it came in.

Decisions worth knowing when an agency disputes a result:
- SIP 403/401/407 and 5xx, and Q.850 network causes (34, 38, 41, 42, 47), are `provider_error`: a refusal
  by our trunk or congestion on the route cannot be blamed on the agency, and a replacement test is planned.
- Q.850 21 (call rejected) and SIP 603 (decline) are `busy`: someone at the hotline refused the call.
- A carrier announcement ("thuê bao quý khách vừa gọi tạm thời không liên lạc được") is `unreachable` even
  though the carrier "answered" to play it; a carrier's busy message is `busy`.
- A redirect (see monitor/redirects.py) wins over `machine`: a recording that says "vui lòng gọi số …" is a
  redirect. AMD is a hint: a person greeting ("alo", "xin nghe") beats an AMD "machine" verdict.
"""
from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from monitor.attempts.redirects import detect_redirect

OUTCOMES = ("answered", "machine", "no_answer", "busy", "unreachable", "redirected", "provider_error")
# Their labels, in the reader's language, are in monitor/labels.py (OUTCOME).
COUNTS_AGAINST = {
    "answered": False,
    "machine": True,
    "no_answer": True,
    "busy": True,
    "unreachable": True,
    "redirected": True,
    "provider_error": False,
}
FAILURES = tuple(code for code in OUTCOMES if COUNTS_AGAINST[code])
FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")

SIP_BUSY = {486, 600, 603}
SIP_NO_ANSWER = {408, 487}
SIP_UNREACHABLE = {404, 410, 480, 484, 485, 604}
SIP_OUR_SIDE = {401, 403, 407}
Q850_BUSY = {17, 21}
Q850_NO_ANSWER = {18, 19}
Q850_UNREACHABLE = {1, 3, 20, 27, 28}
Q850_NETWORK = {34, 38, 41, 42, 47}

CARRIER_BUSY = [r"thuê bao .{0,40}đang bận", r"số máy .{0,40}đang bận", r"(?:the )?(?:number|subscriber) .{0,40}is busy"]
CARRIER_UNREACHABLE = [
    r"không liên lạc được",
    r"tạm thời không (?:liên lạc|kết nối) được",
    r"(?:số máy|số thuê bao|thuê bao) .{0,40}(?:không có thực|không tồn tại|không đúng|chưa đúng|bị khóa|bị khoá|tạm khóa|tạm khoá|ngừng hoạt động)",
    r"(?:số máy|thuê bao) .{0,40}(?:hiện )?không (?:sử dụng|liên lạc)",
    r"(?:cannot be reached|is not reachable|not available at the moment|does not exist|out of service|is not in service)",
]
MACHINE_PHRASES = [
    r"để lại lời nhắn", r"tiếng bíp", r"(?:bấm|nhấn) phím", r"hộp thư thoại",
    r"cảm ơn quý khách đã gọi", r"kính chào quý khách", r"chào mừng quý khách",
    r"(?:điện thoại viên|tư vấn viên|nhân viên) .{0,20}đều bận", r"hiện không có (?:cán bộ|người) trực",
    r"leave (?:a|your) message", r"after the (?:tone|beep)", r"press \d",
]
HUMAN_MARKERS = [
    r"\ba ?lô\b", r"\balo\b", r"xin nghe", r"\bem nghe\b", r"\btôi nghe\b", r"nghe đây", r"\bnghe ạ\b",
    r"^\s*dạ\b", r"\bdạ (?:vâng|đúng|phải|anh|chị|em)\b",
    r"(?:anh|chị|bác|cô|chú) cần (?:hỏi|gì)", r"giúp gì", r"có việc gì",
]
MACHINE_AMD = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")
# What an outcome rests on, strongest first: the carrier's own signalling, the provider's answering-machine
# detection, the words heard (transcript rules), an inspector's decision, or our side of the line.
BASES = ("signalling", "amd", "transcript", "inspector", "our_side")


class Classification(NamedTuple):
    """An outcome with what it rests on and whether an inspector could defend it as it is.

    certain=False means the call is held for review: it counts neither for nor against the unit until an
    inspector decides.
    """

    outcome: str
    detail: str
    basis: str
    certain: bool = True


def _matches(patterns, text: str) -> str | None:
    for pattern in patterns:
        found = re.search(pattern, text)
        if found:
            return found.group(0)
    return None


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _seconds(attempt: dict) -> str:
    seconds = attempt.get("answer_seconds")
    return f" sau {float(seconds):.0f} giây đổ chuông" if seconds is not None else ""


def _sip(sip: int | None, q850: int | None) -> str:
    parts = []
    if sip is not None:
        parts.append(f"SIP {sip}")
    if q850 is not None:
        parts.append(f"Q.850 {q850}")
    return f" ({', '.join(parts)})" if parts else ""


def classify(attempt: dict, registered_number: str) -> Classification:
    """The outcome, its detail (Vietnamese), its basis and certainty, for a call whose final status is known."""
    status = attempt.get("call_status")
    sip = _int(attempt.get("sip_code"))
    q850 = _int(attempt.get("q850_cause"))
    answered_by = attempt.get("answered_by") or None
    transcript = attempt.get("transcript") or ""
    text = unicodedata.normalize("NFC", transcript).lower()
    codes = _sip(sip, q850)

    if status not in FINAL_STATUSES:
        return Classification("provider_error", "Không nhận được trạng thái cuối cùng của cuộc gọi từ nhà cung cấp; không tính cho đơn vị.", "our_side")
    if status == "canceled":
        return Classification("provider_error", "Cuộc gọi bị hủy từ phía hệ thống kiểm tra; không tính cho đơn vị.", "our_side")

    redirect = detect_redirect(
        transcript, registered_number, sip_code=sip, q850_cause=q850, forwarded_from=attempt.get("forwarded_from")
    )
    # Signalling redirects are final whatever the status; spoken ones need a conversation (below).
    if redirect and not redirect.numbers and not redirect.phrase:
        return Classification("redirected", redirect.reason, "signalling")

    if sip in SIP_OUR_SIDE or (sip is not None and 500 <= sip < 600 and sip not in SIP_BUSY) or q850 in Q850_NETWORK:
        return Classification("provider_error", f"Nhà mạng hoặc đường truyền phía hệ thống từ chối cuộc gọi{codes}; không tính cho đơn vị, sẽ gọi lại.", "our_side")
    if status == "busy" or sip in SIP_BUSY or q850 in Q850_BUSY:
        why = "từ chối cuộc gọi" if (sip == 603 or q850 == 21) else "máy bận"
        return Classification("busy", f"Đường dây nóng báo {why}{codes}.", "signalling")
    if status == "no-answer" or sip in SIP_NO_ANSWER or q850 in Q850_NO_ANSWER:
        return Classification("no_answer", f"Đổ chuông đến hết thời gian chờ nhưng không ai nghe máy{codes}.", "signalling")
    if status == "failed":
        if sip in SIP_UNREACHABLE or q850 in Q850_UNREACHABLE:
            return Classification("unreachable", f"Không liên lạc được số đường dây nóng{codes}: số không tồn tại, ngoài vùng phục vụ hoặc tắt máy.", "signalling")
        return Classification("unreachable", f"Cuộc gọi không kết nối được{codes or ' (không có mã SIP)'}.", "signalling")

    # completed: audio connected. Who or what answered?
    carrier_busy = _matches(CARRIER_BUSY, text)
    if carrier_busy:
        return Classification("busy", f"Nhà mạng thông báo thuê bao đang bận: “{carrier_busy}”.", "transcript")
    carrier = _matches(CARRIER_UNREACHABLE, text)
    if carrier:
        return Classification("unreachable", f"Lời thông báo của nhà mạng: “{carrier}”{codes}.", "transcript")
    if redirect:
        return Classification("redirected", redirect.reason, "transcript" if redirect.phrase or redirect.numbers else "signalling")
    human = _matches(HUMAN_MARKERS, text)
    machine_phrase = _matches(MACHINE_PHRASES, text)
    if machine_phrase and not human:
        return Classification("machine", f"Máy trả lời tự động hoặc tổng đài tự động: “{machine_phrase}”.", "transcript")
    if answered_by in MACHINE_AMD and not human:
        what = "máy fax" if answered_by == "fax" else "hộp thư thoại hoặc lời ghi âm"
        return Classification("machine", f"Nhận diện tự động (AMD: {answered_by}): {what} trả lời, không gặp được người.", "amd")
    detail = f"Có người nghe máy{_seconds(attempt)}."
    if answered_by in MACHINE_AMD:
        detail += f" AMD đoán là máy ({answered_by}) nhưng có người nói: “{human}”."
    elif not text.strip():
        detail += " Không ghi nhận được lời nói."
    return Classification("answered", detail, "transcript" if human else "signalling")
