"""Every /reports route for every role, the report page's figures and drill-down links, downloads, bad input."""
import io
import re
from html import unescape

import pytest
from openpyxl import load_workbook

from monitor import disputes

from .conftest import login
from .report_fixtures import build_june, make_office_unit

ANON, EDITOR, INSPECTOR = "anonymous", "editor of SYT", "inspector"


pytestmark = pytest.mark.usefixtures("quick_password_hashing")  # see conftest.py


@pytest.fixture
def world(db, units, editor, inspector):
    ids = build_june(db, units, make_office_unit(db))
    ids["dispute"] = disputes.open_dispute(db, ids[3], editor, "Giải trình của Sở Y tế")
    return ids


@pytest.fixture
def as_role(app, world, editor, inspector):
    def client_for(role):
        client = app.test_client()
        if role != ANON:
            account = editor if role == EDITOR else inspector
            assert login(client, account["email"], account["password"]).status_code == 302
        return client
    return client_for


INSPECTOR_ONLY = {ANON: 302, EDITOR: 403, INSPECTOR: 200}
OWN_UNIT = {ANON: 302, EDITOR: 200, INSPECTOR: 200}
EDITOR_ONLY = {ANON: 302, EDITOR: 200, INSPECTOR: 403}
ROUTES = [
    ("/reports/", INSPECTOR_ONLY),
    ("/reports/?month=2025-06", INSPECTOR_ONLY),
    ("/reports/?quarter=2025-Q2", INSPECTOR_ONLY),
    ("/reports/?from=2025-06-01&to=2025-06-15&group=A", INSPECTOR_ONLY),
    ("/reports/?month=2025-06&all=1", INSPECTOR_ONLY),
    ("/reports/export?month=2025-06&format=csv", INSPECTOR_ONLY),
    ("/reports/export?month=2025-06&format=json", INSPECTOR_ONLY),
    ("/reports/attempts?month=2025-06", INSPECTOR_ONLY),
    ("/reports/attempts?month=2025-06&group=B&scope=out_of_hours", INSPECTOR_ONLY),
    ("/reports/attempts?unit=SYT&month=2025-06", OWN_UNIT),
    ("/reports/attempts?unit=SYT&month=2025-06&outcome=failure&confirmed=1", OWN_UNIT),
    ("/reports/attempts?unit=XMA&month=2025-06", INSPECTOR_ONLY),
    ("/reports/units/SYT?month=2025-06", OWN_UNIT),
    ("/reports/units/SYT", OWN_UNIT),
    ("/reports/units/OFF?quarter=2025-Q2", INSPECTOR_ONLY),
    ("/reports/disputes", INSPECTOR_ONLY),
    ("/reports/disputes?status=open", INSPECTOR_ONLY),
    ("/reports/disputes/{dispute}", OWN_UNIT),
    ("/reports/attempts/{7}/dispute", EDITOR_ONLY),
    ("/reports/alerts", INSPECTOR_ONLY),
]


@pytest.mark.slow
@pytest.mark.parametrize("path, expected", ROUTES)
def test_every_report_route_for_every_role(as_role, world, path, expected):
    url = re.sub(r"\{(\w+)\}", lambda m: str(world[int(m.group(1)) if m.group(1).isdigit() else m.group(1)]), path)
    for role in (ANON, EDITOR, INSPECTOR):
        response = as_role(role).get(url)
        assert response.status_code == expected[role], (role, url)
        if expected[role] == 302:
            assert "/login" in response.headers["Location"]
        if response.status_code == 200 and response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            assert "style=" not in html and "<script" not in html  # the CSP forbids both


@pytest.mark.parametrize("role, target", [(EDITOR, "/reports/units/SYT"), (INSPECTOR, "/reports/")])
def test_my_results_sends_each_role_to_its_page(as_role, role, target):
    response = as_role(role).get("/reports/my")
    assert response.status_code == 302 and response.headers["Location"].endswith(target)
    assert "/login" in as_role(ANON).get("/reports/my").headers["Location"]


