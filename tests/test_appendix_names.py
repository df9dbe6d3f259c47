"""The appendix as agencies fill it in: the letter's four columns, no unit code, names written every which way.

A fresh install creates the units (codes made from their names, the same in every install); a second file
with the same units spelled differently finds them again (0 changed); a bad row anywhere writes nothing.
"""
import csv
import io
from datetime import datetime, timezone

import pytest
from openpyxl import Workbook

from monitor.app import create_app, init_db
from registry.appendix import ImportRejected, guess_kind, import_bytes
from registry.db import connect
from registry.hotlines import set_hotline
from registry.unit_names import CODE_MAX, code_base, name_key, new_code
from registry.units import create_unit

from .conftest import csrf_from

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
TITLE = [["ỦY BAN NHÂN DÂN TỈNH ĐỒNG THÁP"], ["Phụ lục"],
         ["DANH SÁCH SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG DO CƠ QUAN, ĐƠN VỊ VÀ ĐỊA PHƯƠNG QUẢN LÝ"],
         ["(Kèm theo Công văn số /UBND-KSTTHC ngày 04 tháng 9 năm 2021 của Ủy ban nhân dân Tỉnh)"]]
HEADER = ["STT", "TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG", "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG", "GHI CHÚ"]

# (group, name as the province's file writes it, the same name as another office writes it, number, note)
PROVINCE = [
    ("A", "Sở Y tế", "SỞ Y TẾ", "0277 3851 101", "24/24 giờ"),
    ("A", "Sở Giáo dục và Đào tạo", "Sở GD&ĐT", "0277 3851 102", "Giờ hành chính"),
    ("A", "Sở Nông nghiệp và Phát triển nông thôn", "Sở NN&PTNT", "0277 3851 103", ""),
    ("A", "Sở Tài nguyên và Môi trường", "Sở TN&MT", "0277 3851 104", ""),
    ("A", "Sở Kế hoạch và Đầu tư", "Sở KH&ĐT", "0277 3851 105", ""),
    ("A", "Sở Tư pháp", "Sở Tư Pháp", "0277 3851 106", ""),
    ("A", "Sở Nội vụ", "Sở nội vụ", "0277 3851 107", ""),
    ("A", "Ban Quản lý các khu công nghiệp", "BQL các khu công nghiệp", "0277 3851 108", ""),
    ("A", "Văn phòng UBND tỉnh", "Văn phòng Ủy ban nhân dân tỉnh", "0277 3851 109", ""),
    ("A", "Trung tâm Phục vụ hành chính công", "TT Phục vụ hành chính công", "1022", "Tổng đài 24/7"),
    ("A", "Bảo hiểm xã hội tỉnh", "BHXH tỉnh", "0277 3851 111", ""),
    ("B", "UBND TP. Sa Đéc", "Ủy ban nhân dân Thành phố Sa Đéc", "0277 3861 201", ""),
    ("B", "UBND Thành phố Cao Lãnh", "UBND TP Cao Lãnh", "0277 3861 202", ""),
    ("B", "Ủy ban nhân dân TP Hồng Ngự", "UBND thành phố Hồng Ngự", "0277 3861 203", ""),
    ("B", "UBND huyện Lai Vung", "Uỷ ban nhân dân huyện Lai Vung", "0277 3861 204", ""),
    ("B", "UBND huyện Tháp Mười", "UBND H. Tháp Mười", "0277 3861 205", ""),
    ("B", "UBND huyện Châu Thành", "UBND huyện Châu thành", "0277 3861 206", ""),
    ("C", "UBND xã Tân Hòa", "Ủy ban nhân dân X. Tân Hoà", "0277 3871 301", ""),
    ("C", "UBND xã Mỹ An Hưng A", "Uỷ ban nhân dân xã Mỹ An Hưng A", "0277 3871 302", ""),
    ("C", "Ủy ban nhân dân Phường 1", "UBND P.01", "0277 3871 303", ""),
    ("C", "UBND phường 2", "UBND P2", "0277 3871 304", ""),
    ("C", "UBND P. An Hòa", "Ủy ban nhân dân phường An Hoà", "0277 3871 305", ""),
    ("C", "UBND thị trấn Mỹ Thọ", "UBND TT Mỹ Thọ", "0277 3871 306", ""),
    ("C", "UBND xã Tân Thuận Đông", "UBND Xã Tân Thuận Đông", "0277 3871 307", ""),
    ("C", "UBND xã Hòa An", "UBND xã Hoà An", "0277 3871 308", ""),
    ("C", "UBND xã Phong Hòa", "Uỷ Ban Nhân Dân Xã Phong Hoà", "0277 3871 309", ""),
    ("C", "UBND xã Tân Khánh Đông", "UBND X.Tân Khánh Đông", "0277 3871 310", ""),
    ("C", "UBND phường Mỹ Phú", "UBND P Mỹ Phú", "0277 3871 311", ""),
    ("C", "UBND xã Bình Thạnh", "UBND xã Bình Thạnh", "0913 456 312", ""),
    ("C", "UBND xã Tân Bình", "ubnd xã tân bình", "0913 456 313", ""),
]
SECTIONS = {"A": "CƠ QUAN, ĐƠN VỊ", "B": "CẤP HUYỆN", "C": "CẤP XÃ"}


