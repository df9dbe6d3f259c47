"""Checking every row of an appendix file against the registry before anything is written.

Linear in the number of rows: the registry is read once (its units with their hotline), each row is looked up
in dictionaries made from that read (never a query per row), and the order of number changes is a
topological sort. The result is either a Plan — the rows to apply, in an order where each number is released
before another unit takes it — or the list of every bad row (RowError), never part of both.

A row is matched by its MÃ ĐƠN VỊ when filled, else by its name within its section's group (registry.unit_names:
case, accents, punctuation and the usual abbreviations aside). A name matching no unit creates one, with a
code made from its name; a name matching two units is an error naming them.
"""
from __future__ import annotations

import functools
import gc
import re
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask_babel import gettext

from registry.appendix.layout import ORDER
from registry.appendix.read import Sheet
from registry.errors import RegistryError
from registry.groups import list_groups
from registry.hotlines import written_number
from registry.numbers import Hotline, NumberError, parse_hotline
from registry.text import fold
from registry.unit_names import guess_kind, name_key, new_code
from registry.units import CODE_RE, list_units


@dataclass(frozen=True)
class RowError:
    """One bad cell or row: the row number a spreadsheet shows, the column's title, the reason."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        if self.column:
            return gettext("Dòng %(row)s, cột %(column)s: %(reason)s", row=self.row, column=self.column, reason=self.reason)
        return gettext("Dòng %(row)s: %(reason)s", row=self.row, reason=self.reason)


class ImportRejected(RegistryError):
    """At least one row is bad; nothing was written. .errors lists every bad row."""

    def __init__(self, errors: list[RowError]):
        rows = len({e.row for e in errors})
        super().__init__(gettext("Tệp có %(rows)s dòng không hợp lệ; chưa có gì được ghi.", rows=rows), code="rows_rejected")
        self.errors = errors

    @property
    def details(self) -> list[str]:
        """One line per bad cell or row, as the command line prints them before the message."""
        return [str(error) for error in self.errors]


@functools.lru_cache(maxsize=1024)  # a file repeats a handful of notes ("24/24 giờ") on every row
def hours_from_note(note: str) -> str | None:
    """'office' or '24/7' when GHI CHÚ says so, else None (hours unchanged)."""
    t = fold(note)
    if "gio hanh chinh" in t:
        return "office"
    if "24/24" in t or "24/7" in t:
        return "24/7"
    return None


@contextmanager
def settled_heap() -> Iterator[None]:
    """While a file's rows are checked or written, the objects alive before (the file's cells, the app) are left
    out of the collector's full passes.

    Each row leaves a few objects behind, and every time they grow by a quarter the collector walks every
    object in the process: four or five passes over 50,000 rows' cells, half a second of a 50,000-row import.
    Collection itself stays on (a file of bad numbers makes garbage with cycles). Nobody else freezes the heap
    (gc.freeze), so unfreezing at the end gives back exactly what was there.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _key(name: str, key: str | None = None) -> str:
    """The key a name is matched by (key: its name_key when known already)."""
    # A name of punctuation only has an empty key: it is then compared as written.
    return (name_key(name) if key is None else key) or " ".join(name.casefold().split())


def registry_version(db) -> tuple:
    """What a plan was made against: if this differs when the plan is written, someone changed the registry."""
    return tuple(db.execute(
        "SELECT (SELECT max(id) FROM changes), (SELECT max(id) FROM units), (SELECT count(*) FROM units), "
        "(SELECT count(*) FROM hotlines), (SELECT group_concat(code) FROM groups)").fetchone())


@dataclass(slots=True)
class _Row:
    """One valid unit row: the unit it is (None: to be created) and what the file says about it."""

    row: int
    unit: dict | None
    by_code: bool
    code: str
    name: str
    group: str | None
    raw: str
    parsed: object | None
    hours: str | None
    generated: bool = False  # the code was made from the name
    kind: str = ""           # a new unit's kind, guessed from its name
    name_key: str = ""       # unit_names.name_key(name), made once per row
    key: object = field(init=False)  # the unit's id, ("new", row) for a unit the file creates

    def __post_init__(self):
        # Set once: the sort and the conflict check ask for it several times per row.
        self.key = self.unit["id"] if self.unit else ("new", self.row)


