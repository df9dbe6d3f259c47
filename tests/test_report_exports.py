"""The official report in every format, opened and read back; the `report` command and its refusals."""
import csv
import io
import json
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from monitor.reports import charts, figures, tables
from monitor.reports.csv_table import to_csv
from monitor.reports.json_data import to_json
from monitor.reports.pdf import to_pdf
from monitor.reports.periods import Period
from monitor.reports.report import ReportError, build_report
from monitor.reports.xlsx import to_xlsx
from monitor.settings import Settings

from .report_fixtures import build_june, make_office_unit

JUNE = Period.month(2025, 6)
NOW = datetime(2025, 7, 2, 3, 0, tzinfo=timezone.utc)  # 10:00 on 2 July, local


@pytest.fixture
def report(db, units):
    build_june(db, units, make_office_unit(db))
    return build_report(db, JUNE, now=NOW, settings=Settings(report_signer_name="Nguyễn Văn An"))


def pdf_text(data: bytes) -> str:
    """The PDF's text with line breaks and runs of spaces folded to single spaces."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_report_data_has_the_sections_worked_out_from_the_month(report):
    assert report.title == "Kết quả kiểm tra, giám sát hoạt động đường dây nóng tháng 6 năm 2025"
    assert [u.code for u in report.failing] == ["SYT", "OFF"]
    method = tables.method(report)
    # 14 + 5 tests made (SYT, OFF); 12 + 3 counted; excluded 1 provider error, 1 accepted dispute.
    assert (method["tests_made"], method["tests_counted"]) == (19, 15)
    assert method["excluded"] == {"provider_error": 1, "dispute_accepted": 1}
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
                     "II. KẾT QUẢ THEO NHÓM", "III. CÁC ĐƠN VỊ CHƯA ĐẠT YÊU CẦU", "IV. ĐỀ XUẤT, KIẾN NGHỊ",
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
    assert book.sheetnames == ["Tổng hợp", "Xếp hạng", "Chưa đạt", "Nhóm A", "Nhóm B", "Nhóm C"]
    league = book["Xếp hạng"]
    headers = [c.value for c in league[1]]
    assert headers[:4] == ["Hạng trong nhóm", "Nhóm", "Mã đơn vị", "Tên đơn vị"]
    rows = {row[2]: dict(zip(headers, row)) for row in league.iter_rows(min_row=2, values_only=True)}
    assert rows["SYT"]["Tỷ lệ có người nghe"] == pytest.approx(5 / 12)
    assert rows["SYT"]["Lỗi đã xác nhận"] == 5
    assert rows["OFF"]["Cuộc gọi ngoài giờ (riêng)"] == 2
    assert rows["XMA"]["Kết quả"] == "Chưa kiểm tra"
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


def test_csv_is_the_league_table_in_utf8_with_bom(report):
    data = to_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["Mã đơn vị"] for r in rows] == ["SYT", "OFF", "XMA"]
    assert rows[0]["Tỷ lệ có người nghe (%)"] == "41.7"
    assert rows[0]["Tên đơn vị"] == "Sở Y tế" and rows[0]["Kết quả"] == "Chưa đạt"
    assert rows[2]["Tỷ lệ có người nghe (%)"] == ""


def test_json_carries_the_same_data_machine_readable(report):
    data = json.loads(to_json(report))
    assert data["report"]["period"] == {"kind": "month", "key": "2025-06", "from": "2025-06-01", "to": "2025-06-30"}
    assert data["totals"]["tests_counted"] == 15 and data["totals"]["answered"] == 7
    assert data["totals"]["excluded"] == {"provider_error": 1, "dispute_accepted": 1}
    assert data["method"]["retests"] == 9  # 7 for SYT, 2 for OFF (b's and c's: every retest is evidence)
    syt = next(u for u in data["league"] if u["code"] == "SYT")
    assert syt["answer_rate"] == pytest.approx(5 / 12) and syt["longest_run"] == 3
    assert [f["code"] for f in data["failing_units"]] == ["SYT", "OFF"]
    assert len(data["failing_units"][0]["evidence"]) == 5
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
    # the description states the values: office 5 of 10 (SYT 3 of 7, OFF 2 of 3) = 50.0 %
    assert "Giờ hành chính: 50,0% (5/10 cuộc)" in band


def test_chart_text_is_escaped():
    svg = charts.bar_chart("x", "<b>tiêu đề</b>", [("<i>", 0.5, "&")])
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "&amp;" in svg


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
    assert "tháng 6 năm 2025" in result.output and "2 đơn vị chưa đạt" in result.output
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
