"""The letterhead of the province's official documents (Nghị định 30/2020/NĐ-CP): the issuing body, its office and
the place written before the date. Proper names, the same in whatever language a page is read in.

The monthly report (monitor/reports/wording.py re-exports them), the survey results and the logbook's monthly
summary all print these, through the one `letterhead` macro of templates/reports/_annex.html.
"""
from __future__ import annotations

from datetime import datetime

from registry.clock import LOCAL

AUTHORITY = "ỦY BAN NHÂN DÂN TỈNH ĐỒNG THÁP"
OFFICE = "VĂN PHÒNG"
PLACE = "Đồng Tháp"


def place_date(moment: datetime) -> str:
    """The place and local date under the national motto: "Đồng Tháp, ngày 01 tháng 07 năm 2025"."""
    local = moment.astimezone(LOCAL)
    return f"{PLACE}, ngày {local.day:02d} tháng {local.month:02d} năm {local.year}"
