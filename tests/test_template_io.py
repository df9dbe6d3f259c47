"""The appendix template in and out: XLSX/CSV layout, round trips, all-or-nothing imports, the CLI."""
import csv
import io
import unicodedata
from datetime import datetime, timezone

import pytest
from openpyxl import Workbook, load_workbook

from registry import appendix as tio
from registry.appendix import ImportRejected, TemplateError, export_csv, export_xlsx, import_bytes
from registry.hotlines import set_hotline, set_shared
from registry.units import create_unit

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
HEADER = ["STT", "TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG", "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG", "GHI CHÚ", "MÃ ĐƠN VỊ"]


def snapshot(db):
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("units", "hotlines", "changes", "groups")}


def csv_bytes(rows, delimiter=",", bom=True):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(rows, start_row=1, sheets_before=0):
    wb = Workbook()
    for index in range(sheets_before):
        wb.create_sheet(f"Ghi chú {index}").append(["Trang này không có bảng"])
    ws = wb.create_sheet("Bảng") if sheets_before else wb.active
    for offset, row in enumerate(rows):
        for col, value in enumerate(row, start=1):
            ws.cell(row=start_row + offset, column=col, value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def number_of(db, code):
    row = db.execute("SELECT h.display FROM hotlines h JOIN units u ON u.id = h.unit_id WHERE u.code = ?", [code]).fetchone()
    return row and row[0]


def rows_of(csv_data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_data.decode("utf-8-sig"))))


# ---------------------------------------------------------------- export


def test_xlsx_export_is_the_appendix_laid_out_for_printing(db, units):
    sheet = load_workbook(io.BytesIO(export_xlsx(db, now=NOW))).active
    assert sheet["A1"].value == tio.TITLE and sheet["A1"].font.b and sheet["A1"].alignment.horizontal == "center"
    assert sheet["A2"].value == "(Cập nhật đến ngày 02 tháng 03 năm 2026)"
    assert [c.value for c in sheet[4]] == HEADER
    assert all(c.font.b and c.alignment.horizontal == "center" and c.border.top.style == "thin" for c in sheet[4])
    body = [[c.value or "" for c in row] for row in sheet.iter_rows(min_row=5)]
    assert body == [
        ["A", "CƠ QUAN, ĐƠN VỊ", "", "", ""],
        ["1", "Sở Y tế", "0277 3851 234", "24/24 giờ", "SYT"],
        ["B", "CẤP HUYỆN", "", "", ""],
        ["C", "CẤP XÃ", "", "", ""],
        ["1", "UBND xã Mỹ An", "0912 345 678", "24/24 giờ", "XMA"],
    ]
    assert sheet["A5"].font.b and sheet["B6"].alignment.wrap_text and sheet["C6"].border.left.style == "thin"
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$4:$4" and sheet.freeze_panes == "A5"
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["A"].width


def test_csv_export_has_a_bom_the_title_block_and_the_same_rows(db, units):
    data = export_csv(db, now=NOW)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = rows_of(data)
    assert rows[0][0] == tio.TITLE and rows[3] == HEADER
    assert rows[4:] == [
        ["A", "CƠ QUAN, ĐƠN VỊ", "", "", ""],
        ["1", "Sở Y tế", "0277 3851 234", "24/24 giờ", "SYT"],
        ["B", "CẤP HUYỆN", "", "", ""],
        ["C", "CẤP XÃ", "", "", ""],
        ["1", "UBND xã Mỹ An", "0912 345 678", "24/24 giờ", "XMA"],
    ]


def test_export_notes_office_hours_shared_numbers_demo_and_missing_numbers(db, units, inspector):
    set_hotline(db, units["SYT"], "0277 3851 234", actor=None, hours="office")
    set_shared(db, units["SYT"], True, "Tổng đài chung", actor=inspector)
    db.execute("UPDATE hotlines SET is_demo = 1 WHERE unit_id = ?", [units["XMA"]])
    create_unit(db, {"code": "STC", "name": "Sở Tài chính", "group_code": "A"})
    notes = {row[4]: row[3] for row in rows_of(export_csv(db)) if len(row) == 5 and row[0].isdigit()}
    assert notes == {"SYT": "Giờ hành chính; Số dùng chung: Tổng đài chung",
                     "XMA": "24/24 giờ; Số mẫu (không có thật)", "STC": "Chưa đăng ký số"}


