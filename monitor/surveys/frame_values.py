"""The values of a dossier export as the one-stop systems write them: days and citizens' phone numbers.

Both are read once per distinct text where texts repeat (a month of dossiers has thirty-odd return days), and
with C-speed string methods where they do not (a million phone numbers), so a file of a million rows is read
in seconds.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from registry.numbers import national_kind

# Vietnamese order first (day/month/year), then ISO (what an XLSX date cell gives, and other exports).
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_YMD = re.compile(r"(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})")
_SERIAL = re.compile(r"(\d{5})(?:\.\d+)?")  # an Excel date as its day number (a cell not formatted as a date)
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp][Mm])?")
_EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system, past its 1900 leap-year slip
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a dossier day outside these is a typing mistake, not a date
_DAYS: dict[str, str | None] = {}
_DAYS_KEPT = 100_000  # a hostile file of distinct texts cannot grow the memory without bound


def parse_day(text: str) -> str | None:
    """A dossier day as YYYY-MM-DD from dd/mm/yyyy, yyyy-mm-dd (with or without a time after it) or an Excel
    day number; None when text is no such day."""
    day, _sep, clock = text.replace("T", " ", 1).partition(" ")
    if clock and not _TIME.fullmatch(clock.strip()):
        return None
    found = _DAYS.get(day, False)
    if found is False:
        if len(_DAYS) >= _DAYS_KEPT:
            _DAYS.clear()
        found = _DAYS[day] = _read_day(day)
    return found


def _read_day(text: str) -> str | None:
    match = _DMY.fullmatch(text)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
        elif match := _YMD.fullmatch(text):
            year, month, day = (int(g) for g in match.groups())
        elif match := _SERIAL.fullmatch(text):
            found = _EXCEL_EPOCH + timedelta(days=int(match.group(1)))
            day, month, year = found.day, found.month, found.year
        else:
            return None
        found = date(year, month, day)
    except (ValueError, OverflowError):
        return None
    return found.isoformat() if FIRST_YEAR <= found.year <= LAST_YEAR else None


_DROP = str.maketrans("", "", " .-()\u00a0")
# phonenumbers' verdict on ten or eleven national digits depends only on the first five and the length: every
# pattern of its Vietnamese metadata fixes at most four digits of a 9- or 10-digit national significant number
# and leaves the rest to \d{n} (tests/test_survey_frame.py compares this with phonenumbers on every prefix).
# So a million citizens' numbers ask it at most 18,000 times (registry.numbers' own memo keeps six digits).
_KINDS: dict[tuple[str, int], str | None] = {}
KIND_DIGITS = 5
_SEVERAL = re.compile(r"[;,/|]|\s[-–]\s")  # several numbers in one cell: the first that is one is kept


def national_phone(text: str) -> str | None:
    """A citizen's landline or mobile as national digits ('0912 345 678' → '0912345678'); None when text is
    none (a typo, a foreign or short number, a dossier code in the wrong column). Of several numbers in one
    cell ("0912 345 678; 0277 3851 234"), the first that is one."""
    found = _one_phone(text)
    if found is None and _SEVERAL.search(text):
        for part in _SEVERAL.split(text):
            found = _one_phone(part)
            if found:
                break
    return found


def _one_phone(text: str) -> str | None:
    digits = text.translate(_DROP)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not (digits.isascii() and digits.isdigit()):
        return None
    if len(digits) == 9 and digits[0] != "0":
        digits = "0" + digits  # a spreadsheet number cell drops the leading 0
    if len(digits) not in (10, 11) or digits[0] != "0" or digits[1] == "0":
        return None
    key = (digits[:KIND_DIGITS], len(digits))
    kind = _KINDS.get(key, False)
    if kind is False:
        kind = _KINDS[key] = national_kind(digits)
    return digits if kind in ("mobile", "landline") else None
