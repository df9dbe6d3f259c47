"""The logbook's paper form: a unit's book exported as XLSX and PDF in the official layout, a filled XLSX
imported back (all or nothing, every bad row named, hostile files refused), and the command line."""
import io
import zipfile
from datetime import date, datetime, timezone

import pytest

from registry.appendix.check import ImportRejected
from registry.appendix.layout import TemplateError
from registry.errors import RegistryError
from registry.logbook import entries
from registry.logbook.paper import export_bytes, import_bytes
from registry.logbook.paper.export_xlsx import HEADER_ROW
from registry.units import get_unit_by_id

# Tuesday 1 December 2026, 09:00 in Đồng Tháp
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
START, END = date(2026, 11, 1), date(2026, 12, 31)
CALL = {"channel": "hotline", "reporter_name": "Nguyễn Văn A", "reporter_phone": "0912.345.678",
        "field_code": "tthc", "content": "Hỏi thủ tục cấp đổi giấy phép lái xe", "received_by": "Chị Lan",
        "received_at": "2026-11-30 08:30"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def book_of(db, unit_id):
    return entries.book(db, unit_id, limit=1000)


@pytest.fixture
def filled(db, units):
    """SYT's book with two entries, one answered on the spot and one whose content starts like a formula."""
    entries.create(db, units["SYT"], dict(CALL), user_id=None, now=NOW)
    entries.create(db, units["SYT"], {**CALL, "content": "=HYPERLINK(\"http://x\")", "level": "on_spot",
                                      "answer": "Đã hướng dẫn"}, user_id=None, now=NOW)
    return get_unit_by_id(db, units["SYT"])


def sheet(data):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(data)).active


def xlsx_of(ws):
    out = io.BytesIO()
    ws.parent.save(out)
    return out.getvalue()


def add_row(ws, values: dict):
    """Append a row under the table, by column title, as a person filling the form would."""
    titles = {ws.cell(HEADER_ROW, c).value: c for c in range(1, ws.max_column + 1)}
    row = HEADER_ROW + 1
    while ws.cell(row, 3).value:
        row += 1
    ws.insert_rows(row)
    for title, value in values.items():
        ws.cell(row, titles[title], value)
    return row


def test_the_xlsx_has_the_official_layout_masked_phones_and_no_formula(app, db, filled):
    with app.app_context():
        ws = sheet(export_bytes(db, filled, START, END, "xlsx", now=NOW))
    assert ws["A1"].value == "SỞ Y TẾ" and ws["A2"].value == "Mã đơn vị: SYT"
    assert ws["G1"].value == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert ws["A5"].value == "Từ ngày 01/11/2026 đến ngày 31/12/2026"
    header = [ws.cell(HEADER_ROW, c).value for c in range(1, 14)]
    assert header == ["STT", "Mã phiếu", "Ngày giờ tiếp nhận", "Kênh", "Người phản ánh", "Lĩnh vực", "Nội dung",
                      "Người tiếp nhận", "Hình thức xử lý", "Hạn xử lý", "Kết quả/Trả lời", "Ngày trả lời", "Ghi chú"]
    first = [ws.cell(HEADER_ROW + 1, c).value for c in range(1, 14)]
    assert first[1] == "SYT-261130-001" and first[2] == "30/11/2026 08:30" and first[3] == "Đường dây nóng"
    assert first[4] == "Nguyễn Văn A – 0912 ••• 678" and first[5] == "Thủ tục hành chính"
    values = [c.value for row in ws.iter_rows() for c in row if c.value]
    assert not any("345678" in str(v) or "0912345678" in str(v) for v in values)
    assert ws.cell(HEADER_ROW + 2, 7).value == "'=HYPERLINK(\"http://x\")"
    assert "NGƯỜI LẬP BIỂU" in values and "THỦ TRƯỞNG ĐƠN VỊ" in values


