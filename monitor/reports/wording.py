"""The report's words: its title, the reasons a unit fails, the recommendations, headings and chart texts.

Everything a reader reads goes through gettext with named placeholders; the msgids are the office's
Vietnamese text (translations/en holds the English). The page shows the report in the reader's language;
the official exports are rendered in Vietnamese (render.render forces the locale). Functions return text in
the locale current when they are called; the `_l` ones are lazy and take the locale current when shown.
This module changes with the office's style, not with the figures.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape

from monitor.reports.tally import FAST_SECONDS
from registry import letterhead

# The letterhead of the official document: proper names of the issuing body and the office, kept in the
# registry so that its own documents (the logbook's summary) print the same.
AUTHORITY, OFFICE, PLACE = letterhead.AUTHORITY, letterhead.OFFICE, letterhead.PLACE
NUMBER = "Số:\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-VPUBND"  # the number is written in by the clerk
RECIPIENTS = (
    "Chủ tịch, các Phó Chủ tịch UBND Tỉnh (b/c);",
    "Lãnh đạo Văn phòng UBND Tỉnh;",
    "Các cơ quan, đơn vị, địa phương (thực hiện);",
    "Lưu: VT, KSTTHC.",
)
# The chairman's letter every recommendation cites; named in the reader's language on the page.
LETTER = _l("Công văn ngày 04/9/2021 của Chủ tịch Ủy ban nhân dân Tỉnh về việc chấn chỉnh, củng cố hoạt động các "
            "đường dây nóng trên địa bàn tỉnh Đồng Tháp")
LIST_LIMIT = 30  # names listed in a recommendation before "và N đơn vị khác"

# Headings of the league table's columns (CSV, XLSX), in the order every format shows them.
LEAGUE_COLUMNS = [
    ("rank", _l("Hạng trong nhóm")), ("group", _l("Nhóm")), ("code", _l("Mã đơn vị")), ("name", _l("Tên đơn vị")),
    ("number", _l("Số đường dây nóng")), ("hours", _l("Thời gian trực")), ("tests_counted", _l("Cuộc gọi được tính")),
    ("answered", _l("Có người nghe")), ("answer_rate", _l("Tỷ lệ có người nghe")),
    ("answer_rate_low", _l("Cận dưới khoảng tin cậy 95%")), ("answer_rate_high", _l("Cận trên khoảng tin cậy 95%")),
    ("previous_answer_rate", _l("Tỷ lệ kỳ trước")), ("change", _l("Thay đổi (điểm %)")),
    ("fast_rate", _l("Nghe trong %(seconds)s giây", seconds=FAST_SECONDS)),
    ("median_seconds", _l("Trung vị giây đến khi nghe")), ("p90_seconds", _l("Phân vị 90 giây đến khi nghe")),
    ("machine", _l("Máy trả lời tự động")), ("no_answer", _l("Không nghe máy")), ("busy", _l("Máy bận")),
    ("unreachable", _l("Không liên lạc được")), ("redirected", _l("Chuyển sang số hoặc nơi khác")),
    ("confirmed_failures", _l("Lỗi đã xác nhận")), ("reviewed_failures", _l("Lỗi do cán bộ kiểm tra xem xét")),
    ("longest_run", _l("Chuỗi lỗi liên tiếp dài nhất")),
    ("out_of_hours_tests", _l("Cuộc gọi ngoài giờ (riêng)")), ("out_of_hours_answered", _l("Ngoài giờ có người nghe")),
    ("excluded", _l("Cuộc gọi loại trừ")), ("excluded_held", _l("Loại trừ: chờ cán bộ xem xét")),
    ("excluded_dispute_accepted", _l("Loại trừ: giải trình được chấp nhận")),
    ("excluded_provider_error", _l("Loại trừ: lỗi phía hệ thống gọi hoặc nhà mạng")),
    ("min_tests", _l("Số cuộc tối thiểu để kết luận")), ("has_number", _l("Đã đăng ký số")),
    ("flagged", _l("Số bị đánh dấu không liên lạc được")), ("shared", _l("Số dùng chung")),
    ("number_changed", _l("Số cập nhật lần cuối")),
    ("logbook", _l("Ghi sổ")), ("logbook_rate", _l("Tỷ lệ ghi sổ")), ("logbook_late", _l("Ghi sổ muộn")),
    ("logbook_not_logged", _l("Cuộc gọi không ghi sổ")), ("overdue", _l("Phiếu quá hạn")),
    ("transferred_repeatedly", _l("Phiếu chuyển từ hai lần trở lên")), ("status", _l("Kết quả")),
]


def title(period_label: str, group: str | None, group_name: str | None) -> str:
    """The report's title: what was checked, for which group, over which period."""
    if not group:
        return _("Kết quả kiểm tra, giám sát hoạt động đường dây nóng %(period)s", period=period_label)
    if group_name:
        return _("Kết quả kiểm tra, giám sát hoạt động đường dây nóng nhóm %(group)s (%(name)s) %(period)s",
                 group=group, name=group_name, period=period_label)
    return _("Kết quả kiểm tra, giám sát hoạt động đường dây nóng nhóm %(group)s %(period)s",
             group=group, period=period_label)


