"""The skeleton: migrations, schema constraints, login and throttling, security headers."""
import sqlite3

import pytest

from monitor.app import MIGRATION_SETS, init_db
from registry import accounts, login_throttle
from registry.db import connect, schema_version
from registry.errors import NumberTaken, RegistryError
from registry.hotlines import set_hotline, set_shared
from registry.units import create_unit

from .conftest import login


def test_init_db_twice_applies_nothing_the_second_time(app):
    assert init_db(app) == []
    db = connect(app.config["DATABASE"])
    assert schema_version(db, "registry") == len(MIGRATION_SETS[0][1])
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_init_db_command_is_safe_to_run_twice(runner):
    first = runner.invoke(args=["init-db"])
    second = runner.invoke(args=["init-db"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "mới nhất" in second.output


def test_schema_refuses_a_second_hotline_row_for_one_unit(db, units):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO hotlines (unit_id, number, kind, display, updated_at) VALUES (?, '+842773999999', 'landline', 'x', 'now')",
            [units["SYT"]],
        )


def test_schema_refuses_one_number_for_two_units_unless_both_marked_shared(db, units, inspector):
    with pytest.raises(NumberTaken) as exc:
        set_hotline(db, units["XMA"], "0277 3851 234", actor=None)
    assert "Sở Y tế" in exc.value.message
    # nothing changed for XMA
    assert db.execute("SELECT display FROM hotlines WHERE unit_id = ?", [units["XMA"]]).fetchone()[0] == "0912 345 678"
    # marking only the holder shared is not enough: the newcomer must be shared too, so the trigger still refuses
    set_shared(db, units["SYT"], True, "Tổng đài chung", actor=inspector)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "UPDATE hotlines SET number = '+842773851234' WHERE unit_id = ?", [units["XMA"]]
        )
    db.execute("UPDATE hotlines SET shared = 1 WHERE unit_id = ?", [units["XMA"]])
    db.execute("UPDATE hotlines SET number = '+842773851234' WHERE unit_id = ?", [units["XMA"]])
    assert db.execute("SELECT count(*) FROM hotlines WHERE number = '+842773851234'").fetchone()[0] == 2


def test_history_is_append_only(db, units):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM changes")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE changes SET reason = 'x'")


def test_agency_account_must_belong_to_a_unit(db):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO users (email, role, created_at) VALUES ('a@b.vn', 'agency', 'now')")


@pytest.mark.real_password_hashing
def test_passwords_are_stored_hashed(db, inspector):
    stored = db.execute("SELECT password_hash FROM users WHERE id = ?", [inspector["id"]]).fetchone()[0]
    assert inspector["password"] not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_login_is_throttled_after_five_failures_even_with_the_right_password(client, inspector, monkeypatch):
    now = accounts.utcnow()
    monkeypatch.setattr("registry.accounts.utcnow", lambda: now)  # the sixth try comes within the delay
    for _ in range(login_throttle.ACCOUNT_FREE_TRIES):
        assert login(client, inspector["email"], "wrong-password").status_code == 401
    response = login(client, inspector["email"], inspector["password"])
    assert response.status_code == 429
    assert "thử lại sau" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, inspector):
    response = client.post("/login", data={"email": inspector["email"], "password": inspector["password"]})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_httponly_and_samesite(client, inspector):
    response = login(client, inspector["email"], inspector["password"])
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_default_session_cookie_is_secure(tmp_path, monkeypatch):
    from monitor.app import create_app

    monkeypatch.delenv("FLASK_SESSION_COOKIE_SECURE", raising=False)
    app = create_app({"DATABASE": str(tmp_path / "x.db"), "SECRET_KEY": "k"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_invite_token_works_once(db, units):
    token = accounts.invite_editor(db, "a@syt.vn", units["SYT"])
    accounts.accept_invite(db, token, "mot-mat-khau-dai")
    with pytest.raises(RegistryError):
        accounts.accept_invite(db, token, "mat-khau-khac-dai")


def test_create_unit_refuses_bad_code_and_unknown_group(db):
    with pytest.raises(RegistryError) as exc:
        create_unit(db, {"code": "bad code!", "name": "X"})
    assert exc.value.field == "code"
    with pytest.raises(RegistryError) as exc:
        create_unit(db, {"code": "OK", "name": "X", "group_code": "Z"})
    assert exc.value.field == "group_code"
    assert db.execute("SELECT count(*) FROM units").fetchone()[0] == 0
