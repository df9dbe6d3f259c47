"""The automated survey call as rules on plain values: what is said at each step, which key answers what, and
which AAPOR disposition a call ends with. No database here (calls.py reads and writes; providers speak).

The call, whatever the provider: a short introduction (who calls and why), consent first (1 agrees, 2 declines,
9 asks never to be called again), then each question of the case's questionnaire in order: a rating by key
1–5 (5 = very satisfied), a yes/no by 1 or 2, an open comment spoken after the tone (transcribed where the
provider can; # skips it). Each answer arrives as one event of kind "gather" with SurveyStep (the question's
key), Digits and, for the comment, SpeechResult. The citizen may hang up at any point: the answers given so
far are kept, and the disposition says how far the interview went.
"""
from __future__ import annotations

from collections.abc import Mapping

CONSENT_KEY = "consent"
AGREE, DECLINE, NEVER_AGAIN = "1", "2", "9"
# Called numbers that do not exist: the export's number was wrong (a data-quality finding for the unit).
GONE_SIP_CODES = (404, 410, 484, 604)

INTRO = ("Xin chào ông bà. Đây là tổng đài chăm sóc khách hàng 1022 của Ủy ban nhân dân tỉnh, gọi tự động để hỏi ý "
         "kiến của ông bà về hồ sơ thủ tục hành chính vừa nhận kết quả tại {unit}. Cuộc gọi khoảng ba phút.")
CONSENT = ("Nhấn phím 1 nếu đồng ý trả lời. Nhấn phím 2 nếu không đồng ý. Nhấn phím 9 nếu không muốn được gọi "
           "khảo sát nữa.")
RATING_KEYS = "Xin nhấn một phím từ 1 đến 5: 5 là rất hài lòng, 4 hài lòng, 3 bình thường, 2 không hài lòng, 1 rất " \
              "không hài lòng."
YES_NO_KEYS = "Nhấn phím 1 nếu có, phím 2 nếu không."
COMMENT_KEYS = "Xin mời nói góp ý sau tiếng bíp, nói xong nhấn phím thăng; nếu không có góp ý, nhấn phím thăng."
THANKS = "Cảm ơn ông bà đã dành thời gian trả lời. Chào ông bà."
GOODBYE = "Cảm ơn ông bà. Xin lỗi đã làm phiền. Chào ông bà."
NO_KEY = "Chúng tôi chưa nhận được phím bấm. Điện thoại viên sẽ gọi lại ông bà sau. Chào ông bà."


def time_limit(questions: list[Mapping]) -> int:
    """Seconds an automated interview may last before the provider hangs up: the introduction, then each question
    spoken and answered (about half a minute each, a slow listener included). Longer than a test call's limit:
    cut at two minutes, a complete interview would end partial."""
    return 60 + 30 * len(asked(questions))


def intro(unit_name: str) -> str:
    """The opening sentence of the call (who calls, why, how long)."""
    return INTRO.format(unit=unit_name or "cơ quan giải quyết")


def prompt(question: Mapping) -> str:
    """What the call says for one question: its text, then how to answer by keypad (the consent's own keys)."""
    if question["key"] == CONSENT_KEY:
        return CONSENT
    keys = {"rating": RATING_KEYS, "yes_no": YES_NO_KEYS}.get(question["kind"], COMMENT_KEYS)
    return f"{question['text']} {keys}"


def asked(questions: list[Mapping]) -> list[Mapping]:
    """The questions in the order the call asks them: consent first (whether or not the questionnaire has one)."""
    consent = [q for q in questions if q["key"] == CONSENT_KEY]
    return (consent or [{"key": CONSENT_KEY, "kind": "yes_no", "element": "", "text": ""}]) + \
        [q for q in questions if q["key"] != CONSENT_KEY]


def next_question(questions: list[Mapping], step: str | None, digits: str = "") -> Mapping | None:
    """The question after `step` (None: the first, the consent), or None when the call ends there: after the
    last question, or when the citizen did not agree at the consent."""
    order = asked(questions)
    if step is None:
        return order[0]
    if step == CONSENT_KEY and (digits or "").strip()[:1] != AGREE:
        return None
    keys = [q["key"] for q in order]
    if step not in keys:
        return None
    position = keys.index(step) + 1
    return order[position] if position < len(order) else None


