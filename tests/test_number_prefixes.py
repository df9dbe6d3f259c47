"""phonenumbers' verdict remembered by prefix and length (registry.number_prefixes) is phonenumbers' own verdict.

The memo rests on one property of phonenumbers' metadata for VN: every pattern ends in at least four free
digits. The first test checks that property on the metadata installed (an update of phonenumbers that broke
it fails here); the others compare the remembered verdict with the real one on a large random sample of every
kind of number — landlines under every area code, mobiles under every prefix, 1800/1900 of every length,
short numbers, and digits that make no number — and the parse of written numbers with and without the memo.
"""
import random
import re

import phonenumbers
import pytest

from registry import numbers
from registry.number_prefixes import MAX_KEYS, PrefixMemo
from registry.numbers import NumberError, parse_hotline

DESCS = ("general_desc", "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number",
         "voip", "pager", "uan", "voicemail", "no_international_dialling")


def alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regular expression ('a|(?:b|c)d' → ['a', '(?:b|c)d'])."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(pattern):
        if ch == "(" and pattern[i - 1:i] != "\\":
            depth += 1
        elif ch == ")" and pattern[i - 1:i] != "\\":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    return parts + [pattern[start:]]


def test_every_vietnamese_pattern_ends_in_at_least_four_free_digits():
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("VN")
    checked = 0
    for name in DESCS:
        desc = getattr(metadata, name, None)
        if desc is None or not desc.national_number_pattern:
            continue
        for alternative in alternatives(desc.national_number_pattern):
            free = re.search(r"\\d\{(\d+)(?:,\d+)?\}$", alternative)
            assert free and int(free.group(1)) >= 4, (name, alternative)
            checked += 1
    assert checked >= 10
    # The shortest valid number has 7 digits: a key (the digits without the last four) keeps three of them,
    # all that any format's leading digits look at.
    assert min(metadata.general_desc.possible_length) >= 7
    for fmt in metadata.number_format:
        for leading in fmt.leading_digits_pattern:
            assert len(re.sub(r"\[[^\]]*\]|\(\?:|[()|]", "x", leading).replace("x", "d")) <= 12, leading


def sample(rng: random.Random) -> list[str]:
    """Digits of every kind, several per key (the same digits but the last four) so that the memo answers most."""
    def digits(n):
        return "".join(rng.choice("0123456789") for _ in range(n))

    def family(prefix, length, count=6):
        middle = prefix + digits(max(0, length - len(prefix) - 4))
        return [middle + digits(length - len(middle)) for _ in range(count)]

    out = []
    for head in range(200, 300):  # every possible area code 02xx (and 024, 028): valid and invalid ones
        for length in (11, 11, 11, 11, 10, 12):  # landlines have 11 digits; 10 and 12 are too short, too long
            out += family(f"0{head}", length)
    for head in range(30, 100):  # every mobile prefix 03x…09x, and the 04x, 06x that are none
        for length in (10, 10, 10, 10, 9, 11):
            out += family(f"0{head}", length)
    for head in range(10, 30):
        out += family(f"0{head}", rng.choice((9, 10, 11)))
    for service in ("1800", "1900", "1801", "1200", "1228", "1992", "1210"):  # toll free, premium, UAN, neighbours
        for length in range(7, 12):
            out += family(service, length, 12) + family("0" + service, length + 1, 3)
    out += ["1022", "111", "112", "113", "114", "115", "02771022", "0277113", "02821022", "0241022"]
    for prefix in ("84", "+84", "+840", "0084", "00", "+1", "+44", "7", "6", "672", "69", "9", "5"):
        for _ in range(10):
            out += family(prefix, len(prefix) + rng.randint(5, 13))
    out += [digits(rng.randint(1, 18)) for _ in range(3000)]  # anything at all
    rng.shuffle(out)
    return out


def real(digits: str):
    found = numbers._lookup(digits)
    return (found[0], found[1], numbers.display_number(*found)) if found else None


def test_the_remembered_verdict_is_phonenumbers_verdict_for_a_large_sample_of_every_kind():
    rng = random.Random(20261201)
    for _round in range(2):  # a different first number per key each round
        memo = PrefixMemo(numbers._lookup, numbers.display_number)
        digits = sample(rng)
        assert len(digits) > 10_000
        kinds = set()
        for value in digits:
            expected = real(value)
            assert memo.verdict(value) == expected, value
            kinds.add(expected[1] if expected else None)
        assert kinds == {"landline", "mobile", "tollfree", "premium", None}
        # The memo was used: far fewer keys than numbers.
        assert len(memo._rules) < len(digits) / 3


def test_a_key_whose_verdict_has_another_shape_is_asked_every_time():
    calls = []

    def lookup(digits):
        calls.append(digits)
        return ("+1" + digits[1:], "landline")  # not a +84 number: no rule can be drawn from it

    memo = PrefixMemo(lookup, lambda number, kind: number)
    assert memo.verdict("02773851234") == ("+12773851234", "landline", "+12773851234")
    assert memo.verdict("02773851235") == ("+12773851235", "landline", "+12773851235")
    assert calls == ["02773851234", "02773851234", "02773851235"]


def test_the_memo_stays_bounded():
    memo = PrefixMemo(lambda digits: None, lambda number, kind: number)
    for i in range(MAX_KEYS + 10):
        memo.verdict(f"0{i:07d}1234")
    assert len(memo._rules) <= MAX_KEYS


class Unremembered:
    """The memo's interface answered by phonenumbers every time."""

    @staticmethod
    def verdict(digits):
        return real(digits)


def outcome(text):
    try:
        return parse_hotline(text)
    except NumberError as error:
        return error.code, error.message


@pytest.mark.parametrize("seed", [1, 2])
def test_written_numbers_parse_the_same_with_and_without_the_memo(monkeypatch, seed):
    rng = random.Random(seed)
    written = []
    for value in sample(rng)[:4000]:
        if len(value) >= 8 and value[0] == "0":
            cut = rng.randint(3, 5)
            value = rng.choice((f"{value[:cut]} {value[cut:]}", f"{value[:cut]}.{value[cut:]}", value))
        written.append(value)
    written += ["3851 234", "3.851.234", "0277 3851 234 máy lẻ 12", "(0277) 3851 234", "0277 3851 234 - 102",
                "0912 345 678; 0277 3851 234", "067 3851 234", "0163 456 7890", "+84 277 3851 234"]
    numbers._PREFIXES.clear()
    remembered = [outcome(text) for text in written]
    monkeypatch.setattr(numbers, "_PREFIXES", Unremembered())
    assert [outcome(text) for text in written] == remembered


def test_a_file_of_numbers_asks_phonenumbers_once_per_prefix_not_once_per_number(monkeypatch):
    asked = []
    real_lookup = numbers._lookup

    def counting(digits):
        asked.append(digits)
        return real_lookup(digits)

    monkeypatch.setattr(numbers, "_PREFIXES", PrefixMemo(counting, numbers.display_number))
    parsed = [parse_hotline(f"0277 38{i // 1000 % 100:02d} {i % 1000:03d}") for i in range(5000)]
    assert len({p.number for p in parsed}) == 5000 and {p.kind for p in parsed} == {"landline"}
    assert len(asked) <= 10  # 5000 numbers under five prefixes (0277380…0277384)
