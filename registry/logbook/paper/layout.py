"""The logbook's paper form: its title, its columns in order, the words of its codes, the masked phone.

The layout is the one Vietnamese offices keep on paper (Sổ theo dõi tiếp nhận, xử lý phản ánh, kiến nghị):
the unit's name and the period on top, one row per report, a signature block under the table. The XLSX and
PDF exports write it; the import reads a filled copy back by the column titles (accents and case aside).
"""
from __future__ import annotations

import re
from pathlib import Path

from flask_babel import gettext

from registry.appendix.layout import TemplateError
from registry.logbook.entry_rules import CHANNELS, LEVELS, STATES, mask_phone  # noqa: F401 (re-exported)
from registry.text import fold

TITLE = "SỔ THEO DÕI TIẾP NHẬN, XỬ LÝ PHẢN ÁNH, KIẾN NGHỊ QUA ĐƯỜNG DÂY NÓNG"
# (key, column title) in the order of the form. The keys name what the import reads back.
COLUMNS = (
    ("stt", "STT"),
    ("receipt_code", "Mã phiếu"),
    ("received_at", "Ngày giờ tiếp nhận"),
    ("channel", "Kênh"),
    ("reporter", "Người phản ánh"),
    ("field", "Lĩnh vực"),
    ("content", "Nội dung"),
    ("received_by", "Người tiếp nhận"),
    ("level", "Hình thức xử lý"),
    ("deadline", "Hạn xử lý"),
    ("answer", "Kết quả/Trả lời"),
    ("answered_at", "Ngày trả lời"),
    ("note", "Ghi chú"),
)
TITLES = dict(COLUMNS)
KEYS = tuple(key for key, _title in COLUMNS)
# Where the unit's code is written above the table, so that a filled copy says whose book it is.
UNIT_CODE_LABEL = "Mã đơn vị:"
HEADER_SCAN_ROWS = 20
SIGNERS = ("NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ")
SIGN_HINT = "(Ký, ghi rõ họ tên)"
SIGN_HINT_HEAD = "(Ký tên, đóng dấu)"

DOSSIER_LABEL = "Mã hồ sơ:"
PLACE_DATE = re.compile(r"^.*ngay \S+ thang \S+ nam \S+$")  # "…, ngày 01 tháng 12 năm 2026", folded
# The words of the codes are entry_rules' (CHANNELS, LEVELS, STATES); the exports render them in Vietnamese.


def closing_row(texts: list[str]) -> bool:
    """Whether a row under the table is the signature block's (place and date, signers, their hints), not a report."""
    folded = [" ".join(fold(t).split()) for t in texts if t]
    block = {fold(t) for t in SIGNERS + (SIGN_HINT, SIGN_HINT_HEAD)}
    return bool(folded) and all(t in block or PLACE_DATE.match(t) for t in folded)


def reporter_cell(name: str, phone: str) -> str:
    """The Người phản ánh cell: the name and the masked phone; 'Ẩn danh' when neither is given."""
    parts = [p for p in ((name or "").strip(), mask_phone(phone or "")) if p]
    return " – ".join(parts) if parts else "Ẩn danh"


def code_for(labels: dict, text: str) -> str | None:
    """The code a cell names, by its code or its Vietnamese label, accents and case aside."""
    wanted = " ".join(fold(text).split())
    for code, label in labels.items():
        if wanted in (fold(code), " ".join(fold(vietnamese(label)).split())):
            return code
    return None


def vietnamese(label) -> str:
    """A lazy label's Vietnamese text (its msgid), whatever the reader's language: the paper form is official."""
    return getattr(label, "_args", (str(label),))[0] if hasattr(label, "_func") else str(label)


def column_key(title: str) -> str | None:
    """Which column of the form a header cell names, compared without accents, case or spacing."""
    wanted = " ".join(fold(title).replace("/", " / ").split())
    for key, heading in COLUMNS:
        if wanted == " ".join(fold(heading).replace("/", " / ").split()):
            return key
    return None


FORMATS = ("xlsx", "pdf")


def format_for(filename: str, formats: tuple[str, ...] = FORMATS) -> str:
    """The format a file's extension names, among `formats`; TemplateError otherwise."""
    ext = Path(filename or "").suffix.lower().lstrip(".")
    if ext in formats:
        return ext
    raise TemplateError(gettext("Tệp phải có đuôi %(formats)s (tệp “%(name)s”).",
                                formats=", ".join("." + f for f in formats), name=Path(filename or "").name[:100]),
                        field="file")
