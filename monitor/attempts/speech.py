"""Vietnamese speech as a recogniser writes it down: normalised, accent-folded text and the numbers in it.

Rules elsewhere match the folded text (lower case, no diacritics, đ → d), so a transcript with or without
accents reads the same. A few words whose folded form would collide with another are given a distinct
token first: "dạ" (yes, a person's word) would read as "đã", "sở" (a department) as "số" (a number),
"bển", "trển", "ngoải" (over there, up there, out there: southern speech) as "bên", "trên", "ngoài", "nắm" (to know) as "năm" (five). Undiacritised text keeps the ambiguity, and the rules allow
for both readings.

Numbers are read from digits, number words ("không chín không", "ba trăm bốn lăm", "hai mốt", "linh",
"lẻ") and any mix, and each keeps the words around it, so the rules can tell a phone number from an ID
card, a dossier code, a receipt, a bank account, a date or a room.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from registry.numbers import NumberError, parse_hotline
from registry.text import fold

# Accented words whose folded form would be read as another word (see the module docstring).
MARKED = {"dạ": "zaj", "sở": "sox", "bển": "benx", "trển": "trenx", "ngoải": "ngoaix", "hổng": "hong", "hông": "hong",
          "vô": "vo", "nắm": "namx"}

DIGIT_WORDS = {
    "không": "0", "linh": "0", "lẻ": "0",
    "một": "1", "mốt": "1",
    "hai": "2", "ba": "3", "bốn": "4", "tư": "4",
    "năm": "5", "lăm": "5", "nhăm": "5",
    "sáu": "6", "bảy": "7", "bẩy": "7", "tám": "8", "chín": "9",
}
# Undiacritised text: "tu" (từ, tự) and "mot"/"nam" are only safe where a number is already being read.
FOLDED_DIGITS = {
    "khong": "0", "linh": "0", "le": "0", "mot": "1", "hai": "2", "ba": "3", "bon": "4", "nam": "5",
    "lam": "5", "nham": "5", "sau": "6", "bay": "7", "tam": "8", "chin": "9",
}
UNIT_AFTER_TENS = {"mốt": "1", "tư": "4", "lăm": "5", "nhăm": "5", "mot": "1", "tu": "4", "lam": "5", "nham": "5"}
UNIT_ONLY = {"tư", "mốt", "lăm", "nhăm", "tu", "lam", "nham"}
TENS = {"mươi", "muoi"}
TEN = {"mười", "muoi"}
HUNDRED = {"trăm", "tram"}
THOUSAND = {"nghìn", "ngàn", "nghin", "ngan"}
ZERO_LINK = {"linh", "lẻ", "le"}
GLUE = {",", ".", "-", "–", "·", "chấm", "cham", "gạch", "gach"}  # inside one spoken or written number

# Written forms that are never phone numbers, taken out before numbers are read: national dossier codes
# ("H12.34-250101-0001", "000.00.12.H12-250101-0001") and dates ("25/01/2025").
_DOSSIER = re.compile(r"\b[\w.]*[a-z][\w.]*-\d{6}-\d{4}\b|\b\d{3}\.\d{2}\.\d{2}\.[a-z]\d{2}\b|\b[a-z]\d{2}\.\d{2}\b")
_DATE = re.compile(r"\b\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?\b")
# "… à không, không chín …": a speaker correcting a number starts a new one.
_CORRECTION = re.compile(r"\b(?:à|ờ|ơ|ý|í|a|o) (?:không|nhầm|lộn|khong|nham|lon)\b")
_SENTENCE = re.compile(r"[!?;:|…]+|\.(?=\s|$)")


def normalise(text: str | None) -> str:
    """NFC, lower case, one space between words."""
    text = unicodedata.normalize("NFC", text or "").lower().replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=4096)
def _fold_word(word: str) -> str:
    return MARKED.get(word) or fold(word)


def folded(text: str | None) -> str:
    """The text for rule matching: normalised, marked words replaced, accents folded."""
    return re.sub(r"[^\W\d_]+", lambda m: _fold_word(m.group(0)), normalise(text))


def has_marks(text: str) -> bool:
    """True when the text carries Vietnamese diacritics (a recogniser's usual output)."""
    return fold(text) != text.lower()


@dataclass(frozen=True)
class Mention:
    """One number heard: its digits and the folded words just before and after it."""

    digits: str
    before: str
    after: str


def _tokens(text: str) -> list[str]:
    """Digit runs, words and punctuation marks; a sentence end becomes a hard break '|'."""
    text = _DOSSIER.sub(" mahoso ", normalise(text))
    text = _DATE.sub(" ngay ", text)
    text = _SENTENCE.sub(" | ", text)
    text = _CORRECTION.sub(" | ", text)
    return re.findall(r"\d+|[^\W\d_]+|[^\w\s]", text)


def _digit(tok: str, accented: bool) -> str | None:
    if accented:
        return DIGIT_WORDS.get(tok)
    return FOLDED_DIGITS.get(tok)


def _tens(tokens: list[str], i: int, accented: bool) -> tuple[str, int] | None:
    """Two digits at i: 'ba mươi tư' 34, 'mười lăm' 15, 'hai mốt' 21; or None."""
    tok = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    after = tokens[i + 2] if i + 2 < len(tokens) else ""
    if tok in TEN and nxt in ("không", "khong"):  # "mười không hai hai": a misheard "một không hai hai"
        return "1", i + 1
    if tok in TEN:
        unit = UNIT_AFTER_TENS.get(nxt) or (_digit(nxt, accented) if nxt not in ZERO_LINK | {"không", "khong"} else None)
        return ("1" + unit, i + 2) if unit else ("10", i + 1)
    digit = _digit(tok, accented)
    if digit and digit != "0" and nxt in TENS:
        unit = UNIT_AFTER_TENS.get(after) or (_digit(after, accented) if after not in ZERO_LINK | {"không", "khong"} else None)
        return (digit + unit, i + 3) if unit else (digit + "0", i + 2)
    return None


def _group(tokens: list[str], i: int, accented: bool) -> tuple[str, int] | None:
    """The number word group or digit run at i, as (digits, next index), or None."""
    tok = tokens[i]
    if tok.isdigit():
        return tok, i + 1
    tens = _tens(tokens, i, accented)
    digit = _digit(tok, accented)
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if digit is None and tok in UNIT_AFTER_TENS and accented:
        digit = UNIT_AFTER_TENS[tok]
    if digit is not None and nxt in THOUSAND:
        rest = _group(tokens, i + 2, accented) if i + 2 < len(tokens) else None
        if rest and tokens[i + 3:i + 4] and tokens[i + 3] in HUNDRED:
            return digit + rest[0].rjust(3, "0")[-3:], rest[1]
        return digit + "000", i + 2
    if digit is not None and nxt in HUNDRED:
        j = i + 2
        rest = tokens[j] if j < len(tokens) else ""
        if rest in ZERO_LINK and j + 1 < len(tokens) and _digit(tokens[j + 1], accented):
            return digit + "0" + _digit(tokens[j + 1], accented), j + 2
        sub = _tens(tokens, j, accented) if j < len(tokens) else None
        if sub:
            return digit + sub[0], sub[1]
        first = _digit(rest, accented) if rest else None
        second = _digit(tokens[j + 1], accented) if first and j + 1 < len(tokens) else None
        second = second or (UNIT_AFTER_TENS.get(tokens[j + 1]) if first and j + 1 < len(tokens) else None)
        if first and first != "0" and second:  # "ba trăm bốn lăm" 345
            return digit + first + second, j + 2
        if first and first != "0":  # "ba trăm tư" 340
            return digit + first + "0", j + 1
        return digit + "00", j
    if tens:
        return tens
    if digit is not None:
        return digit, i + 1
    return None


def _window(tokens: list[str], start: int, end: int) -> str:
    words = [t for t in tokens[max(0, start):max(0, end)] if t != "|"]
    return " ".join(_fold_word(t) if not t.isdigit() else t for t in words)


def mentions(text: str | None) -> list[Mention]:
    """Every run of digits heard, with the twelve words before and four after it (folded)."""
    if not text:
        return []
    accented = has_marks(text)
    tokens = _tokens(text)
    found, current, start, i = [], "", 0, 0

    def close(end: int):
        stop = tokens.index("|", end) if "|" in tokens[end:] else len(tokens)
        found.append(Mention(current, _window(tokens, start - 12, start), _window(tokens, end, min(stop, end + 4))))

    last_end = 0
    while i < len(tokens):
        # "tư", "mốt", "lăm" are digits only inside a number ("ba tư"); alone they are words ("Tư pháp").
        group = None if not current and tokens[i] in UNIT_ONLY else _group(tokens, i, accented)
        if group:
            if not current:
                start = i
            current += group[0]
            i = last_end = group[1]
            continue
        if tokens[i] in GLUE and len(current) > 1:  # "không, anh gọi…" is "no,", not a zero
            i += 1
            continue
        if current:
            close(last_end)
            current = ""
        i += 1
    if current:
        close(last_end)
    return found


@lru_cache(maxsize=4096)
def canonical(digits: str) -> str | None:
    """The stored form ('+842773851234', '1022') of digits that make one Vietnamese number, else None."""
    if len(digits) < 3 or len(digits) > 12:
        return None
    if len(digits) < 7 and not re.fullmatch(r"1022|11[1-5]", digits):
        return None  # thủ tục số 15, năm 2024, máy lẻ 12: not phone numbers
    if short_code(digits) == digits:
        return digits
    if len(digits) == 12 and digits.startswith("0"):
        return None  # a 12-digit citizen ID (CCCD) starts with 0; a phone number that long starts with 84
    try:
        number = parse_hotline(digits).number
    except NumberError:
        return None
    # Only what Vietnamese numbering issues: landlines (02…), mobiles (03/05/07/08/09), 1800/1900.
    # 1800/1900 numbers have no leading 0 in national form ("+8419001234" is 1900 1234).
    plain = number[3:] if number.startswith("+84") else number
    return number if re.match(r"0[235789]", national(number)) or re.match(r"1[89]00", plain) else None


def split_run(run: str) -> list[str]:
    """Phone-number candidates inside one run: the whole run, or its longest valid start and the rest.

    A stray word after a number ("gọi 1022 một lát") adds a digit; the valid start is kept.
    Runs that make no number are returned whole, to be judged by their context.
    """
    if canonical(run) or len(run) < 3:
        return [run]
    for length in range(len(run) - 1, 2, -1):
        if canonical(run[:length]) and (run.startswith(("0", "84")) or short_code(run[:length])) and (
                length >= 7 or len(run) - length <= 2):
            rest = run[length:]
            return [run[:length]] + (split_run(rest) if len(rest) >= 3 else [])
    return [run]


def national(number: str) -> str:
    """'+842773851234' -> '02773851234'; other forms unchanged."""
    return "0" + number[3:] if number.startswith("+84") else number


def short_code(digits: str) -> str | None:
    """The short code (1022, 111–115) that digits name, alone or after an area code ('0277 1022')."""
    match = re.fullmatch(r"(?:\+?84|0)?(?:2\d{1,3})?(1022|11[1-5])", digits or "")
    return match.group(1) if match else None


def quote(text: str | None, phrase: str | None) -> str:
    """The words of text (as spoken, with accents) that a folded phrase matched; the phrase if not found."""
    if not phrase:
        return ""
    words = normalise(text).split(" ")
    keys = [re.sub(r"[^\w]", "", word) for word in folded(text).split(" ")]  # folding keeps the words apart
    target = [re.sub(r"[^\w]", "", word) for word in phrase.split()]
    target = [word for word in target if word]
    for i in range(len(keys) - len(target) + 1):
        if keys[i:i + len(target)] == target:
            return " ".join(words[i:i + len(target)]).strip(",.;:!? ")
    return phrase
