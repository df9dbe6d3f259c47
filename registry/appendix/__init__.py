"""The appendix of the chairman's 2021 letter, in and out: XLSX and CSV files of every unit's one hotline.

Written layout (both formats): a title block ("DANH SÁCH SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG DO CƠ QUAN, ĐƠN VỊ VÀ
ĐỊA PHƯƠNG QUẢN LÝ" and the date), one header row with the letter's columns STT | TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA
PHƯƠNG | SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG | GHI CHÚ, plus MÃ ĐƠN VỊ so that a file comes back to the same units;
then for each group a section row ("A | CƠ QUAN, ĐƠN VỊ") followed by its current units numbered 1, 2, 3…
GHI CHÚ says the hours ("24/24 giờ" or "Giờ hành chính"), a shared number's note, and "Số mẫu" for demo data.
CSV is UTF-8 with a byte-order mark so Excel shows Vietnamese correctly.

Reading rules (import):
- The format comes from the file's content (an XLSX is a zip) and its extension (.xlsx or .csv; a CSV may
  be separated by commas, semicolons or tabs, in UTF-8 or Windows-1258).
- The header row is the first row, on any sheet and anywhere in the first 50 rows, that has a name column
  (TÊN CƠ QUAN…/TÊN ĐƠN VỊ) and a number column (SỐ ĐIỆN THOẠI…/ĐƯỜNG DÂY NÓNG), compared without accents or
  case; STT, GHI CHÚ and MÃ ĐƠN VỊ are optional; other columns are ignored. Everything above it is ignored.
- A section row has a non-numeric STT (A, B, C…) and neither number nor code; its STT must be a group code
  (or, with STT empty, its name a group name). It sets the group of the rows below it.
- A unit row is matched by its MÃ ĐƠN VỊ when that cell is filled: an unknown code creates the unit (its name
  and section are then required; its kind is guessed from the name: "UBND xã …" → commune …). Without a
  code, a row is matched by its exact name (case and spacing aside) among the units of its section's group;
  a name that is not found is an error (a new unit needs a code: names repeat across the province).
- A code-matched unit takes the row's name and its section's group when they differ (renaming and moving
  units through the file is allowed; both are written to the history).
- An empty number cell leaves the unit's number as it is: a file never removes a hotline. A number that a
  spreadsheet stored as a number and so lost its leading 0 gets it back.
- GHI CHÚ containing "giờ hành chính" sets office hours, "24/24" or "24/7" sets 24/7; otherwise the hours
  stay as they are. The rest of the note is not stored. Shared numbers are only decided in the UI.
- All or nothing: every row is checked first (unreadable or several numbers in a cell, a unit twice, the
  same number on two rows, a number another unit holds, an unknown group or code, an empty name…). If any
  row is bad nothing is written and ImportRejected lists every bad row as (row number as the spreadsheet
  shows it, column title, Vietnamese reason). Otherwise everything is applied in one transaction, through
  units.create_unit / update_unit / set_hotline, with the history reason "Nhập từ tệp <file name>".
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from registry.clock import utcnow
from registry.errors import RegistryError
from registry.numbers import NumberError, parse_hotline
from registry.text import fold
from registry.units import CODE_RE, HOURS, create_unit, list_groups, list_units, set_hotline, update_unit

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
TITLE = "DANH SÁCH SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG DO CƠ QUAN, ĐƠN VỊ VÀ ĐỊA PHƯƠNG QUẢN LÝ"
COLUMNS = {
    "stt": "STT",
    "name": "TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG",
    "number": "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG",
    "note": "GHI CHÚ",
    "code": "MÃ ĐƠN VỊ",
}
ORDER = ("stt", "name", "number", "note", "code")
HEADER_ROW = 4  # title, date line, blank line, header
FORMATS = ("xlsx", "csv")
HEADER_SCAN_ROWS = 50
DEMO_NOTE = "Số mẫu (không có thật)"
SHARED_NOTE = "Số dùng chung"
# Characters that make a spreadsheet read a cell as a formula: such cells are written as text (CSV: with a
# leading apostrophe, removed again on import).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class TemplateError(RegistryError):
    """The file as a whole cannot be read: wrong format, empty, no header row."""


@dataclass(frozen=True)
class RowError:
    """One bad cell or row: the row number a spreadsheet shows, the column's title, the reason."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"Dòng {self.row}, cột {self.column}: {self.reason}" if self.column else f"Dòng {self.row}: {self.reason}"


