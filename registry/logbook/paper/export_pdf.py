"""The unit's book for a period as an A4 landscape PDF in the paper form, ready to print and sign.

The letterhead is the official documents' (templates/reports/_annex.html) and so is the stylesheet
(templates/reports/official.css); the page is templates/logbook/paper.html. Jinja escapes every cell.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from registry.logbook.paper.book import Book, period_line, place_date
from registry.logbook.paper.layout import COLUMNS, SIGN_HINT, SIGN_HINT_HEAD, SIGNERS, TITLE, UNIT_CODE_LABEL

ANNEX_FILTERS = ("percent", "seconds", "points", "local_time", "band", "outcome")
TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
# Column widths in % of the landscape page, in layout.COLUMNS order.
WIDTHS = (3, 11, 8, 5, 9, 7, 17, 6, 6, 7, 8, 7, 6)
NOWRAP = (1, 9, 11)  # receipt codes and the dates of Hạn xử lý and Ngày trả lời: never broken across lines


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader([str(TEMPLATES / "logbook"), str(TEMPLATES / "reports")]),
                      autoescape=select_autoescape(["html"]))
    # _annex.html, whose letterhead macro this page uses, names the report's filters in its other macros; they are
    # never called here, but Jinja needs the names to compile that file.
    env.filters.update({name: str for name in ANNEX_FILTERS})
    return env


def render_pdf(template: str, **context) -> bytes:
    """A page of templates/logbook/ as PDF bytes, with the official stylesheet."""
    from weasyprint import CSS, HTML  # imported here: loading it costs a second the other formats do not need

    html = _environment().get_template(template).render(**context)
    return HTML(string=html, base_url=str(TEMPLATES / "reports")).write_pdf(
        stylesheets=[CSS(filename=str(TEMPLATES / "reports" / "official.css"))])


def _context(book: Book, now: datetime) -> dict:
    return dict(
        book=book, title=TITLE, period=period_line(book.start, book.end), place_date=f"…, {place_date(now)}",
        headings=[title for _key, title in COLUMNS], widths=WIDTHS, nowrap=NOWRAP, signers=SIGNERS,
        hints=(SIGN_HINT, SIGN_HINT_HEAD), unit_code_label=UNIT_CODE_LABEL)


def to_html(book: Book, now: datetime) -> str:
    """The book as print HTML."""
    return _environment().get_template("paper.html").render(**_context(book, now))


def to_pdf(book: Book, now: datetime) -> bytes:
    """The book as A4 landscape PDF bytes."""
    return render_pdf("paper.html", **_context(book, now))