def test_export_then_import_adds_the_new_rows_and_keeps_the_rest(app, db, filled):
    with app.app_context():
        ws = sheet(export_bytes(db, filled, START, END, "xlsx", now=NOW))
        add_row(ws, {"Ngày giờ tiếp nhận": "29/11/2026 14:05", "Kênh": "Zalo",
                     "Người phản ánh": "Trần Thị B – 0988 111 222", "Lĩnh vực": "Đất đai, xây dựng",
                     "Nội dung": "Hỏi tiến độ cấp sổ đỏ", "Người tiếp nhận": "Anh Minh",
                     "Hình thức xử lý": "Đơn vị xử lý", "Kết quả/Trả lời": "Đã trả lời bằng văn bản",
                     "Ngày trả lời": "30/11/2026", "Ghi chú": "Mã hồ sơ: H12.34-5678"})
        add_row(ws, {"Ngày giờ tiếp nhận": datetime(2026, 11, 28, 7, 45), "Nội dung": "Phản ánh đèn đường hỏng",
                     "Người phản ánh": "Ẩn danh"})
        result = import_bytes(db, xlsx_of(ws), "so.xlsx", user_id=None, now=NOW)
        assert (result.new, result.known) == (2, 2)
        book = {e["content"]: e for e in book_of(db, filled["id"])}
        assert len(book) == 4
        land = book["Hỏi tiến độ cấp sổ đỏ"]
        assert land["channel"] == "zalo" and land["field_code"] == "dat-dai" and land["reporter_phone"] == "0988111222"
        assert land["state"] == "answered" and land["dossier_code"] == "H12.34-5678"
        assert land["answered_at"].startswith("2026-11-29T17:00")  # 30/11 00:00 local
        lamp = book["Phản ánh đèn đường hỏng"]
        assert lamp["channel"] == "hotline" and lamp["reporter_name"] == "" and lamp["state"] == "open"
        again = sheet(export_bytes(db, filled, START, END, "xlsx", now=NOW))
        assert import_bytes(db, xlsx_of(again), "so.xlsx", user_id=None, now=NOW).new == 0
        assert len(book_of(db, filled["id"])) == 4


def test_every_bad_row_is_named_and_nothing_is_written(app, db, filled):
    with app.app_context():
        ws = sheet(export_bytes(db, filled, START, END, "xlsx", now=NOW))
        good = add_row(ws, {"Ngày giờ tiếp nhận": "29/11/2026 14:05", "Nội dung": "Một phản ánh đúng"})
        bad_date = add_row(ws, {"Ngày giờ tiếp nhận": "hôm qua", "Nội dung": "Ngày sai"})
        bad_channel = add_row(ws, {"Ngày giờ tiếp nhận": "29/11/2026", "Kênh": "Fax", "Nội dung": "Kênh sai"})
        no_content = add_row(ws, {"Ngày giờ tiếp nhận": "29/11/2026", "Lĩnh vực": "Thiên văn"})
        bad_code = add_row(ws, {"Mã phiếu": "SYT-000000-999", "Ngày giờ tiếp nhận": "29/11/2026", "Nội dung": "x"})
        no_date = add_row(ws, {"Ngày giờ tiếp nhận": "29/11/2026", "Nội dung": "y", "Kết quả/Trả lời": "Đã trả lời"})
        future = add_row(ws, {"Ngày giờ tiếp nhận": "29/12/2026 08:00", "Nội dung": "z"})
        with pytest.raises(ImportRejected) as caught:
            import_bytes(db, xlsx_of(ws), "so.xlsx", user_id=None, now=NOW)
    lines = caught.value.details
    assert not any(f"Dòng {good}," in line for line in lines)
    assert any(line.startswith(f"Dòng {bad_date}, cột Ngày giờ tiếp nhận: cần ngày giờ") for line in lines)
    assert any(line.startswith(f"Dòng {bad_channel}, cột Kênh: “Fax” không phải kênh") for line in lines)
    assert any(line.startswith(f"Dòng {no_content}, cột Lĩnh vực: “Thiên văn”") for line in lines)
    assert f"Dòng {no_content}, cột Nội dung: Hãy ghi nội dung phản ánh." in lines
    assert not any(f"Dòng {good}," in line for line in lines)
    assert any(line.startswith(f"Dòng {bad_code}, cột Mã phiếu: phiếu “SYT-000000-999”") for line in lines)
    assert any(line.startswith(f"Dòng {no_date}, cột Ngày trả lời: có nội dung trả lời") for line in lines)
    assert any(line.startswith(f"Dòng {future}, cột Ngày giờ tiếp nhận:") for line in lines)
    assert "chưa có gì được ghi" in str(caught.value)
    assert len(book_of(db, filled["id"])) == 2


