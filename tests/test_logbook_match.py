"""The logbook cross-check: each answered test call logged, late or not logged; one entry per call; other
caller lines ignored; nothing written on an entry; the figures in the report, the unit's evidence file and
`flask logbook match`; the scripted question every provider asks."""
import csv
import io
import json
import random
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from monitor.logbook import caller_lines, line_key, match_calls
from monitor.providers.script import QUESTIONS, question_for
from monitor.providers.simulator import simulate_call
from monitor.providers.twilio_provider import voice_twiml
from monitor.reports import Period, build_report, render, tables
from monitor.reports.pdf import to_html, unit_file_html
from monitor.reports.unit_file import build_unit_file
from registry.clock import iso
from registry.logbook import entries, transfers

from .conftest import change_settings
from .report_fixtures import add_attempt, local

JUNE = Period.month(2025, 6)
AFTER = local("2025-07-01 08:00")  # when the report is made
OUR_LINE = "+84 277 6000 000"  # the simulator's caller line, as staff might write it down
CITIZEN = "0912 345 678"


def settings(app):
    return app.extensions["settings"]


def answered(db, unit_id, when):
    """An answered test call planned at local `when`, picked up 10 s later."""
    return add_attempt(db, unit_id, when, "answered", answer_seconds=8.0)


def log(db, unit_id, received, *, written_after=timedelta(minutes=5), phone=OUR_LINE, **data):
    """The unit's staff write an entry received at local `received`, `written_after` later."""
    when = local(received)
    row = {"received_at": iso(when), "channel": "hotline", "reporter_phone": phone, "field_code": "tthc",
           "content": "Công dân hỏi số đường dây nóng về thủ tục hành chính", "received_by": "Chị Lan", **data}
    return entries.create(db, unit_id, row, user_id=None, now=when + written_after)


def statuses(db, app, unit_id=None):
    return {m.attempt_id: m.status for m in match_calls(db, JUNE, settings=settings(app), unit_id=unit_id)}


def test_a_call_logged_in_time_is_logged_and_names_its_entry(app, db, units):
    call = answered(db, units["SYT"], "2025-06-02 09:00")
    entry = log(db, units["SYT"], "2025-06-02 09:03")
    [match] = match_calls(db, JUNE, settings=settings(app))
    assert (match.attempt_id, match.unit_code, match.status) == (call, "SYT", "logged")
    assert match.entry_id == entry["id"] and match.receipt_code == entry["receipt_code"]
    assert 0 < match.delay_hours < 1


def test_an_entry_written_after_the_late_delay_is_late(app, db, units):
    call = answered(db, units["SYT"], "2025-06-02 09:00")
    log(db, units["SYT"], "2025-06-02 09:02", written_after=timedelta(hours=30))
    assert statuses(db, app) == {call: "late"}
    change_settings(app, LOGBOOK_LATE_HOURS=48)
    assert statuses(db, app) == {call: "logged"}


def test_no_entry_or_one_outside_the_window_is_not_logged(app, db, units):
    first = answered(db, units["SYT"], "2025-06-02 09:00")
    second = answered(db, units["SYT"], "2025-06-03 09:00")
    log(db, units["SYT"], "2025-06-03 09:45")  # 45 minutes after: outside the default 30-minute window
    assert statuses(db, app) == {first: "not_logged", second: "not_logged"}
    change_settings(app, LOGBOOK_MATCH_WINDOW_MINUTES=60)
    assert statuses(db, app) == {first: "not_logged", second: "logged"}


def test_one_entry_matches_one_call_the_nearest(app, db, units):
    early = answered(db, units["SYT"], "2025-06-02 09:00")
    near = answered(db, units["SYT"], "2025-06-02 09:20")
    entry = log(db, units["SYT"], "2025-06-02 09:18")
    matches = {m.attempt_id: m for m in match_calls(db, JUNE, settings=settings(app))}
    assert matches[near].status == "logged" and matches[near].entry_id == entry["id"]
    assert matches[early].status == "not_logged"
    log(db, units["SYT"], "2025-06-02 09:01")
    assert statuses(db, app) == {early: "logged", near: "logged"}


