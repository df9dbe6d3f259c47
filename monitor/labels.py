"""Every code the system shows to people (outcome, time band, purpose, verdict, dispute state, provider
values) with its label, translated through gettext in the reader's language.

The msgids are the Vietnamese labels (the UI is written in Vietnamese); translations/en holds the English.
Codes stay codes everywhere else — in the database, the JSON export and the API; only this module turns
them into words, so a page, a report and a CLI line name the same thing the same way.
"""
from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

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
PURPOSE = {"scheduled": _l("Theo lịch"), "retest": _l("Gọi lại xác nhận"), "manual": _l("Gọi thủ công"),
           "survey": _l("Khảo sát tự động")}
# Where an attempt is in its life (monitor/attempts): planned → dialing → placed → ringing → answered → ended.
ATTEMPT_STATE = {
    "planned": _l("Đã lên lịch"),
    "dialing": _l("Đang quay số"),
    "unknown": _l("Chờ đối soát"),
    "placed": _l("Đã gọi"),
    "ringing": _l("Đang đổ chuông"),
    "answered": _l("Đã nhấc máy"),
    "ended": _l("Đã kết thúc"),
}
# A unit's verdict for a period (monitor/reports).
VERDICT = {"pass": _l("Đạt"), "fail": _l("Chưa đạt"), "insufficient": _l("Chưa đủ dữ liệu"),
           "untested": _l("Chưa kiểm tra")}
# Which calls an evidence list shows (the reports' drill-down).
SCOPE = {
    "counted": _l("Cuộc gọi được tính"),
    "out_of_hours": _l("Ngoài giờ hành chính (thống kê riêng)"),
    "excluded": _l("Không tính (lỗi phía hệ thống, chờ xem xét, giải trình được chấp nhận)"),
    "held": _l("Không tính: chờ cán bộ kiểm tra xem xét"),
    "disputed": _l("Không tính: giải trình được chấp nhận"),
    "retest": _l("Cuộc gọi lại để xác nhận"),
    "all": _l("Tất cả"),
}
# What an outcome rests on (monitor/attempts/outcomes.py BASES).
BASIS = {
    "signalling": _l("tín hiệu của nhà mạng"),
    "amd": _l("nhận diện máy trả lời tự động"),
    "transcript": _l("lời nghe được khi gọi"),
    "inspector": _l("quyết định của thanh tra viên"),
    "our_side": _l("sự cố phía hệ thống gọi"),
}
# Why the weekly planner gave a unit its number of tests (monitor/scheduling/allocation.py REASONS); inspectors only.
PLAN_REASON = {
    "fixed": _l("Lịch cố định của nhóm"),
    "no_evidence": _l("Chưa có cuộc gọi được tính: gọi theo số lần của nhóm"),
    "above": _l("Khoảng tin cậy nằm hẳn trên chuẩn: gọi ít hơn"),
    "below": _l("Khoảng tin cậy nằm hẳn dưới chuẩn: gọi ít hơn"),
    "below_month": _l("Khoảng tin cậy nằm hẳn dưới chuẩn: giữ số lần của nhóm để báo cáo tháng đủ bằng chứng"),
    "leans_pass": _l("Chưa chắc chắn nhưng tỷ lệ nghe máy đạt chuẩn: gọi ít hơn"),
    "leans_fail": _l("Chưa chắc chắn và tỷ lệ nghe máy dưới chuẩn: gọi nhiều hơn để kết luận"),
    "close": _l("Chưa chắc chắn, tỷ lệ nghe máy dưới chuẩn nhưng thêm cuộc gọi trong một tháng cũng chưa đủ để "
                "kết luận: giữ số lần của nhóm"),
}
DISPUTE_STATUS = {"open": _l("Đang chờ xem xét"), "accepted": _l("Đã chấp nhận"), "rejected": _l("Không chấp nhận")}
ALERT_STATUS = {
    "sent": _l("đã gửi"),
    "failed": _l("gửi lỗi, sẽ gửi lại"),
    "suppressed": _l("không gửi (giới hạn)"),
    "pending": _l("đang chờ gửi"),
}
# The provider's words for a call (Twilio's CallStatus; the simulator and SIP provider speak the same).
CALL_STATUS = {
    "queued": _l("Đang xếp hàng"),
    "initiated": _l("Đã khởi tạo"),
    "ringing": _l("Đang đổ chuông"),
    "in-progress": _l("Đang đàm thoại"),
    "completed": _l("Đã kết nối và kết thúc"),
    "busy": _l("Máy bận"),
    "no-answer": _l("Không nghe máy"),
    "failed": _l("Không kết nối được"),
    "canceled": _l("Đã hủy"),
}
# Answering machine detection (Twilio's AnsweredBy).
ANSWERED_BY = {
    "human": _l("Người nghe máy"),
    "machine_start": _l("Máy trả lời (đầu lời chào)"),
    "machine_end_beep": _l("Máy trả lời (kết thúc bằng tiếng bíp)"),
    "machine_end_silence": _l("Máy trả lời (kết thúc bằng im lặng)"),
    "machine_end_other": _l("Máy trả lời (kết thúc khác)"),
    "fax": _l("Máy fax"),
    "unknown": _l("Không xác định"),
}
PROVIDER = {"simulator": _l("Mô phỏng"), "twilio": _l("Twilio")}
# Why `monitor reclassify` left an attempt's outcome as it was (monitor/attempts/reclassify.py SKIPS).
RECLASSIFY_SKIP = {
    "inspector": _l("thanh tra viên đã quyết định kết quả"),
    "dispute": _l("có khiếu nại đang xem xét hoặc đã quyết định"),
    "no_evidence": _l("kết thúc từ phía hệ thống, không có trạng thái cuối cùng để phân loại"),
}

