"""The sample frame: importing the one-stop system's export of completed dossiers (monitor/surveys/frame.py,
dossiers.py), through the functions, the command line and the inspectors' page."""
import io
import re
from datetime import date, datetime, timezone

import pytest
from openpyxl import Workbook

from monitor.surveys import dossiers
from monitor.surveys.dossiers import import_bytes
from monitor.surveys.frame import FrameRejected, level_of, read_frame
from monitor.surveys.frame_headings import field_of, parse_mapping
from monitor.surveys.frame_values import national_phone, parse_day
from registry.appendix import LimitExceeded, Limits, TemplateError
from registry.errors import UserError
from registry.units import create_unit

from .conftest import csrf_from
from .test_hostile_files import zip_bomb

NOW = datetime(2024, 12, 5, 3, 0, tzinfo=timezone.utc)  # 10:00 in Việt Nam, 5 December 2024
HEADINGS = ["STT", "Mã hồ sơ", "Tên thủ tục hành chính", "Chủ hồ sơ", "Địa chỉ", "Số CCCD", "Số điện thoại",
            "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày trả kết quả", "Đơn vị xử lý", "Kênh nộp"]


def row(n, code=None, *, phone="0912 345 678", received="01/11/2024", due="10/11/2024", returned="08/11/2024",
        unit="Sở Y tế", procedure="Cấp giấy phép hành nghề", applicant=None, channel="Trực tiếp"):
    """One dossier of the export, with the address and ID number the import must not keep."""
    return [str(n), code or f"000.00.12.H19-241101-{n:04d}", procedure, applicant or f"Nguyễn Văn {n}",
            f"{n} đường Lê Lợi, phường 1", f"0870{n:08d}", phone, received, due, returned, unit, channel]


def csv_bytes(rows, headings=HEADINGS, title=True) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    if title:
        writer.writerow(["DANH SÁCH HỒ SƠ ĐÃ TRẢ KẾT QUẢ THÁNG 11/2024"])
        writer.writerow([])
    writer.writerow(headings)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode()


def xlsx_bytes(rows, headings=HEADINGS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headings)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def count(db, table="dossiers") -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def frame_units(db, units):
    """SYT (department, group A), XMA (commune, group C) and the provincial service centre."""
    centre = create_unit(db, {"code": "TTPVHCC", "name": "Trung tâm Phục vụ hành chính công tỉnh", "kind": "agency",
                              "group_code": "A"})
    return {**units, "TTPVHCC": centre}


# ------------------------------------------------------------------------------------------------ headings


@pytest.mark.parametrize("heading, field", [
    ("Mã hồ sơ", "code"), ("MÃ HỒ SƠ", "code"), ("Ma ho so", "code"), ("Số hồ sơ", "code"), ("Mã HS", "code"),
    ("Tên thủ tục hành chính", "procedure"), ("Thủ tục", "procedure"), ("Tên TTHC", "procedure"),
    ("Chủ hồ sơ", "applicant"), ("Người nộp", "applicant"), ("Tên tổ chức, cá nhân", "applicant"),
    ("Số điện thoại", "phone"), ("Điện thoại", "phone"), ("SĐT", "phone"), ("Số điện thoại chủ hồ sơ", "phone"),
    ("Ngày tiếp nhận", "received"), ("Ngày nhận", "received"), ("Ngày hẹn trả", "due"),
    ("Ngày hẹn trả kết quả", "due"), ("Hạn xử lý", "due"), ("Ngày trả kết quả", "returned"), ("Ngày trả", "returned"),
    ("Đơn vị xử lý", "unit"), ("Cơ quan giải quyết", "unit"), ("Kênh nộp", "channel"), ("Hình thức nộp", "channel"),
    ("Địa chỉ chủ hồ sơ", None), ("Số CCCD", None), ("Email", None), ("Mã thủ tục", None), ("STT", None),
    ("Ghi chú", None), ("Trạng thái", None),
])
def test_usual_headings_are_recognised_without_accents_or_case_and_personal_columns_never(heading, field):
    assert field_of(heading) == field


