"""The rows every format shows: the league table, the groups with their total, the method's figures and the
failing units with their evidence; and the small formatters of numbers the page and the document share.

Rows hold plain values (rates as fractions 0..1) and words in the current locale; each format lays them out.
"""
from __future__ import annotations

from monitor import labels
from monitor.attempts.outcomes import FAILURES
from monitor.reports import wording
from monitor.reports.tally import EXCLUSION_REASONS, Tally
from monitor.reports.verdicts import STATUSES
from monitor.reports.wording import LEAGUE_COLUMNS
from monitor.scheduling.bands import BANDS, LOCAL
from registry.clock import parse_iso

RATE_COLUMNS = {"answer_rate", "previous_answer_rate", "fast_rate"}

__all__ = ["LEAGUE_COLUMNS", "RATE_COLUMNS", "local_time", "seconds", "points", "rate_change", "league_rows",
           "group_rows", "method", "failing_rows"]


def local_time(ts: str | None, fmt: str = "%H:%M %d/%m/%Y") -> str:
    return parse_iso(ts).astimezone(LOCAL).strftime(fmt) if ts else ""


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}".replace(".", ",")


def points(diff: float | None) -> str:
    """A difference of rates in percentage points with its arrow: "▲ 3,5", "▼ 10,0", "=" or "–"."""
    if diff is None:
        return "–"
    if abs(diff) < 0.0005:
        return "="
    return f"{'▲' if diff > 0 else '▼'} {abs(diff) * 100:.1f}".replace(".", ",")


def rate_change(current: Tally, previous: Tally | None) -> float | None:
    if previous is None or current.answer_rate is None or previous.answer_rate is None:
        return None
    return current.answer_rate - previous.answer_rate


def league_rows(report) -> list[dict]:
    """One plain row per unit, worst first within each group: the league table for CSV, XLSX and JSON."""
    # Words looked up once, not once per unit: a large province has ten thousand rows.
    verdicts = {status: labels.verdict(status) for status in STATUSES}
    hours = {True: wording.hours(True), False: wording.hours(False)}
    rows = []
    for result in report.league:
        tally, compliance = result.tally, result.compliance
        previous_rate = result.previous.answer_rate if result.previous else None
        change = rate_change(tally, result.previous)
        rows.append({
            "rank": result.rank, "group": result.unit["group_code"], "code": result.code, "name": result.unit["name"],
            "number": result.unit["display"] or "", "hours": hours[result.office_hours],
            "tests_counted": tally.counted, "answered": tally.answered, "answer_rate": tally.answer_rate,
            "previous_answer_rate": previous_rate, "change": None if change is None else round(change * 100, 1),
            "fast_rate": tally.fast_rate, "median_seconds": tally.median_seconds, "p90_seconds": tally.p90_seconds,
            **{code: tally.count(code) for code in FAILURES},
            "confirmed_failures": tally.confirmed, "longest_run": tally.longest_run,
            "out_of_hours_tests": tally.out_of_hours, "out_of_hours_answered": tally.out_of_hours_answered,
            "excluded": tally.excluded_total(),
            "has_number": compliance["has_number"], "flagged": compliance["flagged"], "shared": compliance["shared"],
            "number_changed": local_time(compliance["last_changed"], "%d/%m/%Y") if compliance["last_changed"] else "",
            "status": verdicts[result.status],
        })
    return rows


def group_rows(report) -> list[dict]:
    """One row per group, then the total row (against the previous period's total)."""
    rows = []
    for g in report.metrics.groups:
        rows.append(_group_row(wording.group_label(g.code), g.name, g.tally, g.previous, g.units, g.tested,
                               g.failing))
    m = report.metrics
    label, name = wording.total_label()
    rows.append(_group_row(label, name, m.total, report.previous_summary.total,
                           sum(g.units for g in m.groups), sum(g.tested for g in m.groups),
                           sum(g.failing for g in m.groups), total=True))
    return rows


def _group_row(label, name, tally, previous, units, tested, failing, *, total: bool = False) -> dict:
    change = rate_change(tally, previous)
    return {
        "label": label, "name": name, "units": units, "tested": tested, "tests_counted": tally.counted,
        "answered": tally.answered, "answer_rate": tally.answer_rate,
        "previous_answer_rate": previous.answer_rate if previous else None,
        "change": change, "fast_rate": tally.fast_rate, "median_seconds": tally.median_seconds,
        "p90_seconds": tally.p90_seconds, "confirmed_failures": tally.confirmed, "failing_units": failing,
        **{code: tally.count(code) for code in FAILURES}, "total": total,
    }


def method(report) -> dict:
    """Section I in figures: what was tested, how many calls, what was left out and why."""
    t = report.total
    office_units = [u for u in report.metrics.units if u.office_hours]
    return {
        "units": len(report.metrics.units),
        "units_by_group": {g.code: g.units for g in report.metrics.groups},
        "units_tested": sum(g.tested for g in report.metrics.groups),
        "tests_made": t.made, "tests_counted": t.counted, "manual_tests": t.manual, "retests": t.retests,
        "excluded": {reason: t.excluded.get(reason, 0) for reason in EXCLUSION_REASONS},
        "excluded_total": t.excluded_total(),
        "office_hours_hotlines": len(office_units),
        "out_of_hours_tests": t.out_of_hours, "out_of_hours_answered": t.out_of_hours_answered,
        "min_answer_rate": report.settings["min_answer_rate"],
        "retest_delay_minutes": report.settings["retest_delay_minutes"],
        "bands": {band: {"tests": t.band_tests.get(band, 0), "answered": t.band_answered.get(band, 0),
                         "rate": t.band_rate(band)} for band in BANDS},
    }


def failing_rows(report) -> list[dict]:
    """The failing units, worst first, each with its reasons and its confirmed failures as evidence."""
    band_names = {code: labels.band(code) for code in BANDS}
    outcome_names = {code: labels.outcome(code) for code in labels.OUTCOME}
    rows = []
    for result in report.failing:
        tests = report.evidence.get(result.unit["id"], [])
        rows.append({
            "group": result.unit["group_code"], "code": result.code, "name": result.unit["name"],
            "number": result.unit["display"] or "", "tests_counted": result.tally.counted,
            "answered": result.tally.answered, "answer_rate": result.tally.answer_rate,
            "confirmed_failures": result.tally.confirmed, "longest_run": result.tally.longest_run,
            "reasons": [str(reason) for reason in result.reasons],
            "evidence": [{
                "attempt": t["id"], "time": local_time(t["ended_at"] or t["planned_at"]),
                "band": band_names.get(t["band"], t["band"]), "outcome": t["outcome"],
                "outcome_label": outcome_names.get(t["outcome"], t["outcome"]), "sip_code": t["sip_code"],
                "retest_attempt": t["retest_id"],
            } for t in tests],
        })
    return rows
