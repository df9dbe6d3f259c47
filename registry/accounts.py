"""Accounts: inspectors and agency editors, hashed passwords, invitations and login throttling."""
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext
from werkzeug.security import check_password_hash, generate_password_hash

from registry.clock import iso, utcnow
from registry.errors import RegistryError

ROLES = ("inspector", "agency")
MIN_PASSWORD = 10
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Throttling: this many failures for one e-mail address (or one client address) within the window
# locks further attempts until the oldest failure leaves the window.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
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
    db.execute(
        "UPDATE users SET password_hash = ?, invite_token_hash = NULL, invite_expires_at = NULL WHERE id = ?",
        [generate_password_hash(password), user["id"]],
    )
    return user


def _refuse_existing(db, email: str) -> None:
    if db.execute("SELECT 1 FROM users WHERE email = ?", [email]).fetchone():
        raise RegistryError(gettext("Đã có tài khoản với địa chỉ %(email)s.", email=email), field="email")


def throttled(db, keys: list[str], now: datetime) -> timedelta | None:
    """How long the caller must wait before trying again, or None when not throttled."""
    since = iso(now - FAILURE_WINDOW)
    for key in keys:
        rows = db.execute(
            "SELECT at FROM login_failures WHERE key = ? AND at > ? ORDER BY at", [key, since]
        ).fetchall()
        if len(rows) >= MAX_FAILURES:
            oldest = datetime.fromisoformat(rows[-MAX_FAILURES][0].replace("Z", "+00:00"))
            return oldest + FAILURE_WINDOW - now
    return None


def authenticate(db, email: str, password: str, client: str, now: datetime | None = None) -> dict:
    """Check a login; record failures per e-mail and per client address; refuse while throttled."""
    now = now or utcnow()
    email = (email or "").strip().lower()
    keys = [f"email:{email}", f"client:{client}"]
    wait = throttled(db, keys, now)
    if wait is not None:
        minutes = max(1, int(wait.total_seconds() // 60) + 1)
        raise RegistryError(
            gettext("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau %(minutes)s phút.", minutes=minutes), code="throttled"
        )
    rows = db.execute_returning_dicts("SELECT * FROM users WHERE email = ? AND active = 1", [email])
    user = rows[0] if rows else None
    # Hash even for unknown accounts so response time does not reveal which addresses exist.
    stored = user["password_hash"] if user and user["password_hash"] else _DUMMY_HASH
    if not check_password_hash(stored, password or "") or not user or not user["password_hash"]:
        with db.atomic():
            for key in keys:
                db.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", [key, iso(now)])
            db.execute("DELETE FROM login_failures WHERE at < ?", [iso(now - FAILURE_WINDOW * 4)])
        raise RegistryError(gettext("Sai địa chỉ thư điện tử hoặc mật khẩu."), code="bad_login")
    db.execute("DELETE FROM login_failures WHERE key = ?", [keys[0]])
    db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", [iso(now), user["id"]])
    return user


_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


def unit_editors(db, unit_id: int) -> list[dict]:
    """The agency editors of one unit: e-mail, name, whether active and activated, invitation, last login."""
    return db.execute_returning_dicts(
        "SELECT email, name, active, password_hash IS NOT NULL AS activated, invite_expires_at, last_login_at "
        "FROM users WHERE unit_id = ? ORDER BY email", [unit_id])