def test_a_file_with_other_spellings_of_the_headings_imports_and_keeps_only_the_needed_columns(db, frame_units):
    headings = ["TT", "MÃ HỒ SƠ", "Thủ tục", "Người nộp", "Địa chỉ", "Số CCCD", "Điện thoại", "Ngày nhận",
                "Ngày hẹn trả kết quả", "Ngày trả", "Cơ quan giải quyết", "Hình thức nộp"]
    result = import_bytes(db, csv_bytes([row(1), row(2)], headings), "hs.csv", now=NOW)
    assert (result.rows, result.added, result.known) == (2, 2, 0)
    stored = db.execute("SELECT * FROM dossiers ORDER BY id").fetchall()
    text = repr(stored)
    assert "Lê Lợi" not in text and "0870" not in text  # address and ID number not kept
    first = db.execute("SELECT code, procedure, applicant, phone, received_on, due_on, returned_on, channel, level "
                       "FROM dossiers ORDER BY id").fetchone()
    assert tuple(first) == ("000.00.12.H19-241101-0001", "Cấp giấy phép hành nghề", "Nguyễn Văn 1", "0912345678",
                            "2024-11-01", "2024-11-10", "2024-11-08", "Trực tiếp", "province")


def test_an_xlsx_export_with_date_cells_and_a_phone_stored_as_a_number(db, frame_units):
    rows = [row(1, received=datetime(2024, 11, 1, 8, 30), due=date(2024, 11, 5), returned=datetime(2024, 11, 6, 15, 0),
                phone=912345678, unit="UBND xã Mỹ An"),
            row(2, received="2024-11-02", due="45605", returned="45604", phone=2773851234, unit="xma")]
    result = import_bytes(db, xlsx_bytes(rows), "hs.xlsx", now=NOW)
    assert result.rows == 2
    stored = db.execute("SELECT phone, received_on, due_on, returned_on, late, level FROM dossiers ORDER BY id").fetchall()
    assert [tuple(r) for r in stored] == [("0912345678", "2024-11-01", "2024-11-05", "2024-11-06", 1, "locality"),
                                          ("02773851234", "2024-11-02", "2024-11-09", "2024-11-08", 0, "locality")]


@pytest.mark.parametrize("text, day", [("01/11/2024", "2024-11-01"), ("1/2/2024", "2024-02-01"),
                                       ("01-11-2024 08:15", "2024-11-01"), ("2024-11-01", "2024-11-01"),
                                       ("2024-11-01T08:15:00", "2024-11-01"), ("45597", "2024-11-01"),
                                       ("31/02/2024", None), ("11/2024", None), ("hôm qua", None), ("01/11/1890", None),
                                       ("01/11/2024 sáng", None)])
def test_days_in_the_formats_exports_use(text, day):
    assert parse_day(text) == day


@pytest.mark.parametrize("text, national", [
    ("0912 345 678", "0912345678"), ("0912.345.678", "0912345678"), ("+84 912 345 678", "0912345678"),
    ("84912345678", "0912345678"), ("(0277) 3851 234", "02773851234"), ("0912345678; 0987 654 321", "0912345678"),
    ("000.00.12.H19-241101-0001", None), ("1022", None), ("0912 345", None), ("+1 202 555 0100", None),
    ("chưa có", None)])
def test_phones_are_national_digits_and_a_dossier_code_is_never_one(text, national):
    assert national_phone(text) == national


def test_levels_follow_the_units_kind_and_group(frame_units):
    assert level_of({"kind": "agency", "group_code": "A"}) == "province"
    assert level_of({"kind": "department", "group_code": "A"}) == "province"
    assert level_of({"kind": "commune", "group_code": "A"}) == "locality"
    assert level_of({"kind": "agency", "group_code": "B"}) == "locality"


# ------------------------------------------------------------------------------------------------- mapping


