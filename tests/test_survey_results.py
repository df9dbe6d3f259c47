"""The 1022 surveys' results: AAPOR rates against hand-worked examples, weights and intervals, the league with
too few completes, anonymous exports in every format, the monthly report's section, the bad-answer alert and
its cap, and the `surveys results` command. Cases and answers are inserted with SQL, as the queue would leave them."""
import csv
import io
import json
from datetime import date, datetime, timezone

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from monitor.reports.intervals import wilson
from monitor.reports.periods import Period
from monitor.reports.render import render as render_report
from monitor.reports.report import build_report
from monitor.surveys import answer_alerts, rates, render, results
from monitor.surveys.results import anonymise

from .conftest import change_settings

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
PHONE = "0987654321"
APPLICANT = "Nguyễn Thị Bí Mật"
ELEMENT_KEYS = [f"element_{e}" for e in range(1, 6)]


class Frame:
    """Dossiers, a sample, cases and answers written straight into the tables."""

    def __init__(self, db):
        self.db = db
        self.n = 0
        self.sample = db.execute(
            "INSERT INTO survey_samples (period_from, period_to, seed, method, margin, frame_size, size, created_at) "
            "VALUES ('2026-11-01', '2026-11-30', 1, 'yamane', 0.05, 100, 100, '2026-12-01T00:00:00Z')").lastrowid
        db.conn.commit()

    def case(self, unit_id, disposition, *, weight=1.0, level="province", returned="2026-11-10", ratings=None,
             problem=None, comment=None, code=None):
        self.n += 1
        code = code or f"000.00.12.H19-261110-{self.n:04d}"
        dossier = self.db.execute(
            "INSERT INTO dossiers (code, procedure, applicant, phone, unit_id, level, returned_on) "
            "VALUES (?, 'Cấp giấy phép xây dựng', ?, ?, ?, ?, ?)",
            [code, APPLICANT, PHONE, unit_id, level, returned]).lastrowid
        case_id = self.db.execute(
            "INSERT INTO survey_cases (sample_id, dossier_id, unit_id, stratum, weight, disposition, state) "
            "VALUES (?, ?, ?, ?, ?, ?, 'closed')",
            [self.sample, dossier, unit_id, f"{unit_id}:on_time", weight, disposition]).lastrowid
        answers = []
        if ratings is not None:
            values = ratings if isinstance(ratings, list) else [ratings] * 5
            answers += [(key, value, None, None) for key, value in zip(ELEMENT_KEYS, values)]
        if problem is not None:
            answers.append(("problem", None, int(problem), None))
        if comment is not None:
            answers.append(("comment", None, None, comment))
        self.db.conn.executemany(
            "INSERT INTO survey_answers (case_id, question_key, rating, yes, text, answered_at) "
            "VALUES (?, ?, ?, ?, ?, '2026-11-20T03:00:00Z')", [(case_id, *a) for a in answers])
        self.db.conn.commit()
        return case_id


@pytest.fixture
def frame(db, units):
    return Frame(db)


def build(db, min_completes=2, start=date(2026, 11, 1), end=date(2026, 11, 30)):
    return results.build(db, start, end, min_completes=min_completes)


# --------------------------------------------------------------------------------------------- AAPOR rates

def test_rates_match_a_hand_worked_aapor_example():
    # I=40 P=10 R=20 NC=15 O=5 UH=10 NE=10: 100 eligible or unknown, 90 known eligible, e = 90/100.
    r = rates.rates({"I": 40, "P": 10, "R": 20, "NC": 15, "O": 5, "UH": 10, "NE": 10})
    assert r["e"] == pytest.approx(0.9)
    assert r["RR1"] == pytest.approx(40 / 100)
    assert r["RR2"] == pytest.approx(50 / 100)
    assert r["RR3"] == pytest.approx(40 / 99)   # 90 + 0.9 × 10
    assert r["RR4"] == pytest.approx(50 / 99)
    assert r["RR5"] == pytest.approx(40 / 90)
    assert r["RR6"] == pytest.approx(50 / 90)
    assert r["COOP1"] == pytest.approx(40 / 75)
    assert r["REF1"] == pytest.approx(20 / 100)
    assert r["CON1"] == pytest.approx(75 / 100)


