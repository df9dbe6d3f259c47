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

RATE_COLUMNS = {"answer_rate", "answer_rate_low", "answer_rate_high", "previous_answer_rate", "fast_rate",
                "logbook_rate"}

__all__ = ["LEAGUE_COLUMNS", "RATE_COLUMNS", "local_time", "seconds", "points", "rate_change", "league_rows",
           "group_rows", "logbook_cells", "logbook_rows", "with_logbook", "method", "failing_rows", "contested_rows",
           "unit_row", "evidence_row", "evidence_table", "EVIDENCE_COLUMNS", "has_recordings", "SIMULATED_NOTICE"]


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
        book = report.logbook.unit(result.unit["id"])
        previous_rate = result.previous.answer_rate if result.previous else None
        change = rate_change(tally, result.previous)
        low, high = tally.answer_interval
        rows.append({
            "rank": result.rank, "group": result.unit["group_code"], "code": result.code, "name": result.unit["name"],
            "number": result.unit["display"] or "", "hours": hours[result.office_hours],
            "tests_counted": tally.counted, "answered": tally.answered, "answer_rate": tally.answer_rate,
            "answer_rate_low": low, "answer_rate_high": high,
            "previous_answer_rate": previous_rate, "change": None if change is None else round(change * 100, 1),
            "fast_rate": tally.fast_rate, "median_seconds": tally.median_seconds, "p90_seconds": tally.p90_seconds,
            **{code: tally.count(code) for code in FAILURES},
            "confirmed_failures": tally.confirmed, "reviewed_failures": tally.reviewed,
            "longest_run": tally.longest_run,
            "out_of_hours_tests": tally.out_of_hours, "out_of_hours_answered": tally.out_of_hours_answered,
            "excluded": tally.excluded_total(),
            **{f"excluded_{reason}": tally.excluded.get(reason, 0) for reason in EXCLUSION_REASONS},
            "min_tests": result.min_tests,
            "has_number": compliance["has_number"], "flagged": compliance["flagged"], "shared": compliance["shared"],
            "number_changed": local_time(compliance["last_changed"], "%d/%m/%Y") if compliance["last_changed"] else "",
            **logbook_cells(book),
            "status": verdicts[result.status],
        })
    return rows


def logbook_cells(book) -> dict:
    """A unit's logbook columns (monitor.logbook.figures.UnitLogbook): "Ghi sổ" is logged in time / answered."""
    return {"logbook": book.logged_text, "logbook_logged": book.logged, "logbook_answered": book.answered,
            "logbook_rate": book.logged_rate, "logbook_late": book.late, "logbook_not_logged": book.not_logged,
            "overdue": book.overdue, "transferred_repeatedly": book.transferred_repeatedly}


def group_rows(report) -> list[dict]:
    """One row per group, then the total row (against the previous period's total)."""
    rows = []
    for g in report.metrics.groups:
        rows.append(_group_row(wording.group_label(g.code), g.name, g.tally, g.previous, g.units, g.tested,
                               g.failing, g.insufficient))
    m = report.metrics
    label, name = wording.total_label()
    rows.append(_group_row(label, name, m.total, report.previous_summary.total,
                           sum(g.units for g in m.groups), sum(g.tested for g in m.groups),
                           sum(g.failing for g in m.groups), sum(g.insufficient for g in m.groups), total=True))
    return rows


def _group_row(label, name, tally, previous, units, tested, failing, insufficient=0, *, total: bool = False) -> dict:
    change = rate_change(tally, previous)
    low, high = tally.answer_interval
    return {
        "label": label, "name": name, "units": units, "tested": tested, "tests_counted": tally.counted,
        "answered": tally.answered, "answer_rate": tally.answer_rate, "answer_rate_low": low,
        "answer_rate_high": high, "insufficient_units": insufficient,
        "excluded": {reason: tally.excluded.get(reason, 0) for reason in EXCLUSION_REASONS},
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
        "min_tests": report.metrics.min_tests,
        "verdict_rule": wording.verdict_rule(report.settings["min_answer_rate"], report.metrics.min_tests),
        "retest_delay_minutes": report.settings["retest_delay_minutes"],
        "bands": {band: {"tests": t.band_tests.get(band, 0), "answered": t.band_answered.get(band, 0),
                         "rate": t.band_rate(band)} for band in BANDS},
    }