def test_export_leaves_out_units_no_longer_current_unless_asked(db, units):
    create_unit(db, {"code": "H-LAIVUNG", "name": "UBND huyện Lai Vung", "group_code": "B", "valid_to": "2025-06-30"})
    assert "H-LAIVUNG" not in export_csv(db).decode()
    assert "H-LAIVUNG" in export_csv(db, include_historical=True).decode()


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+cmd", "@SUM(1)"])
def test_a_name_that_looks_like_a_formula_is_exported_as_text_and_comes_back_unchanged(db, units, name):
    db.execute("UPDATE units SET name = ? WHERE code = 'SYT'", [name])
    sheet = load_workbook(io.BytesIO(export_xlsx(db))).active
    assert sheet["B6"].data_type == "s" and sheet["B6"].value == name
    assert rows_of(export_csv(db))[5][1] == "'" + name  # so that a spreadsheet shows it as text
    for data, filename in ((export_xlsx(db), "a.xlsx"), (export_csv(db), "a.csv")):
        assert import_bytes(db, data, filename, actor=None).changed == []


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_of_the_same_file_changes_nothing(db, units, inspector, fmt):
    set_shared(db, units["SYT"], True, "chung", actor=inspector)
    before = snapshot(db)
    result = import_bytes(db, tio.export_bytes(db, fmt), f"danh-sach.{fmt}", actor=None)
    assert (result.rows, result.created, result.changed, result.unchanged) == (2, [], [], 2)
    assert snapshot(db) == before


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_changing_one_number_in_the_file_makes_exactly_one_change_with_the_file_as_reason(db, units, fmt):
    if fmt == "xlsx":
        wb = load_workbook(io.BytesIO(export_xlsx(db)))
        wb.active["C6"] = "0277.3851.999"
        out = io.BytesIO()
        wb.save(out)
        data = out.getvalue()
    else:
        data = export_csv(db).replace(b"0277 3851 234", b"0277.3851.999")
    count = db.execute("SELECT count(*) FROM changes").fetchone()[0]
    result = import_bytes(db, data, f"sua.{fmt}", actor=None, now=NOW)
    assert result.changed == ["SYT: số 0277 3851 234 → 0277 3851 999"]
    new = db.execute_returning_dicts("SELECT * FROM changes WHERE id > ?", [count])
    assert [(c["field"], c["old"], c["new"], c["reason"]) for c in new] == [
        ("number", "0277 3851 234", "0277 3851 999", f"Nhập từ tệp sua.{fmt}")]
    assert number_of(db, "SYT") == "0277 3851 999"


def test_import_reads_hours_from_the_note_column(db, units):
    data = export_csv(db).decode("utf-8-sig").replace("0912 345 678,24/24 giờ", "0912 345 678,Trực giờ hành chính")
    result = import_bytes(db, data.encode(), "gio.csv", actor=None)
    assert result.changed == ["XMA: trực 24/24 giờ → Giờ hành chính"]
    assert db.execute("SELECT hours FROM hotlines WHERE unit_id = ?", [units["XMA"]]).fetchone()[0] == "office"


# ---------------------------------------------------------------- all or nothing


def test_a_file_with_bad_rows_changes_nothing_and_lists_every_bad_row(db, units):
    create_unit(db, {"code": "STC", "name": "Sở Tài chính", "group_code": "A"})
    set_hotline(db, create_unit(db, {"code": "SGDDT", "name": "Sở Giáo dục và Đào tạo"}), "0277 3860 000", actor=None)
    rows = [
        ["DANH SÁCH SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG"],
        HEADER,
        ["A", "CƠ QUAN, ĐƠN VỊ", "", "", ""],
        ["1", "Sở Y tế", "0277 3851 000", "", "SYT"],          # 4: the same new number as row 8
        ["2", "Sở Tài chính", "067 3852 111", "", "STC"],       # 5: old area code
        ["3", "", "0277 3852 222", "", "SNV"],                   # 6: empty name
        ["4", "Sở Xây dựng", "0277 3853 333; 0277 3853 334", "", "SXD"],  # 7: two numbers
        ["5", "Sở Tư pháp", "0277 3851 000", "", "STP"],         # 8: the number of row 4
        ["6", "Sở Nội vụ", "0277 3860 000", "", "SNV2"],         # 9: held by SGDDT, not in the file
        ["7", "Sở Công Thương", "0277 3855 555", "", "mã sai!"],  # 10: bad code
        ["D", "NHÓM KHÔNG CÓ", "", "", ""],                      # 11: unknown group
        ["1", "UBND xã Không Có", "0277 3856 666", "", ""],       # 12: no code, no group to search
        ["C", "CẤP XÃ", "", "", ""],
        ["1", "UBND xã Chưa Có", "0277 3857 777", "", ""],        # 14: not found by name: a new unit, valid
        ["2", "UBND xã Mỹ An", "0277 3858 888", "", "XMA"],
        ["3", "UBND xã Mỹ An", "0277 3859 999", "", "XMA"],       # 16: same unit twice
    ]
    before = snapshot(db)
    with pytest.raises(ImportRejected) as caught:
        import_bytes(db, csv_bytes(rows), "sai.csv", actor=None)
    assert snapshot(db) == before
    errors = caught.value.errors
    assert sorted({e.row for e in errors}) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 16]
    by_row = {e.row: e for e in errors}
    assert by_row[5].column == "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG" and "0277" in by_row[5].reason
    assert by_row[6].column == "TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG" and "không được để trống" in by_row[6].reason
    assert "duy nhất một số" in by_row[7].reason
    assert "dòng 8" in by_row[4].reason and "dòng 4" in by_row[8].reason
    assert "Sở Giáo dục và Đào tạo" in by_row[9].reason
    assert by_row[10].column == "MÃ ĐƠN VỊ"
    assert by_row[11].column == "STT" and "“D”" in by_row[11].reason
    assert "dòng 11" in by_row[12].reason
    assert "dòng 15" in by_row[16].reason
    assert str(by_row[5]).startswith("Dòng 5, cột SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG: ")
    assert "10 dòng không hợp lệ" in caught.value.message