def province_rows(variant=False, numbers=None, units=PROVINCE):
    """The letter's table filled in: title block, header, section rows A/B/C and their units numbered 1, 2, 3…"""
    rows, stt, group = [r[:] for r in TITLE] + [HEADER], 0, None
    for g, name, other, number, note in units:
        if g != group:
            group, stt = g, 0
            rows.append([g, SECTIONS[g], "", ""])
        stt += 1
        rows.append([str(stt), other if variant else name, (numbers or {}).get(name, number), note])
    return rows


def csv_bytes(rows):
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return ("\ufeff" + out.getvalue()).encode()


def xlsx_bytes(rows):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def snapshot(db):
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("units", "hotlines", "changes", "groups")}


def codes(db):
    return [r[0] for r in db.execute("SELECT code FROM units ORDER BY id").fetchall()]


# ------------------------------------------------------------------------------------ names and codes


@pytest.mark.parametrize("a,b", [(p[1], p[2]) for p in PROVINCE] + [
    ("Uỷ ban nhân dân xã Tân Hòa", "Ủy ban nhân dân xã Tân Hòa"),
    ("UBND  xã  Tân Hòa ", "U.B.N.D xã Tân Hòa"),
    ("Sở Văn hóa, Thể thao và Du lịch", "Sở VH, TT & DL"),
])
def test_two_spellings_of_one_name_have_the_same_key(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize("a,b", [("UBND xã Tân Hòa", "UBND phường Tân Hòa"), ("UBND Phường 1", "UBND Phường 11"),
                                 ("UBND xã Tân Hòa", "UBND xã Tân Hòa Đông"), ("Sở Y tế", "Sở Tài chính")])
def test_different_names_keep_different_keys(a, b):
    assert name_key(a) != name_key(b)


def test_a_code_is_readable_bounded_and_unique():
    assert code_base("UBND xã Tân Hòa") == code_base("Ủy ban nhân dân X. Tân Hoà") == "UBND-XA-TAN-HOA"
    assert code_base("UBND TP. Sa Đéc") == "UBND-TP-SA-DEC"
    assert code_base("Sở GD&ĐT") == "SO-GIAO-DUC-DAO-TAO"
    long = code_base("Trung tâm Kiểm soát bệnh tật tỉnh Đồng Tháp và các đơn vị trực thuộc khác nữa")
    assert len(long) <= CODE_MAX - 3 and not long.endswith("-")
    assert code_base("???") == "DV"
    taken = {"UBND-XA-TAN-HOA"}
    assert [new_code("UBND xã Tân Hòa", taken) for _ in range(2)] == ["UBND-XA-TAN-HOA-2", "UBND-XA-TAN-HOA-3"]


@pytest.mark.parametrize("name,kind", [("X. Tân Hòa", "commune"), ("UBND P.1", "ward"), ("UBND TP Sa Đéc", "district"),
                                       ("Ủy ban nhân dân TT Mỹ Thọ", "commune"), ("Sở GD&ĐT", "department"),
                                       ("BQL các khu công nghiệp", "agency")])
def test_a_new_units_kind_is_guessed_from_its_abbreviated_name(name, kind):
    assert guess_kind(name) == kind


# ------------------------------------------------------------------------------------ a fresh install


def test_the_four_column_template_imports_into_a_fresh_install_through_the_page(db, inspector_client):
    data = xlsx_bytes(province_rows())
    page = inspector_client.get("/registry/import").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "default_group": ""}
    dry = inspector_client.post("/registry/import", data={**form, "dry_run": "y", "file": (io.BytesIO(data), "phu-luc.xlsx")},
                                content_type="multipart/form-data")
    html = dry.get_data(as_text=True)
    assert dry.status_code == 200, html
    assert "sẽ tạo 30 đơn vị" in html and 'id="plan-new"' in html and "UBND-XA-TAN-HOA" in html
    assert db.execute("SELECT count(*) FROM units").fetchone()[0] == 0

    done = inspector_client.post("/registry/import", data={**form, "file": (io.BytesIO(data), "phu-luc.xlsx")},
                                 content_type="multipart/form-data")
    assert done.status_code == 200 and "đã tạo 30 đơn vị" in done.get_data(as_text=True)
    units = {r["code"]: r for r in db.execute_returning_dicts(
        "SELECT u.code, u.name, u.kind, u.group_code, h.display, h.hours FROM units u JOIN hotlines h ON h.unit_id = u.id")}
    assert len(units) == 30
    assert units["UBND-XA-TAN-HOA"] == {"code": "UBND-XA-TAN-HOA", "name": "UBND xã Tân Hòa", "kind": "commune",
                                        "group_code": "C", "display": "0277 3871 301", "hours": "24/7"}
    assert units["SO-GIAO-DUC-DAO-TAO"]["hours"] == "office" and units["UBND-TP-SA-DEC"]["kind"] == "district"
    assert units["UBND-PHUONG-1"]["kind"] == "ward" and units["TT-PHUC-VU-HANH-CHINH-CONG"]["display"] == "1022"
    history = db.execute("SELECT field, count(*) FROM changes GROUP BY field ORDER BY field").fetchall()
    assert history == [("hours", 1), ("number", 30), ("unit", 30)]
    assert db.execute("SELECT DISTINCT actor FROM changes").fetchall() == [("thanhtra@test.vn",)]


