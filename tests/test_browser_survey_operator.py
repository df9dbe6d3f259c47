"""An operator works through two survey cases in a real headless Chromium against a live server."""
import pytest

from monitor.surveys import answers
from registry import accounts

from .survey_fixtures import NOW, case_row, make_cases
from .test_browser import browser, live, page, sign_in  # noqa: F401  (fixtures)

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow  # a real Chromium
OPERATOR = ("dtv@1022.test.vn", "mat-khau-dien-thoai")


def test_an_operator_works_through_two_cases(app, db, units, live, page, monkeypatch):  # noqa: F811
    monkeypatch.setattr("registry.clock.utcnow", lambda: NOW)  # Tuesday 09:00 local: calling hours
    accounts.create_operator(db, *OPERATOR, name="Trần Thị Bình")
    first, second = make_cases(db, units["SYT"], ["0912345101", "0912345102"])
    sign_in(page, live, *OPERATOR)
    assert page.url.endswith("/surveys/queue")
    assert "Đơn vị của tôi" not in page.inner_text("header")
    page.get_by_role("button", name="Nhận cuộc gọi tiếp theo").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/surveys/cases/{first}")
    assert page.locator("[data-phone]").inner_text() == "0912345101"
    assert "Trung tâm 1022 tỉnh Đồng Tháp" in page.inner_text(".greeting")
    # consent, the five ratings, no problem, a comment; a complete interview
    page.get_by_label("Có", exact=True).first.check()
    for n in range(1, 6):
        page.check(f"#q{n}-1")  # 4 — Hài lòng
    page.check("#q6-1")  # Không
    page.fill("#q7", "Cán bộ hướng dẫn tận tình.")
    page.select_option("#disposition", "complete")
    page.get_by_role("button", name="Ghi kết quả và nhận cuộc gọi tiếp theo").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/surveys/cases/{second}")
    assert f"Đã ghi kết quả cuộc gọi phiếu #{first}" in page.inner_text("main")
    assert page.locator("[data-phone]").inner_text() == "0912345102"
    # an appointment without its time is refused in Vietnamese, on the same case
    page.select_option("#disposition", "appointment")
    page.get_by_role("button", name="Ghi kết quả và nhận cuộc gọi tiếp theo").click()
    page.wait_for_load_state()
    assert "Hãy nhập thời điểm hẹn gọi lại." in page.inner_text("main")
    page.select_option("#disposition", "no_answer")
    page.fill("#note", "Đổ chuông, không ai nghe.")
    page.get_by_role("button", name="Ghi kết quả và nhận cuộc gọi tiếp theo").click()
    page.wait_for_load_state()
    assert page.url.endswith("/surveys/queue")
    assert "Không còn phiếu nào cần gọi lúc này." in page.inner_text("main")
    assert case_row(db, first)["disposition"] == "complete" and case_row(db, first)["state"] == "closed"
    stored = answers.for_case(db, first)
    assert stored["element_3"]["rating"] == 4 and stored["comment"]["text"] == "Cán bộ hướng dẫn tận tình."
    assert (case_row(db, second)["disposition"], case_row(db, second)["tries"]) == ("no_answer", 1)
    assert db.execute("SELECT count(*) FROM phone_views").fetchone()[0] == 3  # each opening of a number, logged
    assert page.problems == []
