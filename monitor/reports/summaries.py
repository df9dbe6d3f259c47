"""Light summaries of periods (counted, answered and confirmed per unit and group): the previous period and
the trend beside the report's own, and the closed periods' summaries kept in the report_summaries table.

This module is the only writer of report_summaries.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from monitor.reports.measure import PeriodMetrics
from monitor.reports.periods import Period
from monitor.reports.scopes import SCOPE_SQL
from monitor.reports.tally import Tally

# The previous period and the trend need only counted, answered and confirmed per unit: a lighter query
# (plain sums, no characters) over the same index, with the drill-down's own "counted" predicate.
LIGHT_SQL = """
SELECT u.id, u.group_code, count(*), sum(a.outcome = 'answered'), sum(a.confirmed IS 1 AND a.outcome != 'answered')
FROM units u NOT INDEXED
LEFT JOIN hotlines h ON h.unit_id = u.id
CROSS JOIN attempts a INDEXED BY attempts_report
    ON a.unit_id = u.id AND a.state = 'ended' AND a.planned_at >= :start AND a.planned_at < :end
WHERE {counted} AND (:group IS NULL OR u.group_code = :group)
GROUP BY u.id
"""


@dataclass
class Summary:
    """Counted tests, answered and confirmed failures of a period: what the previous period and trend show."""

    period: Period
    units: dict  # unit id → Tally (counted, answered, confirmed only)
    groups: dict  # group code → Tally
    total: Tally


def summary(db, period: Period, *, group: str | None = None) -> Summary:
    """A period's light figures per unit, per group and in total (one grouped query of plain sums)."""
    start, end = period.bounds()
    units, groups, total = {}, {}, Tally()
    sql = LIGHT_SQL.format(counted=SCOPE_SQL["counted"])
    for unit_id, group_code, counted, answered, confirmed in db.execute(
        sql, {"start": start, "end": end, "group": group or None}
    ).fetchall():
        tally = Tally(counted=counted, answered=answered, confirmed=confirmed)
        units[unit_id] = tally
        for bucket in (groups.setdefault(group_code, Tally()), total):
            bucket.counted += counted
            bucket.answered += answered
            bucket.confirmed += confirmed
    return Summary(period, units, groups, total)


def summary_of(metrics: PeriodMetrics) -> Summary:
    """The light figures of a period already measured in full."""
    return Summary(metrics.period, {u.unit["id"]: u.tally for u in metrics.units if u.tally.counted},
                   {g.code: g.tally for g in metrics.groups}, metrics.total)


def attach_previous(current: PeriodMetrics, previous: Summary) -> None:
    """Put each unit's and group's previous-period figures beside the current ones (for ▲▼)."""
    for result in current.units:
        result.previous = previous.units.get(result.unit["id"])
    for group_result in current.groups:
        group_result.previous = previous.groups.get(group_result.code)


# Closed periods' summaries are kept in memory, each with a stamp of everything that could still change its
# figures: the ended attempts planned in it (a late end or a retest adds one), the latest review (an
# override), the disputes decided and the registry history (hours, groups). The stamp costs one count over
# the attempts_due index (~25 ms for a month of 10,000 units) where the summary costs a scan of every row.
CLOSED_AFTER_DAYS = 2
# Part of every stamp: raised whenever what a summary counts changes (2: held calls and reviewed failures; 3:
# survey calls left out), so summaries stored by an earlier version of the counting rules are computed again
# instead of read back.
COUNTING_VERSION = 3
_MEMO: dict = {}
_MEMO_SIZE = 128


def _stamp(db, period: Period) -> tuple:
    start, end = period.bounds()
    # The count includes survey calls on purpose: it stays a count over the attempts_due index alone (leaving
    # them out would read every row of the period), and a survey call ending only makes a summary computed again.
    return (
        COUNTING_VERSION,
        db.execute("SELECT count(*) FROM attempts WHERE state = 'ended' AND planned_at >= ? AND planned_at < ?",
                   [start, end]).fetchone()[0],
        db.execute("SELECT max(id) FROM outcome_reviews").fetchone()[0],
        tuple(db.execute("SELECT max(id), count(decided_at), max(decided_at) FROM disputes").fetchone()),
        db.execute("SELECT max(id) FROM changes").fetchone()[0],
    )


