"""Sessions and redirects: logout ends the session on the server, `next` stays on this site, signed-in pages
are not cached, and invitation tokens stay out of the address bar and the access log."""
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry import accounts, sessions
from registry.clock import utcnow
from registry.web.access_log import RedactingFilter, redact
from registry.web.auth import safe_next

from .conftest import EDITOR_PASSWORD, csrf_from, login

ROOT = Path(__file__).resolve().parent.parent
HOST = "localhost"  # the test client's host


# ----------------------------------------------------------------------------------- server-side sessions


def test_a_copied_cookie_stops_working_after_logout(app, inspector):
    browser, thief = app.test_client(), app.test_client()
    assert login(browser, inspector["email"], inspector["password"]).status_code == 302
    cookie = browser.get_cookie("session")
    thief.set_cookie("session", cookie.value)
    assert thief.get("/units").status_code == 200  # the copy works while the session is open …
    html = browser.get("/units").get_data(as_text=True)
    assert browser.post("/logout", data={"csrf_token": csrf_from(html)}).status_code == 302
    response = thief.get("/units")  # … and not after logout
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_new_password_ends_every_session_of_the_account(db, units):
    token = accounts.invite_editor(db, "bt@syt.test.vn", units["SYT"])
    user_id = db.execute("SELECT id FROM users WHERE email = 'bt@syt.test.vn'").fetchone()[0]
    old = sessions.start(db, user_id, utcnow(), timedelta(hours=8))
    assert sessions.user_for(db, old, utcnow())["id"] == user_id
    accounts.accept_invite(db, token, EDITOR_PASSWORD)
    assert sessions.user_for(db, old, utcnow()) is None


def test_an_expired_or_unknown_session_signs_nobody_in(db, inspector):
    now = utcnow()
    token = sessions.start(db, inspector["id"], now, timedelta(hours=8))
    assert sessions.user_for(db, token, now + timedelta(hours=7, minutes=59))["id"] == inspector["id"]
    assert sessions.user_for(db, token, now + timedelta(hours=8, seconds=1)) is None
    assert sessions.user_for(db, "khong-co", now) is None
    assert sessions.user_for(db, {"not": "a string"}, now) is None


def test_a_cookie_naming_a_user_id_is_not_a_session(client, inspector):
    # The old cookie format (a signed user id) would have stayed valid forever after logout.
    with client.session_transaction() as session:
        session["user_id"] = inspector["id"]
    assert client.get("/units").status_code == 302


def test_a_closed_account_is_signed_out_at_its_next_request(app, db, inspector):
    client = app.test_client()
    assert login(client, inspector["email"], inspector["password"]).status_code == 302
    db.execute("UPDATE users SET active = 0 WHERE id = ?", [inspector["id"]])
    assert client.get("/units").status_code == 302


# ------------------------------------------------------------------------------------------ next=

ATTACKS = ["//evil.example", "/\\evil.example", "\\\\evil.example", "/%09/evil.example", "/\t/evil.example",
           "/%0a/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/%0d%0aSet-Cookie:%20x=1",
           "/\r\nSet-Cookie: x=1", "https://evil.example/", "http:evil.example", "javascript:alert(1)",
           "/%2F/evil.example", "/%5Cevil.example", "/%252F%252Fevil.example", "%2F%2Fevil.example",
           " //evil.example", "/\x00/evil.example", "/\u2028/evil.example", "/\u200b/evil.example",
           "/%E2%80%A8/evil.example", "evil.example", "", "/" + "a" * 3000]


def lands_here(target: str) -> bool:
    """Where a browser goes for Location: target, read as browsers do (WHATWG: tabs and line breaks dropped,
    leading and trailing spaces and controls stripped, backslash read as slash)."""
    cleaned = "".join(ch for ch in target if ch not in "\t\n\r").strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b"
                                                                        "\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15"
                                                                        "\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
    url = urljoin(f"https://{HOST}/login", cleaned.replace("\\", "/"))
    return urlsplit(url).netloc == HOST and urlsplit(url).scheme == "https"


@pytest.mark.parametrize("target", ATTACKS)
def test_next_refuses_every_off_site_shape(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/units", "/units/SYT?tab=lich-su", "/?q=s%E1%BB%9F+y+t%E1%BA%BF&group=A",
                                    "/reports/2026-03", "/units?q=Sở Y tế"])
def test_next_keeps_local_paths(target):
    assert safe_next(target) == target


PIECES = list("/\\:.@?#%abe09ADF ") + ["\t", "\n", "\r", "\x00", "%2F", "%5C", "%09", "%0a", "%0d", "%25", "\u3000",
                                          "\u2028", "\uff0f", "http:", "//"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join).flatmap(lambda t: st.sampled_from([t, "/" + t])))
