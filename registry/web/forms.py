"""Web forms of the registry; labels and messages in Vietnamese, field ids stable for browser tests.

Field names are unique across the forms of one page (the unit page holds several), so every input id is
unique too. Domain rules (number parsing, dates, e-mail, codes) are checked by the domain functions, whose
errors the views put back next to the field they name.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import DateInput

from registry import lengths
from registry.hotlines import HOURS
from registry.units import KINDS

HOURS_CHOICES = [("24/7", _l("24/24 giờ (cả ngày, cả tuần)")), ("office", _l("Giờ hành chính"))]
assert {c for c, _ in HOURS_CHOICES} == set(HOURS)
KIND_CHOICES = list(KINDS.items())
TOO_LONG = _l("Tối đa %(max)d ký tự.")  # WTForms fills in %(max)d


def _text(label, max_length=200, **kwargs):
    """An optional text field with a length limit."""
    return StringField(label, validators=[Optional(), Length(max=max_length, message=TOO_LONG)], **kwargs)


class NumberForm(FlaskForm):
    """Change the unit's one hotline number and its hours (editor of the unit, or inspector)."""

    number = StringField(
        _l("Số điện thoại đường dây nóng"),
        validators=[Length(max=200, message=TOO_LONG)],
        description=_l("Viết như thường viết: 0277 3851 234, (0277) 3.851.234, 0912 345 678, 0277 1022… Chỉ một số."),
    )
    hours = SelectField(_l("Thời gian trực"), choices=HOURS_CHOICES, validate_choice=False)
    reason = StringField(
        _l("Lý do thay đổi"), validators=[Length(max=500, message=TOO_LONG)],
        description=_l("Bắt buộc khi đổi số, ví dụ: “Chuyển sang tổng đài mới”."),
    )
    # Inspectors only: register a number other units already hold, all marked as deliberately shared.
    number_shared = BooleanField(_l("Số dùng chung có chủ đích với đơn vị khác (chỉ thanh tra viên)"))
    number_shared_note = _text(_l("Ghi chú dùng chung"), 300)


class ContactForm(FlaskForm):
    """The unit's contact person, e-mail and address."""

    contact_name = _text(_l("Người phụ trách đường dây nóng"))
    contact_email = _text(_l("Thư điện tử liên hệ"), render_kw={"type": "email", "autocomplete": "email"})
    address = _text(_l("Địa chỉ"), 300)
    contact_reason = _text(_l("Lý do thay đổi (không bắt buộc)"), 500)


class DetailsForm(FlaskForm):
    """Inspector-only fields: name, kind, group, parent unit, validity dates."""

    name = StringField(_l("Tên cơ quan, đơn vị, địa phương"), validators=[
        DataRequired(message=_l("Tên đơn vị không được để trống.")), Length(max=lengths.NAME, message=TOO_LONG)])
    kind = SelectField(_l("Loại đơn vị"), choices=KIND_CHOICES, validate_choice=False)
    group_code = SelectField(_l("Nhóm"), validate_choice=False)
    parent_code = SelectField(_l("Đơn vị cấp trên"), validate_choice=False)
    # Only on a unit's page (a new unit has its own `code`): replaces a code made by an import, say.
    unit_code = _text(_l("Mã đơn vị"), 40, description=_l("Chữ không dấu, số, dấu chấm hoặc gạch ngang. Đường dẫn của "
                                                          "trang đơn vị đổi theo mã mới."))
    valid_from = StringField(_l("Hiệu lực từ ngày"), widget=DateInput(), validators=[Optional()])
    valid_to = StringField(_l("Hiệu lực đến ngày"), widget=DateInput(), validators=[Optional()],
                           description=_l("Để trống nếu đơn vị đang hoạt động."))
    details_reason = _text(_l("Lý do thay đổi (không bắt buộc)"), 500)


class NewUnitForm(DetailsForm):
    """Create a unit (inspectors), optionally with its hotline."""

    code = StringField(
        _l("Mã đơn vị"), validators=[DataRequired(message=_l("Hãy nhập mã đơn vị.")), Length(max=40, message=TOO_LONG)],
        description=_l("Mã chính thức, chữ không dấu, số, dấu chấm hoặc gạch ngang, ví dụ SYT hoặc X-TAMNONG."),
    )
    contact_name = ContactForm.contact_name
    contact_email = ContactForm.contact_email
    address = ContactForm.address
    number = _text(_l("Số điện thoại đường dây nóng (không bắt buộc)"))
    hours = SelectField(_l("Thời gian trực"), choices=HOURS_CHOICES, validate_choice=False)


class SharedForm(FlaskForm):
    """Inspector marks the current number as deliberately shared (or not)."""

    shared = BooleanField(_l("Số này được dùng chung có chủ đích"))
    shared_note = _text(_l("Lý do dùng chung"), 300, description=_l("Bắt buộc khi đánh dấu, ví dụ: “Hai cơ quan cùng trụ sở, một tổng đài”."))


class FlagForm(FlaskForm):
    """Inspector clears the 'unreachable' flag after checking the number."""

    flag_reason = _text(_l("Lý do gỡ cờ"), 300, description=_l("Ví dụ: “Đã gọi lại, số hoạt động bình thường”."))


class InviteEditorForm(FlaskForm):
    """Inspector invites an editor for this unit."""

    invite_email = StringField(
        _l("Thư điện tử của biên tập viên"),
        validators=[DataRequired(message=_l("Hãy nhập thư điện tử.")), Length(max=200, message=TOO_LONG)],
        render_kw={"type": "email", "autocomplete": "off"},
    )
    invite_name = _text(_l("Họ tên"))


class GroupForm(FlaskForm):
    """A group (section of the appendix) and how often its hotlines are tested."""

    code = StringField(_l("Mã nhóm"), validators=[Length(max=16, message=TOO_LONG)],
                       description=_l("Ví dụ A, B, C; không đổi được sau khi tạo."))
    name = StringField(_l("Tên nhóm"), validators=[Length(max=200, message=TOO_LONG)])
    name_en = _text(_l("Tên tiếng Anh"))
    sort_order = StringField(_l("Thứ tự"), render_kw={"inputmode": "numeric"})
    tests_per_week = StringField(_l("Số lần gọi kiểm tra mỗi tuần"), render_kw={"inputmode": "numeric"},
                                 description=_l("Từ 0 đến 100, áp dụng cho mỗi số đường dây nóng trong nhóm."))
    min_tests = StringField(_l("Số cuộc gọi tối thiểu để kết luận"), render_kw={"inputmode": "numeric"},
                            description=_l("Từ 1 đến 100. Đơn vị có ít cuộc gọi được tính hơn trong kỳ báo cáo được "
                                           "ghi “Chưa đủ dữ liệu” thay vì Đạt hoặc Chưa đạt."))


class ImportForm(FlaskForm):
    """Upload of the appendix template (XLSX or CSV)."""

    file = FileField(_l("Tệp danh sách (XLSX hoặc CSV)"), validators=[FileRequired(message=_l("Hãy chọn một tệp."))],
                     render_kw={"accept": ".xlsx,.csv"})
    default_group = SelectField(_l("Nhóm của các dòng trước dòng mục đầu tiên"), validate_choice=False)
    dry_run = BooleanField(_l("Chỉ kiểm tra, không ghi gì"))