def test_unknown_unit_and_dispute_are_404(as_role):
    client = as_role(INSPECTOR)
    assert client.get("/reports/units/KHONGCO").status_code == 404
    assert client.get("/reports/disputes/999").status_code == 404
    assert client.get("/reports/attempts/999/dispute").status_code == 404


@pytest.mark.parametrize("path, words", [
    ("/reports/?month=2025-13", "Tháng “2025-13” không đúng dạng"),
    ("/reports/?quarter=2025-Q7", "Quý “2025-Q7” không đúng dạng"),
    ("/reports/?from=2025-06-30&to=2025-06-01", "phải trước hoặc bằng ngày kết thúc"),
    ("/reports/?from=2025-06-01", "Hãy nhập ngày kết thúc"),
    ("/reports/?from=2025-02-30&to=2025-03-01", "không phải là một ngày có thật"),
    ("/reports/?month=2025-06&group=Z", "Không có nhóm “Z”"),
    ("/reports/export?month=2025-06&format=docx", "Định dạng “docx” không hỗ trợ"),
    ("/reports/attempts?month=2025-06&outcome=zzz", "Kết quả “zzz” không có"),
    ("/reports/attempts?month=2025-06&band=dawn", "Khung giờ “dawn” không có"),
    ("/reports/attempts?month=2025-06&page=abc", "Số trang phải là số nguyên dương"),
    ("/reports/units/SYT?month=June", "Tháng “June” không đúng dạng"),
    ("/reports/disputes?status=lost", "Trạng thái “lost” không có"),
])
def test_bad_input_gets_a_clear_vietnamese_message(as_role, path, words):
    response = as_role(INSPECTOR).get(path)
    assert response.status_code == 400
    assert words in unescape(response.get_data(as_text=True))


def test_report_page_shows_figures_league_charts_and_downloads(as_role):
    html = unescape(as_role(INSPECTOR).get("/reports/?month=2025-06").get_data(as_text=True))
    assert "tháng 6 năm 2025" in html
    assert html.count('role="img"') == 2 and "<title id=\"band-chart-title\">" in html
    for fmt in ("pdf", "xlsx", "csv", "json"):
        assert f"/reports/export?format={fmt}" in html
    # league: group A has SYT (41.7 %), group B OFF (66.7 %), group C XMA untested
    assert "41,7%" in html and "66,7%" in html and "Chưa kiểm tra" in html
    # May had 1 of 2 answered: SYT went down 8.3 points
    assert "▼ 8,3" in html
    assert "Giải trình chờ xem xét: 1" in html


def test_every_league_figure_links_to_the_attempts_behind_it(as_role):
    client = as_role(INSPECTOR)
    html = client.get("/reports/?month=2025-06&group=A").get_data(as_text=True)
    links = {unescape(m.group(1)): m.group(2) for m in re.finditer(r'<a href="(/reports/attempts\?[^"]+unit=SYT[^"]*)">(\d+)</a>', html)}
    assert links, "no drill-down links for SYT"
    for url, figure in links.items():
        listed = unescape(client.get(url).get_data(as_text=True))
        assert f"<strong>{figure}</strong> cuộc gọi" in listed, url


def test_drill_down_shows_the_evidence_and_links_the_inspectors_attempt_page(app, as_role, world):
    client = as_role(INSPECTOR)
    html = unescape(client.get("/reports/attempts?unit=SYT&month=2025-06&outcome=redirected").get_data(as_text=True))
    assert "Dạ anh vui lòng gọi số 0277 3999 888" in html
    assert f'/monitor/attempts/{world[7]}"' in html
    html = unescape(client.get("/reports/attempts?unit=SYT&month=2025-06&outcome=unreachable").get_data(as_text=True))
    assert ">480<" in html and "gọi lại có người nghe" in html
    html = unescape(client.get("/reports/attempts?unit=SYT&month=2025-06&outcome=no_answer").get_data(as_text=True))
    assert "Giải trình: Đang chờ xem xét" in html


