"""The official report to the chairman: everything it shows, measured once (build_report) and then rendered
in every format (render.py) and on the report page.

Layout follows Nghị định 30/2020/NĐ-CP for administrative documents: the issuing body and the national
motto side by side, number and place/date, the title, numbered sections, "Nơi nhận" and the signature.
Building needs no Flask request: the CLI, the web UI and tests call the same functions.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from monitor.logbook.figures import LogbookFigures, period_figures
from monitor.reports import annex, prefetch, summaries, wording
from monitor.reports.measure import PeriodMetrics, codes_params, period_metrics
from monitor.reports.periods import Period
from monitor.reports.tally import CODES_SQL, Tally, answered_calls
from monitor.reports.verdicts import league
from monitor.scheduling.bands import LOCAL
from monitor.settings import Settings
from monitor.surveys import results as survey_results
from registry.errors import UserError
from registry.groups import group_exists


class ReportError(UserError):
    """A report that cannot be produced as asked; .message in Vietnamese."""


@dataclass
class Report:
    """Everything the official report shows, computed once and rendered in every format.

    Its words (title, recommendations, the units' reasons) are put in the locale current when they are
    read, so one report reads in English on the page and in Vietnamese in the exports.
    """

    period: Period
    previous: Period
    generated_at: datetime
    group: str | None
    metrics: PeriodMetrics
    league: list
    failing: list
    trend: list  # summaries.Summary per period, oldest first
    previous_summary: summaries.Summary
    settings: dict = field(default_factory=dict)
    load_evidence: Callable[[], dict] = dict
    contested: list = field(default_factory=list)  # units with a dispute in the period that do not fail
    simulated: bool = False  # any call of the period placed by the simulator: every format says so
    logbook: LogbookFigures = field(default_factory=LogbookFigures)  # test calls logged, overdue, transferred
    surveys: object = None  # monitor.surveys.results.Results of the dossiers returned in the period (1022 survey)

    @cached_property
    def evidence(self) -> dict:
        """Unit id → every counted (or contested) call of the failing and contested units (annex.unit_calls):
        read when a format cites them, not for the page."""
        return self.load_evidence()

    @property
    def total(self) -> Tally:
        return self.metrics.total

    @property
    def recommendations(self) -> list[str]:
        """Section IV, generated from the data (see wording.recommendations)."""
        return wording.recommendations(self.metrics, self.failing)

    @property
    def title(self) -> str:
        names = {g.code: g.name for g in self.metrics.groups}
        return wording.title(self.period.label, self.group, names.get(self.group) if self.group else None)

    @property
    def file_stem(self) -> str:
        return f"bao-cao-duong-day-nong-{self.period.key}" + (f"-nhom-{self.group}" if self.group else "")


def build_report(db, period: Period, *, group: str | None = None, now: datetime,
                 settings: Settings = Settings()) -> Report:
    """Measure the period, the previous one and the trend, rank the units, pick the failures' evidence."""
    if group and not group_exists(db, group):
        raise ReportError(f"Không có nhóm “{group}”.")
    min_rate = settings.report_min_answer_rate
    today = now.astimezone(LOCAL).date()
    # The period's characters (the one long query) are read on a second connection meanwhile the other periods,
    # the disputes and the units are read here.
    codes = prefetch.start(db, CODES_SQL, codes_params(period, group))
    # The previous period is usually closed: its figures are read back (stamp-checked), not measured again.
    previous = summaries.closed_summary(db, period.previous(), group=group, today=today)
    earlier = summaries.trend(db, summaries.trend_periods(period, settings.report_trend_periods)[:-1], group=group,
                              known=[previous], today=today)
    disputed = annex.contested_unit_ids(db, period, group)
    simulated = annex.simulated(db, period)
    current = period_metrics(db, period, group=group, min_answer_rate=min_rate, codes=codes)
    summaries.attach_previous(current, previous)
    ranked = league(current)
    failing = [u for u in ranked if u.status == "fail"]
    contested = [u for u in ranked if u.unit["id"] in disputed and u.status != "fail"]
    cited = [u.unit["id"] for u in failing + contested]
    trend = [*earlier, summaries.summary_of(current)]
    return Report(
        period=period, previous=period.previous(), generated_at=now, group=group or None, metrics=current,
        league=ranked, failing=failing, trend=trend, previous_summary=previous,
        load_evidence=lambda: annex.unit_calls(db, period, cited), contested=contested,
        simulated=simulated,
        # Each unit's answered calls are in its characters already: the logbook reads only its own side.
        logbook=period_figures(db, period, settings=settings, today=today,
                               answered={u.unit["id"]: answered_calls(u.codes) for u in current.units}),
        # The whole province's survey results, whatever the group: few completes per unit in a month.
        surveys=survey_results.build(db, period.start, period.end, min_completes=settings.survey_min_completes,
                                     trend_months=0),
        settings={
            "min_answer_rate": min_rate,
            "retest_delay_minutes": int(settings.retest_delay_minutes),
            "signer": settings.report_signer_name,
        },
    )
