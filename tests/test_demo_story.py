"""The demo tells the whole story in minutes: calls, retests, confirmations, alert e-mails in the local mail
catcher (shown on the inspectors' demo page), a dispute by the agency editor and calls held for review.

The last test starts the real system exactly as a new user does (`scripts/start.sh`, in a temporary folder, on
free ports, with FLASK_DEMO_TIME_SCALE so that it takes two minutes instead of ten) and checks every part of the
story in the database and on its page.
"""
import http.cookiejar
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from monitor.alerts import smtp_sender
from monitor.mailcatcher import MailCatcher, MailCatcherError, read_messages
from monitor.scheduling import demo as demo_story
from monitor.scheduling.scheduler import effective_settings, make_sink
from monitor.settings import Settings
from registry import demo
from registry.demo import load_demo

from .conftest import change_settings, csrf_from, login

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 3, 3, 0, tzinfo=timezone.utc)  # a Tuesday, 10:00 in Đồng Tháp

pytestmark = pytest.mark.usefixtures("quick_password_hashing")  # see conftest.py


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------------------ the mail catcher


def test_an_alert_sent_over_smtp_lands_in_the_catcher_folder_and_reads_back(tmp_path):
    catcher = MailCatcher("127.0.0.1", 0, tmp_path / "mail")
    thread = threading.Thread(target=catcher.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        settings = Settings(smtp_host="127.0.0.1", smtp_port=catcher.server_address[1])
        message = EmailMessage()
        message["From"], message["To"] = "duongdaynong@localhost", "thanhtra@demo.dongthap.gov.vn"
        message["Subject"] = "[Đường dây nóng] Sở Y tế: 3 lần gọi kiểm tra liên tiếp không đạt"
        message.set_content("Kính gửi: Thủ trưởng – Sở Y tế\n.\n..một dòng bắt đầu bằng dấu chấm")
        smtp_sender(settings)(message)
    finally:
        catcher.shutdown()
        catcher.server_close()
    [caught] = read_messages(tmp_path / "mail")
    assert caught["subject"] == "[Đường dây nóng] Sở Y tế: 3 lần gọi kiểm tra liên tiếp không đạt"
    assert caught["to"] == "thanhtra@demo.dongthap.gov.vn"
    assert caught["body"].splitlines() == ["Kính gửi: Thủ trưởng – Sở Y tế", ".", "..một dòng bắt đầu bằng dấu chấm"]
    assert not list((tmp_path / "mail").glob("*.part"))


def test_the_catcher_listens_on_this_machine_only(tmp_path, app):
    with app.app_context(), pytest.raises(MailCatcherError) as refused:
        MailCatcher("0.0.0.0", 0, tmp_path)
    assert "127.0.0.1" in refused.value.message


def test_the_catcher_folder_is_beside_the_database_unless_set(tmp_path):
    assert Settings(database=str(tmp_path / "h.db")).mail_catcher_folder == tmp_path / "demo-mail"
    assert Settings(mail_catcher_dir=str(tmp_path / "m")).mail_catcher_folder == tmp_path / "m"


# ------------------------------------------------------------------------------------------- the demo's pace


def test_demo_mode_compresses_follow_ups_and_alert_checks_by_the_time_scale():
    base = Settings(demo_mode=True)
    demo_settings = effective_settings(base)
    assert (demo_settings.retest_delay_minutes, demo_settings.alert_check_minutes, demo_settings.min_gap_minutes) == (1, 1, 0)
    faster = effective_settings(Settings(demo_mode=True, demo_time_scale=5))
    assert faster.retest_delay_minutes == pytest.approx(0.2) and faster.alert_check_minutes == pytest.approx(0.2)
    assert faster.simulator_speed == 25
    assert effective_settings(Settings(demo_mode=True, call_provider="twilio")).retest_delay_minutes == 60


def test_the_demo_plans_three_rounds_of_tests_per_unit_minutes_apart(db):
    load_demo(db, now=NOW)
    created = demo_story.seed_rounds(db, Settings(demo_mode=True), now=NOW, rng=random.Random(1))
    current = db.execute("SELECT count(*) FROM units WHERE valid_to IS NULL OR valid_to >= '2026-03-03'").fetchone()[0]
    assert created == 3 * current
    starts = {}
    for key, planned in db.execute("SELECT plan_key, planned_at FROM attempts"):
        starts.setdefault(key.split(":")[0], []).append(planned)
    assert sorted(starts) == ["demo", "demo2", "demo3"]
    assert max(starts["demo"]) < min(starts["demo2"]) and max(starts["demo2"]) < min(starts["demo3"])
    assert demo_story.seed_rounds(db, Settings(demo_mode=True), now=NOW, rng=random.Random(2)) == 0  # once


def test_the_story_seeds_held_calls_and_the_editors_dispute_once(app, db):
    load_demo(db, now=NOW)
    settings = effective_settings(Settings.load({}, {**app.config, "DEMO_MODE": True}))
    with app.app_context():
        placed = demo_story.seed_story(db, settings, now=NOW, sink=make_sink(settings), owner="test")
        again = demo_story.seed_story(db, settings, now=NOW, sink=make_sink(settings), owner="test")
    assert (placed, again) == (3, 0)
    held = db.execute("SELECT count(*) FROM attempts WHERE state = 'ended' AND outcome_certain = 0").fetchone()[0]
    assert held == 2
    disputes = db.execute_returning_dicts(
        "SELECT d.status, u.code, us.email, a.outcome FROM disputes d JOIN units u ON u.id = d.unit_id "
        "JOIN users us ON us.id = d.opened_by JOIN attempts a ON a.id = d.attempt_id")
    assert disputes == [{"status": "open", "code": demo.EDITOR_UNIT, "email": demo.EDITOR[0], "outcome": "no_answer"}]
    retest = db.execute("SELECT count(*) FROM attempts WHERE purpose = 'retest' AND state = 'planned'").fetchone()[0]
    assert retest == 1  # the missed call is retested (live, a minute later)


# --------------------------------------------------------------------------------------------- the demo page


def test_the_demo_mailbox_is_for_inspectors_in_demo_mode_only(app, client, db, tmp_path):
    load_demo(db)
    store = tmp_path / "caught"
    store.mkdir()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "duongdaynong@localhost", demo.INSPECTOR[0], "Thư cảnh báo"
    message.set_content("Nội dung thư")
    (store / "20260303T030000000000-1-1.eml").write_bytes(message.as_bytes())
    change_settings(app, MAIL_CATCHER_DIR=str(store), DEMO_MODE=False)
    login(client, *demo.INSPECTOR[:2])
    assert client.get("/demo/mail").status_code == 404
    assert "/demo/mail" not in client.get("/monitor/attempts").get_data(as_text=True)
    change_settings(app, DEMO_MODE=True)
    page = client.get("/demo/mail")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Thư cảnh báo" in html and "Nội dung thư" in html
    assert 'href="/demo/mail"' in client.get("/monitor/attempts").get_data(as_text=True)
    editor = app.test_client()
    login(editor, *demo.EDITOR[:2])
    assert editor.get("/demo/mail").status_code in (302, 403)


# ------------------------------------------------------------------------------- the real system, end to end

STORY_SECONDS = 150


class Browser:
    """Just enough of a browser for the signed-in pages: a cookie jar, forms with their CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def login(self, email: str, password: str) -> None:
        _, page = self.get("/login")
        data = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": csrf_from(page)}).encode()
        with self.opener.open(self.base + "/login", data=data, timeout=20) as response:
            assert response.status == 200 and "/login" not in response.url


def _story(path: Path) -> dict:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "calls": one("SELECT count(*) FROM attempts WHERE purpose = 'scheduled' AND state = 'ended'"),
            "retests": one("SELECT count(*) FROM attempts WHERE purpose = 'retest' AND state = 'ended'"),
            "confirmed": one("SELECT count(*) FROM attempts WHERE confirmed = 1"),
            # (the 1022 survey's alerts are sent too, when a simulated citizen reports a problem: not these)
            "alerts": one("SELECT count(*) FROM alerts WHERE status = 'sent' AND kind = 'confirmed_failures'"),
            "disputes": one("SELECT count(*) FROM disputes"),
            "held": one("SELECT count(*) FROM attempts WHERE state = 'ended' AND outcome_certain = 0"),
        }


@pytest.mark.slow
def test_start_sh_shows_the_whole_story_within_minutes(tmp_path):
    port, mail_port = free_port(), free_port()
    database = tmp_path / "hotline.db"
    env = {**os.environ, "PORT": str(port), "MAIL_PORT": str(mail_port), "FLASK_DATABASE": str(database),
           "FLASK_SECRET_KEY": "demo-story-test", "FLASK_DEMO_TIME_SCALE": "5",
           "FLASK_PUBLIC_BASE_URL": f"http://localhost:{port}"}
    for name in ("FLASK_SMTP_HOST", "FLASK_SMTP_PORT", "FLASK_INSPECTOR_EMAILS", "FLASK_DEMO_MODE",
                 "FLASK_MAIL_CATCHER_DIR", "FLASK_CALL_PROVIDER", "FLASK_TESTS_PER_WEEK"):
        env.pop(name, None)
    log = (tmp_path / "start.log").open("w")
    process = subprocess.Popen([str(ROOT / "scripts" / "start.sh")], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    story = {}
    try:
        deadline = time.monotonic() + STORY_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail("scripts/start.sh stopped:\n" + (tmp_path / "start.log").read_text()[-3000:])
            if database.exists():
                try:
                    story = _story(database)
                except sqlite3.OperationalError:
                    story = {}  # created, not yet migrated
                if story and all(story.values()):
                    break
            time.sleep(2)
        assert story and all(story.values()), story
        caught = read_messages(tmp_path / "demo-mail")
        assert caught and all(m["to"] == demo.INSPECTOR[0] for m in caught)
        # (the automated survey calls may alert first, when a simulated citizen reports a problem)
        failing = next((m for m in caught if "liên tiếp không đạt" in m["subject"]), None)
        assert failing is not None, [m["subject"] for m in caught]
        assert f"http://localhost:{port}/reports/my" in failing["body"]  # the public base URL, not the bind address
        banner = (tmp_path / "start.log").read_text()
        assert f"http://localhost:{port}/" in banner and demo.INSPECTOR[1] in banner and demo.EDITOR[1] in banner

        inspector = Browser(f"http://127.0.0.1:{port}")
        inspector.login(*demo.INSPECTOR[:2])
        status, attempts_page = inspector.get("/monitor/attempts")
        assert status == 200 and 'href="/demo/mail"' in attempts_page
        status, mailbox = inspector.get("/demo/mail")
        assert status == 200 and failing["subject"] in mailbox
        status, review = inspector.get("/monitor/review")
        assert status == 200 and re.search(r'data-review-total="[1-9]', review)
        status, disputes = inspector.get("/reports/disputes")
        assert status == 200 and "mất điện" in disputes
        status, alerts = inspector.get("/reports/alerts")
        assert status == 200 and failing["subject"] in alerts
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # start.sh's trap stops the web app, scheduler and catcher
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def test_cli_links_use_the_public_base_url(app, runner, db):
    load_demo(db)
    change_settings(app, PUBLIC_BASE_URL="https://duongdaynong.dongthap.gov.vn/")
    result = runner.invoke(args=["users", "invite", "vanthu@syt.dongthap.gov.vn", "--unit", demo.EDITOR_UNIT])
    assert result.exit_code == 0, result.output
    assert "https://duongdaynong.dongthap.gov.vn/invite" in result.output and "127.0.0.1" not in result.output
