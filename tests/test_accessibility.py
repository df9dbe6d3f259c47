"""Every page each role can reach, audited with axe-core against WCAG 2.1 A and AA in a real Chromium.

The pages are found, not listed: each role's start page and every link it leads to, plus every GET rule of
the app filled with the demo's ids (so a new page is audited without editing this file); one page per route
(per call state for a call's page). Each is audited in Vietnamese and in English, every form that takes input
once more after an empty submission (its error state), and the main pages again at 320 px wide (WCAG's
reflow width; once, the layout does not depend on the language). axe-core
comes from npm (package-lock.json, `npm ci` in scripts/install.sh); Playwright injects its axe.min.js into
Debian's Chromium before each page's own code runs, which the page's strict CSP leaves possible.
"""
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from monitor import disputes
from monitor.attempts import lifecycle
from monitor.scheduling import demo_surveys
from monitor.scheduling.bands import LOCAL
from monitor.surveys import cases as survey_cases
from registry import accounts, demo
from registry.clock import iso, utcnow
from registry.db import write_transaction
from registry.logbook import attachments as logbook_attachments
from registry.logbook import entries as logbook_entries

from .live import CHROMIUM_ARGS, LiveServer, chromium_path
from .report_fixtures import add_attempt, failure_with_retest
from .test_review import call

playwright = pytest.importorskip("playwright.sync_api")

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
TIMEOUT_MS = 15_000
START = {"anonymous": "/", "editor": "/my", "inspector": "/units", "operator": "/surveys/queue"}
ACCOUNTS = {"editor": demo.EDITOR[:2], "inspector": demo.INSPECTOR[:2], "operator": demo_surveys.OPERATOR[:2]}
# the pages a reader lands on most, audited again at the width WCAG's reflow criterion names (320 CSS px)
NARROW = {"registry.directory", "auth.login", "registry.my_unit", "reports.my", "registry.units",
          "monitor.attempts", "monitor.attempt", "review.queue", "reports.index"}