def test_unusual_headings_are_mapped_by_the_inspector(db, frame_units):
    headings = ["Số biên nhận", "ĐT liên hệ", "Ngày hoàn trả", "Nơi giải quyết"]
    data = csv_bytes([["H-1", "0912345678", "08/11/2024", "SYT"]], headings)
    with pytest.raises(TemplateError) as refused:
        import_bytes(db, data, "hs.csv", now=NOW)
    assert "Mã hồ sơ" in refused.value.message and "ghép cột" in refused.value.message
    mapping = parse_mapping(["code=Số biên nhận", "phone=ĐT liên hệ", "returned = Ngày hoàn trả"])
    result = import_bytes(db, data, "hs.csv", now=NOW, mapping=mapping)
    assert result.rows == 1 and result.titles["phone"] == "ĐT liên hệ"
    assert db.execute("SELECT code, phone, returned_on, unit_id FROM dossiers").fetchone() == (
        "H-1", "0912345678", "2024-11-08", frame_units["SYT"])


def test_a_mapped_heading_takes_the_field_from_a_usual_one(db, frame_units):
    headings = HEADINGS + ["ĐT di động mới"]
    data = csv_bytes([row(1, phone="0277 3851 234") + ["0987 654 321"]], headings)
    import_bytes(db, data, "hs.csv", now=NOW, mapping={"phone": "ĐT di động mới"})
    assert db.execute("SELECT phone FROM dossiers").fetchone()[0] == "0987654321"


def test_a_mapped_heading_missing_from_the_file_is_named(db, frame_units):
    with pytest.raises(TemplateError) as refused:
        import_bytes(db, csv_bytes([row(1)]), "hs.csv", now=NOW, mapping={"channel": "Kênh tiếp nhận"})
    assert "Kênh tiếp nhận" in refused.value.message
    assert count(db) == 0


def test_a_mapping_must_name_a_field():
    with pytest.raises(UserError, match="Không có trường"):
        parse_mapping(["dia_chi=Địa chỉ"])
    with pytest.raises(UserError, match="trường=Tiêu đề"):
        parse_mapping(["phone"])


# -------------------------------------------------------------------------------------------- bad rows


def test_every_bad_row_is_named_and_nothing_is_written(db, frame_units):
    rows = [row(1), row(2, returned="32/11/2024"), row(3, unit="UBND xã Không Có"), row(4, code=" "),
            row(5, code="000.00.12.H19-241101-0001"), row(6, returned=""), row(7, returned="06/12/2024"),
            row(8, received="09/11/2024", returned="08/11/2024"), row(9, phone="số sai")]
    with pytest.raises(FrameRejected) as rejected:
        import_bytes(db, csv_bytes(rows), "hs.csv", now=NOW)
    found = {(e.row, e.column): e.reason for e in rejected.value.errors}
    # the header is on row 3 (a title, then an empty row): dossier n is on row n + 3
    assert "không phải là ngày" in found[(5, "Ngày trả kết quả")]
    assert "Không có đơn vị “UBND xã Không Có”" in found[(6, "Đơn vị xử lý")]
    assert found[(7, "Mã hồ sơ")] == "Thiếu mã hồ sơ."
    assert "đã có ở dòng 4" in found[(8, "Mã hồ sơ")]
    assert found[(9, "Ngày trả kết quả")] == "Thiếu ngày trả kết quả."
    assert "ở sau hôm nay" in found[(10, "Ngày trả kết quả")]
    assert "ở sau ngày trả kết quả" in found[(11, "Ngày tiếp nhận")]
    assert not any(e.row in (4, 12) for e in rejected.value.errors)  # a good row, and a bad phone is no bad row
    assert "7 dòng không hợp lệ" in rejected.value.message
    assert (count(db), count(db, "dossier_imports")) == (0, 0)


def test_text_beyond_its_length_and_a_code_beyond_64_characters_are_bad_rows(db, frame_units):
    rows = [row(1, procedure="x" * 1001), row(2, code="H" * 65), row(3, channel="y" * 101)]
    with pytest.raises(FrameRejected) as rejected:
        import_bytes(db, csv_bytes(rows, title=False), "hs.csv", now=NOW)
    assert [(e.row, e.column) for e in rejected.value.errors] == [
        (2, "Tên thủ tục hành chính"), (3, "Mã hồ sơ"), (4, "Kênh nộp")]
    assert count(db) == 0


