"""The questionnaire editor and the results pages, through the real Flask client: a good edit makes a new active
version, bad input is refused in Vietnamese and saves nothing, and the results page and its downloads."""
import io
import json

import pytest
from openpyxl import load_workbook

from monitor.surveys import questionnaire

from .conftest import csrf_from


def _form(page: str, title: str, questions: list[dict]) -> dict:
    data = {"csrf_token": csrf_from(page), "title": title, "rows": str(len(questions))}
    for i, q in enumerate(questions):
        data.update({f"q-{i}-key": q["key"], f"q-{i}-text": q["text"], f"q-{i}-kind": q["kind"],
                     f"q-{i}-element": str(q.get("element", ""))})
    return data


def _versions(db) -> int:
    return db.execute("SELECT count(*) FROM questionnaires").fetchone()[0]


def test_the_editor_shows_the_default_and_saves_a_new_active_version(inspector_client, db):
    page = inspector_client.get("/surveys/questionnaire").get_data(as_text=True)
    assert "Chưa lưu phiên bản nào" in page and "element_3" in page
    questions = [dict(q) for q in questionnaire.DEFAULT_QUESTIONS]
    questions[1]["text"] = "Việc tiếp cận dịch vụ (cổng dịch vụ công, nơi nộp hồ sơ) có thuận tiện không?"
    questions.append({"key": "waited", "text": "Ông/bà có phải chờ lâu không?", "kind": "yes_no", "element": ""})
    response = inspector_client.post("/surveys/questionnaire", data=_form(page, "Khảo sát tháng 12", questions))
    assert response.status_code == 302
    active = questionnaire.active(db)
    assert active["version"] == 1 and active["title"] == "Khảo sát tháng 12"
    assert [q["key"] for q in active["questions"]][-1] == "waited"
    assert active["questions"][1]["element"] == 1 and active["questions"][1]["text"].startswith("Việc tiếp cận")
    page = inspector_client.get("/surveys/questionnaire").get_data(as_text=True)
    assert "Đã lưu bộ câu hỏi phiên bản 1." in page and "Khảo sát tháng 12" in page
    # A second save is version 2; version 1 stays for the cases that were asked it.
    inspector_client.post("/surveys/questionnaire", data=_form(page, "Khảo sát tháng 1", questions))
    assert [v["version"] for v in questionnaire.versions(db)] == [2, 1]
    assert questionnaire.active(db)["version"] == 2


@pytest.mark.parametrize("title, change, message", [
    ("", None, "Bộ câu hỏi cần có tiêu đề."),
    ("T" * 301, None, "Tiêu đề tối đa 300 ký tự."),
    ("Tiêu đề", {"kind": "chon_nhieu"}, "Câu 2: loại câu hỏi không hợp lệ."),
    ("Tiêu đề", {"key": "element_1 x"}, "Câu 2: mã câu hỏi chỉ gồm chữ thường"),
    ("Tiêu đề", {"key": "consent"}, "Câu 2: mã câu hỏi trống hoặc trùng."),
    ("Tiêu đề", {"text": ""}, "Câu 2: chưa có nội dung."),
    ("Tiêu đề", {"element": "9"}, "Câu 2: yếu tố SIPAS là 1 đến 5"),
    ("Tiêu đề", {"kind": "text"}, "Câu 2: yếu tố SIPAS là 1 đến 5, và chỉ cho câu hỏi chấm điểm."),
    ("Tiêu đề", {"key": "problem", "element": ""}, "phải giữ loại yes_no"),
])
def test_bad_input_is_refused_in_vietnamese_and_saves_nothing(inspector_client, db, title, change, message):
    page = inspector_client.get("/surveys/questionnaire").get_data(as_text=True)
    questions = [dict(q) for q in questionnaire.DEFAULT_QUESTIONS]
    if change:
        questions[1].update(change)
    if change and change.get("key") == "problem":
        questions = questions[:-2]  # the default "problem" question would make the key a duplicate first
    response = inspector_client.post("/surveys/questionnaire", data=_form(page, title, questions))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _versions(db) == 0


def test_an_emptied_row_drops_the_question_and_a_form_without_token_is_refused(inspector_client, db):
    page = inspector_client.get("/surveys/questionnaire").get_data(as_text=True)
    questions = [dict(q) for q in questionnaire.DEFAULT_QUESTIONS]
    questions[-1].update(key="", text="")
    assert inspector_client.post("/surveys/questionnaire", data=_form(page, "Ngắn", questions)).status_code == 302
    assert "comment" not in [q["key"] for q in questionnaire.active(db)["questions"]]
    data = _form(page, "Không có mã bảo vệ", questions)
    del data["csrf_token"]
    assert inspector_client.post("/surveys/questionnaire", data=data).status_code == 400
    assert _versions(db) == 1
    data = _form(page, "Số dòng lạ", questions)
    data["rows"] = "²"  # a digit Python's int() refuses: no question read, a clear refusal
    response = inspector_client.post("/surveys/questionnaire", data=data)
    assert response.status_code == 400 and "ít nhất một câu hỏi" in response.get_data(as_text=True)