NARROW_VIEWPORT = {"width": 320, "height": 640}
RUN_AXE = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => n.target.join(" ") + "  " + n.failureSummary.replace(/\\s+/g, " "))}));
}"""
# Pages that reload themselves do so only once the reader has turned automatic updating on (a link on the
# page, off by default) and say so beside a link that turns it off: WCAG 2.2.1 "turn off before encountering
# it". axe cannot see that choice and rates any <meta refresh> as a failure, so on those pages only, and only
# that rule, is left to the assertions in test_automatic_updating_* below.
AUTO_UPDATING = re.compile(r"[?&]auto=1(&|$)")
# routes whose page differs by the record shown (a call planned, ringing, ended, held): each seeded id is audited
BY_ID = {"monitor.attempt": "attempt_id"}
FORMS = """forms => forms.map((f, i) => ({i, action: new URL(f.action, location.href).pathname,
    fields: f.querySelectorAll("input:not([type=hidden]):not([type=submit]), textarea, select").length}))"""
# the browser's own checks (required, type=email) off: the server's answer to an empty form is what is audited
SUBMIT_EMPTY = """i => { const f = document.querySelectorAll("form[method=post]")[i];
    f.noValidate = true;
    f.querySelectorAll("input:not([type=hidden]):not([type=submit]):not([type=checkbox]):not([type=radio]), textarea")
        .forEach(e => { e.value = ""; });
    f.requestSubmit(); }"""


def axe_source() -> str:
    if not AXE.exists():
        raise RuntimeError("axe-core is not installed: run scripts/install.sh --test (npm ci)")
    return AXE.read_text(encoding="utf-8")


def seed(db, settings) -> dict:
    """The demo registry and accounts, and calls in every state a page shows differently; the ids to visit."""
    demo.load_demo(db)
    now = utcnow().replace(microsecond=0)
    # the demo's survey month and its operator, who holds a case for the whole audit (claimed hours ahead)
    demo_surveys.seed(db, settings, now=now)
    operator_id = db.execute("SELECT id FROM users WHERE email = ?", [demo_surveys.OPERATOR[0]]).fetchone()[0]
    case = survey_cases.claim_next(db, operator_id, now + timedelta(hours=3), lambda case: True)
    unit = {code: db.execute("SELECT id FROM units WHERE code = ?", [code]).fetchone()[0]
            for code in ("SYT", "STP", "VPUBND")}
    at = lambda hours: (now - timedelta(hours=hours)).astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    answered = add_attempt(db, unit["SYT"], at(5), "answered", answer_seconds=7.0)
    add_attempt(db, unit["STP"], at(4), "busy", sip_code=486)
    add_attempt(db, unit["VPUBND"], at(30 * 24), "answered", answer_seconds=12.0)
    failed, _retest = failure_with_retest(db, unit["SYT"], at(3), "no_answer", "no_answer")
    held = call(db, unit["SYT"], now - timedelta(hours=1), "alo… dạ… anh gọi số… (không nghe rõ)",
                answered_by="machine_start")
    number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit["STP"]]).fetchone()[0]
    ringing = lifecycle.create_attempt(db, unit_id=unit["STP"], number=number, planned_at=now, band="office",
                                       purpose="manual", now=now)
    with write_transaction(db):
        lifecycle.claim(db, ringing, owner="test", lease_until=iso(now + timedelta(minutes=5)), requested_at=iso(now))
    lifecycle.mark_placed(db, ringing, "CA" + "1" * 32, "simulator", now)
    planned = lifecycle.create_attempt(db, unit_id=unit["SYT"], number=number, planned_at=now + timedelta(hours=2),
                                       band="office", now=now)
    editor = accounts.find_user(db, db.execute("SELECT id FROM users WHERE email = ?", [demo.EDITOR[0]]).fetchone()[0])
    dispute = disputes.open_dispute(db, failed, editor, "Tổng đài bị mất điện lúc đó; có biên bản của điện lực.")
    token = accounts.invite_editor(db, "moi@demo.dongthap.gov.vn", unit["STP"])
    entry = logbook_entries.create(db, unit["SYT"], {"content": "Hỏi thủ tục cấp phép", "reporter_phone": "0912345678",
                                                     "field_code": "tthc"}, user_id=editor["id"], now=now)
    attachment = logbook_attachments.add(db, entry["id"], "don.pdf", b"%PDF-1.7", user_id=editor["id"], now=now)
    return {"case_id": case["id"], "entry_id": entry["id"], "attachment_id": attachment, "code": "SYT", "attempt_id": failed, "dispute_id": dispute, "token": token, "fmt": "csv",
            "filename": "app.css", "receipt_code": "SYT-000000-001", "calls": [answered, failed, held, ringing, planned]}


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


def rule_urls(app, ids: dict) -> list[str]:
    """Every GET rule of the app with the demo's value for each argument; the call page once per call state."""
    from flask import url_for

    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            missing = set(rule.arguments) - set(ids)
            assert not missing, f"{rule.rule}: give a demo value for {sorted(missing)} in seed() to audit the page"
            args = {name: ids[name] for name in rule.arguments}
            urls.append(url_for(rule.endpoint, **args))
            if rule.endpoint in BY_ID:
                name, values = BY_ID[rule.endpoint], ids["calls"]
                urls.extend(url_for(rule.endpoint, **{**args, name: value}) for value in values)
    return sorted(set(urls))


