"""The 1022 survey on the report pages: section IV of the period report (the same results.Results the official
document's section IV prints, report.surveys, with the province's trend and the SVG charts), and on a unit's
results page that unit's own figures only: an agency never sees another unit's figures, nor any comment.
No SQL here: the figures come from monitor/surveys/results.py, the rows and charts from monitor/surveys/render.py.
"""
from __future__ import annotations

from dataclasses import replace

from monitor.surveys import render, results
from monitor.surveys.rates import RATE_KEYS


def _period_args(start, end) -> dict:
    return {"from": start.isoformat(), "to": end.isoformat()}


def section(db, report) -> dict | None:
    """What the report page's survey section shows (the whole province, whatever group the report is for);
    None when no dossier returned in the period was sampled, so the page says so in a sentence."""
    found = report.surveys
    if found is None or not found.province.cases:
        return None
    # The official report builds its results without the trend (the document has none): the page adds it here,
    # the province's months ending with the period's last one, as the survey results page draws it.
    with_trend = replace(found, trend=results.trend(db, found.end, results.TREND_MONTHS))
    return {
        "r": found, "rate_keys": RATE_KEYS, "units": render.unit_rows(found), "levels": render.level_rows(found),
        "elements": render.element_rows(found.province), "trend": with_trend.trend,
        "element_chart": render.element_chart(found, "report-survey-elements"),
        "trend_chart": render.trend_chart(with_trend, "report-survey-trend"),
        "args": _period_args(found.start, found.end),
    }


def unit_section(db, period, unit_id: int, *, settings) -> dict:
    """One unit's survey figures for the period (its dossiers returned in it), for the unit's results page:
    the unit's row of the same results the report prints, never another unit's nor any comment.
    {"unit": None} when none of the unit's dossiers of the period was sampled."""
    min_completes = settings.survey_min_completes
    found = results.build(db, period.start, period.end, min_completes=min_completes, trend_months=0)
    own = next((u for u in found.units if u.unit["id"] == unit_id), None)
    if own is None:
        return {"unit": None, "min_completes": min_completes}
    return {"unit": own, "f": own.figures, "rate_keys": RATE_KEYS, "min_completes": min_completes,
            "elements": render.element_rows(own.figures)}
