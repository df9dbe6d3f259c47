"""A unit's evidence file: what an inspector sends to the unit's head with the official letter.

The unit's result for the period, every call that result counted (and every call the unit contested) with
its evidence, and how to contest: where (the unit's results page, signed in as its editor) and until when
(settings.report_dispute_days after the file is made). Rendered to PDF by pdf.unit_file_html.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from monitor.logbook.figures import period_figures
from monitor.reports import annex, tables
from monitor.reports.measure import period_metrics
from monitor.reports.periods import Period
from monitor.reports.tally import Tally
from monitor.reports.verdicts import UnitResult
from monitor.scheduling.bands import LOCAL
from monitor.settings import Settings
from registry.errors import NotFound, UserError
from registry.units import get_unit

CONTEST_PATH = "/reports/my"  # the editor's own results page (monitor/web/reports.py, reports.my)


class UnitFileError(UserError):
    """A unit evidence file that cannot be made as asked; .message in Vietnamese."""


@dataclass
class UnitFile:
    """Everything the unit's evidence file shows."""

    unit: dict
    period: Period
    generated_at: datetime
    row: dict  # tables.unit_row: figures, verdict, reasons, evidence
    simulated: bool
    deadline: date
    contest_url: str
    signer: str = ""

    @property
    def file_stem(self) -> str:
        return f"bang-chung-{self.unit['code']}-{self.period.key}"

    @property
    def recordings(self) -> bool:
        return any(e["recorded"] for e in self.row["evidence"])

    @property
    def contestable(self) -> int:
        """Failed calls the unit may still contest (no open or accepted dispute)."""
        return sum(1 for e in self.row["evidence"] if e["outcome"] != "answered" and e["purpose"] != "retest"
                   and (e["dispute"] is None or e["dispute"]["status"] == "rejected"))


def build_unit_file(db, period: Period, code: str, *, now: datetime, settings: Settings = Settings(),
                    logbook: bool = True) -> UnitFile:
    """The unit's result in the period (measured as in the report) and its calls with their evidence; with
    `logbook`, whether each answered call was written in the unit's book (for inspectors only: a unit's own
    editors get the file without it, so they cannot learn which entries were test calls)."""
    try:
        unit = get_unit(db, code)
    except NotFound:
        raise UnitFileError(f"Không có đơn vị có mã “{code}”.", field="unit") from None
    metrics = period_metrics(db, period, group=unit["group_code"], min_answer_rate=settings.report_min_answer_rate)
    result = metrics.unit(unit["code"]) or UnitResult(unit={"display": None, **unit}, tally=Tally())
    calls = annex.unit_calls(db, period, [unit["id"]]).get(unit["id"], [])
    local_day = now.astimezone(LOCAL).date()
    row = tables.unit_row(result, calls)
    if logbook:
        book = period_figures(db, period, settings=settings, today=local_day, unit_id=unit["id"])
        row = tables.with_logbook(row, book, unit["id"])
    return UnitFile(
        unit=unit, period=period, generated_at=now, row=row,
        simulated=annex.simulated(db, period), deadline=local_day + timedelta(days=settings.report_dispute_days),
        contest_url=settings.public_base_url.rstrip("/") + CONTEST_PATH, signer=settings.report_signer_name,
    )
