"""Every route × every role, from app.url_map against an explicit policy; CSRF, XSS, forged webhooks, throttling,
cookie flags and the Content-Security-Policy on every page.

Roles: anonymous, the agency editor of unit X (SYT), the agency editor of unit Y (XMA), an inspector, an operator of
the 1022 switchboard. A route added without a POLICY entry fails test_every_route_has_a_policy_entry: decide who may
use it, then add it. The operator's answer is the fifth argument of statuses(); left out, it is what every other role
gets when they all get the same (public pages, sign-in, callbacks), else 403 (registry.web.auth.operator_gate).
"""
import io
import re
from datetime import datetime, timezone

import pytest

from monitor import disputes
from monitor.attempts import create_attempt, finish
from registry import accounts, login_throttle
from registry.hotlines import set_hotline
from registry.logbook import attachments as logbook_attachments
from registry.logbook import entries as logbook_entries
from registry.units import update_unit

from .conftest import csrf_from, login, make_editor
from .twilio_double import AUTH_TOKEN, callback_script

ANON, EDITOR_X, EDITOR_Y, INSPECTOR, OPERATOR = "anonymous", "editor_x", "editor_y", "inspector", "operator"
ROLES = (ANON, EDITOR_X, EDITOR_Y, INSPECTOR, OPERATOR)
NOW = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)
OPERATOR_PASSWORD = "mat-khau-dien-thoai-vien"
PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
RAW_MARKERS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
ESCAPED_MARKER = "&lt;script&gt;alert(1)&lt;/script&gt;"
# What only unit Y's people and the inspectors may ever see.
Y_SECRETS = ("bimat.y@xma.test.vn", "Lý do riêng của xã Mỹ An", "0912 777 001", "BAN-GHI-Y-KHONG-CONG-KHAI",
             "Giải trình riêng của xã Mỹ An")


def statuses(anon, x, y, inspector, operator=None):
    """Expected status sets per role (an int or a set each); operator None: the others' when all agree, else 403."""
    as_set = lambda v: set(v) if isinstance(v, (set, tuple, list)) else {v}  # noqa: E731
    if operator is None:
        operator = anon if as_set(anon) == as_set(x) == as_set(y) == as_set(inspector) else 403
    return {ANON: as_set(anon), EDITOR_X: as_set(x), EDITOR_Y: as_set(y), INSPECTOR: as_set(inspector),
            OPERATOR: as_set(operator)}


PUBLIC = statuses(200, 200, 200, 200)
INSPECTORS = statuses(302, 403, 403, 200)          # anonymous → login page
OWN_X = statuses(302, 200, 403, 200)               # unit X's page: its editor and inspectors
OWN_Y = statuses(302, 403, 200, 200)
SIGNED = statuses(403, 403, 403, 403)              # provider callbacks: only a valid signature gets in
NOT_A_GET = statuses(405, 405, 405, 405)
# A POST that a role may make, with a harmless body: the form answers (200/302/400), it is never refused.
FORM = {200, 302, 400}