def test_rates_with_a_given_e_and_without_cases():
    r = rates.rates({"I": 3, "NC": 1, "UO": 4}, e=0.5)
    assert r["RR3"] == pytest.approx(3 / 6) and r["RR1"] == pytest.approx(3 / 8) and r["RR5"] == pytest.approx(3 / 4)
    empty = rates.rates({})
    assert all(empty[k] is None for k in rates.RATE_KEYS)


def test_rates_from_stored_dispositions_group_them_as_aapor_does(db, units, frame):
    for code, count in [("complete", 4), ("partial", 1), ("refusal", 1), ("soft_refusal", 1), ("no_answer", 2),
                        ("language", 1), ("wrong_number", 2), (None, 1), ("unknown", 1)]:
        for _ in range(count):
            frame.case(units["SYT"], code, ratings=5 if code in ("complete", "partial") else None)
    f = build(db).province
    assert f.raw_counts == {"I": 4, "P": 1, "R": 2, "NC": 2, "O": 1, "UH": 2, "UO": 0, "NE": 2}
    assert f.rates["RR1"] == pytest.approx(4 / 12)
    assert f.rates["e"] == pytest.approx(10 / 12)
    assert f.rates["RR3"] == pytest.approx(4 / (10 + 2 * 10 / 12))
    assert f.rates["COOP1"] == pytest.approx(4 / 8)
    assert f.data_findings == 2 and f.completes == 4 and f.respondents == 5


# ---------------------------------------------------------------------------------- weights and intervals

def test_weights_correct_an_oversample_and_widen_the_interval(db, units, frame):
    frame.case(units["SYT"], "complete", weight=1.0, ratings=5, problem=False)
    frame.case(units["SYT"], "complete", weight=3.0, ratings=1, problem=True)
    f = build(db).province
    assert f.overall["share"] == pytest.approx(0.25)        # not 0.5: the second case stands for 3 dossiers
    assert f.overall["dissatisfied"] == pytest.approx(0.75)
    assert f.overall["mean"] == pytest.approx((5 + 3 * 1) / 4)
    n_eff = 16 / 10                                          # (Σw)² / Σw²
    assert f.overall["n_eff"] == pytest.approx(n_eff)
    assert (f.overall["low"], f.overall["high"]) == pytest.approx(wilson(0.25 * n_eff, n_eff))
    assert f.problems["share"] == pytest.approx(0.75) and (f.problems["n"], f.problems["yes"]) == (2, 1)
    assert f.counts["I"] == pytest.approx(4.0) and f.raw_counts["I"] == 2


def test_equal_weights_give_the_plain_wilson_interval_per_element(db, units, frame):
    for value in (5, 4, 4, 3, 2):
        frame.case(units["SYT"], "complete", ratings=[value, 5, 5, 5, 5])
    element = build(db).province.elements[1]
    assert element["share"] == pytest.approx(3 / 5) and element["n"] == 5
    assert (element["low"], element["high"]) == pytest.approx(wilson(3, 5))
    assert element["dissatisfied"] == pytest.approx(1 / 5)
    assert element["mean"] == pytest.approx(18 / 5)


def test_the_league_ranks_worst_first_and_leaves_units_with_too_few_completes_unranked(db, units, frame):
    for _ in range(3):
        frame.case(units["SYT"], "complete", ratings=5)
    frame.case(units["SYT"], "complete", ratings=2)
    for _ in range(3):
        frame.case(units["XMA"], "complete", level="locality", ratings=2)
    frame.case(units["XMA"], "complete", level="locality", ratings=4)
    found = build(db, min_completes=4)
    assert [u.unit["code"] for u in found.units] == ["XMA", "SYT"]  # 25 % before 75 %
    assert all(u.ranked for u in found.units)
    assert found.levels["locality"].cases == 4 and found.levels["province"].cases == 4
    found = build(db, min_completes=5)
    assert not found.ranked
    rows = render.unit_rows(found)
    assert all(r["rank"] is None and "chưa đủ dữ liệu" in r["note"] for r in rows)


def test_a_period_holds_the_dossiers_returned_in_it(db, units, frame):
    frame.case(units["SYT"], "complete", ratings=5, returned="2026-10-31")
    frame.case(units["SYT"], "complete", ratings=1, returned="2026-11-01")
    found = build(db)
    assert found.province.cases == 1 and found.province.overall["share"] == 0
    trend = results.trend(db, date(2026, 11, 30), 2)
    assert [(t["month"], t["cases"]) for t in trend] == [("2026-10", 1), ("2026-11", 1)]


