"""Read a hotline number as Vietnamese officials write it, refuse the wrong ones kindly, and print it back."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

import phonenumbers
from flask_babel import gettext
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from registry.errors import UserError
from registry.number_prefixes import PrefixMemo

# phonenumbers knows only 113-115 and turns "1022" into a meaningless +841022, so short numbers are ours:
# 1022 dịch vụ công, 111 bảo vệ trẻ em, 112 cứu nạn, 113 công an, 114 cứu hỏa, 115 cấp cứu.
SHORT_CODES = ("1022", "111", "112", "113", "114", "115")
# Emergency numbers: never a unit's hotline, never dialled by any provider (a test call would hold a line
# someone in danger may need).
EMERGENCY_CODES = ("112", "113", "114", "115")

# Area codes changed in 2017 (subscriber digits kept); a number still printed with the old code is refused
# with the new form. Only the province's own and neighbouring / most-seen codes are listed.
OLD_AREA_CODES = {
    "067": ("0277", "Đồng Tháp"),
    "073": ("0273", "Tiền Giang"),
    "04": ("024", "Hà Nội"),
    "08": ("028", "TP Hồ Chí Minh"),
    "0710": ("0292", "Cần Thơ"),
    "0711": ("0293", "Hậu Giang"),
    "076": ("0296", "An Giang"),
    "070": ("0270", "Vĩnh Long"),
    "072": ("0272", "Long An"),
    "074": ("0294", "Trà Vinh"),
    "075": ("0275", "Bến Tre"),
}

# 11-digit mobile prefixes converted to 10 digits in 2018 (rest of the number unchanged).
OLD_MOBILE_PREFIXES = {
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036",
    "0167": "037", "0168": "038", "0169": "039", "0186": "056", "0188": "058", "0199": "059",
}

_KIND_BY_TYPE = {
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.TOLL_FREE: "tollfree",
    PhoneNumberType.PREMIUM_RATE: "premium",
}

# Where one number ends and another may begin. Runs of letters count too: labels ("ĐT:", "anh Nam") and
# the words "hoặc"/"và" then never lend their digits ("P.2", "máy lẻ 12") to the number beside them.
_SEPARATORS = re.compile(r"[;,/|\n\r]|\s[-–—]\s|[^\W\d_]+")
# A bracketed note with letters ("(7h-17h)", "(P.2)") is dropped whole, as its digits would stick to the
# number; one holding a whole number ("(anh Nam: 0912 345 678)") stays, to be seen as a second number.
# "(0277)" and "+84 (0)" hold no letters and stay too.
_NOTE = re.compile(r"\([^()]*\)")
# An extension written after the number: "máy lẻ 102", "số lẻ 5", "nhánh 12", "ext. 12".
_EXTENSION = re.compile(r"(?:máy\s+lẻ|số\s+lẻ|nhánh|ext(?:ension)?\.?)\s*(?:số\s*)?[:.]?\s*(\d{1,6})(?!\d)",
                        re.IGNORECASE)
# "0277 3851 234 - 102": a dash and at most four digits after a whole number is its extension, not a typo to drop.
_DASH_EXTENSION = re.compile(r"\s*[-–—]\s*(\d{1,4})\s*$")
_PLAIN = re.compile(r"\+?[\d .]+")
_NOT_DIGIT = re.compile(r"[^0-9]")
_PLUS_FIRST = re.compile(r"[^0-9]*\+")
# The last three and four digits a short number can end with: most numbers are rejected on these alone.
_SHORT_ENDINGS = frozenset(code[-3:] for code in SHORT_CODES)


class NumberError(UserError, ValueError):
    """A written number we refuse; .message is Vietnamese text for the user, .code a short machine code.

    Codes: empty, invalid, too_short, too_long, multiple, old_area_code, old_mobile, foreign, emergency.
    Still a ValueError: it is what parsing a bad value raises, and callers may treat it as one.
    """

    def __init__(self, code: str, message: str, **kwargs):
        # The code comes first: every refusal in this module names its rule before its wording.
        kwargs.setdefault("field", "number")
        super().__init__(message, code=code, **kwargs)


@dataclass(frozen=True)
class Hotline:
    """One parsed hotline: stored number, its kind, the Vietnamese written form, the input as given, and the
    extension written after it ("máy lẻ 102": keyed in once the call connects), '' when there is none."""

    number: str
    kind: str
    display: str
    raw: str
    extension: str = ""


def normalize_digits(text: str) -> str:
    """Only the ASCII digits of text, with '+' in front if a '+' comes before the first digit."""
    digits = _NOT_DIGIT.sub("", text)
    if digits and _PLUS_FIRST.match(text):
        return "+" + digits
    return digits


def _valid(national: str) -> phonenumbers.PhoneNumber | None:
    """The phonenumbers object for digits dialled in Vietnam, if phonenumbers calls it valid."""
    try:
        parsed = phonenumbers.parse(national, "VN")
    except NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def _kind(parsed: phonenumbers.PhoneNumber) -> str | None:
    """Our kind for a valid number, None for kinds that are no hotline (VoIP, pager, …)."""
    nsn = phonenumbers.national_significant_number(parsed)
    kind = _KIND_BY_TYPE.get(phonenumbers.number_type(parsed))
    if phonenumbers.number_type(parsed) == PhoneNumberType.FIXED_LINE_OR_MOBILE:
        kind = "landline" if nsn.startswith("2") else "mobile"
    # phonenumbers also accepts 9-digit 1800/1900 numbers; those are not issued, only 8 or 10 digits.
    if kind in ("tollfree", "premium") and len(nsn) not in (8, 10):
        return None
    return kind


# Pure functions of the digits (phonenumbers' metadata is constant): parse_hotline asks them the same question
# up to four times per number, and an appendix import asks for tens of thousands of numbers at once.
@functools.lru_cache(maxsize=65536)
def _lookup(national: str) -> tuple[str, str] | None:
    """(E.164, kind) for national digits that make a landline, mobile, 1800 or 1900 number."""
    parsed = _valid(national)
    kind = parsed and _kind(parsed)
    if not kind:
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164), kind


@functools.lru_cache(maxsize=1024)
def _is_area_code(code: str) -> bool:
    """True for a current area code (024, 028, 02xx): phonenumbers accepts a landline under it."""
    if not re.fullmatch(r"02\d{1,2}", code):
        return False
    # The area-code length check stops "0241" passing as Hà Nội 024 followed by a subscriber 1…
    parsed = _valid(code + "3".ljust(11 - len(code), "0"))
    return (
        parsed is not None
        and phonenumbers.number_type(parsed) == PhoneNumberType.FIXED_LINE
        and phonenumbers.length_of_geographical_area_code(parsed) == len(code) - 1
    )


def _split_short(digits: str) -> tuple[str, str] | None:
    """(area code or '', short code) when digits are a short number, alone or after an area code."""
    if digits[-3:] not in _SHORT_ENDINGS:
        return None
    for short in SHORT_CODES:
        area = digits[: -len(short)]
        if digits.endswith(short) and (area == "" or _is_area_code(area)):
            return area, short
    return None


@functools.lru_cache(maxsize=65536)
def display_number(number: str, kind: str | None = None) -> str:
    """The Vietnamese written form of a stored number ('+842773851234' -> '0277 3851 234')."""
    if kind is None:
        found = _lookup(number) if number.startswith("+") else None
        kind = found[1] if found else "short"
    if kind == "short":
        split = _split_short(number)
        if split is None:
            raise NumberError("invalid", gettext("«%(number)s» không phải là số ngắn (1022, 111–115).", number=number))
        return " ".join(part for part in split if part)
    parsed = _valid(number)
    if parsed is None:
        raise NumberError("invalid", gettext("«%(number)s» không phải là số điện thoại Việt Nam hợp lệ.", number=number))
    if kind in ("tollfree", "premium"):
        # phonenumbers prints "1800 123456"; the operators advertise "1800 123 456".
        nsn = phonenumbers.national_significant_number(parsed)
        rest = nsn[4:] if len(nsn) <= 8 else f"{nsn[4:7]} {nsn[7:]}"
        return f"{nsn[:4]} {rest}"
    # phonenumbers' national format is already what officials print: '0277 3851 234' (area, 4, 3),
    # '024 3825 1234' for Hà Nội / TP HCM, mobiles '0912 345 678' (4, 3, 3).
    return phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)


# (E.164, kind, written form) of national digits: phonenumbers asked once per prefix and length.
_PREFIXES = PrefixMemo(_lookup, display_number)


def national_kind(national: str) -> str | None:
    """The kind of a number written as national digits ('0912345678' → 'mobile', '02773851234' → 'landline'),
    None when the digits make no number: phonenumbers asked once per prefix, for files of a million phones."""
    found = _PREFIXES.verdict(national)
    return found[1] if found else None


def _multiple(numbers: list[str]) -> NumberError:
    """The refusal for a field holding several numbers, listing them."""
    listed = ", ".join(f"«{n}»" for n in numbers)
    return NumberError(
        "multiple",
        gettext("Mỗi cơ quan, đơn vị chỉ được đăng ký duy nhất một số điện thoại đường dây nóng; ô này có %(count)s số: "
                "%(numbers)s. Vui lòng chỉ giữ lại một số.", count=len(numbers), numbers=listed),
    )


def _national(digits: str, raw: str) -> str:
    """The digits as dialled inside Vietnam: '+84 (0) 277…', '84 277…', '0084 277…' -> '0277…'."""
    if digits.startswith("+84"):
        rest = digits[3:]
    elif digits.startswith("0084"):
        rest = digits[4:]
    elif digits.startswith(("+", "00")):
        raise NumberError(
            "foreign", gettext("Chỉ nhận số điện thoại Việt Nam (mã quốc gia +84); «%(raw)s» là số nước ngoài.", raw=raw)
        )
    elif digits.startswith("84") and len(digits) >= 11:  # no national number starts with 84 and is this long
        rest = digits[2:]
    else:
        return digits
    return rest if rest.startswith("0") else "0" + rest


def _refuse(national: str, raw: str) -> NumberError:
    """The most helpful error for digits that are no usable Vietnamese number."""
    prefix = national[:4]
    if len(national) == 11 and prefix in OLD_MOBILE_PREFIXES:
        new = OLD_MOBILE_PREFIXES[prefix] + national[4:]
        return NumberError(
            "old_mobile",
            gettext("Số di động 11 số đã được chuyển sang 10 số từ năm 2018: %(old)s nay là %(new)s (đầu số %(prefix)s "
                    "đổi thành %(new_prefix)s). Vui lòng nhập số mới.",
                    old=f"{prefix} {national[4:7]} {national[7:]}", new=f"{new[:4]} {new[4:7]} {new[7:]}",
                    prefix=prefix, new_prefix=OLD_MOBILE_PREFIXES[prefix]),
        )
    for old, (new_code, province) in OLD_AREA_CODES.items():
        found = national.startswith(old) and _lookup(new_code + national[len(old):])
        if found:
            return NumberError(
                "old_area_code",
                gettext("Mã vùng %(old)s (%(province)s) không còn dùng: từ năm 2017 %(province)s dùng mã vùng %(new)s. "
                        "Hãy viết %(number)s.", old=old, province=province, new=new_code, number=display_number(*found)),
            )
    # Two numbers typed one after the other without a separator.
    if 11 < len(national) <= 24:
        for cut in range(8, len(national) - 7):
            first, second = _lookup(national[:cut]), _lookup(national[cut:])
            if first and second:
                return _multiple([display_number(*first), display_number(*second)])
    if national.startswith("02"):
        expected, rule = (11,), gettext("số cố định có 11 chữ số, bắt đầu bằng 02 (ví dụ 0277 3851 234)")
    elif re.match(r"0[35789]", national):
        expected, rule = (10,), gettext("số di động có 10 chữ số (ví dụ 0912 345 678)")
    elif national.startswith(("1800", "1900")):
        expected, rule = (8, 10), gettext("số 1800/1900 có 8 hoặc 10 chữ số (ví dụ 1800 1234, 1900 123 456)")
    else:
        expected, rule = (10, 11), gettext("số cố định có 11 chữ số bắt đầu bằng 02, số di động có 10 chữ số")
    count = len(national)
    if count not in expected:
        code = "too_short" if count < min(expected) else "too_long" if count > max(expected) else "invalid"
        return NumberError(code, gettext("«%(raw)s»: đọc được %(count)s chữ số (%(national)s), trong khi %(rule)s.",
                                         raw=raw, count=count, national=national, rule=rule))
    return NumberError(
        "invalid",
        gettext("«%(raw)s» (đọc được %(national)s) không phải là số điện thoại Việt Nam hợp lệ. "
                "Vui lòng kiểm tra lại từng chữ số.", raw=raw, national=national),
    )


def _parse_one(text: str, raw: str, default_area: str) -> Hotline:
    """Parse text as exactly one number; messages quote raw, the whole field as the user wrote it."""
    digits = normalize_digits(text)
    if not digits:
        raise NumberError(
            "invalid",
            gettext("Không đọc được chữ số nào trong «%(raw)s». Vui lòng nhập một số điện thoại, ví dụ 0277 3851 234.",
                    raw=raw),
        )
    national = _national(digits, raw)
    split = _split_short(national)
    if split and split[1] in EMERGENCY_CODES:
        raise emergency_error(" ".join(part for part in split if part))
    if split:
        return Hotline(national, "short", " ".join(part for part in split if part), raw)
    # A landline written without its area code ("3.851.234") is local to the given province.
    if national[0] not in "01" and _PREFIXES.verdict(default_area + national):
        national = default_area + national
    found = _PREFIXES.verdict(national)
    if found is None:
        raise _refuse(national, raw)
    return Hotline(*found, raw)


def emergency_error(number: str) -> NumberError:
    """The refusal of an emergency number as a hotline, saying why."""
    return NumberError(
        "emergency",
        gettext("%(number)s là số khẩn cấp (112 cứu nạn, 113 công an, 114 cứu hỏa, 115 cấp cứu), không phải đường dây "
                "nóng của cơ quan, đơn vị. Hệ thống không bao giờ gọi kiểm tra số khẩn cấp, để không chiếm đường dây của "
                "người đang cần cứu giúp. Vui lòng nhập số đường dây nóng của đơn vị.", number=number),
    )


def is_emergency(number: str) -> bool:
    """True for a stored number that is an emergency number (112–115, alone or after an area code)."""
    split = _split_short(normalize_digits(number)) if number and not number.startswith("+") else None
    return bool(split and split[1] in EMERGENCY_CODES)


def number_kind(number: str) -> str | None:
    """The kind of a stored number (landline, mobile, tollfree, premium, short), None if it is none of them."""
    if not number:
        return None
    if not number.startswith("+"):
        return "short" if _split_short(normalize_digits(number)) else None
    found = _lookup(number)
    return found[1] if found else None


def area_code(number: str) -> str | None:
    """The area code of a stored landline without its 0 ('+842773851234' -> '277'); None for any other number."""
    if not number or not number.startswith("+84"):
        return None
    parsed = _valid(number)
    if parsed is None or _kind(parsed) != "landline":
        return None
    length = phonenumbers.length_of_geographical_area_code(parsed)
    return phonenumbers.national_significant_number(parsed)[:length] or None


def _drop_note(match: re.Match[str]) -> str:
    """A blank for a bracketed label, the bracket unchanged otherwise (used with _NOTE.sub)."""
    note = match.group()
    has_letters = re.search(r"[^\W\d_]", note)
    return " " if has_letters and len(re.sub(r"[^0-9]", "", note)) < 7 else note


def parse_hotline(text: str, *, default_area: str = "0277") -> Hotline:
    """Read one hotline number from a field as officials write it; NumberError says what is wrong."""
    raw = text.strip()
    if not raw:
        raise NumberError("empty", gettext("Chưa nhập số điện thoại đường dây nóng."))
    if _PLAIN.fullmatch(raw):
        # Digits, spaces and dots only (nearly every cell of a file): no extension, note or second number
        # can be in it, so the steps below would all come back to reading the field whole.
        return _parse_one(raw, raw, default_area)
    extension = _EXTENSION.search(raw)
    if extension:
        hotline = parse_hotline(raw[: extension.start()] + " " + raw[extension.end():], default_area=default_area)
        return replace(hotline, raw=raw, extension=extension.group(1))
    dash = _DASH_EXTENSION.search(raw)
    if dash:
        try:
            hotline = parse_hotline(raw[: dash.start()], default_area=default_area)
        except NumberError:
            hotline = None  # what precedes the dash is no whole number ("0277 3851 - 234"): read the field whole
        if hotline is not None:
            return replace(hotline, raw=raw, extension=dash.group(1))
    cleaned = _NOTE.sub(_drop_note, raw)
    candidates: list[tuple[str, Hotline | None, NumberError | None]] = []
    for chunk in _SEPARATORS.split(cleaned):
        try:
            candidates.append((chunk, _parse_one(chunk, raw, default_area), None))
        except NumberError as error:
            # A refused chunk still counts as a number when it is long enough to be meant as one.
            if len(re.sub(r"[^0-9]", "", chunk)) >= 7:
                candidates.append((chunk, None, error))
    if len(candidates) > 1:
        raise _multiple([h.display if h else c.strip() for c, h, _ in candidates])
    # The whole field first, so " - " or a label inside one number ("0273 - 3851234") cannot cut it;
    # only if that fails, the one chunk that looks like a number, without the label's digits.
    try:
        return _parse_one(cleaned, raw, default_area)
    except NumberError:
        if not candidates:
            raise
        _, hotline, error = candidates[0]
        if hotline is None:
            raise error from None
        return replace(hotline, raw=raw)