# endpoint → [(method, path, form data, expected statuses per role)]. Paths may use {X}, {Y} (unit codes),
# {ax}, {ay} (an ended attempt of X, of Y), {px} (a planned test of X) and {dy} (a dispute of Y).
POLICY = {
    "static": [("GET", "/static/app.css", None, PUBLIC)],
    "registry.directory": [("GET", "/", None, PUBLIC), ("GET", "/?q=y+te&group=A", None, PUBLIC)],
    "api.hotlines": [("GET", "/api/hotlines", None, PUBLIC)],
    "api.hotline": [("GET", "/api/hotlines/{X}", None, PUBLIC), ("GET", "/api/hotlines/{Y}", None, PUBLIC)],
    "api.openapi": [("GET", "/api/openapi.json", None, PUBLIC)],
    # the citizen's lookup: public; wrong keys are one neutral 404 for everyone (tests/test_logbook_public.py)
    "registry.lookup": [("GET", "/lookup", None, PUBLIC),
                        ("POST", "/lookup", {"receipt_code": "SYT-250610-001", "digits": "0000"}, statuses(404, 404, 404, 404))],
    "registry.lookup_rate": [("POST", "/lookup/rate", {"code": "SYT-250610-001", "key": "0000", "rating": "5"},
                              statuses(404, 404, 404, 404))],
    # the logbook (registry/web/logbook.py): a unit's editors write its book, inspectors read every book
    "registry.logbook": [("GET", "/logbook", None, statuses(302, 302, 302, 200))],
    "registry.unit_book": [("GET", "/units/{X}/logbook", None, OWN_X), ("GET", "/units/{Y}/logbook", None, OWN_Y),
                           ("GET", "/units/KHONGCO/logbook", None, statuses(302, 404, 404, 404))],
    "registry.new_entry": [("GET", "/units/{X}/logbook/new", None, statuses(302, 200, 403, 403)),
                           ("POST", "/units/{Y}/logbook/new", {"content": ""}, statuses(302, 403, 400, 403))],
    "registry.logbook_entry": [("GET", "/logbook/entries/{ex}", None, OWN_X), ("GET", "/logbook/entries/{ey}", None, OWN_Y),
                               ("GET", "/logbook/entries/999999", None, statuses(302, 404, 404, 404)),
                               ("POST", "/logbook/entries/{ey}", {"action": "pause", "p-pause_reason": ""},
                                statuses(302, 403, 400, 403))],
    # correcting an entry (registry/web/logbook_edit.py): the unit's editors only; inspectors read, never correct
    "registry.logbook_edit": [("GET", "/logbook/entries/{ex}/edit", None, statuses(302, 200, 403, 403)),
                              ("GET", "/logbook/entries/999999/edit", None, statuses(302, 404, 404, 404)),
                              ("POST", "/logbook/entries/{ey}/edit", {"edit_reason": ""},
                               statuses(302, 403, 400, 403))],
    "registry.logbook_attachment": [("GET", "/logbook/attachments/{fy}", None, OWN_Y)],
    "api_logbook.requests_list": [("GET", "/api/v1/requests.json", None, PUBLIC)],
    "api_logbook.request_detail": [("GET", "/api/v1/requests/SYT-250610-001.json?lookup_digits=0000", None,
                                    statuses(404, 404, 404, 404))],
    "auth.login": [("GET", "/login", None, PUBLIC),
                   ("POST", "/login", {"email": "khong-co@test.vn", "password": "sai-mat-khau"}, statuses(401, 401, 401, 401))],
    "auth.logout": [("GET", "/logout", None, NOT_A_GET), ("POST", "/logout", {}, statuses(302, 302, 302, 302))],
    "auth.set_language": [("GET", "/lang/vi", None, NOT_A_GET),
                          ("POST", "/lang/vi", {"next": "/"}, statuses(302, 302, 302, 302))],
    "auth.accept_invite": [("GET", "/invite/khong-hop-le", None, statuses(302, 302, 302, 302))],
    "auth.invite": [("GET", "/invite", None, PUBLIC),
                    ("POST", "/invite", {"password": "mat-khau-moi-dai"}, statuses(400, 400, 400, 400))],
    "registry.my_unit": [("GET", "/my", None, statuses(302, 302, 302, 302, 403))],
    "registry.units": [("GET", "/units", None, INSPECTORS)],
    "registry.unit": [("GET", "/units/{X}", None, OWN_X), ("GET", "/units/{Y}", None, OWN_Y),
                      ("GET", "/units/KHONGCO", None, statuses(302, 404, 404, 404)),
                      ("POST", "/units/{X}", {"action": "bogus"}, statuses(302, 400, 403, 400)),
                      ("POST", "/units/{Y}", {"action": "contact", "contact_name": "Chiếm quyền"}, statuses(302, 403, 302, 302)),
                      ("POST", "/units/{X}", {"action": "details", "name": "Đổi tên"}, statuses(302, 403, 403, FORM))],
    "registry.unit_new": [("GET", "/units/new", None, INSPECTORS), ("POST", "/units/new", {}, statuses(302, 403, 403, 400))],
    "registry.changes": [("GET", "/changes", None, INSPECTORS)],
    "registry.number_changes": [("GET", "/number-changes", None, INSPECTORS),
                                ("POST", "/number-changes", {}, statuses(302, 403, 403, 400))],
    # overdue lists: an editor always gets its own unit's (?unit= is the inspectors'); settings: inspectors only
    "registry.logbook_overdue": [("GET", "/logbook/overdue", None, statuses(302, 200, 200, 200)),
                                 ("GET", "/logbook/overdue?unit={Y}", None, statuses(302, 200, 200, 200))],
    "registry.logbook_fields": [("GET", "/logbook/fields", None, INSPECTORS),
                                ("POST", "/logbook/fields", {"action": "update", "code": "khac"}, statuses(302, 403, 403, 400))],
    "registry.logbook_calendar": [("GET", "/logbook/calendar", None, INSPECTORS),
                                  ("POST", "/logbook/calendar", {"action": "declare"}, statuses(302, 403, 403, 400))],
    # the book on paper (registry/web/logbook_paper.py): its editors and inspectors download, only its editors
    # upload; the monthly summary is the inspectors'
    "registry.logbook_paper": [("GET", "/units/{X}/logbook/paper", None, OWN_X),
                               ("POST", "/units/{X}/logbook/paper", {}, statuses(302, 400, 403, 403))],
    "registry.logbook_paper_download": [
        ("GET", "/units/{Y}/logbook/paper.xlsx?from=2025-06-01&to=2025-06-30", None, OWN_Y)],
    "registry.logbook_summary": [("GET", "/logbook/summary?month=2025-06", None, INSPECTORS)],
    "registry.logbook_summary_download": [("GET", "/logbook/summary.json?month=2025-06", None, INSPECTORS)],
    "registry.groups": [("GET", "/groups", None, INSPECTORS), ("POST", "/groups", {}, statuses(302, 403, 403, 400))],
    "registry.group": [("GET", "/groups/A", None, INSPECTORS), ("POST", "/groups/A", {}, statuses(302, 403, 403, FORM))],
    "registry.import_file": [("GET", "/registry/import", None, INSPECTORS),
                             ("POST", "/registry/import", {}, statuses(302, 403, 403, 400))],
    "registry.export": [("GET", "/registry/export.csv", None, INSPECTORS), ("GET", "/registry/export.xlsx", None, INSPECTORS)],
    "monitor.attempts": [("GET", "/monitor/attempts", None, INSPECTORS)],
    # a unit's editor reads the evidence of its own unit's ended calls; any other id is 404 (its existence is not told)
    "monitor.attempt": [("GET", "/monitor/attempts/{ax}", None, statuses(302, 200, 404, 200)),
                        ("GET", "/monitor/attempts/{ay}", None, statuses(302, 404, 200, 200)),
                        ("GET", "/monitor/attempts/{px}", None, statuses(302, 404, 404, 200)),  # X's plan: a secret
                        ("GET", "/monitor/attempts/999999", None, statuses(302, 404, 404, 404)),
                        ("POST", "/monitor/attempts/{ay}", {"outcome": "answered", "reason": ""}, statuses(302, 403, 403, 400))],
    # a SIP call's recording: the readers of its evidence (tests/test_sip_audio.py plays one to each role); these
    # calls have none, so 404 for everyone signed in
    "monitor.recording": [("GET", "/monitor/attempts/{ax}/recording", None, statuses(302, 404, 404, 404)),
                          ("GET", "/monitor/attempts/999999/recording", None, statuses(302, 404, 404, 404))],
    "monitor.unit_attempts": [("GET", "/monitor/units/{X}", None, INSPECTORS)],
    # the review queue: inspectors only; a decision on a call that is not held goes back to the queue (302)
    "review.queue": [("GET", "/monitor/review", None, INSPECTORS)],
    "review.decide": [("GET", "/monitor/review/{ay}", None, NOT_A_GET),
                      ("POST", "/monitor/review/{ay}", {"outcome": "answered", "reason": ""}, statuses(302, 403, 403, 400)),
                      ("POST", "/monitor/review/{ay}", {"outcome": "answered", "reason": "Đã nghe lại"},
                       statuses(302, 403, 403, 302))],
    "monitor.call_now": [("GET", "/monitor/units/{X}/call", None, NOT_A_GET),
                         ("POST", "/monitor/units/{Y}/call", {}, statuses(302, 403, 403, 302))],
    "reports.index": [("GET", "/reports/", None, INSPECTORS), ("GET", "/reports/?month=2025-06", None, INSPECTORS),
                      ("GET", "/reports/?month=2025-13", None, statuses(302, 403, 403, 400))],
    "reports.export": [("GET", "/reports/export?month=2025-06&format=csv", None, INSPECTORS),
                       ("GET", "/reports/export?month=2025-06&format=json", None, INSPECTORS)],
    "reports.attempts": [("GET", "/reports/attempts?unit={X}&month=2025-06&scope=all", None, OWN_X),
                         ("GET", "/reports/attempts?unit={Y}&month=2025-06&scope=all", None, OWN_Y),
                         ("GET", "/reports/attempts?month=2025-06", None, INSPECTORS)],
    "reports.my": [("GET", "/reports/my", None, statuses(302, 302, 302, 302, 403))],
    "reports.unit": [("GET", "/reports/units/{X}?month=2025-06", None, OWN_X),
                     ("GET", "/reports/units/{Y}?month=2025-06", None, OWN_Y),
                     ("GET", "/reports/units/KHONGCO", None, statuses(302, 404, 404, 404))],
    # the unit's evidence file (PDF): its own editor and inspectors, as the unit's results page
    "reports.unit_evidence": [("GET", "/reports/units/{X}/evidence.pdf?month=2025-06", None, OWN_X),
                              ("GET", "/reports/units/{Y}/evidence.pdf?month=2025-06", None, OWN_Y),
                              ("GET", "/reports/units/KHONGCO/evidence.pdf", None, statuses(302, 404, 404, 404))],
    # only the unit's own editor contests its results; inspectors decide, they do not contest
    "reports.open_dispute": [("GET", "/reports/attempts/{ax}/dispute", None, statuses(302, 200, 403, 403)),
                             ("GET", "/reports/attempts/{ay}/dispute", None, statuses(302, 403, 200, 403)),
                             ("POST", "/reports/attempts/{ay}/dispute", {"explanation": ""}, statuses(302, 403, 400, 403))],
    "reports.dispute_list": [("GET", "/reports/disputes", None, INSPECTORS)],
    "reports.dispute": [("GET", "/reports/disputes/{dy}", None, OWN_Y),
                        ("POST", "/reports/disputes/{dy}", {"decision": "accept", "reason": ""}, statuses(302, 403, 403, 400))],
    "reports.alert_list": [("GET", "/reports/alerts", None, INSPECTORS)],
    # the 1022 surveys' results and questionnaire (monitor/web/survey_results.py): inspectors only
    "survey_results.results_page": [("GET", "/surveys/results", None, INSPECTORS),
                                    ("GET", "/surveys/results?month=2025-06", None, INSPECTORS)],
    "survey_results.results_export": [("GET", "/surveys/results/export?month=2025-06&format=csv", None, INSPECTORS)],
    "survey_results.questionnaire_page": [("GET", "/surveys/questionnaire", None, INSPECTORS),
                                          ("POST", "/surveys/questionnaire", {}, statuses(302, 403, 403, 400))],
    # inspectors only, and only in demo mode (a 404 here; the demo itself: tests/test_demo_story.py)
    "demo_mail.mailbox": [("GET", "/demo/mail", None, statuses(302, 403, 403, 404))],
    # the 1022 operators' pages (monitor/web/surveys.py): the queue and their case; inspectors see the queue's state
    # and invite operators
    "surveys.queue": [("GET", "/surveys/queue", None, statuses(302, 403, 403, 200, 200))],
    "surveys.take": [("POST", "/surveys/queue", {}, statuses(302, 403, 403, 403, 302))],
    "surveys.invite_operator": [("POST", "/surveys/operators", {"email": ""}, statuses(302, 403, 403, 400, 403))],
    "surveys.case": [("GET", "/surveys/cases/999999", None, statuses(302, 403, 403, 403, 404)),
                     ("POST", "/surveys/cases/999999", {"disposition": "busy"}, statuses(302, 403, 403, 403, 404))],
    # the sample frame's import (monitor/web/survey_import.py): inspectors only
    "survey_import.import_page": [("GET", "/surveys/import", None, INSPECTORS),
                                  ("POST", "/surveys/import", {}, statuses(302, 403, 403, 400))],
    "webhooks.status": [("POST", "/hooks/twilio/status/{ax}", {"CallSid": "CA1", "CallStatus": "completed"}, SIGNED)],
    "webhooks.amd": [("POST", "/hooks/twilio/amd/{ax}", {"CallSid": "CA1", "AnsweredBy": "human"}, SIGNED)],
    "webhooks.gather": [("POST", "/hooks/twilio/gather/{ax}?step=answer", {"CallSid": "CA1", "SpeechResult": "alo"}, SIGNED)],
    "webhooks.recording": [("POST", "/hooks/twilio/recording/{ax}", {"CallSid": "CA1", "RecordingSid": "RE1"}, SIGNED)],
    "webhooks.voice": [("POST", "/hooks/twilio/voice/{ax}", {"CallSid": "CA1"}, SIGNED)],
}
WEBHOOKS = [e for e in POLICY if e.startswith("webhooks.")]
CASES = [(endpoint, *case) for endpoint, cases in POLICY.items() for case in cases]


