"""The overdue and due-soon entries as text or JSON, for `flask --app wsgi logbook overdue [--json]`.

The JSON carries no personal data: receipt code, unit, field, received time, deadline, state and days overdue
(or left) in working days; never the reporter's name, phone or the content.
"""
import json
from datetime import date

from flask_babel import gettext as _

from registry import clock
from registry.logbook import deadlines
from registry.units import get_unit

# A script wants every row; the cap keeps a runaway province from printing millions of lines.
CLI_LIMIT = 100_000
_KEYS = ("receipt_code", "unit_code", "unit_name", "field_code", "received_at", "deadline", "state")


def overdue_data(db, *, unit_code: str | None = None, today: date | None = None) -> dict:
    """The lists of deadlines.pending() for the province or one unit (by code), as plain JSON-ready data."""
    today = today or clock.local_today()
    unit_id = get_unit(db, unit_code)["id"] if unit_code else None
    lists = deadlines.pending(db, unit_id=unit_id, today=today, limit=CLI_LIMIT)
    overdue = sorted(lists["overdue"], key=lambda r: (-r["days_overdue"], r["deadline"], r["receipt_code"]))
    return {
        "today": today.isoformat(),
        "unit": unit_code,
        "overdue_total": lists["overdue_total"],
        "due_soon_total": lists["due_soon_total"],
        "overdue": [{**{k: r[k] for k in _KEYS}, "days_overdue": r["days_overdue"]} for r in overdue],
        "due_soon": [{**{k: r[k] for k in _KEYS}, "days_left": r["days_left"]} for r in lists["due_soon"]],
    }


def overdue_report(db, *, unit_code: str | None = None, as_json: bool = False, today: date | None = None) -> str:
    """The command's output: JSON, or one line per entry under a count."""
    data = overdue_data(db, unit_code=unit_code, today=today)
    if as_json:
        return json.dumps(data, ensure_ascii=False, indent=2)
    lines = [_("Ngày %(today)s: %(overdue)d phiếu quá hạn, %(soon)d phiếu sắp đến hạn.", today=data["today"],
               overdue=data["overdue_total"], soon=data["due_soon_total"])]
    for row in data["overdue"]:
        lines.append(_("  quá hạn %(days)d ngày làm việc: %(code)s · %(unit)s · hạn %(deadline)s",
                       days=row["days_overdue"], code=row["receipt_code"], unit=row["unit_code"],
                       deadline=row["deadline"]))
    for row in data["due_soon"]:
        lines.append(_("  còn %(days)d ngày làm việc: %(code)s · %(unit)s · hạn %(deadline)s",
                       days=row["days_left"], code=row["receipt_code"], unit=row["unit_code"],
                       deadline=row["deadline"]))
    return "\n".join(lines)
