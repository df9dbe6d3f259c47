"""In a real headless Chromium against a live server: a unit's editor opens an entry, follows "Sửa phiếu",
corrects the content and the field with a reason, and reads the correction (old → new, and why) in the entry's
history; a save without a reason is refused in Vietnamese first. A screenshot lands in test-artifacts/ on
failure."""
from datetime import timedelta

from registry import clock
from registry.logbook import entries

from .conftest import make_editor
from .test_browser_logbook import page  # noqa: F401  (the fixture: a browser page on a live server)


def test_an_editor_corrects_an_entry_and_sees_the_change_in_its_history(db, units, page):  # noqa: F811
    editor = make_editor(db, units["SYT"], "bientap@soyte.test.vn")
    entry = entries.create(db, units["SYT"], {"content": "Hỏi giờ làm việc bộ phận một cửa", "field_code": "khac",
                                              "reporter_phone": "0903 123 456", "reporter_name": "Trần Thị B"},
                           user_id=editor["id"], now=clock.utcnow() - timedelta(hours=1))
    page.goto(page.live_url + "/login")
    page.fill("#email", editor["email"])
    page.fill("#password", editor["password"])
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_load_state()

    page.goto(page.live_url + f"/logbook/entries/{entry['id']}")
    page.get_by_role("link", name="Sửa phiếu", exact=True).click()
    page.wait_for_load_state()
    assert page.input_value("#content") == "Hỏi giờ làm việc bộ phận một cửa"  # prefilled
    assert page.input_value("#reporter_phone") == "0903123456" and page.input_value("#field_code") == "khac"
    page.fill("#content", "Hỏi thủ tục cấp giấy phép kinh doanh ở bộ phận một cửa")
    page.select_option("#field_code", "tthc")
    page.get_by_role("button", name="Lưu phần sửa").click()
    page.wait_for_load_state()
    assert "Hãy ghi lý do sửa." in page.inner_text("main")  # the reason is required; nothing saved yet
    assert entries.get(db, entry["id"])["field_code"] == "khac"

    page.fill("#edit_reason", "Nghe nhầm nội dung khi tiếp nhận")
    page.get_by_role("button", name="Lưu phần sửa").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/logbook/entries/{entry['id']}")
    assert "Đã lưu phần sửa của phiếu" in page.get_by_role("status").first.inner_text()
    history = page.inner_text("table.history")
    assert "Nghe nhầm nội dung khi tiếp nhận" in history and "bientap@soyte.test.vn" in history
    assert "Hỏi giờ làm việc bộ phận một cửa → Hỏi thủ tục cấp giấy phép kinh doanh ở bộ phận một cửa" in history
    assert "khac → tthc" in history
    assert not page.problems, page.problems