pytestmark = pytest.mark.usefixtures("quick_password_hashing")  # see conftest.py


@pytest.fixture
def world(app, db, units, inspector):
    """Units X (SYT) and Y (XMA) with editors, an ended failed attempt each, Y's private history and a dispute."""
    editors = {EDITOR_X: make_editor(db, units["SYT"], "bientap@soyte.test.vn"),
               EDITOR_Y: make_editor(db, units["XMA"], "bientap@myan.test.vn"), INSPECTOR: inspector,
               OPERATOR: {"email": "dienthoaivien@1022.test.vn", "password": OPERATOR_PASSWORD}}
    editors[OPERATOR]["id"] = accounts.create_operator(db, editors[OPERATOR]["email"], OPERATOR_PASSWORD)
    update_unit(db, units["XMA"], {"contact_email": "bimat.y@xma.test.vn"}, actor=editors[INSPECTOR] | {"role": "inspector"})
    set_hotline(db, units["XMA"], "0912 777 001", actor=None, reason="Số cũ")  # its old number: private history
    set_hotline(db, units["XMA"], "0912 000 999", actor=None, reason="Lý do riêng của xã Mỹ An")
    ids = {}
    for key, unit in (("ax", "SYT"), ("ay", "XMA")):
        number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [units[unit]]).fetchone()[0]
        ids[key] = create_attempt(db, unit_id=units[unit], number=number, planned_at=NOW, band="office", now=NOW)
        finish(db, ids[key], "no_answer", "", NOW, transcript="BAN-GHI-Y-KHONG-CONG-KHAI" if unit == "XMA" else "")
    ids["dy"] = disputes.open_dispute(db, ids["ay"], editors[EDITOR_Y], "Giải trình riêng của xã Mỹ An", now=NOW)
    number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [units["SYT"]]).fetchone()[0]
    ids["px"] = create_attempt(db, unit_id=units["SYT"], number=number, planned_at=datetime(2025, 6, 12, 3, tzinfo=timezone.utc),
                               band="office", now=NOW)
    # a logbook entry of each unit (Y's with an attachment): registry/web/logbook.py
    for key, unit in (("ex", "SYT"), ("ey", "XMA")):
        ids[key] = logbook_entries.create(db, units[unit], {"content": "Phản ánh về thủ tục", "reporter_phone": "0912 777 001"},
                                          user_id=None, now=NOW)["id"]
    ids["fy"] = logbook_attachments.add(db, ids["ey"], "bien-ban.pdf", b"%PDF-1.7", user_id=None, now=NOW)
    return {"editors": editors, "ids": ids, "units": units}


