"""Redirects and recordings as hotline staff and carriers really say them, beyond the phrasings of the corpus.

Hand cases for the word classes the rules read (place nouns, verbs of going and asking, "họ"/"bển" as the one
to call, deflections, negations, numbers that are not referrals, recording vocabulary), through the real
classification (monitor.attempts.outcomes.classify) or redirect detection.
"""
import pytest

from monitor.attempts.outcomes import classify
from monitor.attempts.redirects import detect_redirect, spoken_digits

REGISTERED = "0277 3851 234"


def outcome(transcript, answered_by="human", registered=REGISTERED):
    found = classify({"call_status": "completed", "answered_by": answered_by, "transcript": transcript}, registered)
    return found.outcome, found.certain


@pytest.mark.parametrize("transcript", [
    "anh tra trên mạng số của phòng tài nguyên rồi gọi họ nhé",  # "họ": the other body, after a look-up
    "dạ em không biết số bên đó anh lên mạng tìm rồi gọi thử",
    "chị ơi cái này chị ra ấp hỏi ông trưởng ấp nha",  # hamlets, neighbourhoods
    "vụ đó anh kêu tổ dân phố nha",  # "kêu" (southern: to call on)
    "dạ cái này là mảng của sở khoa học công nghệ nha anh",  # another body's field
    "răng anh không hỏi bên huyện tê",  # a suggestion, not a negation
    "thôi anh lên trển hỏi đi",  # "trển": up there
    "anh nói chuyện với trưởng công an xã đi",
    "anh ra đầu hẻm có văn phòng khu phố hỏi mấy anh đó nha",
    "em nối máy không được bên đó không ai trực anh chịu khó gọi họ sau nhé",  # failed transfer, call them yourself
    "anh gọi 1900 9068 nhé tổng đài bảo hiểm xã hội đó",  # 1900 numbers are phone numbers
])
def test_referrals_without_the_corpus_wording_are_counted(transcript):
    assert outcome(transcript) == ("redirected", True)


@pytest.mark.parametrize("transcript", [
    "cai nay ben thue lo anh a",  # another body does it, nobody sent anywhere
    "vụ đó người ta ở huyện làm anh à",
    "ờ chuyện đó hồi trước là bên huyện làm nhưng giờ xã làm rồi anh cứ ra xã nộp là được",
])
def test_another_body_named_as_the_doer_is_held(transcript):
    redirected_or_answered, certain = outcome(transcript)
    assert not certain


@pytest.mark.parametrize("transcript", [
    "số điện thoại anh đăng ký là 0912 345 999 phải không anh",  # the caller's number read back
    "dạ cán bộ đi vắng em ghi lại nội dung chiều anh ấy gọi lại cho anh theo số không chín tám tám bảy sáu năm bốn ba hai",
    "anh ơi hồ sơ anh sở đã ký rồi bên em gửi về cho anh qua bưu điện",  # the caller receives, is not sent
    "mai anh ghé văn phòng ấp gặp em em là trưởng ấp đây",  # the unit's own desk
    "em nghe rõ rồi để em báo công an xã xuống xử lý ngay",  # the unit handles it
    "thẻ bhyt của cháu thì anh ra ủy ban xã mình làm nha em là cán bộ lao động xã đây",
])
def test_answers_that_look_like_referrals_are_answers(transcript):
    assert outcome(transcript) == ("answered", True)


def test_a_negated_referral_beside_a_full_answer_is_never_counted():
    # "không phải ra huyện": a bare negation governs what follows; a referral the rules doubt is held, not counted.
    found = outcome("anh không phải ra huyện đâu xã làm được anh mang sổ hộ khẩu tới phòng một cửa xã là xong")
    assert found != ("redirected", True)


def test_1800_and_1900_numbers_are_read_as_phone_numbers():
    assert spoken_digits("anh gọi tổng đài một chín không không tám một chín tám nha") == ["19008198"]
    assert detect_redirect("anh liên hệ hotline một tám không không, một không chín sáu nha", REGISTERED).numbers == ["18001096"]


def test_a_transfer_that_did_not_go_through_and_turns_into_ask_them_is_a_redirect():
    found = detect_redirect("em chuyển máy qua phòng tư pháp không được, anh hỏi phòng tư pháp nhé", REGISTERED)
    assert found and found.certain


def test_southern_and_central_forms_of_address_are_a_person_speaking():
    assert outcome("ông gọi số 0236 3 888 777 hỏi sở giao thông hỉ", registered="+84 236 3822 111") == ("redirected", True)


@pytest.mark.parametrize("transcript, answered_by, expected", [
    ("số máy lẻ quý khách vừa bấm không đúng vui lòng bấm lại", "machine_start", "machine"),  # IVR, not the carrier
    ("đây là hộp thư thoại của số máy quý khách vừa gọi", "machine_end_silence", "machine"),
    ("bao quý khách vừa gọi hiện không", "machine_start", "unreachable"),  # half-heard carrier
    ("số máy quý khách vừa gọi đã bị cắt liên lạc", "machine_start", "unreachable"),
    ("số thuê bao này không có thật vui lòng kiểm tra lại", "unknown", "unreachable"),
    ("the number you have called is temporarily not reachable please try again later", "machine_end_other", "unreachable"),
    ("đường dây đang bận xin quý khách vui lòng gọi lại sau", "machine_start", "busy"),
    ("đây là hệ thống trả lời tự động của ủy ban nhân dân huyện", "human", "machine"),
    ("cảm ơn đã gọi đến đường dây nóng xin chờ trong giây lát", "human", "machine"),
])
def test_recordings_are_never_a_person(transcript, answered_by, expected):
    assert outcome(transcript, answered_by) == (expected, True)


def test_opening_hours_announced_by_a_line_are_out_of_hours():
    found = classify({"call_status": "completed", "answered_by": "machine_start",
                      "transcript": "đường dây nóng chỉ hoạt động trong giờ hành chính từ 7 giờ đến 17 giờ"}, REGISTERED)
    assert (found.outcome, found.certain) == ("machine", True) and "ngoài giờ" in found.detail