# ---------------------------------------------------------------------------------------- anonymity, files

def test_comments_are_anonymised():
    text = anonymise("Gọi lại cho tôi số 0912.345.678 về hồ sơ 000.00.12.H19-261110-0001 nhé")
    assert "345" not in text and "H19" not in text and "Gọi lại cho tôi số" in text


@pytest.fixture
def filled(db, units, frame):
    frame.case(units["SYT"], "complete", ratings=5, comment="=HYPERLINK(\"http://x\") rất tốt, gọi 0987 654 321")
    frame.case(units["SYT"], "complete", ratings=4, problem=False, comment="Cán bộ nhiệt tình")
    frame.case(units["XMA"], "complete", level="locality", ratings=1, problem=True, comment="Bị đòi tiền")
    frame.case(units["XMA"], "refusal", level="locality")
    return build(db, min_completes=1)


def _no_personal_data(text: str) -> None:
    for secret in (PHONE, "0987 654 321", APPLICANT, "H19-261110"):
        assert secret not in text, secret


def test_csv_and_json_are_anonymous_and_formula_safe(filled):
    text = render.render(filled, "csv", generated_at=NOW).decode("utf-8-sig")
    _no_personal_data(text)
    rows = list(csv.reader(io.StringIO(text)))
    assert any(r and r[0] == "'=HYPERLINK(\"http://x\") rất tốt, gọi […]" for r in [[c for c in row[2:]] for row in rows])
    assert any("Bị đòi tiền" in cell for row in rows for cell in row)
    data = json.loads(render.render(filled, "json", generated_at=NOW))
    _no_personal_data(json.dumps(data, ensure_ascii=False))
    assert data["province"]["completes"] == 3 and data["province"]["rates"]["RR1"] == pytest.approx(3 / 4)
    assert {u["code"] for u in data["units"]} == {"SYT", "XMA"}


def test_xlsx_opens_and_holds_no_formula(filled):
    book = load_workbook(io.BytesIO(render.render(filled, "xlsx", generated_at=NOW)))
    assert book.sheetnames == ["Tổng hợp", "Đơn vị", "Ý kiến", "Xu hướng"]
    cells = [c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value is not None]
    _no_personal_data(" ".join(map(str, cells)))
    assert not any(isinstance(v, str) and v.startswith("=") for v in cells)
    assert any(isinstance(v, str) and v.startswith("'=HYPERLINK") for v in cells)
    units = book["Đơn vị"]
    assert units.cell(row=2, column=3).value == "UBND xã Mỹ An"  # worst first


def test_pdf_has_the_official_layout_and_no_personal_data(filled):
    data = render.render(filled, "pdf", generated_at=NOW)
    assert data.startswith(b"%PDF")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())
    for expected in ("ỦY BAN NHÂN DÂN TỈNH ĐỒNG THÁP", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "KHẢO SÁT",
                     "Đồng Tháp, ngày 01 tháng 12 năm 2026", "UBND xã Mỹ An", "Bị đòi tiền"):
        assert expected in text, expected
    _no_personal_data(text)


def test_the_monthly_report_has_the_survey_section_in_every_format(app, db, filled):
    with app.test_request_context():
        report = build_report(db, Period.month(2026, 11), now=NOW, settings=app.extensions["settings"])
        assert report.surveys.province.completes == 3
        data = json.loads(render_report(report, "json"))
        assert [u["code"] for u in data["surveys"]["units"]] == ["XMA", "SYT"]
        text = render_report(report, "csv").decode("utf-8-sig")
        assert "Khảo sát mức độ hài lòng (1022)" in text and "UBND xã Mỹ An" in text
        book = load_workbook(io.BytesIO(render_report(report, "xlsx")))
        assert "Khảo sát 1022" in book.sheetnames
        from monitor.reports.pdf import to_html
        html = to_html(report)
        assert "IV. KHẢO SÁT MỨC ĐỘ HÀI LÒNG (1022)" in html and "Bảng 5." in html
        for body in (json.dumps(data, ensure_ascii=False), text, html):
            _no_personal_data(body)
            assert "Bị đòi tiền" not in body  # comments stay in the survey's own documents