def test_an_editor_cannot_import_another_units_book(app, db, units, filled):
    with app.app_context():
        data = export_bytes(db, filled, START, END, "xlsx", now=NOW)
        with pytest.raises(RegistryError) as caught:
            import_bytes(db, data, "so.xlsx", user_id=None, now=NOW, unit=get_unit_by_id(db, units["XMA"]))
    assert "không phải của UBND xã Mỹ An" in str(caught.value)


def test_hostile_files_are_refused_before_anything_is_parsed(app, db, filled):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (200 * 1024 * 1024))
    with app.app_context():
        for data, name in ((bomb.getvalue(), "so.xlsx"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "so.xlsx"),
                           (b"not a zip", "so.xlsx"), (b"a,b", "so.csv")):
            with pytest.raises(TemplateError):
                import_bytes(db, data, name, user_id=None, now=NOW)
    assert len(book_of(db, filled["id"])) == 2


def test_the_pdf_reads_back_with_the_heading_rows_and_signatures(app, db, filled):
    from pypdf import PdfReader

    with app.app_context():
        data = export_bytes(db, filled, START, END, "pdf", now=NOW)
    text = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages)
    for expected in ("SỔ THEO DÕI", "SỞ Y TẾ", "01/12/2026", "SYT-261130-001", "0912 ••• 678", "NGƯỜI LẬP BIỂU",
                     "THỦ TRƯỞNG ĐƠN VỊ", "Từ ngày 01/11/2026 đến ngày 31/12/2026"):
        assert expected.split()[0] in text and expected in " ".join(text.split()), expected
    assert "345678" not in text


