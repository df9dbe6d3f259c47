"""Every page in both languages: nothing Vietnamese left on an English page, and figures in the reader's locale.

The fixture data is ASCII (unit names, transcript, dispute and alert texts), so any Vietnamese letter on an
English page is a label, message or heading that escaped gettext. Data that is Vietnamese by nature (the
seeded group names, a few proper nouns) is stripped before looking.
"""
import json
import re
from html import unescape

import pytest

from monitor import disputes
from monitor.surveys import questionnaire
from registry import accounts
from registry.clock import iso
from registry.hotlines import set_hotline
from registry.logbook import entries as logbook_entries
from registry.units import create_unit

from .conftest import login, make_editor
from .report_fixtures import add_attempt, local
from .survey_fixtures import make_cases

# Vietnamese-specific letters (with or without tone marks) and every precomposed toned vowel.
VIETNAMESE = re.compile(
    "[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ]"
)
# Proper nouns that stay as they are in English, and the button that switches back to Vietnamese.
PROPER_NOUNS = ("Tiếng Việt", "Đồng Tháp", "Tháp Mười", "Hồ Chí Minh")
# The history log keeps the reason and the actor as they were written when the change was made (data).
HISTORY_DATA = ("Tạo đơn vị", "hệ thống")
# The appendix template's column titles are quoted as they appear in the file (import instructions).
TEMPLATE_TITLES = ("TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG", "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG", "MÃ ĐƠN VỊ", "GHI CHÚ")
VISIBLE_ATTRIBUTES = re.compile(r'\s(?:title|aria-label|placeholder|alt|data-label)="([^"]*)"')
PERIOD = {"from": "2025-06-01", "to": "2025-06-30"}


def visible_text(html: str) -> str:
    """What a reader sees or hears: text between tags plus the attributes shown or read aloud."""
    attributes = " ".join(VISIBLE_ATTRIBUTES.findall(html))
    body = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    body = re.sub(r"(?s)<!--.*?-->", " ", body)
    body = re.sub(r"<[^>]+>", " ", body)
    return unescape(body + " " + attributes)


def leftovers(html: str, data: tuple[str, ...]) -> list[str]:
    """Snippets of Vietnamese text once data and proper nouns are taken out."""
    text = visible_text(html)
    for known in sorted(data + PROPER_NOUNS + TEMPLATE_TITLES + HISTORY_DATA, key=len, reverse=True):
        if known:
            text = text.replace(known, " ")
    return sorted({text[max(0, m.start() - 30):m.end() + 30].strip() for m in VIETNAMESE.finditer(text)})