def failing_rows(report) -> list[dict]:
    """The failing units, worst first, each with its reasons and every counted call as evidence."""
    names = label_names()
    return [with_logbook(unit_row(result, report.evidence.get(result.unit["id"], []), names), report.logbook,
                         result.unit["id"]) for result in report.failing]


def contested_rows(report) -> list[dict]:
    """The units that do not fail but contest calls of the period, each with its calls as evidence."""
    names = label_names()
    return [with_logbook(unit_row(result, report.evidence.get(result.unit["id"], []), names), report.logbook,
                         result.unit["id"]) for result in report.contested]


def with_logbook(row: dict, figures, unit_id: int) -> dict:
    """A unit_row with its logbook columns, and each answered call's match (logged / late / not logged)."""
    row.update(logbook_cells(figures.unit(unit_id)))
    for e in row["evidence"]:
        e["logbook"] = figures.call_status(e["attempt"]) if e["outcome"] == "answered" else None
        e["logbook_label"] = labels.logbook_match(e["logbook"])
    return row


def logbook_rows(report) -> list[dict]:
    """The logbook per group, then the total: answered test calls logged in time, late, not logged; overdue
    entries; entries transferred more than once (the official document's table)."""
    by_group: dict = {g.code: [] for g in report.metrics.groups}
    for result in report.metrics.units:
        by_group.setdefault(result.unit["group_code"], []).append(report.logbook.unit(result.unit["id"]))
    rows = []
    for g in report.metrics.groups:
        rows.append({"label": wording.group_label(g.code), "name": g.name, **_summed(by_group.get(g.code, []))})
    label, name = wording.total_label()
    rows.append({"label": label, "name": name, "total": True,
                 **_summed([book for books in by_group.values() for book in books])})
    return rows


def _summed(books: list) -> dict:
    answered, logged = sum(b.answered for b in books), sum(b.logged for b in books)
    return {"answered": answered, "logged": logged, "late": sum(b.late for b in books),
            "not_logged": sum(b.not_logged for b in books), "rate": logged / answered if answered else None,
            "overdue": sum(b.overdue for b in books),
            "transferred_repeatedly": sum(b.transferred_repeatedly for b in books)}


def label_names() -> dict:
    """The labels of bands, outcomes and dispute states in the current locale, looked up once: a province's
    evidence has tens of thousands of calls, and each gettext lookup costs."""
    return {"band": {code: str(labels.band(code)) for code in labels.BAND},
            "outcome": {code: str(labels.outcome(code)) for code in labels.OUTCOME},
            "dispute": {code: str(labels.dispute_status(code)) for code in labels.DISPUTE_STATUS}}


def unit_row(result, calls: list[dict], names: dict | None = None) -> dict:
    """A unit's figures, verdict and reasons, with these calls (annex.unit_calls) as its evidence."""
    low, high = result.tally.answer_interval
    return {
        "group": result.unit["group_code"], "code": result.code, "name": result.unit["name"],
        "number": result.unit["display"] or "", "tests_counted": result.tally.counted,
        "answered": result.tally.answered, "answer_rate": result.tally.answer_rate,
        "answer_rate_low": low, "answer_rate_high": high,
        "confirmed_failures": result.tally.confirmed, "longest_run": result.tally.longest_run,
        "status": result.status, "status_label": labels.verdict(result.status),
        "reasons": [str(reason) for reason in result.reasons],
        "evidence": [evidence_row(t, names) for t in calls],
    }


