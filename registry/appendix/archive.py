"""An XLSX file's container checked before any of its XML is parsed: what it is, and how large it unpacks.

An XLSX is a zip of XML parts. Its central directory says how large each part is once inflated, and
zipfile never inflates a part beyond what it says (a part that lies fails its checksum), so these figures
bound the work openpyxl can be made to do. Refused here, within milliseconds and without inflating
anything: a password-protected workbook or an .xls renamed .xlsx (an OLE compound file, not a zip), an
OpenDocument sheet or a binary .xlsb renamed, a zip without a workbook, encrypted or oddly compressed
parts, too many parts, too much to unpack, a part compressed like a zip bomb.
"""
from __future__ import annotations

import io
import zipfile

from flask_babel import gettext

from registry.appendix.layout import TemplateError
from registry.appendix.limits import LIMITS, LimitExceeded, Limits, megabytes

# The first bytes of an OLE compound file: Excel 97–2003 workbooks, and every password-protected workbook.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# Parts every workbook openpyxl (and Excel) can open has.
REQUIRED = ("[Content_Types].xml", "_rels/.rels")
# Excel writes deflated or stored parts only; other methods are refused rather than trusted.
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def is_zip(data: bytes) -> bool:
    """Whether the bytes are a zip archive (an XLSX file, whatever its name)."""
    return data[:4] == ZIP_MAGIC and zipfile.is_zipfile(io.BytesIO(data))


def check_xlsx(data: bytes, limits: Limits = LIMITS) -> None:
    """Refuse (TemplateError, LimitExceeded) a file that is not a workbook openpyxl may safely open."""
    if data[:8] == OLE_MAGIC:
        raise TemplateError(gettext("Tệp được đặt mật khẩu, hoặc là tệp Excel 97–2003 (.xls) đổi đuôi thành .xlsx: "
                                    "hãy bỏ mật khẩu và lưu lại dưới dạng .xlsx."), field="file")
    if not is_zip(data):
        raise TemplateError(gettext("Tệp không phải là bảng tính XLSX hợp lệ."), field="file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            _check_parts(parts, limits)
            with archive.open("mimetype") if _named(parts, "mimetype") else io.BytesIO() as part:
                mimetype = part.read(100)  # an OpenDocument file's first part names its kind
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, ValueError, EOFError) as exc:
        raise TemplateError(gettext("Tệp không phải là bảng tính XLSX hợp lệ."), field="file") from exc
    if b"opendocument" in mimetype:
        raise TemplateError(gettext("Tệp là bảng tính OpenDocument (.ods) đổi đuôi thành .xlsx: hãy lưu lại "
                                    "dưới dạng Excel (.xlsx)."), field="file")
    for name in REQUIRED:
        if not _named(parts, name):
            raise TemplateError(gettext("Tệp XLSX thiếu phần “%(part)s”: không phải bảng tính Excel hợp lệ. "
                                        "Hãy mở và lưu lại bằng Excel.", part=name), field="file")
    if _named(parts, "xl/workbook.bin"):
        raise TemplateError(gettext("Tệp là bảng tính nhị phân Excel (.xlsb): hãy lưu lại dưới dạng .xlsx."),
                            field="file")


def _check_parts(parts: list[zipfile.ZipInfo], limits: Limits) -> None:
    """LimitExceeded or TemplateError for too many parts, a part that cannot or must not be inflated, or too much."""
    if len(parts) > limits.parts:
        raise LimitExceeded(gettext("Tệp XLSX bất thường: có %(count)s thành phần, tối đa %(limit)s.",
                                    count=len(parts), limit=limits.parts), field="file")
    for part in parts:
        if part.flag_bits & 0x1 or part.compress_type not in METHODS:
            raise TemplateError(gettext("Tệp XLSX có phần “%(part)s” được mã hóa hoặc nén theo cách không hỗ trợ: "
                                        "hãy mở và lưu lại bằng Excel.", part=part.filename[:100]), field="file")
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > limits.ratio_from_bytes and ratio > limits.ratio:
            times = format(ratio, ",.0f").replace(",", " ")
            raise LimitExceeded(gettext("Tệp XLSX bất thường: phần “%(part)s” giải nén ra gấp %(ratio)s lần "
                                        "(tối đa %(limit)s lần). Tệp không được nhập.",
                                        part=part.filename[:100], ratio=times, limit=limits.ratio), field="file")
    unpacked = sum(part.file_size for part in parts)
    if unpacked > limits.unpacked_bytes:
        raise LimitExceeded(gettext("Tệp XLSX bất thường: nội dung giải nén %(size)s MB, vượt giới hạn %(limit)s MB.",
                                    size=megabytes(unpacked), limit=megabytes(limits.unpacked_bytes)), field="file")


def _named(parts: list[zipfile.ZipInfo], name: str) -> bool:
    return any(part.filename == name for part in parts)
