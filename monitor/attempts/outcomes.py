"""Outcome codes and the classification of a finished call from its evidence.

classify() reads only the attempt's merged evidence (final CallStatus, AMD result, SIP code, Q.850 cause,
transcript, speech confidence), so the same evidence always gives the same outcome, whatever order it came
in. Each outcome carries its basis and whether it is certain; an uncertain one is held for review.

Decisions worth knowing when an agency disputes a result:
- SIP 403/401/407 and 5xx, and Q.850 network causes (34, 38, 41, 42, 47), are `provider_error`: a refusal
  by our trunk or congestion on the route cannot be blamed on the agency, and a replacement test is planned.
- Q.850 21 (call rejected) and SIP 603 (decline) are `busy`: someone at the hotline refused the call.
- A carrier announcement ("thuê bao quý khách vừa gọi tạm thời không liên lạc được") is `unreachable` even
  though the carrier "answered" to play it; a carrier's busy message is `busy`.
- A recording is never a person: IVR menus, queue, hold, connecting, recording notices and voicemail are
  `machine`; an out-of-hours message is `machine` with its own note ("ngoài giờ làm việc") so office-hours
  lines are judged fairly. A person heard after the recording ("… xin vui lòng chờ | alo em nghe") answered.
- A redirect (see redirects.py) wins over `machine`: a recording that says "vui lòng gọi số …" is a redirect.
- Held for review (certain=False): evidence in conflict (AMD says machine but a person speaks, or the
  reverse), a referral the rules cannot defend, an answered call with no or very few words and no AMD
  verdict, words heard with low confidence (Twilio Confidence below LOW_CONFIDENCE) that nothing else
  confirms. Outcomes from carrier signalling (busy, no answer, SIP codes) stay certain.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from monitor.attempts import recordings
from monitor.attempts.redirects import detect_redirect
from monitor.attempts.speech import folded, quote

# Below this Twilio speech Confidence, words alone decide nothing.
LOW_CONFIDENCE = 0.5
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
# For a `failed` call: the carrier codes that mean the number cannot be reached (not found, gone, incomplete).
SIP_FAILED_UNREACHABLE = {404, 410, 484, 604}
SIP_OUR_SIDE = {401, 403, 407}
Q850_BUSY = {17, 21}
Q850_NO_ANSWER = {18, 19}
Q850_UNREACHABLE = {1, 3, 20, 27, 28}
Q850_NETWORK = {34, 38, 41, 42, 47}

# Register of a person talking to a citizen; recordings say "quý khách".
PERSON_WORDS = re.compile(r"\b(?:anh|chi|em|bac|co|chu|ong|minh|ben em|tui|zaj|vang|roi|nha|nhe|ha|a|oi|nghen|hen|hi|ne|coi|thoi)\b")
MACHINE_AMD = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")
# What an outcome rests on, strongest first: the carrier's own signalling, the provider's answering-machine
# detection, the words heard (transcript rules), an inspector's decision, or our side of the line.
BASES = ("signalling", "amd", "transcript", "inspector", "our_side")
# The version of these rules, named in the history of every outcome `monitor reclassify` changes.
RULES_VERSION = "2026.12-3"


class Classification(NamedTuple):
    """An outcome with what it rests on and whether an inspector could defend it as it is.

    certain=False means the call is held for review: it counts neither for nor against the unit until an
    inspector decides.
    """

    outcome: str
    detail: str
    basis: str
    certain: bool = True


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
    transcript = attempt.get("transcript") or ""
    codes = _sip(sip, q850)

    if status not in FINAL_STATUSES:
        return Classification("provider_error", "Không nhận được trạng thái cuối cùng của cuộc gọi từ nhà cung cấp; không tính cho đơn vị.", "our_side")
    if status == "canceled":
        return Classification("provider_error", "Cuộc gọi bị hủy từ phía hệ thống kiểm tra; không tính cho đơn vị.", "our_side")

    # Test calls are outbound: ForwardedFrom (documented for incoming calls only) is no redirect evidence.
    redirect = detect_redirect(transcript, registered_number, sip_code=sip, q850_cause=q850)
    # Signalling redirects are final whatever the status; spoken ones need a conversation (below).
    if redirect and redirect.signalled:
        return Classification("redirected", redirect.reason, "signalling")

    if sip in SIP_OUR_SIDE or (sip is not None and 500 <= sip < 600 and sip not in SIP_BUSY) or q850 in Q850_NETWORK:
        return Classification("provider_error", f"Nhà mạng hoặc đường truyền phía hệ thống từ chối cuộc gọi{codes}; không tính cho đơn vị, sẽ gọi lại.", "our_side")
    # A SIP call's forwarded_from is its Diversion / History-Info evidence (evidence.py): the hotline diverted
    # the caller to another line, which then did not answer. Answered there, someone did: the call stays answered.
    if attempt.get("provider") == "sip" and attempt.get("forwarded_from") and status != "completed" and sip is not None:
        return Classification("redirected", f"Đường dây nóng chuyển tiếp cuộc gọi sang số khác (SIP Diversion/History-Info, "
                              f"từ số {attempt['forwarded_from']}), nơi đó không nghe máy{codes}.", "signalling")
    if status == "busy" or sip in SIP_BUSY or q850 in Q850_BUSY:
        why = "từ chối cuộc gọi" if (sip == 603 or q850 == 21) else "máy bận"
        return Classification("busy", f"Đường dây nóng báo {why}{codes}.", "signalling")
    if status == "no-answer" or sip in SIP_NO_ANSWER or q850 in Q850_NO_ANSWER:
        return Classification("no_answer", f"Đổ chuông đến hết thời gian chờ nhưng không ai nghe máy{codes}.", "signalling")
    if status == "failed":
        # Only a carrier's code that means it, or its announcement, says "unreachable"; any other failure
        # (no SIP code: Twilio's own, e.g. geo permission, unsupported route) is our side, never the unit's.
        if sip in SIP_FAILED_UNREACHABLE or q850 in Q850_UNREACHABLE:
            return Classification("unreachable", f"Không liên lạc được số đường dây nóng{codes}: số không tồn tại, ngoài vùng phục vụ hoặc tắt máy.", "signalling")
        carrier = recordings.CARRIER_UNREACHABLE.search(folded(transcript))
        if carrier:
            return Classification("unreachable", f"Lời thông báo của nhà mạng: “{quote(transcript, carrier.group(0))}”{codes}.",
                                  "transcript")
        why = f" (lỗi của nhà cung cấp {attempt['error']})" if attempt.get("error") else ""
        return Classification("provider_error", f"Cuộc gọi không kết nối được{codes or ' (không có mã SIP của nhà mạng)'}{why}: "
                              "không có bằng chứng từ nhà mạng về số của đơn vị, nên không tính cho đơn vị.", "our_side")

    return _connected(attempt, transcript, redirect, codes)


def _confidence(attempt: dict) -> float | None:
    try:
        value = attempt.get("speech_confidence")
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _connected(attempt: dict, transcript: str, redirect, codes: str) -> Classification:
    """A completed call: who or what answered, and how sure the rules are."""
    answered_by = attempt.get("answered_by") or None
    amd_machine = answered_by in MACHINE_AMD
    text = folded(transcript)
    confidence = _confidence(attempt)
    doubtful_words = bool(text) and confidence is not None and confidence < LOW_CONFIDENCE
    low = f" Độ tin cậy nhận dạng lời nói thấp ({confidence:.2f})." if doubtful_words else ""
    heard = recordings.recording(text)
    human = recordings.person(text)

    if heard and heard.kind == "carrier_busy":
        return Classification("busy", f"Nhà mạng thông báo thuê bao đang bận: “{quote(transcript, heard.phrase)}”.{low}",
                              "transcript", not doubtful_words or amd_machine)
    if heard and heard.kind == "carrier" and redirect:
        # "Số máy này không còn sử dụng, vui lòng gọi số …": a line moved, or a carrier note beside a number.
        return Classification("redirected", _quoted(redirect.reason, transcript, redirect.phrase) + low, "transcript", False)
    if heard and heard.kind == "carrier":
        return Classification("unreachable", f"Lời thông báo của nhà mạng: “{quote(transcript, heard.phrase)}”{codes}.{low}",
                              "transcript", not doubtful_words or amd_machine)
    if redirect:
        # A recording that gives a number ("ngoài giờ vui lòng gọi số trực …") may be a duty line or a referral.
        recorded = (heard or not PERSON_WORDS.search(text)) and not human and not recordings.conversing(text)
        sure = redirect.certain and not doubtful_words and not recorded
        return Classification("redirected", _quoted(redirect.reason, transcript, redirect.phrase) + low, "transcript", sure)
    later = recordings.person_after_recording(recordings.segments(transcript))
    if later:
        return Classification("answered", f"Có người nghe máy{_seconds(attempt)} sau lời ghi âm: “{quote(transcript, later)}”.{low}",
                              "transcript", not doubtful_words)
    if heard:
        said = quote(transcript, heard.phrase)
        if heard.kind == "out_of_hours":
            detail = f"Lời ghi âm ngoài giờ làm việc: “{said}”; không gặp được người."
        elif heard.kind == "machine":
            detail = f"Máy trả lời tự động hoặc tổng đài tự động: “{said}”."
        else:
            detail = f"Lời chào tự động của tổng đài: “{said}”; không gặp được người."
        if human:
            detail += f" Nhưng cũng nghe thấy lời giống người nói: “{quote(transcript, human)}”; cần người xem lại."
        sure = not human and not (heard.kind == "welcome" and answered_by == "human") and (not doubtful_words or amd_machine)
        return Classification("machine", detail + low, "transcript", sure)
    # machine_start and machine_end_other are AMD's weakest verdicts (a long greeting reads as a machine);
    # a person's greeting or question to the caller outweighs them.
    talking = recordings.conversing(text) or (len(text.split()) >= 6 and PERSON_WORDS.search(text) and human)
    if answered_by in ("machine_start", "machine_end_other") and talking:
        return Classification("answered", f"Có người nghe máy{_seconds(attempt)}: “{quote(transcript, human or talking)}”. AMD "
                              f"đoán là máy ({answered_by}) nhưng lời nghe được là người đang trả lời.{low}", "transcript",
                              not doubtful_words)
    if amd_machine:
        if human:
            return Classification("answered", f"Có người nghe máy{_seconds(attempt)}. AMD đoán là máy ({answered_by}) nhưng có "
                                  f"người nói: “{quote(transcript, human)}”; cần người xem lại.{low}", "transcript", False)
        what = "máy fax" if answered_by == "fax" else "hộp thư thoại hoặc lời ghi âm"
        detail = f"Nhận diện tự động (AMD: {answered_by}): {what} trả lời, không gặp được người."
        if text.strip():
            # Words that are no known recording: AMD and the words disagree.
            detail += f" Nhưng lời nghe được không giống lời ghi âm: “{transcript.strip()[:120]}”; cần người xem lại."
            return Classification("machine", detail, "amd", False)
        if answered_by == "machine_start":
            detail += " Chỉ dựa vào nhận diện ban đầu (machine_start), chưa nghe được lời nào xác nhận; cần người xem lại."
        return Classification("machine", detail, "amd", answered_by != "machine_start")
    return _person(attempt, transcript, text, human, doubtful_words, low)


def _person(attempt: dict, transcript: str, text: str, human, doubtful_words: bool, low: str) -> Classification:
    """No recording heard and AMD does not say machine: a person answered, certain when the evidence says so."""
    answered_by = attempt.get("answered_by") or None
    detail = f"Có người nghe máy{_seconds(attempt)}."
    if human:
        return Classification("answered", detail + low, "transcript", not doubtful_words or answered_by == "human")
    if answered_by == "human":
        note = " Không ghi nhận được lời nói." if not text.strip() else ""
        return Classification("answered", f"{detail}{note} Nhận diện tự động (AMD): người trả lời.", "amd", True)
    words = len(re.findall(r"[a-z]+", text))
    if words == 0:
        return Classification("answered", detail + " Không ghi nhận được lời nói; không có nhận diện tự động (AMD), cần "
                              "người xem lại.", "signalling", False)
    if words < 3 or not PERSON_WORDS.search(text) or doubtful_words:
        return Classification("answered", detail + f" Lời nghe được quá ngắn hoặc chưa rõ là người hay máy: "
                              f"“{transcript.strip()[:120]}”; cần người xem lại.{low}", "transcript", False)
    return Classification("answered", detail, "transcript", True)


def _quoted(reason: str, transcript: str, phrase: str | None) -> str:
    """The reason with the folded phrase replaced by the words as they were spoken."""
    return reason.replace(f"“{phrase}”", f"“{quote(transcript, phrase)}”") if phrase else reason
