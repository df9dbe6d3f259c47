"""The official report in every format, opened and read back (with its evidence, and the simulated notice when
its calls were simulated); a unit's evidence file; the `report` command and its refusals."""
import csv
import io
import json
import re
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from monitor.reports import charts, figures, tables
from monitor.reports.csv_table import to_csv
from monitor.reports.json_data import to_json
from monitor.reports.pdf import annex_split, to_pdf
from monitor.reports.periods import Period
from monitor.reports.render import render_unit_file
from monitor.reports.report import ReportError, build_report
from monitor.reports.unit_file import UnitFileError, build_unit_file
from monitor.reports.xlsx import to_xlsx
from monitor.settings import Settings

from .conftest import login
from .report_fixtures import build_june, make_office_unit

JUNE = Period.month(2025, 6)
NOW = datetime(2025, 7, 2, 3, 0, tzinfo=timezone.utc)  # 10:00 on 2 July, local


SIMULATED = "CUỘC GỌI MÔ PHỎNG"
SIGNED = Settings(report_signer_name="Nguyễn Văn An")


@pytest.fixture
def june(db, units, inspector):
    """The hand-built June (report_fixtures.build_june), its calls placed by Twilio (not simulated), plus an
    inspector's review of SYT's redirected call and an open dispute of OFF's unanswered office-hours call."""
    office = make_office_unit(db)
    ids = build_june(db, units, office)
    db.execute("UPDATE attempts SET provider = 'twilio'")
    db.execute("INSERT INTO outcome_reviews (attempt_id, at, user_id, old_outcome, new_outcome, reason) "
               "VALUES (?, '2025-06-12T02:00:00.000Z', ?, 'no_answer', 'redirected', 'Nghe lại: hướng dẫn gọi số khác')",
               [ids[7], inspector["id"]])
    off_c = db.execute("SELECT id FROM attempts WHERE unit_id = ? AND planned_at LIKE '2025-06-03%' "
                       "AND purpose = 'scheduled'", [office]).fetchone()[0]
    db.execute("INSERT INTO disputes (attempt_id, unit_id, opened_at, explanation) "
               "VALUES (?, ?, '2025-06-05T01:00:00.000Z', 'Cán bộ trực đang nghe máy khác')", [off_c, office])
    return {**ids, "off_c": off_c, "office": office}


@pytest.fixture
def report(db, june):
    return build_report(db, JUNE, now=NOW, settings=SIGNED)


@pytest.fixture
def simulated_report(db, june):
    db.execute("UPDATE attempts SET provider = 'simulator' WHERE id = ?", [june[0]])
    return build_report(db, JUNE, now=NOW, settings=SIGNED)