def _survey(db, units):
    sample = db.execute("INSERT INTO survey_samples (period_from, period_to, seed, method, margin, frame_size, size, "
                        "created_at) VALUES ('2026-11-01', '2026-11-30', 1, 'yamane', 0.05, 3, 3, "
                        "'2026-12-01T00:00:00Z')").lastrowid
    for n, (unit, rating, comment) in enumerate([("SYT", 5, "Rất tốt"), ("XMA", 1, "Phải chờ <b>lâu</b>")]):
        dossier = db.execute("INSERT INTO dossiers (code, applicant, phone, unit_id, level, returned_on) VALUES "
                             "(?, 'Trần Văn Kín', '0987654321', ?, ?, '2026-11-05')",
                             [f"000.00.12.H19-261105-000{n}", units[unit], "province" if unit == "SYT" else "locality"]
                             ).lastrowid
        case = db.execute("INSERT INTO survey_cases (sample_id, dossier_id, unit_id, stratum, weight, disposition) "
                          "VALUES (?, ?, ?, 'x', 1, 'complete')", [sample, dossier, units[unit]]).lastrowid
        db.conn.executemany("INSERT INTO survey_answers (case_id, question_key, rating, text, answered_at) VALUES "
                            "(?, ?, ?, ?, '2026-11-06T00:00:00Z')",
                            [(case, f"element_{e}", rating, None) for e in range(1, 6)] + [(case, "comment", None, comment)])
    db.conn.commit()


def test_the_results_page_and_downloads(inspector_client, db, units):
    _survey(db, units)
    page = inspector_client.get("/surveys/results?month=2026-11").get_data(as_text=True)
    assert "<svg" in page and "UBND xã Mỹ An" in page and "chưa đủ dữ liệu" in page  # 1 complete < 10
    assert "Phải chờ &lt;b&gt;lâu&lt;/b&gt;" in page
    for secret in ("Trần Văn Kín", "0987654321", "0987 654 321", "H19-261105"):
        assert secret not in page
    data = json.loads(inspector_client.get("/surveys/results/export?month=2026-11&format=json").data)
    assert data["province"]["completes"] == 2
    response = inspector_client.get("/surveys/results/export?from=2026-11-01&to=2026-11-30&format=xlsx")
    assert response.status_code == 200 and "khao-sat-1022-20261101-20261130.xlsx" in response.headers["Content-Disposition"]
    load_workbook(io.BytesIO(response.data))
    bad = inspector_client.get("/surveys/results/export?month=2026-11&format=exe")
    assert bad.status_code == 400 and "không hỗ trợ" in bad.get_data(as_text=True)
    bad = inspector_client.get("/surveys/results?month=2026-13")
    assert bad.status_code == 400 and "không đúng dạng" in bad.get_data(as_text=True)


def test_in_a_browser_the_pages_meet_wcag_and_the_editor_speaks_on_bad_input(app, db, units, inspector):
    """Chromium through tests/live.py: the inspector reads the results (axe finds nothing on either page in either
    state) and a questionnaire with a bad element is refused with its message beside the form."""
    playwright = pytest.importorskip("playwright.sync_api")
    from .live import CHROMIUM_ARGS, LiveServer, chromium_path
    from .test_accessibility import RUN_AXE, WCAG_TAGS, axe_source, sign_in

    _survey(db, units)
    with LiveServer(app) as live, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="vi-VN")
        context.add_init_script(script=axe_source())
        page = context.new_page()
        sign_in(page, live, inspector["email"], inspector["password"])
        findings = []
        page.goto(live.url + "/surveys/results?month=2026-11")
        assert page.get_by_role("img", name="Tỷ lệ hài lòng theo yếu tố (SIPAS)").is_visible()
        findings += page.evaluate(RUN_AXE, WCAG_TAGS)
        page.get_by_role("link", name="Bộ câu hỏi").click()
        page.wait_for_load_state()
        findings += page.evaluate(RUN_AXE, WCAG_TAGS)
        page.select_option("#q-6-element", "2")  # the yes/no "problem" question given an element
        page.get_by_role("button", name="Lưu thành phiên bản mới").click()
        page.wait_for_load_state()
        assert "yếu tố SIPAS là 1 đến 5, và chỉ cho câu hỏi chấm điểm" in page.get_by_role("alert").inner_text()
        findings += page.evaluate(RUN_AXE, WCAG_TAGS)
        browser.close()
    assert not findings, [f"{v['id']}: {v['help']} {v['nodes'][:3]}" for v in findings]
    assert _versions(db) == 0