def test_a_name_several_units_share_must_be_a_code(db, frame_units):
    create_unit(db, {"code": "SYT2", "name": "Sở Y tế", "kind": "department", "group_code": "A"})
    with pytest.raises(FrameRejected) as rejected:
        import_bytes(db, csv_bytes([row(1)]), "hs.csv", now=NOW)
    assert "SYT, SYT2" in rejected.value.errors[0].reason
    assert import_bytes(db, csv_bytes([row(1, unit="syt2")]), "hs.csv", now=NOW).added == 1


def test_a_file_of_many_bad_rows_lists_the_first_thousand_and_counts_them_all(db, frame_units):
    rows = [row(n, unit="Không có") for n in range(1, 1203)]
    with pytest.raises(FrameRejected) as rejected:
        import_bytes(db, csv_bytes(rows), "hs.csv", now=NOW)
    assert len(rejected.value.errors) == 1000 and rejected.value.bad_rows == 1202
    assert "1202 dòng không hợp lệ" in rejected.value.message
    assert count(db) == 0


# ----------------------------------------------------------------------------- re-import, late, phones


def test_reimporting_the_same_or_an_overlapping_file_adds_nothing_twice(db, frame_units):
    first = import_bytes(db, csv_bytes([row(n) for n in range(1, 6)]), "thang-11.csv", now=NOW)
    assert (first.added, first.known) == (5, 0)
    again = import_bytes(db, csv_bytes([row(n) for n in range(1, 6)]), "thang-11.csv", now=NOW)
    assert (again.added, again.known) == (0, 5)
    assert "đã thêm 0 hồ sơ mới, 5 hồ sơ đã có" in again.summary
    dry = import_bytes(db, csv_bytes([row(n) for n in range(4, 9)]), "chong.csv", now=NOW, dry_run=True)
    assert (dry.added, dry.known, count(db)) == (3, 2, 5)
    overlap = import_bytes(db, csv_bytes([row(n) for n in range(4, 9)]), "chong.csv", now=NOW)
    assert (overlap.added, overlap.known, count(db)) == (3, 2, 8)
    imports = db.execute("SELECT filename, rows, added FROM dossier_imports ORDER BY id").fetchall()
    assert [tuple(i) for i in imports] == [("thang-11.csv", 5, 5), ("thang-11.csv", 5, 0), ("chong.csv", 5, 3)]


def test_a_dossier_returned_after_its_due_day_is_late(db, frame_units):
    rows = [row(1, due="05/11/2024", returned="06/11/2024"), row(2, due="05/11/2024", returned="05/11/2024"),
            row(3, due="", returned="30/11/2024")]
    result = import_bytes(db, csv_bytes(rows), "hs.csv", now=NOW)
    assert result.late == 1
    assert [r[0] for r in db.execute("SELECT late FROM dossiers ORDER BY id").fetchall()] == [1, 0, 0]


def test_an_invalid_phone_keeps_the_dossier_without_it_as_a_finding_for_its_unit(db, frame_units):
    rows = [row(1, phone="0912 345"), row(2, phone="000.00.12.H19-241101-0001", unit="XMA"), row(3, phone=""),
            row(4, unit="XMA")]
    result = import_bytes(db, csv_bytes(rows), "hs.csv", now=NOW)
    assert (result.rows, result.without_phone, result.invalid_phone) == (4, 3, 2)
    per_unit = {u.code: (u.rows, u.without_phone, u.invalid_phone) for u in result.units}
    assert per_unit == {"SYT": (2, 2, 1), "XMA": (2, 1, 1)}
    stored = db.execute("SELECT phone, phone_invalid FROM dossiers ORDER BY id").fetchall()
    assert [tuple(r) for r in stored] == [(None, 1), (None, 1), (None, 0), ("0912345678", 0)]


# -------------------------------------------------------------------------------------- hostile files


