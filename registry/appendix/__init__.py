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
- The header row is the first row, on any sheet and anywhere in the first 50 rows, that has a name column
  (TÊN CƠ QUAN…/TÊN ĐƠN VỊ) and a number column (SỐ ĐIỆN THOẠI…/ĐƯỜNG DÂY NÓNG), compared without accents or
  case; STT, GHI CHÚ and MÃ ĐƠN VỊ are optional; other columns are ignored. Everything above it is ignored.
- A section row has a non-numeric STT (A, B, C…) and neither number nor code; its STT must be a group code
  (or, with STT empty, its name a group name). It sets the group of the rows below it.
- A unit row is matched by its MÃ ĐƠN VỊ when that cell is filled: an unknown code creates the unit (its name
  and section are then required; its kind is guessed from the name: "UBND xã …" → commune …). Without a
  code, a row is matched by its exact name (case and spacing aside) among the units of its section's group;
  a name that is not found is an error (a new unit needs a code: names repeat across the province).
- A code-matched unit takes the row's name and its section's group when they differ (renaming and moving
  units through the file is allowed; both are written to the history).
- An empty number cell leaves the unit's number as it is: a file never removes a hotline. A number that a
  spreadsheet stored as a number and so lost its leading 0 gets it back.
- GHI CHÚ containing "giờ hành chính" sets office hours, "24/24" or "24/7" sets 24/7; otherwise the hours
  stay as they are. The rest of the note is not stored. Shared numbers are only decided in the UI.
- All or nothing: every row is checked first (unreadable or several numbers in a cell, a unit twice, the
  same number on two rows, a number another unit holds, an unknown group or code, an empty name…). If any
  row is bad nothing is written and ImportRejected lists every bad row as (row number as the spreadsheet
  shows it, column title, Vietnamese reason). Otherwise everything is applied in one transaction, through
  units.create_unit / update_unit and hotlines.set_hotline, with the history reason "Nhập từ tệp <file name>".

The package: layout (title, columns, formats), read (a file into rows), check (every row against the
registry → RowError list), apply (the all-or-nothing import), export (XLSX and CSV). This module re-exports
their public names, so callers import from registry.appendix only.
"""
from registry.appendix.apply import ImportResult, guess_kind, import_bytes, import_file
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
from registry.appendix.read import Sheet, read_sheet
from registry.clock import LOCAL

__all__ = [
    "COLUMNS", "DEMO_NOTE", "FORMATS", "FORMULA_START", "HEADER_ROW", "HEADER_SCAN_ROWS", "LOCAL", "ORDER",
    "SHARED_NOTE", "TITLE", "ImportRejected", "ImportResult", "RowError", "Sheet", "TemplateError", "check_sheet",
    "export_bytes", "export_csv", "export_file", "export_xlsx", "format_for", "guess_kind", "hours_from_note",
    "import_bytes", "import_file", "note_for", "read_sheet", "sections", "table_rows",
]
