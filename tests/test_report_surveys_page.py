"""Section IV of the report's web page: the 1022 survey of the period, with the figures of the official report
(report.surveys, the CSV's survey table) and of monitor/surveys/results.py: AAPOR rates by level, satisfaction per
SIPAS element and overall with the 95 % interval, share dissatisfied, reported problems, the units' league, the
trend and the SVG charts; a sentence when nothing was sampled; on a unit's results page that unit's own figures
only (an agency never sees another unit's, nor any comment); and the section in a real Chromium, checked by axe."""
import csv
import io
from datetime import date

import pytest

from monitor.reports.periods import Period
from monitor.reports.report import build_report
from monitor.surveys import results
from monitor.surveys.rates import RATE_KEYS

from .conftest import change_settings, csrf_from, login, make_editor
from .test_accessibility import RUN_AXE, WCAG_TAGS, axe_source
from .test_browser import browser, live, page, sign_in  # noqa: F401  (fixtures)
from .test_report_page_logbook import tables_of
from .test_survey_results import APPLICANT, NOW, PHONE, Frame

NOVEMBER = "/reports/?month=2026-11"
COMMENTS = ("Rất hài lòng, gọi tôi 0987 654 321", "Bị đòi tiền bồi dưỡng", "Cán bộ nhiệt tình")


@pytest.fixture
def surveyed(app, db, units):
    """November 2026: SYT (province level) and XMA (a commune) surveyed, with unequal weights, a partial interview,
    refusals, a wrong number and a problem reported; October holds nothing."""
    change_settings(app, SURVEY_MIN_COMPLETES=2)
    frame = Frame(db)
    syt, xma = units["SYT"], units["XMA"]
    frame.case(syt, "complete", ratings=5, problem=False, comment=COMMENTS[0])
    frame.case(syt, "complete", ratings=[4, 3, 2, 5, 1], problem=False, comment=COMMENTS[2])
    frame.case(syt, "partial", ratings=[3, 3, 4, 2, 2], weight=2.5)
    frame.case(syt, "refusal")
    frame.case(syt, "no_answer", weight=2.5)
    frame.case(xma, "complete", level="locality", ratings=1, problem=True, comment=COMMENTS[1])
    frame.case(xma, "complete", level="locality", ratings=4, problem=False, weight=2.0)
    frame.case(xma, "refusal", level="locality")
    frame.case(xma, "wrong_number", level="locality")
    return units


def _section(html: str, heading_id: str = "h-surveys") -> str:
    start = html.index(f'aria-labelledby="{heading_id}"')
    return html[start:html.index("</section>", start)]


def _table(section: str, cls: str) -> list[list[str]]:
    [rows] = [rows for klass, rows in tables_of(section) if cls in klass.split()]
    return rows


def _pct(value) -> str:
    """A fraction as the official CSV writes it (one decimal, no sign), "" for none."""
    return "" if value is None else f"{value * 100:.1f}"


def _page_pct(cell: str) -> str:
    """A percentage as the Vietnamese page shows it ("75,0%") in the CSV's form ("75.0"); "–" → ""."""
    return "" if cell == "–" else cell.rstrip("%").replace(".", "").replace(",", ".")


def _interval(cell: str) -> tuple[str, str]:
    low, high = cell.split("–")
    return _page_pct(low), _page_pct(high)


def _report_csv_survey(client) -> dict[str, dict[str, str]]:
    """The official report's CSV survey table (section IV), keyed by unit name (and level names, "Toàn tỉnh")."""
    lines = list(csv.reader(io.StringIO(client.get("/reports/export?format=csv&month=2026-11").data.decode("utf-8-sig"))))
    at = lines.index(["Khảo sát mức độ hài lòng (1022)"])
    head = lines[at + 1]
    return {line[head.index("Đơn vị")]: dict(zip(head, line)) for line in lines[at + 2:] if len(line) == len(head)}


