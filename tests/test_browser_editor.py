"""In a real headless Chromium (Debian's package, driven by Playwright) against a live server: an agency editor
signs in, follows the menu link to its results, opens a failed call's evidence, contests it, and sees the
dispute open on the call. A screenshot lands in test-artifacts/ on failure (and with SCREENSHOTS=1)."""
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.attempts import create_attempt, finish
from registry.clock import utcnow

from .conftest import make_editor
from .live import CHROMIUM_ARGS, LiveServer, chromium_path, watch_problems

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow  # a real Chromium

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def page(app, request):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="vi-VN")
        context.set_default_timeout(15_000)
        page = context.new_page()
        watch_problems(page)
        failed_before = request.session.testsfailed
        with LiveServer(app) as live:
            page.live_url = live.url
            yield page
            if request.session.testsfailed > failed_before or os.environ.get("SCREENSHOTS") == "1":
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)}.png"),
                                full_page=True)
        browser.close()


def test_an_editor_finds_its_failed_call_from_the_menu_and_contests_it(db, units, page):
    editor = make_editor(db, units["SYT"], "bientap@soyte.test.vn")
    # a failed call of this period (the menu link opens the current one), and one of another unit
    when = utcnow() - timedelta(minutes=5)
    number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [units["SYT"]]).fetchone()[0]
    failed = create_attempt(db, unit_id=units["SYT"], number=number, planned_at=when, band="office", now=when)
    finish(db, failed, "no_answer", "", when, transcript="Chuông đổ hết 30 giây, không ai nghe")

    page.goto(page.live_url + "/login")
    page.fill("#email", editor["email"])
    page.fill("#password", editor["password"])
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_load_state()

    page.get_by_role("navigation").get_by_role("link", name="Kết quả kiểm tra", exact=True).click()
    page.wait_for_load_state()
    assert page.url.split("?")[0].endswith("/reports/units/SYT"), page.url
    assert "Sở Y tế" in page.inner_text("h1")

    page.locator(f"table.evidence a[href$='/monitor/attempts/{failed}']").click()
    page.wait_for_load_state()
    main = page.inner_text("main")
    assert "Chuông đổ hết 30 giây, không ai nghe" in main and "Không nghe máy" in main

    page.get_by_role("link", name="Khiếu nại kết quả này").click()
    page.wait_for_load_state()
    page.fill("#explanation", "Tổng đài mất điện 20 phút lúc gọi, có biên bản của điện lực")
    page.get_by_role("button", name="Gửi giải trình").click()
    page.wait_for_load_state()

    assert page.url.split("#")[0].endswith(f"/monitor/attempts/{failed}"), page.url
    main = page.inner_text("main")
    assert "Đã gửi giải trình" in main
    assert page.locator("[data-dispute=open]").inner_text() == "Đang chờ xem xét"
    assert "Tổng đài mất điện 20 phút lúc gọi" in main
    assert page.get_by_role("link", name="Khiếu nại kết quả này").count() == 0
    assert db.execute("SELECT status FROM disputes WHERE attempt_id = ?", [failed]).fetchall() == [("open",)]
    assert not page.problems, page.problems
