"""Shared fixtures: a fresh SQLite file per test, the app, its clients, signed-in accounts, and the Twilio double.

Smaller stand-ins (clocks, providers, sinks) live in tests/fakes.py."""
import re

import pytest

from monitor.app import create_app, init_db
from monitor.settings import Settings
from registry import accounts
from registry.db import connect, release_lock_files
from registry.hotlines import set_hotline
from registry.units import create_unit

from .twilio_double import TwilioDouble

INSPECTOR = ("thanhtra@test.vn", "mat-khau-thanh-tra")
EDITOR_PASSWORD = "mat-khau-bien-tap"


@pytest.fixture
def app(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "test.db"),
            "SECRET_KEY": "test-secret",
            "SESSION_COOKIE_SECURE": False,
            "PUBLIC_BASE_URL": "https://hotline.example.vn",
            "TWILIO_AUTH_TOKEN": "test-auth-token",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_FROM_NUMBER": "+15005550006",
        }
    )
    init_db(app)
    yield app
    # The test's database goes with its directory: its writers' lock file is closed, so that a whole run of
    # tests does not pile up a descriptor per test (the SIP stack refuses sockets past descriptor 1023).
    release_lock_files(str(tmp_path))


@pytest.fixture(autouse=True)
def quick_password_hashing(request, monkeypatch):
    """One pbkdf2 round instead of scrypt when accounts are made, in every test not marked `real_password_hashing`.

    Hashing is not what most tests test, and scrypt for each account and sign-in was a third of the suite's time.
    """
    if request.node.get_closest_marker("real_password_hashing"):
        return
    from werkzeug.security import generate_password_hash

    monkeypatch.setattr("registry.accounts.generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"))


@pytest.fixture
def twilio():
    """The Twilio-compatible API double, serving on a loopback port for the test."""
    with TwilioDouble() as double:
        yield double


@pytest.fixture
def db(app):
    database = connect(app.config["DATABASE"])
    yield database
    database.conn.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def change_settings(app, **values):
    """Change a built app's settings (upper-case names, as in create_app's test config), checked like at start."""
    settings = Settings.load({}, {**app.extensions["settings"].as_config(), **values})
    app.extensions["settings"] = settings
    app.config.update(settings.as_config())
    return settings


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, email, password):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_from(page)})


@pytest.fixture
def units(db):
    """Two units with hotlines: SYT (Sở Y tế, group A) and XMA (xã Mỹ An, group C)."""
    syt = create_unit(db, {"code": "SYT", "name": "Sở Y tế", "kind": "department", "group_code": "A",
                           "contact_email": "soyte@test.vn"})
    xma = create_unit(db, {"code": "XMA", "name": "UBND xã Mỹ An", "kind": "commune", "group_code": "C"})
    set_hotline(db, syt, "0277 3851 234", actor=None, reason="test")
    set_hotline(db, xma, "0912 345 678", actor=None, reason="test")
    return {"SYT": syt, "XMA": xma}


@pytest.fixture
def inspector(db):
    user_id = accounts.create_inspector(db, *INSPECTOR, name="Thanh tra")
    return {"id": user_id, "email": INSPECTOR[0], "password": INSPECTOR[1], "role": "inspector", "unit_id": None}


def make_editor(db, unit_id, email):
    token = accounts.invite_editor(db, email, unit_id)
    user = accounts.accept_invite(db, token, EDITOR_PASSWORD)
    return {"id": user["id"], "email": email, "password": EDITOR_PASSWORD, "role": "agency", "unit_id": unit_id}


@pytest.fixture
def editor(db, units):
    """The agency editor of SYT."""
    return make_editor(db, units["SYT"], "bientap@soyte.test.vn")


@pytest.fixture
def inspector_client(client, inspector):
    assert login(client, inspector["email"], inspector["password"]).status_code == 302
    return client


@pytest.fixture
def editor_client(client, editor):
    assert login(client, editor["email"], editor["password"]).status_code == 302
    return client
