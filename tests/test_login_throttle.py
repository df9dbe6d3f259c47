"""Login throttling behind one address (a TLS proxy, an office NAT): per account, a delay that grows instead of
a lockout, atomic under concurrent guesses, and client addresses believed only from configured proxies."""
import threading
from datetime import datetime, timedelta, timezone

import pytest

from monitor.app import create_app, init_db
from monitor.settings import Settings, SettingsError
from registry import accounts, login_throttle
from registry.db import connect
from registry.errors import RegistryError
from registry.web.proxies import client_address

from .conftest import csrf_from, login

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
OFFICE = "203.0.113.10"  # the one address a whole office (or the TLS proxy) signs in from


@pytest.fixture(autouse=True)
def quick_unknown_account_hashing(monkeypatch):
    """Unknown accounts are checked against a dummy scrypt hash (timing); one pbkdf2 round here keeps the
    hundreds of failed logins below quick."""
    from werkzeug.security import generate_password_hash

    monkeypatch.setattr(accounts, "_DUMMY_HASH", generate_password_hash("x", method="pbkdf2:sha256:1"))


def attempt(db, email, password, client=OFFICE, now=NOW) -> str:
    """'ok', 'bad_login' or 'throttled'."""
    try:
        accounts.authenticate(db, email, password, client=client, now=now)
        return "ok"
    except RegistryError as exc:
        return exc.code


def wait_of(db, email, client, now) -> timedelta:
    """How long the next try of this account from this address must wait (0 when it may go now)."""
    waits = [login_throttle._wait(db, rule, now) for rule in login_throttle.rules(email, client)]
    return max(waits)