def test_two_units_swapping_numbers_in_one_file_is_refused_with_advice(db, units):
    data = export_csv(db).decode("utf-8-sig")
    data = data.replace("0277 3851 234", "TMP").replace("0912 345 678", "0277 3851 234").replace("TMP", "0912 345 678")
    before = snapshot(db)
    with pytest.raises(ImportRejected) as caught:
        import_bytes(db, data.encode(), "doi.csv", actor=None)
    assert {e.row for e in caught.value.errors} == {6, 9}
    assert all("hai lần" in e.reason for e in caught.value.errors)
    assert snapshot(db) == before


def test_a_number_released_by_one_row_may_be_taken_by_another_row(db, units):
    # XMA takes SYT's number while SYT moves to a new one: applied in the order that works.
    data = export_csv(db).decode("utf-8-sig")
    data = data.replace("0277 3851 234", "0277 3851 000").replace("0912 345 678", "0277 3851 234")
    result = import_bytes(db, data.encode(), "chuyen.csv", actor=None)
    assert len(result.changed) == 2
    assert (number_of(db, "SYT"), number_of(db, "XMA")) == ("0277 3851 000", "0277 3851 234")


def test_a_number_shared_by_two_units_may_appear_on_both_rows(db, units, inspector):
    from registry.hotlines import set_hotline_shared

    set_shared(db, units["SYT"], True, "chung", actor=inspector)
    set_hotline_shared(db, units["XMA"], "0277 3851 234", "chung", actor=inspector)
    before = snapshot(db)
    assert import_bytes(db, export_csv(db), "chung.csv", actor=None).changed == []
    assert snapshot(db) == before


# ---------------------------------------------------------------- reading files as people make them


def test_header_is_found_anywhere_with_other_columns_and_any_order(db, units):
    rows = [
        ["ỦY BAN NHÂN DÂN TỈNH ĐỒNG THÁP"], [], ["Phụ lục"],
        ["", "Mã đơn vị", "Ghi chú", "Số điện thoại đường dây nóng", "Tên cơ quan, đơn vị, địa phương", "Người ký"],
        ["", "SYT", "", "0277 3851 555", "Sở Y tế", "A"],
    ]
    result = import_bytes(db, xlsx_bytes(rows, start_row=3, sheets_before=1), "lech.xlsx", actor=None)
    assert result.changed == ["SYT: số 0277 3851 234 → 0277 3851 555"]


def test_a_file_without_a_code_column_matches_units_by_name_within_the_section(db, units):
    rows = [["STT", "TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG", "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG", "GHI CHÚ"],
            ["A", "CƠ QUAN, ĐƠN VỊ", "", ""],
            ["1", "sở  y TẾ", "0277 3851 444", ""],
            ["C", "CẤP XÃ", "", ""],
            ["1", "UBND xã Mỹ An", "0912 345 678", ""]]
    result = import_bytes(db, csv_bytes(rows, delimiter=";", bom=False), "khong-ma.csv", actor=None)
    assert result.changed == ["SYT: số 0277 3851 234 → 0277 3851 444"] and result.unchanged == 1
    assert db.execute("SELECT name FROM units WHERE code = 'SYT'").fetchone()[0] == "Sở Y tế"  # not renamed


