"""Every code the system shows to people (outcome, time band, purpose, verdict, dispute state, provider
values) with its label, translated through gettext in the reader's language.

The msgids are the Vietnamese labels (the UI is written in Vietnamese); translations/en holds the English.
Codes stay codes everywhere else — in the database, the JSON export and the API; only this module turns
them into words, so a page, a report and a CLI line name the same thing the same way.
"""
from __future__ import annotations

from flask_babel import gettext, lazy_gettext as _l

OUTCOME = {
    "answered": _l("Có người nghe máy"),
    "machine": _l("Máy trả lời tự động"),
    "no_answer": _l("Không nghe máy"),
    "busy": _l("Máy bận"),
    "unreachable": _l("Không liên lạc được"),
    "redirected": _l("Chuyển sang số hoặc nơi khác"),
    "provider_error": _l("Lỗi phía hệ thống (không tính)"),
}
BAND = {
    "office": _l("Giờ hành chính"),
    "lunch": _l("Nghỉ trưa"),
    "evening": _l("Buổi tối"),
    "night": _l("Ban đêm"),
    "weekend": _l("Cuối tuần"),
    "holiday": _l("Ngày lễ, Tết"),
}
PURPOSE = {"scheduled": _l("Theo lịch"), "retest": _l("Gọi lại xác nhận"), "manual": _l("Gọi thủ công")}


def _label(table: dict, code) -> str:
    """The translated label of a code; an unknown code is shown as it is (never an error on a page)."""
    if code is None or code == "":
        return ""
    label = table.get(code)
    return str(label) if label is not None else str(code)


def outcome(code) -> str:
    return _label(OUTCOME, code)


def band(code) -> str:
    return _label(BAND, code)


def purpose(code) -> str:
    return _label(PURPOSE, code)


__all__ = ["OUTCOME", "BAND", "PURPOSE", "outcome", "band", "purpose", "gettext"]
