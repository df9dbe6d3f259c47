"""The public directory in a real headless Chromium: loads, searches, shows the number; CSP leaves it working."""
import pytest

from .live import CHROMIUM_ARGS, LiveServer, chromium_path

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow  # a real Chromium


@pytest.fixture
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_citizen_finds_a_hotline_by_accent_free_search(app, units, browser, tmp_path):
    with LiveServer(app) as live:
        page = browser.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            page.goto(live.url + "/")
            page.get_by_placeholder("Tên đơn vị, mã hoặc số điện thoại").fill("so y te")
            page.get_by_role("button", name="Tìm", exact=True).click()
            rows = page.locator("table.directory tbody tr:not(.section)")
            assert rows.count() == 1
            assert "Sở Y tế" in rows.first.inner_text()
            assert "0277 3851 234" in rows.first.inner_text()
            assert not errors, errors  # no CSP violation or failed resource
        except Exception:
            page.screenshot(path=str(tmp_path / "directory-failure.png"), full_page=True)
            raise
