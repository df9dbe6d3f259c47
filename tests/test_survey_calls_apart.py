"""Automated survey calls (attempts of purpose 'survey') never count, show or weigh as tests of a unit's hotline.

A unit with real test calls (the hand-built June of tests/test_metrics.py, a held call, a logbook entry, a plan)
is observed through every reader of test calls — the monthly report in each format, the summaries, drill-downs,
annex and evidence file, the logbook match and figures, allocation, the reclassification, the alert run, the
attempt lists, the review queue and the pages of inspectors and agencies — before and after a month of failing,
held and answered survey calls to its citizens is made through the calling engine (monitor.attempts.lifecycle).
Everything must read the same; and the citizens' numbers show nowhere but masked, on an inspector's page.
"""
import io
import re
import sqlite3
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from monitor.alerts import check_alerts, current_run
from monitor.attempts import lifecycle, queries
from monitor.attempts.outcomes import Classification
from monitor.attempts.reclassify import reclassify
from monitor.attempts.review import decide_held, review_outcome
from monitor.attempts.store import TEST_PURPOSES, AttemptError, write_transaction
from monitor.attempts.store import row as attempt_row
from monitor.disputes import DisputeError, open_dispute
from monitor.logbook import match_calls
from monitor.logbook.figures import period_figures
from monitor.reports import Period, annex, build_report, render, summaries
from monitor.reports.drilldown import attempt_evidence, confirmed_failures, list_attempts
from monitor.reports.pdf import to_html, unit_file_html
from monitor.reports.scopes import SCOPES
from monitor.reports.tally import CODES_SQL
from monitor.reports.unit_file import build_unit_file
from monitor.scheduling import allocation, limits
from monitor.scheduling.bands import classify as band_of
from monitor.surveys.privacy import mask_phone
from registry.clock import iso, utcnow
from registry.db import connect
from registry.logbook import entries

from .conftest import login, make_editor
from .report_fixtures import add_attempt, build_june, local, make_office_unit
from .survey_fixtures import make_cases

JUNE = Period.month(2025, 6)
AFTER = local("2025-07-01 08:00")  # when the report is made
OUR_LINE = "+84 277 6000 000"  # the simulator's caller line, as staff write it in the book
CITIZENS = ["0983123456", "0974555321", "0868000111"]  # the sampled citizens of SYT's and XMA's dossiers
LOCAL_JUNE = [date(2025, 6, day) for day in range(1, 31)]


# ------------------------------------------------------------------------------------------------ the data


def build_tests(db, units) -> dict:
    """What the unit's figures rest on: the June of tests, a held call, a plan, a logbook entry, recent calls,
    and the survey's cases (dossiers and a sample: they exist before and after; only the calls are added)."""
    office = make_office_unit(db)
    ids = build_june(db, units, office)
    syt = units["SYT"]
    held = add_attempt(db, syt, "2025-06-25 10:00", "no_answer")
    db.execute("UPDATE attempts SET outcome_certain = 0 WHERE id = ?", [held])  # a call the rules held for review
    now = utcnow()
    with write_transaction(db):
        recent = lifecycle.create_attempt(db, unit_id=syt, number="+842773851234", planned_at=now - timedelta(hours=3),
                                          band=band_of(now), now=now - timedelta(hours=4))
        lifecycle.create_attempt(db, unit_id=syt, number="+842773851234", planned_at=now + timedelta(days=2),
                                 band=band_of(now), now=now)
    lifecycle.finish(db, recent, "busy", "", now - timedelta(hours=3), call_status="busy")
    entries.create(db, syt, {"received_at": iso(local("2025-06-02 09:03")), "channel": "hotline",
                             "reporter_phone": OUR_LINE, "field_code": "tthc", "received_by": "Chị Lan",
                             "content": "Công dân hỏi về thủ tục hành chính"},
                   user_id=None, now=local("2025-06-02 09:10"))
    # An entry from our line at the time of a survey call a citizen answered, with no test call near it: were
    # the survey call read as a test, the unit's book would seem to log it.
    entries.create(db, syt, {"received_at": iso(local("2025-06-03 17:02")), "channel": "hotline",
                             "reporter_phone": OUR_LINE, "field_code": "tthc", "received_by": "Chị Lan",
                             "content": "Công dân hỏi về thủ tục hành chính"},
                   user_id=None, now=local("2025-06-03 17:10"))
    cases = {"SYT": make_cases(db, syt, CITIZENS[:2]), "XMA": make_cases(db, units["XMA"], CITIZENS[2:])}
    return {"ids": ids, "held": held, "office": office, "cases": cases}


