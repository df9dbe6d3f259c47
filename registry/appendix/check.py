"""Checking every row of an appendix file against the registry before anything is written.

The result is either the rows to apply, in an order where each number is released before another unit
takes it, or the list of every bad row (RowError) — never part of both.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext

from registry.appendix.layout import ORDER
from registry.appendix.read import Sheet
from registry.errors import RegistryError
from registry.groups import list_groups
from registry.numbers import NumberError, parse_hotline
from registry.text import fold
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


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def hours_from_note(note: str) -> str | None:
    """'office' or '24/7' when GHI CHÚ says so, else None (hours unchanged)."""
    t = fold(note)
    if "gio hanh chinh" in t:
        return "office"
    if "24/24" in t or "24/7" in t:
        return "24/7"
    return None


@dataclass
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

    @property
    def key(self):
        return self.unit["id"] if self.unit else ("new", self.row)


class _Checker:
    """Checks every row of a sheet against the registry, collecting every error."""

    def __init__(self, db, sheet: Sheet):
        self.sheet = sheet
        self.groups = list_groups(db)
        self.group_by_code = {g["code"].upper(): g["code"] for g in self.groups}
        self.group_by_name = {fold(g["name"]): g["code"] for g in self.groups}
        self.units = list_units(db)
        self.by_code = {u["code"]: u for u in self.units}
        self.by_code_upper: dict[str, list[dict]] = {}
        for u in self.units:
            self.by_code_upper.setdefault(u["code"].upper(), []).append(u)
        holders = db.execute("SELECT unit_id, number, shared FROM hotlines").fetchall()
        self.current = {uid: number for uid, number, _s in holders}
        self.names = {u["id"]: u["name"] for u in self.units}
        self.errors: list[RowError] = []
        self.rows: list[_Row] = []

    def error(self, row: int, key: str, reason: str) -> None:
        self.errors.append(RowError(row, self.sheet.titles[key], reason))

    def run(self) -> tuple[list[_Row], list[RowError]]:
        group, bad_section, seen = None, None, {}
        for number, cells in self.sheet.rows:
            stt, name, raw, note, code = (cells.get(k, "") for k in ORDER)
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
        self.number_conflicts()
        if not self.errors:
            self.rows = self.ordered()
        return self.rows, sorted(self.errors, key=lambda e: (e.row, list(ORDER).index(self._key(e.column))))

    def _key(self, title: str) -> str:
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
        if not name:
            self.error(number, "name", gettext("Tên cơ quan, đơn vị, địa phương không được để trống."))
        unit = None
        if code:
            same = self.by_code_upper.get(code.upper(), [])
            unit = self.by_code.get(code) or (same[0] if len(same) == 1 else None)
            if unit is None and not CODE_RE.match(code):
                self.error(number, "code", gettext("Mã đơn vị “%(code)s” không hợp lệ: dùng chữ không dấu, số, dấu chấm, "
                                                   "gạch ngang (tối đa 40 ký tự).", code=code))
            elif unit is None and group is None:
                self.error(number, "code", _no_group(bad_section, gettext("Mã “%(code)s” chưa có; để tạo đơn vị mới", code=code)))
        elif name:
            unit = self.by_name(number, name, group, bad_section)
        if unit is not None:
            if unit["id"] in seen:
                self.error(number, "code" if code else "name",
                           gettext("Đơn vị “%(name)s” đã có ở dòng %(row)s; mỗi đơn vị chỉ một dòng.",
                                   name=unit["name"], row=seen[unit["id"]]))
            seen.setdefault(unit["id"], number)
        parsed = None
        if raw:
            try:
                parsed = parse_hotline(raw)
            except NumberError as exc:
                self.error(number, "number", exc.message)
        if len(self.errors) == before:
            self.rows.append(_Row(number, unit, bool(code), unit["code"] if unit else code, " ".join(name.split()),
                                  group, raw, parsed, hours_from_note(note) if parsed else None))

    def by_name(self, number: int, name: str, group: str | None, bad_section: int | None) -> dict | None:
        if group is None:
            self.error(number, "name", _no_group(bad_section, gettext("Để tìm đơn vị theo tên")))
            return None
        found = [u for u in self.units if u["group_code"] == group and _same_name(u["name"], name)]
        current = [u for u in found if u["valid_to"] is None]
        if len(found) > 1 and len(current) == 1:
            found = current
        if len(found) == 1:
            return found[0]
        if found:
            self.error(number, "name", gettext("Có %(count)s đơn vị cùng tên “%(name)s” trong nhóm %(group)s: hãy ghi mã "
                                               "đơn vị ở cột MÃ ĐƠN VỊ để phân biệt.", count=len(found), name=name, group=group))
        else:
            hint = (gettext("Ghi mã ở cột MÃ ĐƠN VỊ để tạo đơn vị mới.") if "code" in self.sheet.present
                    else gettext("Thêm cột MÃ ĐƠN VỊ với mã của đơn vị để tạo đơn vị mới."))
            self.error(number, "name", gettext("Không có đơn vị tên “%(name)s” trong nhóm %(group)s. %(hint)s", name=name, group=group, hint=hint))
        return None

    def moving(self) -> list[_Row]:
        """Rows that give their unit a number it does not have now."""
        return [r for r in self.rows if r.parsed and self.current.get(r.key) != r.parsed.number]

    def number_conflicts(self) -> None:
        """A number may end on two units only if both already hold it as shared (then neither row moves)."""
        final = dict(self.current)
        by_key = {}
        for r in self.rows:
            by_key[r.key] = r
            if r.parsed:
                final[r.key] = r.parsed.number
        for r in self.moving():
            others = [k for k, n in final.items() if n == r.parsed.number and k != r.key]
            if not others:
                continue
            other = by_key.get(others[0])
            if other is not None and other.parsed and other.row != r.row:
                reason = gettext("Số %(number)s trùng với số ở dòng %(row)s (%(name)s).", number=r.parsed.display,
                                 row=other.row, name=other.name)
            else:
                reason = gettext("Số %(number)s đã được đăng ký cho “%(unit)s”. Mỗi số chỉ thuộc một đơn vị, trừ khi Văn phòng "
                                 "UBND xác nhận đây là số dùng chung.", number=r.parsed.display,
                                 unit=self.names.get(others[0], "?"))
            self.error(r.row, "number", reason)

    def ordered(self) -> list[_Row]:
        """The rows in an order where each number is released before another unit takes it."""
        holders: dict[str, set] = {}
        for key, number in self.current.items():
            holders.setdefault(number, set()).add(key)
        pending, done = self.moving(), []
        while pending:
            ready = [r for r in pending if not holders.get(r.parsed.number, set()) - {r.key}]
            if not ready:
                for r in pending:
                    self.error(r.row, "number", gettext("Số %(number)s đang là số của một đơn vị khác trong tệp, và các đơn vị "
                                                        "đổi số cho nhau: hãy nhập làm hai lần, đổi một bên trước.",
                                                        number=r.parsed.display))
                return []
            for r in ready:
                holders.get(self.current.get(r.key), set()).discard(r.key)
                holders.setdefault(r.parsed.number, set()).add(r.key)
                pending.remove(r)
                done.append(r)
        moving = {id(r) for r in done}
        return [r for r in self.rows if id(r) not in moving] + done


def _no_group(bad_section: int | None, what: str) -> str:
    if bad_section:
        return gettext("%(what)s cần một nhóm, nhưng dòng mục ở dòng %(row)s không phải là nhóm đã biết.",
                       what=what, row=bad_section)
    return gettext("%(what)s cần biết nhóm: đặt dòng này dưới một dòng mục (A, B, C…).", what=what)


def check_sheet(db, sheet: Sheet) -> list[RowError]:
    """Every error an import of this sheet would report (empty: it can be imported)."""
    return _Checker(db, sheet).run()[1]
