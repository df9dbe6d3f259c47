"""The reporter's phone number written inside free text (the content, an answer, a reason): found and masked.

Staff often type the caller's number into what they write ("gọi lại số 0912.345.678"). An entry's own columns are
masked when the number's retention ends (registry/logbook/retention.py); the history can never be changed, so the
text going into it is masked before it is written (registry/logbook/entries.py).
"""
import re
from functools import lru_cache

MASK = "•••"
_GAP = r"[\s.\-()/]{0,3}"  # what people put between digits: spaces, dots, dashes, brackets


def _variants(digits: str) -> list[str]:
    """The ways one number is written: 0912345678, +84 912 345 678 / 84912345678, 912 345 678."""
    if not digits.startswith("0"):
        return [digits]
    return [digits, "84" + digits[1:], digits[1:]]


@lru_cache(maxsize=256)
def pattern(digits: str) -> re.Pattern:
    """A pattern matching the number as written in text, whatever the separators, never inside a longer number."""
    spelled = [_GAP.join(re.escape(d) for d in variant) for variant in _variants(digits)]
    return re.compile(r"(?<!\d)\+?(?:" + "|".join(spelled) + r")(?!\d)")


def mask(text: str, phones) -> str:
    """text with every writing of these numbers (digits only, as stored; empty ones skipped) replaced by MASK."""
    if not text:
        return text
    bare = re.sub(r"\D", "", text)
    for digits in {p for p in phones if p and len(p) >= 6}:
        if digits.lstrip("0") in bare:  # every writing holds these digits in a row: most texts are skipped cheaply
            text = pattern(digits).sub(MASK, text)
    return text


def mask_values(changes: dict, phones) -> dict:
    """A history event's changes with the numbers masked in every text value (old and new sides alike)."""
    def clean(value):
        if isinstance(value, str):
            return mask(value, phones)
        if isinstance(value, (tuple, list)):
            return type(value)(clean(v) for v in value)
        return value

    return {key: clean(value) for key, value in changes.items()}
