"""Accounts: inspectors, agency editors and the 1022 switchboard's operators, hashed passwords, invitations and sign-in (throttled by
registry.login_throttle, kept as a server-side session by registry.sessions)."""
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext
from werkzeug.security import check_password_hash, generate_password_hash

from registry import login_throttle, sessions
from registry.clock import iso, utcnow
from registry.db import write_transaction
from registry.errors import RegistryError

ROLES = ("inspector", "agency", "operator")  # operator: calls sampled citizens back, belongs to no unit
MIN_PASSWORD = 10
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
INVITE_DAYS = 7


def _hash_token(token: str) -> str:
    # Invitation tokens are stored hashed so a copy of the database cannot be used to take over accounts.
    return hashlib.sha256(token.encode()).hexdigest()


def check_email(email: str) -> str:
    email = (email or "").strip()
    if not EMAIL_RE.match(email):
        raise RegistryError(gettext("Địa chỉ thư điện tử không hợp lệ: “%(email)s”.", email=email), field="email")
    return email


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise RegistryError(gettext("Mật khẩu phải có ít nhất %(min)s ký tự.", min=MIN_PASSWORD), field="password")


def find_user(db, user_id: int) -> dict | None:
    """The active account with this id, or None."""
    rows = db.execute_returning_dicts("SELECT * FROM users WHERE id = ? AND active = 1", [user_id])
    return rows[0] if rows else None


def create_inspector(db, email: str, password: str, name: str = "", now: datetime | None = None) -> int:
    """Create an inspector account (Văn phòng UBND) with a password."""
    email = check_email(email)
    check_password(password)
    _refuse_existing(db, email)
    return db.table("users").insert(
        {
            "email": email,
            "name": name.strip(),
            "role": "inspector",
            "unit_id": None,
            "password_hash": generate_password_hash(password),
            "created_at": iso(now or utcnow()),
        }
    ).last_pk


def invite_editor(db, email: str, unit_id: int, name: str = "", now: datetime | None = None) -> str:
    """Create an agency editor for one unit and return the one-time invitation token (shown once)."""
    email = check_email(email)
    _refuse_existing(db, email)
    now = now or utcnow()
    token = secrets.token_urlsafe(24)
    db.table("users").insert(
        {
            "email": email,
            "name": name.strip(),
            "role": "agency",
            "unit_id": unit_id,
            "password_hash": None,
            "invite_token_hash": _hash_token(token),
            "invite_expires_at": iso(now + timedelta(days=INVITE_DAYS)),
            "created_at": iso(now),
        }
    )
    return token


def create_operator(db, email: str, password: str, name: str = "", now: datetime | None = None) -> int:
    """Create an operator account (điện thoại viên of the 1022 switchboard) with a password: the demo, the CLI."""
    email = check_email(email)
    check_password(password)
    _refuse_existing(db, email)
    return db.table("users").insert(
        {"email": email, "name": name.strip(), "role": "operator", "unit_id": None,
         "password_hash": generate_password_hash(password), "created_at": iso(now or utcnow())}
    ).last_pk


def invite_operator(db, email: str, name: str = "", now: datetime | None = None) -> str:
    """Create an operator account that an inspector invites; returns the one-time invitation token (shown once)."""
    email = check_email(email)
    _refuse_existing(db, email)
    now = now or utcnow()
    token = secrets.token_urlsafe(24)
    db.table("users").insert(
        {"email": email, "name": name.strip(), "role": "operator", "unit_id": None, "password_hash": None,
         "invite_token_hash": _hash_token(token), "invite_expires_at": iso(now + timedelta(days=INVITE_DAYS)),
         "created_at": iso(now)}
    )
    return token


def accept_invite(db, token: str, password: str, now: datetime | None = None) -> dict:
    """Set the password of the account the invitation belongs to; the token then stops working."""
    now = now or utcnow()
    rows = db.execute_returning_dicts(
        "SELECT * FROM users WHERE invite_token_hash = ? AND active = 1", [_hash_token(token or "")]
    )
    if not rows or rows[0]["invite_expires_at"] < iso(now):
        raise RegistryError(gettext("Lời mời không hợp lệ hoặc đã hết hạn. Hãy đề nghị Văn phòng UBND gửi lời mời mới."))
    check_password(password)
    user = rows[0]
    password_hash = generate_password_hash(password)
    with write_transaction(db):
        db.execute(
            "UPDATE users SET password_hash = ?, invite_token_hash = NULL, invite_expires_at = NULL WHERE id = ?",
            [password_hash, user["id"]],
        )
        sessions.end_all(db, user["id"])  # a new password signs out whoever held the account before
    return user


def _refuse_existing(db, email: str) -> None:
    if db.execute("SELECT 1 FROM users WHERE email = ?", [email]).fetchone():
        raise RegistryError(gettext("Đã có tài khoản với địa chỉ %(email)s.", email=email), field="email")


def authenticate(db, email: str, password: str, client: str, now: datetime | None = None) -> dict:
    """Check a login: refused while the account (or, far more loosely, the address) must wait; a wrong
    password counts against both."""
    now = now or utcnow()
    email = (email or "").strip().lower()
    rules = login_throttle.rules(email, client)
    taken, wait = login_throttle.reserve(db, rules, now)
    if not taken:
        raise RegistryError(
            gettext("Đăng nhập sai nhiều lần. Vui lòng thử lại sau %(seconds)s giây.",
                    seconds=login_throttle.seconds(wait)), code="throttled", status=429)
    rows = db.execute_returning_dicts("SELECT * FROM users WHERE email = ? AND active = 1", [email])
    user = rows[0] if rows else None
    # Hash even for unknown accounts so response time does not reveal which addresses exist.
    stored = user["password_hash"] if user and user["password_hash"] else _DUMMY_HASH
    if not check_password_hash(stored, password or "") or not user or not user["password_hash"]:
        raise RegistryError(gettext("Sai địa chỉ thư điện tử hoặc mật khẩu."), code="bad_login", status=401)
    login_throttle.release(db, taken, rules[0].key)
    with write_transaction(db):
        db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", [iso(now), user["id"]])
    return user


_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


def unit_editors(db, unit_id: int) -> list[dict]:
    """The agency editors of one unit: e-mail, name, whether active and activated, invitation, last login."""
    return db.execute_returning_dicts(
        "SELECT email, name, active, password_hash IS NOT NULL AS activated, invite_expires_at, last_login_at "
        "FROM users WHERE unit_id = ? ORDER BY email", [unit_id])