@pytest.fixture
def world(app, db, quick_password_hashing, inspector):
    """ASCII data behind every page: two units, an ended attempt with events, a dispute, an alert, a retest."""
    syt = create_unit(db, {"code": "SYT", "name": "Department of Health", "kind": "department", "group_code": "A",
                           "contact_email": "health@test.vn", "contact_name": "Mr Nam", "address": "1 Main Street"})
    xma = create_unit(db, {"code": "XMA", "name": "My An Commune", "kind": "commune", "group_code": "C"})
    set_hotline(db, syt, "0277 3851 234", actor=None, reason="test")
    set_hotline(db, xma, "0912 345 678", actor=None, reason="test")
    answered = add_attempt(db, syt, "2025-06-02 09:00", "answered", answer_seconds=22.0, sip_code=200,
                           transcript="hello, health department hotline")
    failed = add_attempt(db, syt, "2025-06-03 20:00", "no_answer", confirmed=1)
    add_attempt(db, syt, "2025-06-03 21:00", "no_answer", purpose="retest", retest_of=failed)
    add_attempt(db, xma, "2025-06-04 10:00", "busy", sip_code=486)
    db.execute("UPDATE attempts SET call_status = 'completed', answered_by = 'human', call_sid = 'CA123' WHERE id = ?",
               [answered])
    for sequence, status in enumerate(("initiated", "ringing", "in-progress", "completed")):
        db.table("call_events").insert({
            "attempt_id": answered, "dedupe_key": f"CA123:{sequence}", "kind": "status", "call_status": status,
            "sequence": sequence, "received_at": iso(local("2025-06-02 09:00")),
            "payload": json.dumps({"CallSid": "CA123", "CallStatus": status}),
        })
    editor = make_editor(db, syt, "editor@health.test.vn")
    dispute_id = disputes.open_dispute(db, failed, editor, "The line was staffed; the carrier had an outage.",
                                       now=local("2025-06-05 08:00"))
    db.table("alerts").insert({
        "unit_id": syt, "kind": "confirmed_failures", "created_at": iso(local("2025-06-04 08:00")),
        "recipients": "health@test.vn", "subject": "Hotline alert", "body": "Three failures in a row.",
        "status": "sent", "sent_at": iso(local("2025-06-04 08:01")),
    })
    # Group names are data (an English name is shown when the group has one); strip them, in capitals too.
    group_names = tuple(name for row in db.execute("SELECT name FROM groups").fetchall() for name in (row[0], row[0].upper()))
    # So are the logbook's fields (inspectors name them; the seeded ones' Vietnamese names are kept as written).
    group_names += tuple(row[0] for row in db.execute("SELECT name FROM logbook_fields").fetchall())
    entry = logbook_entries.create(db, syt, {"content": "The road to the clinic is flooded", "reporter_phone": "0912345678",
                                             "field_code": "tthc"}, user_id=editor["id"], now=local("2025-06-05 09:00"))
    # A citizen to call back for the operator's pages; the dossier's procedure and name, and the questionnaire's
    # questions (inspectors write them), are data too.
    [case_id] = make_cases(db, syt, ["0912000111"])
    operator = {"email": "dienthoaivien@test.vn", "password": "mat-khau-dien-thoai"}
    accounts.create_operator(db, operator["email"], operator["password"])
    questions = questionnaire.default()
    group_names += ("Cấp giấy phép xây dựng", "Nguyễn Văn An", questions["title"],
                    *(q["text"] for q in questions["questions"]))
    # The one-stop system's column headings are quoted as the files write them, in Vietnamese, on every page.
    group_names += ("Mã hồ sơ", "Tên thủ tục hành chính", "Chủ hồ sơ", "Số điện thoại", "Ngày tiếp nhận",
                    "Ngày hẹn trả", "Ngày trả kết quả", "Đơn vị xử lý", "Kênh nộp", "ĐT liên hệ")
    return {"attempt_id": answered, "dispute_id": dispute_id, "editor": editor, "inspector": inspector,
            "operator": operator, "data": group_names, "entry_id": entry["id"], "case_id": case_id}


def _url(rule, world) -> str | None:
    """A concrete URL for a GET route, or None for routes that serve no page (static files, downloads, JSON)."""
    if rule.endpoint in ("static", "registry.logbook_attachment") or rule.rule.startswith("/api/") or "export" in rule.endpoint \
            or "fmt" in rule.arguments:  # a download in a chosen format, not a page
        return None
    values = {"code": "SYT", "attempt_id": world["attempt_id"], "dispute_id": world["dispute_id"],
              "token": "not-a-valid-token", "entry_id": world.get("entry_id"), "case_id": world.get("case_id")}
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", str(values[name]), path)
    return path + ("?" + "&".join(f"{k}={v}" for k, v in PERIOD.items()) if path.startswith("/reports") else "")


