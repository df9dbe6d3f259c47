"""The report's web page shows the logbook beside the call results, with the CSV's figures: per unit in the
league table ("Ghi sổ" logged in time / answered, late, not logged, overdue entries, entries transferred more
than once) and per group in the "Ghi sổ theo dõi" table. The match is the inspectors' alone: a unit's editor
never sees it on its own results page."""
import csv
import io
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from registry.logbook import transfers
from registry.units import create_unit

from .conftest import login
from .report_fixtures import add_attempt, local
from .test_logbook_match import CITIZEN, answered, log

COLUMNS = ["Ghi sổ", "Ghi sổ muộn", "Cuộc gọi không ghi sổ", "Phiếu quá hạn", "Phiếu chuyển từ hai lần trở lên"]


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (header row included), keyed by the table's class."""

    def __init__(self):
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append((dict(attrs).get("class", ""), []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th") and self.tables:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][1][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables_of(html: str) -> list[tuple[str, list[list[str]]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def _june(db, units):
    """SYT: three answered test calls (logged, late, not logged), two entries open past their deadline and a
    citizen's entry sent on twice (SYT → XMA → STN); XMA: one unanswered call."""
    for day in (2, 3, 4):
        answered(db, units["SYT"], f"2025-06-0{day} 09:00")
    log(db, units["SYT"], "2025-06-02 09:02")
    log(db, units["SYT"], "2025-06-03 09:02", written_after=timedelta(days=2))
    moved = log(db, units["SYT"], "2025-06-05 10:00", phone=CITIZEN)
    there = transfers.transfer(db, moved["id"], units["XMA"], "Thuộc thẩm quyền xã", user_id=None,
                               now=local("2025-06-05 11:00"))
    other = create_unit(db, {"code": "STN", "name": "Sở Tài nguyên và Môi trường", "kind": "department",
                             "group_code": "A"})
    transfers.transfer(db, there["id"], other, "Thuộc thẩm quyền Sở Tài nguyên", user_id=None,
                       now=local("2025-06-06 11:00"))
    add_attempt(db, units["XMA"], "2025-06-02 09:00", "no_answer")


def _csv_rows(client) -> dict[str, dict[str, str]]:
    response = client.get("/reports/export?format=csv&month=2025-06")
    assert response.status_code == 200
    lines = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    header_at = next(i for i, line in enumerate(lines) if "Ghi sổ" in line)
    header = lines[header_at]
    return {line[header.index("Mã đơn vị")]: dict(zip(header, line)) for line in lines[header_at + 1:]
            if len(line) == len(header) and line[header.index("Mã đơn vị")] in ("SYT", "XMA")}


def test_the_league_table_on_the_page_carries_the_csvs_logbook_columns(app, db, units, inspector_client):
    _june(db, units)
    page = inspector_client.get("/reports/?month=2025-06")
    assert page.status_code == 200
    html = page.data.decode()
    league = [rows for cls, rows in tables_of(html) if "league" in cls]
    assert league, "the league table is on the page"
    by_unit = {}
    for rows in league:
        head = rows[0]
        assert all(name in head for name in COLUMNS)
        for row in rows[1:]:
            for code, name in (("SYT", "Sở Y tế"), ("XMA", "UBND xã Mỹ An")):
                if len(row) == len(head) and row[head.index("Đơn vị")].startswith(name):
                    by_unit[code] = {column: row[head.index(column)] for column in COLUMNS}
    assert by_unit["SYT"] == {"Ghi sổ": "1/3", "Ghi sổ muộn": "1", "Cuộc gọi không ghi sổ": "1",
                              "Phiếu quá hạn": "2", "Phiếu chuyển từ hai lần trở lên": "1"}
    assert by_unit["XMA"]["Ghi sổ"] == "–"
    exported = _csv_rows(inspector_client)
    for code in ("SYT", "XMA"):
        assert by_unit[code] == {column: exported[code][column] for column in COLUMNS}, code


def test_the_groups_logbook_table_sums_the_units(app, db, units, inspector_client):
    _june(db, units)
    html = inspector_client.get("/reports/?month=2025-06").data.decode()
    assert 'id="h-logbook"' in html
    [rows] = [rows for cls, rows in tables_of(html) if "logbook" in cls]
    head = rows[0]
    group_a = next(r for r in rows[1:] if r[0].startswith("Nhóm A"))
    total = next(r for r in rows[1:] if r[0] == "Tổng")
    for row in (group_a, total):
        cells = dict(zip(head, row))
        assert (cells["Ghi sổ"], cells["Ghi sổ muộn"], cells["Cuộc gọi không ghi sổ"]) == ("1/3", "1", "1")
        # SYT's two open entries and the copy STN (group A) holds now, past their deadlines on 30 June.
        assert (cells["Phiếu quá hạn"], cells["Phiếu chuyển từ hai lần trở lên"]) == ("3", "1")
        assert cells["Tỷ lệ ghi sổ"].startswith("33,3") or cells["Tỷ lệ ghi sổ"].startswith("33.3")
    group_c = dict(zip(head, next(r for r in rows[1:] if r[0].startswith("Nhóm C"))))
    assert group_c["Ghi sổ"] == "0/0" and group_c["Cuộc gọi không ghi sổ"] == "0"


def test_a_units_editor_sees_no_match_on_its_results_page(app, db, units, editor, client):
    _june(db, units)
    assert login(client, editor["email"], editor["password"]).status_code == 302
    assert client.get("/reports/?month=2025-06").status_code == 403
    mine = client.get("/reports/units/SYT?month=2025-06")
    assert mine.status_code == 200
    html = mine.data.decode()
    for word in ("Ghi sổ", "ghi sổ", "Không ghi sổ"):
        assert word not in html


def test_the_demo_report_page_shows_test_calls_logged_late_and_not_logged(app, db, inspector, client):
    """Issue 11's "done means": the demo's logbook (monitor/scheduling/demo_logbook.py) is on the report page."""
    from datetime import datetime, timezone

    from monitor.scheduling import demo_logbook
    from monitor.scheduling.scheduler import effective_settings, make_sink
    from monitor.settings import Settings
    from registry.demo import load_demo

    now = datetime(2026, 3, 12, 3, 0, tzinfo=timezone.utc)  # 10:00 in Đồng Tháp, as the demo would start
    load_demo(db, now=now - timedelta(days=40))
    demo = effective_settings(Settings.load({}, {**app.config, "DEMO_MODE": True}))
    with app.app_context():
        demo_logbook.seed_citizens(db, now=now)
        demo_logbook.seed_test_calls(db, demo, now=now, sink=make_sink(demo), owner="test")
    assert login(client, inspector["email"], inspector["password"]).status_code == 302
    html = client.get("/reports/?month=2026-03").data.decode()
    [rows] = [rows for cls, rows in tables_of(html) if "logbook" in cls]
    total = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == "Tổng")))
    logged, answered = (int(n) for n in total["Ghi sổ"].split("/"))
    assert logged >= 2 and int(total["Ghi sổ muộn"]) >= 1 and int(total["Cuộc gọi không ghi sổ"]) >= 1
    assert answered == logged + int(total["Ghi sổ muộn"]) + int(total["Cuộc gọi không ghi sổ"])
    assert int(total["Phiếu quá hạn"]) >= 1 and total["Phiếu chuyển từ hai lần trở lên"] == "1"
    league = [cells for cls, rows in tables_of(html) if "league" in cls for cells in rows[1:]]
    assert {"1/1", "0/1"} <= {cell for cells in league for cell in cells}  # a unit that logged, one that did not