def test_the_same_file_gives_the_same_codes_in_two_fresh_installs(db, app, tmp_path):
    other_app = create_app({**app.config, "DATABASE": str(tmp_path / "other.db")})
    init_db(other_app)
    other = connect(str(tmp_path / "other.db"))
    data = csv_bytes(province_rows())
    for database in (db, other):
        import_bytes(database, data, "phu-luc.csv", actor=None, now=NOW)
    assert codes(db) == codes(other) and len(set(codes(db))) == 30
    other.conn.close()


def test_a_reimport_spelled_differently_changes_nothing_and_a_new_number_shows_as_changed(db, app):
    import_bytes(db, xlsx_bytes(province_rows()), "phu-luc.xlsx", actor=None, now=NOW)
    before = snapshot(db)
    again = import_bytes(db, xlsx_bytes(province_rows(variant=True)), "lan-2.xlsx", actor=None, now=NOW)
    assert (again.created, again.changed, again.unchanged) == ([], [], 30)
    assert snapshot(db) == before

    changed = province_rows(variant=True, numbers={"UBND xã Tân Hòa": "0277 3871 399"})
    plan = import_bytes(db, csv_bytes(changed), "lan-3.csv", actor=None, now=NOW, dry_run=True)
    assert plan.changed == ["UBND-XA-TAN-HOA: số 0277 3871 301 → 0277 3871 399"]
    row = next(i for i, r in enumerate(changed, start=1) if r[1:2] == ["Ủy ban nhân dân X. Tân Hoà"])
    assert [(line.row, line.action) for line in plan.of("changed")] == [(row, "changed")]
    assert len(plan.of("unchanged")) == 29 and snapshot(db) == before
    result = import_bytes(db, csv_bytes(changed), "lan-3.csv", actor=None, now=NOW)
    assert result.changed == plan.changed
    assert db.execute("SELECT field, old, new, reason FROM changes ORDER BY id DESC LIMIT 1").fetchone() == (
        "number", "0277 3871 301", "0277 3871 399", "Nhập từ tệp lan-3.csv")


