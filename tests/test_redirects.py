"""Redirect detection on realistic Vietnamese transcripts, spoken numbers, and signalling."""
import pytest

from monitor.attempts.redirects import detect_redirect, is_same_number, spoken_digits

REGISTERED = "+842773851234"  # 0277 3851 234, Sở Y tế in the fixtures

# (transcript, redirect expected?, numbers expected among the finding's numbers)
TRANSCRIPTS = [
    # plain greetings and helpful answers: no redirect
    ("Dạ Sở Y tế xin nghe", False, []),
    ("Alo, đường dây nóng Ủy ban nhân dân xã Mỹ An nghe đây ạ", False, []),
    ("A lô, dạ em nghe, anh cần hỏi gì ạ?", False, []),
    ("Dạ đúng rồi anh, đây là số đường dây nóng, anh cần hỏi thủ tục gì ạ?", False, []),
    ("Dạ đúng rồi, số không hai bảy bảy ba tám năm một hai ba bốn là đường dây nóng của bên em", False, []),
    ("Dạ phải, số 0277 3851 234 là số đường dây nóng anh nhé", False, []),
    ("Dạ vâng, số ba tám năm một hai ba bốn đúng rồi anh", False, []),
    ("Dạ đúng rồi, số không hai bẩy bẩy, ba tám năm một, hai trăm ba mươi tư ạ", False, []),
    ("Dạ anh chờ máy một chút, em chuyển máy cho cán bộ phụ trách nhé", False, []),
    ("Anh giữ máy em nối máy sang phòng nghiệp vụ cho anh nhé", False, []),
    ("Thủ tục số 15 năm 2024 anh nộp hồ sơ online là được, mất khoảng năm ngày", False, []),
    ("Anh không cần liên hệ phòng nào khác đâu, em giải quyết luôn cho anh", False, []),
    ("Dạ anh cứ liên hệ bên em là được, giờ hành chính có người trực", False, []),
    ("Em liên hệ phòng kế toán rồi gọi lại báo anh sau nhé", False, []),
    ("Anh gọi đến Sở Y tế là đúng rồi ạ, anh cần hỏi gì", False, []),
    ("Hiện tại đang giờ nghỉ trưa, anh gọi lại sau một giờ chiều nhé", False, []),
    ("", False, []),
    # told to call another number: redirect
    ("Bên em không phụ trách việc này, anh gọi số 0277 3851 999 nhé", True, ["02773851999"]),
    ("Dạ đây là Sở Y tế, anh chị vui lòng gọi số không hai bảy bảy ba tám năm một không hai hai để được hỗ trợ",
     True, ["02773851022"]),
    ("Anh gọi qua số không chín một hai, ba bốn lăm, sáu bảy tám nha", True, ["0912345678"]),
    ("Số này không còn là đường dây nóng nữa, số mới là 0277.3852.468", True, ["02773852468"]),
    ("Anh liên hệ số không hai bảy bảy ba tám năm một, năm mươi tư, sáu mươi mốt", True, ["02773851"]),
    ("Anh gọi tổng đài một không hai hai hỏi giúp em nhé", True, ["1022"]),
    ("Dạ cái này anh gọi 1022 một lát là có người hướng dẫn", True, ["1022"]),
    ("Chị gọi cho bên phòng Tư pháp số không hai bảy bảy ba tám năm hai một linh năm nhé", True, ["0277385210"]),
    ("Anh liên hệ chị Lan số không chín không tám hai mốt năm lăm ba tư", True, ["0908215534"]),
    ("Alo, đây là số cá nhân, anh gọi số 02773 851 777 của cơ quan nhé", True, ["02773851777"]),
    # told to go or ask elsewhere without a number: redirect
    ("Anh liên hệ phòng một cửa ở xã nhé", True, []),
    ("Dạ cái này anh ra ủy ban xã hỏi nhé, bên em không nắm", True, []),
    ("Việc này không thuộc thẩm quyền của sở, anh hỏi bên huyện", True, []),
    ("Chị lên phường làm thủ tục trực tiếp nhé", True, []),
    ("Anh nhầm số rồi, đây là nhà riêng", True, []),
    ("Dạ đây không phải là đường dây nóng anh ơi", True, []),
    ("Anh vui lòng liên hệ bộ phận tiếp nhận và trả kết quả của huyện", True, []),
    ("Dạ bên em không giải quyết việc này ạ", True, []),
    ("Cái này anh chuyển sang bên công an hỏi nhé", True, []),
    ("Anh gọi sang đơn vị khác hỏi thử xem", True, []),
]


@pytest.mark.parametrize("transcript,expected,numbers", TRANSCRIPTS, ids=[t[0][:40] or "empty" for t in TRANSCRIPTS])
def test_detect_redirect_on_realistic_vietnamese_transcripts(transcript, expected, numbers):
    finding = detect_redirect(transcript, REGISTERED)
    assert (finding is not None) == expected, finding
    if finding:
        assert finding.reason
        for number in numbers:
            assert any(found.startswith(number) for found in finding.numbers), (number, finding.numbers)


