"""The public view of the logbook: what a citizen holding a receipt code and its lookup digits may see of the
entry, the anonymous rows of the public list, and the citizen's one rating of the answer.

Shown: the state, the field (its name, never the content), the unit handling the entry now and the chain of units
it went through (unit names only, no staff), the received date, the deadline, the answer once given. Never shown:
the reporter's name or phone, the content, who received it, the dossier code, transfer reasons, history. The
content is written freely by staff from what the caller said and often holds names, addresses or the caller's
own number, which no rule can reliably strip; the citizen knows what they reported, so the field says enough.

Lookups are throttled through registry.login_throttle (which owns the failures table) per receipt code and per
client address: a wrong try is recorded up front and a right one taken back, so only wrong tries count. The wait
grows (1 s, 2 s, 4 s … at most a minute) instead of locking anything: whoever guesses at a citizen's code can make
the citizen wait a minute at most, never keep them out, and guessing the 10,000 digit combinations of one code
takes days. A wrong code and wrong digits get the same message, so the answer tells nothing about which was wrong.
"""
import hmac
import re
from datetime import date, datetime, timedelta

from flask_babel import gettext

from registry import login_throttle
from registry.clock import iso, local_midnight_utc
from registry.db import write_transaction
from registry.errors import NotFound, UserError
from registry.logbook import entries

CODE_FREE_TRIES = 5  # wrong tries at one receipt code (from anywhere) before each further try waits
CLIENT_FREE_TRIES = 30  # wrong lookups from one address (any code) before each further one waits
LIST_FREE_CALLS = 300  # calls of the public list from one address in the throttle's window before each waits
MAX_LIST_DAYS = 90  # the widest date range the public list answers (Open311's default span)
MAX_LIST_ROWS = 1000
RECEIPT_RE = re.compile(r"^[A-Z0-9][A-Z0-9\-]{2,39}$")  # registry/logbook/entries.py: SYT-261201-007
DIGITS_RE = re.compile(r"^[0-9]{4}$")
CLOSED_STATES = ("answered", "closed")  # Open311 "closed": the citizen has the answer
STATES = ("open", "waiting", "answered", "transferred", "closed")


class LookupThrottled(UserError):
    """Too many tries just now; retry_after says in how many seconds the next one is taken."""

    status = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int = 1, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def throttled(wait: timedelta) -> LookupThrottled:
    """The refusal of a try that must wait, saying how long."""
    seconds = login_throttle.seconds(wait)
    return LookupThrottled(gettext("Quá nhiều lần tra cứu sai. Vui lòng thử lại sau %(n)s giây.", n=seconds),
                           retry_after=seconds)


def not_found() -> NotFound:
    """The one answer to a wrong receipt code or wrong digits (no oracle telling which)."""
    return NotFound(gettext("Không tìm thấy phiếu với mã và 4 chữ số này. Hãy kiểm tra lại mã phiếu và 4 chữ số "
                            "cuối của số điện thoại (hoặc mã tra cứu) ghi trên giấy biên nhận."))


def receipt_code(text: str | None) -> str:
    """The receipt code as typed (spaces dropped, upper case), or a UserError on field receipt_code."""
    code = re.sub(r"\s+", "", text or "").upper()
    if not RECEIPT_RE.match(code):
        raise UserError(gettext("Mã phiếu gồm chữ cái không dấu, chữ số và dấu gạch ngang, như ghi trên giấy biên "
                                "nhận."), field="receipt_code")
    return code


def lookup_digits(text: str | None) -> str:
    """The 4 lookup digits as typed (spaces and dots dropped), or a UserError on field digits."""
    digits = re.sub(r"[\s.]+", "", text or "")
    if not DIGITS_RE.match(digits):
        raise UserError(gettext("Nhập đúng 4 chữ số: 4 số cuối của số điện thoại đã báo, hoặc mã tra cứu được cấp."),
                        field="digits")
    return digits


def copies(db, code: str) -> list[dict]:
    """Every unit's copy of the entry, the original first (a transfer adds a copy at the receiving unit)."""
    return db.execute_returning_dicts(
        "SELECT e.id, e.unit_id, e.received_at, e.lookup_digits, e.field_code, e.state, e.deadline, e.answer, "
        "e.answered_at, e.rating, e.rated_at, e.updated_at, u.code AS unit_code, u.name AS unit_name, "
        "f.name AS field_name, f.name_en AS field_name_en FROM logbook_entries e JOIN units u ON u.id = e.unit_id "
        "LEFT JOIN logbook_fields f ON f.code = e.field_code WHERE e.receipt_code = ? ORDER BY e.id", [code])