def survey_call(db, settings, unit_id, case_id, number, when, outcome, *, held=False) -> int:
    """One automated survey call the way the engine makes it: planned (create_attempt), ended with its outcome
    (finish), and when the rules are unsure, held (reclassify with an uncertain reading)."""
    planned = local(when) if isinstance(when, str) else when
    with write_transaction(db):
        attempt_id = lifecycle.create_attempt(db, unit_id=unit_id, number=number, planned_at=planned,
                                              band=band_of(planned), purpose="survey", survey_case_id=case_id,
                                              now=planned - timedelta(minutes=5))
    status = {"answered": "completed", "busy": "busy"}.get(outcome, "no-answer")
    lifecycle.finish(db, attempt_id, outcome, "", planned + timedelta(seconds=40), settings=settings,
                     call_status=status, provider="simulator", call_sid=f"SIMSURVEY{attempt_id}")
    if held:
        with write_transaction(db):
            lifecycle.reclassify(db, attempt_row(db, attempt_id),
                                 Classification(outcome, "Không rõ có người nghe máy", "signalling", certain=False),
                                 planned + timedelta(minutes=1), settings)
    return attempt_id


def add_survey_month(db, settings, units, cases) -> dict:
    """A month of survey calls to SYT's and XMA's citizens, nearly all failing, some held, some answered; one
    planned ahead, one being dialled and one ended an hour ago."""
    syt, xma = units["SYT"], units["XMA"]
    made = {"ended": [], "held": [], "answered": []}
    for day in LOCAL_JUNE:
        d = day.isoformat()
        made["ended"].append(survey_call(db, settings, syt, cases["SYT"][0], CITIZENS[0], f"{d} 10:00", "no_answer"))
        made["ended"].append(survey_call(db, settings, syt, cases["SYT"][1], CITIZENS[1], f"{d} 15:00", "busy"))
        if day.day % 5 == 0:
            made["held"].append(survey_call(db, settings, syt, cases["SYT"][0], CITIZENS[0], f"{d} 16:00",
                                            "no_answer", held=True))
        if day.day % 3 == 0:
            made["answered"].append(survey_call(db, settings, syt, cases["SYT"][1], CITIZENS[1], f"{d} 17:00",
                                                "answered"))
        if day.day % 2 == 0:
            made["ended"].append(survey_call(db, settings, xma, cases["XMA"][0], CITIZENS[2], f"{d} 09:00", "busy"))
    now = utcnow()
    made["recent"] = survey_call(db, settings, syt, cases["SYT"][0], CITIZENS[0], now - timedelta(hours=1),
                                 "no_answer")
    with write_transaction(db):
        made["planned"] = lifecycle.create_attempt(
            db, unit_id=syt, number=CITIZENS[1], planned_at=now + timedelta(hours=1), band=band_of(now),
            purpose="survey", survey_case_id=cases["SYT"][1], now=now)
        made["dialing"] = lifecycle.create_attempt(
            db, unit_id=syt, number=CITIZENS[0], planned_at=now, band=band_of(now), purpose="survey",
            survey_case_id=cases["SYT"][0], now=now)
        assert lifecycle.claim(db, made["dialing"], owner="test", lease_until=iso(now + timedelta(minutes=2)),
                               requested_at=iso(now))
    assert db.execute("SELECT count(*) FROM attempts WHERE purpose = 'survey' AND outcome_certain = 0"
                      ).fetchone()[0] == len(made["held"]) > 0
    return made


@pytest.fixture
def world(app, db, units):
    return build_tests(db, units)


def settings_of(app):
    return app.extensions["settings"]


# ------------------------------------------------------------------------------------------- what is read