@dataclass
class Plan:
    """A checked file: its rows in the order they can be applied, and the registry they were checked against."""

    rows: list[_Row]
    current: dict            # unit id → its number now
    units: dict              # unit id → the unit's row (with its hotline) as read
    version: tuple
    moving: set = field(default_factory=set)  # row numbers whose unit gets a number it does not have now
    extensions: set = field(default_factory=set)  # row numbers whose unit keeps its number with another extension


class _Checker:
    """Checks every row of a sheet against the registry, collecting every error."""

    def __init__(self, db, sheet: Sheet, default_group: str | None = None):
        self.sheet = sheet
        self.version = registry_version(db)  # before the reads: a change after it is seen when writing
        self.groups = list_groups(db)
        self.group_by_code = {g["code"].upper(): g["code"] for g in self.groups}
        self.group_by_name = {fold(g["name"]): g["code"] for g in self.groups}
        self.default_group = None
        if default_group:
            self.default_group = self.group_by_code.get(default_group.upper())
            if self.default_group is None:
                raise RegistryError(gettext("Không có nhóm “%(group_code)s”.", group_code=default_group), field="group")
        self.units = list_units(db)
        self.by_id = {u["id"]: u for u in self.units}
        self.by_code = {u["code"]: u for u in self.units}
        self.by_code_upper: dict[str, list[dict]] = {}
        self.by_name: dict[tuple, list[dict]] = {}
        for u in self.units:
            self.by_code_upper.setdefault(u["code"].upper(), []).append(u)
            self.by_name.setdefault((u["group_code"], _key(u["name"])), []).append(u)
        self.current = {u["id"]: u["number"] for u in self.units if u["number"]}
        self.errors: list[RowError] = []
        self.rows: list[_Row] = []
        self.new_codes: dict[str, int] = {}    # upper-case code of a unit the file creates → its row
        self.new_names: dict[tuple, int] = {}  # (group, name key) of a unit the file creates → its row
        self.moving_rows: list[_Row] = []

    def error(self, row: int, key: str, reason: str) -> None:
        self.errors.append(RowError(row, self.sheet.titles[key], reason))

    def run(self) -> tuple[list[_Row], list[RowError]]:
        with settled_heap():
            return self._run()

    def _run(self) -> tuple[list[_Row], list[RowError]]:
        group, bad_section, seen = self.default_group, None, {}
        for number, cells in self.sheet.rows:
            get = cells.get
            stt, name, raw, note, code = get("stt", ""), get("name", ""), get("number", ""), get("note", ""), get("code", "")
            if not (name or raw or code):
                if stt and not re.fullmatch(r"[\d.…\s]*", stt):
                    group, bad_section = self.section(number, stt, name)
                continue  # blank, or a placeholder row of the blank template ("1 | | |", "...")
            if not raw and not code and (
                (stt and not re.fullmatch(r"\d+\.?|[.…\s]+", stt)) or (not stt and fold(name) in self.group_by_name)
            ):
                group, bad_section = self.section(number, stt, name)
                continue
            self.unit_row(number, name, raw, note, code, group, bad_section, seen)
        moving = self.moving_rows = self.moving()
        self.number_conflicts(moving)
        if not self.errors:
            self.name_new_units()
            self.rows = self.ordered(moving)
        return self.rows, sorted(self.errors, key=lambda e: (e.row, list(ORDER).index(self._column_key(e.column))))

    def plan(self) -> Plan:
        """The checked plan; ImportRejected listing every bad row when there is one."""
        rows, errors = self.run()
        if errors:
            raise ImportRejected(errors)
        moving = {r.row for r in self.moving_rows}
        extensions = {r.row for r in rows if r.unit and r.parsed and r.row not in moving and r.unit["number"]
                      and r.parsed.extension != (r.unit["extension"] or "")}
        return Plan(rows, self.current, self.by_id, self.version, moving, extensions)

    def _column_key(self, title: str) -> str:
        return next((k for k, t in self.sheet.titles.items() if t == title), "stt")

    def section(self, number: int, stt: str, name: str) -> tuple[str | None, int | None]:
        found = self.group_by_code.get(stt.upper()) if stt else None
        if found is None and name:
            found = self.group_by_name.get(fold(name))
        if found is None:
            known = ", ".join(g["code"] for g in self.groups)
            self.error(number, "stt", gettext("Không có nhóm “%(group)s” (các nhóm hiện có: %(known)s). "
                                              "Thanh tra viên thêm nhóm ở trang Nhóm đơn vị.", group=stt or name, known=known))
            return None, number
        return found, None

    def unit_row(self, number, name, raw, note, code, group, bad_section, seen) -> None:
        before = len(self.errors)
        name = " ".join(name.split())
        if not name:
            self.error(number, "name", gettext("Tên cơ quan, đơn vị, địa phương không được để trống."))
        unit, key = None, name_key(name)
        if code:
            same = self.by_code_upper.get(code.upper(), [])
            unit = self.by_code.get(code) or (same[0] if len(same) == 1 else None)
            if unit is None and not CODE_RE.match(code):
                self.error(number, "code", gettext("Mã đơn vị “%(code)s” không hợp lệ: dùng chữ không dấu, số, dấu chấm, "
                                                   "gạch ngang (tối đa 40 ký tự).", code=code))
            elif unit is None and group is None:
                self.error(number, "code", _no_group(bad_section, gettext("Mã “%(code)s” chưa có; để tạo đơn vị mới", code=code)))
            elif unit is None and code.upper() in self.new_codes:
                self.error(number, "code", gettext("Mã “%(code)s” đã có ở dòng %(row)s; mỗi đơn vị chỉ một dòng.",
                                                   code=code, row=self.new_codes[code.upper()]))
            elif unit is None:
                self.new_codes[code.upper()] = number
        elif name:
            unit = self.find_by_name(number, name, group, bad_section, key)
        if unit is not None:
            if unit["id"] in seen:
                self.error(number, "code" if code else "name",
                           gettext("Đơn vị “%(name)s” đã có ở dòng %(row)s; mỗi đơn vị chỉ một dòng.",
                                   name=unit["name"], row=seen[unit["id"]]))
            seen.setdefault(unit["id"], number)
        parsed = None
        if raw and unit and unit["number"] and raw == written_number(unit):
            # Written exactly as the registry prints it (a re-imported export): that reads as the number held.
            parsed = Hotline(unit["number"], unit["number_kind"], unit["display"], raw, unit["extension"] or "")
        elif raw:
            try:
                parsed = parse_hotline(raw)
            except NumberError as exc:
                self.error(number, "number", exc.message)
        if len(self.errors) == before:
            self.rows.append(_Row(number, unit, bool(code), unit["code"] if unit else code, name,
                                  group, raw, parsed, hours_from_note(note) if parsed else None, name_key=key))

    def find_by_name(self, number: int, name: str, group: str | None, bad_section: int | None,
                     name_key: str | None = None) -> dict | None:
        """The known unit of this name in the group; None (and no error) for a unit the file creates."""
        if group is None:
            self.error(number, "name", _no_group(bad_section, gettext("Để tìm đơn vị theo tên")))
            return None
        key = (group, _key(name, name_key))
        found = self.by_name.get(key, [])
        current = [u for u in found if u["valid_to"] is None]
        if len(found) > 1 and len(current) == 1:
            found = current
        if len(found) == 1:
            return found[0]
        if found:
            self.error(number, "name", gettext("Tên “%(name)s” khớp với %(count)s đơn vị trong nhóm %(group)s (%(codes)s): "
                                               "hãy ghi mã đơn vị ở cột MÃ ĐƠN VỊ để phân biệt.", name=name,
                                               count=len(found), group=group, codes=", ".join(u["code"] for u in found)))
        elif key in self.new_names:
            self.error(number, "name", gettext("Tên “%(name)s” trùng với tên ở dòng %(row)s trong cùng nhóm %(group)s: "
                                               "hãy ghi rõ hơn (ví dụ thêm tên huyện) hoặc ghi mã ở cột MÃ ĐƠN VỊ.",
                                               name=name, row=self.new_names[key], group=group))
        else:
            self.new_names[key] = number
        return None

    def name_new_units(self) -> None:
        """Codes for the units the file creates without one, in the file's order, after every code the file gives."""
        taken = {code.upper() for code in self.by_code} | set(self.new_codes)
        for r in self.rows:
            if r.unit is None:
                r.kind = guess_kind(r.name, r.name_key)
                if not r.code:
                    r.code, r.generated = new_code(r.name, taken, r.name_key), True

    def moving(self) -> list[_Row]:
        """Rows that give their unit a number it does not have now."""
        return [r for r in self.rows if r.parsed and self.current.get(r.key) != r.parsed.number]

    def number_conflicts(self, moving: list[_Row]) -> None:
        """A number may end on two units only if both already hold it as shared (then neither row moves)."""
        final = dict(self.current)
        by_key = {}
        for r in self.rows:
            by_key[r.key] = r
            if r.parsed:
                final[r.key] = r.parsed.number
        holders: dict[str, list] = {}
        for key, number in final.items():
            holders.setdefault(number, []).append(key)
        for r in moving:
            others = [k for k in holders[r.parsed.number] if k != r.key]
            if not others:
                continue
            other = by_key.get(others[0])
            if other is not None and other.parsed and other.row != r.row:
                reason = gettext("Số %(number)s trùng với số ở dòng %(row)s (%(name)s).", number=r.parsed.display,
                                 row=other.row, name=other.name)
            else:
                reason = gettext("Số %(number)s đã được đăng ký cho “%(unit)s”. Mỗi số chỉ thuộc một đơn vị, trừ khi Văn phòng "
                                 "UBND xác nhận đây là số dùng chung.", number=r.parsed.display,
                                 unit=self.by_id[others[0]]["name"] if others[0] in self.by_id else "?")
            self.error(r.row, "number", reason)

    def ordered(self, moving: list[_Row]) -> list[_Row]:
        """The rows in an order where each number is released before another unit takes it (Kahn's sort).

        After number_conflicts, whoever holds a number a row takes is itself a moving row: the row waits for
        it. Rows left waiting form cycles (units swapping numbers): refused, with advice.
        """
        holders: dict[str, set] = {}
        for key, number in self.current.items():
            holders.setdefault(number, set()).add(key)
        waiting: dict[str, list[_Row]] = {}
        ready = deque()
        for r in moving:
            others = holders.get(r.parsed.number)
            if others and (len(others) > 1 or r.key not in others):  # held by another unit now
                waiting.setdefault(r.parsed.number, []).append(r)
            else:
                ready.append(r)
        if not waiting:  # no row takes a number another unit holds now (a first import): any order will do
            moving_rows = {id(r) for r in moving}
            return [r for r in self.rows if id(r) not in moving_rows] + list(moving)
        done = []
        while ready:
            r = ready.popleft()
            released = self.current.get(r.key)
            if released is not None:
                holders[released].discard(r.key)
            holders.setdefault(r.parsed.number, set()).add(r.key)
            done.append(r)
            if released is not None and not holders[released]:
                ready.extend(waiting.pop(released, []))
        if len(done) < len(moving):
            placed = {id(r) for r in done}
            for r in moving:
                if id(r) not in placed:
                    self.error(r.row, "number", gettext("Số %(number)s đang là số của một đơn vị khác trong tệp, và các đơn vị "
                                                        "đổi số cho nhau: hãy nhập làm hai lần, đổi một bên trước.",
                                                        number=r.parsed.display))
            return []
        placed = {id(r) for r in done}
        return [r for r in self.rows if id(r) not in placed] + done


def _no_group(bad_section: int | None, what: str) -> str:
    if bad_section:
        return gettext("%(what)s cần một nhóm, nhưng dòng mục ở dòng %(row)s không phải là nhóm đã biết.",
                       what=what, row=bad_section)
    return gettext("%(what)s cần biết nhóm: đặt dòng này dưới một dòng mục (A, B, C…).", what=what)


def check_sheet(db, sheet: Sheet, default_group: str | None = None) -> list[RowError]:
    """Every error an import of this sheet would report (empty: it can be imported)."""
    return _Checker(db, sheet, default_group).run()[1]