def test_without_the_monitor_attempt_page_the_ids_are_plain_text(app, as_role, world):
    app.view_functions.pop("monitor.attempt")
    html = as_role(INSPECTOR).get("/reports/attempts?unit=SYT&month=2025-06").get_data(as_text=True)
    assert "/monitor/attempts/" not in html and f">{world[7]}<" in html


def test_editor_sees_own_unit_figures_and_evidence(as_role, world):
    html = unescape(as_role(EDITOR).get("/reports/units/SYT?month=2025-06").get_data(as_text=True))
    assert "41,7%" in html and "Chưa đạt" in html
    assert "Dạ anh vui lòng gọi số" in html
    assert "Gửi giải trình" in html


@pytest.mark.parametrize("fmt, mimetype, magic", [
    pytest.param("pdf", "application/pdf", b"%PDF", marks=pytest.mark.slow),  # WeasyPrint takes over a second
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
    ("csv", "text/csv", b"\xef\xbb\xbf"), ("json", "application/json", b"{"),
])
def test_downloads_from_the_inspectors_page(as_role, fmt, mimetype, magic):
    response = as_role(INSPECTOR).get(f"/reports/export?month=2025-06&format={fmt}")
    assert response.status_code == 200 and response.mimetype == mimetype
    assert response.data.startswith(magic)
    assert f'filename="bao-cao-duong-day-nong-2025-06.{fmt}"' in response.headers["Content-Disposition"]
    if fmt == "xlsx":
        assert "Xếp hạng" in load_workbook(io.BytesIO(response.data)).sheetnames


def test_quarter_download_for_one_group(as_role):
    response = as_role(INSPECTOR).get("/reports/export?quarter=2025-Q2&group=B&format=csv")
    body = response.data.decode("utf-8-sig")
    assert response.status_code == 200 and "UBND huyện Tháp Mười" in body and "Sở Y tế" not in body
    assert "bao-cao-duong-day-nong-2025-Q2-nhom-B.csv" in response.headers["Content-Disposition"]


def test_alerts_page_lists_what_was_sent(db, as_role, units):
    db.execute("INSERT INTO alerts (unit_id, kind, created_at, recipients, subject, body, status, error) VALUES "
               "(?, 'confirmed_failures', '2025-06-20T03:00:00.000Z', 'a@b.vn', 'Tiêu đề thư', 'Nội dung', 'suppressed', "
               "'Vượt giới hạn 1 thư mỗi ngày cho một đơn vị.')", [units["SYT"]])
    html = as_role(INSPECTOR).get("/reports/alerts").get_data(as_text=True)
    assert "Tiêu đề thư" in html and "Vượt giới hạn 1 thư mỗi ngày" in html


def test_english_report_page_names_outcomes_bands_and_verdicts_in_english(as_role):
    html = unescape(as_role(INSPECTOR).get("/reports/?month=2025-06&lang=en").get_data(as_text=True))
    # league headers (outcomes), chart and caption (bands), XMA's verdict
    assert "No answer" in html and "Public holiday" in html and "Not tested" in html
    assert "Không nghe máy" not in html and "Ngày lễ, Tết" not in html and "Chưa kiểm tra" not in html


def test_exports_stay_in_vietnamese_when_the_page_is_read_in_english(as_role):
    body = as_role(INSPECTOR).get("/reports/export?month=2025-06&format=csv&lang=en").data.decode("utf-8-sig")
    assert "Tỷ lệ có người nghe (%)" in body and "Chưa kiểm tra" in body and "Not tested" not in body
    data = as_role(INSPECTOR).get("/reports/export?month=2025-06&format=json&lang=en").get_json()
    assert data["report"]["title"].startswith("Kết quả kiểm tra")
    assert any("Sở Y tế" in r and r.startswith("Đề nghị") for r in data["recommendations"])
