"""The columns of a one-stop system's export of completed dossiers: which heading is which field.

Exports differ from one system (and one version) to the next, so headings are recognised as they usually come,
compared without accents, case or extra spaces: "Mã hồ sơ", "Tên thủ tục hành chính", "Chủ hồ sơ", "Số điện
thoại", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày trả kết quả", "Đơn vị xử lý", "Kênh nộp"… Any other heading
can be named by the inspector (the import page's mapping, `surveys import --map field=Heading`); a mapped
field is read from that column only. Columns of no field (address, ID number, e-mail, notes…) are never read:
only what the survey needs is kept (Decree 13/2023).
"""
from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from registry.appendix.read import Cells, cell_text
from registry.errors import UserError
from registry.text import fold

# field → its usual heading, in the order of a dossier's record (the labels the pages and errors use).
FIELDS = {
    "code": _l("Mã hồ sơ"),
    "procedure": _l("Tên thủ tục hành chính"),
    "applicant": _l("Chủ hồ sơ"),
    "phone": _l("Số điện thoại"),
    "received": _l("Ngày tiếp nhận"),
    "due": _l("Ngày hẹn trả"),
    "returned": _l("Ngày trả kết quả"),
    "unit": _l("Đơn vị xử lý"),
    "channel": _l("Kênh nộp"),
}
# A header row has at least these; the rest may be missing (a dossier then has no due date, no channel…).
REQUIRED = ("code", "phone", "returned", "unit")
# Headings of personal data the survey does not need: never read, even when they name a field's words
# ("Địa chỉ chủ hồ sơ" is no applicant, "Số CCCD" no phone).
_NEVER = ("dia chi", "email", "thu dien tu", "cmnd", "cccd", "can cuoc", "chung minh", "dinh danh", "giay to",
          "ho chieu", "ma so thue", "ghi chu", "noi dung", "ly do", "ngay sinh", "gioi tinh")


def heading_key(title: str) -> str:
    """A heading as headings are compared: folded, punctuation as spaces, single-spaced."""
    text = fold(title)
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def field_of(title: str) -> str | None:
    """Which field a heading usually names (None: a column the import does not read)."""
    t = heading_key(title)
    if not t or any(word in t for word in _NEVER):
        return None
    words = t.split()
    if "dien thoai" in t or "di dong" in t or t in ("sdt", "dt", "so dt", "dtdd"):
        return "phone"
    if "kenh" in words or t.startswith("hinh thuc"):
        return "channel"
    if words[0] in ("ngay", "thoi", "han") or t.startswith("thoi gian"):
        if "hen" in words or words[0] == "han" or "han xu ly" in t or "han giai quyet" in t:
            return "due"
        if "tra" in words or "hoan thanh" in t or "co ket qua" in t:
            return "returned"
        if "tiep nhan" in t or "nhan" in words or "nop" in words:
            return "received"
        return None
    if t in ("ma hs", "so hs", "ma ho so", "so ho so", "ma so ho so", "so bien nhan", "ma bien nhan") \
            or t.startswith(("ma ho so", "so ho so")):
        return "code"
    if "don vi" in t or "co quan" in t or "noi giai quyet" in t or "noi xu ly" in t or t.startswith("phong ban"):
        return "unit"
    if words[0] == "ma":
        return None  # a procedure's code, a unit's code in its own column…: not read
    if "thu tuc" in t or "tthc" in words or t == "linh vuc thu tuc":
        return "procedure"
    if ("chu ho so" in t or "nguoi nop" in t or "nguoi dung ten" in t or t.startswith(("ho ten", "ho va ten"))
            or "to chuc ca nhan" in t or t in ("ten cong dan", "cong dan", "nguoi yeu cau", "ten to chuc")):
        return "applicant"
    return None


def parse_mapping(pairs) -> dict[str, str]:
    """{field: heading} from "field=Heading" texts or (field, heading) pairs; UserError for an unknown field."""
    mapping: dict[str, str] = {}
    for pair in pairs or ():
        if isinstance(pair, str):
            field, sep, heading = pair.partition("=")
            if not sep:
                raise UserError(gettext("Cách ghép cột “%(pair)s” không đúng dạng trường=Tiêu đề cột, ví dụ "
                                        "phone=ĐT liên hệ.", pair=pair[:100]), field="map")
        else:
            field, heading = pair
        field, heading = field.strip(), " ".join((heading or "").split())
        if field not in FIELDS:
            raise UserError(gettext("Không có trường “%(field)s”; các trường: %(fields)s.", field=field[:50],
                                    fields=", ".join(FIELDS)), field="map")
        if heading:
            mapping[field] = heading
    return mapping


class HeaderFinder:
    """Finds the header row among the first rows of a file (registry.appendix.read's header finder).

    Mapped headings first, then the usual ones for the fields not mapped; the first column naming a field
    wins. A row is the header when every REQUIRED and every mapped field has a column; the row naming the most fields is
    remembered, so that a file without a header can be told what is missing.
    """

    def __init__(self, mapping: dict[str, str] | None = None):
        self.mapping = mapping or {}
        self.mapped = {heading_key(heading): field for field, heading in self.mapping.items()}
        self.needed = set(REQUIRED) | set(self.mapping)
        self.best: dict[str, str] = {}
        self.titles: dict[str, str] = {}  # the header's: field → its heading as written

    def __call__(self, cells: Cells) -> tuple[dict[str, int], dict[str, str]]:
        columns: dict[str, int] = {}
        titles: dict[str, str] = {}
        for position, value in cells:
            title = " ".join(cell_text(value).split())
            field = self.mapped.get(heading_key(title))
            if field is None:
                field = field_of(title)
                if field in self.mapped.values():
                    continue  # the inspector said which column this field is
            if field and field not in columns:
                columns[field], titles[field] = position, title
        if self.needed <= columns.keys():
            self.titles = titles
            return columns, titles
        if len(titles) > len(self.best):
            self.best = titles
        return {}, {}

    def missing(self) -> str:
        """Why no row was a header: the fields missing from the closest row, and the columns it did name."""
        absent = [f"“{self.mapping[f]}” ({FIELDS[f]})" if f in self.mapping else f"“{FIELDS[f]}”" for f in FIELDS
                  if f in self.needed and f not in self.best]
        found = ", ".join(f"“{title}” ({FIELDS[field]})" for field, title in self.best.items())
        text = gettext("Không tìm thấy dòng tiêu đề của danh sách hồ sơ: cần các cột %(needed)s. ",
                       needed=", ".join(f"“{FIELDS[f]}”" for f in REQUIRED))
        if found:
            text += gettext("Dòng gần đúng nhất có %(found)s nhưng thiếu %(absent)s. ", found=found,
                            absent=", ".join(absent))
        return text + gettext("Nếu tệp đặt tên cột khác, hãy ghép cột (ví dụ phone=ĐT liên hệ).")