def pdf_text(data: bytes) -> str:
    """The PDF's text with line breaks and runs of spaces folded to single spaces."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_report_data_has_the_sections_worked_out_from_the_month(report):
    assert report.title == "Kết quả kiểm tra, giám sát hoạt động đường dây nóng tháng 6 năm 2025"
    assert "SYT" in [u.code for u in report.failing]  # 5 confirmed failures of 12: fails under every rule
    method = tables.method(report)
    # 14 + 5 tests made (SYT, OFF); 12 + 3 counted; excluded 1 provider error, 1 accepted dispute.
    assert (method["tests_made"], method["tests_counted"]) == (19, 15)
    assert (method["excluded"]["provider_error"], method["excluded"]["dispute_accepted"]) == (1, 1)
    assert method["out_of_hours_tests"] == 2 and method["office_hours_hotlines"] == 1
    text = " ".join(report.recommendations)
    assert "Sở Y tế" in text and "04/9/2021" in text
    assert any("hướng dẫn gọi sang số khác" in r and "Sở Y tế" in r for r in report.recommendations)
    assert any("chỉ trực trong giờ hành chính" in r and "Tháp Mười" in r for r in report.recommendations)


@pytest.mark.slow
def test_pdf_reads_back_as_the_official_document(report):
    data = to_pdf(report)
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4
    text = pdf_text(data)
    for expected in ["ỦY BAN NHÂN DÂN TỈNH ĐỒNG THÁP", "VĂN PHÒNG", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                     "Độc lập - Tự do - Hạnh phúc", "/BC-VPUBND", "Đồng Tháp, ngày 02 tháng 07 năm 2025", "BÁO CÁO",
                     "từ ngày 01/06/2025 đến ngày 30/06/2025", "I. PHẠM VI, PHƯƠNG PHÁP KIỂM TRA",
                     "II. KẾT QUẢ THEO NHÓM", "III. CÁC ĐƠN VỊ CHƯA ĐẠT YÊU CẦU", "IV. KHẢO SÁT MỨC ĐỘ HÀI LÒNG (1022)", "V. ĐỀ XUẤT, KIẾN NGHỊ",
                     "Nơi nhận:", "KT. CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG", "Nguyễn Văn An", "Sở Y tế",
                     "41,7%"]:
        assert expected in text, expected
    # method figures: made 19, counted 15, one provider error and one accepted dispute left out.
    assert "Đã thực hiện 19 cuộc gọi kiểm tra; 15 cuộc được tính" in text


@pytest.mark.slow
def test_pdf_cites_the_confirmed_failures_as_evidence(report):
    text = pdf_text(to_pdf(report))
    first = report.evidence[report.failing[0].unit["id"]][0]
    assert f"#{first['id']}" in text


def test_xlsx_reads_back_with_sheets_headers_and_percent_formats(report):
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    assert book.sheetnames == ["Tổng hợp", "Xếp hạng", "Chưa đạt", "Bằng chứng", "Nhóm A", "Nhóm B", "Nhóm C",
                               "Khảo sát 1022"]
    league = book["Xếp hạng"]
    headers = [c.value for c in league[1]]
    assert headers[:4] == ["Hạng trong nhóm", "Nhóm", "Mã đơn vị", "Tên đơn vị"]
    rows = {row[2]: dict(zip(headers, row)) for row in league.iter_rows(min_row=2, values_only=True)}
    assert rows["SYT"]["Tỷ lệ có người nghe"] == pytest.approx(5 / 12)
    assert rows["SYT"]["Lỗi đã xác nhận"] == 5
    assert rows["OFF"]["Cuộc gọi ngoài giờ (riêng)"] == 2
    assert rows["XMA"]["Kết quả"] == "Chưa kiểm tra"
    assert rows["SYT"]["Kết quả"] == "Chưa đạt"
    rate_col = headers.index("Tỷ lệ có người nghe") + 1
    assert league.cell(row=2, column=rate_col).number_format == "0.0%"
    assert league.freeze_panes == "E2" and league.auto_filter.ref
    summary = book["Tổng hợp"]
    facts = {row[0]: row[1] for row in summary.iter_rows(min_row=7, max_col=2, values_only=True) if row[0]}
    assert facts["Cuộc gọi được tính"] == 15
    assert facts["Loại trừ: lỗi phía hệ thống gọi / nhà mạng"] == 1
    assert facts["Loại trừ: giải trình của đơn vị được chấp nhận"] == 1
    assert facts["Tỷ lệ có người nghe máy"] == pytest.approx(7 / 15)
    failing = book["Chưa đạt"]
    assert failing["D2"].value == "Sở Y tế" and "#" in failing["L2"].value
    assert [r[2] for r in book["Nhóm B"].iter_rows(min_row=2, values_only=True)] == ["OFF"]


def csv_sections(data: bytes) -> list[list[list[str]]]:
    """The CSV's tables: runs of rows between empty rows."""
    sections: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))):
        if row:
            sections[-1].append(row)
        else:
            sections.append([])
    return sections


def test_csv_is_the_league_table_in_utf8_with_bom(report):
    data = to_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")
    header, *body = csv_sections(data)[0]
    rows = [dict(zip(header, row)) for row in body]
    assert [r["Mã đơn vị"] for r in rows] == ["SYT", "OFF", "XMA"]
    assert rows[0]["Tỷ lệ có người nghe (%)"] == "41.7"
    assert rows[0]["Tên đơn vị"] == "Sở Y tế" and rows[0]["Kết quả"] == "Chưa đạt"
    assert rows[2]["Tỷ lệ có người nghe (%)"] == ""