def test_other_caller_lines_other_units_and_transferred_copies_are_ignored(app, db, units):
    call = answered(db, units["SYT"], "2025-06-02 09:00")
    log(db, units["SYT"], "2025-06-02 09:01", phone=CITIZEN)  # a citizen's call at the same time
    log(db, units["SYT"], "2025-06-02 09:02", phone="")  # an anonymous one
    log(db, units["XMA"], "2025-06-02 09:01")  # our line, but in another unit's book
    assert statuses(db, app) == {call: "not_logged"}
    # An entry XMA received from our line and handed over to SYT is XMA's record, not SYT's.
    moved = log(db, units["XMA"], "2025-06-02 09:03")
    transfers.transfer(db, moved["id"], units["SYT"], "Thuộc thẩm quyền Sở Y tế", user_id=None,
                       now=local("2025-06-02 09:30"))
    assert statuses(db, app) == {call: "not_logged"}
    # A former or rotated line named in the settings counts like the current one.
    log(db, units["SYT"], "2025-06-02 09:04", phone="0277 6000 111")
    assert statuses(db, app) == {call: "not_logged"}
    change_settings(app, LOGBOOK_CALLER_LINES="+84 277 6000 111, 0277 6000 222")
    assert statuses(db, app) == {call: "logged"}


def test_unanswered_calls_are_not_checked_and_the_match_writes_nothing(app, db, units):
    answered_call = answered(db, units["SYT"], "2025-06-02 09:00")
    add_attempt(db, units["SYT"], "2025-06-02 10:00", "no_answer")
    entry = log(db, units["SYT"], "2025-06-02 09:01")
    before = db.conn.total_changes
    assert statuses(db, app) == {answered_call: "logged"}
    assert db.conn.total_changes == before
    # Nothing on the entry tells staff it was a test call: it reads like any citizen's.
    citizen = log(db, units["SYT"], "2025-06-02 11:00", phone=CITIZEN)
    assert set(entries.get(db, entry["id"])) == set(entries.get(db, citizen["id"]))


def test_caller_lines_compare_national_digits(app):
    assert line_key("+84 277 6000 000") == line_key("0277.6000.000") == line_key("0084 2776000000") == "02776000000"
    lines = caller_lines(settings(app))
    assert {"02776000000", "15005550006"} <= lines


def _june_report(app, db, units):
    """SYT: three answered calls, one logged, one late, one not; one of its entries overdue."""
    calls = [answered(db, units["SYT"], f"2025-06-0{day} 09:00") for day in (2, 3, 4)]
    log(db, units["SYT"], "2025-06-02 09:02")
    log(db, units["SYT"], "2025-06-03 09:02", written_after=timedelta(days=2))
    add_attempt(db, units["XMA"], "2025-06-02 09:00", "no_answer")
    return calls, build_report(db, JUNE, now=AFTER, settings=settings(app))


def test_the_league_table_and_every_format_carry_the_logbook_column(app, db, units):
    calls, report = _june_report(app, db, units)
    row = next(r for r in tables.league_rows(report) if r["code"] == "SYT")
    assert row["logbook"] == "1/3" and row["logbook_late"] == 1 and row["logbook_not_logged"] == 1
    assert row["logbook_rate"] == pytest.approx(1 / 3)
    assert row["overdue"] == 2 and row["transferred_repeatedly"] == 0  # both entries open past their deadline
    assert next(r for r in tables.league_rows(report) if r["code"] == "XMA")["logbook"] == "–"

    text = render(report, "csv").decode("utf-8-sig")
    lines = [line for line in csv.reader(io.StringIO(text))]
    header = next(line for line in lines if "Ghi sổ" in line)
    syt = next(line for line in lines if "SYT" in line)
    assert syt[header.index("Ghi sổ")] == "1/3" and syt[header.index("Tỷ lệ ghi sổ (%)")] == "33.3"

    data = json.loads(render(report, "json"))
    assert next(r for r in data["league"] if r["code"] == "SYT")["logbook"] == "1/3"

    book = load_workbook(io.BytesIO(render(report, "xlsx")))
    sheet = book["Xếp hạng"]
    heads = [c.value for c in next(r for r in sheet.iter_rows() if "Ghi sổ" in [c.value for c in r])]
    values = [[c.value for c in r] for r in sheet.iter_rows() if "SYT" in [c.value for c in r]][0]
    assert values[heads.index("Ghi sổ")] == "1/3"

    html = to_html(report)
    assert "Bảng 3a. Ghi sổ theo dõi" in html and ">1/3<" in html


def test_the_evidence_file_shows_each_answered_call_to_inspectors_only(app, db, units):
    calls, _ = _june_report(app, db, units)
    shown = build_unit_file(db, JUNE, "SYT", now=AFTER, settings=settings(app))
    assert {e["attempt"]: e["logbook"] for e in shown.row["evidence"]} == dict(zip(calls, ["logged", "late", "not_logged"]))
    html = unit_file_html(shown)
    assert "Ghi sổ: Đã ghi sổ" in html and "Ghi sổ: Ghi sổ muộn" in html and "Ghi sổ: Không ghi sổ" in html
    hidden = build_unit_file(db, JUNE, "SYT", now=AFTER, settings=settings(app), logbook=False)
    assert "Ghi sổ" not in unit_file_html(hidden)