# Whether an answered test call was written in the unit's logbook (monitor/logbook/match.py STATUSES).
LOGBOOK_MATCH = {"logged": _l("Đã ghi sổ"), "late": _l("Ghi sổ muộn"), "not_logged": _l("Không ghi sổ")}


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


def attempt_state(code) -> str:
    return _label(ATTEMPT_STATE, code)


def verdict(code) -> str:
    return _label(VERDICT, code)


def scope(code) -> str:
    return _label(SCOPE, code)


def dispute_status(code) -> str:
    return _label(DISPUTE_STATUS, code)


def outcome_basis(code) -> str:
    return _label(BASIS, code)


def alert_status(code) -> str:
    return _label(ALERT_STATUS, code)


def call_status(code) -> str:
    return _label(CALL_STATUS, code)


def answered_by(code) -> str:
    return _label(ANSWERED_BY, code)


def provider(code) -> str:
    return _label(PROVIDER, code)


def reclassify_skip(code) -> str:
    return _label(RECLASSIFY_SKIP, code)


def logbook_match(code) -> str:
    return _label(LOGBOOK_MATCH, code)


# Every table by the name of its Jinja filter (monitor/web/filters.py registers one filter per entry).
FILTERS = {
    "outcome": outcome, "band": band, "purpose": purpose, "attempt_state": attempt_state, "verdict": verdict,
    "scope": scope, "dispute_status": dispute_status, "alert_status": alert_status, "call_status": call_status,
    "answered_by": answered_by, "provider": provider, "outcome_basis": outcome_basis,
    "logbook_match": logbook_match,
}

__all__ = [
    "OUTCOME", "BAND", "PURPOSE", "ATTEMPT_STATE", "VERDICT", "SCOPE", "DISPUTE_STATUS", "ALERT_STATUS",
    "CALL_STATUS", "ANSWERED_BY", "PROVIDER", "RECLASSIFY_SKIP", "LOGBOOK_MATCH", "reclassify_skip", "FILTERS", *FILTERS, "gettext",
]