def _confirmed_text(count: int) -> str:
    return _("%(count)s lỗi đã được cuộc gọi lại xác nhận", count=count)


def _reviewed_text(count: int) -> str:
    return _("%(count)s lỗi đã được cán bộ kiểm tra xem xét và giữ nguyên", count=count)


def _interval_text(rate: float, low: float, high: float, minimum: float) -> str:
    return _("tỷ lệ có người nghe máy %(rate)s, cả khoảng tin cậy 95%% (%(low)s–%(high)s) thấp hơn mức %(minimum)s",
             rate=f"{rate:.0%}", low=f"{low:.0%}", high=f"{high:.0%}", minimum=f"{minimum:.0%}")


def _insufficient_text(counted: int, minimum: int) -> str:
    return _("mới có %(counted)s cuộc gọi được tính, cần ít nhất %(minimum)s cuộc để kết luận",
             counted=counted, minimum=minimum)


class Lazy:
    """Words put in the locale current when they are read (str(), `in`, a template), not when made."""

    __slots__ = ("_words", "_args")

    def __init__(self, words, *args):
        self._words, self._args = words, args

    def __str__(self) -> str:
        return self._words(*self._args)

    def __contains__(self, text: str) -> bool:
        return text in str(self)

    def __html__(self) -> str:
        return escape(str(self))

    def __repr__(self) -> str:
        return repr(str(self))


# A unit's reasons for failing are lazy: judge() gives them to every failing unit of a large province (a
# microsecond each), and they are worded only when read, in the language of whoever reads them.
def confirmed_reason(count: int) -> Lazy:
    return Lazy(_confirmed_text, count)


def reviewed_reason(count: int) -> Lazy:
    return Lazy(_reviewed_text, count)


def interval_reason(rate: float, low: float, high: float, minimum: float) -> Lazy:
    return Lazy(_interval_text, rate, low, high, minimum)


def insufficient_reason(counted: int, minimum: int) -> Lazy:
    return Lazy(_insufficient_text, counted, minimum)


def verdict_rule(min_answer_rate: float, min_tests: dict) -> list[str]:
    """The verdict rule in plain words, one sentence a line; min_tests: group code → counted tests needed."""
    counts = sorted(set(min_tests.values()))
    if len(counts) <= 1:
        first = _("Một đơn vị chỉ được kết luận khi có ít nhất %(count)s cuộc gọi được tính trong kỳ; ít hơn thì "
                  "ghi “Chưa đủ dữ liệu”.", count=counts[0] if counts else 4)
    else:
        first = _("Một đơn vị chỉ được kết luận khi có đủ số cuộc gọi được tính trong kỳ mà nhóm của đơn vị quy "
                  "định (%(list)s); ít hơn thì ghi “Chưa đủ dữ liệu”.",
                  list="; ".join(f"{group_label(code)}: {n}" for code, n in min_tests.items()))
    return [
        first,
        _("Bên cạnh mỗi tỷ lệ có người nghe là khoảng tin cậy 95% (phương pháp Wilson): với số cuộc gọi đã "
          "thực hiện, tỷ lệ thật của đơn vị nằm trong khoảng này với độ tin cậy 95%. Càng ít cuộc gọi, khoảng "
          "càng rộng."),
        _("Đơn vị “Chưa đạt” khi có ít nhất một cuộc gọi không đạt đã được cuộc gọi lại xác nhận hoặc đã được "
          "cán bộ kiểm tra xem xét, hoặc khi cả khoảng tin cậy nằm dưới mức %(minimum)s; các trường hợp còn lại "
          "là “Đạt”. Một cuộc gọi không đạt chưa được xác nhận không tự làm đơn vị chưa đạt.",
          minimum=f"{min_answer_rate:.0%}"),
        _("Không tính vào kết quả, và được thống kê riêng theo từng lý do: cuộc gọi đang chờ cán bộ kiểm tra xem "
          "xét, cuộc gọi có giải trình được chấp nhận, cuộc gọi lỗi do hệ thống gọi hoặc nhà mạng (không phải "
          "lỗi của đơn vị)."),
    ]


def hours(office_hours: bool) -> str:
    return _("Giờ hành chính") if office_hours else _("24/24 giờ")


def yes_no(value: bool) -> str:
    return _("có") if value else _("không")


def group_label(code: str) -> str:
    return _("Nhóm %(code)s", code=code)


def total_label() -> tuple[str, str]:
    """Label and name of the total row under the groups."""
    return _("Tổng"), _("Toàn bộ")


