"""The overdue and due-soon logbook entries: a unit's editors see their unit's, inspectors the province's
(or one unit's with ?unit=CODE). The menu shows the overdue count."""
import time

from flask import current_app, g, render_template, request

from registry import clock
from registry.logbook import deadlines
from registry.units import get_unit, get_unit_by_id
from registry.web import get_db
from registry.web.auth import login_required
from registry.web.blueprint import MAX_QUERY, bp

# The menu's count on every signed-in page, kept a minute per database, scope and day: counting the province's
# overdue entries visits each pending row past its deadline (its state and pause), too dear for every page. The
# overdue page itself always counts afresh (and refreshes this).
BADGE_SECONDS = 60
_badges: dict[tuple, tuple[float, int]] = {}


def _badge_key(unit_id: int | None, today) -> tuple:
    return current_app.config["DATABASE"], unit_id, today


def _remember(key: tuple, count: int) -> int:
    if len(_badges) > 1000:
        _badges.clear()
    _badges[key] = (time.monotonic() + BADGE_SECONDS, count)
    return count


@bp.app_context_processor
def logbook_overdue_count() -> dict:
    """How many entries are overdue today: the unit's for its editors, the province's for inspectors."""
    user = g.get("user")
    if not user or user["role"] == "operator":  # operators keep no logbook and read none
        return {}
    unit_id = None if user["role"] == "inspector" else user["unit_id"]
    key = _badge_key(unit_id, clock.local_today(clock.utcnow()))
    expires, count = _badges.get(key, (0.0, 0))
    if expires < time.monotonic():
        count = _remember(key, deadlines.counts_for(get_db(), unit_id=unit_id, today=key[2])["overdue"])
    return {"logbook_overdue": count}


@bp.route("/logbook/overdue")
@login_required
def logbook_overdue():
    """Overdue entries (with working days overdue) and those due within two working days."""
    db = get_db()
    unit = None
    if g.user["role"] != "inspector":
        unit = get_unit_by_id(db, g.user["unit_id"])
    elif request.args.get("unit"):
        unit = get_unit(db, request.args["unit"][:MAX_QUERY])  # an unknown code: NotFound, a 404
    today = clock.local_today(clock.utcnow())
    lists = deadlines.pending(db, unit_id=unit["id"] if unit else None, today=today)
    if g.user["role"] != "inspector" or unit is None:  # the menu's count is the same figure
        _remember(_badge_key(unit["id"] if unit else None, today), lists["overdue_total"])
    return render_template("logbook/overdue.html", lists=lists, unit=unit,
                           province=g.user["role"] == "inspector" and unit is None)

