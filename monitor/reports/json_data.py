"""The report's data as JSON, machine-readable: codes stay codes, rates are fractions 0..1."""
from __future__ import annotations

import json

from monitor.reports import tables
from monitor.surveys.render import json_section
from registry.clock import iso


def to_json(report) -> bytes:
    """The same data the document shows: method, totals, groups, league, failing and contested units with
    their evidence (every counted call), recommendations, trend; `simulated` true when any call was."""
    data = {
        "simulated": report.simulated,
        "report": {
            "title": report.title, "period": {"kind": report.period.kind, "key": report.period.key,
                                              "from": report.period.start.isoformat(), "to": report.period.end.isoformat()},
            "previous_period": {"from": report.previous.start.isoformat(), "to": report.previous.end.isoformat()},
            "group": report.group, "generated_at": iso(report.generated_at),
        },
        "method": tables.method(report),
        "totals": report.total.as_dict(),
        "groups": [{"code": g.code, "name": g.name, "units": g.units, "units_tested": g.tested,
                    "units_failing": g.failing, **g.tally.as_dict(),
                    "previous_answer_rate": g.previous.answer_rate if g.previous else None}
                   for g in report.metrics.groups],
        "league": tables.league_rows(report),
        "failing_units": tables.failing_rows(report),
        "contested_units": tables.contested_rows(report),
        "recommendations": report.recommendations,
        "surveys": json_section(report.surveys),
        "trend": [{"period": p.period.key, "from": p.period.start.isoformat(), "to": p.period.end.isoformat(),
                   "groups": {code: {"tests_counted": t.counted, "answered": t.answered, "answer_rate": t.answer_rate,
                                     "confirmed_failures": t.confirmed} for code, t in sorted(p.groups.items())},
                   "answer_rate": p.total.answer_rate} for p in report.trend],
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
