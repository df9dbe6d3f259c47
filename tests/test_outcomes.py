"""classify(): every outcome from the evidence a finished call leaves, and the labels that go with them."""
import re

import pytest

from monitor import labels
from monitor.attempts.outcomes import BASES, COUNTS_AGAINST, FAILURES, OUTCOMES, classify

REGISTERED = "+842773851234"


def call(status, **fields):
    return {"call_status": status, **fields}


CASES = [
    # answered
    (call("completed", answered_by="human", transcript="Dạ Sở Y tế xin nghe", answer_seconds=7.0), "answered", "7 giây"),
    (call("completed", answered_by="unknown", transcript="Alo, em nghe"), "answered", "Có người"),
    (call("completed"), "answered", "Không ghi nhận được lời nói"),
    (call("completed", answered_by="machine_start", transcript="Alo, dạ xin nghe ạ"), "answered", "AMD đoán là máy"),
    # machine
    (call("completed", answered_by="machine_start"), "machine", "machine_start"),
    (call("completed", answered_by="machine_end_beep", transcript=""), "machine", "AMD"),
    (call("completed", answered_by="fax"), "machine", "fax"),
    (call("completed", answered_by="human", transcript="Cảm ơn quý khách đã gọi đến Sở Y tế, vui lòng bấm phím 1"), "machine", "tự động"),
    (call("completed", transcript="Hiện không có cán bộ trực, vui lòng để lại lời nhắn sau tiếng bíp"), "machine", "lời nhắn"),
    # no answer
    (call("no-answer", sip_code=487), "no_answer", "SIP 487"),
    (call("no-answer"), "no_answer", "không ai nghe"),
    (call("failed", sip_code=408), "no_answer", "SIP 408"),
    (call("failed", q850_cause=19), "no_answer", "Q.850 19"),
    # busy
    (call("busy", sip_code=486), "busy", "máy bận"),
    (call("failed", sip_code=600), "busy", "SIP 600"),
    (call("failed", sip_code=603), "busy", "từ chối"),
    (call("failed", q850_cause=17), "busy", "Q.850 17"),
    (call("completed", answered_by="machine_start", transcript="Thuê bao quý khách vừa gọi hiện đang bận"), "busy", "đang bận"),
    # unreachable
    (call("failed", sip_code=404), "unreachable", "SIP 404"),
    (call("failed", sip_code=604), "unreachable", "SIP 604"),
    # failed without a carrier code that means it: our side, never the unit's (Twilio's own failures)
    (call("failed", sip_code=480), "provider_error", "SIP 480"),
    (call("failed", error="13227: Geo Permission"), "provider_error", "13227"),
    (call("failed", transcript="Thuê bao quý khách vừa gọi không liên lạc được"), "unreachable", "nhà mạng"),
    (call("failed", sip_code=410), "unreachable", "SIP 410"),
    (call("failed", sip_code=484), "unreachable", "SIP 484"),
    (call("failed"), "provider_error", "không có mã SIP"),
    (call("failed", q850_cause=1), "unreachable", "Q.850 1"),
    (call("completed", answered_by="machine_start",
          transcript="Thuê bao quý khách vừa gọi tạm thời không liên lạc được, xin vui lòng gọi lại sau"),
     "unreachable", "không liên lạc được"),
    (call("completed", transcript="Số máy quý khách vừa gọi không có thực, xin kiểm tra lại"), "unreachable", "không có thực"),
    (call("completed", transcript="The number you have dialled is not in service"), "unreachable", "not in service"),
    # redirected
    (call("completed", answered_by="human", transcript="Bên em không phụ trách, anh gọi số 0277 3851 999 nhé"),
     "redirected", "02773851999"),
    (call("completed", answered_by="machine_start", transcript="Số đường dây nóng đã thay đổi, vui lòng gọi số 0277 3852 468"),
     "redirected", "02773852468"),
    (call("completed", transcript="Anh liên hệ phòng một cửa ở xã nhé"), "redirected", "liên hệ"),
    (call("failed", sip_code=302), "redirected", "SIP 302"),
    (call("completed", q850_cause=23), "redirected", "Q.850"),
    # ForwardedFrom is documented for incoming calls only: on our outbound test calls it is no redirect.
    (call("completed", forwarded_from="+842773851234", transcript="Alo", answered_by="human"), "answered", "Có người"),
    # provider_error: our side
    (call("canceled"), "provider_error", "hủy"),
    (call("failed", sip_code=403), "provider_error", "SIP 403"),
    (call("failed", sip_code=503), "provider_error", "SIP 503"),
    (call("failed", q850_cause=34), "provider_error", "Q.850 34"),
    (call(None), "provider_error", "trạng thái cuối"),
]


