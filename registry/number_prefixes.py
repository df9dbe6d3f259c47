"""phonenumbers' verdict on a Vietnamese number, asked once per prefix and length instead of once per number.

Every pattern in phonenumbers' metadata for region VN (the general one, fixed line, mobile, toll free, premium
rate, VoIP, UAN) ends in at least four digits matched by a bare ``\\d``, and a format is chosen by the first
three digits of the national number: so whether digits make a valid number, of which kind, its E.164 form and
how it is grouped when printed depend only on the digits without the last four and on the length. An appendix
of 50,000 numbers then asks phonenumbers a few hundred times, not 50,000 (30 s of a 114 s import before).
tests/test_number_prefixes.py checks the metadata for that shape and compares the remembered verdict with
phonenumbers' own on a large random sample of every kind, so an update of phonenumbers that broke it fails there.
"""
from __future__ import annotations

import re
from collections.abc import Callable

# Digits dialled in Vietnam or a stored +84 number, long enough that the key keeps at least three digits of the
# national number (seven digits is the shortest valid one) and short enough that a key stays small. "00…"
# (an international prefix, read with another country's metadata) and anything else goes to phonenumbers.
_REMEMBERED = re.compile(r"(?:\+84|0[1-9]|[1-9])\d{6,14}")
_UNSURE = "unsure"  # a verdict that does not have the expected shape: phonenumbers is asked every time
MAX_KEYS = 100_000  # a hostile file of random numbers cannot grow the memory without bound

Verdict = tuple[str, str, str]  # (E.164, kind, written form)


class PrefixMemo:
    """(E.164, kind, written form) of digits, None when they make no usable number; phonenumbers asked once per key.

    lookup(digits) → (E.164, kind) or None and display(e164, kind) → the written form are the real answers
    (registry.numbers); the memo stores how they map the digits of the first number of each key, and applies
    the same mapping to the others.
    """

    def __init__(self, lookup: Callable[[str], tuple[str, str] | None], display: Callable[[str, str], str]):
        self._lookup, self._display = lookup, display
        self._rules: dict[tuple[str, int], object] = {}

    def clear(self) -> None:
        """Forget every rule (the benchmark's cold runs)."""
        self._rules.clear()

    def verdict(self, digits: str) -> Verdict | None:
        if not _REMEMBERED.fullmatch(digits):
            return self._real(digits)
        key = (digits[:-4], len(digits))
        rule = self._rules.get(key)
        if rule is None:
            if len(self._rules) >= MAX_KEYS:
                self._rules.clear()
            rule = self._rules[key] = self._rule(digits)
        if rule is _UNSURE:
            return self._real(digits)
        if rule is False:
            return None
        kind, length, lead, sizes = rule
        national = digits[-length:]
        written, start = lead + national, 0
        parts = []
        for size in sizes:
            parts.append(written[start:start + size])
            start += size
        return "+84" + national, kind, " ".join(parts)

    def _real(self, digits: str) -> Verdict | None:
        found = self._lookup(digits)
        return (found[0], found[1], self._display(*found)) if found else None

    def _rule(self, digits: str):
        """How the real verdict maps these digits: False (no number), (kind, length, lead, group sizes) or _UNSURE."""
        found = self._lookup(digits)
        if found is None:
            return False
        e164, kind = found
        national = e164[3:]
        if not (e164.startswith("+84") and national.isdigit() and digits.endswith(national)):
            return _UNSURE
        groups = self._display(e164, kind).split(" ")
        joined = "".join(groups)
        lead = joined[: len(joined) - len(national)]
        if lead not in ("", "0") or joined[len(lead):] != national:
            return _UNSURE
        return kind, len(national), lead, tuple(len(g) for g in groups)