@pytest.fixture
def as_role(app, world):
    clients = {}

    def client_for(role):
        if role not in clients:
            client = app.test_client()
            if role != ANON:
                account = world["editors"][role]
                assert login(client, account["email"], account["password"]).status_code == 302
            clients[role] = client
        return clients[role]

    return client_for


def fill(path: str, world) -> str:
    return path.format(X="SYT", Y="XMA", **world["ids"])


def snapshot(db):
    """Everything a request could change (sign-ins only touch last_login_at, login_failures and sessions, left out)."""
    tables = {}
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
                               "('login_failures', 'sessions', 'users', 'sqlite_sequence', 'sqlite_stat1')").fetchall():
        tables[table] = db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    tables["users"] = db.execute("SELECT id, email, role, unit_id, password_hash, active FROM users ORDER BY id").fetchall()
    return tables


def token_for(client) -> str:
    return csrf_from(client.get("/login").get_data(as_text=True))


def send(client, method, path, data, *, csrf=True):
    if method == "GET":
        return client.get(path)
    body = dict(data or {})
    if csrf:
        body["csrf_token"] = token_for(client)
    return client.open(path, method=method, data=body)


def _rule_endpoints(app):
    return {rule.endpoint for rule in app.url_map.iter_rules()}


# ---------------------------------------------------------------------------------------------- the matrix


