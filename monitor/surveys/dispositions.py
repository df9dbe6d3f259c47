"""What happened on a call to a sampled citizen: AAPOR's standard dispositions, grouped as the rates count them,
each with its retry rule.

The groups (AAPOR Standard Definitions, telephone surveys): I complete, P partial, R refusal and break-off,
NC non-contact, O other eligible non-interview, UH/UO unknown eligibility, NE not eligible. A disposition is
*final* when the case is closed by it; otherwise the case is offered again after `retry` (queXS and RapidPro
keep delays of this order: no answer a few hours later, a soft refusal a week later, a hard refusal never),
until MAX_TRIES calls have been made, when the last disposition stands as final.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l

MAX_TRIES = 5  # calls to one citizen before the case is closed on its last disposition


@dataclass(frozen=True)
class Disposition:
    code: str
    group: str            # I, P, R, NC, O, UH, UO, NE
    label: object         # Vietnamese, lazily translated
    final: bool           # closes the case at once
    retry: timedelta | None = None   # when not final: offered again after this
    data_finding: bool = False       # the export's number was wrong: a finding for the unit that recorded it


DISPOSITIONS = {d.code: d for d in (
    Disposition("complete", "I", _l("Hoàn thành phỏng vấn"), True),
    Disposition("partial", "P", _l("Trả lời một phần"), True),
    Disposition("refusal", "R", _l("Từ chối trả lời"), True),
    Disposition("soft_refusal", "R", _l("Hẹn dịp khác (từ chối lúc này)"), False, timedelta(days=7)),
    Disposition("break_off", "R", _l("Bỏ dở giữa chừng"), False, timedelta(days=1)),
    Disposition("appointment", "NC", _l("Hẹn gọi lại"), False, timedelta(0)),
    Disposition("no_answer", "NC", _l("Không nghe máy"), False, timedelta(hours=3)),
    Disposition("busy", "NC", _l("Máy bận"), False, timedelta(minutes=30)),
    Disposition("machine", "NC", _l("Hộp thư thoại / máy tự động"), False, timedelta(hours=3)),
    Disposition("respondent_unavailable", "NC", _l("Người nộp hồ sơ vắng"), False, timedelta(hours=4)),
    Disposition("language", "O", _l("Không trao đổi được (ngôn ngữ, sức khỏe)"), True),
    Disposition("unknown", "UH", _l("Không rõ (cuộc gọi không kết nối được)"), False, timedelta(hours=1)),
    Disposition("wrong_number", "NE", _l("Sai số (không phải người nộp hồ sơ)"), True, data_finding=True),
    Disposition("disconnected", "NE", _l("Số không liên lạc được / không tồn tại"), True, data_finding=True),
    Disposition("not_applicant", "NE", _l("Không phải người nộp hồ sơ"), True),
    Disposition("do_not_call", "R", _l("Đề nghị không gọi lại"), True),
)}
GROUPS = ("I", "P", "R", "NC", "O", "UH", "UO", "NE")


def get(code: str) -> Disposition:
    """The disposition of a code; KeyError for an unknown one (codes come from our own forms and providers)."""
    return DISPOSITIONS[code]