def test_json_carries_the_same_data_machine_readable(report):
    data = json.loads(to_json(report))
    assert data["report"]["period"] == {"kind": "month", "key": "2025-06", "from": "2025-06-01", "to": "2025-06-30"}
    assert data["totals"]["tests_counted"] == 15 and data["totals"]["answered"] == 7
    assert {k: data["totals"]["excluded"][k] for k in ("provider_error", "dispute_accepted")} == {
        "provider_error": 1, "dispute_accepted": 1}
    assert data["method"]["retests"] == 9  # 7 for SYT, 2 for OFF (b's and c's: every retest is evidence)
    syt = next(u for u in data["league"] if u["code"] == "SYT")
    assert syt["answer_rate"] == pytest.approx(5 / 12) and syt["longest_run"] == 3
    assert data["failing_units"][0]["code"] == "SYT"
    # every call the verdict counted (12) and the contested one an accepted dispute took out (#12)
    assert len(data["failing_units"][0]["evidence"]) == 13
    assert [p["period"] for p in data["trend"]] == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    assert data["trend"][-2]["groups"]["A"]["tests_counted"] == 2  # May: two SYT tests


def test_group_report_keeps_one_group(db, units):
    build_june(db, units, make_office_unit(db))
    report = build_report(db, JUNE, group="B", now=NOW)
    assert [u.code for u in report.league] == ["OFF"]
    assert "nhóm B" in report.title


def test_unknown_group_is_refused(db, units):
    with pytest.raises(ReportError):
        build_report(db, JUNE, group="Z", now=NOW)


def test_charts_are_accessible_svg_without_style_attributes(report):
    for svg in (figures.band_chart(report), figures.trend_chart(report)):
        assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg and "<desc" in svg
        assert "style=" not in svg and "<script" not in svg
    band = figures.band_chart(report)
    assert "Giờ hành chính" in band and "Mức yêu cầu 90%" in band
    # the description states the values: office 5 of 10 (SYT 3 of 7, OFF 2 of 3) = 50.0 %, and its 95 % interval
    # (Wilson, 5 of 10: 23.7 %–76.3 %), which the bar carries as an error bar
    assert "Giờ hành chính: 50,0% (khoảng tin cậy 95%: 24%–76%) (5/10 cuộc)" in band
    assert band.count('class="error-bar"') == 5  # every band tested; holidays (none in June) have no bar


def test_chart_text_is_escaped():
    svg = charts.bar_chart("x", "<b>tiêu đề</b>", [("<i>", 0.5, "&")])
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "&amp;" in svg


# ------------------------------------------------------------------------------------------------- evidence

def test_evidence_is_every_counted_call_with_its_retest_review_and_dispute(report, june):
    syt = tables.failing_rows(report)[0]
    by_id = {e["attempt"]: e for e in syt["evidence"]}
    # 12 counted calls + #12, contested and accepted (out of the figures, kept as evidence); no provider error
    assert sorted(by_id) == sorted(june[i] for i in range(14) if i != 10)
    four = by_id[june[4]]  # 06-05 23:00 night, busy, retest busy
    assert (four["date"], four["time"], four["band"], four["outcome"]) == ("05/06/2025", "23:00", "night", "busy")
    assert four["number"] == "+842773851234" and four["retest_outcome"] == "busy"
    assert four["retest_attempt"] == june[4] + 1 and tables.retest_text(four) == f"#{june[4] + 1} Máy bận"
    assert by_id[june[1]]["answer_seconds"] == 5.0
    seven = by_id[june[7]]
    assert seven["transcript"].startswith("Dạ anh vui lòng gọi số") and tables.retest_text(seven) == "chưa gọi lại"
    assert seven["reviews"] == [{"at": "09:00 12/06/2025", "by": "Thanh tra", "from": "no_answer", "to": "redirected",
                                 "reason": "Nghe lại: hướng dẫn gọi số khác"}]
    assert by_id[june[12]]["dispute"]["status"] == "accepted"
    assert by_id[june[12]]["dispute"]["reason"] == "Nhà mạng xác nhận sự cố"
    # OFF does not fail on this month's rule but contests a call: its calls are evidence too
    contested = {row["code"]: row for row in tables.contested_rows(report)}
    if "OFF" not in [u.code for u in report.failing]:
        off = contested["OFF"]
        assert any(e["attempt"] == june["off_c"] and e["dispute"]["status"] == "open" for e in off["evidence"])


