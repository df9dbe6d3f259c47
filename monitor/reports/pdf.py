"""The official document: print HTML from templates/reports/official.html, and the A4 PDF WeasyPrint makes of it;
and a unit's evidence file (templates/reports/unit_evidence.html) the same way."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from monitor import labels
from monitor.attempts.outcomes import FAILURES
from monitor.reports import charts, figures, tables, wording
from monitor.reports.tally import FAST_SECONDS
from registry import letterhead

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "reports"
EVIDENCE_LIMIT = 4  # failed calls cited per unit in table 4 (every call is in the annex, the XLSX, CSV and JSON)
# Calls the annex lists in full before it only names the remaining units. WeasyPrint lays out about 40 table
# rows a second and the web workers time out at 30 s: a normal month (a few dozen failing units) fits whole;
# where most of a province fails, the rest of the units are named, each has its own evidence file, and every
# call is in the XLSX, CSV and JSON.
ANNEX_CALLS = 600


def annex_split(units: list[dict], limit: int = ANNEX_CALLS) -> tuple[list[dict], list[dict]]:
    """(units whose calls the annex lists, units only named), in order, within `limit` calls."""
    listed, total = [], 0
    for i, unit in enumerate(units):
        if listed and total + len(unit["evidence"]) > limit:
            return listed, units[i:]
        listed.append(unit)
        total += len(unit["evidence"])
    return listed, []


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    env.filters.update(percent=charts.percent, seconds=tables.seconds, points=tables.points,
                       local_time=tables.local_time, band=labels.band, outcome=labels.outcome)
    return env


def to_html(report) -> str:
    """The official document as print HTML (for WeasyPrint)."""
    failing, contested = tables.failing_rows(report), tables.contested_rows(report)
    for unit in contested:
        unit["contested"] = True
    annex, annex_rest = annex_split(failing + contested)
    return _environment().get_template("official.html").render(
        r=report, method=tables.method(report), groups=tables.group_rows(report), failing=failing,
        logbook=tables.logbook_rows(report),
        band_chart=figures.band_chart(report), trend_chart=figures.trend_chart(report),
        authority=wording.AUTHORITY, office=wording.OFFICE, number=wording.NUMBER,
        place_date=letterhead.place_date(report.generated_at),
        recipients=wording.RECIPIENTS, letter=wording.LETTER, band_labels=labels.BAND, outcome_labels=labels.OUTCOME,
        failures=FAILURES, fast_seconds=FAST_SECONDS, evidence_limit=EVIDENCE_LIMIT,
        contested=contested, annex=annex, annex_rest=annex_rest, recordings=tables.has_recordings(report),
        simulated_notice=tables.SIMULATED_NOTICE,
    )


def unit_file_html(unit_file) -> str:
    """A unit's evidence file (unit_file.UnitFile) as print HTML."""
    return _environment().get_template("unit_evidence.html").render(
        f=unit_file, authority=wording.AUTHORITY, office=wording.OFFICE,
        place_date=letterhead.place_date(unit_file.generated_at), simulated_notice=tables.SIMULATED_NOTICE,
    )


def unit_file_pdf(unit_file) -> bytes:
    """A unit's evidence file as an A4 PDF."""
    return html_to_pdf(unit_file_html(unit_file))


def to_pdf(report) -> bytes:
    """A4 PDF with page numbers, in a Times-like serif, from the print HTML."""
    return html_to_pdf(to_html(report))


def html_to_pdf(html: str) -> bytes:
    """Print HTML of templates/reports/ to an A4 PDF with the official stylesheet."""
    from weasyprint import CSS, HTML  # imported here: loading it costs a second the other formats do not need

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
        stylesheets=[CSS(filename=str(TEMPLATES / "official.css"))]
    )
