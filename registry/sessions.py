"""Sign-in sessions kept on the server: the browser's cookie carries only a random token naming one.

Flask's cookie is signed, not stored: without this table a copy of it would keep working after logout until
it expires. Ending a session here (logout) or all of a user's (a new password) makes such copies worthless.
"""
import hashlib
import secrets
from datetime import datetime, timedelta

from registry.clock import iso
from registry.db import write_transaction


def _hash(token: str) -> str:
    # Stored hashed, like invitation tokens: a copy of the database does not sign anyone in.
    return hashlib.sha256(token.encode()).hexdigest()


def start(db, user_id: int, now: datetime, lifetime: timedelta) -> str:
    """Open a session for this user and return its token (for the cookie); drops expired sessions."""
    token = secrets.token_urlsafe(32)
    with write_transaction(db):
        db.execute("DELETE FROM sessions WHERE expires_at < ?", [iso(now)])
        db.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                   [_hash(token), user_id, iso(now), iso(now + lifetime)])
    return token


def user_for(db, token: str | None, now: datetime) -> dict | None:
    """The active account signed in with this token, or None (unknown, ended or expired session)."""
    if not token or not isinstance(token, str):
        return None
    rows = db.execute_returning_dicts(
        "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = ? AND s.expires_at > ? AND u.active = 1", [_hash(token), iso(now)])
    return rows[0] if rows else None


def end(db, token: str | None) -> None:
    """End one session (logout)."""
    if token and isinstance(token, str):
        db.execute("DELETE FROM sessions WHERE token_hash = ?", [_hash(token)])


def end_all(db, user_id: int) -> None:
    """End every session of a user (a new password: whoever held an old cookie is signed out)."""
    db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])