def closing(step: str, digits: str = "") -> str:
    """The closing words once the call ends after `step` answered with `digits` (next_question gave None): after
    the consent, NO_KEY when nothing was pressed (an operator calls back), GOODBYE otherwise; THANKS after an
    interview."""
    if step == CONSENT_KEY:
        return NO_KEY if not (digits or "").strip() else GOODBYE
    return THANKS


def answer_row(question: Mapping, digits: str = "", speech: str = "") -> dict | None:
    """The answer an event gives to its question (answers.save's row), or None when it gives none."""
    digits, speech = (digits or "").strip().rstrip("#"), (speech or "").strip()
    row = {"question_key": question["key"], "rating": None, "yes": None, "text": None}
    if question["kind"] == "rating":
        if digits[:1] not in ("1", "2", "3", "4", "5") or len(digits) != 1:
            return None
        row["rating"] = int(digits)
    elif question["kind"] == "yes_no":
        if digits not in ("1", "2"):
            return None
        row["yes"] = 1 if digits == "1" else 0
    else:
        if not speech:
            return None
        row["text"] = speech[:2000]
    return row


def answers_given(questions: list[Mapping], gathered: Mapping[str, Mapping]) -> list[dict]:
    """The answer rows of a call's events (SurveyStep → its params), the questionnaire's consent included."""
    rows = []
    for question in questions:  # a consent the questionnaire does not have is asked, not stored
        params = gathered.get(question["key"])
        if params is None:
            continue
        row = answer_row(question, params.get("Digits", ""), params.get("SpeechResult", ""))
        if row is not None:
            rows.append(row)
    return rows


def disposition(call: Mapping, questions: list[Mapping], gathered: Mapping[str, Mapping]) -> tuple[str, str]:
    """(AAPOR disposition code, a note without personal data) for an ended automated call.

    call: the attempt's outcome, sip_code and answered_by. The consent decides first: 9 asks never to be called
    again, 2 refuses, 1 opens the interview, which is complete when every rating question was answered, partial
    with at least half of them, a break-off with fewer. Without a consent key: the line's outcome (busy, no
    answer, a machine, a number that does not exist); a person who answered and hung up in the introduction is
    a soft refusal (AAPOR counts a hang-up during the introduction as a refusal), offered again after a week.
    'operator': a person answered but pressed nothing — the case is handed to an operator (see calls.settle).
    """
    consent = (gathered.get(CONSENT_KEY) or {}).get("Digits", "").strip()[:1]
    if consent == NEVER_AGAIN:
        return "do_not_call", "Người dân bấm 9: không muốn được gọi khảo sát nữa."
    if consent == DECLINE:
        return "refusal", "Người dân bấm 2: không đồng ý trả lời."
    if consent == AGREE:
        ratings = [q["key"] for q in questions if q["kind"] == "rating"]
        answered = {row["question_key"] for row in answers_given(questions, gathered)}
        done = sum(1 for key in ratings if key in answered)
        if done == len(ratings):
            return "complete", ""
        if done * 2 >= len(ratings):
            return "partial", f"Dừng sau {done}/{len(ratings)} câu đánh giá."
        return "break_off", f"Dừng sau {done}/{len(ratings)} câu đánh giá."
    outcome = call.get("outcome")
    if outcome == "busy":
        return "busy", ""
    if outcome == "no_answer":
        return "no_answer", ""
    if outcome == "machine" or str(call.get("answered_by") or "").startswith("machine"):
        return "machine", ""
    if outcome == "unreachable":
        if call.get("sip_code") in GONE_SIP_CODES:
            return "disconnected", f"Số không tồn tại (SIP {call['sip_code']})."
        return "unknown", "Thuê bao tạm thời không liên lạc được."
    if CONSENT_KEY in gathered:
        return "operator", "Có người nghe nhưng không bấm phím: chuyển điện thoại viên gọi."
    if outcome in ("answered", "redirected"):
        return "soft_refusal", "Người nghe gác máy khi đang giới thiệu."
    return "unknown", ""

