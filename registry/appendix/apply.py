"""Importing an appendix file: all rows checked, then applied in one transaction, or nothing written."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask_babel import gettext

from registry.appendix.check import ImportRejected, RowError, _Checker, _Row
from registry.appendix.layout import TemplateError
from registry.appendix.read import read_sheet
from registry.clock import utcnow
from registry.errors import RegistryError
from registry.hotlines import HOURS, set_hotline
from registry.text import fold
from registry.units import create_unit, update_unit


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    filename: str
    rows: int = 0
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False

    @property
    def summary(self) -> str:
        counts = dict(file=self.filename, rows=self.rows, created=len(self.created), changed=len(self.changed),
                      unchanged=self.unchanged)
        if self.dry_run:
            return gettext("%(file)s: %(rows)s dòng đơn vị; sẽ tạo %(created)s đơn vị, sẽ cập nhật %(changed)s đơn vị; "
                           "%(unchanged)s đơn vị không đổi.", **counts)
        return (
            gettext("%(file)s: %(rows)s dòng đơn vị; đã tạo %(created)s đơn vị, đã cập nhật %(changed)s đơn vị; "
                    "%(unchanged)s đơn vị không đổi.", **counts)
        )


def guess_kind(name: str) -> str:
    """A new unit's kind from its name: 'UBND xã …' → commune, 'Sở …' → department …"""
    t = re.sub(r"^(uy ban nhan dan|ubnd)\s+", "", fold(name))
    for prefix, kind in (("xa ", "commune"), ("thi tran ", "commune"), ("phuong ", "ward"), ("huyen ", "district"),
                         ("thanh pho ", "district"), ("tp ", "district"), ("thi xa ", "district"),
                         ("so ", "department")):
        if t.startswith(prefix):
            return kind
    return "agency"


def import_bytes(
    db, data: bytes, filename: str, *, actor: dict | None, dry_run: bool = False, now: datetime | None = None,
) -> ImportResult:
    """Import an appendix file all or nothing; ImportRejected lists every bad row, TemplateError an unreadable file."""
    sheet = read_sheet(data, filename)
    checker = _Checker(db, sheet)
    rows, errors = checker.run()
    if errors:
        raise ImportRejected(errors)
    name = Path(filename).name
    reason = f"Nhập từ tệp {name}"
    result = ImportResult(filename=name, rows=len(rows), dry_run=dry_run)
    hours_now = dict(db.execute("SELECT unit_id, hours FROM hotlines").fetchall())
    now = now or utcnow()
    actor = actor or {"id": None, "email": "nhập tệp", "role": "inspector"}
    row, created, changed = None, [], []
    try:
        with db.atomic():
            for row in rows:
                what = _apply_row(db, row, checker.current, hours_now, actor=actor, reason=reason, now=now,
                                  dry_run=dry_run)
                if row.unit is None:
                    created.append((row.row, f"{row.code} – {row.name}"))
                elif what:
                    changed.append((row.row, f"{row.code}: " + "; ".join(what)))
                else:
                    result.unchanged += 1
    except RegistryError as exc:
        # Everything was checked above, so only an edit made meanwhile by someone else gets here; rolled back.
        raise ImportRejected([RowError(row.row if row else 0, sheet.titles.get(exc.field or "", ""), exc.message)]) from exc
    # Applied in the order numbers are released; reported in the order of the file.
    result.created = [text for _row, text in sorted(created)]
    result.changed = [text for _row, text in sorted(changed)]
    return result


def _apply_row(db, r: _Row, current: dict, hours_now: dict, *, actor, reason, now, dry_run) -> list[str]:
    """Write one row's changes (unless dry_run); returns what changed, in words."""
    what = []
    unit_id = r.unit["id"] if r.unit else None
    if unit_id is None:
        if not dry_run:
            unit_id = create_unit(db, {"code": r.code, "name": r.name, "group_code": r.group,
                                       "kind": guess_kind(r.name)}, actor=actor, now=now)
    else:
        changes = {}
        if r.by_code and r.name != r.unit["name"]:
            changes["name"] = r.name
            what.append(gettext("tên “%(old)s” → “%(new)s”", old=r.unit["name"], new=r.name))
        if r.group and r.group != r.unit["group_code"]:
            changes["group_code"] = r.group
            what.append(gettext("nhóm %(old)s → %(new)s", old=r.unit["group_code"], new=r.group))
        if changes and not dry_run:
            update_unit(db, unit_id, changes, actor=actor, reason=reason, now=now)
    if r.parsed:
        old_number, old_hours = current.get(r.key), hours_now.get(r.key)
        hours = r.hours or old_hours
        if old_number != r.parsed.number or (hours and hours != old_hours):
            if not dry_run:
                set_hotline(db, unit_id, r.raw, actor=actor, reason=reason, hours=hours, now=now)
            if old_number != r.parsed.number:
                what.append(gettext("số %(old)s → %(new)s", new=r.parsed.display,
                                    old=r.unit["display"] if r.unit and r.unit["display"] else gettext("(chưa có)")))
            if old_hours and hours != old_hours:
                what.append(gettext("trực %(old)s → %(new)s", old=HOURS[old_hours], new=HOURS[hours]))
    return what


def import_file(db, path: str | Path, *, actor: dict | None = None, dry_run: bool = False,
                now: datetime | None = None) -> ImportResult:
    """Import the appendix from a file on disk (see import_bytes)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TemplateError(gettext("Không mở được tệp “%(path)s”: %(strerror)s.", path=path, strerror=exc.strerror)) from exc
    return import_bytes(db, data, path.name, actor=actor, dry_run=dry_run, now=now)