@pytest.mark.slow
def test_pdf_annex_lists_every_call_and_claims_recordings_only_when_there_are(db, report, june):
    data = to_pdf(report)
    text = pdf_text(data)
    annex = text[text.index("PHỤ LỤC"):]
    for i in (0, 3, 4, 7, 9, 12, 13):
        assert f"#{june[i]}" in annex, i
    assert "Nghe lại: hướng dẫn gọi số khác" in annex and "Dạ anh vui lòng gọi số" in annex
    assert "Nhà mạng xác nhận sự cố" in annex
    assert "không được ghi âm" in text and "có ghi âm" not in annex and "ghi âm các cuộc gọi có ghi âm" not in text
    assert SIMULATED not in text  # Twilio calls: no notice
    db.execute("UPDATE attempts SET recording_url = 'https://api.twilio.com/rec/RE1' WHERE id = ?", [june[9]])
    text = pdf_text(to_pdf(build_report(db, JUNE, now=NOW, settings=SIGNED)))
    assert "ghi âm các cuộc gọi có ghi âm được lưu" in text and "(có ghi âm)" in text


@pytest.mark.slow
def test_simulated_pdf_says_so_on_every_page(simulated_report):
    pages = PdfReader(io.BytesIO(to_pdf(simulated_report))).pages
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert SIMULATED in " ".join(page.extract_text().split()), number