def test_the_command_writes_each_format(app, runner, filled, tmp_path):
    for fmt in ("json", "csv", "xlsx"):
        target = tmp_path / f"kq.{fmt}"
        result = runner.invoke(args=["surveys", "results", "--from", "2026-11-01", "--to", "2026-11-30",
                                     "--format", fmt, "-o", str(target)])
        assert result.exit_code == 0, result.output
        assert target.stat().st_size > 100 and "3 phỏng vấn hoàn thành" in result.output
    bad = runner.invoke(args=["surveys", "results", "--from", "2026-11-30", "--to", "2026-11-01", "--format", "csv",
                              "-o", str(tmp_path / "x.csv")])
    assert bad.exit_code != 0 and "Ngày bắt đầu" in bad.output
    assert not (tmp_path / "x.csv").exists()
    helped = runner.invoke(args=["surveys", "results", "--help"])
    assert "Example: flask --app wsgi surveys results" in helped.output


# ------------------------------------------------------------------------------------------------- alerts

class Outbox(list):
    def __call__(self, message):
        self.append(message)


def test_a_problem_alerts_inspectors_and_opens_an_anonymous_logbook_entry(app, db, units, frame):
    settings = change_settings(app, INSPECTOR_EMAILS="thanhtra@test.vn")
    case_id = frame.case(units["XMA"], "complete", level="locality", code="000.00.12.H19-261110-7777")
    sent = Outbox()
    with app.app_context():
        outcome = answer_alerts.on_answers(db, case_id, {"problem": True, "comment": "Gọi tôi 0987654321"}, NOW,
                                           settings, send=sent)
    assert outcome["alert"] == "sent" and outcome["entry"]
    body = sent[0].get_content()
    assert "000.00.12.H19-261110-7777" in body and "UBND xã Mỹ An" in body
    assert PHONE not in body and APPLICANT not in body
    entry = db.execute_returning_dicts("SELECT * FROM logbook_entries WHERE receipt_code = ?", [outcome["entry"]])[0]
    assert entry["channel"] == "1022" and entry["unit_id"] == units["XMA"]
    assert entry["content"].startswith("Phản ánh qua khảo sát 1022: ")
    assert entry["reporter_name"] == "" and entry["reporter_phone"] == "" and entry["dossier_code"] == ""
    assert PHONE not in entry["content"]
    with app.app_context():  # the same case again: told once
        assert answer_alerts.on_answers(db, case_id, {"problem": True}, NOW, settings, send=sent) == {
            "alert": None, "entry": None}
    assert len(sent) == 1


def test_a_rating_of_one_on_the_officer_alerts_and_good_answers_do_not(app, db, units, frame):
    settings = change_settings(app, INSPECTOR_EMAILS="thanhtra@test.vn", SURVEY_OPEN_LOGBOOK_ENTRY=False)
    good, bad = frame.case(units["SYT"], "complete"), frame.case(units["SYT"], "complete")
    sent = Outbox()
    with app.app_context():
        assert answer_alerts.on_answers(db, good, {"element_3": 2, "problem": False}, NOW, settings, send=sent) == {
            "alert": None, "entry": None}
        outcome = answer_alerts.on_answers(db, bad, [{"question_key": "element_3", "rating": 1}], NOW, settings,
                                           send=sent)
    assert outcome == {"alert": "sent", "entry": None}
    assert "rất không hài lòng" in sent[0].get_content()
    assert db.execute("SELECT count(*) FROM logbook_entries").fetchone()[0] == 0


def test_alerts_are_capped_per_unit_and_day(app, db, units, frame):
    settings = change_settings(app, INSPECTOR_EMAILS="thanhtra@test.vn", ALERTS_PER_UNIT_PER_DAY=1)
    first, second = frame.case(units["SYT"], "complete"), frame.case(units["SYT"], "complete")
    sent = Outbox()
    with app.app_context():
        assert answer_alerts.on_answers(db, first, {"problem": True}, NOW, settings, send=sent)["alert"] == "sent"
        capped = answer_alerts.on_answers(db, second, {"problem": True}, NOW, settings, send=sent)
    assert capped["alert"] == "suppressed" and capped["entry"]  # still recorded, and the unit's book still told
    assert len(sent) == 1
    rows = db.execute("SELECT status, error FROM alerts WHERE kind = 'survey_answer' ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["sent", "suppressed"] and "mỗi ngày" in rows[1][1]