def test_every_route_has_a_policy_entry_and_every_entry_a_route(app):
    endpoints = _rule_endpoints(app)
    missing = sorted(endpoints - set(POLICY))
    assert not missing, f"routes without an access policy in tests/test_security_matrix.py POLICY: {missing}"
    stale = sorted(set(POLICY) - endpoints)
    assert not stale, f"POLICY entries for routes that no longer exist: {stale}"


def test_every_method_a_route_allows_is_covered_by_the_policy(app):
    uncovered = []
    for rule in app.url_map.iter_rules():
        tried = {method for method, *_ in POLICY.get(rule.endpoint, [])}
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method not in tried:
                uncovered.append((rule.endpoint, method))
    assert not uncovered, f"methods without a policy case: {uncovered}"


@pytest.mark.slow
@pytest.mark.parametrize("endpoint,method,path,data,expected", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_each_route_answers_each_role_exactly_as_the_policy_says(app, db, as_role, world, endpoint, method, path, data,
                                                                  expected):
    url = fill(path, world)
    refusals = [role for role in ROLES if expected[role] & {302, 403, 404, 405} and not expected[role] & {200}]
    for role in refusals + [r for r in ROLES if r not in refusals]:  # refusals first, on untouched data
        before = snapshot(db) if method != "GET" else None
        response = send(as_role(role), method, url, data)
        assert response.status_code in expected[role], (endpoint, role, url, response.status_code)
        if response.status_code == 302 and role == ANON and expected[role] == {302} and endpoint not in (
                "auth.logout", "auth.set_language", "registry.my_unit", "auth.accept_invite"):
            assert "/login" in response.headers["Location"], response.headers["Location"]
        if method != "GET" and response.status_code in (401, 403, 405) or (method != "GET" and role == ANON
                                                                             and response.status_code == 302
                                                                             and endpoint not in ("auth.logout", "auth.set_language")):
            assert snapshot(db) == before, (endpoint, role, "a refused request changed the database")


def test_my_page_sends_each_account_to_its_own_place(as_role):
    assert as_role(EDITOR_X).get("/my").headers["Location"].endswith("/units/SYT")
    assert as_role(EDITOR_Y).get("/my").headers["Location"].endswith("/units/XMA")
    assert as_role(INSPECTOR).get("/my").headers["Location"].endswith("/units")
    assert "/login" in as_role(ANON).get("/my").headers["Location"]


def get_pages(world):
    """Every GET case of the policy, filled in (the pages a role may try)."""
    return sorted({fill(path, world) for _, method, path, _, _ in CASES if method == "GET"})


def _readable(response) -> str:
    """A response's text as a person reads it: a PDF's extracted text, else the body decoded."""
    if response.headers.get("Content-Type", "").startswith("application/pdf"):
        from pypdf import PdfReader

        return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.get_data())).pages)
    return response.get_data(as_text=True)


