"""Importing an appendix file: every row checked with no lock held, then the plan written in one short transaction.

The plan (registry.appendix.check) says, row by row, which units are new, which change and how, and which
stay as they are; a dry run shows it, an import writes exactly it. Writing takes the write lock once
(BEGIN IMMEDIATE), checks that nobody changed the registry since the plan was made (else the file is checked
again, up to three times), then inserts the new units, their hotlines and every history row with one
executemany each. A number that moves from one unit to another goes through hotlines.set_hotline, one row at
a time in the plan's order, so that its rules (flags kept per number, sharing reset) stay in one place; a file
moves few numbers, where a first import creates every unit.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask_babel import gettext

from registry.appendix.check import ImportRejected, Plan, RowError, _Checker, _Row, registry_version, settled_heap
from registry.appendix.layout import TemplateError
from registry.appendix.limits import read_file
from registry.appendix.read import Sheet, read_sheet
from registry.clock import utcnow
from registry.db import write_transaction
from registry.errors import RegistryError
from registry.hotlines import HOURS, add_hotlines, set_hotline, set_hours_many, written_number
from registry.units import insert_units, rename_units

ATTEMPTS = 3  # plans made again when someone changed the registry between the check and the write


@dataclass(frozen=True)
class PlanLine:
    """One unit row of the plan: its row in the file, what happens to it, and that in words."""

    row: int
    action: str  # "new", "changed" or "unchanged"
    code: str
    name: str
    group: str
    what: str


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do): counts, and every row in the file's order."""

    filename: str
    rows: int = 0
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False
    lines: list[PlanLine] = field(default_factory=list)

    def of(self, action: str) -> list[PlanLine]:
        """The rows with this action ('new', 'changed', 'unchanged')."""
        return [line for line in self.lines if line.action == action]

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


def _hours(r: _Row, plan: Plan) -> tuple[str | None, str | None]:
    """(hours now, hours after) of a row's unit; None when it has no hotline now / will have none."""
    old = plan.units[r.unit["id"]]["hours"] if r.unit else None
    return old, (r.hours or old or ("24/7" if r.parsed else None))


def _changes(r: _Row, plan: Plan) -> list[str]:
    """What a row changes on a known unit, in words (empty: unchanged)."""
    what = []
    if r.by_code and r.name != r.unit["name"]:
        what.append(gettext("tên “%(old)s” → “%(new)s”", old=r.unit["name"], new=r.name))
    if r.group and r.group != r.unit["group_code"]:
        what.append(gettext("nhóm %(old)s → %(new)s", old=r.unit["group_code"], new=r.group))
    if r.parsed and r.row in plan.moving:
        what.append(gettext("số %(old)s → %(new)s", new=_written(r.parsed),
                            old=written_number(r.unit) or gettext("(chưa có)")))
    elif r.row in plan.extensions:
        what.append(gettext("máy lẻ %(old)s → %(new)s", old=r.unit["extension"] or gettext("(không có)"),
                            new=r.parsed.extension or gettext("(không có)")))
    old_hours, hours = _hours(r, plan)
    if r.parsed and old_hours and hours != old_hours:
        what.append(gettext("trực %(old)s → %(new)s", old=HOURS[old_hours], new=HOURS[hours]))
    return what


def _written(parsed) -> str:
    """A parsed number as the file writes it back, extension included ("0277 3851 555 máy lẻ 12")."""
    return written_number({"display": parsed.display, "extension": parsed.extension})


def describe(plan: Plan, filename: str, *, dry_run: bool) -> ImportResult:
    """The plan in words: new, changed and unchanged rows, in the file's order."""
    with settled_heap():
        return _describe(plan, filename, dry_run)


def _describe(plan: Plan, filename: str, dry_run: bool) -> ImportResult:
    lines = []
    for r in plan.rows:
        if r.unit is None:
            number = _written(r.parsed) if r.parsed else gettext("(chưa có số)")
            lines.append(PlanLine(r.row, "new", r.code, r.name, r.group, number))
        else:
            what = _changes(r, plan)
            lines.append(PlanLine(r.row, "changed" if what else "unchanged", r.code, r.unit["name"], r.group or "",
                                  "; ".join(what)))
    lines.sort(key=lambda line: line.row)
    return ImportResult(
        filename=filename, rows=len(lines), dry_run=dry_run, lines=lines,
        created=[f"{line.code} – {line.name}" for line in lines if line.action == "new"],
        changed=[f"{line.code}: {line.what}" for line in lines if line.action == "changed"],
        unchanged=sum(line.action == "unchanged" for line in lines),
    )


