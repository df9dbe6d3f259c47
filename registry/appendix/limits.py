"""How large an appendix file may be, in one place, and the error that refuses a file beyond it.

A province's list is a few thousand rows in a few hundred kilobytes. The limits leave wide room for that
and stop, before anything is parsed or written, the files built to exhaust memory or time: a 5 KB sheet
whose two cells lie a million rows apart, a zip bomb whose sheet inflates to gigabytes. They are not
settings: nothing an operator does calls for another value, and a file that needs more is split in two.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from flask_babel import gettext

from registry.appendix.layout import TemplateError


@dataclass(frozen=True)
class Limits:
    """The bounds every appendix file is read within."""

    # The file as uploaded or named on the command line (also the web's upload limit, monitor/app.py).
    file_bytes: int = 5 * 1024 * 1024
    # Rows of a sheet or CSV, counted as the spreadsheet numbers them (empty rows included).
    rows: int = 200_000
    # Columns: the template has five; anything filled beyond this one is refused.
    columns: int = 200
    # An XLSX is a zip: its parts once inflated, all together (200,000 plain rows take about 65 MB).
    unpacked_bytes: int = 128 * 1024 * 1024
    # How many times a part may inflate: Excel's own sheets inflate 5 to 20 times, a zip bomb 1,000.
    ratio: int = 100
    # Parts smaller than this are not held to the ratio (a few kilobytes cannot exhaust anything).
    ratio_from_bytes: int = 1024 * 1024
    # Parts in the zip: a workbook has a dozen, a hundred with many sheets and pictures.
    parts: int = 1000


LIMITS = Limits()


class LimitExceeded(TemplateError):
    """The file is larger, longer, wider or more compressed than any appendix can be; nothing was read."""

    code = "file_limit"


def megabytes(size: int) -> str:
    """A size in MB as people read it: '5', '4,7', '1 024'."""
    value = size / (1024 * 1024)
    text = f"{value:,.0f}" if value >= 10 or value.is_integer() else f"{value:.1f}"
    return text.replace(",", " ").replace(".", ",")


def check_file_size(size: int, limits: Limits = LIMITS) -> None:
    """LimitExceeded when a file of `size` bytes is too large to be an appendix."""
    if size > limits.file_bytes:
        raise LimitExceeded(gettext("Tệp quá lớn: %(size)s MB, tối đa %(limit)s MB. Hãy xóa các trang tính, "
                                    "dòng và cột thừa hoặc chia thành nhiều tệp.",
                                    size=megabytes(size), limit=megabytes(limits.file_bytes)), field="file")


def read_file(path, limits: Limits = LIMITS) -> bytes:
    """A file's bytes, never more than the limit allows: LimitExceeded for a larger file, OSError as open() raises.

    The size is checked before reading, and the read is bounded too (a pipe or a device has no size).
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        check_file_size(size, limits)
        data = handle.read(limits.file_bytes + 1)
    check_file_size(len(data), limits)
    return data