def test_the_evidence_pdf_an_editor_downloads_has_no_match(app, db, units, editor, monkeypatch):
    _june_report(app, db, units)
    seen = []
    monkeypatch.setattr("monitor.web.reports.render_unit_file", lambda f: seen.append(f) or b"%PDF-")
    from .conftest import login
    client = app.test_client()
    assert login(client, editor["email"], editor["password"]).status_code == 302
    assert client.get("/reports/units/SYT/evidence.pdf?month=2025-06").status_code == 200
    assert all(e["logbook"] is None for e in seen[0].row["evidence"])


def test_the_command_lists_every_answered_call_with_its_match(app, db, units, runner):
    calls, _ = _june_report(app, db, units)
    result = runner.invoke(args=["logbook", "match", "--from", "2025-06-01", "--to", "2025-06-30", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)["calls"]
    assert [(c["attempt"], c["unit"], c["status"]) for c in listed] == list(
        zip(calls, ["SYT"] * 3, ["logged", "late", "not_logged"]))
    plain = runner.invoke(args=["logbook", "match", "--from", "2025-06-01", "--to", "2025-06-30"])
    assert plain.exit_code == 0 and f"#{calls[2]}\tSYT\tnot_logged" in plain.output
    bad = runner.invoke(args=["logbook", "match", "--from", "2025-06-31", "--to", "2025-06-30"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    assert "--json" in runner.invoke(args=["logbook", "match", "--help"]).output


def test_every_provider_asks_the_same_rotating_question_and_the_simulator_records_it(app):
    assert len({q.text for q in QUESTIONS}) == len(QUESTIONS) >= 4
    assert question_for(7) != question_for(8)
    assert question_for(7).text in voice_twiml(settings(app), 7)
    _, steps = simulate_call({"id": 7, "number": "+842773851234", "simulate": "answered"}, ring_timeout=30,
                             rng=random.Random(1))
    [answer] = [params for _, kind, params in steps if kind == "gather" and params["GatherStep"] == "answer"]
    assert answer["Question"] == question_for(7).text


def test_the_report_counts_every_answered_call_the_command_lists(app, db, units):
    """The report counts answered calls from its own characters; the command lists them from the attempts. A
    retest, a call held for review, an out-of-hours call to an office line and a disputed call all count in both."""
    from .report_fixtures import accept_dispute, failure_with_retest, make_office_unit

    office = make_office_unit(db)
    answered(db, units["SYT"], "2025-06-02 09:00")
    failure_with_retest(db, units["SYT"], "2025-06-03 09:00", "no_answer", "answered")
    held = answered(db, units["SYT"], "2025-06-04 09:00")
    db.execute("UPDATE attempts SET outcome_certain = 0 WHERE id = ?", [held])
    disputed = answered(db, units["XMA"], "2025-06-05 09:00")
    accept_dispute(db, disputed, units["XMA"])
    answered(db, office, "2025-06-07 21:00")  # a Saturday evening: out of its hours
    add_attempt(db, office, "2025-06-09 09:00", "busy")
    log(db, units["SYT"], "2025-06-02 09:02")
    report = build_report(db, JUNE, now=AFTER, settings=settings(app))
    listed = match_calls(db, JUNE, settings=settings(app))
    for unit_id in (units["SYT"], units["XMA"], office):
        mine = [m for m in listed if m.unit_id == unit_id]
        figures = report.logbook.unit(unit_id)
        assert figures.answered == len(mine) > 0
        assert figures.logged == sum(m.status == "logged" for m in mine)
    assert report.logbook.unit(units["SYT"]).answered == 3 and report.logbook.unit(units["SYT"]).logged == 1


def test_a_call_from_our_sip_line_is_recognised_in_the_book(app, db, units):
    call = answered(db, units["SYT"], "2025-06-02 09:00")
    log(db, units["SYT"], "2025-06-02 09:02", phone="0277 3851 000")  # as staff write the SIP line down
    assert statuses(db, app) == {call: "not_logged"}  # not one of our lines yet
    change_settings(app, CALL_PROVIDER="sip", SIP_TARGET="10.0.0.5:5060", SIP_CALLER_ID="02773851000")
    assert "02773851000" in caller_lines(settings(app))
    assert statuses(db, app) == {call: "logged"}