class ImportRejected(RegistryError):
    """At least one row is bad; nothing was written. .errors lists every bad row."""

    def __init__(self, errors: list[RowError]):
        rows = len({e.row for e in errors})
        super().__init__(f"Tệp có {rows} dòng không hợp lệ; chưa có gì được ghi.", code="rows_rejected")
        self.errors = errors


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    filename: str
    rows: int = 0
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False

    @property
    def summary(self) -> str:
        verb = "sẽ" if self.dry_run else "đã"
        return (
            f"{self.filename}: {self.rows} dòng đơn vị; {verb} tạo {len(self.created)} đơn vị, "
            f"{verb} cập nhật {len(self.changed)} đơn vị; {self.unchanged} đơn vị không đổi."
        )


# ---------------------------------------------------------------- export


def format_for(filename: str) -> str:
    """'xlsx' or 'csv' from a file name's extension; TemplateError for anything else."""
    ext = Path(filename or "").suffix.lower().lstrip(".")
    if ext in FORMATS:
        return ext
    if ext == "xls":
        raise TemplateError("Định dạng .xls (Excel 97–2003) không được hỗ trợ: hãy lưu tệp dưới dạng .xlsx.")
    if not ext:
        raise TemplateError("Tên tệp phải có đuôi .xlsx hoặc .csv.")
    raise TemplateError(f"Chỉ hỗ trợ tệp .xlsx hoặc .csv (tệp “{Path(filename).name}” có đuôi “.{ext}”).")


def sections(db, *, include_historical: bool = False) -> list[tuple[dict, list[dict]]]:
    """Every group in order with its units (current ones unless include_historical), as the appendix lists them."""
    units = list_units(db, current_only=not include_historical)
    return [(g, [u for u in units if u["group_code"] == g["code"]]) for g in list_groups(db)]


def note_for(unit: dict) -> str:
    """The GHI CHÚ cell of a unit: its hours, a shared number's note, the demo mark."""
    if not unit.get("number"):
        return "Chưa đăng ký số"
    parts = [HOURS[unit["hours"]]]
    if unit.get("shared"):
        parts.append(f"{SHARED_NOTE}: {unit['shared_note']}" if unit.get("shared_note") else SHARED_NOTE)
    if unit.get("is_demo"):
        parts.append(DEMO_NOTE)
    return "; ".join(parts)


def table_rows(db, *, include_historical: bool = False) -> list[tuple[str, list[str]]]:
    """The body as (kind, cells) with kind 'section' or 'unit', cells in ORDER."""
    out = []
    for group, units in sections(db, include_historical=include_historical):
        out.append(("section", [group["code"], group["name"].upper(), "", "", ""]))
        for index, unit in enumerate(units, start=1):
            out.append(("unit", [str(index), unit["name"], unit["display"] or "", note_for(unit), unit["code"]]))
    return out


def _date_line(now: datetime) -> str:
    day = now.astimezone(LOCAL)
    return f"(Cập nhật đến ngày {day:%d} tháng {day:%m} năm {day:%Y})"


