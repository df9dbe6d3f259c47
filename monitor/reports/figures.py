"""The report's two charts: the answer rate by time band, and the trend of each group over the periods."""
from __future__ import annotations

from markupsafe import Markup

from monitor import labels
from monitor.reports import charts, wording
from monitor.reports.intervals import wilson
from monitor.scheduling.bands import BANDS


def band_bars(tally) -> list[tuple]:
    """One bar per band: its name, its answer rate, "answered/tests cuộc" and the rate's 95 % interval."""
    return [(labels.band(b), tally.band_rate(b),
             wording.calls_note(tally.band_answered.get(b, 0), tally.band_tests.get(b, 0)),
             wilson(tally.band_answered.get(b, 0), tally.band_tests.get(b, 0))) for b in BANDS]


def band_chart(report, chart_id: str = "band-chart") -> Markup:
    return charts.bar_chart(chart_id, wording.band_chart_title(report.period.label), band_bars(report.total),
                            target=report.settings["min_answer_rate"])


def trend_chart(report, chart_id: str = "trend-chart") -> Markup:
    names = {g.code: g.name for g in report.metrics.groups}
    codes = sorted({code for point in report.trend for code in point.groups} | set(names))
    series = [(wording.trend_series(code, names.get(code)),
               [point.groups[code].answer_rate if code in point.groups else None for point in report.trend])
              for code in codes]
    if not report.group and len(codes) > 1:
        series.append((wording.province(), [point.total.answer_rate for point in report.trend]))
    return charts.line_chart(chart_id, wording.trend_chart_title(),
                             [point.period.short_label for point in report.trend], series,
                             target=report.settings["min_answer_rate"])
