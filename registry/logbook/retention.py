"""How long a reporter's name and phone are kept: erased once the report has been answered for longer than the
retention period (settings.logbook_phone_retention_days, FLASK_LOGBOOK_PHONE_RETENTION_DAYS).

The phone is kept while the report is handled: staff call the citizen back. Once the answer has been given (the
entry answered or closed) for that long, nobody needs to reach them, so the number goes. The name goes with it: the
two serve the same purpose (reaching the citizen), the name alone still points at a person, and nothing after the
answer needs it (the lookup uses the receipt code and lookup digits, the reports count entries, not people).
What the entry says, when, which unit and how it was answered stay: that is the unit's record, not personal data.

A receipt code transferred between units has a copy at each; they are erased together, once the copy holding the
report now (the last one: an answered copy is never transferred further) was answered long enough ago, and never
while any copy is still open. lookup_digits stay, so the citizen's lookup and the test-call match
(monitor/logbook/match.py reads phone_erased_at) keep working.

This module decides which entries; registry/logbook/entries.py (the table's owner) erases them, a batch per
transaction so the write lock is never held long. Run daily by the scheduler and by `flask logbook erase-phones`;
running it twice erases nothing more.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from registry.clock import iso
from registry.logbook import entries

BATCH = 200  # entries erased per write transaction: some 30 ms of lock each (100,000 erased in about 16 s)

# Entries still holding a name or phone whose receipt code has a copy answered before the cutoff and none still
# being handled, in id order from after_id (the caller walks the table once, batch after batch).
DUE_SQL = """
SELECT e.id, e.receipt_code FROM logbook_entries e
WHERE e.id > :after AND (e.reporter_phone != '' OR e.reporter_name != '')
  AND EXISTS (SELECT 1 FROM logbook_entries done WHERE done.receipt_code = e.receipt_code
              AND done.state IN ('answered', 'closed') AND done.answered_at < :cutoff)
  AND NOT EXISTS (SELECT 1 FROM logbook_entries pending WHERE pending.receipt_code = e.receipt_code
                  AND pending.state IN ('open', 'waiting'))
ORDER BY e.id LIMIT :limit
"""


@dataclass
class Erasure:
    """What one run found (and, unless a dry run, erased)."""

    cutoff: str  # UTC ISO: entries answered before this are past their retention
    entries: int = 0
    receipt_codes: list[str] = field(default_factory=list)


def cutoff(now: datetime, days: int) -> datetime:
    """The moment before which an answer is older than the retention period."""
    return now - timedelta(days=days)


def due(db, *, now: datetime, days: int, after: int = 0, limit: int = BATCH) -> list[tuple[int, str]]:
    """(entry id, receipt code) of up to limit entries past their retention, ids above after, in id order."""
    return [tuple(row) for row in db.execute(DUE_SQL, {"after": after, "cutoff": iso(cutoff(now, days)),
                                                       "limit": limit}).fetchall()]


def erase_expired(db, *, now: datetime, days: int, dry_run: bool = False, batch: int = BATCH) -> Erasure:
    """Erase the reporter's name and phone from every entry past its retention, batch by batch (each its own
    short write transaction; reads between them take no lock). dry_run: only count what would be erased."""
    result = Erasure(cutoff=iso(cutoff(now, days)))
    after, codes = 0, set()
    while rows := due(db, now=now, days=days, after=after, limit=batch):
        after = rows[-1][0]
        ids = [entry_id for entry_id, _code in rows]
        result.entries += len(ids) if dry_run else entries.erase_personal(db, ids, now=now)
        codes.update(code for _id, code in rows)
    result.receipt_codes = sorted(codes)
    return result