def xlsx_cells(data: bytes) -> dict:
    book = load_workbook(io.BytesIO(data))
    return {sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()] for sheet in book.worksheets}


def figures(db, app, units, world) -> dict:
    """Every figure a reader of test calls gives for the unit and the province, by reader."""
    settings = settings_of(app)
    syt, office = units["SYT"], world["office"]
    report = build_report(db, JUNE, now=AFTER, settings=settings)
    out = {
        "report.units": {u.unit["code"]: (u.tally.as_dict(), u.status, u.codes) for u in report.metrics.units},
        "report.league": [(u.unit["code"], u.status) for u in report.league],
        "report.failing": [u.unit["code"] for u in report.failing],
        "report.evidence": report.evidence,
        "report.json": render(report, "json"),
        "report.csv": render(report, "csv"),
        "report.xlsx": xlsx_cells(render(report, "xlsx")),
        "report.pdf_html": to_html(report),
        "summary": summaries.summary(db, JUNE),
        "summary.closed": summaries.closed_summary(db, JUNE, group=None, today=date(2025, 8, 1)),
        "drilldown.confirmed": confirmed_failures(db, JUNE, [syt, office, units["XMA"]]),
        "annex.calls": annex.unit_calls(db, JUNE, [syt, office, units["XMA"]]),
        "annex.contested": annex.contested_unit_ids(db, JUNE),
        "annex.simulated": [annex.simulated(db, JUNE, unit_id) for unit_id in (syt, units["XMA"])],
        "unit_file": unit_file_html(build_unit_file(db, JUNE, "SYT", now=AFTER, settings=settings)),
        "logbook.match": match_calls(db, JUNE, settings=settings),
        "logbook.figures": period_figures(db, JUNE, settings=settings, today=date(2025, 7, 1)),
        "allocation.evidence": allocation.evidence(db, date(2025, 7, 7)),
        "allocation.month": allocation.month_so_far(db, date(2025, 6, 16)),
        "allocation.week": allocation.for_week(db, date(2025, 7, 7), {syt: 4, office: 4, units["XMA"]: 2},
                                               settings=settings),
        "reclassify": reclassify(db, date(2025, 6, 1), date(2025, 6, 30), now=AFTER, settings=settings,
                                 dry_run=True),
        "alerts.run": current_run(db, syt),
    }
    for scope in SCOPES:
        out[f"drilldown.{scope}"] = list_attempts(db, JUNE, scope=scope, limit=1000)
        out[f"drilldown.{scope}.SYT"] = list_attempts(db, JUNE, unit_id=syt, scope=scope, limit=1000)
    return out


def lists(db, units) -> dict:
    """The attempt lists and counts of the inspectors' pages and the review queue."""
    syt = units["SYT"]
    return {
        "recent": queries.recent(db),
        "recent.SYT": queries.recent(db, unit="SYT"),
        "recent.failed": queries.recent(db, outcome="no_answer"),
        "recent.planned": queries.recent(db, state="planned"),
        "upcoming": queries.upcoming(db),
        "outcome_counts": queries.outcome_counts(db, utcnow() - timedelta(hours=24)),
        "held_count": queries.held_count(db),
        "held_queue": queries.held_queue(db),
        "in_flight": queries.in_flight_count(db),
        "planned": queries.planned_count(db),
        "planned.SYT": queries.planned_count(db, syt),
        "unit_history": queries.unit_history(db, syt),
    }


_CSRF = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+"')


def page(client, path) -> tuple[int, str]:
    response = client.get(path)
    return response.status_code, _CSRF.sub(r'\1"', response.get_data(as_text=True))


INSPECTOR_PAGES = ["/monitor/attempts", "/monitor/attempts?state=planned", "/monitor/attempts?unit=SYT",
                   "/monitor/attempts?outcome=no_answer", "/monitor/attempts?state=ended", "/monitor/units/SYT",
                   "/monitor/units/XMA", "/monitor/review", "/reports/?month=2025-06", "/reports/units/SYT?month=2025-06",
                   "/reports/units/XMA?month=2025-06", "/reports/attempts?month=2025-06&scope=all",
                   "/reports/attempts?month=2025-06&unit=SYT&scope=excluded", "/reports/attempts?month=2025-06&scope=held",
                   "/reports/disputes", "/reports/alerts"]
