"""Login throttling: a delay that grows with an account's failed logins, and a looser brake per address.

Per account, because behind the TLS proxy or an office's NAT one address is everyone's: counting per
address alone let five wrong passwords by anyone lock every user out. A delay (1 s, 2 s, 4 s … at most
MAX_DELAY) rather than a lockout, so whoever guesses at an inspector's account can only make the inspector
wait a minute at most, never hold the account: the right password once the delay has passed always works.
The per-address limit is generous (an office signs in through one address) and only slows down someone
trying many accounts from one place.

The check is atomic: a try is recorded as a failure before the password is checked, inside one write
transaction with the count, so 40 guesses at once get exactly the allowed tries; a right password then
takes its own record back.
"""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from registry.clock import iso
from registry.db import write_transaction

WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
ACCOUNT_FREE_TRIES = 5  # failures for one account before each further try waits
ADDRESS_FREE_TRIES = 100  # failures from one address (all accounts) before each further try from it waits
MAX_DELAY = timedelta(seconds=60)
KEEP = WINDOW * 4  # failures are deleted after this long


@dataclass(frozen=True)
class Rule:
    key: str
    free_tries: int


def rules(email: str, client: str) -> list[Rule]:
    """The counters one login attempt is checked against and recorded in."""
    return [Rule(f"email:{email}", ACCOUNT_FREE_TRIES), Rule(f"client:{client}", ADDRESS_FREE_TRIES)]


def delay(failures: int, free_tries: int) -> timedelta:
    """The wait after the last failure: none for the first free_tries, then 1 s doubling up to MAX_DELAY."""
    if failures < free_tries:
        return timedelta(0)
    exponent = failures - free_tries
    if exponent >= 16:  # 2**16 s is far past the cap; no need for bigger powers
        return MAX_DELAY
    return min(timedelta(seconds=2 ** exponent), MAX_DELAY)


def _wait(db, rule: Rule, now: datetime) -> timedelta:
    count, last = db.execute("SELECT count(*), max(at) FROM login_failures WHERE key = ? AND at > ?",
                             [rule.key, iso(now - WINDOW)]).fetchone()
    if not count or last is None:
        return timedelta(0)
    last_at = datetime.fromisoformat(last.replace("Z", "+00:00"))
    return max(timedelta(0), last_at + delay(count, rule.free_tries) - now)


def reserve(db, keyed: list[Rule], now: datetime) -> tuple[list[int], timedelta]:
    """Take one try: ([the failure rows recorded for it], 0), or ([], how long to wait) when throttled.

    The try is recorded as a failure up front; release() takes it back if the password was right.
    """
    with write_transaction(db):
        wait = max((_wait(db, rule, now) for rule in keyed), default=timedelta(0))
        if wait > timedelta(0):
            return [], wait
        ids = [db.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", [rule.key, iso(now)]).lastrowid
               for rule in keyed]
        db.execute("DELETE FROM login_failures WHERE at < ?", [iso(now - KEEP)])
    return ids, timedelta(0)


def release(db, ids: list[int], account_key: str) -> None:
    """A right password: forget this try and the account's earlier failures (the address's stay counted)."""
    with write_transaction(db):
        db.execute(f"DELETE FROM login_failures WHERE id IN ({','.join('?' * len(ids))})", ids)
        db.execute("DELETE FROM login_failures WHERE key = ?", [account_key])


def seconds(wait: timedelta) -> int:
    """A wait in whole seconds, rounded up (never 0 for a wait that is still on)."""
    return max(1, math.ceil(wait.total_seconds()))
