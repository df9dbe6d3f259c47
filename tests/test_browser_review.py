"""An inspector decides held calls from the review queue in a real headless Chromium against a live server."""
import pytest

from .conftest import INSPECTOR
from .test_browser import browser, live, page, sign_in  # noqa: F401  (fixtures)
from .test_review import held_calls, row, unsure_rules  # noqa: F401  (unsure_rules: autouse fixture)

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow  # a real Chromium


def test_an_inspector_decides_a_held_call_from_the_queue_and_gets_the_next(app, db, units, inspector, live, page):  # noqa: F811
    first, second, third = held_calls(db, units)
    sign_in(page, live, *INSPECTOR)
    menu = page.locator("header nav a.nav-review")
    assert menu.locator("[data-review-count]").inner_text() == "3"
    menu.click()
    page.wait_for_load_state()
    assert page.url.endswith("/monitor/review")
    item = page.locator("section.review-item")
    assert item.get_attribute("data-attempt") == str(first)
    assert "alo… dạ… anh gọi số… (không nghe rõ)" in item.inner_text()
    assert item.locator("a.recording").get_attribute("href").endswith("/Recordings/RE1")
    page.select_option("#outcome", "redirected")
    page.fill("#reason", "Nghe lại bản ghi: cán bộ bảo gọi sang số khác.")
    page.get_by_role("button", name="Ghi quyết định và xem cuộc gọi tiếp theo").click()
    page.wait_for_load_state()
    assert f"Đã ghi nhận quyết định cho lần gọi #{first}" in page.inner_text("main")
    assert page.locator("section.review-item").get_attribute("data-attempt") == str(second)
    assert page.locator("header nav [data-review-count]").inner_text() == "2"
    decided = row(db, first)
    assert (decided["outcome"], decided["outcome_basis"], decided["outcome_certain"]) == ("redirected", "inspector", 1)
    assert db.execute("SELECT count(*) FROM attempts WHERE retest_of = ?", [first]).fetchone()[0] == 1
    # a decision without a reason is refused on the same item, in Vietnamese
    page.select_option("#outcome", "answered")
    page.get_by_role("button", name="Ghi quyết định và xem cuộc gọi tiếp theo").click()
    page.wait_for_load_state()
    assert "Hãy ghi lý do của quyết định." in page.inner_text("main")
    assert page.locator("section.review-item").get_attribute("data-attempt") == str(second)
    assert page.problems == []
