"""In a real headless Chromium against a live server: a unit's staff member, on a call, opens the logbook from the
menu, logs the citizen's report with the form's defaults (channel "hotline", time now) and reads the receipt code
back; the entry is in the book with the phone masked. A screenshot lands in test-artifacts/ on failure."""
import os
import re
from pathlib import Path

import pytest

from registry.logbook import entries

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
        problems = watch_problems(page)
        failed_before = request.session.testsfailed
        with LiveServer(app) as live:
            page.live_url = live.url
            page.problems = problems
            yield page
            if request.session.testsfailed > failed_before or os.environ.get("SCREENSHOTS") == "1":
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)}.png"),
                                full_page=True)
        browser.close()


def test_a_staff_member_logs_a_call_and_reads_its_receipt_code(db, units, page):
    editor = make_editor(db, units["SYT"], "bientap@soyte.test.vn")
    page.goto(page.live_url + "/login")
    page.fill("#email", editor["email"])
    page.fill("#password", editor["password"])
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_load_state()

    page.get_by_role("navigation").get_by_role("link", name="Sổ theo dõi", exact=True).click()
    page.get_by_role("link", name="Ghi phiếu mới").click()
    page.wait_for_load_state()
    assert page.input_value("#channel") == "hotline" and page.input_value("#received_at")  # defaults: hotline, now
    page.fill("#content", "Hỏi hồ sơ cấp giấy phép kinh doanh nộp đã 20 ngày chưa có kết quả")
    page.fill("#reporter_name", "Trần Thị B")
    page.fill("#reporter_phone", "0903 123 456")
    page.select_option("#field_code", "tthc")
    page.get_by_role("button", name="Ghi sổ").click()
    page.wait_for_load_state()

    [entry] = entries.book(db, units["SYT"])
    assert page.inner_text("#ma-phieu") == entry["receipt_code"]
    assert re.fullmatch(r"SYT-\d{6}-001", entry["receipt_code"])
    flash = page.get_by_role("status").first.inner_text()
    assert entry["receipt_code"] in flash and "3456" in flash

    page.get_by_role("link", name="Sổ theo dõi: Sở Y tế").click()
    page.wait_for_load_state()
    book = page.inner_text("main")
    assert entry["receipt_code"] in book and "0903 ••• 456" in book and "0903123456" not in book
    assert not page.problems, page.problems
