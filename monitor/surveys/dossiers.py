"""The sample frame's dossiers: importing a one-stop export (all or nothing, each dossier once) and reading them.

The only writer of `dossiers` and `dossier_imports`. A file is read and checked first (monitor/surveys/frame.py),
with no lock held; then one write transaction records the import and inserts every row with one executemany.
A dossier already known (its code is UNIQUE) is left as it is, so importing the same file twice, or two
overlapping months, adds each dossier once; the result says how many were new and how many already known.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask_babel import gettext

from monitor.surveys.frame import LIMITS, ROW_FIELDS, Frame, UnitCounts, read_frame
from registry.appendix.limits import read_file
from registry.clock import iso, local_today_iso
from registry.db import write_transaction

_INSERT = (f"INSERT INTO dossiers ({', '.join(ROW_FIELDS)}, import_id) VALUES ({', '.join('?' * (len(ROW_FIELDS) + 1))}) "
           "ON CONFLICT (code) DO NOTHING")
_CHUNK = 500  # codes asked at once when counting the known ones (under SQLite's 999 parameters)


@dataclass
class ImportResult:
    """What an import did, or for a dry run would do: rows, new and known dossiers, counts per unit."""

    filename: str
    rows: int
    added: int
    known: int
    late: int
    without_phone: int
    invalid_phone: int
    dry_run: bool
    units: list[UnitCounts] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)
    import_id: int | None = None

    @property
    def summary(self) -> str:
        counts = dict(file=self.filename, rows=self.rows, added=self.added, known=self.known, late=self.late,
                      without=self.without_phone, invalid=self.invalid_phone)
        if self.dry_run:
            return gettext("%(file)s: %(rows)s hồ sơ hợp lệ, %(added)s hồ sơ mới sẽ được thêm, %(known)s hồ sơ đã có; "
                           "%(late)s hồ sơ trễ hạn, %(without)s hồ sơ không có số điện thoại (%(invalid)s số sai). "
                           "Chưa ghi gì.", **counts)
        return gettext("%(file)s: %(rows)s hồ sơ; đã thêm %(added)s hồ sơ mới, %(known)s hồ sơ đã có; %(late)s hồ sơ "
                       "trễ hạn, %(without)s hồ sơ không có số điện thoại (%(invalid)s số sai).", **counts)


def count_known(db, codes: list[str]) -> int:
    """How many of these dossier codes are in the frame already."""
    known = 0
    for start in range(0, len(codes), _CHUNK):
        chunk = codes[start:start + _CHUNK]
        known += db.execute(f"SELECT count(*) FROM dossiers WHERE code IN ({','.join('?' * len(chunk))})",
                            chunk).fetchone()[0]
    return known


def insert_frame(db, frame: Frame, *, filename: str, sha256: str, user_id: int | None, now: datetime) -> tuple[int, int]:
    """Write a checked file in one transaction: its import row, then every dossier not known yet.

    Returns (import id, dossiers added).
    """
    with write_transaction(db):
        cursor = db.conn.execute(
            "INSERT INTO dossier_imports (filename, sha256, rows, added, imported_at, user_id) VALUES (?, ?, ?, 0, ?, ?)",
            [filename[:255], sha256, len(frame.rows), iso(now), user_id])
        import_id = cursor.lastrowid
        before = db.conn.total_changes
        # In code order, the UNIQUE index on the code grows at its end instead of taking a page anywhere.
        db.conn.executemany(_INSERT, ((*row, import_id) for row in sorted(frame.rows)))
        added = db.conn.total_changes - before
        db.conn.execute("UPDATE dossier_imports SET added = ? WHERE id = ?", [added, import_id])
    return import_id, added


def import_bytes(db, data: bytes, filename: str, *, mapping: dict[str, str] | None = None, user_id: int | None = None,
                 now: datetime, dry_run: bool = False) -> ImportResult:
    """Check a dossier export and, unless dry_run, write it: all or nothing.

    TemplateError (LimitExceeded) when the file cannot be read as a dossier list, FrameRejected (every bad row
    named) when any row is bad; either way nothing is written.
    """
    frame = read_frame(db, data, filename, mapping=mapping, today=local_today_iso(now))
    result = ImportResult(filename=filename, rows=len(frame.rows), added=0, known=0, late=frame.late,
                          without_phone=frame.without_phone, invalid_phone=frame.invalid_phone, dry_run=dry_run,
                          units=sorted(frame.units.values(), key=lambda u: (u.level != "province", u.name)),
                          titles=frame.titles)
    if dry_run:
        result.known = count_known(db, [row[0] for row in frame.rows])
        result.added = result.rows - result.known
    else:
        digest = hashlib.sha256(data).hexdigest()
        result.import_id, result.added = insert_frame(db, frame, filename=filename, sha256=digest, user_id=user_id,
                                                      now=now)
        result.known = result.rows - result.added
    return result


def import_file(db, path: str, **kwargs) -> ImportResult:
    """import_bytes for a file on disk, read within the frame's limits (never more bytes than they allow)."""
    return import_bytes(db, read_file(path, LIMITS), Path(path).name, **kwargs)


def import_history(db, limit: int = 20) -> list[dict]:
    """The latest imports, newest first: file, rows, added, when and by whom."""
    return db.execute_returning_dicts(
        "SELECT i.id, i.filename, i.rows, i.added, i.imported_at, u.email AS user_email FROM dossier_imports i "
        "LEFT JOIN users u ON u.id = i.user_id ORDER BY i.id DESC LIMIT ?", [limit])


def erase_personal_data(db, dossier_ids: list[int], now: datetime) -> int:
    """Erase the applicant's name and phone number of these dossiers (the retention period is over:
    monitor/surveys/privacy.py decides which); code, procedure, unit and dates stay. Returns how many were erased."""
    erased = 0
    with write_transaction(db):
        for start in range(0, len(dossier_ids), 500):  # within SQLite's limit on bound parameters
            chunk = dossier_ids[start:start + 500]
            erased += db.execute(
                f"UPDATE dossiers SET phone = NULL, applicant = '', erased_at = ? "
                f"WHERE erased_at IS NULL AND id IN ({', '.join('?' * len(chunk))})", [iso(now), *chunk]).rowcount
    return erased