def band_chart_title(period_label: str, unit_name: str | None = None) -> str:
    if unit_name:
        return _("Tỷ lệ có người nghe máy theo khung giờ: %(unit)s", unit=unit_name)
    return _("Tỷ lệ có người nghe máy theo khung giờ, %(period)s", period=period_label)


def calls_note(answered: int, tests: int) -> str:
    return _("%(answered)s/%(tests)s cuộc", answered=answered, tests=tests)


def trend_chart_title() -> str:
    return _("Tỷ lệ có người nghe máy theo nhóm qua các kỳ")


def trend_series(code: str, name: str | None) -> str:
    if name:
        return _("Nhóm %(code)s – %(name)s", code=code, name=name)
    return group_label(code)


def province() -> str:
    return _("Toàn tỉnh")


def _names(results, limit: int = LIST_LIMIT) -> str:
    names = [r.unit["name"] for r in results]
    if len(names) > limit:
        return "; ".join(names[:limit]) + " " + _("và %(count)s đơn vị khác", count=len(names) - limit)
    return "; ".join(names)


def recommendations(m, failing: list) -> list[str]:
    """Section IV, generated from the data: who is to be reminded, re-registered, corrected."""
    no_number, flagged, redirected, machine, office, insufficient = [], [], [], [], [], []
    for u in m.units:  # one pass: ten thousand units in a large province
        if u.status == "insufficient":
            insufficient.append(u)
        compliance = u.compliance
        if not compliance["has_number"]:
            no_number.append(u)
        elif u.office_hours:
            office.append(u)
        if compliance["flagged"]:
            flagged.append(u)
        if u.tally.outcomes.get("redirected"):
            redirected.append(u)
        if u.tally.outcomes.get("machine"):
            machine.append(u)
    out = []
    if failing:
        out.append(_(
            "Đề nghị Chủ tịch Ủy ban nhân dân Tỉnh nhắc nhở Thủ trưởng %(count)s cơ quan, đơn vị, địa phương "
            "chưa đạt yêu cầu tại Mục III thực hiện nghiêm %(letter)s; bố trí người trực đường dây nóng "
            "24/24 giờ và báo cáo giải trình, kết quả khắc phục trong thời hạn 05 ngày làm việc: %(names)s.",
            count=len(failing), letter=LETTER, names=_names(failing)))
    if insufficient:
        out.append(_(
            "%(count)s cơ quan, đơn vị, địa phương chưa có đủ số cuộc gọi được tính để kết luận trong kỳ; Văn phòng "
            "Ủy ban nhân dân Tỉnh tiếp tục gọi kiểm tra các đơn vị này: %(names)s.",
            count=len(insufficient), names=_names(insufficient)))
    if no_number:
        out.append(_(
            "Đề nghị %(count)s cơ quan, đơn vị, địa phương chưa đăng ký số đường dây nóng khẩn trương "
            "đăng ký một số duy nhất trên hệ thống: %(names)s.", count=len(no_number), names=_names(no_number)))
    if flagged:
        out.append(_(
            "Đề nghị %(count)s đơn vị có số đường dây nóng đang bị đánh dấu không liên lạc được kiểm tra lại "
            "thuê bao và đăng ký lại số đúng trên hệ thống: %(names)s.", count=len(flagged), names=_names(flagged)))
    if redirected:
        out.append(_(
            "Đề nghị %(count)s đơn vị có cuộc gọi bị hướng dẫn gọi sang số khác hoặc chuyển đi nơi khác "
            "chấn chỉnh ngay, tiếp nhận và xử lý phản ánh tại chính số đường dây nóng đã công bố, không để người "
            "dân phải gọi lòng vòng: %(names)s.", count=len(redirected), names=_names(redirected)))
    if machine:
        out.append(_(
            "Đề nghị %(count)s đơn vị có cuộc gọi chỉ gặp máy trả lời tự động bố trí người trực tiếp nghe "
            "máy: %(names)s.", count=len(machine), names=_names(machine)))
    if office:
        out.append(_(
            "%(count)s đường dây nóng chỉ trực trong giờ hành chính (kết quả ngoài giờ được thống kê riêng); "
            "đề nghị các đơn vị này bố trí trực 24/24 giờ theo %(letter)s: %(names)s.",
            count=len(office), letter=LETTER, names=_names(office)))
    if not failing:
        out.append(_("Các cơ quan, đơn vị, địa phương tiếp tục duy trì tốt việc trực và tiếp nhận thông tin qua "
                     "đường dây nóng."))
    out.append(_("Văn phòng Ủy ban nhân dân Tỉnh tiếp tục kiểm tra, giám sát định kỳ và báo cáo Chủ tịch Ủy ban nhân "
                 "dân Tỉnh theo quy định."))
    return out
