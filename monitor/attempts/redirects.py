"""Redirect detection: was the caller told to call another number or go elsewhere, or forwarded away?

Evidence, strongest first:
- signalling, when present: SIP 3xx, Q.850 cause 22 (number changed) or 23 (redirection), ForwardedFrom;
- a phone number in the transcript (digits or Vietnamese number words) that is not the registered number;
- a referral phrase ("không phụ trách", "liên hệ phòng một cửa ở xã", "gọi sang bên khác"…) even without a number.

Decisions (documented because an inspector will ask):
- The operator repeating the registered number back ("dạ đúng rồi, số 0277 3851 234") is not a redirect.
- A transfer inside the call ("em chuyển máy", "anh chờ máy em nối máy") is NOT a redirect: the caller stays
  on the line and the agency handles it. Being told to call, visit or ask somewhere else IS one, including
  being sent to an office in person, because the hotline did not serve the citizen on the phone.
- Weak phrases such as "gọi số" count only together with a number that is not the registered one, so
  "anh cứ gọi số này" is not a redirect.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from registry.numbers import NumberError, parse_hotline

DIGIT_WORDS = {
    "không": "0", "linh": "0", "lẻ": "0",
    "một": "1", "mốt": "1",
    "hai": "2",
    "ba": "3",
    "bốn": "4", "tư": "4",
    "năm": "5", "lăm": "5", "nhăm": "5",
    "sáu": "6",
    "bảy": "7", "bẩy": "7",
    "tám": "8",
    "chín": "9",
}
# Only these may follow "mươi"/"mười" as units ("ba mươi tư" = 34, "mười lăm" = 15); "không" never does.
UNIT_WORDS = {w for w, d in DIGIT_WORDS.items() if d != "0"}
GLUE = {",", ".", "-", "–", "·"}  # may sit inside one spoken or written number

# Strong referral phrases: a redirect even without a number. Verb-led ones are skipped when negated.
_PLACES = (
    r"(?:bộ phận |phòng |ban |văn phòng |trung tâm |bên |cơ quan |đơn vị )?"
    r"(?:một cửa|tiếp nhận|ủy ban|uỷ ban|ubnd|xã|phường|huyện|thị trấn|thị xã|thành phố|tỉnh|sở|phòng|ban|"
    r"công an|trung tâm|bộ phận|bên|cơ quan|đơn vị|chi cục|chi nhánh|bưu điện|tổng đài)"
)
# Who is told to go: the caller ("anh", "chị", "quý khách"…) or a new clause, then optional advice words.
_ADVICE = (
    r"(?:^|(?<=[,|])\s*|\b(?:anh chị|các anh chị|anh|chị|bác|cô|chú|ông|bà|bạn|quý khách|quý vị)\s+)"
    r"(?:(?:nên|phải|cứ|vui lòng|xin vui lòng|hãy|có thể|thì|chịu khó|đi)\s+)*"
)
REFERRAL_PATTERNS = [
    (r"không (?:có )?(?:phụ trách|quản lý|giải quyết|tiếp nhận|xử lý)(?: (?:việc|vấn đề|lĩnh vực|mảng|hồ sơ|cái) (?:này|đó|đấy|đây))?(?! được)", False),
    (r"không thuộc (?:thẩm quyền|trách nhiệm|phạm vi|chức năng|lĩnh vực)", False),
    (r"(?:nhầm|sai) số|gọi nhầm", False),
    (r"(?:đây|số này) không phải (?:là )?(?:số )?(?:đường dây nóng|của sở|của ủy ban|của ubnd|của bên)", False),
    (r"(?:số này|số máy này|đường dây này) (?:đã )?không còn (?:sử dụng|dùng|hoạt động|là đường dây nóng)", False),
    (_ADVICE + r"(?:liên hệ|liên lạc|gọi|hỏi|gặp|đến|tới|ra|lên|xuống|qua|sang|về) (?:trực tiếp )?"
     r"(?:với |cho |sang |qua |lên |xuống |ở |tại )?" + _PLACES + r"\b", True),
    (r"(?:gọi|liên hệ|liên lạc|hỏi) (?:cho |sang |qua |với )?(?:nơi|chỗ|bên|đơn vị|cơ quan|số) (?:khác|kia)", True),
    (r"chuyển sang (?:bên|số|cơ quan|đơn vị|sở|ủy ban|ubnd|xã|phường|huyện|gọi|hỏi|tổng đài)", True),
]
# Said while keeping the caller on the line: not a redirect (see the module docstring).
TRANSFER_PATTERNS = [r"chuyển máy", r"nối máy", r"chuyển cuộc gọi", r"chờ máy", r"giữ máy", r"chuyển (?:sang|cho) .{0,30}?(?:cho (?:anh|chị|bác|cô|chú|em)|nghe máy)"]
# Phrases that name a number to call: they make a spoken other number a referral in the reason text.
NUMBER_PHRASES = [r"gọi (?:vào |qua |lại |sang |tới |đến |cho )?số", r"liên hệ (?:qua |theo |với )?số", r"số điện thoại", r"số máy", r"tổng đài"]
NEGATIONS = re.compile(r"(?:không cần(?: phải)?|khỏi(?: phải)?|đừng|không phải|chưa cần)\s*(?:\S+\s*){0,2}$")
# Words that put the place inside the agency being called ("phòng này", "bên em"): no redirect.
_OWN_PLACE = re.compile(r"^\s*(?:này|em|mình|chúng em|chúng tôi|đây)\b")

SIP_REASONS = {
    301: "SIP 301: số đã chuyển vĩnh viễn sang đích khác",
    302: "SIP 302: cuộc gọi được chuyển hướng tạm thời",
    305: "SIP 305: cuộc gọi phải đi qua proxy khác",
    380: "SIP 380: dịch vụ thay thế",
}
Q850_REASONS = {
    22: "Q.850 mã 22: số đã thay đổi",
    23: "Q.850 mã 23: cuộc gọi được chuyển hướng sang đích mới",
}


@dataclass(frozen=True)
class RedirectFinding:
    """Why a call counts as redirected: a Vietnamese reason, other numbers heard, the phrase matched."""

    reason: str
    numbers: list[str] = field(default_factory=list)
    phrase: str | None = None


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text or "").lower().replace("\u00a0", " ")


def _tokens(text: str) -> list[str]:
    """Digit runs, words and single punctuation marks; a sentence end becomes a hard break '|'."""
    text = re.sub(r"[.!?;:|…]+(?=\s|$)", " | ", _clean(text))
    return re.findall(r"\d+|[^\W\d_]+|[^\w\s]", text)


def _read_group(tokens: list[str], i: int) -> tuple[str, int] | None:
    """Read the number word group at i ('ba mươi tư' -> '34'); (digits, next index) or None."""
    tok = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    after = tokens[i + 2] if i + 2 < len(tokens) else ""
    if tok.isdigit():
        return tok, i + 1
    if tok == "mười":
        if nxt in UNIT_WORDS:
            return "1" + DIGIT_WORDS[nxt], i + 2
        return "10", i + 1
    if tok not in DIGIT_WORDS:
        return None
    digit = DIGIT_WORDS[tok]
    if nxt == "mươi" and digit != "0":
        if after in UNIT_WORDS:
            return digit + DIGIT_WORDS[after], i + 3
        return digit + "0", i + 2
    if nxt == "trăm":
        j = i + 2
        rest = tokens[j] if j < len(tokens) else ""
        if rest in ("linh", "lẻ") and j + 1 < len(tokens) and tokens[j + 1] in DIGIT_WORDS:
            return digit + "0" + DIGIT_WORDS[tokens[j + 1]], j + 2
        if rest == "mười" or (rest in DIGIT_WORDS and j + 1 < len(tokens) and tokens[j + 1] == "mươi"):
            tens, k = _read_group(tokens, j)
            return digit + tens, k
        return digit + "00", j
    return digit, i + 1


def _digit_runs(text: str) -> list[str]:
    """Runs of digits read from text, joining adjacent spoken or written groups of one number."""
    tokens = _tokens(text)
    runs, current, i = [], "", 0
    while i < len(tokens):
        group = _read_group(tokens, i)
        if group:
            current += group[0]
            i = group[1]
            continue
        if tokens[i] in GLUE and current:
            i += 1
            continue
        if current:
            runs.append(current)
            current = ""
        i += 1
    if current:
        runs.append(current)
    return runs


def _canonical(digits: str) -> str | None:
    """The stored form ('+842773851234', '1022') of digits that make one Vietnamese number, else None."""
    if len(digits) < 3 or len(digits) > 12:
        return None
    if len(digits) < 7 and not re.fullmatch(r"1022|11[1-5]", digits):
        return None  # thủ tục số 15, năm 2024, máy lẻ 12: not phone numbers
    try:
        return parse_hotline(digits).number
    except NumberError:
        return None


def _numbers_in_run(run: str) -> list[str]:
    """Phone numbers inside one run of digits.

    The whole run if it is a valid number; else its longest valid start (a stray "một" after the number,
    as in "gọi 1022 một lát", is dropped) and what follows; else a long run as it was heard, since nine or
    more digits in a row are a phone number even when misheard.
    """
    if _canonical(run):
        return [run]
    for length in range(len(run) - 1, 2, -1):
        if _canonical(run[:length]):
            rest = run[length:]
            return [run[:length]] + (_numbers_in_run(rest) if len(rest) >= 3 else [])
    return [run] if len(run) >= 9 else []


def spoken_digits(text: str | None) -> list[str]:
    """Phone numbers in Vietnamese speech or text, as digit strings ('không hai bảy bảy…' -> '0277…')."""
    if not text:
        return []
    numbers = []
    for run in _digit_runs(text):
        numbers.extend(_numbers_in_run(run))
    return numbers


def _national(number: str) -> str:
    return "0" + number[3:] if number.startswith("+84") else number


def is_same_number(digits: str, registered: str) -> bool:
    """True when spoken digits are the registered number (full, with country code, or its last 7+ digits)."""
    plain_registered = re.sub(r"[^\d+]", "", registered or "")
    if not plain_registered.startswith("+"):
        plain_registered = _canonical(plain_registered) or plain_registered
    registered_national = _national(plain_registered)
    canonical = _canonical(digits)
    if canonical and _national(canonical) == registered_national:
        return True
    plain = re.sub(r"\D", "", digits)
    # A local number said without its area code ("3851 234") names the same line.
    if len(plain) >= 7 and registered_national.endswith(plain):
        return True
    # Digits that make no valid number are a mishearing: one wrong digit still counts as the registered one.
    return canonical is None and len(plain) == len(registered_national) and sum(
        a != b for a, b in zip(plain, registered_national)) <= 1


def _first_match(patterns, text: str, *, check_negation: bool = True):
    for pattern, verb_led in patterns:
        for match in re.finditer(pattern, text):
            if verb_led and check_negation and NEGATIONS.search(text[: match.start()]):
                continue
            if verb_led and _OWN_PLACE.match(text[match.end():]):
                continue
            return match.group(0)
    return None


def detect_redirect(
    transcript: str | None,
    registered_number: str,
    *,
    sip_code: int | None = None,
    q850_cause: int | None = None,
    forwarded_from: str | None = None,
) -> RedirectFinding | None:
    """A RedirectFinding when signalling or the transcript shows a redirect, else None."""
    if sip_code is not None and 300 <= int(sip_code) < 400:
        reason = SIP_REASONS.get(int(sip_code), f"SIP {int(sip_code)}: cuộc gọi bị chuyển hướng")
        return RedirectFinding(reason=reason)
    if q850_cause is not None and int(q850_cause) in Q850_REASONS:
        return RedirectFinding(reason=Q850_REASONS[int(q850_cause)])
    if forwarded_from:
        return RedirectFinding(reason=f"Cuộc gọi bị chuyển tiếp (ForwardedFrom: {forwarded_from}).")
    if not transcript or not transcript.strip():
        return None
    text = _clean(transcript)
    others = []
    for digits in spoken_digits(text):
        if not is_same_number(digits, registered_number) and digits not in others:
            others.append(digits)
    if others:
        phrase = _first_match([(p, False) for p in NUMBER_PHRASES], text)
        listed = ", ".join(others)
        return RedirectFinding(
            reason=f"Người nghe máy hướng dẫn gọi số khác: {listed} (không phải số đã đăng ký).",
            numbers=others,
            phrase=phrase,
        )
    # Inside-call transfers silence the verb-led place phrases only ("em chuyển máy sang phòng X").
    transferring = any(re.search(p, text) for p in TRANSFER_PATTERNS)
    patterns = [(p, verb) for p, verb in REFERRAL_PATTERNS if not (transferring and verb)]
    phrase = _first_match(patterns, text)
    if phrase:
        return RedirectFinding(reason=f"Người nghe máy hướng dẫn liên hệ nơi khác: “{phrase}”.", phrase=phrase)
    return None
