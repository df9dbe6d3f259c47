"""What a logbook entry may hold: channels, levels, states, and the check of an entry's fields before any write.

Pure functions (the field list is read once by the caller): every refusal is a RegistryError naming the field,
so the form shows it next to the input and nothing is written.
"""
import re
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from registry.clock import LOCAL, iso, parse_iso
from registry.errors import RegistryError

CHANNELS = {
    "hotline": _l("Đường dây nóng"),
    "1022": _l("Tổng đài 1022"),
    "walk_in": _l("Trực tiếp"),
    "web": _l("Cổng thông tin"),
    "zalo": _l("Zalo"),
    "letter": _l("Thư, công văn"),
    "other": _l("Khác"),
}
LEVELS = {
    "on_spot": _l("Trả lời ngay"),
    "unit": _l("Đơn vị xử lý"),
    "transferred": _l("Chuyển đơn vị có thẩm quyền"),
}
STATES = {
    "open": _l("Đang xử lý"),
    "waiting": _l("Chờ công dân bổ sung"),
    "answered": _l("Đã trả lời"),
    "transferred": _l("Đã chuyển"),
    "closed": _l("Đã đóng"),
}
# Longest text per column (the schema's CHECKs, said in Vietnamese before SQLite would refuse).
LIMITS = {"reporter_name": 200, "content": 5000, "dossier_code": 64, "received_by": 200, "answer": 5000,
          "reason": 2000}
EDITABLE = ("received_at", "channel", "reporter_name", "reporter_phone", "field_code", "content", "dossier_code",
            "received_by")
FUTURE_SLACK = timedelta(minutes=10)  # a clock a few minutes fast on the staff's computer is not an error
LOCAL_INPUT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")


def phone_digits(text: str) -> str:
    """The digits of a phone number as written ("0912.345.678", "+84 912 345 678"), or RegistryError."""
    text = (text or "").strip()
    if not text:
        return ""
    if len(text) > 30 or not re.fullmatch(r"[\d\s.()+\-]+", text):
        raise RegistryError(gettext("Số điện thoại chỉ gồm chữ số, ví dụ 0912 345 678."), field="reporter_phone")
    digits = re.sub(r"\D", "", text)
    if digits.startswith("84") and len(digits) in (11, 12):  # +84 91… (mobile) or +84 277… (landline)
        digits = "0" + digits[2:]
    if not 8 <= len(digits) <= 12:
        raise RegistryError(gettext("Số điện thoại phải có từ 8 đến 12 chữ số."), field="reporter_phone")
    return digits


def mask_phone(digits: str) -> str:
    """A phone shown to anyone but the unit's own editors: 0912 ••• 678."""
    if not digits:
        return ""
    return f"{digits[:4]} ••• {digits[-3:]}"


def lookup_code(digits: str) -> str:
    """The public lookup's second key: the phone's last 4 digits, or a random code for an anonymous reporter."""
    return digits[-4:] if digits else f"{secrets.randbelow(10000):04d}"


def received_time(value, now: datetime) -> str:
    """The stored UTC ISO of a received time given as a datetime, stored ISO text or the form's local
    "YYYY-MM-DDTHH:MM"; not in the future."""
    if value in (None, ""):
        when = now
    elif isinstance(value, datetime):
        when = value
    else:
        text = str(value).strip()
        try:
            if LOCAL_INPUT.match(text):
                when = datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=LOCAL)
            else:
                when = parse_iso(text)
        except ValueError:
            raise RegistryError(gettext("Thời điểm tiếp nhận phải viết theo dạng NNNN-TT-NN GG:PP, ví dụ "
                                        "2026-12-01 08:30."), field="received_at") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=LOCAL)
    if when > now + FUTURE_SLACK:
        raise RegistryError(gettext("Thời điểm tiếp nhận không thể ở tương lai."), field="received_at")
    return iso(when)


def clean(data: dict, *, fields: set[str], now: datetime, partial: bool = False) -> dict:
    """The entry's columns from data, checked; partial: only the keys given (an edit)."""
    out = {}
    for key in EDITABLE + ("level", "answer"):
        if partial and key not in data:
            continue
        value = data.get(key)
        out[key] = value.strip() if isinstance(value, str) else value
    for key, limit in LIMITS.items():
        if isinstance(out.get(key), str) and len(out[key]) > limit:
            raise RegistryError(gettext("Tối đa %(max)d ký tự.", max=limit), field=key)
        if key in out and out[key] is None and key != "reason":
            out[key] = ""
    if "channel" in out:
        out["channel"] = out["channel"] or "hotline"
        if out["channel"] not in CHANNELS:
            raise RegistryError(gettext("Kênh tiếp nhận không hợp lệ."), field="channel")
    if "content" in out and not out["content"]:
        raise RegistryError(gettext("Hãy ghi nội dung phản ánh."), field="content")
    if "field_code" in out:
        out["field_code"] = out["field_code"] or None
        if out["field_code"] is not None and out["field_code"] not in fields:
            raise RegistryError(gettext("Lĩnh vực không hợp lệ."), field="field_code")
    if "reporter_phone" in out:
        out["reporter_phone"] = phone_digits(out["reporter_phone"] or "")
    if "received_at" in out:
        out["received_at"] = received_time(out["received_at"], now)
    if "level" in out:
        out["level"] = out["level"] or "unit"
        if out["level"] not in ("on_spot", "unit"):
            raise RegistryError(gettext("Mức xử lý không hợp lệ (chuyển đơn vị khác bằng nút Chuyển)."),
                                field="level")
        if out["level"] == "on_spot" and not out.get("answer"):
            raise RegistryError(gettext("Trả lời ngay: hãy ghi nội dung đã trả lời."), field="answer")
    return out