def test_next_accepted_by_the_check_always_lands_on_this_site(target):
    accepted = safe_next(target)
    if accepted is not None:
        # Here, and wherever a later hop decodes it once or twice more.
        assert lands_here(accepted) and lands_here(unquote(accepted)) and lands_here(unquote(unquote(accepted)))


@pytest.mark.parametrize("target", ATTACKS + ["/units"])
def test_login_with_a_hostile_next_stays_on_this_site_and_never_fails(app, inspector, target):
    client = app.test_client()
    html = client.get("/login?next=" + quote(target, safe="")).get_data(as_text=True)
    response = client.post("/login?next=" + quote(target, safe=""),
                           data={"email": inspector["email"], "password": inspector["password"],
                                 "csrf_token": csrf_from(html)})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert lands_here(location), location
    assert location == "/units"  # the hostile ones fall back to the inspector's home page


@pytest.mark.parametrize("target", ["/\r\n/evil.example", "//evil.example", "/%09/evil.example"])
def test_changing_language_with_a_hostile_next_stays_on_this_site(client, target):
    html = client.get("/").get_data(as_text=True)
    response = client.post("/lang/en", data={"next": target, "csrf_token": csrf_from(html)})
    assert response.status_code == 302 and lands_here(response.headers["Location"])


# -------------------------------------------------------------------------------------------- caching


def test_signed_in_responses_and_the_login_page_are_not_stored(app, inspector):
    client = app.test_client()
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")  # the public directory may be cached
    assert login(client, inspector["email"], inspector["password"]).headers["Cache-Control"] == "no-store"
    for path in ("/", "/units", "/api/hotlines", "/khong-co-trang-nay"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path


# --------------------------------------------------------------------------------------------- invitations


def test_the_invitation_link_moves_its_token_into_the_session_and_off_the_url(app, db, units):
    token = accounts.invite_editor(db, "moi@syt.test.vn", units["SYT"])
    client = app.test_client()
    response = client.get(f"/invite/{token}")
    assert response.status_code == 302 and response.headers["Location"] == "/invite"
    page = client.get("/invite")
    assert page.status_code == 200 and token not in page.get_data(as_text=True)
    response = client.post("/invite", data={"password": EDITOR_PASSWORD,
                                            "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302 and token not in response.headers["Location"]
    assert client.get("/units/SYT").status_code == 200  # signed in as the unit's editor
    # The token worked once.
    other = app.test_client()
    other.get(f"/invite/{token}")
    html = other.get("/invite").get_data(as_text=True)
    assert other.post("/invite", data={"password": "mat-khau-khac-dai", "csrf_token": csrf_from(html)}).status_code == 400


def test_the_invite_page_without_a_link_explains_and_changes_nothing(client, db):
    html = client.get("/invite").get_data(as_text=True)
    response = client.post("/invite", data={"password": "mat-khau-moi-dai", "csrf_token": csrf_from(html)})
    assert response.status_code == 400
    assert "Lời mời không hợp lệ" in response.get_data(as_text=True)


def test_log_lines_hide_invitation_tokens():
    assert redact('127.0.0.1 - - "GET /invite/abcDEF_-123 HTTP/1.1" 302 -') == \
        '127.0.0.1 - - "GET /invite/… HTTP/1.1" 302 -'
    assert redact("/invite/abc?x=1") == "/invite/…?x=1"
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s', ("127.0.0.1",
                               "GET /invite/bi-mat HTTP/1.1", "302"), None)
    assert RedactingFilter().filter(record) and "bi-mat" not in record.getMessage()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_real_servers_access_log_has_no_invitation_token(app, db, units, tmp_path):
    """gunicorn run as scripts/start.sh runs it (its config file, access log on)."""
    token = accounts.invite_editor(db, "log@syt.test.vn", units["SYT"])
    port, log = _free_port(), tmp_path / "access.log"
    env = {**os.environ, "FLASK_DATABASE": app.config["DATABASE"], "FLASK_SECRET_KEY": "test-secret",
           "FLASK_SESSION_COOKIE_SECURE": "false"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py",
                                "--workers", "1", "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log),
                                "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/invite/{token}", timeout=10) as response:
            assert response.status == 200 and response.url.endswith("/invite")  # followed the redirect
        deadline = time.monotonic() + 10
        while log.read_text().count("/invite") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(10)
    text = log.read_text()
    assert '"GET /invite/… HTTP/1.1" 302' in text and '"GET /invite HTTP/1.1" 200' in text, text
    assert token not in text
