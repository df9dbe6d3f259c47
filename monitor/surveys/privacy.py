"""Citizens' phone numbers handled as personal data (Decree 13/2023/NĐ-CP, the Personal Data Protection Law):
the only module that writes do_not_call and phone_views.

- A number is shown masked everywhere ("0912 ••• 678", mask_phone); the one place it is shown whole is the
  operator's current call, and that goes through reveal(), which writes who opened it, when and why.
- The do-not-call list keeps a keyed hash of the number (HMAC-SHA256 with the app's secret key), never the
  number: it keeps working after the dossiers' numbers are erased, and a copy of the database alone does not
  give the numbers back (ten digits are few enough that an unkeyed hash would).
- erase_expired() erases the applicant's name and phone of every dossier returned more than
  SURVEY_RETENTION_DAYS ago (the write itself is dossiers.erase_personal_data). What stays is anonymous: the
  dossier's code, procedure, unit and dates, the cases, their dispositions and answers.
  Decided: the operators' contact notes (survey_contacts.note) are kept as they are. By rule they carry no
  personal data — the operator's form says not to write names or numbers there — and the table is append-only
  evidence of each call. The scheduler runs erase_expired once a day.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta

from flask_babel import gettext

from registry.clock import iso, local_today
from registry.db import write_transaction
from registry.errors import NotFound, UserError

MASK = "•••"
ERASE_BATCH = 2000  # dossiers erased per write transaction


class PrivacyError(UserError):
    """A citizen's number that cannot be shown or listed, with a Vietnamese message."""


def national_digits(phone: str | None) -> str:
    """The number as national digits ("0912345678"), from any way it may be written (+84 912 345 678)."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits


def international(phone: str | None) -> str:
    """The number as the call providers dial it (E.164, as hotlines are stored): "+84912345678" for "0912 345 678"."""
    digits = national_digits(phone)
    return "+84" + digits[1:] if digits.startswith("0") and len(digits) >= 9 else digits


def mask_phone(phone: str | None) -> str:
    """"0912 ••• 678": enough to recognise a number one already has, not enough to dial it."""
    digits = national_digits(phone)
    if not digits:
        return ""
    if len(digits) < 8:
        return MASK
    return f"{digits[:4]} {MASK} {digits[-3:]}"


def phone_key(phone: str | None, secret_key: str) -> str:
    """The keyed hash the do-not-call list keeps instead of the number."""
    if not secret_key:
        raise ValueError("the phone key needs the app's secret key")
    return hmac.new(secret_key.encode(), national_digits(phone).encode(), hashlib.sha256).hexdigest()


def _user_id(user) -> int | None:
    if user is None or isinstance(user, int):
        return user
    return user["id"]


def reveal(db, dossier_id: int, user, purpose: str, now: datetime) -> str:
    """The whole number of a dossier's applicant, for the call about to be made; the opening is logged
    (phone_views) in the same transaction, so no number is ever shown without its line in the log."""
    purpose = (purpose or "").strip()
    if not purpose:
        raise PrivacyError(gettext("Cần nêu lý do mở số điện thoại."), field="purpose")
    with write_transaction(db):
        row = db.execute("SELECT phone FROM dossiers WHERE id = ?", [dossier_id]).fetchone()
        if row is None:
            raise NotFound(gettext("Không tìm thấy hồ sơ."))
        if not row[0]:
            raise PrivacyError(gettext("Số điện thoại của hồ sơ này không còn (đã xóa theo thời hạn lưu trữ "
                                       "hoặc không có)."), code="erased", status=410)
        db.execute("INSERT INTO phone_views (at, user_id, dossier_id, purpose) VALUES (?, ?, ?, ?)",
                   [iso(now), _user_id(user), dossier_id, purpose[:200]])
    return row[0]


def views(db, dossier_id: int) -> list[dict]:
    """Who opened a dossier's number, oldest first."""
    rows = db.execute("SELECT at, user_id, purpose FROM phone_views WHERE dossier_id = ? ORDER BY at, id",
                      [dossier_id]).fetchall()
    return [{"at": at, "user_id": user_id, "purpose": purpose} for at, user_id, purpose in rows]


# ------------------------------------------------------------------------------------------ do not call


def add_do_not_call(db, phone: str, *, secret_key: str, now: datetime, user=None, reason: str = "") -> bool:
    """Put a number on the do-not-call list (by its keyed hash); False when it was already there."""
    if len(national_digits(phone)) < 8:
        raise PrivacyError(gettext("Số điện thoại không hợp lệ."), field="phone")
    with write_transaction(db):
        cursor = db.execute(
            "INSERT OR IGNORE INTO do_not_call (phone_key, added_at, user_id, reason) VALUES (?, ?, ?, ?)",
            [phone_key(phone, secret_key), iso(now), _user_id(user), (reason or "").strip()[:200]])
    return cursor.rowcount == 1


def on_do_not_call(db, phone: str, *, secret_key: str) -> bool:
    """Whether the citizen of this number asked not to be called."""
    return db.execute("SELECT 1 FROM do_not_call WHERE phone_key = ?",
                      [phone_key(phone, secret_key)]).fetchone() is not None


def do_not_call_keys(db) -> set[str]:
    """Every key of the list (a few thousand at most): the sample frame leaves their numbers out."""
    return {key for (key,) in db.execute("SELECT phone_key FROM do_not_call")}


# --------------------------------------------------------------------------------------------- retention


def retention_cutoff(now: datetime, settings) -> str:
    """Dossiers returned before this local date are past the retention period."""
    return (local_today(now) - timedelta(days=settings.survey_retention_days)).isoformat()


def erase_expired(db, now: datetime, settings) -> int:
    """Erase the name and number of every dossier returned more than SURVEY_RETENTION_DAYS ago; returns how
    many. Run daily by the scheduler; safe to run again (erased dossiers are not touched twice)."""
    # here: dossiers.py and calls.py read numbers through this module (no import cycle)
    from monitor.surveys import calls, dossiers

    ids = [dossier_id for (dossier_id,) in db.execute(
        "SELECT id FROM dossiers WHERE erased_at IS NULL AND returned_on < ?", [retention_cutoff(now, settings)])]
    if not ids:
        return 0
    # secure_delete: SQLite overwrites the freed bytes of the old rows and index entries with zeros, so the
    # numbers do not linger in free space of the database file after the update.
    previous = db.execute("PRAGMA secure_delete").fetchone()[0]
    db.execute("PRAGMA secure_delete = ON")
    try:
        # In batches, each its own transaction: the first run after a long pause may erase a year of dossiers,
        # and the providers' callbacks must not wait behind one long write.
        erased = 0
        for start in range(0, len(ids), ERASE_BATCH):
            batch = ids[start:start + ERASE_BATCH]
            with write_transaction(db):  # both or neither: an erased dossier is never selected again
                erased += dossiers.erase_personal_data(db, batch, now)
                calls.erase_numbers(db, batch)  # the automated calls' numbers and events
        return erased
    finally:
        db.execute(f"PRAGMA secure_delete = {int(previous)}")