def test_no_page_or_export_shows_unit_y_data_to_the_editor_of_unit_x(as_role, world):
    client = as_role(EDITOR_X)
    seen = []
    for url in get_pages(world) + ["/my", "/units/SYT", "/units/SYT#lich-su"]:
        response = client.get(url, follow_redirects=True)
        body = _readable(response)
        seen.append((url, response.status_code))
        for secret in Y_SECRETS:
            assert secret not in body, (url, secret)
    # and the editor of Y does see them on Y's own page: the secrets are real, not absent everywhere
    own = as_role(EDITOR_Y).get("/units/XMA").get_data(as_text=True)
    assert "bimat.y@xma.test.vn" in own and "Lý do riêng của xã Mỹ An" in own
    assert ("/units/XMA", 403) in [(u, s) for u, s in seen if u == "/units/XMA"]


@pytest.mark.parametrize("url", ["/units/{Y}", "/monitor/units/{Y}", "/monitor/attempts/{ay}", "/registry/export.csv",
                                 "/registry/export.xlsx", "/monitor/attempts?unit={Y}", "/reports/units/{Y}",
                                 "/reports/attempts?unit={Y}&scope=all", "/reports/attempts/{ay}/dispute",
                                 "/reports/disputes/{dy}"])
def test_the_editor_of_unit_x_is_refused_every_view_of_unit_y(as_role, world, url):
    response = as_role(EDITOR_X).get(fill(url, world))
    assert response.status_code in (403, 404)
    body = response.get_data(as_text=True)
    assert not any(secret in body for secret in Y_SECRETS)


# ---------------------------------------------------------------------------------------------------- CSRF

POSTS = [(endpoint, path, data, expected) for endpoint, method, path, data, expected in CASES
         if method == "POST" and endpoint not in WEBHOOKS]


def test_every_state_changing_route_is_in_the_csrf_check(app):
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods} - set(WEBHOOKS)
    assert posts == {endpoint for endpoint, *_ in POSTS}


@pytest.mark.parametrize("endpoint,path,data,expected", POSTS, ids=[f"{p[0]}-{p[1]}" for p in POSTS])
def test_a_post_without_csrf_token_is_refused_with_400_and_changes_nothing(db, as_role, world, endpoint, path, data,
                                                                          expected):
    url = fill(path, world)
    # the roles the route would serve (so the refusal is the CSRF check, not the role check)
    for role in [r for r in ROLES if expected[r] & FORM or expected[r] & {401}] or [INSPECTOR]:
        before = snapshot(db)
        response = send(as_role(role), "POST", url, data, csrf=False)
        assert response.status_code == 400, (endpoint, role, response.status_code)
        assert "CSRF" in response.get_data(as_text=True)
        assert snapshot(db) == before
        wrong = send(as_role(role), "POST", url, {**(data or {}), "csrf_token": "gia-mao"}, csrf=False)
        assert wrong.status_code == 400
        assert snapshot(db) == before


def test_a_csrf_token_from_another_session_is_refused(app, db, as_role, world):
    stolen = token_for(app.test_client())
    before = snapshot(db)
    response = as_role(EDITOR_X).post("/units/SYT", data={"action": "contact", "contact_name": "Kẻ gian",
                                                          "csrf_token": stolen})
    assert response.status_code == 400
    assert snapshot(db) == before


# ----------------------------------------------------------------------------------------------------- XSS


def post_form(client, url, data):
    return client.post(url, data={"csrf_token": token_for(client), **data})


def store_payloads(app, db, as_role, world):
    """Put the payload in every stored text field there is a form for (and in an imported file's cells)."""
    inspector, editor = as_role(INSPECTOR), as_role(EDITOR_X)
    results = [
        post_form(inspector, "/units/XMA", {"action": "details", "name": "Xã " + PAYLOAD, "kind": "commune",
                                            "group_code": "C", "details_reason": "Lý do " + PAYLOAD}),
        post_form(editor, "/units/SYT", {"action": "contact", "contact_name": "Cán bộ " + PAYLOAD,
                                         "contact_email": "soyte@test.vn", "address": "Số 1 " + PAYLOAD,
                                         "contact_reason": "Đổi người " + PAYLOAD}),
        post_form(editor, "/units/SYT", {"action": "number", "number": "0277 3851 999", "hours": "24/7",
                                         "reason": "Đổi số " + PAYLOAD}),
        post_form(inspector, "/units/SYT", {"action": "shared", "shared": "y", "shared_note": "Chung " + PAYLOAD}),
        post_form(inspector, "/units/SYT", {"action": "invite", "invite_email": "moi@soyte.test.vn",
                                            "invite_name": "Người mới " + PAYLOAD}),
        post_form(inspector, "/groups", {"code": "D", "name": "Nhóm " + PAYLOAD, "name_en": PAYLOAD,
                                         "sort_order": "4", "tests_per_week": "2"}),
    ]
    import csv

    from registry.appendix import export_csv

    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(["9", "Phường " + PAYLOAD, "0277 3851 777", PAYLOAD, "XSS1"])
    data = export_csv(db).decode("utf-8-sig") + out.getvalue()
    results.append(inspector.post("/registry/import", data={"csrf_token": token_for(inspector),
                                                            "file": (io.BytesIO(data.encode("utf-8-sig")), "xss.csv")},
                                  content_type="multipart/form-data"))
    # a dispute on X's failed test, with the payload in the explanation; the inspector rejects it with the payload
    ax = world["ids"]["ax"]
    results.append(post_form(editor, f"/reports/attempts/{ax}/dispute", {"explanation": "Giải trình " + PAYLOAD}))
    dispute_id = db.execute("SELECT id FROM disputes WHERE attempt_id = ?", [ax]).fetchone()[0]
    results.append(post_form(inspector, f"/reports/disputes/{dispute_id}",
                             {"decision": "reject", "reason": "Không chấp nhận " + PAYLOAD}))
    # an inspector's review of the same test, with the payload as the reason
    results.append(post_form(inspector, f"/monitor/attempts/{ax}", {"outcome": "answered", "reason": "Xem lại " + PAYLOAD}))
    # what the person answering says becomes the transcript: it arrives in a signed callback
    ay = world["ids"]["ay"]
    params = {"CallSid": "CA" + "9" * 32, "SpeechResult": "Alo " + PAYLOAD, "Confidence": "0.9"}
    path = f"/hooks/twilio/gather/{ay}?step=greeting"
    results.append(as_role(ANON).post(path, data=params, headers={
        "X-Twilio-Signature": _signature("https://hotline.example.vn" + path, params)}))
    return results