def test_hostile_or_oversized_files_are_refused_within_the_limits(db, frame_units, tmp_path, monkeypatch):
    with pytest.raises(LimitExceeded, match="giải nén ra gấp"):
        import_bytes(db, zip_bomb(), "bom.xlsx", now=NOW)
    with pytest.raises(TemplateError, match="không phải là bảng tính XLSX"):
        import_bytes(db, b"<html>not a workbook</html>", "gia.xlsx", now=NOW)
    with pytest.raises(TemplateError, match="nhị phân"):
        import_bytes(db, b"Ma ho so\x00\x01", "nhi-phan.csv", now=NOW)
    with pytest.raises(LimitExceeded, match="hơn 5 dòng"):
        read_frame(db, csv_bytes([row(n) for n in range(1, 9)], title=False), "dai.csv", mapping=None,
                   today="2024-12-05", limits=Limits(rows=5))
    big = tmp_path / "lon.csv"
    big.write_bytes(csv_bytes([row(n) for n in range(1, 40)]))
    monkeypatch.setattr(dossiers, "LIMITS", Limits(file_bytes=1000))
    with pytest.raises(LimitExceeded, match="Tệp quá lớn"):
        dossiers.import_file(db, str(big), now=NOW)
    assert (count(db), count(db, "dossier_imports")) == (0, 0)


# ------------------------------------------------------------------------------------- command line