def test_the_blank_template_placeholders_are_skipped(db, units):
    rows = [HEADER[:4], ["A", "CƠ QUAN, ĐƠN VỊ", "", ""], ["1", "", "", ""], ["...", "", "", ""],
            ["B", "CẤP HUYỆN", "", ""], ["1", "", "", ""], ["C", "CẤP XÃ", "", ""], ["…", "", "", ""]]
    result = import_bytes(db, csv_bytes(rows), "mau-trong.csv", actor=None)
    assert (result.rows, result.changed, result.created) == (0, [], [])


def test_a_new_code_creates_the_unit_in_its_section_with_a_guessed_kind(db, units):
    rows = [HEADER, ["C", "CẤP XÃ", "", "", ""], ["1", "UBND xã Tràm Chim", "0277 3902 017", "Giờ hành chính", "X-TRAMCHIM"],
            ["2", "UBND phường Mỹ Trà", "", "", "P-MYTRA"]]
    result = import_bytes(db, csv_bytes(rows), "moi.csv", actor=None)
    assert result.created == ["X-TRAMCHIM – UBND xã Tràm Chim", "P-MYTRA – UBND phường Mỹ Trà"]
    created = db.execute_returning_dicts(
        "SELECT u.code, u.kind, u.group_code, h.display, h.hours FROM units u LEFT JOIN hotlines h ON h.unit_id = u.id "
        "WHERE u.code IN ('X-TRAMCHIM', 'P-MYTRA') ORDER BY u.code")
    assert created == [
        {"code": "P-MYTRA", "kind": "ward", "group_code": "C", "display": None, "hours": None},
        {"code": "X-TRAMCHIM", "kind": "commune", "group_code": "C", "display": "0277 3902 017", "hours": "office"},
    ]


def test_a_code_matched_row_renames_and_moves_the_unit(db, units):
    rows = [HEADER, ["B", "CẤP HUYỆN", "", "", ""], ["1", "UBND xã Mỹ An (cũ)", "0912 345 678", "", "XMA"]]
    result = import_bytes(db, csv_bytes(rows), "doi-ten.csv", actor=None)
    assert result.changed == ["XMA: tên “UBND xã Mỹ An” → “UBND xã Mỹ An (cũ)”; nhóm C → B"]
    assert db.execute("SELECT name, group_code FROM units WHERE code = 'XMA'").fetchone() == ("UBND xã Mỹ An (cũ)", "B")


def test_an_empty_number_cell_keeps_the_number(db, units):
    rows = [HEADER, ["A", "CƠ QUAN, ĐƠN VỊ", "", "", ""], ["1", "Sở Y tế", "", "", "SYT"]]
    assert import_bytes(db, csv_bytes(rows), "trong.csv", actor=None).changed == []
    assert number_of(db, "SYT") == "0277 3851 234"


@pytest.mark.parametrize("cell,expected", [(2773851777, "0277 3851 777"), (912345000, "0912 345 000"), (1022, "1022")])
def test_a_number_stored_as_a_spreadsheet_number_gets_its_leading_zero_back(db, units, cell, expected):
    rows = [HEADER, ["A", "CƠ QUAN, ĐƠN VỊ", "", "", ""], [1, "Sở Y tế", cell, None, "SYT"]]
    import_bytes(db, xlsx_bytes(rows), "so.xlsx", actor=None)
    assert number_of(db, "SYT") == expected


def to_cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: precomposed base letters (Ơ, Ê, Ă…) followed by a combining tone mark."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = b""
    for ch in text:
        decomposed = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
        out += (base + "".join(c for c in decomposed if c in tones)).encode("cp1258")
    return out


def test_a_windows_1258_csv_is_read(db, units):
    rows = [HEADER, ["A", "CƠ QUAN, ĐƠN VỊ", "", "", ""], ["1", "Sở Y tế", "0277 3851 321", "", "SYT"]]
    text = "\r\n".join(",".join(f'"{c}"' for c in r) for r in rows)
    result = import_bytes(db, to_cp1258(text), "cu.csv", actor=None)
    assert result.changed == ["SYT: số 0277 3851 234 → 0277 3851 321"]  # the name, recomposed, is unchanged