@pytest.mark.parametrize("where", [6, 20, -1])
@pytest.mark.parametrize("populated", [False, True])
def test_a_bad_row_anywhere_leaves_the_database_unchanged(db, where, populated):
    if populated:
        import_bytes(db, csv_bytes(province_rows()), "phu-luc.csv", actor=None, now=NOW)
    rows = province_rows(variant=True)
    rows[where] = [rows[where][0], rows[where][1], "0277 385", ""]  # too short
    before = snapshot(db)
    with pytest.raises(ImportRejected) as caught:
        import_bytes(db, xlsx_bytes(rows), "sai.xlsx", actor=None, now=NOW)
    assert [e.row for e in caught.value.errors] == [len(rows) if where == -1 else where + 1]
    assert snapshot(db) == before


def test_a_name_matching_two_known_units_is_an_error_naming_the_row(db):
    create_unit(db, {"code": "XTH-1", "name": "UBND xã Tân Hòa", "group_code": "C"})
    create_unit(db, {"code": "XTH-2", "name": "Ủy ban nhân dân xã Tân Hoà", "group_code": "C"})
    rows = [HEADER, ["C", "CẤP XÃ", "", ""], ["1", "UBND X. Tân Hòa", "0277 3871 301", ""]]
    before = snapshot(db)
    with pytest.raises(ImportRejected) as caught:
        import_bytes(db, csv_bytes(rows), "hai.csv", actor=None)
    (error,) = caught.value.errors
    assert error.row == 3 and "XTH-1, XTH-2" in error.reason and "MÃ ĐƠN VỊ" in error.reason
    assert snapshot(db) == before


def test_one_new_name_twice_in_a_group_is_refused_but_allowed_in_two_groups(db):
    rows = [HEADER, ["B", "CẤP HUYỆN", "", ""], ["1", "Công an", "0277 3861 201", ""],
            ["C", "CẤP XÃ", "", ""], ["1", "UBND xã Tân Hòa", "0277 3871 301", ""], ["2", "UBND X. Tân Hoà", "", ""]]
    with pytest.raises(ImportRejected) as caught:
        import_bytes(db, csv_bytes(rows), "trung.csv", actor=None)
    assert [(e.row, "dòng 5" in e.reason) for e in caught.value.errors] == [(6, True)]
    rows[5] = ["2", "Công an", "", ""]
    result = import_bytes(db, csv_bytes(rows), "trung.csv", actor=None)
    assert result.created == ["CONG-AN – Công an", "UBND-XA-TAN-HOA – UBND xã Tân Hòa", "CONG-AN-2 – Công an"]


def test_a_known_unit_is_found_by_its_name_and_keeps_its_code_and_spelling(db):
    unit = create_unit(db, {"code": "SGDDT", "name": "Sở Giáo dục và Đào tạo", "group_code": "A"})
    set_hotline(db, unit, "0277 3851 102", actor=None)
    rows = [HEADER, ["A", "CƠ QUAN, ĐƠN VỊ", "", ""], ["1", "Sở GD&ĐT", "0277 3851 102", ""],
            ["2", "Sở Y tế", "0277 3851 101", ""]]
    result = import_bytes(db, csv_bytes(rows), "a.csv", actor=None)
    assert (result.created, result.unchanged) == (["SO-Y-TE – Sở Y tế"], 1)
    assert db.execute("SELECT name FROM units WHERE code = 'SGDDT'").fetchone()[0] == "Sở Giáo dục và Đào tạo"


def test_a_generated_code_never_takes_a_code_written_further_down_the_file(db):
    rows = [HEADER + ["MÃ ĐƠN VỊ"], ["A", "CƠ QUAN, ĐƠN VỊ", "", "", ""], ["1", "Sở Y tế", "", "", ""],
            ["2", "Sở Y tế (cơ sở 2)", "", "", "SO-Y-TE"]]
    result = import_bytes(db, csv_bytes(rows), "ma.csv", actor=None)
    assert result.created == ["SO-Y-TE-2 – Sở Y tế", "SO-Y-TE – Sở Y tế (cơ sở 2)"]


def test_a_list_without_section_rows_takes_the_chosen_group(db):
    rows = [HEADER, ["1", "UBND xã Tân Hòa", "0277 3871 301", ""], ["2", "UBND xã Hòa An", "0277 3871 308", ""]]
    with pytest.raises(ImportRejected) as caught:
        import_bytes(db, csv_bytes(rows), "khong-muc.csv", actor=None)
    assert {e.row for e in caught.value.errors} == {2, 3} and "dòng mục" in caught.value.errors[0].reason
    result = import_bytes(db, csv_bytes(rows), "khong-muc.csv", actor=None, default_group="c")
    assert len(result.created) == 2
    assert db.execute("SELECT DISTINCT group_code FROM units").fetchall() == [("C",)]


