"""The sample frame: a one-stop system's export of completed dossiers (XLSX or CSV) read and checked into rows.

The file is read by the appendix's bounded, streaming reader (registry.appendix.read: the zip checked before
any XML is parsed, formulas as stored values, rows and columns counted against the limits below) and each row
is checked as it is read, so a million rows never sit in memory as cells: only the checked rows, as the
tuples the write takes. Nothing is written here and no lock is taken (monitor/surveys/dossiers.py writes).

A row needs its dossier code (Mã hồ sơ, unique in the file) and its returned day (Ngày trả kết quả, not after
today); its handling unit (Đơn vị xử lý) must be a registry unit, found by code or by name
(registry.unit_names.name_key: case, accents and the usual abbreviations aside; among several units of one
name, the one current today). Days are read in Vietnamese order (dd/mm/yyyy), as yyyy-mm-dd or as Excel day
numbers. A phone that is no Vietnamese landline or mobile is not a bad row: the dossier is kept without it and
counted as a data-quality finding for its unit. A dossier returned after its due day is late. Every bad row is
named (row, column, reason); one bad row and nothing is written (FrameRejected).

Level: a unit whose kind is district, commune or ward, or whose group is B (Cấp huyện) or C (Cấp xã), is a
locality's one-stop office ('locality'); any other unit — the provincial Public Administration Service Centre,
departments, agencies — is 'province'.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass, field

from flask_babel import gettext

from monitor.surveys.frame_headings import FIELDS, HeaderFinder
from monitor.surveys.frame_values import national_phone, parse_day
from registry.appendix.check import ImportRejected, RowError
from registry.appendix.layout import TemplateError
from registry.appendix.limits import Limits
from registry.appendix.read import NoHeader, read_sheet
from registry.unit_names import name_key
from registry.units import is_current, list_units

# A month of a province's dossiers is tens of thousands of rows; the bounds leave room for a year of them in
# one file (an XLSX holds at most 1,048,576 rows) and stop, as the appendix's do, files built to exhaust memory.
LIMITS = Limits(file_bytes=512 * 1024 * 1024, rows=1_100_000, columns=200, unpacked_bytes=2048 * 1024 * 1024)
# Through the web page: a file this large takes a few seconds; a larger one goes through `flask surveys import`.
WEB_FILE_BYTES = 64 * 1024 * 1024
ERRORS_KEPT = 1000  # bad rows listed (a file of a million bad rows is refused with their count)
CODE_MAX, TEXT_MAX, CHANNEL_MAX = 64, 1000, 100
LOCALITY_KINDS = ("district", "commune", "ward")
LOCALITY_GROUPS = ("B", "C")


def level_of(unit: dict) -> str:
    """'locality' for a district, commune or ward unit (or one of groups B, C), 'province' otherwise."""
    if unit["kind"] in LOCALITY_KINDS or unit["group_code"] in LOCALITY_GROUPS:
        return "locality"
    return "province"


# A checked dossier as written: code, procedure, applicant, phone, phone_invalid, unit_id, level, channel,
# received_on, due_on, returned_on, late.
ROW_FIELDS = ("code", "procedure", "applicant", "phone", "phone_invalid", "unit_id", "level", "channel",
              "received_on", "due_on", "returned_on", "late")


@dataclass
class UnitCounts:
    """One unit's dossiers in a file: all, late, without a phone, with a phone that is no number (a finding)."""

    unit_id: int
    code: str
    name: str
    level: str
    rows: int = 0
    late: int = 0
    without_phone: int = 0
    invalid_phone: int = 0


@dataclass
class Frame:
    """A checked file: its rows (ROW_FIELDS tuples, in the file's order), the headings read, counts per unit."""

    rows: list[tuple] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)
    units: dict[int, UnitCounts] = field(default_factory=dict)

    @property
    def late(self) -> int:
        return sum(u.late for u in self.units.values())

    @property
    def without_phone(self) -> int:
        return sum(u.without_phone for u in self.units.values())

    @property
    def invalid_phone(self) -> int:
        return sum(u.invalid_phone for u in self.units.values())


class FrameRejected(ImportRejected):
    """At least one row is bad; nothing was written. .errors lists the first ERRORS_KEPT bad cells."""

    def __init__(self, errors: list[RowError], bad_rows: int | None = None):
        super().__init__(errors)
        self.bad_rows = bad_rows = len({e.row for e in errors}) if bad_rows is None else bad_rows
        if bad_rows > len({e.row for e in errors}):
            self.message = gettext("Tệp có %(rows)s dòng không hợp lệ; chưa có gì được ghi. Dưới đây là %(shown)s lỗi "
                                   "đầu tiên.", rows=bad_rows, shown=len(errors))


class _Units:
    """The registry's units, read once: by code (any case) and by name key; each text answered once."""

    def __init__(self, db, today: str):
        self.by_code: dict[str, dict] = {}
        self.by_key: dict[str, list[dict]] = {}
        self.by_id: dict[int, dict] = {}
        for unit in list_units(db):
            self.by_id[unit["id"]] = unit
            self.by_code[unit["code"].casefold()] = unit
            self.by_key.setdefault(name_key(unit["name"]), []).append(unit)
        self.today = today
        self.answers: dict[str, tuple[int, str] | str] = {}

    def find(self, text: str) -> tuple[int, str] | str:
        """(unit id, level), or the reason no single unit is meant."""
        answer = self.answers.get(text)
        if answer is None:
            answer = self.answers[text] = self._find(text)
        return answer

    def _find(self, text: str) -> tuple[int, str] | str:
        unit = self.by_code.get(text.casefold())
        if unit is None:
            found = self.by_key.get(name_key(text), [])
            if len(found) > 1:
                found = [u for u in found if is_current(u, self.today)] or found
            if not found:
                return gettext("Không có đơn vị “%(unit)s” trong danh bạ (so theo mã đơn vị hoặc tên, không phân biệt "
                               "hoa thường, dấu và chữ viết tắt).", unit=text[:200])
            if len(found) > 1:
                return gettext("“%(unit)s” trùng tên với nhiều đơn vị (%(codes)s): hãy ghi mã đơn vị.", unit=text[:200],
                               codes=", ".join(u["code"] for u in found[:5]))
            unit = found[0]
        return unit["id"], level_of(unit)


