"""Whole journeys in a real headless Chromium (Debian's package, driven by Playwright) against a live server.

- an inspector places a test call from the unit's page and sees its outcome (a scheduler runs in a thread,
  with the simulator sped up, and dials the queued call);
- an agency editor changes its number: a Vietnamese error for a bad number, then success; a citizen then
  finds the new number in the directory by an accent-free search;
- an inspector imports a template file with a bad row and sees that row's number and the reason.
On failure each test leaves a full-page screenshot in test-artifacts/ (every test does with SCREENSHOTS=1).
"""
import os
import re
import threading
import time
from pathlib import Path

import pytest

from monitor.labels import OUTCOME as LABELS_VI  # outside a request: the Vietnamese source labels
from monitor.settings import Settings
from registry.appendix import export_csv

from .conftest import INSPECTOR, make_editor
from .live import CHROMIUM_ARGS, LiveServer, chromium_path, watch_problems

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow  # a real Chromium per test

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page; a screenshot of it in test-artifacts/ if the test fails."""
    context = browser.new_context(locale="vi-VN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch_problems(page)
    failed_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed_before or os.environ.get("SCREENSHOTS") == "1":
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception:  # the page itself may be what broke
            pass
    context.close()


def sign_in(page, live, email, password):
    page.goto(live.url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.inner_text("main")


@pytest.fixture
def scheduler(app):
    """The scheduler (monitor.scheduler.run) in a thread: simulator 60× faster, no weekly plan, limits off."""
    from monitor.scheduling import scheduler as monitor_scheduler

    settings = Settings.load({}, {**app.config, "SIMULATOR_SPEED": 60.0, "TESTS_PER_WEEK": 0, "DEMO_MODE": False,
              "CALLS_PER_SECOND": 5, "MAX_CONCURRENT_CALLS": 0, "MIN_GAP_MINUTES": 0,
              "CALLS_PER_LINE_PER_HOUR": 0, "CALLS_PER_LINE_PER_DAY": 0})
    stop, started = threading.Event(), threading.Event()
    thread = threading.Thread(target=monitor_scheduler.run, args=(settings,),
                              kwargs={"stop_event": stop, "on_started": lambda info: started.set()}, daemon=True)
    thread.start()
    assert started.wait(15), "the scheduler did not start"
    yield
    stop.set()
    thread.join(20)


def test_an_inspector_places_a_test_call_from_the_unit_page_and_sees_its_outcome(app, db, units, inspector, live,
                                                                                scheduler, page):
    sign_in(page, live, *INSPECTOR)
    page.goto(live.url + "/monitor/units/SYT")
    assert "0277 3851 234" in page.inner_text("main")
    page.get_by_role("button", name="Gọi kiểm tra ngay").click()
    page.wait_for_load_state()
    assert re.search(r"/monitor/attempts/\d+$", page.url), page.url
    assert "Đã xếp cuộc gọi kiểm tra ngay" in page.inner_text("main")
    # while the call is on the page says so beside a "Tải lại" link (it reloads itself only if asked); reload
    deadline = time.monotonic() + 25
    while page.locator(".call-pending").count() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.get_by_role("link", name="Tải lại", exact=True).click()
        page.wait_for_load_state()
    assert page.locator(".call-pending").count() == 0, page.inner_text("main")
    attempt_id = int(page.url.rsplit("/", 1)[1])
    outcome = db.execute("SELECT outcome FROM attempts WHERE id = ? AND state = 'ended'", [attempt_id]).fetchone()[0]
    badge = page.locator(f"main [data-outcome={outcome}]").first
    assert badge.inner_text() == str(LABELS_VI[outcome])  # the outcome, in Vietnamese
    assert "Gọi thủ công" in page.inner_text("main") or "thủ công" in page.inner_text("main").lower()
    # and the unit's history lists the call with that outcome
    page.goto(live.url + "/monitor/units/SYT")
    row = page.locator("table.attempts tbody tr", has=page.locator(f"a[href$='/monitor/attempts/{attempt_id}']"))
    assert row.locator(f"[data-outcome={outcome}]").inner_text() == str(LABELS_VI[outcome])
    assert not page.problems, page.problems


def test_an_editor_fixes_a_bad_number_then_a_citizen_finds_the_new_one_by_accent_free_search(app, db, units, live,
                                                                                            browser, page):
    editor = make_editor(db, units["SYT"], "bientap@soyte.test.vn")
    sign_in(page, live, editor["email"], editor["password"])
    assert page.url.endswith("/units/SYT")
    # an old area code: refused, in Vietnamese, next to the field, and nothing saved
    page.fill("#number", "067 3851 999")
    page.fill("#reason", "Chuyển sang tổng đài mới")
    page.click("#save-number")
    page.wait_for_load_state()
    error = page.locator("#number-err")
    assert error.count() == 1
    assert "0277" in error.inner_text()  # Đồng Tháp's area code since 2017, said plainly
    assert page.locator("#number").get_attribute("aria-invalid") == "true"
    assert db.execute("SELECT display FROM hotlines WHERE unit_id = ?", [units["SYT"]]).fetchone()[0] == "0277 3851 234"
    # the right number: saved, with the reason in the unit's history
    page.fill("#number", "0277 3851 999")
    page.fill("#reason", "Chuyển sang tổng đài mới")
    page.click("#save-number")
    page.wait_for_load_state()
    assert "Đã lưu số đường dây nóng 0277 3851 999" in page.inner_text("main")
    assert "Chuyển sang tổng đài mới" in page.inner_text("main")
    assert not page.problems, page.problems

    citizen = browser.new_context(locale="vi-VN")
    try:
        public = citizen.new_page()
        public.goto(live.url + "/")
        public.get_by_placeholder("Tên đơn vị, mã hoặc số điện thoại").fill("so y te")
        public.get_by_role("button", name="Tìm", exact=True).click()
        public.wait_for_load_state()
        rows = public.locator("table.directory tbody tr:not(.section)")
        assert rows.count() == 1
        assert "Sở Y tế" in rows.first.inner_text() and "0277 3851 999" in rows.first.inner_text()
        assert "0277 3851 234" not in public.inner_text("main")
    finally:
        citizen.close()


def test_an_inspector_imports_a_template_with_a_bad_row_and_sees_its_row_number(app, db, units, inspector, live, page,
                                                                              tmp_path):
    lines = export_csv(db).decode("utf-8-sig").splitlines()
    bad_row = next(i for i, line in enumerate(lines, start=1) if "0912 345 678" in line)
    lines[bad_row - 1] = lines[bad_row - 1].replace("0912 345 678", "0912 345 678 / 0913 111 222")
    path = tmp_path / "danh-sach.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8-sig"))
    before = db.execute("SELECT number FROM hotlines ORDER BY unit_id").fetchall()

    sign_in(page, live, *INSPECTOR)
    page.goto(live.url + "/registry/import")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name=re.compile("Nhập|Kiểm tra")).first.click()
    page.wait_for_load_state()
    table = page.locator("table.import-errors")
    assert table.count() == 1, page.inner_text("main")
    cells = table.locator("tbody tr").first.locator("td")
    assert cells.nth(0).inner_text().strip() == str(bad_row)
    assert "một số" in cells.nth(2).inner_text()  # the rule: one number per unit
    assert db.execute("SELECT number FROM hotlines ORDER BY unit_id").fetchall() == before
    assert not page.problems, page.problems