def test_an_unknown_chosen_group_is_refused_next_to_its_field(db, inspector_client):
    page = inspector_client.get("/registry/import").get_data(as_text=True)
    response = inspector_client.post("/registry/import", data={
        "csrf_token": csrf_from(page), "default_group": "Z", "file": (io.BytesIO(csv_bytes(province_rows())), "a.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 400 and "Không có nhóm “Z”" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM units").fetchone()[0] == 0


# ------------------------------------------------------------------------------------ the command line


def test_the_command_line_imports_the_four_column_template_and_prints_the_plan(runner, db, tmp_path):
    path = tmp_path / "phu-luc.xlsx"
    path.write_bytes(xlsx_bytes(province_rows()))
    dry = runner.invoke(args=["registry", "import", "--dry-run", str(path)])
    assert dry.exit_code == 0, dry.output
    assert "sẽ tạo 30 đơn vị" in dry.output and "+ dòng 7: SO-Y-TE – Sở Y tế (nhóm A)" in dry.output
    assert db.execute("SELECT count(*) FROM units").fetchone()[0] == 0
    done = runner.invoke(args=["registry", "import", str(path)])
    assert done.exit_code == 0 and "đã tạo 30 đơn vị" in done.output
    csv_path = tmp_path / "lan-2.csv"
    csv_path.write_bytes(csv_bytes(province_rows(variant=True, numbers={"Sở Y tế": "0277 3851 199"})))
    again = runner.invoke(args=["registry", "import", str(csv_path)])
    assert again.exit_code == 0, again.output
    assert "đã cập nhật 1 đơn vị; 29 đơn vị không đổi" in again.output
    assert "~ dòng 7: SO-Y-TE: số 0277 3851 101 → 0277 3851 199" in again.output


def test_the_command_line_refuses_a_bad_row_and_writes_nothing(runner, db, tmp_path):
    rows = province_rows()
    rows[-1][2] = "0277 385"
    path = tmp_path / "sai.csv"
    path.write_bytes(csv_bytes(rows))
    before = snapshot(db)
    result = runner.invoke(args=["registry", "import", str(path)])
    assert result.exit_code == 1 and f"Dòng {len(rows)}, cột SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG" in result.output
    assert snapshot(db) == before


# ------------------------------------------------------------------------------------ a generated code, edited later


def test_an_inspector_replaces_a_generated_code_on_the_unit_page(db, inspector_client):
    import_bytes(db, csv_bytes(province_rows()), "phu-luc.csv", actor=None, now=NOW)
    page = inspector_client.get("/units/UBND-XA-TAN-HOA").get_data(as_text=True)
    assert 'value="UBND-XA-TAN-HOA"' in page
    form = {"csrf_token": csrf_from(page), "action": "details", "name": "UBND xã Tân Hòa", "kind": "commune",
            "group_code": "C", "parent_code": "", "valid_from": "", "valid_to": "", "details_reason": "Mã chính thức"}
    taken = inspector_client.post("/units/UBND-XA-TAN-HOA", data={**form, "unit_code": "ubnd-xa-hoa-an"})
    assert taken.status_code == 400 and "đã có" in taken.get_data(as_text=True)
    bad = inspector_client.post("/units/UBND-XA-TAN-HOA", data={**form, "unit_code": "xã tân hòa"})
    assert bad.status_code == 400 and "không hợp lệ" in bad.get_data(as_text=True)
    done = inspector_client.post("/units/UBND-XA-TAN-HOA", data={**form, "unit_code": "X-TANHOA"})
    assert done.status_code == 302 and done.headers["Location"].startswith("/units/X-TANHOA")
    assert inspector_client.get("/units/X-TANHOA").status_code == 200
    assert inspector_client.get("/units/UBND-XA-TAN-HOA").status_code == 404
    assert db.execute("SELECT field, old, new, reason FROM changes ORDER BY id DESC LIMIT 1").fetchone() == (
        "code", "UBND-XA-TAN-HOA", "X-TANHOA", "Mã chính thức")
    # The next import finds the unit by name, whatever its code now.
    again = import_bytes(db, csv_bytes(province_rows(variant=True)), "lan-2.csv", actor=None, now=NOW)
    assert (again.created, again.changed, again.unchanged) == ([], [], 30)