def evidence_row(t: dict, names: dict | None = None) -> dict:
    """One call as evidence: plain values, codes beside their labels, local date and time."""
    names = names or label_names()
    band, outcome, dispute_state = names["band"], names["outcome"], names["dispute"]
    dispute = t.get("dispute")
    day, hour = local_time(t["called_at"], "%d/%m/%Y %H:%M").split(" ")
    return {
        "attempt": t["id"], "number": t["number"], "date": day, "time": hour, "band": t["band"], "band_label": band.get(t["band"], t["band"]),
        "purpose": t["purpose"], "outcome": t["outcome"], "outcome_label": outcome.get(t["outcome"], t["outcome"]),
        "original_outcome": t["original_outcome"], "sip_code": t["sip_code"],
        "confirmed": t["confirmed"], "retest_attempt": t["retest_id"], "retest_outcome": t["retest_outcome"],
        "retest_outcome_label": outcome.get(t["retest_outcome"], t["retest_outcome"]) if t["retest_outcome"] else "",
        "answer_seconds": t["answer_seconds"], "transcript": t["transcript"] or "",
        "recorded": bool(t["recording_url"]), "simulated": t["provider"] == "simulator",
        "logbook": None, "logbook_label": "",  # set by with_logbook where the match was read
        "reviews": [{"at": local_time(r["at"]), "by": r["by_name"] or "", "from": r["old_outcome"],
                     "to": r["new_outcome"], "reason": r["reason"]} for r in t.get("reviews", [])],
        "dispute": None if not dispute else {
            "id": dispute["id"], "status": dispute["status"], "status_label": dispute_state.get(dispute["status"], ""),
            "opened": local_time(dispute["opened_at"]), "explanation": dispute["explanation"],
            "decided": local_time(dispute["decided_at"]), "decided_by": dispute["decided_by_name"] or "",
            "reason": dispute["decision_reason"] or "",
        },
    }


def retest_text(e: dict) -> str:
    """ "#12 Không nghe máy" or "chưa gọi lại" (the confirmation column of every format)."""
    if e["retest_attempt"]:
        return f"#{e['retest_attempt']} {e['retest_outcome_label']}"
    return "" if e["outcome"] == "answered" else "chưa gọi lại"


def reviews_text(e: dict) -> str:
    return "; ".join(f"{r['at']} {r['by']}: {labels.outcome(r['from']) if r['from'] else '–'} → "
                     f"{labels.outcome(r['to'])} ({r['reason']})" for r in e["reviews"])


def dispute_text(e: dict) -> str:
    d = e["dispute"]
    if not d:
        return ""
    text = f"#{d['id']} {d['status_label']} (gửi {d['opened']})"
    if d["decided"]:
        text += f", quyết định {d['decided']}" + (f": {d['reason']}" if d["reason"] else "")
    return text


EVIDENCE_COLUMNS = [
    ("code", "Mã đơn vị"), ("attempt", "Mã cuộc gọi"), ("number", "Số đã gọi"), ("date", "Ngày"), ("time", "Giờ"),
    ("band_label", "Khung giờ"), ("outcome_label", "Kết quả"), ("retest", "Xác nhận bằng cuộc gọi lại"),
    ("answer_seconds", "Số giây đến khi nghe máy"), ("transcript", "Nội dung nghe được"),
    ("reviews", "Quyết định của thanh tra viên"), ("dispute", "Giải trình của đơn vị"), ("logbook_label", "Ghi sổ"),
]


def evidence_table(report) -> list[dict]:
    """Every cited call of the failing, then the contested units, flat, with the EVIDENCE_COLUMNS as text."""
    rows = []
    for unit in failing_rows(report) + contested_rows(report):
        for e in unit["evidence"]:
            rows.append({**e, "code": unit["code"], "retest": retest_text(e), "reviews": reviews_text(e),
                         "dispute": dispute_text(e)})
    return rows


def has_recordings(report) -> bool:
    """Whether any cited call was recorded: the documents claim recordings only then."""
    return any(t["recording_url"] for calls in report.evidence.values() for t in calls)


SIMULATED_NOTICE = ("CUỘC GỌI MÔ PHỎNG – số liệu trong kỳ có cuộc gọi do hệ thống mô phỏng tạo ra, không phải "
                    "cuộc gọi thật; không dùng làm căn cứ đánh giá.")
