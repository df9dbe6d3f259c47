"""Importing a filled book: read and check every row first, then write the new entries in one transaction.

All or nothing: a single bad row refuses the file (ImportRejected lists every bad row with its number and column)
and nothing is written. The rows are checked before the write lock is taken; the write goes through
registry.logbook.entries (create_many, then answer for the rows answered on paper) inside one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask_babel import gettext

from registry.appendix.check import ImportRejected
from registry.appendix.limits import read_file
from registry.db import write_transaction
from registry.errors import RegistryError
from registry.logbook import entries
from registry.logbook.paper.check import plan
from registry.logbook.paper.read import read_filled
from registry.units import get_unit


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do): the unit, the new receipt codes, the rows already there."""

    unit: dict
    new: int
    known: int
    dry_run: bool
    codes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.dry_run:
            return gettext("Kiểm tra xong sổ của %(unit)s: %(new)s phiếu mới sẽ được ghi, %(known)s phiếu đã có "
                           "trong sổ (chưa ghi gì).", unit=self.unit["name"], new=self.new, known=self.known)
        return gettext("Đã nhập sổ của %(unit)s: %(new)s phiếu mới, %(known)s phiếu đã có trong sổ.",
                       unit=self.unit["name"], new=self.new, known=self.known)


def _unit(db, written: str, unit: dict | None) -> dict:
    """The book's unit: the one given (an editor's own), which the file must not contradict, or the file's."""
    if unit is not None:
        if written and written.casefold() != unit["code"].casefold():
            raise RegistryError(gettext("Tệp là sổ của đơn vị mã “%(written)s”, không phải của %(unit)s (mã "
                                        "“%(code)s”).", written=written[:40], unit=unit["name"], code=unit["code"]),
                                field="file")
        return unit
    if not written:
        raise RegistryError(gettext("Tệp không ghi mã đơn vị (dòng “Mã đơn vị: …” phía trên bảng như mẫu xuất từ "
                                    "hệ thống)."), field="file")
    return get_unit(db, written)


def import_bytes(db, data: bytes, filename: str, *, user_id: int | None, now: datetime, unit: dict | None = None,
                 dry_run: bool = False) -> ImportResult:
    """Import a filled book (XLSX); ImportRejected with every bad row, TemplateError for a file that is not one."""
    filled = read_filled(data, filename)
    book_unit = _unit(db, filled.unit_code, unit)
    found, errors = plan(db, book_unit["id"], filled, now=now)
    if errors:
        raise ImportRejected(errors)
    result = ImportResult(unit=book_unit, new=len(found.new), known=found.known, dry_run=dry_run)
    if dry_run or not found.new:
        return result
    with write_transaction(db):
        result.codes = entries.create_many(db, book_unit["id"], [n.data for n in found.new], user_id=user_id, now=now)
        for new, code in zip(found.new, result.codes):
            if new.answered_at is not None:
                copy = next(e for e in entries.by_receipt(db, code) if e["unit_id"] == book_unit["id"])
                entries.answer(db, copy["id"], new.data["answer"], user_id=user_id, now=new.answered_at)
    return result


def import_file(db, path: str | Path, *, user_id: int | None, now: datetime, unit: dict | None = None,
                dry_run: bool = False) -> ImportResult:
    """import_bytes of a file on disk, read within the same size bound as an upload."""
    try:
        data = read_file(path)
    except OSError as exc:
        raise RegistryError(gettext("Không đọc được tệp “%(file)s”: %(reason)s.", file=str(path),
                                    reason=exc.strerror or exc), field="file") from None
    return import_bytes(db, data, str(path), user_id=user_id, now=now, unit=unit, dry_run=dry_run)