class _Checker:
    """Checks each row as the reader gives it (registry.appendix.read's row sink) and keeps the good ones."""

    def __init__(self, units: _Units, finder: HeaderFinder, today: str):
        self.units, self.finder, self.today = units, finder, today
        self.frame = Frame()
        self.errors: list[RowError] = []
        self.bad_rows = 0
        self.row_bad = False
        self.seen: dict[str, int] = {}   # code → the row it first came on
        self.texts: dict[str, str] = {}  # procedures and channels repeat: one string each

    def _bad(self, number: int, key: str, reason: str) -> None:
        self.row_bad = True
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append(RowError(number, self.finder.titles.get(key) or str(FIELDS[key]), reason))

    def __call__(self, number: int, row: dict[str, str]) -> None:
        get = row.get
        self.row_bad = False
        code = get("code", "")
        if not code:
            self._bad(number, "code", gettext("Thiếu mã hồ sơ."))
        elif len(code) > CODE_MAX:
            self._bad(number, "code", gettext("Mã hồ sơ dài quá %(max)s ký tự.", max=CODE_MAX))
        else:
            first = self.seen.setdefault(code, number)
            if first != number:
                self._bad(number, "code", gettext("Mã hồ sơ %(code)s đã có ở dòng %(row)s.", code=code, row=first))
        returned = self._day(number, "returned", get("returned", ""), required=True)
        received = self._day(number, "received", get("received", ""))
        due = self._day(number, "due", get("due", ""))
        if returned and returned > self.today:
            self._bad(number, "returned", gettext("Ngày trả kết quả %(day)s ở sau hôm nay.", day=returned))
        if returned and received and received > returned:
            self._bad(number, "received", gettext("Ngày tiếp nhận %(received)s ở sau ngày trả kết quả %(returned)s.",
                                                  received=received, returned=returned))
        unit_text = get("unit", "")
        found = self.units.find(unit_text) if unit_text else gettext("Thiếu đơn vị xử lý.")
        if isinstance(found, str):
            self._bad(number, "unit", found)
        procedure, applicant, channel = get("procedure", ""), get("applicant", ""), get("channel", "")
        if len(procedure) > TEXT_MAX or len(applicant) > TEXT_MAX or len(channel) > CHANNEL_MAX:
            for key, text, limit in (("procedure", procedure, TEXT_MAX), ("applicant", applicant, TEXT_MAX),
                                     ("channel", channel, CHANNEL_MAX)):
                if len(text) > limit:
                    self._bad(number, key, gettext("Dài quá %(max)s ký tự.", max=limit))
        if self.row_bad:
            self.bad_rows += 1
            return
        if self.bad_rows:
            return  # the file is refused: only its bad rows matter now
        unit_id, level = found
        phone_text = get("phone", "")
        phone = national_phone(phone_text) if phone_text else None
        invalid = 1 if phone is None and phone_text else 0
        late = 1 if due and returned > due else 0
        texts = self.texts
        self.frame.rows.append((code, texts.setdefault(procedure, procedure), applicant, phone, invalid, unit_id,
                                level, texts.setdefault(channel, channel), received, due, returned, late))
        counts = self.frame.units.get(unit_id)
        if counts is None:
            counts = self.frame.units[unit_id] = self._counts(unit_id, level)
        counts.rows += 1
        counts.late += late
        if phone is None:
            counts.without_phone += 1
            counts.invalid_phone += invalid

    def _day(self, number: int, key: str, text: str, required: bool = False) -> str | None:
        if not text:
            if required:
                self._bad(number, key, gettext("Thiếu ngày trả kết quả."))
            return None
        day = parse_day(text)
        if day is None:
            self._bad(number, key, gettext("“%(value)s” không phải là ngày (dd/mm/yyyy, yyyy-mm-dd hoặc ngày dạng số của "
                                           "Excel).", value=text[:50]))
        return day

    def _counts(self, unit_id: int, level: str) -> UnitCounts:
        unit = self.units.by_id[unit_id]
        return UnitCounts(unit_id, unit["code"], unit["name"], level)


def read_frame(db, data: bytes, filename: str, *, mapping: dict[str, str] | None, today: str,
               limits: Limits = LIMITS) -> Frame:
    """The checked rows of a dossier export. TemplateError (LimitExceeded) when the file cannot be read as one,
    FrameRejected when any row is bad. today: the local day (YYYY-MM-DD) no dossier may be returned after."""
    finder = HeaderFinder(mapping)
    checker = _Checker(_Units(db, today), finder, today)
    enabled = gc.isenabled()
    # Each row leaves a tuple behind, and every time they grow by a quarter the collector would walk them all:
    # no row makes a reference cycle, so collection waits until the file is read.
    gc.disable()
    try:
        read_sheet(data, filename, limits=limits, header=finder, sink=checker)
    except NoHeader:
        raise TemplateError(finder.missing(), field="file") from None
    finally:
        if enabled:
            gc.enable()
    if checker.bad_rows:
        raise FrameRejected(checker.errors, checker.bad_rows)
    if not checker.frame.rows:
        raise TemplateError(gettext("Tệp không có hồ sơ nào dưới dòng tiêu đề."), field="file")
    checker.frame.titles = dict(finder.titles)
    return checker.frame