def write_plan(db, plan: Plan, *, actor: dict, reason: str, now: datetime) -> bool:
    """Write a checked plan in one transaction; False (nothing written) when the registry changed since the check."""
    row = None
    try:
        with settled_heap(), write_transaction(db):
            if registry_version(db) != plan.version:
                return False
            new = [r for r in plan.rows if r.unit is None]
            ids = insert_units(db, [{"code": r.code, "name": r.name, "group_code": r.group, "kind": r.kind}
                                    for r in new], actor=actor, now=now)
            moved = [{"unit": r.unit, "name": r.name if r.by_code else r.unit["name"], "group_code": r.group or r.unit["group_code"]}
                     for r in plan.rows if r.unit and ((r.by_code and r.name != r.unit["name"])
                                                        or (r.group and r.group != r.unit["group_code"]))]
            rename_units(db, moved, actor=actor, reason=reason, now=now)
            # New units have no hotline yet: they hold no number, so theirs can wait until every number has moved.
            first_numbers = [{"unit_id": ids[r.code], "parsed": r.parsed, "hours": r.hours or "24/7"}
                             for r in new if r.parsed]
            hours_only = []
            for row in plan.rows:  # in the plan's order: each number is released before another unit takes it
                if not row.parsed or row.unit is None:
                    continue
                unit_id = row.unit["id"]
                old_hours, hours = _hours(row, plan)
                if old_hours is None:
                    first_numbers.append({"unit_id": unit_id, "parsed": row.parsed, "hours": hours})
                elif row.row in plan.moving or row.row in plan.extensions:
                    # set_hotline keeps its rules in one place: flags carried per number, the extension and the
                    # hours written to the history.
                    set_hotline(db, unit_id, row.raw, actor=actor, reason=reason, hours=hours, now=now)
                elif hours != old_hours:
                    hours_only.append({"unit_id": unit_id, "old": old_hours, "hours": hours})
            row = None
            set_hours_many(db, hours_only, actor=actor, reason=reason, now=now)
            add_hotlines(db, first_numbers, actor=actor, reason=reason, now=now)
    except RegistryError as exc:
        # Checked above and the registry unchanged since: only a rule the check does not know gets here. Rolled back.
        raise ImportRejected([RowError(row.row if row else 0, "", exc.message)]) from exc
    except sqlite3.IntegrityError as exc:  # the same, caught by the schema (a number taken, a code used)
        raise ImportRejected([RowError(row.row if row else 0, "", gettext(
            "Danh bạ vừa thay đổi trong lúc nhập tệp; chưa có gì được ghi. Hãy nhập lại tệp."))]) from exc
    return True


def import_bytes(
    db, data: bytes, filename: str, *, actor: dict | None, dry_run: bool = False, now: datetime | None = None,
    default_group: str | None = None,
) -> ImportResult:
    """Import an appendix file all or nothing; ImportRejected lists every bad row, TemplateError an unreadable file.

    default_group: the group of the rows above the first section row (A, B, C…); without it they are refused.
    """
    return import_sheet(db, read_sheet(data, filename), Path(filename).name, actor=actor, dry_run=dry_run, now=now,
                        default_group=default_group)


def import_sheet(
    db, sheet: Sheet, name: str, *, actor: dict | None, dry_run: bool = False, now: datetime | None = None,
    default_group: str | None = None,
) -> ImportResult:
    """Import the rows of a file already read (see import_bytes); `name` is the file's name for the history."""
    actor = actor or {"id": None, "email": "nhập tệp", "role": "inspector"}
    for _attempt in range(ATTEMPTS):
        plan = _Checker(db, sheet, default_group).plan()  # no lock held: readers and writers carry on
        result = describe(plan, name, dry_run=dry_run)
        if dry_run or result.unchanged == result.rows:  # nothing to write: no lock taken
            return result
        if write_plan(db, plan, actor=actor, reason=f"Nhập từ tệp {name}", now=now or utcnow()):
            return result
    raise RegistryError(gettext("Danh bạ đang được sửa liên tục trong lúc nhập tệp nên chưa có gì được ghi. "
                                "Hãy thử lại sau ít phút."), status=409, code="busy")


def import_file(db, path: str | Path, *, actor: dict | None = None, dry_run: bool = False,
                now: datetime | None = None, default_group: str | None = None) -> ImportResult:
    """Import the appendix from a file on disk (see import_bytes)."""
    path = Path(path)
    try:
        data = read_file(path)  # bounded: a huge file is refused before it fills memory
    except OSError as exc:
        raise TemplateError(gettext("Không mở được tệp “%(path)s”: %(strerror)s.", path=path, strerror=exc.strerror)) from exc
    return import_bytes(db, data, path.name, actor=actor, dry_run=dry_run, now=now, default_group=default_group)