def _database_key(db) -> str:
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] if row else ""


def closed_summary(db, period: Period, *, group: str | None, today: date) -> Summary:
    """summary(), remembered for a period closed for CLOSED_AFTER_DAYS while its stamp is unchanged."""
    if (today - period.end).days <= CLOSED_AFTER_DAYS:
        return summary(db, period, group=group)
    key = (_database_key(db), period.key, group)
    stamp = _stamp(db, period)
    cached = _MEMO.get(key)
    if cached and cached[0] == stamp:
        return cached[1]
    result = _stored_summary(db, period, group, stamp)
    if result is None:
        result = summary(db, period, group=group)
        _store_summary(db, period, group, stamp, result)
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = (stamp, result)
    return result


def _stored_summary(db, period: Period, group: str | None, stamp: tuple) -> Summary | None:
    """The summary kept in the database for this period, if it was computed under the same stamp."""
    row = db.execute("SELECT stamp, data FROM report_summaries WHERE period_key = ? AND grp = ?",
                     [period.key, group or ""]).fetchone()
    if not row or row[0] != json.dumps(stamp):
        return None
    data = json.loads(row[1])
    units = _StoredUnits(data["units"])
    groups = {code: Tally(counted=c, answered=a, confirmed=f) for code, (c, a, f) in data["groups"].items()}
    c, a, f = data["total"]
    return Summary(period, units, groups, Tally(counted=c, answered=a, confirmed=f))


class _StoredUnits(Mapping):
    """Unit id → Tally of a stored summary, made on first use: the trend's periods show only groups and totals,
    so a report reading four stored months makes the tallies of one (the previous month), not forty thousand."""

    def __init__(self, rows: list):
        self._rows, self._units = rows, None

    def _decoded(self) -> dict:
        if self._units is None:
            self._units = {unit_id: Tally(counted=c, answered=a, confirmed=f) for unit_id, c, a, f in self._rows}
        return self._units

    def __getitem__(self, unit_id):
        return self._decoded()[unit_id]

    def __iter__(self):
        return iter(self._decoded())

    def __len__(self):
        return len(self._rows)


def _store_summary(db, period: Period, group: str | None, stamp: tuple, result: Summary) -> None:
    data = {
        "units": [[unit_id, t.counted, t.answered, t.confirmed] for unit_id, t in result.units.items()],
        "groups": {code: [t.counted, t.answered, t.confirmed] for code, t in result.groups.items()},
        "total": [result.total.counted, result.total.answered, result.total.confirmed],
    }
    db.execute(
        "INSERT INTO report_summaries (period_key, grp, stamp, data) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(period_key, grp) DO UPDATE SET stamp = excluded.stamp, data = excluded.data",
        [period.key, group or "", json.dumps(stamp), json.dumps(data)],
    )


def trend(db, periods: list[Period], *, group: str | None = None, known: list[Summary] = (),
          today: date | None = None) -> list[Summary]:
    """The light figures of each period, oldest first; `known` are summaries already computed (reused).

    With `today` (local date), periods closed for some days come from closed_summary()'s memory.
    """
    by_key = {item.period.key: item for item in known}
    out = []
    for period in periods:
        if period.key in by_key:
            out.append(by_key[period.key])
        elif today is not None:
            out.append(closed_summary(db, period, group=group, today=today))
        else:
            out.append(summary(db, period, group=group))
    return out


def trend_periods(period: Period, count: int) -> list[Period]:
    """The `count` periods of the same kind ending with this one (months for a month, quarters for a quarter)."""
    out = [period]
    while len(out) < count:
        out.insert(0, out[0].previous())
    return out