@pytest.mark.parametrize("data,name,message", [
    (b"", "x.xlsx", "Tệp rỗng"),
    (b"", "x.csv", "Tệp rỗng"),
    (b"\n,,\n", "x.csv", "không có dữ liệu"),
    (b"%PDF-1.4 binary\x00\x01", "x.csv", "không phải là tệp CSV"),
    (b"PK\x03\x04 not really a zip", "x.xlsx", "không phải là bảng tính XLSX"),
    (b"hello", "x.xls", ".xls"),
    (b"hello", "x.txt", "Chỉ hỗ trợ tệp .xlsx hoặc .csv"),
    (b"hello", "khong-duoi", "đuôi .xlsx hoặc .csv"),
    ("Họ tên,Số\nA,0277 3851 234\n".encode(), "x.csv", "Không tìm thấy dòng tiêu đề"),
])
def test_a_file_that_is_not_the_template_is_refused_with_a_clear_message(db, units, data, name, message):
    before = snapshot(db)
    with pytest.raises(TemplateError) as caught:
        import_bytes(db, data, name, actor=None)
    assert message in caught.value.message
    assert snapshot(db) == before


def test_an_xlsx_renamed_to_csv_is_explained(db, units):
    with pytest.raises(TemplateError, match="đổi đuôi thành .xlsx"):
        import_bytes(db, export_xlsx(db), "nham.csv", actor=None)


def test_an_xlsx_without_a_header_or_without_data_is_refused(db, units):
    with pytest.raises(TemplateError, match="Không tìm thấy dòng tiêu đề"):
        import_bytes(db, xlsx_bytes([["Một bảng khác"], ["1", "2"]]), "khac.xlsx", actor=None)
    with pytest.raises(TemplateError, match="không có dữ liệu"):
        import_bytes(db, xlsx_bytes([]), "trong.xlsx", actor=None)


def test_a_dry_run_reports_without_writing(db, units):
    data = export_csv(db).replace(b"0277 3851 234", b"0277 3851 999")
    before = snapshot(db)
    result = import_bytes(db, data, "thu.csv", actor=None, dry_run=True)
    assert result.changed == ["SYT: số 0277 3851 234 → 0277 3851 999"] and "sẽ cập nhật 1" in result.summary
    assert snapshot(db) == before


# ---------------------------------------------------------------- command line


def test_cli_export_then_import_round_trips_and_exits_zero(runner, db, units, tmp_path):
    for ext in ("xlsx", "csv"):
        path = tmp_path / f"danh-sach.{ext}"
        exported = runner.invoke(args=["registry", "export", str(path)])
        assert exported.exit_code == 0 and path.exists(), exported.output
        before = snapshot(db)
        imported = runner.invoke(args=["registry", "import", str(path)])
        assert imported.exit_code == 0, imported.output
        assert "2 đơn vị không đổi" in imported.output
        assert snapshot(db) == before


@pytest.mark.parametrize("name", ["danh-sach.pdf", "danh-sach"])
def test_cli_export_to_an_unknown_format_fails_clearly(runner, units, tmp_path, name):
    result = runner.invoke(args=["registry", "export", str(tmp_path / name)])
    assert result.exit_code != 0 and ".xlsx" in result.output
    assert not (tmp_path / name).exists()


def test_cli_import_prints_every_bad_row_and_exits_non_zero(runner, db, units, tmp_path):
    path = tmp_path / "sai.csv"
    text = export_csv(db).decode("utf-8-sig").replace("0277 3851 234", "067 3851 234")
    path.write_text(text.replace("0912 345 678", "0162 345 678 9"), encoding="utf-8-sig")
    before = snapshot(db)
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1
    assert "Dòng 6, cột SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG: Mã vùng 067" in result.output
    assert "Dòng 9, cột SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG: Số di động 11 số" in result.output
    assert snapshot(db) == before


@pytest.mark.parametrize("content,name", [(None, "khong-co.csv"), (b"", "rong.xlsx"), (b"x", "anh.png")])
def test_cli_import_of_a_missing_or_unreadable_file_exits_non_zero(runner, db, units, tmp_path, content, name):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    before = snapshot(db)
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1 and "Error:" in result.output
    assert snapshot(db) == before


def test_cli_import_dry_run_writes_nothing(runner, db, units, tmp_path):
    path = tmp_path / "thu.csv"
    path.write_bytes(export_csv(db).replace(b"0277 3851 234", b"0277 3851 999"))
    before = snapshot(db)
    result = runner.invoke(args=["registry", "import", "--dry-run", str(path)])
    assert result.exit_code == 0 and "sẽ cập nhật 1" in result.output
    assert snapshot(db) == before
