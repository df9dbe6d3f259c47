"""Tests for registry.numbers: written hotline numbers in, stored/display forms or Vietnamese refusals out."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.numbers import Hotline, NumberError, display_number, normalize_digits, parse_hotline

DT = "+842773851234"  # Đồng Tháp landline used throughout
DT_SHOW = "0277 3851 234"
MOB = "+84912345678"
MOB_SHOW = "0912 345 678"

ACCEPTED = [
    # Đồng Tháp landline, in every way it turns up on government pages
    ("0277 3851 234", DT, "landline", DT_SHOW),
    ("02773851234", DT, "landline", DT_SHOW),
    ("0277 3851234", DT, "landline", DT_SHOW),
    ("0277-3851-234", DT, "landline", DT_SHOW),
    ("0277.3851.234", DT, "landline", DT_SHOW),
    ("0277.3.851.234", DT, "landline", DT_SHOW),
    ("(0277) 3 851 234", DT, "landline", DT_SHOW),
    ("(0277) 3851234", DT, "landline", DT_SHOW),
    ("(0277)3.851.234", DT, "landline", DT_SHOW),
    ("0277 - 3851 - 234", DT, "landline", DT_SHOW),
    ("0277 385 1234", DT, "landline", DT_SHOW),
    ("+84 (0) 277 3851 234", DT, "landline", DT_SHOW),
    ("+84 277 3851 234", DT, "landline", DT_SHOW),
    ("+84 277 385 1234", DT, "landline", DT_SHOW),
    ("+842773851234", DT, "landline", DT_SHOW),
    ("84 277 3851234", DT, "landline", DT_SHOW),
    ("842773851234", DT, "landline", DT_SHOW),
    ("(+84) 277 3851 234", DT, "landline", DT_SHOW),
    ("0084 277 3851 234", DT, "landline", DT_SHOW),
    ("  0277 3851 234  ", DT, "landline", DT_SHOW),
    ("0277.3.837.210", "+842773837210", "landline", "0277 3837 210"),
    # labels around the number contribute no digits
    ("ĐT: 0277 3851 234", DT, "landline", DT_SHOW),
    ("Điện thoại: 0277.3851.234", DT, "landline", DT_SHOW),
    ("Tel: (0277) 3851 234", DT, "landline", DT_SHOW),
    ("0277 3851 234 (anh Nam)", DT, "landline", DT_SHOW),
    ("0277 3851 234 (Văn phòng UBND)", DT, "landline", DT_SHOW),
    ("ĐT: 0277 3851 234 (anh Nam)", DT, "landline", DT_SHOW),
    ("0277 3851 234 (P.2)", DT, "landline", DT_SHOW),
    ("0277 3851 234 (phòng 12)", DT, "landline", DT_SHOW),
    ("0277 3851 234 (7h-17h)", DT, "landline", DT_SHOW),
    ("Đường dây nóng: 0277 3851 234.", DT, "landline", DT_SHOW),
    # landline without area code is local to default_area
    ("3851 234", DT, "landline", DT_SHOW),
    ("3.851.234", DT, "landline", DT_SHOW),
    # other provinces
    ("0273 3851 234", "+842733851234", "landline", "0273 3851 234"),
    ("0273 - 3851234", "+842733851234", "landline", "0273 3851 234"),
    ("024 3825 1234", "+842438251234", "landline", "024 3825 1234"),
    ("(024) 38.25.12.34", "+842438251234", "landline", "024 3825 1234"),
    ("028 3829 1234", "+842838291234", "landline", "028 3829 1234"),
    ("0292 3820 123", "+842923820123", "landline", "0292 3820 123"),
    ("0296 3852 123", "+842963852123", "landline", "0296 3852 123"),
    ("0270 3822 123", "+842703822123", "landline", "0270 3822 123"),
    # mobiles
    ("0912 345 678", MOB, "mobile", MOB_SHOW),
    ("0912.345.678", MOB, "mobile", MOB_SHOW),
    ("091 234 5678", MOB, "mobile", MOB_SHOW),
    ("0912345678", MOB, "mobile", MOB_SHOW),
    ("0912-345-678", MOB, "mobile", MOB_SHOW),
    ("+84912345678", MOB, "mobile", MOB_SHOW),
    ("+84 912 345 678", MOB, "mobile", MOB_SHOW),
    ("+84 (0) 912 345 678", MOB, "mobile", MOB_SHOW),
    ("84912345678", MOB, "mobile", MOB_SHOW),
    ("Hotline: 0912345678", MOB, "mobile", MOB_SHOW),
    ("Hotline: +84912345678", MOB, "mobile", MOB_SHOW),
    ("0912345678 - chị Lan", MOB, "mobile", MOB_SHOW),
    ("DĐ: 0912 345 678 (Chánh Văn phòng)", MOB, "mobile", MOB_SHOW),
    ("0983 456 789", "+84983456789", "mobile", "0983 456 789"),
    ("0868.123.456", "+84868123456", "mobile", "0868 123 456"),
    ("0339 876 543", "+84339876543", "mobile", "0339 876 543"),
    ("0703 123 456", "+84703123456", "mobile", "0703 123 456"),
    ("0789 012 345", "+84789012345", "mobile", "0789 012 345"),
    ("0834 567 890", "+84834567890", "mobile", "0834 567 890"),
    ("0563 456 789", "+84563456789", "mobile", "0563 456 789"),
    ("0598 765 432", "+84598765432", "mobile", "0598 765 432"),
    # short numbers, bare or behind an area code
    ("1022", "1022", "short", "1022"),
    ("Tổng đài 1022", "1022", "short", "1022"),
    ("111", "111", "short", "111"),
    ("0277 1022", "02771022", "short", "0277 1022"),
    ("0277.1022", "02771022", "short", "0277 1022"),
    ("(0277) 1022", "02771022", "short", "0277 1022"),
    ("02771022", "02771022", "short", "0277 1022"),
    ("0273 1022", "02731022", "short", "0273 1022"),
    ("024 1022", "0241022", "short", "024 1022"),
    # 1800 toll-free, 1900 premium
    ("1800 1234", "+8418001234", "tollfree", "1800 1234"),
    ("18001234", "+8418001234", "tollfree", "1800 1234"),
    ("1800.1234", "+8418001234", "tollfree", "1800 1234"),
    ("1800 123 456", "+841800123456", "tollfree", "1800 123 456"),
    ("1800123456", "+841800123456", "tollfree", "1800 123 456"),
    ("1800 599 920", "+841800599920", "tollfree", "1800 599 920"),
    ("1900 1234", "+8419001234", "premium", "1900 1234"),
    ("1900.6868", "+8419006868", "premium", "1900 6868"),
    ("1900 123 456", "+841900123456", "premium", "1900 123 456"),
    ("1900571234", "+841900571234", "premium", "1900 571 234"),
]


@pytest.mark.parametrize(("written", "number", "kind", "display"), ACCEPTED)
def test_parse_hotline_reads_every_written_form_officials_use(written, number, kind, display):
    assert parse_hotline(written) == Hotline(number, kind, display, written.strip())


@pytest.mark.parametrize(("written", "number", "kind", "display"), ACCEPTED)
def test_display_number_of_the_stored_value_gives_the_written_form_with_and_without_kind(
    written, number, kind, display
):
    assert display_number(number, kind) == display
    assert display_number(number) == display


def test_parse_hotline_uses_default_area_for_a_landline_written_without_area_code():
    assert parse_hotline("3851 234", default_area="0273").number == "+842733851234"


REFUSED = [
    ("", "empty", "Chưa nhập"),
    ("   ", "empty", "Chưa nhập"),
    ("abc", "invalid", "«abc»"),
    ("chưa có", "invalid", "«chưa có»"),
    ("---", "invalid", "«---»"),
    # several numbers in one field
    ("0277 3851 234 - 0912 345 678", "multiple", "duy nhất"),
    ("0277 3851 234 - 0912 345 678", "multiple", "có 2 số"),
    ("0277 3851 234; 0277 3851 235", "multiple", "«0277 3851 235»"),
    ("0912345678 / 0913456789", "multiple", "«0913 456 789»"),
    ("0277 3851 234 hoặc 0912 345 678", "multiple", "duy nhất"),
    ("0277 3851 234 và 0912 345 678", "multiple", "duy nhất"),
    ("0277 3851 234, 0277 3851 235, 0912 345 678", "multiple", "có 3 số"),
    ("0277 3851 234\n0912 345 678", "multiple", "duy nhất"),
    ("0277 3851 234 | 1022", "multiple", "«1022»"),
    ("0277 3851 234; 3851 235", "multiple", "duy nhất"),
    ("0277 3851 234 (anh Nam: 0912 345 678)", "multiple", "duy nhất"),
    ("0277 3851 234 0912 345 678", "multiple", "«0912 345 678»"),
    ("0277 3851 234; 067 3851 235", "multiple", "duy nhất"),
    # area codes from before 2017
    ("067 3851 234", "old_area_code", "0277 3851 234"),
    ("(067) 3.851.234", "old_area_code", "0277"),
    ("0673851234", "old_area_code", "Đồng Tháp"),
    ("ĐT: 067.3851.234", "old_area_code", "2017"),
    ("+84 67 3851 234", "old_area_code", "0277 3851 234"),
    ("073 3851 234", "old_area_code", "Tiền Giang"),
    ("073 3851 234", "old_area_code", "0273 3851 234"),
    ("04 3825 1234", "old_area_code", "024 3825 1234"),
    ("0710 3820 123", "old_area_code", "Cần Thơ"),
    ("0710 3820 123", "old_area_code", "0292 3820 123"),
    ("072 3822 123", "old_area_code", "0272 3822 123"),
    ("075 3822 123", "old_area_code", "Bến Tre"),
    # 11-digit mobiles from before 2018
    ("01234567890", "old_mobile", "2018"),
    ("01234567890", "old_mobile", "0834 567 890"),
    ("0123 456 7890", "old_mobile", "0123 456 7890"),
    ("0169 123 4567", "old_mobile", "0391 234 567"),
    ("0199.123.4567", "old_mobile", "0591 234 567"),
    ("+84 1662 345 678", "old_mobile", "0362 345 678"),
    # wrong number of digits
    ("0277 3851 23", "too_short", "10 chữ số"),
    ("0277 3851 23", "too_short", "11 chữ số"),
    ("0277 3851 2345", "too_long", "12 chữ số"),
    ("0912 345 67", "too_short", "9 chữ số"),
    ("0912 345 6789", "too_long", "11 chữ số"),
    ("0912 345 6789", "too_long", "số di động có 10 chữ số"),
    ("385 123", "too_short", "«385 123»"),
    ("1800 123", "too_short", "8 hoặc 10"),
    ("1900 12345", "invalid", "8 hoặc 10"),
    ("1022 5", "too_short", "10225"),
    # not Vietnamese
    ("+1 202 555 0123", "foreign", "Chỉ nhận số điện thoại Việt Nam"),
    ("+33 1 23 45 67 89", "foreign", "«+33 1 23 45 67 89»"),
    ("0033 1 23 45 67 89", "foreign", "Việt Nam"),
    # right length, no such number
    ("0217 3851 234", "invalid", "không phải là số điện thoại Việt Nam hợp lệ"),
]


@pytest.mark.parametrize(("written", "code", "fragment"), REFUSED)
def test_parse_hotline_refuses_with_a_specific_vietnamese_message(written, code, fragment):
    with pytest.raises(NumberError) as caught:
        parse_hotline(written)
    assert caught.value.code == code
    assert fragment in caught.value.message


def test_number_error_is_a_value_error_carrying_code_and_message():
    error = NumberError("empty", "Chưa nhập số điện thoại đường dây nóng.")
    assert isinstance(error, ValueError)
    assert (error.code, error.message, str(error)) == ("empty", error.message, error.message)


def test_multiple_message_states_the_one_hotline_rule_in_full():
    with pytest.raises(NumberError) as caught:
        parse_hotline("0277 3851 234 - 0912 345 678")
    assert caught.value.message.startswith(
        "Mỗi cơ quan, đơn vị chỉ được đăng ký duy nhất một số điện thoại đường dây nóng; ô này có 2 số: "
    )


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("0277.3.837.210", "02773837210"),
        ("+84 (0) 277 3851 234", "+8402773851234"),
        ("ĐT: +84 912", "+84912"),
        ("0912 + 1", "09121"),
        ("abc", ""),
        ("+", ""),
    ],
)
def test_normalize_digits_keeps_only_digits_and_a_leading_plus(text, digits):
    assert normalize_digits(text) == digits


@pytest.mark.parametrize("number", ["", "abc", "+841022", "+8467385123", "9999"])
def test_display_number_refuses_values_that_are_not_stored_numbers(number):
    with pytest.raises(NumberError):
        display_number(number)


def _check_property(text):
    try:
        hotline = parse_hotline(text)
    except NumberError as error:
        assert error.code and error.message
        return
    assert display_number(hotline.number, hotline.kind) == hotline.display
    assert parse_hotline(hotline.display).number == hotline.number


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(st.text())
def test_parse_hotline_only_ever_raises_number_error_and_valid_results_round_trip(text):
    _check_property(text)


# Text that mostly looks like phone numbers, so the round trip is exercised on many valid results.
_PHONEISH = st.text(alphabet="0123456789012345678902+ .-()/;:ĐTanh", max_size=30)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None)
@given(st.one_of(_PHONEISH, st.sampled_from([w for w, *_ in ACCEPTED]).map(lambda w: w + " (anh Nam)")))
def test_phone_like_text_only_raises_number_error_and_valid_results_round_trip(text):
    _check_property(text)


@pytest.mark.parametrize("raw", ["112", "113", "114", "115", "0277 113", "Cấp cứu 115", "(0277) 114"])
def test_emergency_numbers_are_refused_as_a_hotline_saying_why(raw):
    with pytest.raises(NumberError) as exc:
        parse_hotline(raw)
    assert exc.value.code == "emergency"
    assert "số khẩn cấp" in exc.value.message and "không bao giờ gọi" in exc.value.message


@pytest.mark.parametrize("written,extension", [
    ("0277 3851 234 máy lẻ 12", "12"), ("0277 3851 234 (máy lẻ 102)", "102"), ("0277.3851.234 - nhánh 5", "5"),
    ("0277 3851 234 ext. 2001", "2001"), ("0277 3851 234", ""), ("0277 3851 234 (phòng 12)", ""),
])
def test_an_extension_written_after_the_number_is_kept_apart_to_be_keyed_in_after_connect(written, extension):
    hotline = parse_hotline(written)
    assert (hotline.number, hotline.display, hotline.extension) == (DT, DT_SHOW, extension)
    assert hotline.raw == written