class Auditor:
    """Audits pages in one browser context (one role, one language) and collects what axe finds."""

    def __init__(self, app, live, context, role: str, lang: str, findings: list):
        self.live, self.context, self.role, self.lang = live, context, role, lang
        self.page = context.new_page()
        self.findings = findings
        self.adapter = app.url_map.bind("127.0.0.1")
        self.shapes: set = set()
        self.audited: list[tuple[str, str | None]] = []  # (path, endpoint) of each page audited, in order
        self.forms: dict[str, tuple[str, int]] = {}  # a form's route → (a page showing it, its index there)

    def endpoint(self, path: str) -> str | None:
        try:
            return self.adapter.match(urlsplit(path).path, method="GET")[0]
        except Exception:  # no such route (a 404 page), or one that answers POST only
            return None

    def shape(self, path: str) -> str:
        """One page per route: a query's filters change rows, not markup. A call's page differs by the call's
        state, so each call seeded counts apart."""
        endpoint = self.endpoint(path)
        return path if endpoint in BY_ID or endpoint is None else endpoint

    def visit(self, path: str) -> bool:
        """Audit the page at path unless one of its shape was; False when it is no page of this role."""
        if self.shape(path) in self.shapes:
            return False
        self.shapes.add(self.shape(path))
        try:
            answer = self.page.goto(self.live.url + path)
        except playwright.Error as exc:
            if "Download is starting" in str(exc):
                return False  # a file (export, PDF)
            raise
        landed = urlsplit(self.page.url).path
        if not answer.headers.get("content-type", "").startswith("text/html"):
            return False  # JSON, a stylesheet
        if landed == "/login" and urlsplit(path).path != "/login":
            return False  # not this role's page
        if answer.status >= 400:  # an error page: one of each status is enough
            if answer.status in self.shapes:
                return False
            self.shapes.add(answer.status)
        elif landed != urlsplit(path).path:
            if self.shape(landed) in self.shapes:
                return False  # an alias of a page already audited
            self.shapes.add(self.shape(landed))
        self.audit(path)
        self.audited.append((path, self.endpoint(landed)))
        for form in self.page.eval_on_selector_all("form[method=post]", FORMS):
            route = self.endpoint(form["action"]) or form["action"]
            if form["fields"] and route not in self.forms:
                self.forms[route] = (path, form["i"])
        return True

    def audit(self, label: str, page=None) -> None:
        page = page or self.page
        for v in page.evaluate(RUN_AXE, WCAG_TAGS):
            if v["id"] == "meta-refresh" and AUTO_UPDATING.search(label):
                continue
            self.findings.append(f"{self.role} [{self.lang}] {label}: {v['id']} ({v['impact']}) {v['help']}\n"
                                 + "\n".join(f"      {n}" for n in v["nodes"][:6]))

    def links(self) -> list[str]:
        found = []
        for href in self.page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            parts = urlsplit(href)
            if href.startswith(self.live.url + "/"):
                found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        return found

    def crawl(self, start: str, seeds: list[str]) -> None:
        """Breadth first from the start page, then the app's rules: every shape this role reaches, once."""
        queue, queued = [start, *seeds], {start, *seeds}
        while queue:
            path = queue.pop(0)
            if self.visit(path):
                fresh = [link for link in self.links() if link not in queued]
                queue.extend(fresh)
                queued.update(fresh)

    def narrow(self) -> None:
        """The main pages again at 320 px wide."""
        page = self.context.new_page()
        page.set_viewport_size(NARROW_VIEWPORT)
        done = set()
        for path, endpoint in self.audited:
            if endpoint in NARROW and endpoint not in done:
                done.add(endpoint)
                page.goto(self.live.url + path)
                self.audit(f"{path} (320 px)", page)
        page.close()

    def empty_forms(self) -> None:
        """Each form that takes input (one per route it posts to), submitted empty: its error state."""
        for route, (path, index) in self.forms.items():
            self.page.goto(self.live.url + path)
            with self.page.expect_navigation():
                self.page.evaluate(SUBMIT_EMPTY, index)
            self.audit(f"{path} → {route} submitted empty")


