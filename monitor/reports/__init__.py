"""Accountability reports: metrics, verdicts, league table, charts, the official report and its exports.

Cut by reason to change:
    tally        the tuned counting engine (one grouped query; changes with performance)
    reference    the row-by-row definition the engine must agree with (the executable specification)
    scopes       which attempts each figure counts, as SQL (drill-downs, summaries and alerts share them)
    intervals    the 95 % (Wilson) interval of a rate
    verdicts     pass / fail / insufficient / untested, the minimum answer rate, the league ranking, deltas (policy)
    measure      a period measured in full: units, groups, province
    summaries    light figures of other periods (previous, trend) and the report_summaries table
    drilldown    the attempts behind a figure, with their evidence
    annex        every call behind a failing or contested unit's verdict (the documents' evidence); simulated?
    unit_file    a unit's evidence file: its calls, their evidence, how to contest
    wording      the report's words through gettext (the office's style)
    tables       the rows every format shows; figures: the report's charts (drawn by charts)
    report       Report and build_report
    prefetch     the report's long query read on a second connection while the rest is read
    render       dispatch to a format: pdf (HTML + WeasyPrint), xlsx, csv_table, json_data
    periods, cli
"""
from monitor.reports.drilldown import FilterError, attempt_evidence, check_filters, confirmed_failures, list_attempts
from monitor.reports.intervals import wilson
from monitor.reports.measure import GroupResult, PeriodMetrics, period_metrics
from monitor.reports.periods import Period, PeriodError, from_args, parse_date, parse_month, parse_quarter, parse_range
from monitor.reports.render import FORMATS, MEDIA_TYPES, render
from monitor.reports.report import Report, ReportError, build_report
from monitor.reports.scopes import SCOPE_SQL, SCOPES
from monitor.reports.summaries import (
                                       Summary,
                                       attach_previous,
                                       closed_summary,
                                       summary,
                                       summary_of,
                                       trend,
                                       trend_periods,
)
from monitor.reports.tally import FAST_SECONDS, Tally
from monitor.reports.verdicts import DEFAULT_MIN_ANSWER_RATE, DEFAULT_MIN_TESTS, UnitResult, delta, judge, league

__all__ = [
    "FilterError", "attempt_evidence", "check_filters", "confirmed_failures", "list_attempts",
    "GroupResult", "PeriodMetrics", "period_metrics",
    "Period", "PeriodError", "from_args", "parse_date", "parse_month", "parse_quarter", "parse_range",
    "FORMATS", "MEDIA_TYPES", "render",
    "Report", "ReportError", "build_report",
    "SCOPE_SQL", "SCOPES",
    "Summary", "attach_previous", "closed_summary", "summary", "summary_of", "trend", "trend_periods",
    "FAST_SECONDS", "Tally",
    "DEFAULT_MIN_ANSWER_RATE", "DEFAULT_MIN_TESTS", "UnitResult", "delta", "judge", "league", "wilson",
]