EDITOR_PAGES = ["/reports/units/SYT?month=2025-06",
                "/reports/attempts?month=2025-06&unit=SYT&scope=all"]


def citizen_pattern(number: str) -> re.Pattern:
    """The citizen's number written any way (0983 123 456, +84 983.123.456, 983123456…): its last nine digits."""
    core = number.lstrip("0")
    return re.compile(r"[ .\-]?".join(core))


def assert_no_citizen(html: str, where: str) -> None:
    for number in CITIZENS:
        assert not citizen_pattern(number).search(html), f"{number} shown on {where}"


def assert_same(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    assert [key for key in before if after[key] != before[key]] == [], "changed by the survey calls"


# ------------------------------------------------------------------------------------------------ the tests


def test_every_figure_is_the_same_with_a_month_of_survey_calls(app, db, units, world):
    before = figures(db, app, units, world)
    made = add_survey_month(db, settings_of(app), units, world["cases"])
    after = figures(db, app, units, world)
    assert_same(before, after)
    # The survey calls are there to be miscounted: ended in June, failing, held and answered, at both units.
    in_june = db.execute("SELECT count(*), sum(outcome != 'answered'), sum(outcome_certain = 0) FROM attempts "
                         "WHERE purpose = 'survey' AND state = 'ended' AND planned_at >= ? AND planned_at < ?",
                         JUNE.bounds()).fetchone()
    failing = len(made["ended"]) + len(made["held"])
    assert tuple(in_june) == (failing + len(made["answered"]), failing, len(made["held"])) and failing > 60
    # Read without the condition, the report's own query would see them: the condition is what keeps them out.
    params = {"start": JUNE.bounds()[0], "end": JUNE.bounds()[1], "group": None}
    unfiltered = CODES_SQL.replace(" AND a.purpose IN ('scheduled', 'retest', 'manual')", "")
    assert unfiltered != CODES_SQL
    assert dict(db.execute(unfiltered, params).fetchall()) != dict(db.execute(CODES_SQL, params).fetchall())


def test_the_lists_and_pages_are_the_same_with_survey_calls(app, db, units, world, inspector):
    inspector_client = app.test_client()
    assert login(inspector_client, inspector["email"], inspector["password"]).status_code == 302
    editor = make_editor(db, units["SYT"], "bientap@soyte.test.vn")
    editor_client = app.test_client()
    assert login(editor_client, editor["email"], editor["password"]).status_code == 302
    test_ids = [row[0] for row in db.execute("SELECT id FROM attempts ORDER BY id")]
    attempt_pages = [f"/monitor/attempts/{i}" for i in test_ids]
    for client in (inspector_client, editor_client):
        client.get("/")  # shows the sign-in's flash message, which would otherwise be on the first page compared

    def observe():
        return {"lists": lists(db, units),
                **{f"inspector {p}": page(inspector_client, p) for p in INSPECTOR_PAGES + attempt_pages},
                **{f"editor {p}": page(editor_client, p) for p in EDITOR_PAGES + attempt_pages}}

    before = observe()
    assert before["lists"]["held_queue"] and before["lists"]["planned"] and before["lists"]["outcome_counts"]
    for key, (status, _) in ((k, v) for k, v in before.items() if k != "lists"):
        assert status == 200 or key.startswith("editor /monitor/attempts/"), key
    made = add_survey_month(db, settings_of(app), units, world["cases"])
    after = observe()
    assert_same(before, after)
    # The survey calls are in the database, planned, in flight, held and ended today: none of them is listed.
    survey_ids = set(made["ended"] + made["held"] + made["answered"]) | {made["recent"], made["planned"],
                                                                          made["dialing"]}
    assert db.execute("SELECT count(*) FROM attempts WHERE purpose = 'survey'").fetchone()[0] == len(survey_ids)
    for key, value in after.items():
        if key != "lists":
            assert not any(f"/monitor/attempts/{i}\"" in value[1] for i in survey_ids), key


def test_the_alerts_are_the_same_with_survey_calls(app, db, units, world, tmp_path):
    """The alert run is checked on two copies of the database: the one without survey calls, and the same
    with them (sending writes its alerts, so each copy is asked once)."""
    settings = settings_of(app)
    without = tmp_path / "without.db"
    target = sqlite3.connect(without)
    db.conn.backup(target)
    target.close()
    add_survey_month(db, settings, units, world["cases"])
    copy = connect(str(without))
    now = local("2025-06-22 08:00")
    sent: dict = {"without": [], "with": []}
    try:
        counts_without = check_alerts(copy, settings, now=now, send=sent["without"].append)
    finally:
        copy.conn.close()
    counts_with = check_alerts(db, settings, now=now, send=sent["with"].append)
    assert counts_with == counts_without and counts_with["sent"] >= 1  # SYT's run of confirmed failures
    assert [(m["Subject"], m["To"], m.get_content()) for m in sent["with"]] == \
        [(m["Subject"], m["To"], m.get_content()) for m in sent["without"]]
    for message in sent["with"]:
        assert_no_citizen(message.get_content(), "an alert")


def test_a_survey_call_page_is_for_inspectors_masked_and_read_only(app, db, units, world, inspector):
    made = add_survey_month(db, settings_of(app), units, world["cases"])
    held, answered = made["held"][0], made["answered"][0]
    db.execute("UPDATE attempts SET outcome_detail = ? WHERE id = ?",  # the rules' detail may quote a number
               [f"Nghe được: vui lòng gọi lại số {CITIZENS[0][:4]} {CITIZENS[0][4:7]} {CITIZENS[0][7:]}", held])
    client = app.test_client()
    assert login(client, inspector["email"], inspector["password"]).status_code == 302
    for attempt_id in (held, answered, made["dialing"]):
        status, html = page(client, f"/monitor/attempts/{attempt_id}")
        assert status == 200
        assert_no_citizen(html, f"the page of survey call #{attempt_id}")
        assert mask_phone(db.execute("SELECT number FROM attempts WHERE id = ?", [attempt_id]).fetchone()[0]) in html
        assert "survey-call-note" in html and 'class="review"' not in html and "/dispute" not in html
    # No review of a survey call: by the page, the queue's form or the domain; nothing is written.
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/monitor/review").get_data(as_text=True))
    response = client.post(f"/monitor/attempts/{held}", data={"outcome": "answered", "reason": "Thử",
                                                               "csrf_token": token.group(1)})
    assert response.status_code == 404
    response = client.post(f"/monitor/review/{held}", data={"outcome": "answered", "reason": "Thử",
                                                            "csrf_token": token.group(1)})
    assert response.status_code == 400 and "không phải lần gọi kiểm tra" in response.get_data(as_text=True)
    with pytest.raises(AttemptError) as refused:
        review_outcome(db, held, "answered", "Thử", user_id=inspector["id"], now=AFTER)
    assert refused.value.status == 404
    with pytest.raises(AttemptError):
        decide_held(db, held, "answered", "Thử", user_id=inspector["id"], now=AFTER)
    assert db.execute("SELECT count(*) FROM outcome_reviews r JOIN attempts a ON a.id = r.attempt_id "
                      "WHERE a.purpose = 'survey' AND r.user_id IS NOT NULL").fetchone()[0] == 0
    assert db.execute("SELECT outcome_certain FROM attempts WHERE id = ?", [held]).fetchone()[0] == 0


def test_an_agency_never_sees_nor_disputes_a_survey_call(app, db, units, world):
    made = add_survey_month(db, settings_of(app), units, world["cases"])
    editor = make_editor(db, units["SYT"], "bientap@soyte.test.vn")
    client = app.test_client()
    assert login(client, editor["email"], editor["password"]).status_code == 302
    failed = made["ended"][0]
    for path in (f"/monitor/attempts/{failed}", f"/reports/attempts/{failed}/dispute"):
        assert client.get(path).status_code == 404, path
    for path in EDITOR_PAGES:
        status, html = page(client, path)
        assert status == 200
        assert_no_citizen(html, f"the editor's {path}")
    with pytest.raises(DisputeError) as refused:
        open_dispute(db, failed, editor, "Máy bận do đang nghe cuộc gọi khác", now=AFTER)
    assert refused.value.status == 404
    assert attempt_evidence(db, failed) is None
    assert db.execute("SELECT count(*) FROM disputes").fetchone()[0] == 1  # the June fixture's own dispute


def test_no_test_call_page_shows_a_citizens_number(app, db, units, world, inspector):
    add_survey_month(db, settings_of(app), units, world["cases"])
    client = app.test_client()
    assert login(client, inspector["email"], inspector["password"]).status_code == 302
    ids = [row[0] for row in db.execute("SELECT id FROM attempts WHERE purpose IN (?, ?, ?)", TEST_PURPOSES)]
    for path in INSPECTOR_PAGES + [f"/monitor/attempts/{i}" for i in ids]:
        status, html = page(client, path)
        assert status == 200, path
        assert_no_citizen(html, path)
    # The report files too.
    report = build_report(db, JUNE, now=AFTER, settings=settings_of(app))
    for fmt in ("json", "csv"):
        assert_no_citizen(render(report, fmt).decode("utf-8"), f"the report ({fmt})")
    assert_no_citizen(to_html(report), "the report (pdf)")
    assert_no_citizen(str(xlsx_cells(render(report, "xlsx"))), "the report (xlsx)")


def test_survey_calls_take_room_under_the_calling_limits(app, db, units, world):
    """Decided in monitor/scheduling/limits.py: the same provider lines carry both kinds of call."""
    settings = settings_of(app)
    before = limits.active_calls(db), limits.calls_since(db, utcnow() - timedelta(hours=1))
    add_survey_month(db, settings, units, world["cases"])
    after = limits.active_calls(db), limits.calls_since(db, utcnow() - timedelta(hours=1))
    assert after[0] == before[0] + 1  # the survey call being dialled holds a concurrent-call slot
    assert after[1] >= before[1] + 1  # and was requested on the caller line within the hour


def test_the_survey_call_page_in_a_browser_meets_wcag_and_shows_the_number_masked(app, db, units, world,
                                                                                   inspector):
    """The page in Chromium, in both languages: axe-core finds nothing against WCAG 2.1 AA, the page loads nothing
    the CSP refuses, and its text holds the citizen's number only masked."""
    playwright = pytest.importorskip("playwright.sync_api")
    from .live import CHROMIUM_ARGS, LiveServer, chromium_path, watch_problems
    from .test_accessibility import RUN_AXE, WCAG_TAGS, axe_source, sign_in, switch_to_english

    made = add_survey_month(db, settings_of(app), units, world["cases"])
    held = made["held"][0]
    with LiveServer(app) as live, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(script=axe_source())
            tab = context.new_page()
            problems = watch_problems(tab)
            sign_in(tab, live, inspector["email"], inspector["password"])
            for language in ("vi", "en"):
                if language == "en":
                    switch_to_english(tab, live)
                tab.goto(f"{live.url}/monitor/attempts/{held}")
                text = tab.inner_text("main")
                assert mask_phone(CITIZENS[0]) in text
                assert_no_citizen(tab.content(), f"the survey call's page ({language})")
                assert tab.evaluate(RUN_AXE, WCAG_TAGS) == [], language
            assert "Automated survey call" in text
            assert problems == []
        finally:
            browser.close()


def test_leaving_survey_calls_out_reads_no_more_rows(db, units):
    """The report's query walks its covering index as before, and the test-call pages' counts are index counts."""
    params = {"start": JUNE.bounds()[0], "end": JUNE.bounds()[1], "group": None}
    plan = " / ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + CODES_SQL, params))
    assert "SEARCH a USING INDEX attempts_report (unit_id=? AND planned_at>? AND planned_at<?)" in plan
    assert "SCAN a" not in plan
    for condition in (queries.HELD_ANY, queries.IN_FLIGHT, "state = 'planned'"):
        sql = (f"SELECT count(*) FROM attempts INDEXED BY attempts_not_tests WHERE {queries.NOT_TESTS} "
               f"AND {condition}")
        plan = " / ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
        assert "COVERING INDEX attempts_not_tests" in plan, (condition, plan)
