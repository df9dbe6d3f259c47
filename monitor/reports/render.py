"""The report as a file in one of its formats, in the language of the official document."""
from __future__ import annotations

from flask_babel import force_locale

from monitor.reports.csv_table import to_csv
from monitor.reports.json_data import to_json
from monitor.reports.pdf import to_pdf, unit_file_pdf
from monitor.reports.report import ReportError

FORMATS = ("pdf", "xlsx", "csv", "json")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
OFFICIAL_LANGUAGE = "vi"


def to_xlsx(report) -> bytes:
    from monitor.reports.xlsx import to_xlsx as workbook  # imported here: openpyxl is needed by this format only

    return workbook(report)


RENDERERS = {"pdf": to_pdf, "xlsx": to_xlsx, "csv": to_csv, "json": to_json}


def render_unit_file(unit_file, *, language: str = OFFICIAL_LANGUAGE) -> bytes:
    """A unit's evidence file (unit_file.UnitFile) as PDF, in the official document's language."""
    with force_locale(language):
        return unit_file_pdf(unit_file)


def render(report, fmt: str, *, language: str = OFFICIAL_LANGUAGE) -> bytes:
    """The report's bytes in this format; its words in `language` (Vietnamese, the official document's)."""
    if fmt not in RENDERERS:
        raise ReportError(f"Định dạng “{fmt}” không hỗ trợ: chọn một trong {', '.join(FORMATS)}.")
    with force_locale(language):
        return RENDERERS[fmt](report)