@pytest.mark.slow
def test_script_and_markup_in_every_stored_text_field_come_out_escaped_on_every_page(app, db, as_role, world):
    results = store_payloads(app, db, as_role, world)
    assert all(r.status_code in (200, 204, 302) for r in results), [r.status_code for r in results]
    stored = db.execute("SELECT count(*) FROM units WHERE name LIKE '%<script>%'").fetchone()[0]
    assert stored == 2  # the edited name and the imported one: stored as typed, escaped when shown
    dispute_id = db.execute("SELECT id FROM disputes WHERE attempt_id = ?", [world["ids"]["ax"]]).fetchone()[0]
    urls = get_pages(world) + ["/units/XSS1", "/monitor/units/XMA", "/monitor/units/XSS1", "/groups/D",
                               "/?q=script", "/monitor/attempts?unit=XMA", f"/reports/disputes/{dispute_id}",
                               "/reports/disputes?status=rejected", "/reports/units/XSS1?month=2025-06"]
    escaped_seen = set()
    for role in (INSPECTOR, EDITOR_X, ANON):
        for url in urls:
            response = as_role(role).get(url)
            if "text/html" not in response.headers.get("Content-Type", ""):
                continue
            body = response.get_data(as_text=True)
            for marker in RAW_MARKERS:
                assert marker not in body, (role, url, marker)
            if ESCAPED_MARKER in body:
                escaped_seen.add(url)
    # the payloads were really shown (escaped) on the pages that display those fields
    assert {"/", "/units", "/changes", "/units/SYT", "/units/XMA", "/groups", "/units/XSS1"} <= escaped_seen, escaped_seen
    assert f"/monitor/attempts/{world['ids']['ay']}" in escaped_seen
    assert f"/monitor/attempts/{world['ids']['ax']}" in escaped_seen
    assert {f"/reports/disputes/{dispute_id}", "/reports/disputes", "/reports/units/XMA?month=2025-06",
            "/reports/?month=2025-06"} <= escaped_seen


def test_the_json_api_returns_stored_markup_as_data_not_html(app, db, as_role, world):
    store_payloads(app, db, as_role, world)
    response = as_role(ANON).get("/api/hotlines/XSS1")
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.get_json()["name"] == "Phường " + PAYLOAD
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# ------------------------------------------------------------------------------------------------ webhooks


def _signature(url, params, token=AUTH_TOKEN):
    from twilio.request_validator import RequestValidator

    return RequestValidator(token).compute_signature(url, params)