def sign_in(page, live, email, password):
    page.goto(live.url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.inner_text("main")


def switch_to_english(page, live):
    page.goto(live.url + "/")
    page.get_by_role("button", name="English", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"


def test_every_page_of_every_role_meets_wcag_21_aa_in_both_languages(app, db, browser):
    ids = seed(db, app.extensions["settings"])
    seeds = rule_urls(app, ids) + ["/no-such-page"]
    findings: list[str] = []
    audited = 0
    source = axe_source()
    with LiveServer(app) as live:
        for role, start in START.items():
            context = browser.new_context(locale="vi-VN")
            context.set_default_timeout(TIMEOUT_MS)
            context.add_init_script(script=source)
            try:
                if role in ACCOUNTS:
                    sign_in(context.new_page(), live, *ACCOUNTS[role])
                for lang in ("vi", "en"):
                    if lang == "en":
                        switch_to_english(context.pages[0], live)
                    auditor = Auditor(app, live, context, role, lang, findings)
                    auditor.crawl(start, seeds)
                    if lang == "vi":  # the layout at 320 px does not depend on the language; keep the run short
                        auditor.narrow()
                    auditor.empty_forms()
                    audited += len(auditor.audited)
            finally:
                context.close()
    assert audited >= 2 * 40, f"only {audited} pages found: the crawl lost its way"
    assert not findings, f"{len(findings)} WCAG 2.1 A/AA violations:\n" + "\n".join(findings)


def test_the_audit_finds_a_violation_when_there_is_one(browser):
    """The harness itself: axe is loaded and reports an unlabelled field and a self-reloading page."""
    context = browser.new_context()
    context.add_init_script(script=axe_source())
    page = context.new_page()
    page.set_content('<!doctype html><html lang="vi"><head><title>t</title><meta http-equiv="refresh" content="5">'
                     '</head><body><main><input type="text"></main></body></html>')
    found = {v["id"] for v in page.evaluate(RUN_AXE, WCAG_TAGS)}
    context.close()
    assert {"label", "meta-refresh"} <= found, found


def test_automatic_updating_of_the_calls_list_is_off_until_the_reader_turns_it_on(inspector_client):
    html = inspector_client.get("/monitor/attempts?state=ended").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in html
    assert 'href="/monitor/attempts?state=ended">Tải lại</a>' in html  # a reload that keeps the filter
    assert 'class="auto-on">Bật tự động cập nhật (mỗi 15 giây)</a>' in html
    assert 'href="/monitor/attempts?state=ended&amp;auto=1"' in html
    html = inspector_client.get("/monitor/attempts?state=ended&auto=1").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="15">' in html
    assert "Tự động cập nhật mỗi 15 giây." in html  # said, with the way to stop it beside
    assert 'href="/monitor/attempts?state=ended" class="auto-off">Tắt tự động cập nhật</a>' in html


def test_automatic_updating_of_a_call_in_progress_is_off_until_asked_and_ends_with_the_call(db, units,
                                                                                           inspector_client):
    now = utcnow()
    pending = lifecycle.create_attempt(db, unit_id=units["SYT"], number="+842773851234", planned_at=now,
                                       band="office", purpose="manual", now=now)
    html = inspector_client.get(f"/monitor/attempts/{pending}").get_data(as_text=True)
    assert "Cuộc gọi chưa kết thúc." in html and 'http-equiv="refresh"' not in html
    assert f'href="/monitor/attempts/{pending}">Tải lại</a>' in html
    html = inspector_client.get(f"/monitor/attempts/{pending}?auto=1").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="5">' in html and "Tắt tự động cập nhật" in html
    db.execute("UPDATE attempts SET state = 'ended', state_rank = 6, outcome = 'answered' WHERE id = ?", [pending])
    html = inspector_client.get(f"/monitor/attempts/{pending}?auto=1").get_data(as_text=True)
    assert "Cuộc gọi chưa kết thúc." not in html and 'http-equiv="refresh"' not in html  # nothing left to wait for