def test_an_inspector_sees_the_units_logbook_on_its_results_page(app, db, units, inspector_client):
    _june(db, units)
    html = inspector_client.get("/reports/units/SYT?month=2025-06").data.decode()
    [rows] = [rows for cls, rows in tables_of(html) if "logbook" in cls]
    assert dict(zip(rows[0], rows[1])) == {"Ghi sổ": "1/3", "Ghi sổ muộn": "1", "Cuộc gọi không ghi sổ": "1",
                                           "Phiếu quá hạn": "2", "Phiếu chuyển từ hai lần trở lên": "1"}


def test_the_pages_with_the_logbook_meet_wcag_21_aa_in_a_browser(app, db, units, inspector):
    """The report page and a unit's page, with their logbook tables, audited by axe-core in Chromium."""
    playwright = pytest.importorskip("playwright.sync_api")
    from .live import CHROMIUM_ARGS, LiveServer, chromium_path
    from .test_accessibility import RUN_AXE, WCAG_TAGS, axe_source, sign_in

    _june(db, units)
    source = axe_source()
    with LiveServer(app) as live, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="vi-VN")
            context.add_init_script(script=source)
            page = context.new_page()
            sign_in(page, live, inspector["email"], inspector["password"])
            found = []
            for path in ("/reports/?month=2025-06", "/reports/units/SYT?month=2025-06"):
                page.goto(live.url + path)
                assert page.locator("table.logbook").count() >= 1, path
                found += [f"{path}: {v['id']} {v['help']} {v['nodes'][:3]}" for v in page.evaluate(RUN_AXE, WCAG_TAGS)]
            assert not found, "\n".join(found)
        finally:
            browser.close()


def test_the_logbook_tables_read_in_english(app, db, units, inspector_client):
    from .test_i18n_pages import VIETNAMESE, visible_text

    _june(db, units)
    with inspector_client.session_transaction() as session:
        session["lang"] = "en"
    for path in ("/reports/?month=2025-06", "/reports/units/SYT?month=2025-06"):
        html = inspector_client.get(path).data.decode()
        assert '<html lang="en">' in html
        for cls, rows in tables_of(html):
            if "logbook" in cls:
                head = " ".join(rows[0])
                assert "Logged / answered" in head and not VIETNAMESE.search(head), (path, head)
        section = html[html.index('id="h-logbook"' if "units/" not in path else 'id="h-unit-logbook"'):]
        words = visible_text(section[:section.index("<tbody>")])  # the body holds data: the groups' names
        assert not VIETNAMESE.search(words), (path, words)
