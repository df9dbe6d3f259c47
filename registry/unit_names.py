"""Units' names as offices write them: the key two spellings of one name share, and a code made from a name.

"UBND xã Tân Hoà", "Ủy ban nhân dân X. Tân Hòa" and "uỷ ban nhân dân xã tân hòa" are one name: the key folds
case and accents (so "Uỷ"/"Ủy", "Hoà"/"Hòa" agree), drops punctuation, expands the usual abbreviations
(UBND, TP, TX, P., X., BQL, Sở GD&ĐT…) and reads "Phường 01" as "Phường 1". Both sides of a comparison go
through the same key, so an abbreviation in the registry matches the full words in a file and the reverse.

A generated code is the key shortened back to the usual abbreviations, in capitals, words joined by "-"
("UBND-XA-TAN-HOA"), at most 40 characters, with "-2", "-3"… when taken. It depends only on the name and
the codes already taken, so one file imported into two fresh installs gives the same codes.
"""
from __future__ import annotations

import re
import unicodedata

from registry.text import fold

CODE_MAX = 40  # units.code's limit (schema and units.CODE_RE)

# registry.text.fold as one str.translate after NFC (C speed: an import folds every name of the registry and
# of the file): each precomposed Vietnamese letter to its lower-case base letter, stray combining marks dropped.
_FOLD = {c: fold(chr(c)) for c in range(0xC0, 0x1F00) if fold(chr(c)) != chr(c).lower() and len(fold(chr(c))) == 1}
_FOLD.update({c: None for c in range(0x300, 0x370)})


def _fold(text: str | None) -> str:
    return unicodedata.normalize("NFC", text).lower().translate(_FOLD) if text else ""


# Abbreviations of several words, on the folded text with "&" already read as "va".
_PHRASES = [
    (r"\bgd\s*va\s*dt\b", "giao duc va dao tao"),
    (r"\bnn\s*va\s*ptnt\b", "nong nghiep va phat trien nong thon"),
    (r"\btn\s*va\s*mt\b", "tai nguyen va moi truong"),
    (r"\bkh\s*va\s*dt\b", "ke hoach va dau tu"),
    (r"\bkh\s*va\s*cn\b", "khoa hoc va cong nghe"),
    (r"\btt\s*va\s*tt\b", "thong tin va truyen thong"),
    (r"\bvh\s*tt\s*va\s*dl\b", "van hoa the thao va du lich"),
    (r"\bldtb\s*va\s*xh\b", "lao dong thuong binh va xa hoi"),
    (r"\bu\s*b\s*n\s*d\b", "ubnd"),  # "U.B.N.D"
]
_PHRASES = [(re.compile(pattern), words) for pattern, words in _PHRASES]
_PUNCTUATION = re.compile(r"[^a-z0-9]+")
_LETTER_NUMBER = re.compile(r"\b([pqx])(\d+)\b")  # "P1" is "Phường 1"
# One-word abbreviations.
_WORDS = {
    "ubnd": "uy ban nhan dan",
    "hdnd": "hoi dong nhan dan",
    "tp": "thanh pho",
    "tx": "thi xa",
    "p": "phuong",
    "x": "xa",
    "h": "huyen",
    "q": "quan",
    "bql": "ban quan ly",
    "vp": "van phong",
    "ttyt": "trung tam y te",
    "bv": "benh vien",
    "bhxh": "bao hiem xa hoi",
    "mttq": "mat tran to quoc",
    "kcn": "khu cong nghiep",
    "cty": "cong ty",
    "gtvt": "giao thong van tai",
    "sgddt": "so giao duc va dao tao",
}
# The words a generated code shortens back (longest first), and the words it leaves out.
_SHORT = [
    ("uy ban nhan dan", "ubnd"), ("hoi dong nhan dan", "hdnd"), ("ban quan ly", "bql"), ("thanh pho", "tp"),
    ("thi xa", "tx"), ("thi tran", "tt"), ("trung tam", "tt"), ("van phong", "vp"),
]
_SKIP_IN_CODE = {"va", "cua"}
# The same tables made once in the shape the per-name loops use (an import runs them for every row).
_WORD_PARTS = {short: words.split() for short, words in _WORDS.items()}
_SHORT_SPACED = [(f" {words} ", f" {short} ") for words, short in _SHORT]


def name_key(name: str | None) -> str:
    """The matching key of a unit's name: folded, abbreviations expanded, punctuation and leading zeros gone."""
    text = _fold(name).replace("&", " va ")
    text = " ".join(_PUNCTUATION.sub(" ", text).split())
    if " va " in text or "u b" in text:  # the phrases all have one or the other
        for pattern, words in _PHRASES:
            text = pattern.sub(words, text)
    if _LETTER_NUMBER.search(text):
        text = _LETTER_NUMBER.sub(r"\1 \2", text)
    out: list[str] = []
    for word in text.split():
        if word == "tt":
            # "UBND TT Mỹ Thọ" is a town (thị trấn); elsewhere TT is a centre (trung tâm).
            out.extend(("thi", "tran") if out[-4:] == ["uy", "ban", "nhan", "dan"] else ("trung", "tam"))
        elif word.isdigit():
            out.append(str(int(word)))
        elif word in _WORD_PARTS:
            out.extend(_WORD_PARTS[word])
        else:
            out.append(word)
    return " ".join(out)


def code_base(name: str, key: str | None = None) -> str:
    """The code a name gives before any "-2" suffix: "UBND xã Tân Hòa" → "UBND-XA-TAN-HOA" (≤ 37 characters).

    key: name_key(name) when the caller has it already (an import computes it once per row).
    """
    text = f" {name_key(name) if key is None else key} "
    for words, short in _SHORT_SPACED:
        text = text.replace(words, short)
    words = [w for w in text.split() if w not in _SKIP_IN_CODE] or ["DV"]
    code = "-".join(words)
    if len(code) <= CODE_MAX - 3:
        return code.upper()
    code = ""
    for word in words:  # whole words only, leaving room for a "-99" suffix
        candidate = f"{code}-{word}" if code else word
        if len(candidate) > CODE_MAX - 3:
            break
        code = candidate
    return (code or words[0][: CODE_MAX - 3]).upper()


def new_code(name: str, taken: set[str], key: str | None = None) -> str:
    """A code for a new unit named `name` that is not in `taken` (upper-case codes); adds it to `taken`."""
    base = code_base(name, key)
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}-{n}"
    taken.add(code)
    return code


def guess_kind(name: str, key: str | None = None) -> str:
    """A new unit's kind from its name: 'UBND xã …' or 'X. …' → commune, 'Sở …' → department …"""
    t = (name_key(name) if key is None else key).removeprefix("uy ban nhan dan ")
    for prefix, kind in (("xa ", "commune"), ("thi tran ", "commune"), ("phuong ", "ward"), ("huyen ", "district"),
                         ("thanh pho ", "district"), ("thi xa ", "district"), ("quan ", "district"),
                         ("so ", "department")):
        if t.startswith(prefix):
            return kind
    return "agency"
