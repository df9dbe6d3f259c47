"""The logbook's paper form, kept: a unit's book for a period out as XLSX or PDF, and a filled XLSX back in.

Modules: layout (the form's title and columns), book (the entries of a period as the form's rows), export_xlsx,
export_pdf, read (a filled XLSX, streamed within the appendix's limits), check (every row before any write),
imports (all or nothing, through registry.logbook.entries).
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from registry.logbook.paper import book as _book
from registry.logbook.paper.imports import ImportResult, import_bytes, import_file
from registry.logbook.paper.layout import FORMATS, format_for

MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


def export_bytes(db, unit: dict, start: date, end: date, fmt: str, *, now: datetime) -> bytes:
    """The unit's book between two local dates (both included) as 'xlsx' or 'pdf' bytes."""
    format_for(f"book.{fmt}")
    loaded = _book.load(db, unit, start, end)
    if fmt == "pdf":
        from registry.logbook.paper.export_pdf import to_pdf

        return to_pdf(loaded, now)
    from registry.logbook.paper.export_xlsx import to_xlsx

    return to_xlsx(loaded, now)


def export_file(db, path: str | Path, unit: dict, start: date, end: date, *, now: datetime) -> str:
    """Write the unit's book to path, the format chosen by its extension; returns the format."""
    fmt = format_for(str(path))
    Path(path).write_bytes(export_bytes(db, unit, start, end, fmt, now=now))
    return fmt


def file_name(unit: dict, start: date, end: date, fmt: str) -> str:
    """The downloaded file's name: so-theo-doi-SYT-2026-11-01-2026-11-30.xlsx."""
    return f"so-theo-doi-{unit['code']}-{start:%Y-%m-%d}-{end:%Y-%m-%d}.{fmt}"


__all__ = ["FORMATS", "MIME", "ImportResult", "export_bytes", "export_file", "file_name", "format_for",
           "import_bytes", "import_file"]