FORGERIES = {
    "no signature": lambda url, params: {},
    "empty signature": lambda url, params: {"X-Twilio-Signature": ""},
    "random signature": lambda url, params: {"X-Twilio-Signature": "dGhpcyBpcyBub3QgYSBzaWduYXR1cmU="},
    "other auth token": lambda url, params: {"X-Twilio-Signature": _signature(url, params, "another-token")},
    "signed for another attempt": lambda url, params: {"X-Twilio-Signature": _signature(re.sub(r"/(\d+)", "/99999", url), params)},
    "signed for the internal url": lambda url, params: {
        "X-Twilio-Signature": _signature(url.replace("https://hotline.example.vn", "http://localhost"), params)},
    "signed other parameters": lambda url, params: {"X-Twilio-Signature": _signature(url, {**params, "CallStatus": "ringing"})},
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
@pytest.mark.parametrize("endpoint", WEBHOOKS)
def test_forged_or_missing_webhook_signatures_are_refused_and_store_nothing(client, db, world, endpoint, forgery):
    (method, path, _, _), = POLICY[endpoint]
    attempt_id = world["ids"]["ax"]
    kind, params, query = callback_script("busy", "CA" + "7" * 32, start=NOW)[1]
    url_path = fill(path, world)
    public = "https://hotline.example.vn" + url_path
    before = snapshot(db)
    response = client.post(url_path, data=params, headers=FORGERIES[forgery](public, params))
    assert response.status_code == 403, (endpoint, forgery)
    assert snapshot(db) == before
    assert db.execute("SELECT count(*) FROM call_events WHERE attempt_id = ?", [attempt_id]).fetchone()[0] == 0


def test_a_correctly_signed_callback_is_accepted_so_the_refusals_are_about_the_signature(client, db, world):
    attempt_id = world["ids"]["ax"]
    _, params, _ = callback_script("busy", "CA" + "7" * 32, start=NOW)[1]
    path = f"/hooks/twilio/status/{attempt_id}"
    response = client.post(path, data=params,
                           headers={"X-Twilio-Signature": _signature("https://hotline.example.vn" + path, params)})
    assert response.status_code == 204
    assert db.execute("SELECT count(*) FROM call_events WHERE attempt_id = ?", [attempt_id]).fetchone()[0] == 1


# ----------------------------------------------------------------------------------------- login, cookies


def test_failed_logins_on_other_accounts_from_one_address_do_not_block_the_inspector(app, world):
    # One address is everyone's behind the TLS proxy or an office NAT (tests/test_login_throttle.py has more).
    client = app.test_client()
    for k in range(login_throttle.ACCOUNT_FREE_TRIES * 2):
        response = login(client, f"doan-mo-{k}@test.vn", "sai-mat-khau-123")
        assert response.status_code == 401
    inspector = world["editors"][INSPECTOR]
    assert login(client, inspector["email"], inspector["password"]).status_code == 302
    assert client.get("/units").status_code == 200


def test_login_is_throttled_per_account_from_any_address(app, world, monkeypatch):
    monkeypatch.setattr("registry.accounts.utcnow", lambda: NOW)  # the next try comes within the delay
    inspector = world["editors"][INSPECTOR]
    for k in range(login_throttle.ACCOUNT_FREE_TRIES):
        client = app.test_client()
        html = client.get("/login").get_data(as_text=True)
        response = client.post("/login", data={"email": inspector["email"], "password": f"doan-{k}-sai",
                                               "csrf_token": csrf_from(html)},
                               environ_base={"REMOTE_ADDR": f"10.0.0.{k + 1}"})
        assert response.status_code == 401
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    blocked = client.post("/login", data={"email": inspector["email"], "password": inspector["password"],
                                          "csrf_token": csrf_from(html)}, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert blocked.status_code == 429


def test_the_session_cookie_is_secure_httponly_and_samesite_by_default(tmp_path, monkeypatch):
    from monitor.app import create_app, init_db
    from registry.db import connect

    monkeypatch.delenv("FLASK_SESSION_COOKIE_SECURE", raising=False)
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "d.db"), "SECRET_KEY": "k"})
    init_db(app)
    db = connect(app.config["DATABASE"])
    accounts.create_inspector(db, "a@test.vn", "mat-khau-rat-dai")
    db.conn.close()
    client = app.test_client()
    html = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"email": "a@test.vn", "password": "mat-khau-rat-dai", "csrf_token": csrf_from(html)})
    assert response.status_code == 302
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session="))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "samesite"} <= flags
    assert "samesite=lax" in cookie.lower() or "samesite=strict" in cookie.lower()


# ---------------------------------------------------------------------------------------------------- CSP

CSP_REQUIRED = ("default-src 'self'", "script-src 'none'", "style-src 'self'", "object-src 'none'",
                "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'")


@pytest.mark.slow
def test_every_html_response_for_every_role_has_the_strict_csp_and_no_inline_script_or_style(as_role, world):
    checked = 0
    for role in ROLES:
        client = as_role(role)
        for url in get_pages(world) + ["/khong-co-trang-nay", "/units/KHONGCO", "/monitor/attempts/999999"]:
            response = client.get(url)
            if "text/html" not in response.headers.get("Content-Type", ""):
                continue
            checked += 1
            csp = response.headers.get("Content-Security-Policy", "")
            for directive in CSP_REQUIRED:
                assert directive in csp, (role, url, csp)
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert response.headers.get("X-Frame-Options") == "DENY"
            body = response.get_data(as_text=True)
            assert not re.search(r"<script\b", body, re.I), (role, url)
            assert not re.search(r"<style\b", body, re.I), (role, url)
            assert not re.search(r"\sstyle\s*=", body, re.I), (role, url)
            assert not re.search(r"\son[a-z]+\s*=", body, re.I), (role, url)
    assert checked >= 40