def test_the_command_line_checks_imports_and_refuses_with_exit_status_1(runner, db, frame_units, tmp_path):
    help_text = runner.invoke(args=["surveys", "import", "--help"]).output
    assert "Example: flask --app wsgi surveys import" in help_text and "--map" in help_text
    good = tmp_path / "ho-so.csv"
    good.write_bytes(csv_bytes([row(1), row(2, unit="XMA", due="01/11/2024")]))
    dry = runner.invoke(args=["surveys", "import", str(good), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 hồ sơ mới sẽ được thêm" in dry.output and "XMA UBND xã Mỹ An: 1 hồ sơ, 1 trễ hạn" in dry.output
    assert count(db) == 0
    done = runner.invoke(args=["surveys", "import", str(good)])
    assert done.exit_code == 0 and "đã thêm 2 hồ sơ mới" in done.output and count(db) == 2
    bad = tmp_path / "sai.csv"
    bad.write_bytes(csv_bytes([row(3), row(4, returned="không rõ")]))
    refused = runner.invoke(args=["surveys", "import", str(bad)])
    assert refused.exit_code == 1
    assert "Dòng 5, cột Ngày trả kết quả" in refused.output and "chưa có gì được ghi" in refused.output
    assert count(db) == 2
    mapped = tmp_path / "khac.csv"
    mapped.write_bytes(csv_bytes([["H-9", "0912345678", "08/11/2024", "SYT"]],
                                 ["Số biên nhận", "ĐT liên hệ", "Ngày trả", "Đơn vị"]))
    result = runner.invoke(args=["surveys", "import", str(mapped), "--map", "code=Số biên nhận", "--map",
                                 "phone=ĐT liên hệ"])
    assert result.exit_code == 0, result.output
    assert count(db) == 3
    for args in (["--map", "nothing=X"], []):
        missing = runner.invoke(args=["surveys", "import", str(tmp_path / "khong-co.csv"), *args])
        assert missing.exit_code == 1 and "Error:" in missing.output


# ------------------------------------------------------------------------------------------ the page


def _post(client, data: bytes, filename: str, **fields):
    token = csrf_from(client.get("/surveys/import").get_data(as_text=True))
    form = {"csrf_token": token, "file": (io.BytesIO(data), filename), **fields}
    return client.post("/surveys/import", data=form, content_type="multipart/form-data")


def test_the_page_checks_then_imports_with_counts_per_unit(inspector_client, db, frame_units):
    page = inspector_client.get("/surveys/import")
    assert page.status_code == 200 and "Ghép cột" in page.get_data(as_text=True)
    data = csv_bytes([row(1), row(2, unit="XMA", phone="0912"), row(3, unit="XMA", due="01/11/2024")])
    dry = _post(inspector_client, data, "hs.csv", dry_run="y")
    html = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "Kết quả kiểm tra (chưa ghi gì)" in html
    assert "3 hồ sơ mới sẽ được thêm" in html and "UBND xã Mỹ An" in html and "Cấp huyện, xã" in html
    assert count(db) == 0
    done = _post(inspector_client, data, "hs.csv")
    assert done.status_code == 200 and "Đã nhập xong" in done.get_data(as_text=True)
    assert count(db) == 3
    assert db.execute("SELECT user_id FROM dossier_imports").fetchone()[0] is not None
    assert "hs.csv" in inspector_client.get("/surveys/import").get_data(as_text=True)


def test_the_page_lists_bad_rows_and_maps_headings(inspector_client, db, frame_units):
    refused = _post(inspector_client, csv_bytes([row(1), row(2, unit="Không có")]), "hs.csv")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "Không có đơn vị “Không có”" in html and "chưa có gì được ghi" in html
    unreadable = _post(inspector_client, b"a,b\n1,2\n", "hs.csv")
    assert unreadable.status_code == 400 and "Không tìm thấy dòng tiêu đề" in unreadable.get_data(as_text=True)
    data = csv_bytes([["H-1", "0912345678", "08/11/2024", "SYT"]], ["Số biên nhận", "ĐT liên hệ", "Ngày trả", "Đơn vị"])
    mapped = _post(inspector_client, data, "hs.csv", map_code="Số biên nhận", map_phone="ĐT liên hệ")
    assert mapped.status_code == 200, mapped.get_data(as_text=True)
    assert count(db) == 1


def test_an_upload_past_the_web_limit_is_refused_with_the_size_message(inspector_client, db, frame_units):
    big = csv_bytes([row(1)]) + b"," * (6 * 1024 * 1024)
    refused = _post(inspector_client, big, "lon.csv")
    assert refused.status_code == 413 and "Tệp quá lớn" in refused.get_data(as_text=True)
    assert count(db) == 0


def test_only_inspectors_reach_the_page(client, editor_client, db, frame_units):
    assert editor_client.get("/surveys/import").status_code == 403
    editor_client.post("/logout", data={"csrf_token": csrf_from(editor_client.get("/").get_data(as_text=True))})
    assert client.get("/surveys/import").status_code == 302


# ------------------------------------------------------------------- phonenumbers asked once per five digits


def test_every_vietnamese_pattern_fixes_at_most_four_digits_so_five_national_digits_decide_the_kind():
    """frame_values remembers the kind of a citizen's number by its first KIND_DIGITS national digits (the 0 and
    four more) and its length: true while every pattern's part before its free \\d{n} matches at most four digits."""
    import re._parser as sre_parse

    import phonenumbers

    from monitor.surveys.frame_values import KIND_DIGITS

    from .test_number_prefixes import DESCS, alternatives

    metadata = phonenumbers.PhoneMetadata.metadata_for_region("VN")
    checked = 0
    for name in DESCS:
        desc = getattr(metadata, name, None)
        if desc is None or not desc.national_number_pattern:
            continue
        for alternative in alternatives(desc.national_number_pattern):
            tail = re.search(r"\\d\{\d+(?:,\d+)?\}$", alternative)
            fixed = alternative[:tail.start()]
            assert (sre_parse.parse(fixed).getwidth()[1] if fixed else 0) <= KIND_DIGITS - 1, (name, alternative)
            checked += 1
    assert checked >= 10


def test_the_remembered_kind_is_phonenumbers_kind_on_a_large_sample():
    """Families of numbers sharing their first five digits (every mobile and landline head among them): the
    first asks phonenumbers, the others are answered from memory, and every answer is phonenumbers' own."""
    import random

    from monitor.surveys import frame_values
    from registry import numbers

    rng = random.Random(12)
    frame_values._KINDS.clear()
    heads = [f"0{h}" for h in range(20, 100)] + [f"0{rng.randint(10, 99)}" for _ in range(40)]
    checked = 0
    for head in heads:
        for length in (10, 11):
            key = head + "".join(rng.choice("0123456789") for _ in range(5 - len(head)))
            for _ in range(6):
                digits = key + "".join(rng.choice("0123456789") for _ in range(length - len(key)))
                found = numbers._lookup.__wrapped__(digits)
                expected = digits if found and found[1] in ("mobile", "landline") else None
                assert national_phone(digits) == expected, digits
                checked += 1
    assert checked == len(heads) * 12 and len(frame_values._KINDS) <= len(heads) * 2
