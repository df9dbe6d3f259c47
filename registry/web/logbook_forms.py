"""The logbook's web forms: a new entry (first on its page, quick to fill during a call) and the entry page's
actions. Length limits repeat the domain's (registry/logbook/entry_rules.py), which checks again."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from registry.logbook.entry_rules import CHANNELS, LEVELS, LIMITS

TOO_LONG = _l("Tối đa %(max)d ký tự.")


def _text(label, limit, *, area=False, required=None, **kwargs):
    validators = [DataRequired(message=required)] if required else [Optional()]
    kind = TextAreaField if area else StringField
    return kind(label, validators=[*validators, Length(max=limit, message=TOO_LONG)], **kwargs)


class EntryForm(FlaskForm):
    """A citizen's report, as staff write it down during the call."""

    content = _text(_l("Nội dung phản ánh, kiến nghị"), LIMITS["content"], area=True,
                    required=_l("Hãy ghi nội dung phản ánh."), render_kw={"rows": 4, "autofocus": True})
    reporter_name = _text(_l("Họ tên người phản ánh (không bắt buộc)"), LIMITS["reporter_name"],
                          render_kw={"autocomplete": "off"})
    reporter_phone = _text(_l("Số điện thoại người phản ánh (không bắt buộc)"), 30,
                           render_kw={"inputmode": "tel", "autocomplete": "off"},
                           description=_l("Bốn số cuối là mã tra cứu của công dân; để trống nếu ẩn danh."))
    field_code = SelectField(_l("Lĩnh vực"), validate_choice=False)
    channel = SelectField(_l("Kênh tiếp nhận"), choices=list(CHANNELS.items()), default="hotline",
                          validate_choice=False)
    received_at = StringField(_l("Thời điểm tiếp nhận"), render_kw={"type": "datetime-local"})
    dossier_code = _text(_l("Mã hồ sơ (nếu có)"), LIMITS["dossier_code"])
    received_by = _text(_l("Người tiếp nhận"), LIMITS["received_by"])
    level = SelectField(_l("Mức xử lý"), choices=[(k, v) for k, v in LEVELS.items() if k != "transferred"],
                        default="unit", validate_choice=False)
    answer = _text(_l("Nội dung đã trả lời (khi trả lời ngay)"), LIMITS["answer"], area=True,
                   render_kw={"rows": 2})


class EditForm(EntryForm):
    """A correction of an entry's details: the new entry's fields but its handling, for a reason; version is the
    entry's version the page was shown with (a save on a changed entry is refused)."""

    level = None
    answer = None
    content = _text(_l("Nội dung phản ánh, kiến nghị"), LIMITS["content"], area=True,
                    required=_l("Hãy ghi nội dung phản ánh."), render_kw={"rows": 4})
    edit_reason = _text(_l("Lý do sửa"), LIMITS["reason"], area=True, required=_l("Hãy ghi lý do sửa."),
                        render_kw={"rows": 2})
    version = HiddenField()


class AnswerForm(FlaskForm):
    answer = _text(_l("Nội dung trả lời"), LIMITS["answer"], area=True, required=_l("Hãy ghi nội dung trả lời."),
                   render_kw={"rows": 3})


class PauseForm(FlaskForm):
    pause_reason = _text(_l("Chờ công dân bổ sung: lý do"), LIMITS["reason"],
                         required=_l("Hãy ghi lý do chờ công dân."))


class TransferForm(FlaskForm):
    to_unit = SelectField(_l("Đơn vị có thẩm quyền"), validate_choice=False)
    transfer_reason = _text(_l("Lý do chuyển"), LIMITS["reason"], area=True, render_kw={"rows": 2},
                            required=_l("Hãy ghi lý do chuyển (vì sao đơn vị kia có thẩm quyền)."))


class AttachForm(FlaskForm):
    file = FileField(_l("Tệp đính kèm (PDF, PNG, JPEG, DOCX, XLSX, ODT; tối đa 5 MB)"),
                     validators=[FileRequired(message=_l("Hãy chọn một tệp."))])
