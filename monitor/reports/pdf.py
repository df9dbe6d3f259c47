"""The official document: print HTML from templates/reports/official.html, and the A4 PDF WeasyPrint makes of it."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from monitor import labels
from monitor.attempts.outcomes import FAILURES
from monitor.reports import charts, figures, tables, wording
from monitor.reports.tally import FAST_SECONDS
from monitor.scheduling.bands import LOCAL

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "reports"
EVIDENCE_LIMIT = 4  # confirmed failures cited per unit in the PDF (all of them are in the XLSX and JSON)


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    env.filters.update(percent=charts.percent, seconds=tables.seconds, points=tables.points,
                       local_time=tables.local_time, band=labels.band, outcome=labels.outcome)
    return env


def to_html(report) -> str:
    """The official document as print HTML (for WeasyPrint)."""
    local = report.generated_at.astimezone(LOCAL)
    return _environment().get_template("official.html").render(
        r=report, method=tables.method(report), groups=tables.group_rows(report), failing=tables.failing_rows(report),
        band_chart=figures.band_chart(report), trend_chart=figures.trend_chart(report),
        authority=wording.AUTHORITY, office=wording.OFFICE, number=wording.NUMBER,
        place_date=f"{wording.PLACE}, ngày {local.day:02d} tháng {local.month:02d} năm {local.year}",
        recipients=wording.RECIPIENTS, letter=wording.LETTER, band_labels=labels.BAND, outcome_labels=labels.OUTCOME,
        failures=FAILURES, fast_seconds=FAST_SECONDS, evidence_limit=EVIDENCE_LIMIT,
    )


def to_pdf(report) -> bytes:
    """A4 PDF with page numbers, in a Times-like serif, from the print HTML."""
    from weasyprint import CSS, HTML  # imported here: loading it costs a second the other formats do not need

    return HTML(string=to_html(report), base_url=str(TEMPLATES)).write_pdf(
        stylesheets=[CSS(filename=str(TEMPLATES / "official.css"))]
    )