@pytest.mark.parametrize("attempt,outcome,fragment", CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_classify_gives_the_outcome_and_a_vietnamese_detail_naming_the_evidence(attempt, outcome, fragment):
    got, detail, *_ = classify(attempt, REGISTERED)
    assert got == outcome
    assert fragment in detail


def test_every_outcome_is_reachable_by_classify():
    assert {case[1] for case in CASES} == set(OUTCOMES)


def test_operator_repeating_the_registered_number_is_answered_not_redirected():
    outcome, *_ = classify(call("completed", answered_by="human",
                               transcript="Dạ đúng rồi, số không hai bảy bảy ba tám năm một hai ba bốn ạ"), REGISTERED)
    assert outcome == "answered"


def test_labels_and_counting_rules_cover_every_outcome_and_never_charge_our_side():
    assert set(labels.OUTCOME) == set(COUNTS_AGAINST) == set(OUTCOMES)
    assert COUNTS_AGAINST["provider_error"] is False and COUNTS_AGAINST["answered"] is False
    assert set(FAILURES) == {"machine", "no_answer", "busy", "unreachable", "redirected"}


@pytest.mark.parametrize("lang, code, label", [
    ("vi", "answered", "Có người nghe máy"),
    ("vi", "provider_error", "Lỗi phía hệ thống (không tính)"),
    ("en", "answered", "Answered by a person"),
    ("en", "machine", "Answering machine or IVR"),
    ("en", "no_answer", "No answer"),
    ("en", "busy", "Busy"),
    ("en", "unreachable", "Unreachable"),
    ("en", "redirected", "Redirected elsewhere"),
    ("en", "provider_error", "Our side failed (not counted)"),
])
def test_outcome_labels_come_from_monitor_labels_in_the_readers_language(app, lang, code, label):
    with app.test_request_context(f"/?lang={lang}"):
        assert labels.outcome(code) == label


def test_every_outcome_has_a_distinct_label_in_both_languages(app):
    for lang in ("vi", "en"):
        with app.test_request_context(f"/?lang={lang}"):
            names = [labels.outcome(code) for code in OUTCOMES]
            assert len(set(names)) == len(OUTCOMES) and all(name and name not in OUTCOMES for name in names)


@pytest.mark.parametrize("attempt, basis", [
    (call("busy", sip_code=486), "signalling"),
    (call("no-answer"), "signalling"),
    (call("completed", answered_by="machine_end_beep"), "amd"),
    (call("completed", transcript="Alo, Sở Y tế xin nghe."), "transcript"),
    (call("completed", transcript="Xin vui lòng để lại lời nhắn sau tiếng bíp."), "transcript"),
    (call("canceled"), "our_side"),
])
def test_every_outcome_says_what_it_rests_on(attempt, basis):
    found = classify(attempt, REGISTERED)
    assert found.basis == basis
    assert found.basis in BASES
    assert found.certain is True


# Issue 9: recordings are never a person, and what the rules cannot defend is held for review.
HELD_OR_NOT = [
    # (attempt, outcome, certain, fragment of the detail)
    (call("completed", answered_by="unknown", transcript="Cuộc gọi của quý khách đang được kết nối, xin vui lòng chờ trong giây lát"),
     "machine", True, "tự động"),
    (call("completed", transcript="cuoc goi cua quy khach dang duoc ket noi xin vui long cho trong giay lat"), "machine", True, "tự động"),
    (call("completed", answered_by="human", transcript="Tất cả điện thoại viên đều đang bận, xin quý khách vui lòng giữ máy"),
     "machine", True, "tự động"),
    (call("completed", transcript="Để nâng cao chất lượng phục vụ, cuộc gọi của quý khách có thể được ghi âm"), "machine", True, "ghi âm"),
    (call("completed", transcript="Xin chào, quý khách đã gọi ngoài giờ làm việc. Thời gian làm việc từ bảy giờ đến mười bảy giờ"),
     "machine", True, "ngoài giờ làm việc"),
    (call("completed", transcript="Hôm nay là ngày nghỉ, quý khách vui lòng gọi lại vào giờ hành chính"), "machine", True,
     "ngoài giờ làm việc"),
    (call("completed", transcript="Thue bao quy khach vua goi tam thoi khong lien lac duoc"), "unreachable", True, "nhà mạng"),
    (call("completed", transcript="The subscriber you are calling is switched off"), "unreachable", True, "nhà mạng"),
    (call("completed", transcript="Số máy quý khách vừa gọi hiện không sử dụng"), "unreachable", True, "nhà mạng"),
    (call("completed", transcript="so may quy khach vua goi dang ban"), "busy", True, "đang bận"),
    # a person after the recording answered
    (call("completed", transcript="Cuộc gọi này sẽ được ghi âm | Alo dạ em nghe"), "answered", True, "sau lời ghi âm"),
    (call("completed", transcript="cuộc gọi của quý khách sẽ được ghi âm alo em nghe anh ơi"), "answered", True, "sau lời ghi âm"),
    # conflicting evidence: held
    (call("completed", answered_by="human", transcript="Kính chào quý khách đã gọi đến Sở Y tế"), "machine", False, "Lời chào tự động"),
    (call("completed", answered_by="machine_end_beep", transcript="dạ"), "answered", False, "AMD đoán là máy"),
    (call("completed", answered_by="unknown", transcript="Xin chào, đây là tổng đài, xin nghe, bấm phím 1 để gặp cán bộ"),
     "machine", False, "cần người xem lại"),
    # AMD's weakest verdicts against a person's greeting: the greeting wins
    (call("completed", answered_by="machine_start", transcript="Alo, phòng một cửa xin nghe"), "answered", True, "AMD đoán là máy"),
    # no or too few words, no AMD verdict: held
    (call("completed", answered_by="unknown"), "answered", False, "Không ghi nhận được lời nói"),
    (call("completed"), "answered", False, "Không ghi nhận được lời nói"),
    (call("completed", transcript="vâng"), "answered", False, "quá ngắn"),
    (call("completed", answered_by="machine_start"), "machine", False, "cần người xem lại"),
    (call("completed", answered_by="human"), "answered", True, "AMD"),
    # low speech confidence: words alone decide nothing
    (call("completed", transcript="Bên em không phụ trách, anh gọi số 0277 3851 999 nhé", speech_confidence=0.31),
     "redirected", False, "Độ tin cậy"),
    (call("completed", answered_by="unknown", transcript="Alo em nghe", speech_confidence=0.2), "answered", False, "Độ tin cậy"),
    (call("completed", answered_by="human", transcript="Alo em nghe", speech_confidence=0.2), "answered", True, "Có người"),
    (call("completed", transcript="Bên em không phụ trách, anh gọi số 0277 3851 999 nhé", speech_confidence=0.88),
     "redirected", True, "02773851999"),
    # referrals: counted, held or none
    (call("completed", transcript="Cái đó anh qua bưu điện nha"), "redirected", False, "nơi khác"),
    (call("completed", transcript="Dạ anh không cần gọi số khác đâu, bên em giải quyết luôn"), "answered", True, "Có người"),
    (call("completed", transcript="Số căn cước của anh là 012345678901 phải không ạ"), "answered", True, "Có người"),
    # signalling stays certain
    (call("busy", sip_code=486), "busy", True, "máy bận"),
    (call("no-answer", sip_code=487), "no_answer", True, "SIP 487"),
    (call("failed", sip_code=404), "unreachable", True, "SIP 404"),
]


@pytest.mark.parametrize("attempt,outcome,certain,fragment", HELD_OR_NOT, ids=[f"{c[1]}-{i}" for i, c in enumerate(HELD_OR_NOT)])
def test_recordings_are_never_a_person_and_doubtful_calls_are_held(attempt, outcome, certain, fragment):
    found = classify(attempt, REGISTERED)
    assert (found.outcome, found.certain) == (outcome, certain), found.detail
    assert fragment in found.detail
    assert found.basis in BASES


def test_details_quote_the_words_as_spoken_with_their_accents():
    found = classify(call("completed", transcript="Dạ cái này hổng phải bên em, anh gọi qua bển hỏi nha"), REGISTERED)
    assert found.outcome == "redirected" and "hổng phải bên em" in found.detail


def test_the_rules_have_a_version_for_reclassification():
    from monitor.attempts.outcomes import RULES_VERSION
    assert re.fullmatch(r"\d{4}\.\d{2}-\d+", RULES_VERSION)