def test_xlsx_evidence_sheet_has_a_row_per_call(report, june):
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    sheet = book["Bằng chứng"]
    headers = [c.value for c in sheet[1]]
    assert headers == [label for _, label in tables.EVIDENCE_COLUMNS]
    rows = [dict(zip(headers, r)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    syt = {r["Mã cuộc gọi"]: r for r in rows if r["Mã đơn vị"] == "SYT"}
    assert len(syt) == 13
    four = syt[june[4]]
    assert (four["Ngày"], four["Giờ"], four["Khung giờ"], four["Kết quả"]) == ("05/06/2025", "23:00", "Ban đêm", "Máy bận")
    assert four["Xác nhận bằng cuộc gọi lại"] == f"#{june[4] + 1} Máy bận"
    assert "Nghe lại: hướng dẫn gọi số khác" in syt[june[7]]["Quyết định của thanh tra viên"]
    assert syt[june[7]]["Nội dung nghe được"].startswith("Dạ anh")
    assert syt[june[12]]["Giải trình của đơn vị"].startswith("#") and "Đã chấp nhận" in syt[june[12]]["Giải trình của đơn vị"]
    assert syt[june[1]]["Số giây đến khi nghe máy"] == 5.0
    assert all(book[name]["A1"].value != tables.SIMULATED_NOTICE for name in book.sheetnames)


def test_simulated_xlsx_says_so_in_the_first_row_and_the_print_header_of_every_sheet(simulated_report):
    book = load_workbook(io.BytesIO(to_xlsx(simulated_report)))
    for sheet in book.worksheets:
        assert sheet["A1"].value == tables.SIMULATED_NOTICE, sheet.title
        assert SIMULATED in sheet.oddHeader.center.text and SIMULATED in sheet.oddFooter.center.text
    league = book["Xếp hạng"]
    assert [c.value for c in league[2]][:2] == ["Hạng trong nhóm", "Nhóm"] and league.freeze_panes == "E3"
    facts = {r[0]: r[1] for r in book["Tổng hợp"].iter_rows(min_row=8, max_col=2, values_only=True) if r[0]}
    assert facts["Cuộc gọi được tính"] == 15


def test_csv_carries_the_evidence_as_a_second_table(report, june):
    league, evidence, surveys = csv_sections(to_csv(report))
    assert surveys == [["Khảo sát mức độ hài lòng (1022)"], ["Trong kỳ chưa có kết quả khảo sát."]]
    assert league[0][:2] == ["Hạng trong nhóm", "Nhóm"]
    assert evidence[0][0].startswith("Bằng chứng") and evidence[1] == [label for _, label in tables.EVIDENCE_COLUMNS]
    rows = [dict(zip(evidence[1], r)) for r in evidence[2:]]
    assert len([r for r in rows if r["Mã đơn vị"] == "SYT"]) == 13
    four = next(r for r in rows if r["Mã cuộc gọi"] == str(june[4]))
    assert (four["Ngày"], four["Giờ"], four["Kết quả"]) == ("05/06/2025", "23:00", "Máy bận")
    assert four["Xác nhận bằng cuộc gọi lại"] == f"#{june[4] + 1} Máy bận"


def test_simulated_csv_says_so_in_its_first_row(simulated_report):
    data = to_csv(simulated_report)
    first = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert first == [tables.SIMULATED_NOTICE]


def test_json_says_whether_calls_were_simulated_and_carries_the_evidence(report, simulated_report, june):
    real, simulated = json.loads(to_json(report)), json.loads(to_json(simulated_report))
    assert real["simulated"] is False and simulated["simulated"] is True
    syt = real["failing_units"][0]
    call = next(e for e in syt["evidence"] if e["attempt"] == june[4])
    assert {"attempt", "number", "date", "time", "band", "outcome", "retest_attempt", "retest_outcome",
            "answer_seconds", "transcript", "reviews", "dispute"} <= set(call)
    assert (call["band"], call["outcome"], call["retest_outcome"]) == ("night", "busy", "busy")
    assert isinstance(real["contested_units"], list)


def test_the_pdf_annex_names_the_units_beyond_its_length_instead_of_dropping_them():
    units = [{"code": c, "evidence": [{}] * n} for c, n in (("A", 300), ("B", 250), ("C", 100), ("D", 5))]
    listed, named = annex_split(units, limit=600)
    assert [u["code"] for u in listed] == ["A", "B"] and [u["code"] for u in named] == ["C", "D"]
    assert annex_split(units[:1], limit=10) == (units[:1], [])  # one long unit is still listed whole


# ------------------------------------------------------------------------------------------ unit evidence file

@pytest.mark.slow
def test_unit_evidence_file_lists_the_calls_and_how_to_contest(db, june):
    db.execute("UPDATE attempts SET provider = 'simulator' WHERE id = ?", [june[0]])
    unit_file = build_unit_file(db, JUNE, "SYT", now=NOW, settings=Settings(report_dispute_days=10))
    assert len(unit_file.row["evidence"]) == 13 and unit_file.deadline.isoformat() == "2025-07-12"
    pages = PdfReader(io.BytesIO(render_unit_file(unit_file))).pages
    text = " ".join(" ".join(p.extract_text() for p in pages).split())
    for expected in ["BẰNG CHỨNG KIỂM TRA ĐƯỜNG DÂY NÓNG", "Sở Y tế", "tháng 6 năm 2025", "3. CÁCH GIẢI TRÌNH",
                     "http://127.0.0.1:5000/reports/my", "chậm nhất ngày 12/07/2025", "Gửi giải trình",
                     "Nghe lại: hướng dẫn gọi số khác", "không được ghi âm"]:
        assert expected in text, expected
    for i in (0, 4, 12):
        assert f"#{june[i]}" in text
    assert all(SIMULATED in " ".join(p.extract_text().split()) for p in pages)
    with pytest.raises(UnitFileError):
        build_unit_file(db, JUNE, "KHONGCO", now=NOW)


@pytest.mark.slow
def test_unit_evidence_file_downloads_for_the_inspector(client, inspector, june):
    assert login(client, inspector["email"], inspector["password"]).status_code == 302
    response = client.get("/reports/units/SYT/evidence.pdf?month=2025-06")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert 'filename="bang-chung-SYT-2025-06.pdf"' in response.headers["Content-Disposition"]
    assert "Sở Y tế" in " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)


@pytest.mark.slow
def test_report_command_writes_a_unit_evidence_file(runner, june, tmp_path):
    out = tmp_path / "syt.pdf"
    result = runner.invoke(args=["report", "--from", "2025-06-01", "--to", "2025-06-30", "--unit", "SYT",
                                 "--format", "evidence-pdf", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF") and "bằng chứng của Sở Y tế" in result.output
    assert "13 cuộc gọi" in result.output


@pytest.mark.parametrize("args, words", [
    (["--format", "evidence-pdf"], "cần cả --unit"),
    (["--format", "csv", "--unit", "SYT"], "cần cả --unit"),
    (["--format", "evidence-pdf", "--unit", "KHONGCO"], "Không có đơn vị"),
])
def test_report_command_refuses_a_unit_file_asked_wrongly(runner, june, tmp_path, args, words):
    out = tmp_path / "x.pdf"
    result = runner.invoke(args=["report", "--from", "2025-06-01", "--to", "2025-06-30", *args, "-o", str(out)])
    assert result.exit_code != 0 and words in result.output and "Traceback" not in result.output
    assert not out.exists()


# ------------------------------------------------------------------------------------------------------ CLI

@pytest.mark.parametrize("fmt, magic", [
    pytest.param("pdf", b"%PDF", marks=pytest.mark.slow),  # WeasyPrint takes over a second
    ("xlsx", b"PK"), ("csv", b"\xef\xbb\xbf"), ("json", b"{"),
])
def test_report_command_writes_each_format(runner, db, units, tmp_path, fmt, magic):
    build_june(db, units, make_office_unit(db))
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / f"bao-cao.{fmt}"
    result = runner.invoke(args=["report", "--from", "2025-06-01", "--to", "2025-06-30", "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)
    assert "tháng 6 năm 2025" in result.output and re.search(r"\d+ đơn vị chưa đạt", result.output)
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left behind


def test_report_command_for_one_group(runner, db, units, tmp_path):
    build_june(db, units, make_office_unit(db))
    out = tmp_path / "b.json"
    result = runner.invoke(args=["report", "--from", "2025-06-01", "--to", "2025-06-30", "--format", "json",
                                 "-o", str(out), "--group", "B"])
    assert result.exit_code == 0, result.output
    assert [u["code"] for u in json.loads(out.read_text())["league"]] == ["OFF"]


@pytest.mark.parametrize("args, words", [
    (["--from", "2025-06-31", "--to", "2025-07-01", "--format", "pdf"], "không phải là một ngày có thật"),
    (["--from", "01/06/2025", "--to", "2025-06-30", "--format", "pdf"], "NNNN-TT-NN"),
    (["--from", "2025-07-01", "--to", "2025-06-01", "--format", "pdf"], "phải trước hoặc bằng"),
    (["--from", "2025-06-01", "--to", "2025-06-30", "--format", "docx"], "không hỗ trợ"),
    (["--from", "2025-06-01", "--to", "2025-06-30", "--format", "csv", "--group", "Z"], "Không có nhóm"),
])
def test_report_command_refuses_bad_input_and_writes_nothing(runner, tmp_path, args, words):
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "x.out"
    result = runner.invoke(args=["report", *args, "-o", str(out)])
    assert result.exit_code != 0
    assert words in result.output
    assert "Traceback" not in result.output
    assert list(out.parent.iterdir()) == []


def test_report_command_refuses_a_missing_directory(runner, tmp_path):
    result = runner.invoke(args=["report", "--from", "2025-06-01", "--to", "2025-06-30", "--format", "csv",
                                 "-o", str(tmp_path / "nowhere" / "x.csv")])
    assert result.exit_code != 0 and "không tồn tại" in result.output


def test_report_command_has_help_with_an_example(runner):
    result = runner.invoke(args=["report", "--help"])
    assert result.exit_code == 0 and "Example: flask --app wsgi report" in result.output


@pytest.mark.parametrize("values, floor", [
    ([0.95, 0.97], 0.8), ([0.83, 0.9], 0.8), ([0.81, 0.9], 0.6), ([0.44, 0.9], 0.2), ([0.1, None], 0.0), ([None], 0.0),
])
def test_trend_axis_starts_at_a_round_floor_below_every_value(values, floor):
    assert charts.axis_floor(values) == floor
