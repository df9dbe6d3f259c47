"""The appendix of the chairman's 2021 letter, in and out: XLSX and CSV files of every unit's one hotline.

Written layout (both formats): a title block ("DANH SÁCH SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG DO CƠ QUAN, ĐƠN VỊ VÀ
ĐỊA PHƯƠNG QUẢN LÝ" and the date), one header row with the letter's columns STT | TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA
PHƯƠNG | SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG | GHI CHÚ, plus MÃ ĐƠN VỊ so that a file comes back to the same units;
then for each group a section row ("A | CƠ QUAN, ĐƠN VỊ") followed by its current units numbered 1, 2, 3…
GHI CHÚ says the hours ("24/24 giờ" or "Giờ hành chính"), a shared number's note, and "Số mẫu" for demo data.
CSV is UTF-8 with a byte-order mark so Excel shows Vietnamese correctly.

Reading rules (import):
- The format comes from the file's content (an XLSX is a zip) and its extension (.xlsx or .csv; a CSV may
  be separated by commas, semicolons or tabs, in UTF-8 or Windows-1258).
- A file is read within the bounds of limits.py (5 MB, 200,000 rows, 200 columns; an XLSX's zip checked
  first by archive.py: what it unpacks to, how much each part inflates), streamed, formulas as their stored
  values (never evaluated), XML without entity declarations (defusedxml); beyond them, refused as a whole.
- The header row is the first row, on any sheet and anywhere in the first 50 rows, that has a name column
  (TÊN CƠ QUAN…/TÊN ĐƠN VỊ) and a number column (SỐ ĐIỆN THOẠI…/ĐƯỜNG DÂY NÓNG), compared without accents or
  case; STT, GHI CHÚ and MÃ ĐƠN VỊ are optional; other columns are ignored. Everything above it is ignored.
- A section row has a non-numeric STT (A, B, C…) and neither number nor code; its STT must be a group code
  (or, with STT empty, its name a group name). It sets the group of the rows below it.
- A file with no section row before its first units takes a chosen default group for them (the import
  page's select, `registry import --group`); without one those rows are refused.
- A unit row is matched by its MÃ ĐƠN VỊ when that cell is filled: an unknown code creates the unit (its name
  and section are then required; its kind is guessed from the name: "UBND xã …" → commune …). Without a
  code (the letter's template has no such column), a row is matched by its name among the units of its
  section's group, compared by registry.unit_names' key (case, accents, "Uỷ"/"Ủy", punctuation and the usual
  abbreviations UBND, TP, TX, P., X., BQL, Sở GD&ĐT… aside). A name found nowhere creates the unit, with a
  code made from the name ("UBND-XA-TAN-HOA", "-2" when taken: the same file gives the same codes in any
  fresh install); a name matching two units, or two new rows with one name in a group, is an error.
- A code-matched unit takes the row's name and its section's group when they differ (renaming and moving
  units through the file is allowed; both are written to the history).
- An empty number cell leaves the unit's number as it is: a file never removes a hotline. A number that a
  spreadsheet stored as a number and so lost its leading 0 gets it back. The extension written after the
  number ("0277 3851 555 máy lẻ 12") is part of it: a new or dropped extension changes the unit, and an export
  writes it after the number, so an exported file imports back unchanged.
- GHI CHÚ containing "giờ hành chính" sets office hours, "24/24" or "24/7" sets 24/7; otherwise the hours
  stay as they are. The rest of the note is not stored. Shared numbers are only decided in the UI.
- All or nothing: every row is checked first (unreadable or several numbers in a cell, a unit twice, the
  same number on two rows, a number another unit holds, an unknown group or code, an empty name…). If any
  row is bad nothing is written and ImportRejected lists every bad row as (row number as the spreadsheet
  shows it, column title, Vietnamese reason). The check reads the registry once and takes no lock; its plan
  (new / changed / unchanged rows) is what a dry run shows and what the import writes, in one BEGIN IMMEDIATE
  transaction with bulk inserts (units.insert_units, hotlines.add_hotlines, history.log_changes; a number moving
  between units through hotlines.set_hotline), with the history reason "Nhập từ tệp <file name>". If the
  registry changed between the check and the write, the file is checked again.

The package: layout (title, columns, formats), read (a file into rows), limits and archive (what a file may be), check (every row against the
registry → RowError list), apply (the all-or-nothing import), export (XLSX and CSV). This module re-exports
their public names, so callers import from registry.appendix only.
"""
from registry.appendix.apply import ImportResult, PlanLine, import_bytes, import_file, import_sheet
from registry.appendix.check import ImportRejected, RowError, check_sheet, hours_from_note
from registry.appendix.export import (
    export_bytes,
    export_csv,
    export_file,
    export_xlsx,
    note_for,
    sections,
    table_rows,
)
from registry.appendix.layout import (
    COLUMNS,
    DEMO_NOTE,
    FORMATS,
    FORMULA_START,
    HEADER_ROW,
    HEADER_SCAN_ROWS,
    ORDER,
    SHARED_NOTE,
    TITLE,
    TemplateError,
    format_for,
)
from registry.appendix.limits import LIMITS, LimitExceeded, Limits
from registry.appendix.read import Sheet, read_sheet
from registry.clock import LOCAL
from registry.unit_names import guess_kind

__all__ = [
    "COLUMNS", "DEMO_NOTE", "FORMATS", "FORMULA_START", "HEADER_ROW", "HEADER_SCAN_ROWS", "LOCAL", "ORDER",
    "SHARED_NOTE", "TITLE", "LIMITS", "LimitExceeded", "Limits", "ImportRejected", "ImportResult", "RowError", "Sheet", "TemplateError", "check_sheet",
    "export_bytes", "export_csv", "export_file", "export_xlsx", "format_for", "guess_kind", "hours_from_note",
    "import_bytes", "import_file", "import_sheet", "note_for", "PlanLine", "read_sheet", "sections", "table_rows",
]