def test_the_command_line_exports_and_imports_and_names_bad_rows(app, db, filled, runner, tmp_path):
    path = tmp_path / "so.xlsx"
    result = runner.invoke(args=["logbook", "export", str(path), "--unit", "SYT", "--from", "01/11/2026",
                                 "--to", "2026-12-31"])
    assert result.exit_code == 0, result.output
    assert "Đã xuất sổ theo dõi của Sở Y tế" in result.output
    ws = sheet(path.read_bytes())
    add_row(ws, {"Ngày giờ tiếp nhận": "30/11/2026 10:00", "Nội dung": "Hỏi lịch tiếp công dân"})
    path.write_bytes(xlsx_of(ws))
    dry = runner.invoke(args=["logbook", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "1 phiếu mới sẽ được ghi" in dry.output
    assert len(book_of(db, filled["id"])) == 2
    done = runner.invoke(args=["logbook", "import", str(path)])
    assert done.exit_code == 0 and "1 phiếu mới, 2 phiếu đã có" in done.output
    assert len(book_of(db, filled["id"])) == 3
    add_row(ws, {"Ngày giờ tiếp nhận": "ngày mai", "Nội dung": "x"})
    path.write_bytes(xlsx_of(ws))
    bad = runner.invoke(args=["logbook", "import", str(path)])
    assert bad.exit_code == 1 and "cột Ngày giờ tiếp nhận" in bad.output and "chưa có gì được ghi" in bad.output
    pdf = tmp_path / "so.pdf"
    assert runner.invoke(args=["logbook", "export", str(pdf), "--unit", "SYT", "--from", "2026-11-01",
                               "--to", "2026-11-30"]).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    for args, message in ((["--unit", "NOPE", "--from", "2026-11-01", "--to", "2026-11-30"], "NOPE"),
                          (["--unit", "SYT", "--from", "hôm qua", "--to", "2026-11-30"], "không hợp lệ"),
                          (["--unit", "SYT", "--from", "2026-12-01", "--to", "2026-11-30"], "trước ngày bắt đầu")):
        wrong = runner.invoke(args=["logbook", "export", str(tmp_path / "x.xlsx"), *args])
        assert wrong.exit_code != 0 and message in wrong.output, wrong.output
    assert runner.invoke(args=["logbook", "export", str(tmp_path / "x.doc"), "--unit", "SYT", "--from",
                               "2026-11-01", "--to", "2026-11-30"]).exit_code == 1
    for command in ("export", "import"):
        helped = runner.invoke(args=["logbook", command, "--help"])
        assert helped.exit_code == 0 and "Example: flask --app wsgi logbook " + command in helped.output


def test_the_editor_downloads_fills_and_uploads_the_book_on_the_page(app, db, filled, editor_client):
    from .conftest import csrf_from

    page = editor_client.get("/units/SYT/logbook/paper")
    assert page.status_code == 200 and 'id="import-book"' in page.get_data(as_text=True)
    got = editor_client.get("/units/SYT/logbook/paper.xlsx?from=2026-11-01&to=2026-12-31")
    assert got.status_code == 200 and got.mimetype == XLSX
    assert 'filename="so-theo-doi-SYT-2026-11-01-2026-12-31.xlsx"' in got.headers["Content-Disposition"]
    ws = sheet(got.data)
    bad = add_row(ws, {"Ngày giờ tiếp nhận": "31/02/2026 08:00", "Nội dung": "Ngày không có thật"})
    token = csrf_from(page.get_data(as_text=True))
    refused = editor_client.post("/units/SYT/logbook/paper", data={
        "csrf_token": token, "file": (io.BytesIO(xlsx_of(ws)), "so.xlsx")}, content_type="multipart/form-data")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400 and f'<td data-label="Dòng" class="num">{bad}</td>' in body
    assert len(book_of(db, filled["id"])) == 2
    ws.cell(bad, 3, "28/11/2026 08:00")
    done = editor_client.post("/units/SYT/logbook/paper", data={
        "csrf_token": token, "file": (io.BytesIO(xlsx_of(ws)), "so.xlsx")}, content_type="multipart/form-data")
    assert done.status_code == 200 and "1 phiếu mới" in done.get_data(as_text=True)
    assert len(book_of(db, filled["id"])) == 3
    hostile = editor_client.post("/units/SYT/logbook/paper", data={
        "csrf_token": token, "file": (io.BytesIO(b"PK\x03\x04 not really"), "so.xlsx")},
        content_type="multipart/form-data")
    assert hostile.status_code == 400 and "XLSX" in hostile.get_data(as_text=True)
    pdf = editor_client.get("/units/SYT/logbook/paper.pdf?from=01/11/2026&to=31/12/2026")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    for query in ("from=2026-11-01", "from=x&to=2026-11-30", "from=2026-12-01&to=2026-11-01", "from=0001-01-01&to=9999-12-31"):
        assert editor_client.get(f"/units/SYT/logbook/paper.xlsx?{query}").status_code == 400, query
    assert editor_client.get("/units/SYT/logbook/paper.doc?from=2026-11-01&to=2026-11-30").status_code == 404
    assert editor_client.get("/units/XMA/logbook/paper").status_code == 403


def test_inspectors_download_every_book_and_the_summary_but_upload_none(app, db, filled, inspector_client):
    page = inspector_client.get("/units/SYT/logbook/paper").get_data(as_text=True)
    assert 'id="download-pdf"' in page and 'id="import-book"' not in page
    assert inspector_client.get("/units/SYT/logbook/paper.xlsx?from=2026-11-01&to=2026-11-30").status_code == 200
    summary_page = inspector_client.get("/logbook/summary?month=2026-11")
    assert summary_page.status_code == 200 and "Sở Y tế" in summary_page.get_data(as_text=True)
    for fmt in ("json", "csv", "xlsx"):
        assert inspector_client.get(f"/logbook/summary.{fmt}?month=2026-11").status_code == 200
    assert inspector_client.get("/logbook/summary.csv?month=2026-13").status_code == 400
    assert inspector_client.get("/logbook/summary?month=abc").status_code == 400