def test_the_report_page_shows_section_iv_with_the_official_reports_figures(app, db, surveyed, inspector_client):
    html = inspector_client.get(NOVEMBER).data.decode()
    section = _section(html)
    with app.test_request_context():
        found = build_report(db, Period.month(2026, 11), now=NOW, settings=app.extensions["settings"]).surveys
    assert found.province.cases == 9 and found.province.completes == 4
    official = _report_csv_survey(inspector_client)

    # AAPOR rates by level and for the province: every rate as results.py computes it, the CSV's where it has them
    rates = _table(section, "survey-rates")
    assert rates[0][2:] == list(RATE_KEYS)
    shown = {row[0]: row for row in rates[1:]}
    for name, figures in (("Cấp tỉnh", found.levels["province"]), ("Cấp huyện, xã", found.levels["locality"]),
                          ("Toàn tỉnh", found.province)):
        row = shown[name]
        assert row[1] == f"{figures.cases} / {figures.completes}"
        assert [_page_pct(c) for c in row[2:]] == [_pct(figures.rates[k]) for k in RATE_KEYS], name
        for key, column in (("RR1", "Tỷ lệ trả lời RR1 (%)"), ("RR3", "Tỷ lệ trả lời RR3 (%)"),
                            ("COOP1", "Tỷ lệ hợp tác COOP1 (%)"), ("REF1", "Tỷ lệ từ chối REF1 (%)"),
                            ("CON1", "Tỷ lệ liên lạc CON1 (%)")):
            assert _page_pct(row[2 + RATE_KEYS.index(key)]) == official[name][column], (name, key)

    # satisfaction per SIPAS element and overall, with the 95 % interval, dissatisfied and the mean
    elements = _table(section, "survey-elements")[1:]
    assert len(elements) == 6
    province = official["Toàn tỉnh"]
    for e, row in enumerate(elements[:5], start=1):
        figures = found.province.elements[e]
        assert row[0].startswith(f"{e}. ")
        assert int(row[1]) == figures["n"]
        assert _page_pct(row[2]) == _pct(figures["share"]) == province[f"Yếu tố {e}: hài lòng (%)"]
        assert _interval(row[3]) == (_pct(figures["low"]), _pct(figures["high"]))
        assert _page_pct(row[4]) == _pct(figures["dissatisfied"])
        assert row[5] == f"{figures['mean']:.2f}".replace(".", ",")
    overall = elements[5]
    assert _page_pct(overall[2]) == province["Hài lòng chung (%)"]
    assert _interval(overall[3]) == (province["Khoảng tin cậy 95%: thấp (%)"], province["Khoảng tin cậy 95%: cao (%)"])
    assert _page_pct(overall[4]) == province["Không hài lòng (1–2) (%)"]

    # reported problems (money, favours, rudeness): the share and how many of how many
    assert (f"{province['Phản ánh bị nhũng nhiễu, đòi tiền, thiếu tôn trọng (%)'].replace('.', ',')}%"
            f"</span><span class=\"figure-label\">phản ánh bị nhũng nhiễu") in section
    assert f"({found.province.problems['yes']} trên {found.province.problems['n']} người trả lời)" in section

    # the league: the official order (lowest satisfaction first) and the same figures per unit
    league = _table(section, "survey-units")
    head, rows = league[0], league[1:]
    assert [row[head.index("Đơn vị")] for row in rows] == [u.unit["name"] for u in found.units]
    for row in rows:
        cells, csv_row = dict(zip(head, row)), official[row[head.index("Đơn vị")]]
        assert cells["Hạng"] == csv_row["Hạng"]
        assert cells["Số phiếu / hoàn thành"] == f"{csv_row['Số phiếu được chọn']} / {csv_row['Hoàn thành phỏng vấn']}"
        assert _page_pct(cells["RR1"]) == csv_row["Tỷ lệ trả lời RR1 (%)"]
        share, interval = cells["Hài lòng chung"].split(" (")
        assert _page_pct(share) == csv_row["Hài lòng chung (%)"]
        assert _interval(interval.rstrip(")")) == (
            csv_row["Khoảng tin cậy 95%: thấp (%)"], csv_row["Khoảng tin cậy 95%: cao (%)"])
        assert _page_pct(cells["Không hài lòng"]) == csv_row["Không hài lòng (1–2) (%)"]
        assert cells["Người phản ánh tiêu cực"] == csv_row["Số người phản ánh"]
        assert cells["Số điện thoại sai"] == csv_row["Số điện thoại sai trong dữ liệu"]

    # the charts the documents draw, as server-side SVG; the trend; the way to the details
    for chart in ("report-survey-elements", "report-survey-trend"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in section
    assert "<script" not in html
    assert "11/2026 " in section and "10/2026 – / –" in section
    assert 'href="/surveys/results?from=2026-11-01&amp;to=2026-11-30"' in section
    # anonymous: no comment, name, phone or dossier code of a citizen on the report page
    for secret in (*COMMENTS, APPLICANT, PHONE, "0987 654 321", "H19-261110"):
        assert secret not in html, secret


def test_a_period_without_a_sample_says_so_in_a_sentence(app, db, surveyed, inspector_client):
    for url in ("/reports/?month=2026-10", "/reports/?month=2025-06"):
        section = _section(inspector_client.get(url).data.decode())
        assert "Trong kỳ chưa có kết quả khảo sát: chưa có hồ sơ nào trả kết quả trong kỳ được chọn vào mẫu" in section
        assert "<table" not in section and "<svg" not in section


def test_the_section_is_the_whole_provinces_whatever_the_group(app, db, surveyed, inspector_client):
    whole = _section(inspector_client.get(NOVEMBER).data.decode())
    group_a = _section(inspector_client.get(NOVEMBER + "&group=A").data.decode())
    assert "Số liệu khảo sát là của toàn tỉnh, không theo nhóm đã chọn." in group_a
    assert _table(whole, "survey-units") == _table(group_a, "survey-units")


def test_an_agency_sees_its_own_units_figures_only_and_no_comment(app, db, surveyed, client):
    editor = make_editor(db, surveyed["SYT"], "bientap@soyte.test.vn")
    assert login(client, editor["email"], editor["password"]).status_code == 302
    assert client.get(NOVEMBER).status_code == 403  # the report itself is the inspectors'
    assert client.get("/reports/units/XMA?month=2026-11").status_code == 403
    html = client.get("/reports/units/SYT?month=2026-11").data.decode()
    section = _section(html, "h-unit-surveys")
    mine = next(u for u in results.build(db, date(2026, 11, 1), date(2026, 11, 30), min_completes=2).units
                if u.unit["code"] == "SYT").figures
    [row] = _table(section, "survey-rates")[1:]
    assert row[0] == "Sở Y tế" and row[1] == f"{mine.cases} / {mine.completes}" == "5 / 2"
    assert [_page_pct(c) for c in row[2:]] == [_pct(mine.rates[k]) for k in RATE_KEYS]
    overall = _table(section, "survey-elements")[-1]
    assert _page_pct(overall[2]) == _pct(mine.overall["share"])
    assert "UBND xã Mỹ An" not in html and "/surveys/results" not in html
    for secret in (*COMMENTS, APPLICANT, PHONE, "H19-261110"):
        assert secret not in html, secret


def test_a_unit_page_without_a_sample_says_so(app, db, surveyed, inspector_client):
    section = _section(inspector_client.get("/reports/units/SYT?month=2026-10").data.decode(), "h-unit-surveys")
    assert "Trong kỳ chưa có hồ sơ nào của đơn vị được chọn vào mẫu khảo sát 1022." in section
    assert "<table" not in section
    section = _section(inspector_client.get("/reports/units/XMA?month=2026-11").data.decode(), "h-unit-surveys")
    assert "UBND xã Mỹ An" in section and 'href="/surveys/results?' in section  # inspectors: the way to the details


def test_the_section_reads_in_english(app, db, surveyed, inspector_client):
    form = inspector_client.get(NOVEMBER).data.decode()
    inspector_client.post("/lang/en", data={"csrf_token": csrf_from(form), "next": NOVEMBER})
    section = _section(inspector_client.get(NOVEMBER).data.decode())
    assert "Satisfaction survey (1022)" in section and "Units ranked by satisfaction (lowest first)" in section
    rr1 = results.build(db, date(2026, 11, 1), date(2026, 11, 30), min_completes=2).province.rates["RR1"]
    assert f"<td class=\"num\" data-label=\"RR1\">{_pct(rr1)}%</td>" in section  # 41.7%, the English decimal point


@pytest.mark.slow  # a real Chromium
def test_the_section_renders_in_a_browser_and_passes_axe(app, db, surveyed, inspector, live, page):  # noqa: F811
    page.add_init_script(script=axe_source())
    sign_in(page, live, inspector["email"], inspector["password"])
    page.goto(live.url + NOVEMBER)
    section = page.locator("section.surveys")
    assert section.get_by_role("heading", name="Khảo sát mức độ hài lòng (1022)").is_visible()
    assert section.locator("svg[role=img]").count() == 2
    assert section.locator("table.survey-units tbody tr").count() == 2
    assert section.get_by_role("link", name="Chi tiết khảo sát, ý kiến người dân (ẩn danh) và tệp tải về").is_visible()
    violations = page.evaluate(RUN_AXE, WCAG_TAGS)
    assert violations == [], violations
    page.set_viewport_size({"width": 320, "height": 640})  # WCAG's reflow width: the tables stack, nothing clipped
    assert page.evaluate(RUN_AXE, WCAG_TAGS) == []
    page.goto(live.url + "/reports/units/SYT?month=2026-11")  # a unit's own figures, as its editor sees them
    assert page.locator("section.surveys table.survey-elements tbody tr").count() == 6
    assert page.evaluate(RUN_AXE, WCAG_TAGS) == []
    assert page.problems == []  # no CSP violation, no failed resource