def test_the_delay_starts_after_five_failures_doubles_and_is_capped():
    assert [login_throttle.delay(n, 5).total_seconds() for n in range(4, 13)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert login_throttle.delay(10**9, 5) == login_throttle.MAX_DELAY


def test_forty_concurrent_guesses_get_only_the_allowed_tries(app, inspector):
    # Each guess on its own connection to the real SQLite file, all released at once.
    path = app.config["DATABASE"]
    results, barrier = [], threading.Barrier(40)

    def guess(k):
        db = connect(path)
        try:
            barrier.wait()
            results.append(attempt(db, inspector["email"], f"doan-sai-{k}", client=f"10.0.{k}.1"))
        finally:
            db.conn.close()

    threads = [threading.Thread(target=guess, args=(k,)) for k in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 40
    assert results.count("bad_login") == login_throttle.ACCOUNT_FREE_TRIES
    assert results.count("throttled") == 40 - login_throttle.ACCOUNT_FREE_TRIES


def test_an_office_behind_one_address_is_not_locked_out_by_anyones_failures(db, inspector):
    # Thirty colleagues mistype their passwords, some of them five times: the inspector still signs in.
    for k in range(30):
        for _ in range(5 if k % 3 == 0 else 1):
            assert attempt(db, f"dong-nghiep-{k}@test.vn", "go-nham-mat-khau") == "bad_login"
    assert attempt(db, inspector["email"], inspector["password"]) == "ok"


def test_spraying_many_accounts_from_one_address_is_slowed_but_never_held(db, inspector):
    for k in range(login_throttle.ADDRESS_FREE_TRIES):
        assert attempt(db, f"nan-nhan-{k}@test.vn", "mat-khau-pho-bien") == "bad_login"
    # The address now waits (a brake on spraying), even for the right password …
    assert attempt(db, inspector["email"], inspector["password"]) == "throttled"
    assert wait_of(db, inspector["email"], OFFICE, NOW) == timedelta(seconds=1)
    # … but never more than the cap, and the right password then works from the same address.
    later = NOW + login_throttle.MAX_DELAY
    assert attempt(db, inspector["email"], inspector["password"], now=later) == "ok"
    # Another address is not slowed at all.
    assert attempt(db, "nan-nhan-1@test.vn", "mat-khau-pho-bien", client="198.51.100.3") == "bad_login"


def test_an_attacker_guessing_the_inspectors_password_cannot_hold_the_account(db, inspector):
    attacker, now, waits = "198.51.100.66", NOW, []
    for _ in range(60):  # an hour of guessing, each guess the moment the throttle allows it
        wait = wait_of(db, inspector["email"], attacker, now)
        waits.append(wait)
        now += wait
        assert attempt(db, inspector["email"], "doan-mo-mat-khau", client=attacker, now=now) == "bad_login"
    assert max(waits) == login_throttle.MAX_DELAY
    # Right after a guess the inspector must wait (that is the throttle) …
    assert attempt(db, inspector["email"], inspector["password"], now=now) == "throttled"
    # … at most the cap; then the right password always works, and the count starts again.
    assert attempt(db, inspector["email"], inspector["password"], now=now + login_throttle.MAX_DELAY) == "ok"
    assert wait_of(db, inspector["email"], attacker, now + login_throttle.MAX_DELAY) == timedelta(0)


def test_the_throttled_page_says_how_many_seconds_to_wait(client, inspector, monkeypatch):
    monkeypatch.setattr("registry.accounts.utcnow", lambda: NOW)
    for _ in range(login_throttle.ACCOUNT_FREE_TRIES):
        assert login(client, inspector["email"], "sai-mat-khau").status_code == 401
    response = login(client, inspector["email"], inspector["password"])
    assert response.status_code == 429
    assert "thử lại sau 1 giây" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


# ------------------------------------------------------------------------------ the client's address


def app_with_proxies(tmp_path, trusted):
    config = {"TESTING": True, "DATABASE": str(tmp_path / "p.db"), "SECRET_KEY": "k", "SESSION_COOKIE_SECURE": False}
    if trusted is not None:
        config["TRUSTED_PROXIES"] = trusted
    app = create_app(config)
    init_db(app)
    return app


def failed_from(app, remote, forwarded) -> list[str]:
    """The address keys a failed login from REMOTE_ADDR `remote` with this X-Forwarded-For was counted under."""
    client = app.test_client()
    html = client.get("/login", environ_base={"REMOTE_ADDR": remote}).get_data(as_text=True)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = client.post("/login", data={"email": "ai-do@test.vn", "password": "sai-mat-khau", "csrf_token": csrf_from(html)},
                           headers=headers, environ_base={"REMOTE_ADDR": remote})
    assert response.status_code == 401
    db = connect(app.config["DATABASE"])
    try:
        keys = [k for (k,) in db.execute("SELECT key FROM login_failures WHERE key LIKE 'client:%' ORDER BY id")]
        db.execute("DELETE FROM login_failures")
    finally:
        db.conn.close()
    return keys


def test_without_trusted_proxies_a_forged_forwarded_for_is_ignored(tmp_path):
    app = app_with_proxies(tmp_path, None)
    assert failed_from(app, "192.0.2.7", "10.9.9.9") == ["client:192.0.2.7"]


def test_behind_one_trusted_proxy_the_clients_address_is_counted(tmp_path):
    app = app_with_proxies(tmp_path, "1")
    # The proxy appends the address it saw; whatever the client wrote before that is not believed.
    assert failed_from(app, "127.0.0.1", "10.9.9.9, 198.51.100.20") == ["client:198.51.100.20"]
    assert failed_from(app, "127.0.0.1", None) == ["client:127.0.0.1"]


def test_proxies_named_by_address_are_the_only_ones_believed(tmp_path):
    app = app_with_proxies(tmp_path, "10.0.0.0/8, 192.0.2.1")
    assert failed_from(app, "192.0.2.1", "6.6.6.6, 198.51.100.20, 10.1.2.3") == ["client:198.51.100.20"]
    assert failed_from(app, "192.0.2.99", "198.51.100.20") == ["client:192.0.2.99"]  # not a proxy of ours


def test_behind_a_trusted_proxy_one_clients_failures_do_not_slow_another(tmp_path):
    app = app_with_proxies(tmp_path, "1")
    db = connect(app.config["DATABASE"])
    accounts.create_inspector(db, "tt@test.vn", "mat-khau-thanh-tra")
    db.conn.close()
    for _ in range(3):
        assert failed_from(app, "127.0.0.1", "198.51.100.20")  # only the proxy's view is counted
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": "tt@test.vn", "password": "mat-khau-thanh-tra",
                                           "csrf_token": csrf_from(html)},
                           headers={"X-Forwarded-For": "198.51.100.21"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 302


def test_client_address_walks_back_over_trusted_proxies_only():
    from ipaddress import ip_network

    proxies = (ip_network("10.0.0.0/8"),)
    assert client_address("10.0.0.1", "1.1.1.1, 10.0.0.2", proxies) == "1.1.1.1"
    assert client_address("10.0.0.1", "", proxies) == "10.0.0.1"
    assert client_address("10.0.0.1", "khong-phai-ip, 10.0.0.2", proxies) == "khong-phai-ip"
    assert client_address("8.8.8.8", "1.1.1.1", proxies) == "8.8.8.8"


@pytest.mark.parametrize("text", ["abc", "10.0.0.1, xyz", "-1", "1.5"])
def test_a_wrong_trusted_proxies_setting_stops_start_up_naming_it(text):
    with pytest.raises(SettingsError) as exc:
        Settings.load({"FLASK_TRUSTED_PROXIES": text})
    assert "FLASK_TRUSTED_PROXIES" in exc.value.message


def test_trusted_proxies_are_read_as_hops_or_networks():
    assert Settings().trusted_proxy_hops() == 0
    assert Settings.load({"FLASK_TRUSTED_PROXIES": "2"}).trusted_proxy_hops() == 2
    assert [str(n) for n in Settings.load({"FLASK_TRUSTED_PROXIES": "10.0.0.0/8,::1"}).trusted_proxy_hops()] == \
        ["10.0.0.0/8", "::1/128"]