def export_csv(db, *, now: datetime | None = None, include_historical: bool = False) -> bytes:
    """The appendix as CSV, UTF-8 with BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([TITLE, "", "", "", ""])
    writer.writerow([_date_line(now or utcnow()), "", "", "", ""])
    writer.writerow([])
    writer.writerow([COLUMNS[key] for key in ORDER])
    for _kind, cells in table_rows(db, include_historical=include_historical):
        writer.writerow(["'" + c if c.startswith(FORMULA_START) else c for c in cells])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(db, *, now: datetime | None = None, include_historical: bool = False) -> bytes:
    """The appendix as a neat XLSX: bold centred headers, borders, widths, A4 landscape, header repeated."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.properties import PageSetupProperties

    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục"
    wb.properties.title = TITLE
    wb.properties.creator = "Hệ thống giám sát đường dây nóng tỉnh Đồng Tháp"
    last = chr(ord("A") + len(ORDER) - 1)
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(vertical="top", wrap_text=True)

    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = TITLE
    ws["A1"].font = Font(bold=True, size=13)
    ws["A1"].alignment = centre
    ws.row_dimensions[1].height = 36
    ws.merge_cells(f"A2:{last}2")
    ws["A2"] = _date_line(now or utcnow())
    ws["A2"].font = Font(italic=True)
    ws["A2"].alignment = centre

    for col, key in enumerate(ORDER, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=COLUMNS[key])
        cell.font = Font(bold=True)
        cell.alignment = centre
        cell.border = border
        cell.fill = PatternFill("solid", fgColor="E7E9EE")
    ws.row_dimensions[HEADER_ROW].height = 32

    row = HEADER_ROW
    for kind, cells in table_rows(db, include_historical=include_historical):
        row += 1
        for col, value in enumerate(cells, start=1):
            cell = ws.cell(row=row, column=col, value=value)
            cell.data_type = "s"  # text, always: a name starting with "=" must never become a formula
            cell.border = border
            cell.alignment = centre if col == 1 else wrap
            if kind == "section":
                cell.font = Font(bold=True)
                cell.fill = PatternFill("solid", fgColor="F3ECEC")

    for letter, width in zip("ABCDE", (6, 52, 24, 36, 16)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.oddFooter.center.text = "Trang &P / &N"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export_bytes(db, fmt: str, *, now: datetime | None = None, include_historical: bool = False) -> bytes:
    """The appendix in 'xlsx' or 'csv'."""
    if fmt == "xlsx":
        return export_xlsx(db, now=now, include_historical=include_historical)
    if fmt == "csv":
        return export_csv(db, now=now, include_historical=include_historical)
    raise TemplateError(f"Định dạng “{fmt}” không được hỗ trợ: chỉ xlsx hoặc csv.")


def export_file(db, path: str | Path, *, now: datetime | None = None, include_historical: bool = False) -> str:
    """Write the appendix to path, the format chosen by its extension; returns the format."""
    fmt = format_for(str(path))
    Path(path).write_bytes(export_bytes(db, fmt, now=now, include_historical=include_historical))
    return fmt


# ---------------------------------------------------------------- reading


@dataclass
class Sheet:
    """The rows under the header as (row number, {column key: text}), the columns present and their titles."""

    titles: dict[str, str]
    present: set[str]
    rows: list[tuple[int, dict[str, str]]]


def _cell_text(value, key: str | None = None) -> str:
    """A cell as text; whole floats lose their '.0', numbers that lost a leading 0 get it back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        # A spreadsheet stores 02773851234 typed into a number cell as 2773851234 (and 0912… as 912…).
        if key == "number" and len(text) in (9, 10) and not text.startswith(("1800", "1900")):
            text = "0" + text
        return text
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value)).strip()
    if text.startswith("'") and text[1:2] in FORMULA_START:
        text = text[1:]
    return text


def _column_key(title: str) -> str | None:
    """Which of our columns a header cell names, compared without accents or case."""
    t = " ".join(fold(title).split())
    if t in ("stt", "so tt", "so thu tu", "tt"):
        return "stt"
    if "dien thoai" in t or "duong day nong" in t:
        return "number"
    if t.startswith("ten") and ("co quan" in t or "don vi" in t or "dia phuong" in t):
        return "name"
    if "ghi chu" in t:
        return "note"
    if t in ("ma", "ma dv", "ma co quan") or t.startswith("ma don vi"):
        return "code"
    return None


def _sheet_from_rows(rows: list[tuple[int, list]]) -> Sheet | None:
    """The table under the first header row among rows, or None when there is none."""
    for index, (_number, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns, titles = {}, {}
        for position, value in enumerate(cells):
            key = _column_key(_cell_text(value))
            if key and key not in columns:
                columns[key] = position
                titles[key] = " ".join(_cell_text(value).split())
        if "name" in columns and "number" in columns:
            body = [
                (number, {k: _cell_text(row[pos] if pos < len(row) else None, k) for k, pos in columns.items()})
                for number, row in rows[index + 1:]
            ]
            return Sheet(titles={**COLUMNS, **titles}, present=set(columns), rows=body)
    return None


NO_HEADER = (
    "Không tìm thấy dòng tiêu đề của bảng: cần các cột “TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG” và "
    "“SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG” (có thể thêm STT, GHI CHÚ, MÃ ĐƠN VỊ) như mẫu phụ lục."
)
EMPTY = "Tệp không có dữ liệu."


def _read_xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) for a damaged file
        raise TemplateError(
            "Không đọc được tệp XLSX (tệp hỏng hoặc không phải bảng tính Excel). Hãy mở và lưu lại bằng Excel."
        ) from exc
    anything = False
    for worksheet in workbook.worksheets:
        rows = [(n, list(cells)) for n, cells in enumerate(worksheet.iter_rows(values_only=True), start=1)]
        anything = anything or any(c not in (None, "") for _n, cells in rows for c in cells)
        found = _sheet_from_rows(rows)
        if found:
            return found
    raise TemplateError(NO_HEADER if anything else EMPTY)


def _read_csv(data: bytes) -> Sheet:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1258", errors="replace")  # the Vietnamese Windows code page of older exports
    if "\x00" in text:
        raise TemplateError("Tệp không phải là tệp CSV (có dữ liệu nhị phân). Hãy chọn tệp .xlsx hoặc .csv.")
    if not text.strip(" \r\n\t,;"):
        raise TemplateError(EMPTY)
    # The separator depends on the spreadsheet's language settings: the right one is the one giving a header.
    for delimiter in (",", ";", "\t"):
        try:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            rows = list(enumerate(reader, start=1))
        except csv.Error as exc:
            raise TemplateError(f"Không đọc được tệp CSV: {exc}.") from exc
        found = _sheet_from_rows(rows)
        if found:
            return found
    raise TemplateError(NO_HEADER)


def read_sheet(data: bytes, filename: str) -> Sheet:
    """The header and rows of an appendix file; TemplateError when it is not one."""
    fmt = format_for(filename)
    if not data:
        raise TemplateError("Tệp rỗng.")
    is_zip = data[:4] == b"PK\x03\x04" and zipfile.is_zipfile(io.BytesIO(data))
    if fmt == "xlsx" and not is_zip:
        raise TemplateError("Tệp không phải là bảng tính XLSX hợp lệ.")
    if fmt == "csv" and is_zip:
        raise TemplateError("Tệp này là bảng tính XLSX nhưng có đuôi .csv: hãy đổi đuôi thành .xlsx.")
    return _read_xlsx(data) if fmt == "xlsx" else _read_csv(data)


# ---------------------------------------------------------------- import


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def guess_kind(name: str) -> str:
    """A new unit's kind from its name: 'UBND xã …' → commune, 'Sở …' → department …"""
    t = re.sub(r"^(uy ban nhan dan|ubnd)\s+", "", fold(name))
    for prefix, kind in (("xa ", "commune"), ("thi tran ", "commune"), ("phuong ", "ward"), ("huyen ", "district"),
                         ("thanh pho ", "district"), ("tp ", "district"), ("thi xa ", "district"),
                         ("so ", "department")):
        if t.startswith(prefix):
            return kind
    return "agency"


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
            self.error(number, "stt", f"Không có nhóm “{stt or name}” (các nhóm hiện có: {known}). "
                                      "Thanh tra viên thêm nhóm ở trang Nhóm đơn vị.")
            return None, number
        return found, None

    def unit_row(self, number, name, raw, note, code, group, bad_section, seen) -> None:
        before = len(self.errors)
        if not name:
            self.error(number, "name", "Tên cơ quan, đơn vị, địa phương không được để trống.")
        unit = None
        if code:
            same = self.by_code_upper.get(code.upper(), [])
            unit = self.by_code.get(code) or (same[0] if len(same) == 1 else None)
            if unit is None and not CODE_RE.match(code):
                self.error(number, "code", f"Mã đơn vị “{code}” không hợp lệ: dùng chữ không dấu, số, dấu chấm, "
                                           "gạch ngang (tối đa 40 ký tự).")
            elif unit is None and group is None:
                self.error(number, "code", _no_group(bad_section, f"Mã “{code}” chưa có; để tạo đơn vị mới"))
        elif name:
            unit = self.by_name(number, name, group, bad_section)
        if unit is not None:
            if unit["id"] in seen:
                self.error(number, "code" if code else "name",
                           f"Đơn vị “{unit['name']}” đã có ở dòng {seen[unit['id']]}; mỗi đơn vị chỉ một dòng.")
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
            self.error(number, "name", _no_group(bad_section, "Để tìm đơn vị theo tên"))
            return None
        found = [u for u in self.units if u["group_code"] == group and _same_name(u["name"], name)]
        current = [u for u in found if u["valid_to"] is None]
        if len(found) > 1 and len(current) == 1:
            found = current
        if len(found) == 1:
            return found[0]
        if found:
            self.error(number, "name", f"Có {len(found)} đơn vị cùng tên “{name}” trong nhóm {group}: "
                                       "hãy ghi mã đơn vị ở cột MÃ ĐƠN VỊ để phân biệt.")
        else:
            hint = ("Ghi mã ở cột MÃ ĐƠN VỊ để tạo đơn vị mới." if "code" in self.sheet.present
                    else "Thêm cột MÃ ĐƠN VỊ với mã của đơn vị để tạo đơn vị mới.")
            self.error(number, "name", f"Không có đơn vị tên “{name}” trong nhóm {group}. {hint}")
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
                reason = f"Số {r.parsed.display} trùng với số ở dòng {other.row} ({other.name})."
            else:
                reason = (f"Số {r.parsed.display} đã được đăng ký cho “{self.names.get(others[0], '?')}”. Mỗi số chỉ "
                          "thuộc một đơn vị, trừ khi Văn phòng UBND xác nhận đây là số dùng chung.")
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
                    self.error(r.row, "number", f"Số {r.parsed.display} đang là số của một đơn vị khác trong tệp, "
                                                "và các đơn vị đổi số cho nhau: hãy nhập làm hai lần, đổi một bên trước.")
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
        return f"{what} cần một nhóm, nhưng dòng mục ở dòng {bad_section} không phải là nhóm đã biết."
    return f"{what} cần biết nhóm: đặt dòng này dưới một dòng mục (A, B, C…)."


def check_sheet(db, sheet: Sheet) -> list[RowError]:
    """Every error an import of this sheet would report (empty: it can be imported)."""
    return _Checker(db, sheet).run()[1]


def import_bytes(
    db, data: bytes, filename: str, *, actor: dict | None, dry_run: bool = False, now: datetime | None = None,
) -> ImportResult:
    """Import an appendix file all or nothing; ImportRejected lists every bad row, TemplateError an unreadable file."""
    sheet = read_sheet(data, filename)
    checker = _Checker(db, sheet)
    rows, errors = checker.run()
    if errors:
        raise ImportRejected(errors)
    name = Path(filename).name
    reason = f"Nhập từ tệp {name}"
    result = ImportResult(filename=name, rows=len(rows), dry_run=dry_run)
    hours_now = dict(db.execute("SELECT unit_id, hours FROM hotlines").fetchall())
    now = now or utcnow()
    actor = actor or {"id": None, "email": "nhập tệp", "role": "inspector"}
    row, created, changed = None, [], []
    try:
        with db.atomic():
            for row in rows:
                what = _apply_row(db, row, checker.current, hours_now, actor=actor, reason=reason, now=now,
                                  dry_run=dry_run)
                if row.unit is None:
                    created.append((row.row, f"{row.code} – {row.name}"))
                elif what:
                    changed.append((row.row, f"{row.code}: " + "; ".join(what)))
                else:
                    result.unchanged += 1
    except RegistryError as exc:
        # Everything was checked above, so only an edit made meanwhile by someone else gets here; rolled back.
        raise ImportRejected([RowError(row.row if row else 0, sheet.titles.get(exc.field or "", ""), exc.message)]) from exc
    # Applied in the order numbers are released; reported in the order of the file.
    result.created = [text for _row, text in sorted(created)]
    result.changed = [text for _row, text in sorted(changed)]
    return result


def _apply_row(db, r: _Row, current: dict, hours_now: dict, *, actor, reason, now, dry_run) -> list[str]:
    """Write one row's changes (unless dry_run); returns what changed, in words."""
    what = []
    unit_id = r.unit["id"] if r.unit else None
    if unit_id is None:
        if not dry_run:
            unit_id = create_unit(db, {"code": r.code, "name": r.name, "group_code": r.group,
                                       "kind": guess_kind(r.name)}, actor=actor, now=now)
    else:
        changes = {}
        if r.by_code and r.name != r.unit["name"]:
            changes["name"] = r.name
            what.append(f"tên “{r.unit['name']}” → “{r.name}”")
        if r.group and r.group != r.unit["group_code"]:
            changes["group_code"] = r.group
            what.append(f"nhóm {r.unit['group_code']} → {r.group}")
        if changes and not dry_run:
            update_unit(db, unit_id, changes, actor=actor, reason=reason, now=now)
    if r.parsed:
        old_number, old_hours = current.get(r.key), hours_now.get(r.key)
        hours = r.hours or old_hours
        if old_number != r.parsed.number or (hours and hours != old_hours):
            if not dry_run:
                set_hotline(db, unit_id, r.raw, actor=actor, reason=reason, hours=hours, now=now)
            if old_number != r.parsed.number:
                what.append(f"số {r.unit['display'] if r.unit and r.unit['display'] else '(chưa có)'} → {r.parsed.display}")
            if old_hours and hours != old_hours:
                what.append(f"trực {HOURS[old_hours]} → {HOURS[hours]}")
    return what


def import_file(db, path: str | Path, *, actor: dict | None = None, dry_run: bool = False,
                now: datetime | None = None) -> ImportResult:
    """Import the appendix from a file on disk (see import_bytes)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TemplateError(f"Không mở được tệp “{path}”: {exc.strerror}.") from exc
    return import_bytes(db, data, path.name, actor=actor, dry_run=dry_run, now=now)