def _pages(app, client, world):
    """(url, status, html) of every GET page, following a redirect once (e.g. /my → the editor's unit)."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods:
            continue
        url = _url(rule, world)
        if url is None:
            continue
        response = client.get(url, follow_redirects=True)
        if response.mimetype == "text/html":
            out.append((url, response.status_code, response.get_data(as_text=True)))
    return out


def _sign_in(client, world, role):
    if role == "inspector":
        assert login(client, world["inspector"]["email"], world["inspector"]["password"]).status_code == 302
    elif role == "editor":
        assert login(client, world["editor"]["email"], world["editor"]["password"]).status_code == 302
    elif role == "operator":
        assert login(client, world["operator"]["email"], world["operator"]["password"]).status_code == 302


def _choose(client, lang):
    with client.session_transaction() as session:
        session["lang"] = lang


@pytest.mark.slow
@pytest.mark.parametrize("role", ["anonymous", "inspector", "editor", "operator"])
def test_every_page_in_english_has_no_vietnamese_left(app, client, world, role):
    _choose(client, "en")  # before signing in, as a reader would: the sign-in message is English too
    _sign_in(client, world, role)
    pages = _pages(app, client, world)
    assert len(pages) >= 15
    problems = {}
    for url, status, html in pages:
        assert status < 500, (url, status)
        assert '<html lang="en">' in html, url
        found = leftovers(html, world["data"])
        if found:
            problems[url] = found
    assert not problems, "Vietnamese left on English pages:\n" + "\n".join(
        f"{url}: {snippets}" for url, snippets in problems.items())


@pytest.mark.slow
@pytest.mark.parametrize("role", ["anonymous", "inspector", "editor", "operator"])
def test_every_page_in_vietnamese_renders(app, client, world, role):
    _choose(client, "vi")
    _sign_in(client, world, role)
    pages = _pages(app, client, world)
    assert len(pages) >= 15
    for url, status, html in pages:
        assert status < 500, (url, status)
        assert '<html lang="vi">' in html, url


@pytest.mark.slow
def test_inspector_pages_cover_every_route_with_a_page(app, client, world):
    _sign_in(client, world, "inspector")
    statuses = {url: status for url, status, _html in _pages(app, client, world)}
    assert statuses[f"/monitor/attempts/{world['attempt_id']}"] == 200
    assert statuses[f"/reports/disputes/{world['dispute_id']}?from=2025-06-01&to=2025-06-30"] == 200
    assert statuses["/reports/alerts?from=2025-06-01&to=2025-06-30"] == 200


def test_evidence_page_shows_provider_values_translated(app, client, world):
    _sign_in(client, world, "inspector")
    url = f"/monitor/attempts/{world['attempt_id']}"
    _choose(client, "vi")
    html = client.get(url).get_data(as_text=True)
    assert "Đã kết nối và kết thúc" in html and "Người nghe máy" in html and "Mô phỏng" in html
    assert "22,0" in html  # decimal comma
    assert re.search(r"\b02/06/2025 09:00:00\b", html)  # dd/mm/yyyy, local time
    _choose(client, "en")
    html = client.get(url).get_data(as_text=True)
    assert "Connected and ended" in html and "A person" in html and "Simulator" in html
    assert "In progress" in html and "Ringing" in html  # the events' call statuses
    assert "22.0" in html and "22,0" not in html
    assert "2 Jun 2025, 09:00:00" in html
    for raw in (">completed<", ">human<", ">simulator "):
        assert raw not in html


def test_report_page_figures_follow_the_locale(app, client, world):
    _sign_in(client, world, "inspector")
    _choose(client, "vi")
    html = client.get("/reports/units/SYT?from=2025-06-01&to=2025-06-30").get_data(as_text=True)
    assert "22,0" in html
    _choose(client, "en")
    html = client.get("/reports/units/SYT?from=2025-06-01&to=2025-06-30").get_data(as_text=True)
    assert "22.0" in html and "22,0" not in html


def test_dates_in_lists_follow_the_locale(app, client, world):
    _sign_in(client, world, "inspector")
    _choose(client, "vi")
    html = client.get("/reports/disputes").get_data(as_text=True)
    assert re.search(r"\b05/06/2025 08:00\b", html)
    _choose(client, "en")
    html = client.get("/reports/disputes").get_data(as_text=True)
    assert "5 Jun 2025, 08:00" in html


def test_gettext_outside_a_request_is_the_vietnamese_source(app):
    from flask_babel import gettext

    from monitor import labels

    assert labels.outcome("answered") == "Có người nghe máy"  # no app context at all
    with app.app_context():  # the CLI and the scheduler: an app but no request
        assert gettext("Không có lần gọi nào.") == "Không có lần gọi nào."
        assert labels.band("night") == "Ban đêm"
    with app.test_request_context("/?lang=en"):
        assert labels.band("night") == "Night"


def test_number_filters_in_both_locales(app):
    from registry.web import filters

    with app.test_request_context("/?lang=vi"):
        assert (filters.number(1234), filters.decimal(22), filters.percent(0.923, 1)) == ("1.234", "22,0", "92,3%")
        assert filters.date("2026-12-01") == "01/12/2026"
        assert filters.datetime("2026-12-01T01:05:03Z") == "01/12/2026 08:05:03"
    with app.test_request_context("/?lang=en"):
        assert (filters.number(1234), filters.decimal(22), filters.percent(0.923, 1)) == ("1,234", "22.0", "92.3%")
        assert filters.date("2026-12-01") == "1 Dec 2026"
        assert filters.datetime("2026-12-01T01:05:03Z", seconds=False) == "1 Dec 2026, 08:05"
    # outside a request (CLI, e-mail): Vietnamese
    assert filters.decimal(22.04) == "22,0"