def view(code: str, copies: list[dict]) -> dict:
    """The public view of one entry from all its copies: only what may be shown (see the module's docstring)."""
    first = copies[0]
    current = next((c for c in copies if c["state"] != "transferred"), copies[-1])  # the unit holding it now
    answered = current["state"] in CLOSED_STATES  # answered on the spot may have no written answer
    return {
        "receipt_code": code,
        "state": current["state"],
        "status": "closed" if current["state"] in CLOSED_STATES else "open",
        "unit_code": current["unit_code"],
        "unit_name": current["unit_name"],
        "chain": [c["unit_name"] for c in copies],
        "transfers": len(copies) - 1,
        "field_code": current["field_code"],
        "field_name": current["field_name"],
        "field_name_en": current["field_name_en"],
        "received_at": first["received_at"],
        "deadline": current["deadline"],
        "answer": current["answer"] if answered else "",
        "answered_at": current["answered_at"] if answered else None,
        "updated_at": max(c["updated_at"] for c in copies),
        "rating": next((c["rating"] for c in copies if c["rating"] is not None), None),
        "can_rate": answered and all(c["rating"] is None for c in copies),
    }


def _lookup_rules(code: str, client: str) -> list[login_throttle.Rule]:
    return [login_throttle.Rule(f"lookup-code:{code}", CODE_FREE_TRIES),
            login_throttle.Rule(f"lookup-client:{client}", CLIENT_FREE_TRIES)]


def find(db, code: str, digits: str, *, client: str, now: datetime) -> dict:
    """The public view of the entry with this receipt code whose lookup digits are these; NotFound (one message
    for both a wrong code and wrong digits) or LookupThrottled. code and digits as receipt_code()/lookup_digits()
    return them."""
    rules = _lookup_rules(code, client)
    ids, wait = login_throttle.reserve(db, rules, now)
    if wait:
        raise throttled(wait)
    rows = copies(db, code)
    # compare_digest: the time taken does not tell how many digits were right
    if not rows or not hmac.compare_digest(rows[0]["lookup_digits"] or "", digits):
        raise not_found()  # the try stays recorded as a failure
    login_throttle.release(db, ids, rules[0].key)
    return view(code, rows)


def rate(db, code: str, digits: str, rating, *, client: str, now: datetime) -> dict:
    """The citizen's rating (1–5) of the answer, once, through the same check as find(); the view after it."""
    # The keys first, outside the transaction below (a wrong try stays recorded): every refusal after this line,
    # all on the field "rating", is to someone who holds the keys and may see the entry.
    find(db, code, digits, client=client, now=now)
    try:
        stars = int(rating)
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise UserError(gettext("Chọn mức đánh giá từ 1 đến 5."), field="rating")
    with write_transaction(db):  # checked and written under one lock: two ratings at once give one
        entry = view(code, copies(db, code))
        if entry["rating"] is not None:
            raise UserError(gettext("Phiếu này đã được đánh giá; mỗi phiếu chỉ đánh giá một lần."), field="rating",
                            code="already_rated", status=409)
        if not entry["can_rate"]:
            raise UserError(gettext("Chỉ đánh giá được sau khi đơn vị đã trả lời."), field="rating",
                            code="not_answered", status=409)
        entries.rate(db, code, stars, now)
    return view(code, copies(db, code))


def throttle_listing(db, *, client: str, now: datetime) -> None:
    """Count one call of the public list from this address; LookupThrottled past LIST_FREE_CALLS in the window."""
    _ids, wait = login_throttle.reserve(db, [login_throttle.Rule(f"list-client:{client}", LIST_FREE_CALLS)], now)
    if wait:
        raise throttled(wait)


def listing(db, *, start: date, end: date, state: str | None = None, limit: int = MAX_LIST_ROWS) -> list[dict]:
    """Anonymous rows of the entries received from local date start to end (inclusive), newest first: one row per
    receipt code (the unit holding it now), no receipt code, no content, no personal data, no answer.

    state: 'open' or 'closed' (Open311's two) or one of STATES; None for all.
    """
    where = ["e.state != 'transferred'", "e.received_at >= ?", "e.received_at < ?"]
    params: list = [iso(local_midnight_utc(start)), iso(local_midnight_utc(end + timedelta(days=1)))]
    if state == "closed":
        where.append("e.state IN ('answered','closed')")
    elif state == "open":
        where.append("e.state IN ('open','waiting')")
    elif state:
        where.append("e.state = ?")
        params.append(state)
    rows = db.execute_returning_dicts(
        "SELECT e.received_at, e.field_code, e.state, e.deadline, e.answered_at, e.updated_at, "
        "u.code AS unit_code, u.name AS unit_name, f.name AS field_name, "
        "(SELECT count(*) - 1 FROM logbook_entries c WHERE c.receipt_code = e.receipt_code) AS transfers "
        "FROM logbook_entries e JOIN units u ON u.id = e.unit_id LEFT JOIN logbook_fields f ON f.code = e.field_code "
        f"WHERE {' AND '.join(where)} ORDER BY e.received_at DESC, e.id DESC LIMIT ?", [*params, limit])
    for row in rows:
        row["status"] = "closed" if row["state"] in CLOSED_STATES else "open"
    return rows
