"""The appendix as agencies fill it in, imported in a real headless Chromium: the plan first, then the import.

An inspector uploads the letter's four-column table (no unit codes) into a fresh install with "check only",
reads the plan (30 new units, their generated codes), imports it, and a second file spelled differently shows
every unit as unchanged.
"""
import pytest

from . import test_browser as journeys
from .conftest import INSPECTOR
from .test_appendix_names import province_rows, xlsx_bytes
from .test_browser import sign_in

# The browser journeys' fixtures: one Chromium per module, a live server and a watched page per test.
browser, live, page = journeys.browser, journeys.live, journeys.page

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow  # a real Chromium


def test_an_inspector_checks_then_imports_the_four_column_template_into_a_fresh_install(db, inspector, live, page,
                                                                                         tmp_path):
    first, second = tmp_path / "phu-luc.xlsx", tmp_path / "lan-2.xlsx"
    first.write_bytes(xlsx_bytes(province_rows()))
    second.write_bytes(xlsx_bytes(province_rows(variant=True)))
    sign_in(page, live, *INSPECTOR)

    page.goto(live.url + "/registry/import")
    page.set_input_files("#file", str(first))
    page.check("#dry_run")
    page.get_by_role("button", name="Nhập tệp").click()
    page.wait_for_load_state()
    plan = page.locator("table#plan-new tbody tr")
    assert plan.count() == 30, page.inner_text("main")
    assert plan.first.locator("td").nth(1).inner_text() == "SO-Y-TE"
    assert "Chưa có gì được ghi" in page.inner_text("main")
    assert db.execute("SELECT count(*) FROM units").fetchone()[0] == 0

    page.set_input_files("#file", str(first))
    page.uncheck("#dry_run")
    page.get_by_role("button", name="Nhập tệp").click()
    page.wait_for_load_state()
    assert "đã tạo 30 đơn vị" in page.inner_text("main")
    assert db.execute("SELECT count(*) FROM units").fetchone()[0] == 30

    page.set_input_files("#file", str(second))
    page.get_by_role("button", name="Nhập tệp").click()
    page.wait_for_load_state()
    assert "30 đơn vị không đổi" in page.inner_text("main")
    assert page.locator("table#plan-new").count() == 0 and page.locator("table#plan-changed").count() == 0
    page.locator("details summary").filter(has_text="Không đổi").click()
    assert page.locator("table#plan-unchanged tbody tr").count() == 30
    assert not page.problems, page.problems