def test_the_table_has_at_least_thirty_transcripts_both_ways():
    assert len(TRANSCRIPTS) >= 30
    assert sum(1 for t in TRANSCRIPTS if t[1]) >= 15
    assert sum(1 for t in TRANSCRIPTS if not t[1]) >= 15


@pytest.mark.parametrize(
    "text,expected",
    [
        ("không hai bảy bảy ba tám năm một hai ba bốn", ["02773851234"]),
        ("không hai bẩy bẩy ba tám năm một hai ba bốn", ["02773851234"]),
        ("0277 3851 999", ["02773851999"]),
        ("0277.3851.999", ["02773851999"]),
        ("0277-3851-999", ["02773851999"]),
        ("không chín một hai, ba bốn lăm, sáu bảy tám", ["0912345678"]),
        ("không chín không tám hai mốt năm lăm ba tư", ["0908215534"]),
        ("không hai bảy bảy, ba tám năm một, hai trăm ba mươi tư", ["02773851234"]),
        ("không hai bảy bảy, ba tám năm một, một trăm linh năm", ["02773851105"]),
        ("không hai bảy bảy, ba tám năm một, một trăm lẻ năm", ["02773851105"]),
        ("ba tám năm, mười hai, ba mươi tư", ["3851234"]),
        ("không chín mươi mốt, hai ba bốn, năm sáu bảy tám", ["0912345678"]),
        ("số một một ba", ["113"]),
        ("gọi 1022 một lát nữa", ["1022"]),
        ("thủ tục số 15 năm 2024", []),
        ("máy lẻ mười hai", []),
        ("cho em xin năm phút", []),
        (None, []),
    ],
)
def test_spoken_digits_reads_vietnamese_number_words_and_grouped_digits(text, expected):
    assert spoken_digits(text) == expected


@pytest.mark.parametrize(
    "digits,same",
    [
        ("02773851234", True),
        ("842773851234", True),
        ("3851234", True),  # said without the area code
        ("02773851235", False),  # a neighbouring line is another number
        ("02773851299", False),
        ("0277385124", False),
        ("02773861234", False),
    ],
)
def test_is_same_number_accepts_the_registered_number_in_its_spoken_forms(digits, same):
    assert is_same_number(digits, REGISTERED) is same


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"sip_code": 302}, "SIP 302"),
        ({"sip_code": 301}, "SIP 301"),
        ({"sip_code": 380}, "SIP 380"),
        ({"q850_cause": 22}, "số đã thay đổi"),
        ({"q850_cause": 23}, "chuyển hướng"),
        ({"forwarded_from": "+842773851234", "inbound": True}, "chuyển tiếp"),
    ],
)
def test_signalling_shows_a_redirect_without_any_transcript(kwargs, fragment):
    finding = detect_redirect(None, REGISTERED, **kwargs)
    assert finding is not None and fragment in finding.reason


@pytest.mark.parametrize("kwargs", [{"sip_code": 200}, {"sip_code": 486}, {"q850_cause": 16}, {"forwarded_from": ""}])
def test_ordinary_signalling_is_no_redirect(kwargs):
    assert detect_redirect("Dạ Sở Y tế xin nghe", REGISTERED, **kwargs) is None


def test_a_short_code_registered_number_repeated_back_is_no_redirect():
    assert detect_redirect("Dạ đúng rồi, tổng đài một không hai hai xin nghe", "1022") is None
    assert detect_redirect("Anh gọi số 0277 3851 234 nhé", "1022").numbers == ["02773851234"]


