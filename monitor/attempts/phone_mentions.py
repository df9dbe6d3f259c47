"""Numbers heard in a call: which are phone numbers to call, and which are not.

A number is judged by the words around it (see speech.mentions): the registered number in any of its forms
(with or without area code, 0, 84 or +84, one digit misheard) is the line itself; ID cards, dossier codes,
receipts, bank accounts, dates, rooms, amounts, the caller's own number read back and the line naming itself
are no referral; a valid Vietnamese number after a call cue is one; a long run after a call cue that makes no
valid number is unclear (held for review by redirects.py).
"""
from __future__ import annotations

import re

from monitor.attempts.speech import canonical, mentions, national, short_code, split_run

REFER_VERB = re.compile(r"\b(?:anh|chi|ban|quy khach) (?!ay |do |kia )(?:[a-z]+ ){0,2}(?:goi|lien he|lien lac)\b|"
                        r"\b(?:lien he|lien lac|goi (?:cho|sang|qua|toi|den)) (?:chi|anh|co|chu|ong|ba|ben|phong)\b")
# Cues that the number said next is a phone number, or is not one.
PHONE_CUE = re.compile(r"(?:goi|lien he|lien lac|dien thoai|so may|hotline|tong dai|duong day|zalo|so moi|so (?:cua )?(?:ben|phong|chi|anh|co|chu)|alo)\b")
NOT_PHONE_CUE = re.compile(
    r"\b(?:cccd|can cuoc|cmnd|chung minh|dinh danh|ho chieu|mahoso|ma ho so|so ho so|ho so so|bien nhan|bien lai|phieu hen|"
    r"giay hen|ma tra cuu|giao dich|tai khoan|stk|ngan hang|ma so thue|bien so|so nha|nha so|quyet dinh|cong van|van ban|"
    r"so thu tu|stt|bhxh|bao hiem|giay phep|kinh doanh|ma so doanh nghiep|so hieu|so serial|ma vach|mat khau|otp)\b"
)
NOT_PHONE_NEAR = re.compile(
    r"\b(?:ma|(?<!van )(?<!ben )(?<!so )phong|tang|lau|ngay|thang|nam|luc|gio|duong|hem|ngo|to|ap|thua|dieu|khoan|phi|tien|gia|khu|lo|"
    r"(?<!so )ban|quay|cua so|ke|tu|nha so|so nha)(?: so)?(?: la)?\s*$"
)
NOT_PHONE_AFTER = re.compile(r"^(?:(?:la )?cua (?:anh|chi|bac|co|chu|ong|ba|ban|quy khach)(?:\s*$|\s*[,.?!]| (?:phai khong|dung khong|nha|nhe|a|roi|ha)\b)|phai (?:khong|hong|ko)|dung (?:khong|hong|ko|chua)|dong|nghin|ngan|trieu|ty|vnd|phut|giay|gio|ngay|thang|nam|tuoi|km|met|m2|phan tram|%|lan)\b")
# The line naming itself ("đây là tổng đài 1022", "quý khách đã gọi đến …", "… xin nghe"): not a referral.
SELF_CUE = re.compile(r"(?:day la|ben em la|(?:da|dang) goi (?:den|toi|vao)|xin chao|kinh chao)(?: [a-z]+){0,4}\s*$")
SELF_AFTER = re.compile(r"^(?:xin nghe|nghe|xin kinh chao|kinh chao|xin chao|zaj nghe)\b")
CALLER_CUE = re.compile(r"(?:so (?:dien thoai |may )?(?:cua )?(?:anh|chi|bac|co|chu|ong|ba|ban|quy khach)|(?:anh|chi) (?:vua |da )?de lai(?: so)?|em (?:ghi(?: lai)?(?: so)?(?: dien thoai)?|goi lai cho|goi lai)|(?:goi lai|nhan tin|lien lac lai|bao lai) (?:cho )?(?:anh|chi|bac|co|chu|ong|ba|ban)(?: (?:theo|qua|vao|o|bang))?(?: so)?(?: dien thoai)?)(?: (?:dang ky|de lai|vua goi|dang dung|khai))?(?: (?:la|dang goi|do|nay|phai khong))?\s*$")

def spoken_digits(text: str | None) -> list[str]:
    """Phone numbers in Vietnamese speech or text, as digit strings ('không hai bảy bảy…' -> '0277…')."""
    numbers = []
    for mention in mentions(text):
        numbers.extend(n for n in split_run(mention.digits) if canonical(n))
    return numbers


def is_same_number(digits: str, registered: str) -> bool:
    """True when spoken digits are the registered number (full, with 0/84/+84, without area code, one digit off)."""
    plain_registered = re.sub(r"[^\d+]", "", registered or "")
    if not plain_registered.startswith("+"):
        plain_registered = canonical(plain_registered) or plain_registered
    registered_national = national(plain_registered)
    plain = re.sub(r"\D", "", digits)
    short = short_code(registered_national)
    if short:
        return short_code(plain) == short
    found = canonical(plain)
    if found and national(found) == registered_national:
        return True
    # A local number said without its area code ("3851 234") names the same line.
    if len(plain) >= 7 and registered_national.endswith(plain):
        return True
    # Digits that make no valid number are a mishearing: one wrong digit still counts as the registered one.
    return found is None and len(plain) == len(registered_national) and sum(
        a != b for a, b in zip(plain, registered_national)) <= 1


def last_end(pattern: re.Pattern, text: str) -> int:
    """Where the last match of pattern in text ends, -1 when none."""
    ends = [m.end() for m in pattern.finditer(text)]
    return ends[-1] if ends else -1


def number_kind(mention, digits: str, registered: str) -> str:
    """'registered', 'other' (a phone number to call), 'unclear' (a number that may be one) or 'none'."""
    if is_same_number(digits, registered):
        return "registered"
    before, after = mention.before, mention.after
    caller = CALLER_CUE.search(before) and not REFER_VERB.search(before)  # "liên lạc chị Mai, số chị là …"
    if caller or NOT_PHONE_AFTER.search(after) or NOT_PHONE_NEAR.search(before):
        return "none"
    if (SELF_CUE.search(before) or SELF_AFTER.search(after)) and not last_end(REFER_VERB, before) > last_end(SELF_CUE, before):
        return "none"
    phone_cue = last_end(PHONE_CUE, before)
    if last_end(NOT_PHONE_CUE, before) > phone_cue:  # the nearer cue says what the number is
        return "none"
    if canonical(digits):
        return "other"
    if len(digits) >= 7 and phone_cue >= 0 and len(digits) != 12:
        return "unclear"
    return "none"


def phone_phrase(text: str) -> str | None:
    """The words that cued a phone number in folded text, else None."""
    match = PHONE_CUE.search(text)
    return match.group(0) if match else None