# Issue 9: speech as hotline staff speak it, north and south, with or without accents.
# (transcript, "redirect" | "held" | None): held = a redirect the rules cannot defend (certain=False).
SPEECH = [
    # southern speech
    ("Dạ cái này hổng phải bên em, anh gọi qua bển hỏi nha", "redirect"),
    ("Cái đó anh lên phường hỏi nha", "redirect"),
    ("Anh vô ủy ban xã hỏi thử coi", "redirect"),
    ("Anh ghé bộ phận một cửa huyện hỏi nha", "redirect"),
    ("Dạ cái này bển lo, anh qua bển nha", "redirect"),
    ("Cái đó anh qua bưu điện nha", "held"),
    # without diacritics
    ("Da viec nay ben em khong phu trach, anh hoi ben huyen nha", "redirect"),
    ("Anh goi qua so khong chin mot hai ba bon lam sau bay tam nha", "redirect"),
    ("Da so y te xin nghe, anh can hoi gi a", None),
    # negations anywhere in the sentence
    ("Dạ anh không cần gọi số khác đâu, bên em giải quyết luôn", None),
    ("Hổng phải gọi bển đâu anh, bên em làm được", None),
    ("Anh khỏi phải lên phường, em làm luôn cho anh", None),
    ("Không, anh gọi sang bên huyện nhé", "redirect"),
    ("Anh không cần gọi số 0912 345 678 đâu, bên em làm luôn", None),
    ("Anh khỏi gọi 1022, em giải quyết cho", None),
    ("Em không rõ lắm, nhưng anh không cần lên huyện, hỏi bên phòng tư pháp là được", "redirect"),
    # another agency's job; a complete answer that says where to submit
    ("Việc này là của bên công an huyện, anh gọi bên đó nha", "redirect"),
    ("Anh nộp hồ sơ tại bộ phận một cửa của phường, mang theo căn cước, năm ngày làm việc có kết quả", None),
    ("Anh liên hệ bộ phận một cửa của xã để nộp hồ sơ, mang theo giấy tờ tùy thân", None),
    ("Dạ anh ra bưu điện nộp hồ sơ là được", None),
    # transfers: kept on the line, or failed and turned into "call them yourself"
    ("Dạ anh chờ máy em chuyển qua phòng đất đai cho anh", None),
    ("Em chuyển máy qua phòng tư pháp mà không ai nghe máy, anh tự gọi số không hai bảy bảy ba tám năm hai hai hai hai nha",
     "redirect"),
    # numbers that are not referrals
    ("Số căn cước của anh là 012345678901 phải không", None),
    ("Dạ số CCCD không ba tám không chín không một hai ba bốn năm sáu bảy anh nhé", None),
    ("Mã hồ sơ của anh là H12.34-250101-0001, anh tra cứu trên cổng dịch vụ công", None),
    ("Hồ sơ số 000.00.12.H12-250101-0001 đã có kết quả", None),
    ("Anh chuyển khoản vào số tài khoản 0912345678 ngân hàng Vietcombank", None),
    ("Biên nhận của anh số 2501010001, hẹn trả ngày 25/01/2025", None),
    ("Dạ phòng 203 tầng 2 anh nhé", None),
    ("Dạ anh để lại số điện thoại, em gọi lại cho anh sau", None),
    ("Dạ số của anh là không chín một hai ba bốn năm sáu bảy tám phải không", None),
    ("Lệ phí là một trăm năm mươi nghìn đồng anh nhé", None),
    # numbers to call, spoken every way
    ("Anh gọi số ba trăm bốn lăm... à không, không chín không hai ba bốn năm sáu bảy tám", "redirect"),
    ("Anh liên hệ chị Hoa số 0905 123 456 nha", "redirect"),
    ("Em không biết, anh gọi 1022 hỏi thử", "redirect"),
    ("Anh gọi tổng đài một nghìn không trăm hai mươi hai nhé", "redirect"),
]


@pytest.mark.parametrize("transcript,expected", SPEECH, ids=[s[0][:40] for s in SPEECH])
def test_redirects_as_hotline_staff_speak(transcript, expected):
    finding = detect_redirect(transcript, REGISTERED)
    got = None if finding is None else ("redirect" if finding.certain else "held")
    assert got == expected, finding


@pytest.mark.parametrize("registered,spoken", [
    ("1022", "Dạ tổng đài không hai bảy bảy một không hai hai xin nghe"),
    ("1022", "Dạ đúng rồi, số 0277 1022 là đường dây nóng"),
    ("+842773851234", "Dạ đúng rồi, số cộng tám tư hai bảy bảy ba tám năm một hai ba bốn"),
    ("+842773851234", "Dạ số 84 277 3851 234 đúng rồi anh"),
    ("+842773851234", "Kính chào quý khách đã gọi đến tổng đài một không hai hai"),
])
def test_the_registered_number_in_any_of_its_forms_is_no_redirect(registered, spoken):
    assert detect_redirect(spoken, registered) is None


@pytest.mark.parametrize("text,expected", [
    ("ba trăm bốn lăm", ["345"]),
    ("một nghìn không trăm hai mươi hai", ["1022"]),
    ("khong hai bay bay ba tam nam mot hai ba bon", ["02773851234"]),
    ("0277 ba tám năm một 234", ["02773851234"]),
    ("không chín không, hai ba bốn, năm sáu bảy tám", ["0902345678"]),
])
def test_spoken_numbers_in_words_grouped_mixed_and_without_accents(text, expected):
    from monitor.attempts.speech import mentions
    assert [m.digits for m in mentions(text)] == expected


def test_a_long_number_that_makes_no_phone_number_is_held_not_counted():
    finding = detect_redirect("Anh gọi số 0277 385 12 nha", REGISTERED)  # nine digits: misheard
    assert finding is not None and finding.certain is False


def test_forwarded_from_on_an_outbound_call_is_no_redirect():
    assert detect_redirect("Dạ Sở Y tế xin nghe", REGISTERED, forwarded_from="+842773851234") is None
